//! The content hash of a downloaded image: BLAKE3 over the file without the C2PA manifest
//! store the Files API embeds, freshly signed, on every download (docs/api.md §0.5). Two
//! downloads of the same plot differ in bytes but not in content hash, so `changed` in the
//! run record means the plot changed (docs/output.md §2.6, §6.1).
//!
//! Only container framing is walked, never pixels (`formats.rs`): PNG chunks, JPEG marker
//! segments up to the first scan, WebP (RIFF) chunks and GIF blocks. The walk reads headers
//! only and notes the byte ranges that hold the manifest; a second pass hashes the file
//! without them, streaming, so a large file is never held in memory. Anything unexpected
//! (another format, a truncated file, a length that runs past the end) means "no manifest
//! found" and the caller keeps the plain BLAKE3: this never fails a download.

mod formats;
#[cfg(test)]
mod tests;

use std::io::{self, BufReader, Read, Seek, SeekFrom};
use std::ops::Range;

use camino::{Utf8Path, Utf8PathBuf};

/// More manifest pieces than any real file has: past this the file is taken as malformed,
/// so a hostile file cannot make the walk's list grow with its size.
const MAX_CUTS: usize = 4096;

/// The content hash of the file at `path` (hex), when it is an image holding a C2PA
/// manifest; `None` when there is none to strip or the file is not a well-formed image, in
/// which case the content hash is the plain BLAKE3.
pub(crate) fn content_blake3(path: &Utf8Path) -> Option<String> {
    let file = fs_err::File::open(path).ok()?;
    let len = file.metadata().ok()?.len();
    of_reader(file, len)
}

/// [`content_blake3`] on a blocking thread, for async callers: a file may be large (up to
/// `--max-file-size`). A file it cannot read or walk just has none.
pub(crate) async fn of_saved_file(path: Utf8PathBuf) -> Option<String> {
    tokio::task::spawn_blocking(move || content_blake3(&path))
        .await
        .ok()
        .flatten()
}

/// [`content_blake3`] of `len` bytes read from `reader`.
pub(crate) fn of_reader<R: Read + Seek>(mut reader: R, len: u64) -> Option<String> {
    let cuts = {
        let mut walk = Walk {
            r: BufReader::new(&mut reader),
            pos: 0,
            len,
        };
        formats::find_manifest(&mut walk)?
    };
    if cuts.ranges.is_empty() {
        return None;
    }
    hash_without(reader, len, &cuts)
        .ok()
        .map(|h| h.to_hex().to_string())
}

/// What to leave out of the hash: the manifest's byte ranges, in file order, and for WebP
/// the RIFF size the file would have without them (so a stripped file hashes like one that
/// never had a manifest).
#[derive(Debug, Default)]
pub(super) struct Cuts {
    ranges: Vec<Range<u64>>,
    riff_size: Option<u32>,
}

impl Cuts {
    fn cut(&mut self, range: Range<u64>) -> Option<()> {
        if self.ranges.len() >= MAX_CUTS {
            return None;
        }
        self.ranges.push(range);
        Some(())
    }

    fn removed(&self) -> u64 {
        self.ranges.iter().map(|r| r.end - r.start).sum()
    }
}

/// A bounds-checked forward reader: every read or skip past `len` is `None`, so a length
/// field from the file can never send the walk past its end (`pos <= len` always holds).
pub(super) struct Walk<R> {
    r: BufReader<R>,
    pos: u64,
    len: u64,
}

impl<R: Read + Seek> Walk<R> {
    fn bytes<const N: usize>(&mut self) -> Option<[u8; N]> {
        if self.len - self.pos < N as u64 {
            return None;
        }
        let mut b = [0u8; N];
        self.r.read_exact(&mut b).ok()?;
        self.pos += N as u64;
        Some(b)
    }

    fn skip(&mut self, n: u64) -> Option<()> {
        if self.len - self.pos < n {
            return None;
        }
        self.r.seek_relative(i64::try_from(n).ok()?).ok()?;
        self.pos += n;
        Some(())
    }
}

/// BLAKE3 of the file with `cuts` left out, read in one forward pass.
fn hash_without<R: Read + Seek>(mut r: R, len: u64, cuts: &Cuts) -> io::Result<blake3::Hash> {
    let mut h = blake3::Hasher::new();
    r.seek(SeekFrom::Start(0))?;
    let mut pos = 0;
    if let Some(size) = cuts.riff_size {
        let mut head = [0u8; 8];
        r.read_exact(&mut head)?;
        head[4..].copy_from_slice(&size.to_le_bytes());
        h.update(&head);
        pos = 8;
    }
    for cut in &cuts.ranges {
        let kept = cut
            .start
            .checked_sub(pos)
            .ok_or(io::ErrorKind::InvalidData)?;
        copy(&mut r, &mut h, kept)?;
        r.seek(SeekFrom::Start(cut.end))?;
        pos = cut.end;
    }
    copy(&mut r, &mut h, len.saturating_sub(pos))?;
    Ok(h.finalize())
}

fn copy<R: Read>(r: &mut R, h: &mut blake3::Hasher, n: u64) -> io::Result<()> {
    if io::copy(&mut r.take(n), h)? != n {
        return Err(io::ErrorKind::UnexpectedEof.into());
    }
    Ok(())
}

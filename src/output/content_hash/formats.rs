//! Where each image format keeps its C2PA manifest store, found by walking the container's
//! framing (the C2PA specification's embedding rules, as docs/api.md §0.5 relies on):
//!
//! * PNG: `caBX` chunks (8-byte signature, then length, type, data, CRC per chunk).
//! * JPEG: APP11 (`FF EB`) segments carrying a JUMBF box labelled `c2pa`, in JPEG XT
//!   framing (`JP`, box instance, packet sequence, then the box), and the segments that
//!   continue the same box instance. Only segments before the first scan (SOS) are walked;
//!   the rest of the file is kept verbatim.
//! * WebP: the RIFF chunk `C2PA` (the RIFF size is then recomputed).
//! * GIF: the application extension whose identifier is `C2PA_GIF`.
//!
//! Every function returns `None` for anything it does not understand.

use std::io::{Read, Seek};

use super::{Cuts, Walk};

const PNG_SIGNATURE: [u8; 8] = [0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A];

/// The manifest's byte ranges, from the file's first bytes on; empty when the file is a
/// well-formed image without a manifest, `None` when it is not an image we walk.
pub(super) fn find_manifest<R: Read + Seek>(w: &mut Walk<R>) -> Option<Cuts> {
    let start: [u8; 2] = w.bytes()?;
    match start {
        [0xFF, 0xD8] => jpeg(w),
        [0x89, b'P'] => {
            let rest: [u8; 6] = w.bytes()?;
            (rest == PNG_SIGNATURE[2..]).then_some(())?;
            png(w)
        }
        [b'G', b'I'] => {
            let rest: [u8; 4] = w.bytes()?;
            (&rest == b"F87a" || &rest == b"F89a").then_some(())?;
            gif(w)
        }
        [b'R', b'I'] => {
            let rest: [u8; 10] = w.bytes()?;
            (&rest[..2] == b"FF" && &rest[6..] == b"WEBP").then_some(())?;
            let riff = u32::from_le_bytes([rest[2], rest[3], rest[4], rest[5]]);
            webp(w, riff)
        }
        _ => None,
    }
}

fn png<R: Read + Seek>(w: &mut Walk<R>) -> Option<Cuts> {
    let mut cuts = Cuts::default();
    loop {
        let start = w.pos;
        let head: [u8; 8] = w.bytes()?;
        let len = u32::from_be_bytes([head[0], head[1], head[2], head[3]]);
        // PNG chunk lengths stop at 2^31 - 1; a larger one is not a PNG.
        if len > 0x7FFF_FFFF {
            return None;
        }
        w.skip(u64::from(len) + 4)?;
        match &head[4..] {
            b"caBX" => cuts.cut(start..w.pos)?,
            // Whatever follows IEND is kept as it is.
            b"IEND" => return Some(cuts),
            _ => {}
        }
    }
}

fn jpeg<R: Read + Seek>(w: &mut Walk<R>) -> Option<Cuts> {
    let mut cuts = Cuts::default();
    // The JPEG XT box instance number (En) of the C2PA box, once its first segment is seen.
    let mut c2pa_box: Option<[u8; 2]> = None;
    loop {
        let start = w.pos;
        let [ff, mut marker] = w.bytes::<2>()?;
        if ff != 0xFF {
            return None;
        }
        // Any number of 0xFF fill bytes may precede a marker.
        while marker == 0xFF {
            [marker] = w.bytes::<1>()?;
        }
        match marker {
            0x00 => return None,
            // Markers without a length: RSTn, TEM, a stray SOI.
            0x01 | 0xD0..=0xD8 => continue,
            0xD9 => return Some(cuts),
            _ => {}
        }
        let len = u16::from_be_bytes(w.bytes::<2>()?);
        let body = u64::from(len.checked_sub(2)?);
        // SOS: entropy-coded data and the markers after it are kept verbatim.
        if marker == 0xDA {
            return Some(cuts);
        }
        if marker != 0xEB || body < 16 {
            w.skip(body)?;
            continue;
        }
        // JPEG XT: CI "JP", En (2), Z (4), then the box's LBox (4) and TBox (4); the first
        // segment of a C2PA store goes on with the `jumd` description box, whose type
        // UUID starts with "c2pa".
        let head: [u8; 16] = w.bytes()?;
        let first = if body >= 28 {
            let desc: [u8; 12] = w.bytes()?;
            w.skip(body - 28)?;
            &head[12..] == b"jumb" && &desc[4..8] == b"jumd" && &desc[8..] == b"c2pa"
        } else {
            w.skip(body - 16)?;
            false
        };
        let en = [head[2], head[3]];
        if &head[..2] == b"JP" && (first || c2pa_box == Some(en)) {
            c2pa_box = Some(en);
            cuts.cut(start..w.pos)?;
        }
    }
}

fn webp<R: Read + Seek>(w: &mut Walk<R>, riff: u32) -> Option<Cuts> {
    let mut cuts = Cuts::default();
    // The RIFF size counts from byte 8; bytes after the RIFF are kept as they are.
    let end = u64::from(riff) + 8;
    if end > w.len || end < w.pos {
        return None;
    }
    while w.pos < end {
        let start = w.pos;
        let head: [u8; 8] = w.bytes()?;
        let size = u64::from(u32::from_le_bytes([head[4], head[5], head[6], head[7]]));
        // Chunks are padded to an even length.
        let padded = size + (size & 1);
        if end - w.pos < padded {
            return None;
        }
        w.skip(padded)?;
        if &head[..4] == b"C2PA" {
            cuts.cut(start..w.pos)?;
        }
    }
    if !cuts.ranges.is_empty() {
        cuts.riff_size = Some(riff.checked_sub(u32::try_from(cuts.removed()).ok()?)?);
    }
    Some(cuts)
}

fn gif<R: Read + Seek>(w: &mut Walk<R>) -> Option<Cuts> {
    let mut cuts = Cuts::default();
    let screen: [u8; 7] = w.bytes()?;
    color_table(w, screen[4])?;
    loop {
        let start = w.pos;
        match w.bytes::<1>()? {
            [0x3B] => return Some(cuts),
            [0x2C] => {
                let image: [u8; 9] = w.bytes()?;
                color_table(w, image[8])?;
                // The LZW minimum code size, then the data sub-blocks.
                w.skip(1)?;
                sub_blocks(w)?;
            }
            [0x21] => {
                let [label, first] = w.bytes::<2>()?;
                let mut c2pa = false;
                if label == 0xFF && first == 11 {
                    let id: [u8; 11] = w.bytes()?;
                    c2pa = id.starts_with(b"C2PA_GIF");
                } else {
                    w.skip(u64::from(first))?;
                }
                if first != 0 {
                    sub_blocks(w)?;
                }
                if c2pa {
                    cuts.cut(start..w.pos)?;
                }
            }
            _ => return None,
        }
    }
}

/// Skips a global or local color table when the packed `flags` byte says there is one.
fn color_table<R: Read + Seek>(w: &mut Walk<R>, flags: u8) -> Option<()> {
    if flags & 0x80 != 0 {
        w.skip(3u64 << ((flags & 7) + 1))?;
    }
    Some(())
}

/// Skips data sub-blocks (a length byte, then that many bytes) up to the empty one.
fn sub_blocks<R: Read + Seek>(w: &mut Walk<R>) -> Option<()> {
    loop {
        let [n] = w.bytes::<1>()?;
        if n == 0 {
            return Some(());
        }
        w.skip(u64::from(n))?;
    }
}

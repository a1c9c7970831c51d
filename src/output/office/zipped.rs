//! An office file's zip, opened only when it is small enough to read safely, and its XML
//! parts read as bounded streams.
//!
//! The bound that matters is a part's declared size in the central directory: the `zip`
//! crate fails a read that inflates past it, so checking the declared sizes of the parts
//! we read caps the bytes decompressed (a zip bomb declares its true size, or stops at the
//! size it declares).

use std::io::{BufReader, Cursor, Read};
use std::ops::ControlFlow;

use quick_xml::Reader;
use zip::ZipArchive;

/// More entries than any office file we preview needs (a deck of a few hundred slides with
/// their images and notes).
pub(super) const MAX_ENTRIES: usize = 5_000;
/// The largest declared size of a part we read (a sheet, a document body, a slide).
pub(super) const MAX_PART_BYTES: u64 = 32 << 20;
pub(super) type Archive = ZipArchive<Cursor<Vec<u8>>>;

/// The archive, if it is a zip of at most [`MAX_ENTRIES`] entries.
pub(super) fn open(bytes: Vec<u8>) -> Option<Archive> {
    let archive = ZipArchive::new(Cursor::new(bytes)).ok()?;
    (archive.len() <= MAX_ENTRIES).then_some(archive)
}

/// Whether every part declares at most [`MAX_PART_BYTES`]: checked before handing the
/// archive to a reader that opens parts itself (calamine), by whatever names its
/// relationships give, extension or not.
pub(super) fn parts_bounded(archive: &Archive) -> bool {
    (0..archive.len()).all(|i| {
        archive
            .by_index_data(i)
            .is_ok_and(|entry| entry.size() <= MAX_PART_BYTES)
    })
}

/// A part's XML as a stream, if the part exists and declares at most [`MAX_PART_BYTES`].
pub(super) fn xml<'a>(
    archive: &'a mut Archive,
    name: &str,
) -> Option<Reader<BufReader<impl Read + 'a>>> {
    let entry = archive.by_name(name).ok()?;
    if entry.size() > MAX_PART_BYTES {
        return None;
    }
    // `take` too: the declared size is also enforced by the zip crate, this keeps the
    // bound here whatever its version does.
    Some(Reader::from_reader(BufReader::new(
        entry.take(MAX_PART_BYTES),
    )))
}

/// A part whose name is given by a relationship `target`, resolved against the folder of
/// the part that holds the relationship (`ppt/`): `slides/slide1.xml` →
/// `ppt/slides/slide1.xml`, `/ppt/x.xml` → `ppt/x.xml`, `..` segments applied. `None` for a
/// target that leaves the package or is a URL.
pub(super) fn resolve(base_dir: &str, target: &str) -> Option<String> {
    if target.contains("://") {
        return None;
    }
    let mut parts: Vec<&str> = if target.starts_with('/') {
        Vec::new()
    } else {
        base_dir.split('/').filter(|p| !p.is_empty()).collect()
    };
    for segment in target.split('/') {
        match segment {
            "" | "." => {}
            ".." => {
                parts.pop()?;
            }
            s => parts.push(s),
        }
    }
    Some(parts.join("/"))
}

/// One relationship of a part (ECMA-376 Part 2 §9): `id`, the last segment of its type,
/// and its target resolved to a part name.
pub(super) struct Rel {
    pub id: String,
    pub kind: String,
    pub target: String,
}

/// The relationships of `part` (`""` for the package's own, `_rels/.rels`), at most
/// `max`; none when the `.rels` part is missing or unreadable.
pub(super) fn relationships(archive: &mut Archive, part: &str, max: usize) -> Vec<Rel> {
    let (dir, file) = part.rsplit_once('/').unwrap_or(("", part));
    let rels = if dir.is_empty() {
        format!("_rels/{file}.rels")
    } else {
        format!("{dir}/_rels/{file}.rels")
    };
    let Some(reader) = xml(archive, &rels) else {
        return Vec::new();
    };
    let mut found = Vec::new();
    let _ = super::xml::walk(reader, |node| {
        if let super::xml::Node::Open(e) = node
            && super::xml::name(e) == "Relationship"
        {
            let attr = |key| super::xml::attr(e, key).unwrap_or_default();
            let kind = attr("Type")
                .rsplit('/')
                .next()
                .unwrap_or_default()
                .to_owned();
            if let Some(target) = resolve(dir, &attr("Target")) {
                found.push(Rel {
                    id: attr("Id"),
                    kind,
                    target,
                });
            }
        }
        if found.len() >= max {
            ControlFlow::Break(())
        } else {
            ControlFlow::Continue(())
        }
    });
    found
}

/// The package's main part (its `officeDocument` relationship), or `default` where it
/// names none.
pub(super) fn main_part(archive: &mut Archive, default: &str) -> String {
    relationships(archive, "", 64)
        .into_iter()
        .find(|r| r.kind == "officeDocument")
        .map_or_else(|| default.to_owned(), |r| r.target)
}

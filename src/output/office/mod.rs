//! Previews of the office files a job generated (docs/output.md §14.1): an `.xlsx`'s sheets
//! as small tables, a `.docx`'s headings and first paragraphs, a `.pptx`'s slide titles, a
//! `.pdf`'s page count, for `report.html` and the morning page; and on `report.html` only,
//! a `.csv` or `.tsv` file's first rows (`delimited.rs`).
//!
//! The files came from the model, so every byte is hostile until bounded: the file is read
//! only up to [`MAX_FILE_BYTES`], a zip only when its entry count and each part's declared
//! size are small (`zipped.rs`; the `zip` crate fails a part that inflates past its declared
//! size, so a zip bomb stops there), XML is read as a stream and left once enough is seen,
//! and every string is cut to a few dozen characters. What is extracted is plain text that
//! the templates escape. Any failure is `None`: the page shows the plain link it always did.

mod delimited;
mod docx;
mod pdf;
mod pptx;
#[cfg(test)]
mod tests;
mod xlsx;
mod xml;
mod zipped;

use camino::Utf8Path;
use serde::Serialize;

/// The largest file read for a preview: larger files show as a plain link.
pub(crate) const MAX_FILE_BYTES: u64 = 20 << 20;

/// How much of a file a preview shows: the full page shows more than an index card.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Bounds {
    /// Sheets shown as tables (the names of up to [`MAX_NAMES`] more are listed).
    pub tables: usize,
    pub rows: usize,
    pub cols: usize,
    pub headings: usize,
    pub paragraphs: usize,
    pub slides: usize,
    /// Characters of any one cell, heading, paragraph or title.
    pub chars: usize,
}

impl Bounds {
    /// Under a file on `report.html`.
    pub(crate) const PAGE: Bounds = Bounds {
        tables: 4,
        rows: 10,
        cols: 8,
        headings: 20,
        paragraphs: 3,
        slides: 40,
        chars: 80,
    };
    /// On a job's card on `index.html`.
    pub(crate) const CARD: Bounds = Bounds {
        tables: 1,
        rows: 4,
        cols: 4,
        headings: 4,
        paragraphs: 1,
        slides: 6,
        chars: 40,
    };
}

/// Names listed at most (sheets beyond the tables, slides beyond the titles shown).
pub(crate) const MAX_NAMES: usize = 20;

/// What a preview shows; serialized for the templates with its `kind`.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub(crate) enum Preview {
    Workbook {
        sheets: Vec<Sheet>,
        /// Names of the sheets after those shown as tables.
        more_sheets: Vec<String>,
        sheet_count: usize,
    },
    Document {
        blocks: Vec<Block>,
        /// Whether the document goes on past what is shown.
        more: bool,
    },
    Deck {
        /// Each shown slide's title, in slide order (empty when it has none).
        titles: Vec<String>,
        slide_count: usize,
    },
    Pdf {
        pages: u64,
    },
    /// A `.csv` or `.tsv` file's first rows, cut to the bounds' rows and columns.
    Table {
        rows: Vec<Vec<String>>,
        /// Whether rows or columns were left out.
        more_rows: bool,
        more_cols: bool,
    },
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) struct Sheet {
    pub name: String,
    pub rows: Vec<Vec<String>>,
    /// Whether rows or columns were left out.
    pub more_rows: bool,
    pub more_cols: bool,
}

/// A heading (`level` 1…9) or a paragraph (`level` 0) of a document.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) struct Block {
    pub level: u8,
    pub text: String,
}

/// The formats previewed, by file extension (ASCII case ignored).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Format {
    Xlsx,
    Docx,
    Pptx,
    Pdf,
    Csv,
    Tsv,
}

impl Format {
    /// An office format: previewed on `report.html` and on the cards.
    pub(crate) fn of(name: &str) -> Option<Format> {
        Format::on_page(name).filter(|f| f.delimiter().is_none())
    }

    /// A format `report.html` previews: the office ones, and delimited text, which a card
    /// leaves as a link (docs/output.md §14.1).
    pub(crate) fn on_page(name: &str) -> Option<Format> {
        let (_, ext) = name.rsplit_once('.')?;
        match ext.to_ascii_lowercase().as_str() {
            "xlsx" | "xlsm" => Some(Format::Xlsx),
            "docx" => Some(Format::Docx),
            "pptx" => Some(Format::Pptx),
            "pdf" => Some(Format::Pdf),
            "csv" => Some(Format::Csv),
            "tsv" => Some(Format::Tsv),
            _ => None,
        }
    }

    fn delimiter(self) -> Option<u8> {
        match self {
            Format::Csv => Some(b','),
            Format::Tsv => Some(b'\t'),
            _ => None,
        }
    }
}

/// The preview of the file at `path`, if its name is a format [`Format::on_page`] knows and
/// it can be read within the bounds; `None` for anything else (the page links the file as
/// it is).
pub(crate) fn preview(path: &Utf8Path, bounds: &Bounds) -> Option<Preview> {
    let format = Format::on_page(path.file_name()?)?;
    if let Some(delimiter) = format.delimiter() {
        let (head, cut) = read_head(path, delimited::MAX_HEAD_BYTES)?;
        let read =
            std::panic::AssertUnwindSafe(|| delimited::preview(&head, cut, delimiter, bounds));
        return std::panic::catch_unwind(read).ok().flatten();
    }
    let bytes = read_bounded(path)?;
    // The readers (calamine, zip, quick-xml) are fed hostile bytes: a panic in one is a
    // bug there, and here only means no preview (its message still reaches stderr).
    let read = std::panic::AssertUnwindSafe(|| match format {
        Format::Xlsx => xlsx::preview(bytes, bounds),
        Format::Docx => docx::preview(bytes, bounds),
        Format::Pptx => pptx::preview(bytes, bounds),
        Format::Pdf => pdf::preview(&bytes),
        Format::Csv | Format::Tsv => None,
    });
    std::panic::catch_unwind(read).ok().flatten()
}

/// The whole file, if it is a regular file (not a FIFO that would block the page) of at
/// most [`MAX_FILE_BYTES`], checked while reading too: the size on disk may change.
fn read_bounded(path: &Utf8Path) -> Option<Vec<u8>> {
    if fs_err::metadata(path).ok()?.len() > MAX_FILE_BYTES {
        return None;
    }
    let (bytes, cut) = read_head(path, MAX_FILE_BYTES)?;
    (!cut).then_some(bytes)
}

/// The first `max` bytes of a regular file, and whether it goes on past them.
fn read_head(path: &Utf8Path, max: u64) -> Option<(Vec<u8>, bool)> {
    use std::io::Read as _;
    if !fs_err::metadata(path).ok()?.is_file() {
        return None;
    }
    let file = fs_err::File::open(path).ok()?;
    let mut bytes = Vec::new();
    file.take(max + 1).read_to_end(&mut bytes).ok()?;
    let cut = bytes.len() as u64 > max;
    bytes.truncate(usize::try_from(max).unwrap_or(usize::MAX));
    Some((bytes, cut))
}

/// `text` as one line of at most `max` characters, `…` marking a cut: whitespace runs
/// (newlines, tabs) become one space, control characters are dropped.
pub(crate) fn clip(text: &str, max: usize) -> String {
    let mut out = String::new();
    let mut count = 0;
    let mut space = false;
    for c in text.trim().chars() {
        if c.is_whitespace() {
            space = true;
            continue;
        }
        if c.is_control() {
            continue;
        }
        let needed = usize::from(space) + 1;
        if count + needed > max {
            out.push('…');
            return out;
        }
        if space {
            out.push(' ');
        }
        out.push(c);
        count += needed;
        space = false;
    }
    out
}

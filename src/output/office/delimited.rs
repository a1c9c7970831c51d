//! A `.csv` or `.tsv` preview: the first rows and columns as a table, read with the `csv`
//! crate from the head of the file only, so a large export shows its top as quickly as a
//! small one. Text that is not UTF-8, or holds NUL bytes (a binary file under a `.csv`
//! name), has no preview: the page links the file as it is.

use super::{Bounds, Preview, clip};

/// The head of the file read at most: many times what the rows shown need, unless a
/// single row is enormous (then there is no preview rather than a cut row).
pub(super) const MAX_HEAD_BYTES: u64 = 1 << 20;

/// The table at the start of `head`; `cut` when the file goes on past it, in which case the
/// last, maybe partial, line is dropped.
pub(super) fn preview(head: &[u8], cut: bool, delimiter: u8, bounds: &Bounds) -> Option<Preview> {
    let mut text = head.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(head);
    if cut {
        let end = text.iter().rposition(|&b| b == b'\n')?;
        text = &text[..=end];
    }
    if text.contains(&0) {
        return None;
    }
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .delimiter(delimiter)
        .from_reader(text);
    let mut rows: Vec<Vec<String>> = Vec::new();
    let mut more_rows = cut;
    let mut more_cols = false;
    for record in reader.records() {
        if rows.len() == bounds.rows {
            more_rows = true;
            break;
        }
        let record = record.ok()?;
        more_cols |= record.len() > bounds.cols;
        rows.push(
            record
                .iter()
                .take(bounds.cols)
                .map(|field| clip(field, bounds.chars))
                .collect(),
        );
    }
    let width = rows.iter().map(Vec::len).max().unwrap_or(0);
    for row in &mut rows {
        row.resize(width, String::new());
    }
    Some(Preview::Table {
        rows,
        more_rows,
        more_cols,
    })
}

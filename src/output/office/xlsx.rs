//! An `.xlsx` preview: the sheet names, and the first sheets' top-left cells as tables,
//! read with calamine's streaming cell reader so a large sheet is left after its first rows.

use std::io::Cursor;

use calamine::{DataRef, Reader as _, Xlsx};

use super::{Bounds, MAX_NAMES, Preview, Sheet, clip, zipped};

/// Cells read from one sheet at most, shown or not (styled empty cells count too).
const MAX_CELLS: usize = 10_000;

pub(super) fn preview(bytes: Vec<u8>, bounds: &Bounds) -> Option<Preview> {
    let archive = zipped::open(bytes)?;
    // calamine opens the parts itself, the shared strings whole: check them all first.
    if !zipped::parts_bounded(&archive) {
        return None;
    }
    let mut book: Xlsx<_> =
        calamine::open_workbook_from_rs(Cursor::new(archive.into_inner().into_inner())).ok()?;
    let names = book.sheet_names();
    let sheets = names
        .iter()
        .take(bounds.tables)
        .map(|name| sheet(&mut book, name, bounds))
        .collect();
    Some(Preview::Workbook {
        sheets,
        more_sheets: names
            .iter()
            .skip(bounds.tables)
            .take(MAX_NAMES)
            .map(|n| clip(n, bounds.chars))
            .collect(),
        sheet_count: names.len(),
    })
}

/// A sheet's first `rows` rows (from its first row with a value) and first `cols` columns;
/// one that cannot be read shows with its name and no rows.
fn sheet(book: &mut Xlsx<Cursor<Vec<u8>>>, name: &str, bounds: &Bounds) -> Sheet {
    let mut shown = Sheet {
        name: clip(name, bounds.chars),
        rows: Vec::new(),
        more_rows: false,
        more_cols: false,
    };
    let Ok(mut cells) = book.worksheet_cells_reader(name) else {
        return shown;
    };
    let mut first_row = None;
    let mut grid: Vec<Vec<String>> = Vec::new();
    for _ in 0..MAX_CELLS {
        // Cells come in row order (ECMA-376 Part 1 §18.3.1.73); a read error ends the table.
        let Ok(Some(cell)) = cells.next_cell() else {
            break;
        };
        let text = cell_text(cell.get_value());
        if text.is_empty() {
            continue;
        }
        let (row, col) = cell.get_position();
        // A row out of order (before the first one seen) is left out.
        let Some(row) = row.checked_sub(*first_row.get_or_insert(row)) else {
            continue;
        };
        let row = row as usize;
        if row >= bounds.rows {
            shown.more_rows = true;
            break;
        }
        let col = col as usize;
        if col >= bounds.cols {
            shown.more_cols = true;
            continue;
        }
        if grid.len() <= row {
            grid.resize(row + 1, Vec::new());
        }
        let line = &mut grid[row];
        if line.len() <= col {
            line.resize(col + 1, String::new());
        }
        line[col] = clip(&text, bounds.chars);
    }
    let width = grid.iter().map(Vec::len).max().unwrap_or(0);
    for line in &mut grid {
        line.resize(width, String::new());
    }
    shown.rows = grid;
    shown
}

fn cell_text(value: &DataRef<'_>) -> String {
    match value {
        DataRef::Int(i) => i.to_string(),
        DataRef::Float(f) => number(*f),
        DataRef::String(s) | DataRef::DateTimeIso(s) | DataRef::DurationIso(s) => s.clone(),
        DataRef::SharedString(s) => (*s).to_owned(),
        DataRef::Bool(b) => if *b { "TRUE" } else { "FALSE" }.to_owned(),
        DataRef::DateTime(d) if d.is_datetime() => date(d.as_f64()),
        DataRef::DateTime(d) => number(d.as_f64()),
        DataRef::Error(e) => e.to_string(),
        DataRef::Empty => String::new(),
    }
}

/// A whole number without `.0`; others as Rust writes them (the shortest exact form).
fn number(f: f64) -> String {
    if f.fract() == 0.0 && f.abs() < 1e15 {
        format!("{f:.0}")
    } else {
        f.to_string()
    }
}

/// An Excel serial date (days since 1899-12-30, the 1900 date system) as `2026-11-30`, with
/// the time when it has one; a serial out of range stays a number.
fn date(serial: f64) -> String {
    let epoch = jiff::civil::date(1899, 12, 30).at(0, 0, 0, 0);
    let seconds = (serial * 86_400.0).round();
    let at = jiff::SignedDuration::try_from_secs_f64(seconds)
        .ok()
        .and_then(|d| epoch.checked_add(d).ok());
    match at {
        Some(t) if t.time() == jiff::civil::Time::midnight() => t.date().to_string(),
        Some(t) => t.strftime("%Y-%m-%d %H:%M").to_string(),
        None => number(serial),
    }
}

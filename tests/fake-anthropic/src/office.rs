//! Small but real office files, for the scripted model's Agent Skills (the runner's issue 21)
//! and for the runner's preview tests: each is a zip (deflate) holding the minimal Office
//! Open XML parts that real readers (calamine, LibreOffice, python-openpyxl/-pptx/-docx)
//! accept, and the PDF has a correct cross-reference table. Text is XML-escaped, so any
//! string, hostile or not, comes back out as it went in.

mod parts;

use std::fmt::Write as _;
use std::io::{Cursor, Write as _};

use zip::write::SimpleFileOptions;

/// An `.xlsx` workbook: one worksheet per `(name, rows)`, cells as inline strings, and as
/// numbers where the text is a plain decimal number (so a reader sees `3.5`, not `"3.5"`).
pub fn workbook(sheets: &[(&str, Vec<Vec<String>>)]) -> Vec<u8> {
    let mut files = vec![
        (
            "[Content_Types].xml".to_owned(),
            parts::xlsx_types(sheets.len()),
        ),
        ("_rels/.rels".to_owned(), parts::rels_to("xl/workbook.xml")),
        ("xl/workbook.xml".to_owned(), parts::xlsx_workbook(sheets)),
        (
            "xl/_rels/workbook.xml.rels".to_owned(),
            parts::xlsx_workbook_rels(sheets.len()),
        ),
    ];
    for (i, (_, rows)) in sheets.iter().enumerate() {
        files.push((format!("xl/worksheets/sheet{}.xml", i + 1), worksheet(rows)));
    }
    zip_of(&files)
}

/// A `.pptx` deck: one slide per title (a title placeholder), with the slide master,
/// layout and theme PowerPoint requires.
pub fn deck(slide_titles: &[&str]) -> Vec<u8> {
    let n = slide_titles.len();
    let mut files = vec![
        ("[Content_Types].xml".to_owned(), parts::pptx_types(n)),
        (
            "_rels/.rels".to_owned(),
            parts::rels_to("ppt/presentation.xml"),
        ),
        (
            "ppt/presentation.xml".to_owned(),
            parts::pptx_presentation(n),
        ),
        (
            "ppt/_rels/presentation.xml.rels".to_owned(),
            parts::pptx_presentation_rels(n),
        ),
        (
            "ppt/slideMasters/slideMaster1.xml".to_owned(),
            parts::PPTX_MASTER.to_owned(),
        ),
        (
            "ppt/slideMasters/_rels/slideMaster1.xml.rels".to_owned(),
            parts::PPTX_MASTER_RELS.to_owned(),
        ),
        (
            "ppt/slideLayouts/slideLayout1.xml".to_owned(),
            parts::PPTX_LAYOUT.to_owned(),
        ),
        (
            "ppt/slideLayouts/_rels/slideLayout1.xml.rels".to_owned(),
            parts::PPTX_LAYOUT_RELS.to_owned(),
        ),
        ("ppt/theme/theme1.xml".to_owned(), parts::THEME.to_owned()),
    ];
    for (i, title) in slide_titles.iter().enumerate() {
        let slide = format!("ppt/slides/slide{}.xml", i + 1);
        files.push((slide, parts::pptx_slide(&escape(title))));
        let rels = format!("ppt/slides/_rels/slide{}.xml.rels", i + 1);
        files.push((rels, parts::PPTX_SLIDE_RELS.to_owned()));
    }
    zip_of(&files)
}

/// A `.docx` document: `title` in the built-in `Heading1` style, then one plain paragraph
/// per entry.
pub fn document(title: &str, paragraphs: &[&str]) -> Vec<u8> {
    let mut body = parts::docx_paragraph(Some("Heading1"), &escape(title));
    for p in paragraphs {
        body.push_str(&parts::docx_paragraph(None, &escape(p)));
    }
    let files = [
        (
            "[Content_Types].xml".to_owned(),
            parts::DOCX_TYPES.to_owned(),
        ),
        (
            "_rels/.rels".to_owned(),
            parts::rels_to("word/document.xml"),
        ),
        ("word/document.xml".to_owned(), parts::docx_document(&body)),
        (
            "word/_rels/document.xml.rels".to_owned(),
            parts::DOCX_DOCUMENT_RELS.to_owned(),
        ),
        ("word/styles.xml".to_owned(), parts::DOCX_STYLES.to_owned()),
    ];
    zip_of(&files)
}

/// A PDF 1.4 of `pages` Letter pages, each saying "Page N" in Helvetica; the
/// cross-reference table holds each object's real byte offset.
pub fn pdf(pages: usize) -> Vec<u8> {
    // Objects: 1 catalog, 2 page tree, 3 font, then a page and its content per page.
    let page_obj = |i: usize| 4 + 2 * i;
    let kids: Vec<String> = (0..pages).map(|i| format!("{} 0 R", page_obj(i))).collect();
    let mut objects = vec![
        "<< /Type /Catalog /Pages 2 0 R >>".to_owned(),
        format!(
            "<< /Type /Pages /Kids [{}] /Count {pages} >>",
            kids.join(" ")
        ),
        "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>".to_owned(),
    ];
    for i in 0..pages {
        objects.push(format!(
            "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents {} 0 R \
             /Resources << /Font << /F1 3 0 R >> >> >>",
            page_obj(i) + 1
        ));
        let text = format!("BT /F1 24 Tf 72 700 Td (Page {}) Tj ET", i + 1);
        objects.push(format!(
            "<< /Length {} >>\nstream\n{text}\nendstream",
            text.len()
        ));
    }
    let mut out = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n".to_vec();
    let mut offsets = Vec::with_capacity(objects.len());
    for (i, body) in objects.iter().enumerate() {
        offsets.push(out.len());
        out.extend_from_slice(format!("{} 0 obj\n{body}\nendobj\n", i + 1).as_bytes());
    }
    let xref = out.len();
    let mut table = format!("xref\n0 {}\n0000000000 65535 f \n", objects.len() + 1);
    for offset in offsets {
        // Each entry is exactly 20 bytes, end of line included (ISO 32000-1 §7.5.4).
        let _ = writeln!(table, "{offset:010} 00000 n ");
    }
    let _ = write!(
        table,
        "trailer\n<< /Size {} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n",
        objects.len() + 1
    );
    out.extend_from_slice(table.as_bytes());
    out
}

/// Text for XML character data and attribute values.
pub(crate) fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            // XML 1.0 cannot carry most control characters, even escaped.
            c if c < ' ' && !matches!(c, '\t' | '\n' | '\r') => out.push('\u{fffd}'),
            c => out.push(c),
        }
    }
    out
}

fn worksheet(rows: &[Vec<String>]) -> String {
    let mut data = String::new();
    for (r, row) in rows.iter().enumerate() {
        let _ = write!(data, "<row r=\"{}\">", r + 1);
        for (c, value) in row.iter().enumerate() {
            let at = format!("{}{}", column(c), r + 1);
            if is_number(value) {
                let _ = write!(data, "<c r=\"{at}\"><v>{value}</v></c>");
            } else {
                let text = escape(value);
                let _ = write!(
                    data,
                    "<c r=\"{at}\" t=\"inlineStr\"><is><t xml:space=\"preserve\">{text}</t></is></c>"
                );
            }
        }
        data.push_str("</row>");
    }
    parts::xlsx_sheet(&data)
}

/// `A`, `B`, … `Z`, `AA`, …: the letters of a 0-based column.
fn column(mut c: usize) -> String {
    let mut letters = Vec::new();
    loop {
        letters.push(b'A' + (c % 26) as u8);
        if c < 26 {
            break;
        }
        c = c / 26 - 1;
    }
    letters.iter().rev().map(|&b| char::from(b)).collect()
}

/// A plain decimal (`-12`, `3.5`, `1e3`): what SpreadsheetML's `<v>` carries as a number.
/// `inf`, `NaN` and empty text stay strings.
fn is_number(text: &str) -> bool {
    let plain = text
        .bytes()
        .all(|b| b.is_ascii_digit() || matches!(b, b'-' | b'+' | b'.' | b'e' | b'E'));
    plain && text.bytes().any(|b| b.is_ascii_digit()) && text.parse::<f64>().is_ok()
}

/// A zip of `(path, text)` parts, deflated, in order (`[Content_Types].xml` first, as
/// the OOXML packaging convention has it).
fn zip_of(files: &[(String, String)]) -> Vec<u8> {
    let mut zip = zip::ZipWriter::new(Cursor::new(Vec::new()));
    let options = SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated);
    for (name, text) in files {
        // Writing to memory fails only on a duplicate name, which the parts above never have.
        if zip.start_file(name.as_str(), options).is_err()
            || zip.write_all(text.as_bytes()).is_err()
        {
            return Vec::new();
        }
    }
    zip.finish().map(Cursor::into_inner).unwrap_or_default()
}

#[cfg(test)]
mod tests;

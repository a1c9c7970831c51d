//! STUB of the office file generators (docs/api.md §8.16): the real OOXML and PDF writers
//! come from another branch and replace this file at merge; the signatures are theirs.
//! These placeholders return an empty zip (its end-of-central-directory record) or a
//! minimal PDF, so the fake's plumbing can be built and tested meanwhile.

/// An empty zip archive: the 22-byte end-of-central-directory record.
fn empty_zip() -> Vec<u8> {
    let mut bytes = b"PK\x05\x06".to_vec();
    bytes.resize(22, 0);
    bytes
}

/// An `.xlsx` workbook with these sheets (name, rows of cells). STUB.
pub fn workbook(sheets: &[(&str, Vec<Vec<String>>)]) -> Vec<u8> {
    let _ = sheets;
    empty_zip()
}

/// A `.pptx` deck with one slide per title. STUB.
pub fn deck(slide_titles: &[&str]) -> Vec<u8> {
    let _ = slide_titles;
    empty_zip()
}

/// A `.docx` document: a title heading, then the paragraphs. STUB.
pub fn document(title: &str, paragraphs: &[&str]) -> Vec<u8> {
    let _ = (title, paragraphs);
    empty_zip()
}

/// A PDF with this many pages. STUB.
pub fn pdf(pages: usize) -> Vec<u8> {
    let _ = pages;
    b"%PDF-1.4\n%%EOF\n".to_vec()
}

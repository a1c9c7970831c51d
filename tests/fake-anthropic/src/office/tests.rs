#![allow(clippy::unwrap_used, reason = "tests")]

use std::io::{Cursor, Read as _};

use calamine::{Data, Reader as _, Xlsx};

use super::{deck, document, pdf, workbook};

fn rows(cells: &[&[&str]]) -> Vec<Vec<String>> {
    cells
        .iter()
        .map(|r| r.iter().map(|c| (*c).to_owned()).collect())
        .collect()
}

fn names_in(zip: &[u8]) -> Vec<String> {
    let archive = zip::ZipArchive::new(Cursor::new(zip)).unwrap();
    archive
        .file_names()
        .map(|n| n.unwrap().into_owned())
        .collect()
}

fn part(zip: &[u8], name: &str) -> String {
    let mut archive = zip::ZipArchive::new(Cursor::new(zip)).unwrap();
    let mut text = String::new();
    archive
        .by_name(name)
        .unwrap()
        .read_to_string(&mut text)
        .unwrap();
    text
}

#[test]
fn office_workbook_reads_back_in_calamine_with_numbers_as_numbers() {
    let bytes = workbook(&[
        (
            "Sales & <Costs>",
            rows(&[
                &["region", "q1"],
                &["north", "3.5"],
                &["<script>alert(1)</script>", "-2"],
            ]),
        ),
        ("Empty", Vec::new()),
    ]);
    let mut book: Xlsx<_> = calamine::open_workbook_from_rs(Cursor::new(bytes)).unwrap();
    assert_eq!(book.sheet_names(), ["Sales & <Costs>", "Empty"]);
    let range = book.worksheet_range("Sales & <Costs>").unwrap();
    assert_eq!(
        range.get_value((0, 0)),
        Some(&Data::String("region".into()))
    );
    assert_eq!(range.get_value((1, 1)), Some(&Data::Float(3.5)));
    assert_eq!(
        range.get_value((2, 0)),
        Some(&Data::String("<script>alert(1)</script>".into()))
    );
    assert_eq!(range.get_value((2, 1)), Some(&Data::Float(-2.0)));
    assert!(book.worksheet_range("Empty").unwrap().is_empty());
}

#[test]
fn office_workbook_columns_past_z_and_odd_numbers() {
    let row: Vec<String> = (0..30).map(|i| format!("c{i}")).collect();
    let bytes = workbook(&[(
        "S",
        vec![row, vec!["inf".into(), "NaN".into(), "1e3".into()]],
    )]);
    let sheet = part(&bytes, "xl/worksheets/sheet1.xml");
    assert!(sheet.contains("r=\"AD1\""), "{sheet}");
    let mut book: Xlsx<_> = calamine::open_workbook_from_rs(Cursor::new(bytes)).unwrap();
    let range = book.worksheet_range("S").unwrap();
    assert_eq!(range.get_value((0, 29)), Some(&Data::String("c29".into())));
    assert_eq!(range.get_value((1, 0)), Some(&Data::String("inf".into())));
    assert_eq!(range.get_value((1, 1)), Some(&Data::String("NaN".into())));
    assert_eq!(range.get_value((1, 2)), Some(&Data::Float(1000.0)));
}

#[test]
fn office_deck_has_the_presentationml_parts_and_one_slide_per_title() {
    let bytes = deck(&["Q3 <results>", "Next steps"]);
    let names = names_in(&bytes);
    for name in [
        "[Content_Types].xml",
        "_rels/.rels",
        "ppt/presentation.xml",
        "ppt/_rels/presentation.xml.rels",
        "ppt/slides/slide1.xml",
        "ppt/slides/slide2.xml",
        "ppt/slides/_rels/slide1.xml.rels",
        "ppt/slideLayouts/slideLayout1.xml",
        "ppt/slideMasters/slideMaster1.xml",
        "ppt/theme/theme1.xml",
    ] {
        assert!(names.contains(&name.to_owned()), "{name} in {names:?}");
    }
    assert_eq!(names[0], "[Content_Types].xml");
    let slide = part(&bytes, "ppt/slides/slide1.xml");
    assert!(slide.contains("<a:t>Q3 &lt;results&gt;</a:t>"), "{slide}");
    assert!(slide.contains("<p:ph type=\"title\"/>"), "{slide}");
    let presentation = part(&bytes, "ppt/presentation.xml");
    assert_eq!(presentation.matches("<p:sldId ").count(), 2);
    assert!(!deck(&[]).is_empty(), "an empty deck is still a package");
}

#[test]
fn office_document_has_a_heading_and_the_paragraphs() {
    let bytes = document("Findings", &["First & foremost.", "Then <this>."]);
    let names = names_in(&bytes);
    for name in [
        "[Content_Types].xml",
        "_rels/.rels",
        "word/document.xml",
        "word/styles.xml",
    ] {
        assert!(names.contains(&name.to_owned()), "{name} in {names:?}");
    }
    let body = part(&bytes, "word/document.xml");
    assert!(body.contains("<w:pStyle w:val=\"Heading1\"/>"), "{body}");
    assert!(body.contains("First &amp; foremost."), "{body}");
    assert!(body.contains("Then &lt;this&gt;."), "{body}");
    assert_eq!(body.matches("<w:p>").count(), 3);
}

#[test]
fn office_pdf_xref_offsets_point_at_their_objects() {
    for pages in [0, 1, 3] {
        let bytes = pdf(pages);
        // The binary-marker comment as `?`, so byte offsets stay string offsets.
        let text: String = bytes
            .iter()
            .map(|&b| if b.is_ascii() { char::from(b) } else { '?' })
            .collect();
        assert!(text.contains(&format!("/Count {pages}")), "{text}");
        let start: usize = text
            .rsplit("startxref\n")
            .next()
            .unwrap()
            .lines()
            .next()
            .unwrap()
            .parse()
            .unwrap();
        assert!(text[start..].starts_with("xref\n"), "{text}");
        let entries: Vec<&str> = text[start..]
            .lines()
            .skip(3)
            .take_while(|l| l.ends_with(" n "))
            .collect();
        assert_eq!(entries.len(), 3 + 2 * pages);
        for (i, entry) in entries.iter().enumerate() {
            assert_eq!(entry.len() + 1, 20, "{entry:?}");
            let offset: usize = entry[..10].parse().unwrap();
            assert!(
                text[offset..].starts_with(&format!("{} 0 obj", i + 1)),
                "object {}",
                i + 1
            );
        }
        assert!(text.ends_with("%%EOF\n"));
    }
}

//! Previews of files made by the fake API's generators (what the scripted model writes
//! with Agent Skills), and of broken and hostile ones.

use std::io::{Cursor, Write as _};

use camino::Utf8PathBuf;
use fake_anthropic::office;

use super::zipped::{self, MAX_ENTRIES, MAX_PART_BYTES};
use super::{Block, Bounds, Format, Preview, clip, preview};

/// `bytes` written as `name` in a fresh folder; the folder lives as long as the path.
fn file(name: &str, bytes: &[u8]) -> (tempfile::TempDir, Utf8PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = Utf8PathBuf::try_from(dir.path().join(name)).unwrap();
    fs_err::write(&path, bytes).unwrap();
    (dir, path)
}

fn shown(name: &str, bytes: &[u8], bounds: &Bounds) -> Option<Preview> {
    let (_dir, path) = file(name, bytes);
    preview(&path, bounds)
}

fn rows(n: usize, cols: usize) -> Vec<Vec<String>> {
    (0..n)
        .map(|r| (0..cols).map(|c| format!("r{r}c{c}")).collect())
        .collect()
}

#[test]
fn a_workbook_shows_its_sheets_first_rows_and_columns() {
    let hostile = vec![
        vec!["name".to_owned(), "value".to_owned()],
        vec!["<script>alert(1)</script>".to_owned(), "3.5".to_owned()],
        vec!["whole".to_owned(), "42".to_owned()],
    ];
    let bytes = office::workbook(&[
        ("Data & more", hostile),
        ("Big", rows(30, 20)),
        ("Third", Vec::new()),
    ]);
    let Some(Preview::Workbook {
        sheets,
        more_sheets,
        sheet_count,
    }) = shown("book.xlsx", &bytes, &Bounds::PAGE)
    else {
        panic!("no preview");
    };
    assert_eq!(sheet_count, 3);
    assert!(more_sheets.is_empty(), "{more_sheets:?}");
    assert_eq!(sheets[0].name, "Data & more");
    assert_eq!(
        sheets[0].rows[1],
        ["<script>alert(1)</script>", "3.5"],
        "raw text: the page escapes it"
    );
    assert_eq!(sheets[0].rows[2][1], "42");
    assert!(!sheets[0].more_rows && !sheets[0].more_cols);
    let big = &sheets[1];
    assert_eq!((big.rows.len(), big.rows[0].len()), (10, 8));
    assert!(big.more_rows && big.more_cols);
    assert_eq!(big.rows[9][7], "r9c7");
    assert!(sheets[2].rows.is_empty());

    let Some(Preview::Workbook {
        sheets,
        more_sheets,
        ..
    }) = shown("BOOK.XLSX", &bytes, &Bounds::CARD)
    else {
        panic!("no card preview");
    };
    assert_eq!(sheets.len(), 1, "a card shows one table");
    assert_eq!(more_sheets, ["Big", "Third"]);
}

#[test]
fn a_document_shows_its_headings_and_first_paragraphs() {
    let bytes = office::document(
        "Findings <b>",
        &["One.", "  Two\twith   space.  ", "", "Three.", "Four."],
    );
    let Some(Preview::Document { blocks, more }) = shown("notes.docx", &bytes, &Bounds::PAGE)
    else {
        panic!("no preview");
    };
    let block = |level, text: &str| Block {
        level,
        text: text.to_owned(),
    };
    assert_eq!(
        blocks,
        [
            block(1, "Findings <b>"),
            block(0, "One."),
            block(0, "Two with space."),
            block(0, "Three.")
        ]
    );
    assert!(more, "Four. is left out");
}

#[test]
fn a_deck_shows_its_slide_titles_in_order() {
    let titles: Vec<String> = (1..=9).map(|i| format!("Slide {i} & <more>")).collect();
    let refs: Vec<&str> = titles.iter().map(String::as_str).collect();
    let bytes = office::deck(&refs);
    let Some(Preview::Deck {
        titles: shown_titles,
        slide_count,
    }) = shown("deck.pptx", &bytes, &Bounds::CARD)
    else {
        panic!("no preview");
    };
    assert_eq!(slide_count, 9);
    assert_eq!(shown_titles, titles[..6]);
    assert_eq!(
        shown("empty.pptx", &office::deck(&[]), &Bounds::PAGE),
        Some(Preview::Deck {
            titles: Vec::new(),
            slide_count: 0
        })
    );
}

#[test]
fn a_pdf_shows_its_page_count() {
    assert_eq!(
        shown("r.pdf", &office::pdf(3), &Bounds::PAGE),
        Some(Preview::Pdf { pages: 3 })
    );
    assert_eq!(
        shown("r.pdf", &office::pdf(1), &Bounds::CARD),
        Some(Preview::Pdf { pages: 1 })
    );
    assert_eq!(
        shown("none.pdf", &office::pdf(0), &Bounds::PAGE),
        None,
        "no pages: nothing to say"
    );
    // Without a page tree count, the distinct page objects are counted.
    let text = String::from_utf8_lossy(&office::pdf(2)).replace("/Count 2", "");
    assert_eq!(
        shown("r.pdf", text.as_bytes(), &Bounds::PAGE),
        Some(Preview::Pdf { pages: 2 })
    );
}

#[test]
fn a_file_that_cannot_be_read_has_no_preview() {
    let deck = office::deck(&["A", "B"]);
    for (name, bytes) in [
        ("x.xlsx", b"not a zip".to_vec()),
        ("x.docx", b"PK\x03\x04 truncated".to_vec()),
        ("x.pptx", deck[..deck.len() / 2].to_vec()),
        ("x.pdf", b"<html>not a pdf</html>".to_vec()),
        ("deck.docx", deck.clone()),
        ("doc.pptx", office::document("t", &["p"])),
        ("x.xlsx", office::document("t", &[])),
        ("x.csv", office::workbook(&[("S", rows(2, 2))])),
        ("x.xlsx", Vec::new()),
    ] {
        assert_eq!(shown(name, &bytes, &Bounds::PAGE), None, "{name}");
    }
    let dir = tempfile::tempdir().unwrap();
    let missing = Utf8PathBuf::try_from(dir.path().join("gone.xlsx")).unwrap();
    assert_eq!(preview(&missing, &Bounds::PAGE), None);
}

/// A zip of `(name, bytes)` entries, deflated.
fn zip_of(entries: &[(&str, &[u8])]) -> Vec<u8> {
    let mut zip = zip::ZipWriter::new(Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default();
    for (name, bytes) in entries {
        zip.start_file(*name, options).unwrap();
        zip.write_all(bytes).unwrap();
    }
    zip.finish().unwrap().into_inner()
}

/// `zip` with the uncompressed size its headers declare for `name` replaced by `size`.
fn declaring(mut zip: Vec<u8>, name: &str, size: u32) -> Vec<u8> {
    // Local headers (PK\3\4) keep it at offset 22, central directory ones (PK\1\2) at 24;
    // each header is followed by its name at offset 30 or 46.
    for (sig, at, name_at) in [(b"PK\x03\x04", 22, 30), (b"PK\x01\x02", 24, 46)] {
        let starts: Vec<usize> = zip
            .windows(4)
            .enumerate()
            .filter(|(_, w)| w == sig)
            .map(|(i, _)| i)
            .collect();
        for i in starts {
            if zip[i + name_at..].starts_with(name.as_bytes()) {
                zip[i + at..i + at + 4].copy_from_slice(&size.to_le_bytes());
            }
        }
    }
    zip
}

#[test]
fn a_zip_bomb_is_not_inflated() {
    let document = |text: &str| {
        format!(
            "<w:document xmlns:w=\"w\"><w:body><w:p><w:r><w:t>{text}</w:t></w:r></w:p></w:body></w:document>"
        )
    };
    let big = document(&"a".repeat(1 << 20));
    let honest = zip_of(&[("word/document.xml", big.as_bytes())]);
    assert!(matches!(
        shown("ok.docx", &honest, &Bounds::PAGE),
        Some(Preview::Document { .. })
    ));
    // Declaring more than a part may have: not opened at all.
    let huge = declaring(
        honest.clone(),
        "word/document.xml",
        u32::try_from(MAX_PART_BYTES + 1).unwrap(),
    );
    assert_eq!(shown("huge.docx", &huge, &Bounds::PAGE), None);
    // Declaring less than it inflates to: the read stops at the declared size and fails.
    let lying = declaring(honest, "word/document.xml", 100);
    assert_eq!(shown("lying.docx", &lying, &Bounds::PAGE), None);
    let book = declaring(
        office::workbook(&[("S", rows(2, 2))]),
        "xl/worksheets/sheet1.xml",
        u32::try_from(MAX_PART_BYTES + 1).unwrap(),
    );
    assert_eq!(
        shown("huge.xlsx", &book, &Bounds::PAGE),
        None,
        "checked before calamine opens it"
    );
}

#[test]
fn too_many_entries_or_too_deep_xml_has_no_preview() {
    let names: Vec<String> = (0..=MAX_ENTRIES).map(|i| format!("f{i}.xml")).collect();
    let entries: Vec<(&str, &[u8])> = names.iter().map(|n| (n.as_str(), &b""[..])).collect();
    assert!(zipped::open(zip_of(&entries)).is_none());
    let deep = format!(
        "<w:document xmlns:w=\"w\">{}{}</w:document>",
        "<w:p>".repeat(300),
        "</w:p>".repeat(300)
    );
    let bytes = zip_of(&[("word/document.xml", deep.as_bytes())]);
    assert_eq!(shown("deep.docx", &bytes, &Bounds::PAGE), None);
}

#[test]
fn clipping_and_part_names() {
    assert_eq!(clip("  a\n\tb  c ", 10), "a b c");
    assert_eq!(clip("abcdef", 4), "abcd…");
    assert_eq!(clip("a\u{0}b", 4), "ab");
    assert_eq!(clip("ééééé", 3), "ééé…");
    assert_eq!(
        zipped::resolve("ppt", "slides/slide1.xml").as_deref(),
        Some("ppt/slides/slide1.xml")
    );
    assert_eq!(
        zipped::resolve("ppt/slides", "../media/a.png").as_deref(),
        Some("ppt/media/a.png")
    );
    assert_eq!(
        zipped::resolve("ppt", "/ppt/x.xml").as_deref(),
        Some("ppt/x.xml")
    );
    assert_eq!(zipped::resolve("", "../../etc/passwd"), None);
    assert_eq!(zipped::resolve("word", "https://example.com/x"), None);
    assert_eq!(Format::of("a.PDF"), Some(Format::Pdf));
    assert_eq!(Format::of("xlsx"), None);
}

#[test]
fn only_regular_files_within_the_size_bound_are_read() {
    let dir = tempfile::tempdir().unwrap();
    let folder = Utf8PathBuf::try_from(dir.path().join("folder.xlsx")).unwrap();
    fs_err::create_dir(&folder).unwrap();
    assert_eq!(preview(&folder, &Bounds::PAGE), None);
    let big = Utf8PathBuf::try_from(dir.path().join("big.pdf")).unwrap();
    let file = fs_err::File::create(&big).unwrap();
    file.set_len(super::MAX_FILE_BYTES + 1).unwrap();
    assert_eq!(preview(&big, &Bounds::PAGE), None);
}

fn table(name: &str, bytes: &[u8]) -> Option<(Vec<Vec<String>>, bool, bool)> {
    match shown(name, bytes, &Bounds::PAGE)? {
        Preview::Table {
            rows,
            more_rows,
            more_cols,
        } => Some((rows, more_rows, more_cols)),
        other => panic!("not a table: {other:?}"),
    }
}

#[test]
fn a_csv_shows_its_first_rows_and_columns_as_raw_text() {
    let text = "\u{feff}region,\"sales, net\",note\n\
                <script>alert(1)</script>,12.5,\"two\nlines\"\n\
                short\n";
    let (rows, more_rows, more_cols) = table("sales.CSV", text.as_bytes()).unwrap();
    assert_eq!(
        rows,
        [
            ["region", "sales, net", "note"],
            ["<script>alert(1)</script>", "12.5", "two lines"],
            ["short", "", ""],
        ],
        "quoted fields read, rows padded, raw text: the page escapes it"
    );
    assert!(!more_rows && !more_cols);
    let wide: String = (0..30)
        .map(|r| {
            let cells: Vec<String> = (0..20).map(|c| format!("r{r}c{c}")).collect();
            cells.join("\t") + "\n"
        })
        .collect();
    let (rows, more_rows, more_cols) = table("big.tsv", wide.as_bytes()).unwrap();
    assert_eq!((rows.len(), rows[0].len()), (10, 8));
    assert_eq!(rows[9][7], "r9c7");
    assert!(more_rows && more_cols);
    let long = format!("{}\n", "y".repeat(500));
    let (rows, ..) = table("long.csv", long.as_bytes()).unwrap();
    assert_eq!(
        rows[0][0].chars().count(),
        Bounds::PAGE.chars + 1,
        "cut, with …"
    );
    assert_eq!(table("empty.csv", b""), Some((Vec::new(), false, false)));
    assert_eq!(Format::of("a.csv"), None, "a card does not preview it");
    assert_eq!(Format::on_page("a.csv"), Some(Format::Csv));
}

#[test]
fn a_csv_that_is_not_text_has_no_preview() {
    assert_eq!(table("latin1.csv", b"caf\xe9,1\n"), None, "not UTF-8");
    assert_eq!(table("binary.csv", b"PK\x03\x04\x00\x00,1\n"), None);
    assert_eq!(
        table("one-line.csv", &vec![b'a'; 2 << 20]),
        None,
        "no row end in the head"
    );
}

#[test]
fn a_large_csv_shows_its_head_and_says_it_goes_on() {
    // Bigger than the office bound, so only its head is read; the row the head cuts
    // through is left out.
    let row = format!("{},2\n", "x".repeat(999));
    let mut text = row.repeat(25 << 10);
    text.insert_str(0, "name,value\n");
    assert!(text.len() as u64 > super::MAX_FILE_BYTES);
    let (rows, more_rows, _) = table("huge.csv", text.as_bytes()).unwrap();
    assert_eq!(rows[0], ["name", "value"]);
    assert!(more_rows);
    let few = "a,b\n".repeat(3) + &"z".repeat(super::delimited::MAX_HEAD_BYTES as usize);
    let (rows, more_rows, _) = table("cut.csv", few.as_bytes()).unwrap();
    assert_eq!(rows.len(), 3, "the cut last line is not a row");
    assert!(more_rows);
}

/// Text that looks like CSV: delimiters, quotes, line ends, and some of everything else.
fn csvish() -> impl proptest::strategy::Strategy<Value = Vec<u8>> {
    use proptest::prelude::*;
    let piece = prop_oneof![
        Just(b",".to_vec()),
        Just(b"\"".to_vec()),
        Just(b"\n".to_vec()),
        Just(b"\r\n".to_vec()),
        Just(b"\t".to_vec()),
        "[a-z<>&]{0,90}".prop_map(String::into_bytes),
        any::<u8>().prop_map(|b| vec![b]),
    ];
    proptest::collection::vec(piece, 0..400).prop_map(|p| p.concat())
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(64))]

    /// Any bytes under a `.csv` name (called without the `catch_unwind` of [`preview`]):
    /// no panic, and a preview stays within the rows, columns and characters it may show.
    #[test]
    fn any_bytes_as_csv_never_panic_and_stay_bounded(
        bytes in proptest::prop_oneof![
            proptest::collection::vec(proptest::prelude::any::<u8>(), 0..2048),
            csvish(),
        ],
        cut in proptest::prelude::any::<bool>(),
    ) {
        for bounds in [Bounds::PAGE, Bounds::CARD] {
            if let Some(p) = super::delimited::preview(&bytes, cut, b',', &bounds) {
                let Preview::Table { rows, .. } = p else { panic!("not a table") };
                proptest::prop_assert!(rows.len() <= bounds.rows);
                for row in &rows {
                    proptest::prop_assert!(row.len() <= bounds.cols);
                    for cell in row {
                        proptest::prop_assert!(cell.chars().count() <= bounds.chars + 1);
                    }
                }
            }
        }
    }

    /// Damaged files (bytes overwritten, the end cut off) never panic our readers: called
    /// without the `catch_unwind` of [`preview`], so a panic here is a failure.
    #[test]
    fn damaged_office_files_never_panic(
        at in proptest::collection::vec((0usize..4096, proptest::prelude::any::<u8>()), 1..8),
        cut in 0usize..4096,
    ) {
        let files = [
            office::workbook(&[("S", rows(3, 3))]),
            office::document("T", &["p", "q"]),
            office::deck(&["a", "b"]),
            office::pdf(2),
        ];
        for (i, mut bytes) in files.into_iter().enumerate() {
            for (offset, value) in &at {
                let len = bytes.len();
                bytes[offset % len] = *value;
            }
            bytes.truncate(bytes.len() - cut % bytes.len());
            match i {
                0 => drop(super::xlsx::preview(bytes, &Bounds::PAGE)),
                1 => drop(super::docx::preview(bytes, &Bounds::PAGE)),
                2 => drop(super::pptx::preview(bytes, &Bounds::PAGE)),
                _ => drop(super::pdf::preview(&bytes)),
            }
        }
    }
}

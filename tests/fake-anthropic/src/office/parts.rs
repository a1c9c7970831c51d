//! The XML parts of the office files in `office.rs`, each as small as its reader allows:
//! ECMA-376 Part 1 names the parts and relationships, and PowerPoint also wants a slide
//! master, a layout and a theme behind every slide. Callers escape the text they pass in.

use std::fmt::Write as _;

const DECL: &str = "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>\n";
const REL: &str = "http://schemas.openxmlformats.org/officeDocument/2006/relationships";
const CT: &str = "application/vnd.openxmlformats-officedocument";
const NS_P: &str = "xmlns:a=\"http://schemas.openxmlformats.org/drawingml/2006/main\" \
     xmlns:r=\"http://schemas.openxmlformats.org/officeDocument/2006/relationships\" \
     xmlns:p=\"http://schemas.openxmlformats.org/presentationml/2006/main\"";
const NS_W: &str = "xmlns:w=\"http://schemas.openxmlformats.org/wordprocessingml/2006/main\"";
const NS_S: &str = "xmlns=\"http://schemas.openxmlformats.org/spreadsheetml/2006/main\"";

/// `[Content_Types].xml`: the defaults every package needs, then one override per part.
fn types(overrides: &[(String, String)]) -> String {
    let mut xml = format!(
        "{DECL}<Types xmlns=\"http://schemas.openxmlformats.org/package/2006/content-types\">\
         <Default Extension=\"rels\" ContentType=\"application/vnd.openxmlformats-package.relationships+xml\"/>\
         <Default Extension=\"xml\" ContentType=\"application/xml\"/>"
    );
    for (part, kind) in overrides {
        let _ = write!(
            xml,
            "<Override PartName=\"{part}\" ContentType=\"{kind}\"/>"
        );
    }
    xml.push_str("</Types>");
    xml
}

/// A `.rels` part of `(id, type, target)` relationships; `type` is the last segment of the
/// officeDocument relationship namespace.
fn rels(items: &[(String, &str, String)]) -> String {
    let mut xml = format!(
        "{DECL}<Relationships xmlns=\"http://schemas.openxmlformats.org/package/2006/relationships\">"
    );
    for (id, kind, target) in items {
        let _ = write!(
            xml,
            "<Relationship Id=\"{id}\" Type=\"{REL}/{kind}\" Target=\"{target}\"/>"
        );
    }
    xml.push_str("</Relationships>");
    xml
}

/// `_rels/.rels`: the package's main part.
pub(super) fn rels_to(main: &str) -> String {
    rels(&[("rId1".to_owned(), "officeDocument", main.to_owned())])
}

pub(super) fn xlsx_types(sheets: usize) -> String {
    let mut parts = vec![(
        "/xl/workbook.xml".to_owned(),
        format!("{CT}.spreadsheetml.sheet.main+xml"),
    )];
    for i in 1..=sheets {
        parts.push((
            format!("/xl/worksheets/sheet{i}.xml"),
            format!("{CT}.spreadsheetml.worksheet+xml"),
        ));
    }
    types(&parts)
}

pub(super) fn xlsx_workbook(sheets: &[(&str, Vec<Vec<String>>)]) -> String {
    let mut xml = format!("{DECL}<workbook {NS_S} xmlns:r=\"{REL}\"><sheets>");
    for (i, (name, _)) in sheets.iter().enumerate() {
        let _ = write!(
            xml,
            "<sheet name=\"{}\" sheetId=\"{}\" r:id=\"rId{}\"/>",
            super::escape(name),
            i + 1,
            i + 1
        );
    }
    xml.push_str("</sheets></workbook>");
    xml
}

pub(super) fn xlsx_workbook_rels(sheets: usize) -> String {
    let items: Vec<_> = (1..=sheets)
        .map(|i| {
            (
                format!("rId{i}"),
                "worksheet",
                format!("worksheets/sheet{i}.xml"),
            )
        })
        .collect();
    rels(&items)
}

pub(super) fn xlsx_sheet(rows: &str) -> String {
    format!("{DECL}<worksheet {NS_S}><sheetData>{rows}</sheetData></worksheet>")
}

pub(super) fn pptx_types(slides: usize) -> String {
    let pml = |kind: &str| format!("{CT}.presentationml.{kind}+xml");
    let mut parts = vec![
        ("/ppt/presentation.xml".to_owned(), pml("presentation.main")),
        (
            "/ppt/slideMasters/slideMaster1.xml".to_owned(),
            pml("slideMaster"),
        ),
        (
            "/ppt/slideLayouts/slideLayout1.xml".to_owned(),
            pml("slideLayout"),
        ),
        (
            "/ppt/theme/theme1.xml".to_owned(),
            format!("{CT}.theme+xml"),
        ),
    ];
    for i in 1..=slides {
        parts.push((format!("/ppt/slides/slide{i}.xml"), pml("slide")));
    }
    types(&parts)
}

/// The presentation: its master (`rId1`), theme (`rId2`) and slides (`rId3`…) in order.
pub(super) fn pptx_presentation(slides: usize) -> String {
    let mut xml = format!(
        "{DECL}<p:presentation {NS_P}><p:sldMasterIdLst><p:sldMasterId id=\"2147483648\" r:id=\"rId1\"/></p:sldMasterIdLst>"
    );
    if slides > 0 {
        xml.push_str("<p:sldIdLst>");
        for i in 0..slides {
            let _ = write!(xml, "<p:sldId id=\"{}\" r:id=\"rId{}\"/>", 256 + i, 3 + i);
        }
        xml.push_str("</p:sldIdLst>");
    }
    xml.push_str(
        "<p:sldSz cx=\"9144000\" cy=\"6858000\"/><p:notesSz cx=\"6858000\" cy=\"9144000\"/></p:presentation>",
    );
    xml
}

pub(super) fn pptx_presentation_rels(slides: usize) -> String {
    let mut items = vec![
        (
            "rId1".to_owned(),
            "slideMaster",
            "slideMasters/slideMaster1.xml".to_owned(),
        ),
        ("rId2".to_owned(), "theme", "theme/theme1.xml".to_owned()),
    ];
    for i in 0..slides {
        items.push((
            format!("rId{}", 3 + i),
            "slide",
            format!("slides/slide{}.xml", i + 1),
        ));
    }
    rels(&items)
}

/// The empty group every shape tree starts with.
const SP_TREE_ROOT: &str =
    "<p:nvGrpSpPr><p:cNvPr id=\"1\" name=\"\"/><p:cNvGrpSpPr/><p:nvPr/></p:nvGrpSpPr><p:grpSpPr/>";

/// A slide whose only shape is its title placeholder, placed explicitly so it shows even
/// though the layout defines no placeholders.
pub(super) fn pptx_slide(title: &str) -> String {
    format!(
        "{DECL}<p:sld {NS_P}><p:cSld><p:spTree>{SP_TREE_ROOT}\
         <p:sp><p:nvSpPr><p:cNvPr id=\"2\" name=\"Title 1\"/><p:cNvSpPr><a:spLocks noGrp=\"1\"/></p:cNvSpPr>\
         <p:nvPr><p:ph type=\"title\"/></p:nvPr></p:nvSpPr>\
         <p:spPr><a:xfrm><a:off x=\"457200\" y=\"274638\"/><a:ext cx=\"8229600\" cy=\"1143000\"/></a:xfrm></p:spPr>\
         <p:txBody><a:bodyPr/><a:lstStyle/><a:p><a:r><a:rPr lang=\"en-US\"/><a:t>{title}</a:t></a:r></a:p></p:txBody></p:sp>\
         </p:spTree></p:cSld><p:clrMapOvr><a:masterClrMapping/></p:clrMapOvr></p:sld>"
    )
}

pub(super) const PPTX_SLIDE_RELS: &str = "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>\n\
    <Relationships xmlns=\"http://schemas.openxmlformats.org/package/2006/relationships\">\
    <Relationship Id=\"rId1\" Type=\"http://schemas.openxmlformats.org/officeDocument/2006/relationships/slideLayout\" Target=\"../slideLayouts/slideLayout1.xml\"/>\
    </Relationships>";

pub(super) const PPTX_MASTER: &str = "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>\n\
    <p:sldMaster xmlns:a=\"http://schemas.openxmlformats.org/drawingml/2006/main\" \
    xmlns:r=\"http://schemas.openxmlformats.org/officeDocument/2006/relationships\" \
    xmlns:p=\"http://schemas.openxmlformats.org/presentationml/2006/main\">\
    <p:cSld><p:spTree><p:nvGrpSpPr><p:cNvPr id=\"1\" name=\"\"/><p:cNvGrpSpPr/><p:nvPr/></p:nvGrpSpPr><p:grpSpPr/></p:spTree></p:cSld>\
    <p:clrMap bg1=\"lt1\" tx1=\"dk1\" bg2=\"lt2\" tx2=\"dk2\" accent1=\"accent1\" accent2=\"accent2\" accent3=\"accent3\" \
    accent4=\"accent4\" accent5=\"accent5\" accent6=\"accent6\" hlink=\"hlink\" folHlink=\"folHlink\"/>\
    <p:sldLayoutIdLst><p:sldLayoutId id=\"2147483649\" r:id=\"rId1\"/></p:sldLayoutIdLst>\
    </p:sldMaster>";

pub(super) const PPTX_MASTER_RELS: &str = "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>\n\
    <Relationships xmlns=\"http://schemas.openxmlformats.org/package/2006/relationships\">\
    <Relationship Id=\"rId1\" Type=\"http://schemas.openxmlformats.org/officeDocument/2006/relationships/slideLayout\" Target=\"../slideLayouts/slideLayout1.xml\"/>\
    <Relationship Id=\"rId2\" Type=\"http://schemas.openxmlformats.org/officeDocument/2006/relationships/theme\" Target=\"../theme/theme1.xml\"/>\
    </Relationships>";

pub(super) const PPTX_LAYOUT: &str = "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>\n\
    <p:sldLayout xmlns:a=\"http://schemas.openxmlformats.org/drawingml/2006/main\" \
    xmlns:r=\"http://schemas.openxmlformats.org/officeDocument/2006/relationships\" \
    xmlns:p=\"http://schemas.openxmlformats.org/presentationml/2006/main\" type=\"titleOnly\" preserve=\"1\">\
    <p:cSld name=\"Title Only\"><p:spTree><p:nvGrpSpPr><p:cNvPr id=\"1\" name=\"\"/><p:cNvGrpSpPr/><p:nvPr/></p:nvGrpSpPr><p:grpSpPr/></p:spTree></p:cSld>\
    <p:clrMapOvr><a:masterClrMapping/></p:clrMapOvr></p:sldLayout>";

pub(super) const PPTX_LAYOUT_RELS: &str = "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>\n\
    <Relationships xmlns=\"http://schemas.openxmlformats.org/package/2006/relationships\">\
    <Relationship Id=\"rId1\" Type=\"http://schemas.openxmlformats.org/officeDocument/2006/relationships/slideMaster\" Target=\"../slideMasters/slideMaster1.xml\"/>\
    </Relationships>";

/// A theme with the twelve colours, two fonts and three of each format style DrawingML
/// requires (ECMA-376 Part 1 §20.1.6).
pub(super) const THEME: &str = include_str!("theme1.xml");

pub(super) const DOCX_TYPES: &str = "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>\n\
    <Types xmlns=\"http://schemas.openxmlformats.org/package/2006/content-types\">\
    <Default Extension=\"rels\" ContentType=\"application/vnd.openxmlformats-package.relationships+xml\"/>\
    <Default Extension=\"xml\" ContentType=\"application/xml\"/>\
    <Override PartName=\"/word/document.xml\" ContentType=\"application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml\"/>\
    <Override PartName=\"/word/styles.xml\" ContentType=\"application/vnd.openxmlformats-officedocument.wordprocessingml.styles+xml\"/>\
    </Types>";

pub(super) const DOCX_DOCUMENT_RELS: &str = "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>\n\
    <Relationships xmlns=\"http://schemas.openxmlformats.org/package/2006/relationships\">\
    <Relationship Id=\"rId1\" Type=\"http://schemas.openxmlformats.org/officeDocument/2006/relationships/styles\" Target=\"styles.xml\"/>\
    </Relationships>";

/// `Normal` and `Heading1` (outline level 0, so readers list it as a heading).
pub(super) const DOCX_STYLES: &str = "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>\n\
    <w:styles xmlns:w=\"http://schemas.openxmlformats.org/wordprocessingml/2006/main\">\
    <w:style w:type=\"paragraph\" w:default=\"1\" w:styleId=\"Normal\"><w:name w:val=\"Normal\"/><w:qFormat/></w:style>\
    <w:style w:type=\"paragraph\" w:styleId=\"Heading1\"><w:name w:val=\"heading 1\"/><w:basedOn w:val=\"Normal\"/>\
    <w:next w:val=\"Normal\"/><w:qFormat/><w:pPr><w:keepNext/><w:outlineLvl w:val=\"0\"/></w:pPr>\
    <w:rPr><w:b/><w:sz w:val=\"32\"/></w:rPr></w:style>\
    </w:styles>";

pub(super) fn docx_paragraph(style: Option<&str>, text: &str) -> String {
    let style = style.map_or_else(String::new, |s| {
        format!("<w:pPr><w:pStyle w:val=\"{s}\"/></w:pPr>")
    });
    format!("<w:p>{style}<w:r><w:t xml:space=\"preserve\">{text}</w:t></w:r></w:p>")
}

pub(super) fn docx_document(body: &str) -> String {
    format!(
        "{DECL}<w:document {NS_W}><w:body>{body}<w:sectPr><w:pgSz w:w=\"12240\" w:h=\"15840\"/></w:sectPr></w:body></w:document>"
    )
}

//! A `.pptx` preview: the slide count and the first slides' titles, in the order the
//! presentation lists its slides (`p:sldIdLst`), which need not be the order of the part
//! names.

use std::collections::HashMap;
use std::ops::ControlFlow;

use super::xml::{Node, attr, name, walk};
use super::{Bounds, Preview, clip, zipped};

/// Slides counted at most (and relationships read from the presentation).
const MAX_SLIDES: usize = 4_000;

pub(super) fn preview(bytes: Vec<u8>, bounds: &Bounds) -> Option<Preview> {
    let mut archive = zipped::open(bytes)?;
    let main = zipped::main_part(&mut archive, "ppt/presentation.xml");
    let order = slide_ids(&mut archive, &main)?;
    let targets: HashMap<String, String> = zipped::relationships(&mut archive, &main, MAX_SLIDES)
        .into_iter()
        .filter(|r| r.kind == "slide")
        .map(|r| (r.id, r.target))
        .collect();
    let titles = order
        .iter()
        .take(bounds.slides)
        .map(|id| {
            targets
                .get(id)
                .and_then(|part| title(&mut archive, part, bounds.chars))
                .unwrap_or_default()
        })
        .collect();
    Some(Preview::Deck {
        titles,
        slide_count: order.len(),
    })
}

/// The relationship ids of the slides, in presentation order.
fn slide_ids(archive: &mut zipped::Archive, main: &str) -> Option<Vec<String>> {
    let reader = zipped::xml(archive, main)?;
    let mut ids = Vec::new();
    let mut root = None;
    walk(reader, |node| {
        match node {
            Node::Open(e) if root.is_none() => {
                root = Some(name(e) == "presentation");
                if root == Some(false) {
                    return ControlFlow::Break(());
                }
            }
            Node::Open(e) if name(e) == "sldId" => ids.extend(rel_id(e)),
            Node::Close("sldIdLst") => return ControlFlow::Break(()),
            _ => {}
        }
        if ids.len() >= MAX_SLIDES {
            ControlFlow::Break(())
        } else {
            ControlFlow::Continue(())
        }
    })?;
    // The main part of another kind of package (a document named `.pptx`) is not read.
    root.filter(|r| *r).map(|_| ids)
}

/// `r:id`: the attribute named `id` in the relationships namespace (the plain `id` of a
/// `p:sldId` is its slide id, a number).
fn rel_id(e: &quick_xml::events::BytesStart<'_>) -> Option<String> {
    e.attributes().with_checks(false).flatten().find_map(|a| {
        let key = a.key.as_ref();
        (key.ends_with(":id") && key != "id")
            .then(|| a.normalized_value(quick_xml::XmlVersion::Implicit1_0).ok())
            .flatten()
            .map(|v| v.into_owned())
    })
}

/// The text of a slide's title placeholder (`p:ph` of type `title` or `ctrTitle`); `None`
/// when it has none or cannot be read.
fn title(archive: &mut zipped::Archive, part: &str, chars: usize) -> Option<String> {
    let reader = zipped::xml(archive, part)?;
    let mut shapes = 0usize;
    let mut title_at = None;
    let mut text = String::new();
    let mut in_text = false;
    walk(reader, |node| {
        match node {
            Node::Open(e) => match name(e) {
                "sp" => shapes += 1,
                "ph" if matches!(attr(e, "type").as_deref(), Some("title" | "ctrTitle")) => {
                    title_at = Some(shapes);
                }
                // Paragraphs of a title are lines of one title.
                "p" | "br" if title_at.is_some() => text.push(' '),
                "t" => in_text = true,
                _ => {}
            },
            Node::Close("t") => in_text = false,
            Node::Text(t) if in_text && title_at.is_some() && text.len() < chars * 4 + 16 => {
                text.push_str(t);
            }
            Node::Close("sp") => {
                if title_at == Some(shapes) {
                    return ControlFlow::Break(());
                }
                shapes = shapes.saturating_sub(1);
            }
            _ => {}
        }
        ControlFlow::Continue(())
    })?;
    Some(clip(&text, chars))
}

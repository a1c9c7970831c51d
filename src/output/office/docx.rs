//! A `.docx` preview: the headings (by their style, or an outline level) and the first
//! paragraphs of the main document, in document order.

use std::collections::HashMap;
use std::ops::ControlFlow;

use super::xml::{Node, attr, name, walk};
use super::{Block, Bounds, Preview, clip, zipped};

/// Styles read from `styles.xml` at most.
const MAX_STYLES: usize = 2_000;

pub(super) fn preview(bytes: Vec<u8>, bounds: &Bounds) -> Option<Preview> {
    let mut archive = zipped::open(bytes)?;
    let main = zipped::main_part(&mut archive, "word/document.xml");
    let styles = heading_styles(&mut archive, &main);
    let reader = zipped::xml(&mut archive, &main)?;
    let mut body = Body::new(*bounds, styles);
    walk(reader, |node| body.visit(node))?;
    body.word.then_some(())?;
    Some(Preview::Document {
        blocks: body.blocks,
        more: body.more,
    })
}

struct Body {
    bounds: Bounds,
    styles: HashMap<String, u8>,
    blocks: Vec<Block>,
    headings: usize,
    paragraphs: usize,
    more: bool,
    /// `w:p` nesting (a text box's paragraphs are inside another's) and the outermost
    /// paragraph's level and text so far.
    depth: usize,
    level: u8,
    text: String,
    in_text: bool,
    /// Whether the root element was seen, and was `w:document`.
    opened: bool,
    word: bool,
}

impl Body {
    fn new(bounds: Bounds, styles: HashMap<String, u8>) -> Body {
        Body {
            bounds,
            styles,
            blocks: Vec::new(),
            headings: 0,
            paragraphs: 0,
            more: false,
            depth: 0,
            level: 0,
            text: String::new(),
            in_text: false,
            opened: false,
            word: false,
        }
    }

    fn visit(&mut self, node: Node<'_>) -> ControlFlow<()> {
        match node {
            // The main part of another kind of package (a deck named `.docx`) is not read.
            Node::Open(e) if !self.opened => {
                self.opened = true;
                if name(e) != "document" {
                    self.blocks.clear();
                    return ControlFlow::Break(());
                }
                self.word = true;
            }
            Node::Open(e) => match name(e) {
                "p" => {
                    if self.depth == 0 {
                        self.level = 0;
                        self.text.clear();
                    }
                    self.depth += 1;
                }
                "pStyle" if self.depth == 1 => {
                    let id = attr(e, "val").unwrap_or_default();
                    self.level = self
                        .styles
                        .get(&id)
                        .copied()
                        .unwrap_or_else(|| level_of(&id));
                }
                "outlineLvl" if self.depth == 1 && self.level == 0 => {
                    self.level = outline(attr(e, "val").as_deref());
                }
                "t" => self.in_text = true,
                "tab" | "br" | "cr" => self.push(" "),
                _ => {}
            },
            Node::Text(t) if self.in_text => self.push(t),
            Node::Close("t") => self.in_text = false,
            Node::Close("p") => {
                self.depth = self.depth.saturating_sub(1);
                if self.depth == 0 {
                    return self.finish();
                }
            }
            _ => {}
        }
        ControlFlow::Continue(())
    }

    /// Adds text to the paragraph, up to a little more than is shown.
    fn push(&mut self, text: &str) {
        let room = (self.bounds.chars * 4 + 16).saturating_sub(self.text.len());
        let mut end = room.min(text.len());
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        self.text.push_str(&text[..end]);
    }

    /// The paragraph just closed: kept if there is room for its kind; the walk stops once
    /// there is room for neither.
    fn finish(&mut self) -> ControlFlow<()> {
        let text = clip(&self.text, self.bounds.chars);
        if text.is_empty() {
            return ControlFlow::Continue(());
        }
        let heading = self.level > 0;
        let (count, max) = if heading {
            (&mut self.headings, self.bounds.headings)
        } else {
            (&mut self.paragraphs, self.bounds.paragraphs)
        };
        if *count < max {
            *count += 1;
            self.blocks.push(Block {
                level: self.level,
                text,
            });
        } else {
            self.more = true;
        }
        let full =
            self.headings >= self.bounds.headings && self.paragraphs >= self.bounds.paragraphs;
        if full {
            ControlFlow::Break(())
        } else {
            ControlFlow::Continue(())
        }
    }
}

/// A heading level from a style's id or name: `Heading2`, `heading 2` → 2; `Title` → 1;
/// anything else 0 (a paragraph).
fn level_of(style: &str) -> u8 {
    let key: String = style
        .chars()
        .filter(|c| c.is_alphanumeric())
        .collect::<String>()
        .to_ascii_lowercase();
    if key == "title" {
        return 1;
    }
    key.strip_prefix("heading")
        .and_then(|n| n.parse::<u8>().ok())
        .filter(|n| (1..=9).contains(n))
        .unwrap_or(0)
}

/// `w:outlineLvl` counts from 0 for level 1; 9 is body text.
fn outline(value: Option<&str>) -> u8 {
    value
        .and_then(|v| v.parse::<u8>().ok())
        .filter(|n| *n < 9)
        .map_or(0, |n| n + 1)
}

/// Style ids that are headings, from the document's styles part (a translated Word names
/// `heading 1` in a style whose id is not `Heading1`): by name or outline level.
fn heading_styles(archive: &mut zipped::Archive, main: &str) -> HashMap<String, u8> {
    let styles_part = zipped::relationships(archive, main, 256)
        .into_iter()
        .find(|r| r.kind == "styles")
        .map_or_else(|| "word/styles.xml".to_owned(), |r| r.target);
    let mut found = HashMap::new();
    let Some(reader) = zipped::xml(archive, &styles_part) else {
        return found;
    };
    let mut id = String::new();
    let _ = walk(reader, |node| {
        if let Node::Open(e) = node {
            match name(e) {
                "style" => id = attr(e, "styleId").unwrap_or_default(),
                "name" | "outlineLvl" if !id.is_empty() => {
                    let value = attr(e, "val");
                    let level = if name(e) == "name" {
                        level_of(value.as_deref().unwrap_or_default())
                    } else {
                        outline(value.as_deref())
                    };
                    if level > 0 {
                        found.entry(id.clone()).or_insert(level);
                    }
                }
                _ => {}
            }
        }
        if found.len() >= MAX_STYLES {
            ControlFlow::Break(())
        } else {
            ControlFlow::Continue(())
        }
    });
    found
}

//! A bounded walk over an XML part: elements by local name (the prefixes office files use
//! vary), text with character and the predefined entity references resolved, stopped by
//! the caller as soon as it has enough, and abandoned when nesting is implausibly deep or
//! the XML is malformed.

use std::io::BufRead;
use std::ops::ControlFlow;

use quick_xml::Reader;
use quick_xml::escape::resolve_predefined_entity;
use quick_xml::events::{BytesStart, Event};

/// XML nesting followed; deeper is not an office document.
pub(super) const MAX_DEPTH: usize = 256;

/// What the walk hands the caller, in document order.
pub(super) enum Node<'a> {
    /// A start tag, or an empty element (`<a/>`, followed by its `Close`).
    Open(&'a BytesStart<'a>),
    /// An end tag, by local name.
    Close(&'a str),
    Text(&'a str),
}

/// Walks `reader` until the end, a `Break` from `visit`, or a failure (`None`): malformed
/// XML, or nesting deeper than [`MAX_DEPTH`].
pub(super) fn walk<R: BufRead>(
    mut reader: Reader<R>,
    mut visit: impl FnMut(Node<'_>) -> ControlFlow<()>,
) -> Option<()> {
    let mut buf = Vec::new();
    let mut depth = 0usize;
    loop {
        buf.clear();
        let flow = match reader.read_event_into(&mut buf).ok()? {
            Event::Start(e) => {
                depth += 1;
                if depth > MAX_DEPTH {
                    return None;
                }
                visit(Node::Open(&e))
            }
            Event::Empty(e) => match visit(Node::Open(&e)) {
                ControlFlow::Continue(()) => visit(Node::Close(e.local_name().as_ref())),
                stop => stop,
            },
            Event::End(e) => {
                depth = depth.saturating_sub(1);
                visit(Node::Close(e.local_name().as_ref()))
            }
            Event::Text(t) => visit(Node::Text(&t.xml10_content())),
            Event::CData(t) => visit(Node::Text(&t)),
            Event::GeneralRef(r) => match resolved(&r) {
                Some(text) => visit(Node::Text(&text)),
                None => ControlFlow::Continue(()),
            },
            Event::Eof => return Some(()),
            _ => ControlFlow::Continue(()),
        };
        if flow.is_break() {
            return Some(());
        }
    }
}

/// `&#x41;`, `&#65;`, `&amp;` and the other predefined entities; others (which would need
/// a DTD) are dropped.
fn resolved(r: &quick_xml::events::BytesRef<'_>) -> Option<String> {
    if let Ok(Some(c)) = r.resolve_char_ref() {
        return Some(c.to_string());
    }
    resolve_predefined_entity(&r.xml10_content()).map(str::to_owned)
}

/// The value of the attribute with local name `local`, entity references resolved.
pub(super) fn attr(e: &BytesStart<'_>, local: &str) -> Option<String> {
    e.attributes().with_checks(false).flatten().find_map(|a| {
        (a.key.local_name().as_ref() == local)
            .then(|| a.normalized_value(quick_xml::XmlVersion::Implicit1_0).ok())
            .flatten()
            .map(|v| v.into_owned())
    })
}

/// An element's local name.
pub(super) fn name<'a>(e: &'a BytesStart<'_>) -> &'a str {
    e.local_name().into_inner()
}

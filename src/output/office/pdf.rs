//! A `.pdf` preview: its page count, from a scan of its objects (ISO 32000-1 §7.3.10,
//! §7.7.3): the `/Count` of the newest root page tree (a `/Pages` without `/Parent`), or
//! else the number of distinct `/Page` objects. Only the dictionaries of uncompressed
//! objects are seen; a file whose page tree sits in a compressed object stream shows no
//! count (a plain link).

use std::collections::BTreeSet;

use super::Preview;

/// Distinct page objects counted at most.
const MAX_PAGES: usize = 100_000;

pub(super) fn preview(bytes: &[u8]) -> Option<Preview> {
    let head = &bytes[..bytes.len().min(1024)];
    find(head, b"%PDF-", 0)?;
    let mut pages = BTreeSet::new();
    let mut root_count = None;
    let mut at = 0;
    while let Some(obj) = find(bytes, b"obj", at) {
        let body_start = obj + 3;
        at = body_start;
        let Some(number) = object_number(&bytes[..obj]) else {
            continue;
        };
        let end = find(bytes, b"endobj", body_start).unwrap_or(bytes.len());
        at = end + b"endobj".len();
        let body = &bytes[body_start..end];
        // The dictionary only: a content stream's bytes are not keys.
        let dict = &body[..find(body, b"stream", 0).unwrap_or(body.len())];
        let types = types(dict);
        if types.contains(&&b"Pages"[..]) {
            if find(dict, b"/Parent", 0).is_none() {
                root_count = count(dict).or(root_count);
            }
        } else if types.contains(&&b"Page"[..]) && pages.len() < MAX_PAGES {
            pages.insert(number);
        }
    }
    let pages = root_count
        .filter(|n| *n > 0)
        .or_else(|| (!pages.is_empty()).then_some(pages.len() as u64))?;
    Some(Preview::Pdf { pages })
}

fn find(hay: &[u8], needle: &[u8], from: usize) -> Option<usize> {
    hay.get(from..)?
        .windows(needle.len())
        .position(|w| w == needle)
        .map(|i| i + from)
}

/// The object number of `N G obj`, from the bytes before `obj`; `None` when they are not
/// an object header (`endobj`, `obj` inside a string).
fn object_number(before: &[u8]) -> Option<u64> {
    let (generation, rest) = token_before(before)?;
    generation.iter().all(u8::is_ascii_digit).then_some(())?;
    let (number, _) = token_before(rest)?;
    std::str::from_utf8(number).ok()?.parse().ok()
}

/// The whitespace-separated token that ends `bytes` (which must end in whitespace).
fn token_before(bytes: &[u8]) -> Option<(&[u8], &[u8])> {
    let trimmed = bytes.trim_ascii_end();
    (trimmed.len() < bytes.len()).then_some(())?;
    let start = trimmed
        .iter()
        .rposition(u8::is_ascii_whitespace)
        .map_or(0, |i| i + 1);
    let token = &trimmed[start..];
    (!token.is_empty()).then_some((token, &trimmed[..start]))
}

/// Every `/Type /Name` value in a dictionary (nested ones too: a page's `/Group` has one).
fn types(dict: &[u8]) -> Vec<&[u8]> {
    let mut found = Vec::new();
    let mut at = 0;
    while let Some(i) = find(dict, b"/Type", at) {
        at = i + 5;
        let rest = dict[at..].trim_ascii_start();
        if let Some(name) = rest.strip_prefix(b"/") {
            let end = name
                .iter()
                .position(|b| !b.is_ascii_alphanumeric())
                .unwrap_or(name.len());
            found.push(&name[..end]);
        }
    }
    found
}

fn count(dict: &[u8]) -> Option<u64> {
    let at = find(dict, b"/Count", 0)? + 6;
    let rest = dict[at..].trim_ascii_start();
    let end = rest
        .iter()
        .position(|b| !b.is_ascii_digit())
        .unwrap_or(rest.len());
    std::str::from_utf8(&rest[..end]).ok()?.parse().ok()
}

//! Every shape error of one manifest in one pass (docs/manifest.md "Errors: `runner validate`").
//! serde stops at the first unknown key or wrong type, so after each one the offending
//! `key: value` entry is blanked out (each character a space, so every line and column
//! stays where it was) and the text parsed again, until it parses or an error is not one
//! an entry's removal can get past (YAML syntax, a missing key).

use camino::Utf8Path;
use serde_saphyr::Error as YamlError;

use super::diagnostic::{Diagnostic, Pos};

/// At most this many errors per manifest: each costs a parse of the whole text.
const MAX_ERRORS: usize = 50;

/// Parses `text` into `T`, collecting each shape error `diagnose` makes of serde-saphyr's
/// errors; `Err` holds them all, in the order found.
pub(super) fn parse_all<T>(
    file: &Utf8Path,
    text: &str,
    parse: impl Fn(&str) -> Result<T, YamlError>,
    diagnose: impl Fn(&Utf8Path, &str, &YamlError) -> Diagnostic,
) -> Result<T, Vec<Diagnostic>> {
    let mut chars: Vec<char> = text.chars().collect();
    let mut found: Vec<Diagnostic> = Vec::new();
    let mut blanked_lines: Vec<u64> = Vec::new();
    let mut blanked_keys: Vec<String> = Vec::new();
    loop {
        let current: String = chars.iter().collect();
        let err = match parse(&current) {
            Ok(value) if found.is_empty() => return Ok(value),
            Ok(_) => return Err(found),
            Err(err) => err,
        };
        let d = diagnose(file, text, &err);
        if found.is_empty() {
            found.push(d);
        } else {
            // An error on a line already blanked, or for a key taken away, is the
            // blanking's doing, not the user's; so is a document no longer well-formed.
            let caused = blanked_lines.contains(&d.pos.line)
                || matches!(&err, YamlError::SerdeMissingField { field, .. }
                    if blanked_keys.iter().any(|k| k == field))
                || serde_saphyr::from_str::<serde::de::IgnoredAny>(&current).is_err();
            if caused || found.contains(&d) {
                return Err(found);
            }
            found.push(d);
        }
        if !recoverable(&err) || found.len() >= MAX_ERRORS {
            return Err(found);
        }
        let Some(entry) = found.last().and_then(|d| entry_at(&chars, d.pos)) else {
            return Err(found);
        };
        blanked_keys.push(chars[entry.start..entry.key_end].iter().collect());
        blank_out(&mut chars, &entry);
        blanked_lines.extend(entry.lines);
    }
}

/// Every character of the entry a space but its line breaks.
fn blank_out(chars: &mut [char], entry: &Entry) {
    for c in &mut chars[entry.start..entry.end] {
        if *c != '\n' {
            *c = ' ';
        }
    }
}

/// Errors about one entry's key or value, which removing the entry gets past.
fn recoverable(err: &YamlError) -> bool {
    matches!(
        err,
        YamlError::SerdeUnknownField { .. }
            | YamlError::DuplicateMappingKey { .. }
            | YamlError::SerdeInvalidType { .. }
            | YamlError::SerdeInvalidValue { .. }
            | YamlError::SerdeInvalidLength { .. }
            | YamlError::SerdeUnknownVariant { .. }
            | YamlError::InvalidScalar { .. }
            | YamlError::InvalidBooleanStrict { .. }
            | YamlError::NullIntoString { .. }
            | YamlError::NonFiniteFloat { .. }
            | YamlError::Unexpected { .. }
            | YamlError::Message { .. }
    )
}

/// A `key: value` entry of the text, as char indices.
#[derive(Debug, PartialEq)]
struct Entry {
    start: usize,
    key_end: usize,
    end: usize,
    /// The 1-based lines it covers (none for a flow entry).
    lines: Vec<u64>,
}

/// The entry whose key or value is at `pos`: its key is at `pos`, or before it on that
/// line, or it is the last key of the line above (a value on lines of its own). In a flow
/// collection it ends at its comma (included) or closing bracket; in block style at the
/// end of its line and the more indented lines after it.
fn entry_at(chars: &[char], pos: Pos) -> Option<Entry> {
    let line_starts: Vec<usize> = std::iter::once(0)
        .chain(
            chars
                .iter()
                .enumerate()
                .filter(|(_, c)| **c == '\n')
                .map(|(i, _)| i + 1),
        )
        .collect();
    let line = usize::try_from(pos.line).ok()?.checked_sub(1)?;
    let line_start = *line_starts.get(line)?;
    let at = line_start + usize::try_from(pos.column).ok()?.saturating_sub(1);
    let line_end = |start: usize| {
        chars[start..]
            .iter()
            .position(|c| *c == '\n')
            .map_or(chars.len(), |i| start + i)
    };
    let start = key_start(chars, line_start, at.min(line_end(line_start))).or_else(|| {
        let above = *line_starts.get(line.checked_sub(1)?)?;
        key_start(chars, above, line_end(above))
    })?;
    let key_end = start
        + chars[start..]
            .iter()
            .position(|c| *c == ':')
            .filter(|&i| start + i <= line_end(start))?;
    let flow = flow_depth(chars, start) > 0;
    let end = if flow {
        flow_end(chars, start)
    } else {
        block_end(chars, start, &line_starts, line_end(start))
    };
    let first = line_starts.partition_point(|&s| s <= start) as u64;
    let last = line_starts.partition_point(|&s| s < end.max(start + 1)) as u64;
    Some(Entry {
        start,
        key_end,
        end,
        // A flow entry leaves its collection whole: a later error on its line is the user's.
        lines: if flow {
            Vec::new()
        } else {
            (first..=last).collect()
        },
    })
}

/// The start of the key of the last `key:` between `from` and `to` (or of the key at `to`
/// itself when `to` starts one).
fn key_start(chars: &[char], from: usize, to: usize) -> Option<usize> {
    let is_key = |c: char| !c.is_whitespace() && !matches!(c, '{' | '[' | ',' | '-');
    let line_end = chars[to..]
        .iter()
        .position(|c| *c == '\n')
        .map_or(chars.len(), |i| to + i);
    // The key at `to` (an unknown or duplicate key is reported at its first character).
    if to < line_end && is_key(chars[to]) {
        let word_end = to
            + chars[to..line_end]
                .iter()
                .take_while(|c| is_key(**c) && **c != ':')
                .count();
        if chars.get(word_end) == Some(&':') && (to == from || !is_key(chars[to - 1])) {
            return Some(to);
        }
    }
    let colon = from + chars[from..to].iter().rposition(|c| *c == ':')?;
    let start = from
        + chars[from..colon]
            .iter()
            .rposition(|c| !is_key(*c))
            .map_or(0, |i| i + 1);
    (start < colon).then_some(start)
}

/// The characters from `from` on that are outside quoted scalars and comments, with
/// their indices. A quote opens a scalar only where one may start (after `:`, `,`, `-`, a
/// bracket, or at a line's start), so `what's` is plain text; `#` opens a comment only
/// after a space.
fn structural(chars: &[char], from: usize) -> impl Iterator<Item = (usize, char)> + '_ {
    // `last`: the character before; `solid`: the last one that is not a space or tab.
    let (mut quote, mut comment, mut last, mut solid) = (None, false, '\n', '\n');
    chars
        .iter()
        .enumerate()
        .skip(from)
        .filter_map(move |(i, &c)| {
            let shown = match quote {
                _ if comment => {
                    comment = c != '\n';
                    false
                }
                Some(q) => {
                    quote = (c != q).then_some(q);
                    false
                }
                None if matches!(c, '"' | '\'')
                    && matches!(solid, ':' | ',' | '-' | '[' | '{' | '\n') =>
                {
                    quote = Some(c);
                    false
                }
                None if c == '#' && matches!(last, ' ' | '\t' | '\n') => {
                    comment = true;
                    false
                }
                None => true,
            };
            last = c;
            if !matches!(c, ' ' | '\t') {
                solid = c;
            }
            shown.then_some((i, c))
        })
}

/// How deep in `{…}`/`[…]` the position `at` is.
fn flow_depth(chars: &[char], at: usize) -> usize {
    structural(&chars[..at], 0).fold(0usize, |depth, (_, c)| match c {
        '{' | '[' => depth + 1,
        '}' | ']' => depth.saturating_sub(1),
        _ => depth,
    })
}

/// A flow entry ends before the bracket that closes its collection, or after its comma.
fn flow_end(chars: &[char], start: usize) -> usize {
    let mut depth = 0usize;
    for (i, c) in structural(chars, start) {
        match c {
            '{' | '[' => depth += 1,
            '}' | ']' if depth == 0 => return i,
            '}' | ']' => depth -= 1,
            ',' if depth == 0 => return i + 1,
            _ => {}
        }
    }
    chars.len()
}

/// A block entry ends with its line, and the lines after it indented deeper than its key
/// (its value's lines) or blank.
fn block_end(chars: &[char], start: usize, line_starts: &[usize], first_end: usize) -> usize {
    let key_line = line_starts.partition_point(|&s| s <= start) - 1;
    let column = start - line_starts[key_line];
    let mut end = first_end;
    for &s in &line_starts[key_line + 1..] {
        let text: Vec<char> = chars[s..]
            .iter()
            .take_while(|c| **c != '\n')
            .copied()
            .collect();
        let indent = text.iter().take_while(|c| **c == ' ').count();
        if text.iter().all(|c| c.is_whitespace()) || indent > column {
            end = s + text.len();
        } else {
            break;
        }
    }
    end
}

#[cfg(test)]
mod tests {
    use super::*;

    fn blank(text: &str, line: u64, column: u64) -> String {
        let mut chars: Vec<char> = text.chars().collect();
        let pos = Pos {
            line,
            column,
            span: None,
        };
        let e = entry_at(&chars, pos).unwrap();
        blank_out(&mut chars, &e);
        chars.into_iter().collect()
    }

    #[test]
    fn a_block_entry_goes_with_its_deeper_lines_and_nothing_else() {
        let text = "jobs:\n  - nmae: a\n    inptus:\n      - x\n    prompt: hi\n";
        assert_eq!(
            blank(text, 3, 5),
            "jobs:\n  - nmae: a\n           \n         \n    prompt: hi\n"
        );
        // A value's position finds its key on the same line, or on the line above.
        assert_eq!(
            blank(text, 2, 11),
            "jobs:\n  -        \n    inptus:\n      - x\n    prompt: hi\n"
        );
        assert_eq!(blank(text, 4, 7), blank(text, 3, 5));
    }

    #[test]
    fn a_flow_entry_goes_with_its_comma() {
        let text = "expect: [{name: a, mni: 2}, {nmae: b}]\n";
        assert_eq!(
            blank(text, 1, 20),
            "expect: [{name: a,       }, {nmae: b}]\n"
        );
        assert_eq!(
            blank(text, 1, 30),
            "expect: [{name: a, mni: 2}, {       }]\n"
        );
    }
}

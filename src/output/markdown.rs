//! Markdown building blocks for the reports: fences and code spans that no content can
//! break out of, escaped inline text, link targets, sizes. Everything here takes text the
//! server or the model wrote, so nothing may assume it is well-behaved.

use serde_json::Value;

/// A fenced code block that `body` cannot close early: the fence is longer than any run
/// of backticks inside it.
pub(super) fn fence(lang: &str, body: &str) -> String {
    let body = visible(body);
    let ticks = "`".repeat(longest_run(&body, '`').max(2) + 1);
    let newline = if body.is_empty() || body.ends_with('\n') {
        ""
    } else {
        "\n"
    };
    format!("{ticks}{lang}\n{body}{newline}{ticks}\n")
}

pub(super) fn json_fence(value: &Value) -> String {
    let text = serde_json::to_string_pretty(value).unwrap_or_else(|_| value.to_string());
    fence("json", &text)
}

/// Shows control characters (other than newline and tab) as Unicode control pictures:
/// program output may carry terminal escapes, which must not act on whoever `cat`s the file.
pub(super) fn visible(text: &str) -> String {
    text.replace("\r\n", "\n")
        .chars()
        .map(|c| match c {
            '\n' | '\t' => c,
            '\u{0}'..='\u{1f}' => char::from_u32(0x2400 + u32::from(c)).unwrap_or('\u{fffd}'),
            '\u{7f}' => '\u{2421}',
            // C1 controls (e.g. U+009B, the 8-bit CSI) act on some terminals too.
            '\u{80}'..='\u{9f}' => '\u{fffd}',
            _ => c,
        })
        .collect()
}

/// A block quote of `text`, line by line: it cannot end early or swallow what follows.
pub(super) fn blockquote(text: &str) -> String {
    let mut out = String::new();
    for line in text.trim_end().lines() {
        if line.is_empty() {
            out.push_str(">\n");
        } else {
            out.push_str(&format!("> {line}\n"));
        }
    }
    out
}

/// The label of Claude's working notes in the documents. The pages give a block quote
/// that opens with it, in italics, a style of its own (`html/markdown.rs`).
pub(crate) const NOTES_LABEL: &str = "Working notes";

/// Claude's working notes: the text of a `thinking` block (summarized thinking, and on
/// the 5.5 models the narration between tool calls, docs/api.md §3.7) as a labelled block
/// quote, so it never reads as the answer.
pub(super) fn working_notes(thinking: &str) -> String {
    format!(
        "> *{NOTES_LABEL}*\n>\n{}",
        blockquote(visible(thinking).trim_matches('\n'))
    )
}

/// The text of a `thinking` block worth showing: `None` for an empty one (the default
/// `display: "omitted"` sends no text) or one whose text is not a string.
pub(crate) fn thinking_text(block: &Value) -> Option<&str> {
    block["thinking"].as_str().filter(|t| !t.trim().is_empty())
}

fn longest_run(text: &str, ch: char) -> usize {
    let mut longest = 0;
    let mut current = 0;
    for c in text.chars() {
        current = if c == ch { current + 1 } else { 0 };
        longest = longest.max(current);
    }
    longest
}

/// An inline code span that holds any text: the delimiter outnumbers inner backticks.
pub(super) fn code(text: &str) -> String {
    let text: String = visible(text)
        .chars()
        .map(|c| if c == '\n' { ' ' } else { c })
        .collect();
    let ticks = "`".repeat(longest_run(&text, '`') + 1);
    let pad = if text.starts_with('`') || text.ends_with('`') {
        " "
    } else {
        ""
    };
    format!("{ticks}{pad}{text}{pad}{ticks}")
}

/// Identifiers such as tool names and error codes read best bare; anything else the server
/// sent goes in a code span.
pub(super) fn word_or_code(text: &str) -> String {
    let is_word = !text.is_empty() && text.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    if is_word { text.to_owned() } else { code(text) }
}

/// Plain text on one line, with Markdown's active characters escaped. An underscore
/// inside a word cannot start emphasis, so `revenue_by_month` stays readable as it is.
pub(super) fn inline(text: &str) -> String {
    let chars: Vec<char> = visible(text).chars().collect();
    let mut out = String::with_capacity(text.len());
    for (i, &c) in chars.iter().enumerate() {
        let alnum = |j: Option<usize>| {
            j.and_then(|j| chars.get(j))
                .is_some_and(|c| c.is_alphanumeric())
        };
        let inside_word = alnum(i.checked_sub(1)) && alnum(Some(i + 1));
        match c {
            '\n' | '\t' => out.push(' '),
            '_' if inside_word => out.push(c),
            '\\' | '`' | '*' | '_' | '[' | ']' | '<' | '&' => {
                out.push('\\');
                out.push(c);
            }
            _ => out.push(c),
        }
    }
    out
}

/// A link target for a path relative to the job folder: each segment percent-encoded, so
/// spaces, parentheses and non-ASCII names survive every Markdown viewer.
pub(super) fn link_target(path: &str) -> String {
    path.split('/')
        .map(percent_encode)
        .collect::<Vec<_>>()
        .join("/")
}

fn percent_encode(segment: &str) -> String {
    let mut out = String::with_capacity(segment.len());
    for b in segment.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fences_outlast_the_backticks_inside() {
        assert_eq!(fence("text", "a\n"), "```text\na\n```\n");
        assert_eq!(fence("", "``` x\n`````"), "``````\n``` x\n`````\n``````\n");
        assert_eq!(fence("text", ""), "```text\n```\n");
        assert_eq!(code("a`b"), "``a`b``");
        assert_eq!(code("`x"), "`` `x ``");
    }

    #[test]
    fn control_characters_are_made_visible() {
        assert_eq!(
            visible("a\r\nb\u{1b}[0m\u{7f}\tc"),
            "a\nb\u{241b}[0m\u{2421}\tc"
        );
        assert_eq!(visible("x\u{9b}2Jé"), "x\u{fffd}2Jé");
    }

    #[test]
    fn link_targets_are_escaped() {
        assert_eq!(
            link_target("files/summary table (final).csv"),
            "files/summary%20table%20%28final%29.csv"
        );
        assert_eq!(link_target("files/caf\u{e9}.png"), "files/caf%C3%A9.png");
        assert_eq!(inline("a_[b](c)*"), "a\\_\\[b\\](c)\\*");
        assert_eq!(
            inline("_draft_ revenue_by_month"),
            "\\_draft\\_ revenue_by_month"
        );
        assert_eq!(inline("a <b> & c\nd"), "a \\<b> \\& c d");
    }
}

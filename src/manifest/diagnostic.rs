//! User-facing diagnostics for manifests and inputs: `file:line:column`, what was expected,
//! and a suggestion where one exists, rendered like a compiler error with the source line.
//!
//! Every check before the network produces these values instead of returning early, so
//! `validate` can report all mistakes of all manifests in one go.

use std::fmt;

use camino::{Utf8Path, Utf8PathBuf};
use serde_saphyr::Location;
use unicode_width::UnicodeWidthChar;

/// A position in a manifest: 1-based line and column, plus the byte span for the snippet.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Pos {
    pub line: u64,
    pub column: u64,
    /// Byte offset and length in the manifest text, when known.
    pub span: Option<(usize, usize)>,
}

impl Pos {
    pub(crate) fn from_location(loc: Location) -> Pos {
        let span = loc.span();
        let bytes = span
            .byte_offset()
            .zip(span.byte_len())
            .and_then(|(o, l)| Some((usize::try_from(o).ok()?, usize::try_from(l).ok()?)));
        Pos {
            line: loc.line(),
            column: loc.column(),
            span: bytes,
        }
    }

    /// The start of the file, for problems that belong to the manifest as a whole.
    pub(crate) const fn start() -> Pos {
        Pos {
            line: 1,
            column: 1,
            span: None,
        }
    }
}

/// One problem found in a manifest or its inputs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Diagnostic {
    pub file: Utf8PathBuf,
    pub pos: Pos,
    pub message: String,
    pub help: Option<String>,
}

impl Diagnostic {
    pub(crate) fn new(file: &Utf8Path, pos: Pos, message: impl Into<String>) -> Diagnostic {
        Diagnostic {
            file: file.to_owned(),
            pos,
            message: message.into(),
            help: None,
        }
    }

    #[must_use]
    pub(crate) fn with_help(mut self, help: impl Into<String>) -> Diagnostic {
        self.help = Some(help.into());
        self
    }

    /// Renders the diagnostic with the offending source line and carets under the span,
    /// the way rustc does, for a terminal or a log.
    pub(crate) fn render(&self, source: Option<&str>) -> String {
        let mut out = format!("error: {self}\n");
        if let Some(line) = source.and_then(|s| s.lines().nth(line_index(self.pos.line))) {
            let number = self.pos.line.to_string();
            let pad = " ".repeat(number.len());
            let (caret_at, width) =
                carets(line, self.pos.column, self.pos.span.map(|(_, len)| len));
            let shown = line.replace('\t', TAB);
            out.push_str(&format!("{pad} |\n{number} | {shown}\n{pad} | "));
            out.push_str(&" ".repeat(caret_at));
            out.push_str(&"^".repeat(width));
            out.push('\n');
        }
        if let Some(help) = &self.help {
            out.push_str(&format!("  = help: {help}\n"));
        }
        out
    }
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}:{}:{}: {}",
            self.file, self.pos.line, self.pos.column, self.message
        )
    }
}

fn line_index(line: u64) -> usize {
    usize::try_from(line.saturating_sub(1)).unwrap_or(usize::MAX)
}

/// How a tab in the source line is shown: as four spaces, as rustc does, because where a
/// real tab lands depends on the terminal and the `N | ` gutter.
const TAB: &str = "    ";

/// Where the carets start and how many there are, in terminal cells: `column` counts
/// characters (1-based) and `span_len` bytes, but a CJK character takes two cells and a
/// combining mark none, so both are measured with their display width.
fn carets(line: &str, column: u64, span_len: Option<usize>) -> (usize, usize) {
    let chars = usize::try_from(column.saturating_sub(1)).unwrap_or(usize::MAX);
    let start = line
        .char_indices()
        .nth(chars)
        .map_or(line.len(), |(i, _)| i);
    let rest = &line[start..];
    // The span, cut at the end of the line and at a character boundary; at least the
    // character under the column.
    let mut end = span_len.map_or(0, |len| len.min(rest.len()));
    while !rest.is_char_boundary(end) {
        end -= 1;
    }
    if end == 0 {
        end = rest.chars().next().map_or(0, char::len_utf8);
    }
    (cells(&line[..start]), cells(&rest[..end]).max(1))
}

/// Display width of `text` as [`Diagnostic::render`] shows it.
fn cells(text: &str) -> usize {
    text.chars()
        .map(|c| match c {
            '\t' => TAB.len(),
            c => UnicodeWidthChar::width(c).unwrap_or(0),
        })
        .sum()
}

/// The closest candidate to `word`, if it is close enough to be a plausible typo.
pub(crate) fn did_you_mean<'a>(
    word: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<&'a str> {
    candidates
        .into_iter()
        .map(|c| (strsim::jaro_winkler(word, c), c))
        .filter(|(score, _)| *score > 0.8)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, c)| c)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_caret_under_column() {
        let d = Diagnostic::new(
            Utf8Path::new("jobs/a.yaml"),
            Pos {
                line: 2,
                column: 3,
                span: Some((10, 6)),
            },
            "unknown key `inputz`",
        )
        .with_help("did you mean `inputs`?");
        let text = d.render(Some("jobs:\n  inputz: []\n"));
        assert_eq!(
            text,
            "error: jobs/a.yaml:2:3: unknown key `inputz`\n  |\n2 |   inputz: []\n  |   ^^^^^^\n  = help: did you mean `inputs`?\n"
        );
    }

    fn render_at(line: &str, column: u64, span_len: usize) -> String {
        let d = Diagnostic::new(
            Utf8Path::new("a.yaml"),
            Pos {
                line: 1,
                column,
                span: Some((0, span_len)),
            },
            "m",
        );
        d.render(Some(line))
    }

    /// CJK characters take two cells each: the carets start after the two cells of every
    /// wide character before the column and cover both cells of each underlined one.
    #[test]
    fn carets_follow_display_width_of_cjk_text() {
        // `名前: データ`: the value starts at character 5 (byte 8), is 9 bytes, 6 cells.
        let line = "名前: データ";
        let text = render_at(line, 5, "データ".len());
        assert_eq!(
            text,
            "error: a.yaml:1:5: m\n  |\n1 | 名前: データ\n  |       ^^^^^^\n"
        );
        // No span: one character, two cells wide.
        let d = Diagnostic::new(
            Utf8Path::new("a.yaml"),
            Pos {
                line: 1,
                column: 1,
                span: None,
            },
            "m",
        );
        assert!(d.render(Some(line)).ends_with("1 | 名前: データ\n  | ^^\n"));
    }

    /// A tab is shown as four spaces and counted as four cells, so the carets line up
    /// under the same text whatever the terminal's tab stops.
    #[test]
    fn tabs_are_shown_and_counted_as_four_spaces() {
        let text = render_at("a:\tbäd\tx", 4, "bäd".len());
        assert_eq!(
            text,
            "error: a.yaml:1:4: m\n  |\n1 | a:    bäd    x\n  |       ^^^\n"
        );
    }

    /// A span past the end of the line, or cutting into a character, is cut to the line.
    #[test]
    fn carets_stay_within_the_line() {
        assert!(render_at("k: 值", 4, 100).ends_with("1 | k: 值\n  |    ^^\n"));
        assert!(render_at("k: 值值", 4, 4).ends_with("  |    ^^\n"));
        assert!(render_at("k:", 9, 1).ends_with("1 | k:\n  |   ^\n"));
    }

    #[test]
    fn suggests_only_close_words() {
        assert_eq!(did_you_mean("inputz", ["inputs", "prompt"]), Some("inputs"));
        assert_eq!(did_you_mean("zzz", ["inputs", "prompt"]), None);
    }
}

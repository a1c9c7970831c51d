//! User-facing diagnostics for manifests and inputs: `file:line:column`, what was expected,
//! and a suggestion where one exists, rendered like a compiler error with the source line.
//!
//! Every check before the network produces these values instead of returning early, so
//! `validate` can report all mistakes of all manifests in one go.

use std::fmt;

use camino::{Utf8Path, Utf8PathBuf};
use serde_saphyr::Location;

/// A position in a manifest: 1-based line and column, plus the byte span for the snippet.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Pos {
    pub line: u64,
    pub column: u64,
    /// Byte offset and length in the manifest text, when known.
    pub span: Option<(usize, usize)>,
}

impl Pos {
    pub fn from_location(loc: Location) -> Pos {
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
    pub const fn start() -> Pos {
        Pos {
            line: 1,
            column: 1,
            span: None,
        }
    }
}

/// One problem found in a manifest or its inputs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Diagnostic {
    pub file: Utf8PathBuf,
    pub pos: Pos,
    pub message: String,
    pub help: Option<String>,
}

impl Diagnostic {
    pub fn new(file: &Utf8Path, pos: Pos, message: impl Into<String>) -> Diagnostic {
        Diagnostic {
            file: file.to_owned(),
            pos,
            message: message.into(),
            help: None,
        }
    }

    #[must_use]
    pub fn with_help(mut self, help: impl Into<String>) -> Diagnostic {
        self.help = Some(help.into());
        self
    }

    /// Renders the diagnostic with the offending source line and a caret under the column,
    /// the way rustc and miette do, for a terminal or a log.
    pub fn render(&self, source: Option<&str>) -> String {
        let mut out = format!("error: {self}\n");
        if let Some(line) = source.and_then(|s| s.lines().nth(line_index(self.pos.line))) {
            let number = self.pos.line.to_string();
            let pad = " ".repeat(number.len());
            let caret_at = caret_offset(line, self.pos.column);
            let width = self.pos.span.map_or(1, |(_, len)| {
                len.clamp(1, line.len().saturating_sub(caret_at).max(1))
            });
            out.push_str(&format!("{pad} |\n{number} | {line}\n{pad} | "));
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

/// Display columns count characters; the caret is placed by characters too, with tabs kept
/// as one cell each so the caret lines up under the same character.
fn caret_offset(line: &str, column: u64) -> usize {
    let chars = usize::try_from(column.saturating_sub(1)).unwrap_or(usize::MAX);
    line.chars().take(chars).count()
}

/// The closest candidate to `word`, if it is close enough to be a plausible typo.
pub fn did_you_mean<'a>(
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

    #[test]
    fn suggests_only_close_words() {
        assert_eq!(did_you_mean("inputz", ["inputs", "prompt"]), Some("inputs"));
        assert_eq!(did_you_mean("zzz", ["inputs", "prompt"]), None);
    }
}

//! Stage 1: the manifest YAML, mirrored exactly as serde types (`version: 1`, unknown keys
//! rejected), and `parse`, which turns serde-saphyr's errors into [`Diagnostic`]s.
//!
//! Nothing here checks meaning (required keys across `defaults`, globs, placeholders): that
//! is `resolve.rs`'s job, so this file stays a faithful picture of what the user wrote. Every
//! value a later check may complain about is `Spanned`, so its error can point at it.
//! No `#[serde(flatten)]` or `untagged`: both ruin error locations.

use camino::Utf8Path;
use serde::Deserialize;
use serde_saphyr::{Error as YamlError, Spanned};

use super::diagnostic::{Diagnostic, Pos, did_you_mean};

/// A manifest file as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    pub version: Spanned<u32>,
    #[serde(default)]
    pub defaults: Option<Settings>,
    pub jobs: Spanned<Vec<JobSpec>>,
}

/// Settings that may stand in `defaults` or on a job; a job's own value wins.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    pub model: Option<Spanned<String>>,
    pub max_tokens: Option<Spanned<u32>>,
    pub system: Option<Spanned<String>>,
    pub api_version: Option<Spanned<String>>,
    pub temperature: Option<Spanned<f64>>,
    pub top_p: Option<Spanned<f64>>,
    pub top_k: Option<Spanned<u32>>,
    pub thinking: Option<Spanned<Thinking>>,
    pub tool: Option<Spanned<String>>,
    pub max_continuations: Option<Spanned<u32>>,
    pub follow_up: Option<Vec<Spanned<String>>>,
    pub pricing: Option<Spanned<Pricing>>,
    pub cache: Option<Spanned<String>>,
}

/// One `jobs:` entry. The settings keys repeat those of [`Settings`] rather than using
/// `flatten`, which would break `deny_unknown_fields` and spans.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JobSpec {
    pub name: Spanned<String>,
    #[serde(default)]
    pub inputs: Vec<Spanned<String>>,
    pub prompt: Option<Spanned<String>>,
    pub prompt_file: Option<Spanned<String>>,
    pub for_each: Option<Spanned<String>>,
    pub follow_up: Option<Vec<Spanned<String>>>,
    pub model: Option<Spanned<String>>,
    pub max_tokens: Option<Spanned<u32>>,
    pub system: Option<Spanned<String>>,
    pub api_version: Option<Spanned<String>>,
    pub temperature: Option<Spanned<f64>>,
    pub top_p: Option<Spanned<f64>>,
    pub top_k: Option<Spanned<u32>>,
    pub thinking: Option<Spanned<Thinking>>,
    pub tool: Option<Spanned<String>>,
    pub max_continuations: Option<Spanned<u32>>,
    pub pricing: Option<Spanned<Pricing>>,
    pub cache: Option<Spanned<String>>,
}

/// `pricing:`: USD per million tokens for the job's model, overriding or adding to the
/// built-in table (docs/output.md §6).
#[derive(Clone, Copy, Debug, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Pricing {
    pub input: Option<f64>,
    pub output: Option<f64>,
    pub cache_write_5m: Option<f64>,
    pub cache_write_1h: Option<f64>,
    pub cache_read: Option<f64>,
}

/// Extended thinking: `thinking: { budget_tokens: 4000 }`.
#[derive(Clone, Copy, Debug, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Thinking {
    pub budget_tokens: u32,
}

/// The only manifest version this runner reads.
pub const VERSION: u32 = 1;

/// Parses one manifest's text. A YAML or shape error stops parsing that file, so there is
/// at most one diagnostic here; meaning checks in `resolve.rs` add the rest.
pub fn parse(file: &Utf8Path, text: &str) -> Result<Manifest, Diagnostic> {
    let options = serde_saphyr::options! { with_snippet: false };
    serde_saphyr::from_str_with_options::<Manifest>(text, options)
        .map_err(|err| yaml_diagnostic(file, text, &err))
}

fn yaml_diagnostic(file: &Utf8Path, text: &str, err: &YamlError) -> Diagnostic {
    let pos = err.location().map_or_else(Pos::start, Pos::from_location);
    match err {
        YamlError::SerdeUnknownField {
            field, expected, ..
        } => {
            let d = Diagnostic::new(
                file,
                pos,
                format!(
                    "unknown key `{field}`, expected one of {}",
                    quoted_list(expected)
                ),
            );
            match did_you_mean(field, expected.iter().copied()) {
                Some(near) => d.with_help(format!("did you mean `{near}`?")),
                None => d,
            }
        }
        YamlError::SerdeMissingField { field, .. } => {
            Diagnostic::new(file, pos, format!("missing required key `{field}`"))
        }
        YamlError::DuplicateMappingKey { key, .. } => Diagnostic::new(
            file,
            pos,
            match key {
                Some(k) => format!("duplicate key `{k}`"),
                None => "duplicate key".to_owned(),
            },
        ),
        _ => {
            // serde-saphyr's own wording is good ("invalid type: string \"x\", expected
            // u32"); drop its " at line X column Y" suffix since we print the position first.
            let raw = err.to_string();
            let message = match (plain_words(strip_location_suffix(&raw)), key_at(text, pos)) {
                (Some(expected), Some(key)) => format!("`{key}`: {expected}"),
                (Some(expected), None) => expected.to_owned(),
                (None, _) => strip_location_suffix(&raw).to_owned(),
            };
            let d = Diagnostic::new(file, pos, message);
            if text.trim().is_empty() {
                d.with_help("the manifest is empty; start with `version: 1` and `jobs:`")
            } else {
                d
            }
        }
    }
}

/// serde-saphyr names parser states ("expected sequence start"); say it in user words.
fn plain_words(message: &str) -> Option<&'static str> {
    Some(match message {
        "expected sequence start" => "expected a list",
        "expected mapping start" => "expected a mapping of `key: value` pairs",
        "expected string scalar" => "expected a string",
        "invalid u32" => "expected a whole number from 0 to 4294967295",
        "invalid floating point" => "expected a number",
        "invalid boolean" => "expected `true` or `false`",
        _ => return None,
    })
}

/// The key whose value sits at `pos`: the nearest `key:` before the column on that line,
/// or on the line above for a value that starts on its own line.
fn key_at(text: &str, pos: Pos) -> Option<String> {
    let line_no = usize::try_from(pos.line).ok()?.checked_sub(1)?;
    let lines: Vec<&str> = text.lines().collect();
    let col = usize::try_from(pos.column).ok()?.saturating_sub(1);
    let line = lines.get(line_no)?;
    let head: String = line.chars().take(col).collect();
    let candidate = if head.contains(':') {
        head
    } else {
        (*lines.get(line_no.checked_sub(1)?)?).to_owned()
    };
    let before_colon = candidate.rsplit_once(':')?.0;
    let key = before_colon
        .rsplit(['{', ',', '-', ' '])
        .find(|s| !s.trim().is_empty())?
        .trim()
        .trim_matches(['"', '\''])
        .to_owned();
    (!key.is_empty() && key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')).then_some(key)
}

fn strip_location_suffix(message: &str) -> &str {
    let first = message.lines().next().unwrap_or(message);
    match first.rfind(" at line ") {
        Some(i) => &first[..i],
        None => first,
    }
}

fn quoted_list(items: &[&str]) -> String {
    items
        .iter()
        .map(|s| format!("`{s}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

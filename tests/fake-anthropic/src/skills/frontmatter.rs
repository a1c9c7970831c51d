//! The YAML frontmatter of SKILL.md (docs/api.md §8.16): between `---` lines at the top;
//! `name` ≤ 64 characters of lowercase letters, digits and hyphens, without "anthropic"
//! or "claude" (the top-level directory's name when absent, as SDK 2.17 says);
//! `description` non-empty, ≤ 1024 characters, no XML tags.

use serde::Deserialize;
use serde_json::Value;

use crate::errors::ApiError;

pub(crate) const MAX_NAME: usize = 64;
pub(crate) const MAX_DESCRIPTION: usize = 1024;

#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Meta {
    pub name: String,
    pub description: String,
}

#[derive(Deserialize)]
struct Raw {
    name: Option<Value>,
    description: Option<Value>,
}

fn bad(message: impl std::fmt::Display) -> ApiError {
    ApiError::invalid(format!("SKILL.md: {message}"))
}

/// The YAML between the opening and the closing `---` line.
fn yaml_block(text: &str) -> Option<&str> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let rest = text
        .strip_prefix("---\n")
        .or_else(|| text.strip_prefix("---\r\n"))?;
    let mut offset = 0;
    for line in rest.split_inclusive('\n') {
        if line.trim_end() == "---" {
            return rest.get(..offset);
        }
        offset += line.len();
    }
    None
}

/// Parses and checks the frontmatter; `dir` is the skill's top-level directory.
pub(crate) fn parse(text: &str, dir: &str) -> Result<Meta, ApiError> {
    let Some(yaml) = yaml_block(text) else {
        return Err(bad(
            "must begin with YAML frontmatter between two `---` lines, with `name` and `description`",
        ));
    };
    let raw: Raw = if yaml.trim().is_empty() {
        Raw {
            name: None,
            description: None,
        }
    } else {
        serde_saphyr::from_str(yaml).map_err(|e| {
            let first = e.to_string();
            let first = first.lines().next().unwrap_or_default().to_owned();
            bad(format!("the frontmatter is not valid YAML: {first}"))
        })?
    };
    let name = match raw.name {
        None | Some(Value::Null) => dir.to_owned(),
        Some(Value::String(s)) => s,
        Some(_) => return Err(bad("frontmatter `name` must be a string")),
    };
    check_name(&name)?;
    let description = match raw.description {
        Some(Value::String(s)) => s,
        None | Some(Value::Null) => return Err(bad("frontmatter `description` is required")),
        Some(_) => return Err(bad("frontmatter `description` must be a string")),
    };
    check_description(&description)?;
    Ok(Meta { name, description })
}

pub(crate) fn check_name(name: &str) -> Result<(), ApiError> {
    let len = name.chars().count();
    if name.is_empty() {
        return Err(bad("frontmatter `name` must not be empty"));
    }
    if len > MAX_NAME {
        return Err(bad(format!(
            "frontmatter `name` must be at most {MAX_NAME} characters (got {len})"
        )));
    }
    if !name
        .chars()
        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
    {
        return Err(bad(format!(
            "frontmatter `name` `{}` may contain only lowercase letters, digits and hyphens",
            name.escape_debug()
        )));
    }
    if let Some(word) = ["anthropic", "claude"].iter().find(|w| name.contains(*w)) {
        return Err(bad(format!(
            "frontmatter `name` `{name}` must not contain the reserved word \"{word}\""
        )));
    }
    Ok(())
}

fn check_description(description: &str) -> Result<(), ApiError> {
    let len = description.chars().count();
    if description.trim().is_empty() {
        return Err(bad("frontmatter `description` must not be empty"));
    }
    if len > MAX_DESCRIPTION {
        return Err(bad(format!(
            "frontmatter `description` must be at most {MAX_DESCRIPTION} characters (got {len})"
        )));
    }
    if has_xml_tag(description) {
        return Err(bad("frontmatter `description` must not contain XML tags"));
    }
    Ok(())
}

/// `<tag …>`, `</tag>` or `<tag/>`: a `<` followed by a letter or `/`+letter, then a `>`.
fn has_xml_tag(text: &str) -> bool {
    let bytes = text.as_bytes();
    bytes.iter().enumerate().any(|(i, b)| {
        if *b != b'<' {
            return false;
        }
        let after = &bytes[i + 1..];
        let start = after.strip_prefix(b"/").unwrap_or(after);
        start.first().is_some_and(u8::is_ascii_alphabetic) && after.contains(&b'>')
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn meta(text: &str) -> Result<Meta, String> {
        parse(text, "dir-name").map_err(|e| e.message)
    }

    #[test]
    fn reads_name_and_description() {
        let m = meta(
            "---\nname: house-style\ndescription: \"Our charts: colours, fonts.\"\n---\n# Body\n",
        );
        assert_eq!(
            m,
            Ok(Meta {
                name: "house-style".into(),
                description: "Our charts: colours, fonts.".into()
            })
        );
        let folded = meta("---\r\ndescription: >\n  two\n  lines\n---\n").unwrap();
        assert_eq!(folded.name, "dir-name", "the directory when no name");
        assert_eq!(folded.description.trim_end(), "two lines");
    }

    #[test]
    fn refuses_what_the_rules_refuse() {
        for (text, needle) in [
            ("# no frontmatter", "must begin with YAML frontmatter"),
            ("---\nname: a\ndescription: x\n", "must begin"),
            ("---\nname: Bad_Name\ndescription: x\n---\n", "lowercase"),
            ("---\nname: my-claude\ndescription: x\n---\n", "\"claude\""),
            (
                "---\nname: anthropic-x\ndescription: x\n---\n",
                "\"anthropic\"",
            ),
            ("---\nname: ok\n---\n", "`description` is required"),
            (
                "---\nname: ok\ndescription: \"  \"\n---\n",
                "must not be empty",
            ),
            (
                "---\nname: ok\ndescription: see <b>this</b>\n---\n",
                "XML tags",
            ),
            ("---\nname: [a\n---\n", "not valid YAML"),
            ("---\nname: 12\ndescription: x\n---\n", "must be a string"),
        ] {
            let err = meta(text).unwrap_err();
            assert!(err.contains(needle), "{text:?}: {err}");
        }
        let long = format!("---\nname: {}\ndescription: x\n---\n", "a".repeat(65));
        assert!(meta(&long).unwrap_err().contains("at most 64"));
        let long = format!("---\nname: ok\ndescription: {}\n---\n", "d".repeat(1025));
        assert!(meta(&long).unwrap_err().contains("at most 1024"));
        assert!(meta("---\nname: ok\ndescription: a < b and c > d\n---\n").is_ok());
    }
}

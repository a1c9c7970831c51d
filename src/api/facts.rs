//! Facts about the Anthropic API that the runner relies on, each with its source in
//! docs/api.md: versions, tool names, limits. The manifest checks, the configuration, the
//! client and the upload driver read them here; nothing else hard-codes them.

/// Where the API is unless `ANTHROPIC_BASE_URL` says otherwise.
pub(crate) const DEFAULT_BASE_URL: &str = "https://api.anthropic.com";

/// API versions the runner can speak (docs/api.md §0.3).
pub(crate) const API_VERSIONS: [&str; 2] = ["2026-10-21", "2023-06-01"];
pub(crate) const DEFAULT_API_VERSION: &str = "2026-10-21";

/// The real code-execution tool versions (docs/api.md §3.1).
pub(crate) const TOOLS: [&str; 4] = [
    "code_execution_20250825",
    "code_execution_20260120",
    "code_execution_20260521",
    "code_execution_20250522",
];
pub(crate) const DEFAULT_TOOL: &str = "code_execution_20250825";

/// `error.details.error_code`s of a spend cap: retrying fails until the cap changes, so
/// they stop the run from starting jobs (docs/api.md §4.2, §4.5).
pub(crate) const SPEND_LIMIT_CODES: [&str; 2] = [
    "enforced_spend_limit_reached",
    "contract_spend_limit_reached",
];

/// `storage_not_ready` (503): the workspace is still being connected to its storage, "try
/// again in a minute" (docs/api.md §4.5). The wait when the response names none.
pub(crate) const STORAGE_NOT_READY_WAIT: std::time::Duration = std::time::Duration::from_secs(60);

/// Whether an error code is a spend cap.
pub(crate) fn is_spend_limit(code: Option<&str>) -> bool {
    code.is_some_and(|c| SPEND_LIMIT_CODES.contains(&c))
}

/// Files API per-file limit: 500 MB, read as 500,000,000 bytes (docs/api.md §2.8).
pub(crate) const MAX_INPUT_BYTES: u64 = 500 * 1000 * 1000;

/// The largest `max_tokens` any model of 2026-12 accepts in a Messages request (128K;
/// docs/api.md §12.4): the bound for a job whose model the catalogue does not describe
/// (nothing cached yet, or no `max_tokens` in its entry). A described model is bounded by
/// its own entry, and a catalogue that lists a larger one raises this bound.
pub(crate) const LARGEST_MAX_TOKENS: u64 = 128_000;

/// `GET /v1/files?ids[]=…` takes at most this many ids per call (docs/api.md §2.5).
pub(crate) const MAX_IDS_PER_LIST: usize = 100;

/// The Files API's file name rules (docs/api.md §2.8): 1–255 characters, none of
/// `< > : " | ? * \ /`, no control characters. `Some(reason)` when `name` breaks one.
pub(crate) fn bad_file_name(name: &str) -> Option<String> {
    let len = name.chars().count();
    if len == 0 || len > 255 {
        return Some(format!("{len} characters, expected 1 to 255"));
    }
    if let Some(c) = name
        .chars()
        .find(|c| matches!(c, '<' | '>' | ':' | '"' | '|' | '?' | '*' | '\\' | '/'))
    {
        return Some(format!("it contains `{c}`"));
    }
    if name.chars().any(|c| (c as u32) < 32) {
        return Some("it contains a control character".to_owned());
    }
    None
}

/// Anthropic's own skills as of 2026-12 (docs/api.md §14.1): the names `skills:` reads as
/// Anthropic skills when written bare. Any other Anthropic skill is written
/// `{ anthropic: ID }`, which is sent as written, so a new one needs no release.
pub(crate) const ANTHROPIC_SKILLS: [&str; 4] = ["xlsx", "pptx", "docx", "pdf"];

/// Skills in a request: at most this many in one container's `skills` (docs/api.md §14.1).
pub(crate) const MAX_SKILLS_PER_REQUEST: usize = 8;

/// The file every skill folder has at its top (docs/api.md §14.2).
pub(crate) const SKILL_FILE: &str = "SKILL.md";

/// A skill upload's files together: 30 MB, read as 30,000,000 bytes (docs/api.md §14.2).
pub(crate) const MAX_SKILL_UPLOAD_BYTES: u64 = 30 * 1000 * 1000;

/// `display_name` of a skill: at most 255 characters (docs/api.md §14.2).
pub(crate) const SKILL_DISPLAY_NAME_MAX: usize = 255;

/// SKILL.md frontmatter `description`: at most 1024 characters (docs/api.md §14.2).
pub(crate) const SKILL_DESCRIPTION_MAX: usize = 1024;

/// SKILL.md frontmatter `name` (docs/api.md §14.2): 1–64 characters, lowercase letters,
/// digits and hyphens, without the words "anthropic" or "claude". `Some(reason)` when
/// `name` breaks a rule.
pub(crate) fn bad_skill_name(name: &str) -> Option<String> {
    let len = name.chars().count();
    if len == 0 || len > 64 {
        return Some(format!("{len} characters, expected 1 to 64"));
    }
    if let Some(c) = name
        .chars()
        .find(|c| !(c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '-'))
    {
        return Some(format!(
            "it contains {c:?}; only lowercase letters, digits and hyphens are allowed"
        ));
    }
    ["anthropic", "claude"]
        .into_iter()
        .find(|word| name.contains(word))
        .map(|word| format!("it contains the reserved word \"{word}\""))
}

/// SKILL.md frontmatter `description` (docs/api.md §14.2): not empty, at most 1024
/// characters, no XML tags. `Some(reason)` when it breaks a rule.
pub(crate) fn bad_skill_description(description: &str) -> Option<String> {
    let len = description.chars().count();
    if description.trim().is_empty() {
        return Some("it is empty".to_owned());
    }
    if len > SKILL_DESCRIPTION_MAX {
        return Some(format!(
            "{len} characters, expected at most {SKILL_DESCRIPTION_MAX}"
        ));
    }
    xml_tag(description).map(|tag| format!("it contains the XML tag `{tag}`"))
}

/// The first `<name…>`, `</name>` or `<name/>` in `text`, read as an XML tag.
fn xml_tag(text: &str) -> Option<&str> {
    let mut rest = text;
    while let Some(start) = rest.find('<') {
        let after = &rest[start + 1..];
        let name = after.strip_prefix('/').unwrap_or(after);
        let starts_name = name
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic() || c == '_');
        if starts_name && let Some(end) = after.find('>') {
            return Some(&rest[start..start + 1 + end + 1]);
        }
        rest = after;
    }
    None
}

/// `cmek_context_unavailable` (503 on a skill create): "Retry in a few minutes" (docs/api.md
/// §14.3). The wait when the response names none.
pub(crate) const CMEK_CONTEXT_UNAVAILABLE_WAIT: std::time::Duration =
    std::time::Duration::from_secs(120);

#[cfg(test)]
mod skill_tests {
    use super::*;

    #[test]
    fn skill_names_and_descriptions_follow_the_documented_rules() {
        assert_eq!(bad_skill_name("house-style-2"), None);
        for bad in [
            "",
            "House",
            "a_b",
            "my claude",
            "claude-helper",
            "anthropic",
            &"a".repeat(65),
        ] {
            assert!(bad_skill_name(bad).is_some(), "{bad}");
        }
        assert_eq!(
            bad_skill_description("Charts in the house style; a < b"),
            None
        );
        assert!(bad_skill_description("uses <b>bold</b>").is_some());
        assert!(bad_skill_description("see </x>").is_some());
        assert!(bad_skill_description(" ").is_some());
        assert!(bad_skill_description(&"d".repeat(1025)).is_some());
        assert_eq!(bad_skill_description(&"d".repeat(1024)), None);
    }
}

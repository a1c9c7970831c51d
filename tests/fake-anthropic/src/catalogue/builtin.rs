//! The built-in catalogue: the models of the Claude API as of 2026-12-06 (docs/api.md
//! §8.9), as `GET /v1/models` describes them. Lifecycle here is what the entry says at
//! its own dates; the served `lifecycle` is computed from the fake's `today`
//! (`super::Catalogue::info`). Tests add or replace entries with
//! [`crate::FakeServer::add_model`].

use serde_json::{Value, json};

/// Thinking types a model accepts (`capabilities.thinking.types`).
const ADAPTIVE: &[&str] = &["adaptive"];
const ADAPTIVE_BETWEEN: &[&str] = &["adaptive", "between_tools"];
const ADAPTIVE_OFF: &[&str] = &["adaptive", "disabled"];
const ALL_BUT_BETWEEN: &[&str] = &["adaptive", "enabled", "disabled"];
const BUDGET_OFF: &[&str] = &["enabled", "disabled"];

/// Effort levels a model accepts (`capabilities.effort`).
const EFFORT_ALL: &[&str] = &["low", "medium", "high", "xhigh", "max"];
const EFFORT_NO_XHIGH: &[&str] = &["low", "medium", "high", "max"];
const EFFORT_TO_HIGH: &[&str] = &["low", "medium", "high"];
const NO_EFFORT: &[&str] = &[];

struct Spec {
    id: &'static str,
    aliases: &'static [&'static str],
    display: &'static str,
    created: &'static str,
    line: &'static str,
    context: u64,
    output: u64,
    deprecated: Option<&'static str>,
    retires: Option<&'static str>,
    thinking: &'static [&'static str],
    effort: &'static [&'static str],
    /// Released with or after Opus 4.6: programmatic tool calling and compaction.
    recent: bool,
}

const M: u64 = 1_000_000;
const K200: u64 = 200_000;
const K128: u64 = 128_000;
const K64: u64 = 64_000;

#[rustfmt::skip]
const SPECS: &[Spec] = &[
    Spec { id: "claude-fable-5-2", aliases: &[], display: "Claude Fable 5.2", created: "2026-11-09", line: "fable", context: M, output: K128, deprecated: None, retires: None, thinking: ADAPTIVE, effort: EFFORT_ALL, recent: true },
    Spec { id: "claude-mythos-5-2", aliases: &[], display: "Claude Mythos 5.2", created: "2026-11-09", line: "mythos", context: M, output: K128, deprecated: None, retires: None, thinking: ADAPTIVE, effort: EFFORT_ALL, recent: true },
    Spec { id: "claude-haiku-5-5", aliases: &[], display: "Claude Haiku 5.5", created: "2026-10-07", line: "haiku", context: M, output: K128, deprecated: None, retires: None, thinking: ADAPTIVE_OFF, effort: EFFORT_ALL, recent: true },
    Spec { id: "claude-sonnet-5-5", aliases: &[], display: "Claude Sonnet 5.5", created: "2026-09-28", line: "sonnet", context: M, output: K128, deprecated: None, retires: None, thinking: ADAPTIVE_BETWEEN, effort: EFFORT_ALL, recent: true },
    Spec { id: "claude-opus-5-5", aliases: &[], display: "Claude Opus 5.5", created: "2026-09-22", line: "opus", context: M, output: K128, deprecated: None, retires: None, thinking: ADAPTIVE, effort: EFFORT_ALL, recent: true },
    Spec { id: "claude-fable-5-1", aliases: &[], display: "Claude Fable 5.1", created: "2026-09-01", line: "fable", context: M, output: K128, deprecated: None, retires: None, thinking: ADAPTIVE, effort: EFFORT_ALL, recent: true },
    Spec { id: "claude-mythos-5-1", aliases: &[], display: "Claude Mythos 5.1", created: "2026-09-01", line: "mythos", context: M, output: K128, deprecated: None, retires: None, thinking: ADAPTIVE, effort: EFFORT_ALL, recent: true },
    Spec { id: "claude-opus-5", aliases: &[], display: "Claude Opus 5", created: "2026-07-24", line: "opus", context: M, output: K128, deprecated: None, retires: None, thinking: ADAPTIVE_OFF, effort: EFFORT_ALL, recent: true },
    Spec { id: "claude-sonnet-5", aliases: &[], display: "Claude Sonnet 5", created: "2026-06-30", line: "sonnet", context: M, output: K128, deprecated: None, retires: None, thinking: ADAPTIVE_OFF, effort: EFFORT_ALL, recent: true },
    Spec { id: "claude-fable-5", aliases: &[], display: "Claude Fable 5", created: "2026-06-09", line: "fable", context: M, output: K128, deprecated: None, retires: None, thinking: ADAPTIVE, effort: EFFORT_ALL, recent: true },
    Spec { id: "claude-mythos-5", aliases: &[], display: "Claude Mythos 5", created: "2026-06-09", line: "mythos", context: M, output: K128, deprecated: None, retires: None, thinking: ADAPTIVE, effort: EFFORT_ALL, recent: true },
    Spec { id: "claude-opus-4-8", aliases: &[], display: "Claude Opus 4.8", created: "2026-05-28", line: "opus", context: M, output: K128, deprecated: None, retires: None, thinking: ADAPTIVE_OFF, effort: EFFORT_ALL, recent: true },
    Spec { id: "claude-opus-4-7", aliases: &[], display: "Claude Opus 4.7", created: "2026-04-16", line: "opus", context: M, output: K128, deprecated: None, retires: None, thinking: ADAPTIVE_OFF, effort: EFFORT_ALL, recent: true },
    Spec { id: "claude-sonnet-4-6", aliases: &[], display: "Claude Sonnet 4.6", created: "2026-02-17", line: "sonnet", context: M, output: K128, deprecated: None, retires: None, thinking: ALL_BUT_BETWEEN, effort: EFFORT_NO_XHIGH, recent: true },
    Spec { id: "claude-opus-4-6", aliases: &[], display: "Claude Opus 4.6", created: "2026-02-05", line: "opus", context: M, output: K128, deprecated: None, retires: None, thinking: ALL_BUT_BETWEEN, effort: EFFORT_NO_XHIGH, recent: true },
    Spec { id: "claude-opus-4-5-20251101", aliases: &["claude-opus-4-5"], display: "Claude Opus 4.5", created: "2025-11-24", line: "opus", context: K200, output: K64, deprecated: Some("2026-11-23"), retires: Some("2027-01-22"), thinking: BUDGET_OFF, effort: EFFORT_TO_HIGH, recent: false },
    Spec { id: "claude-haiku-4-5-20251001", aliases: &["claude-haiku-4-5"], display: "Claude Haiku 4.5", created: "2025-10-15", line: "haiku", context: K200, output: K64, deprecated: None, retires: None, thinking: BUDGET_OFF, effort: NO_EFFORT, recent: false },
    // Retired: kept in the catalogue as the record of their retirement. The deprecation
    // dates of these are not published; the fake's are 60 days before retirement, the
    // notice Anthropic gives (docs/api.md §8.9).
    Spec { id: "claude-sonnet-4-5-20250929", aliases: &["claude-sonnet-4-5"], display: "Claude Sonnet 4.5", created: "2025-09-29", line: "sonnet", context: K200, output: K64, deprecated: Some("2026-10-01"), retires: Some("2026-11-30"), thinking: BUDGET_OFF, effort: NO_EFFORT, recent: false },
    Spec { id: "claude-opus-4-20250514", aliases: &["claude-opus-4-0"], display: "Claude Opus 4", created: "2025-05-22", line: "opus", context: K200, output: 32_000, deprecated: Some("2026-04-16"), retires: Some("2026-06-15"), thinking: BUDGET_OFF, effort: NO_EFFORT, recent: false },
    Spec { id: "claude-sonnet-4-20250514", aliases: &["claude-sonnet-4-0"], display: "Claude Sonnet 4", created: "2025-05-22", line: "sonnet", context: K200, output: K64, deprecated: Some("2026-04-16"), retires: Some("2026-06-15"), thinking: BUDGET_OFF, effort: NO_EFFORT, recent: false },
];

fn supported(yes: bool) -> Value {
    json!({ "supported": yes })
}

fn midnight(date: &str) -> String {
    format!("{date}T00:00:00Z")
}

/// `capabilities` with every key present ("Keys are always present for all known
/// capabilities", docs/api.md §8.9).
pub(crate) fn capabilities(thinking: &[&str], effort: &[&str], recent: bool) -> Value {
    let types: serde_json::Map<String, Value> =
        ["adaptive", "enabled", "disabled", "between_tools"]
            .iter()
            .map(|t| ((*t).to_owned(), supported(thinking.contains(t))))
            .collect();
    let mut effort_caps = json!({ "supported": !effort.is_empty() });
    for level in ["low", "medium", "high", "xhigh", "max"] {
        effort_caps[level] = supported(effort.contains(&level));
    }
    json!({
        "batch": supported(true),
        "citations": supported(true),
        "code_execution": supported(recent),
        "context_management": {
            "supported": true,
            "clear_thinking_20251015": supported(true),
            "clear_tool_uses_20250919": supported(true),
            "compact_20260112": supported(recent),
        },
        "effort": effort_caps,
        "image_input": supported(true),
        "pdf_input": supported(true),
        "server_tools": {
            "supported": true,
            "code_execution": supported(true),
            "web_search": supported(true),
        },
        "structured_outputs": supported(true),
        "thinking": {
            "supported": thinking.iter().any(|t| *t == "adaptive" || *t == "enabled"),
            "types": types,
        },
    })
}

/// Every built-in entry, in the stored shape (ModelInfo plus the fake-only `aliases`).
pub(crate) fn entries() -> Vec<Value> {
    SPECS
        .iter()
        .map(|s| {
            let lifecycle = match (s.retires, s.deprecated) {
                (Some(_), _) | (_, Some(_)) => "deprecated",
                _ => "active",
            };
            json!({
                "type": "model",
                "id": s.id,
                "display_name": s.display,
                "created_at": midnight(s.created),
                "lifecycle": lifecycle,
                "deprecated_at": s.deprecated.map(midnight),
                "retires_at": s.retires.map(midnight),
                "line": s.line,
                "max_input_tokens": s.context,
                "max_tokens": s.output,
                "capabilities": capabilities(s.thinking, s.effort, s.recent),
                "aliases": s.aliases,
            })
        })
        .collect()
}

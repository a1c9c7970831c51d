//! The tool errors a job's code hit (docs/api.md §3.4): a code-execution result that came
//! back as an error object (`execution_time_exceeded`, `unavailable`, …) inside a 200. The
//! conversation goes on, so the job may well succeed; job.json lists them, run.json counts
//! the jobs with some, and report.md and the pages show a warning (docs/output.md §2.13).

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::outcome::Exchange;
use super::{block_type, content_blocks};

/// One tool result that was an error, as job.json's `tool_errors[]` holds it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct ToolError {
    /// The result block's tool: its type without `_tool_result` (`bash_code_execution`,
    /// `text_editor_code_execution`, `code_execution`, …).
    pub tool: String,
    pub error_code: String,
    /// 0 for the prompt, as in `requests[]`.
    pub turn: usize,
    pub continuation: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool_use_id: Option<String>,
}

/// `bash_code_execution_tool_result`, `code_execution_tool_result`, … and the results of
/// the other server tools, which pair with their calls the same way.
pub(crate) fn is_result_type(t: &str) -> bool {
    t.ends_with("_tool_result")
}

/// Whether a result block's `content` is an error object (docs/api.md §3.4); one of an
/// unknown type counts when it carries an `error_code`.
pub(crate) fn is_error(content: &Value) -> bool {
    block_type(content).ends_with("_tool_result_error") || content.get("error_code").is_some()
}

/// The tool errors of a job's responses in order, each result once (a result repeated in
/// a later response is the same error).
pub(crate) fn of(exchanges: &[Exchange]) -> Vec<ToolError> {
    let mut found: Vec<ToolError> = Vec::new();
    for e in exchanges {
        for block in content_blocks(&e.response) {
            let t = block_type(block);
            if !is_result_type(t) || !is_error(&block["content"]) {
                continue;
            }
            let tool_use_id = block["tool_use_id"].as_str().map(str::to_owned);
            if tool_use_id.is_some() && found.iter().any(|f| f.tool_use_id == tool_use_id) {
                continue;
            }
            found.push(ToolError {
                tool: t.trim_end_matches("_tool_result").to_owned(),
                error_code: match &block["content"]["error_code"] {
                    Value::String(s) => s.clone(),
                    Value::Null => "unknown".to_owned(),
                    other => other.to_string(),
                },
                turn: e.turn,
                continuation: e.continuation,
                tool_use_id,
            });
        }
    }
    found
}

/// Distinct (code, tool) pairs named in a warning at most; the rest are counted.
const NAMED: usize = 4;
/// Characters of one code or tool name in a warning.
const NAME_CHARS: usize = 48;

/// The warning people read, plain text (each page escapes it):
/// `2 tool errors: execution_time_exceeded (bash_code_execution) ×2; see the transcript`.
pub(crate) fn warning(errors: &[ToolError]) -> Option<String> {
    if errors.is_empty() {
        return None;
    }
    let mut pairs: Vec<(&str, &str, usize)> = Vec::new();
    for e in errors {
        match pairs
            .iter_mut()
            .find(|(code, tool, _)| *code == e.error_code && *tool == e.tool)
        {
            Some((_, _, n)) => *n += 1,
            None => pairs.push((&e.error_code, &e.tool, 1)),
        }
    }
    let short = |s: &str| -> String { s.chars().take(NAME_CHARS).collect() };
    let mut named: Vec<String> = pairs
        .iter()
        .take(NAMED)
        .map(|(code, tool, n)| {
            let times = if *n > 1 {
                format!(" ×{n}")
            } else {
                String::new()
            };
            format!("{} ({}){times}", short(code), short(tool))
        })
        .collect();
    if pairs.len() > NAMED {
        named.push(format!("{} more", pairs.len() - NAMED));
    }
    Some(format!(
        "{}: {}; see the transcript",
        crate::units::count(errors.len(), "tool error"),
        named.join(", ")
    ))
}

/// The warning of a `job.json` read as loose JSON (the pages): its `tool_errors`, each
/// entry that does not read as one left out.
pub(crate) fn warning_of_record(record: &Value) -> Option<String> {
    let errors: Vec<ToolError> = record["tool_errors"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|e| serde_json::from_value(e.clone()).ok())
        .collect();
    warning(&errors)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn exchange(turn: usize, continuation: u32, content: Value) -> Exchange {
        Exchange {
            turn,
            continuation,
            request_id: None,
            stop_reason: None,
            usage: Default::default(),
            response: json!({"content": content}),
            batch: None,
            received_on: jiff::civil::date(2026, 12, 8),
        }
    }

    fn error(id: &str, t: &str, code: &str) -> Value {
        json!({"type": format!("{t}_tool_result"), "tool_use_id": id,
               "content": {"type": format!("{t}_tool_result_error"), "error_code": code}})
    }

    #[test]
    fn every_error_result_once_with_its_tool_and_place() {
        let ok = json!({"type": "bash_code_execution_tool_result", "tool_use_id": "a",
                        "content": {"type": "bash_code_execution_result", "return_code": 0}});
        let exchanges = [
            exchange(
                0,
                0,
                json!([
                    ok,
                    error("b", "bash_code_execution", "execution_time_exceeded")
                ]),
            ),
            // A continuation repeating the paused result, then a new one.
            exchange(
                0,
                1,
                json!([
                    error("b", "bash_code_execution", "execution_time_exceeded"),
                    error("c", "text_editor_code_execution", "file_not_found"),
                    {"type": "code_execution_tool_result", "tool_use_id": "d",
                     "content": {"type": "something_new", "error_code": 7}},
                    {"type": "text", "text": "error_code"},
                ]),
            ),
        ];
        let found = of(&exchanges);
        let seen: Vec<(&str, &str, u32)> = found
            .iter()
            .map(|e| (e.tool.as_str(), e.error_code.as_str(), e.continuation))
            .collect();
        assert_eq!(
            seen,
            [
                ("bash_code_execution", "execution_time_exceeded", 0),
                ("text_editor_code_execution", "file_not_found", 1),
                ("code_execution", "7", 1),
            ]
        );
        assert_eq!(found[1].tool_use_id.as_deref(), Some("c"));
        assert!(of(&[exchange(0, 0, json!("not a list"))]).is_empty());
    }

    #[test]
    fn the_warning_groups_and_bounds_what_it_names() {
        assert_eq!(warning(&[]), None);
        let e = |code: &str, tool: &str| ToolError {
            tool: tool.to_owned(),
            error_code: code.to_owned(),
            turn: 0,
            continuation: 0,
            tool_use_id: None,
        };
        let two = [
            e("execution_time_exceeded", "bash_code_execution"),
            e("execution_time_exceeded", "bash_code_execution"),
        ];
        assert_eq!(
            warning(&two).unwrap(),
            "2 tool errors: execution_time_exceeded (bash_code_execution) ×2; see the transcript"
        );
        let long = "x".repeat(500);
        let many: Vec<ToolError> = (0..6).map(|i| e(&format!("{long}{i}"), "bash")).collect();
        let text = warning(&many).unwrap();
        assert!(text.ends_with(", 2 more; see the transcript"), "{text}");
        assert!(text.chars().count() < 4 * 60 + 60, "{text}");
        let record = json!({"tool_errors": [
            {"tool": "bash_code_execution", "error_code": "unavailable", "turn": 1, "continuation": 0},
            "not an entry",
        ]});
        assert_eq!(
            warning_of_record(&record).unwrap(),
            "1 tool error: unavailable (bash_code_execution); see the transcript"
        );
        assert_eq!(warning_of_record(&json!({})), None);
    }
}

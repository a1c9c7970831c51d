//! Strategies for the JSON a server may send, for property tests of everything that reads it:
//! arbitrary values built from the API's own words (block types, keys, stop reasons) so that
//! they reach deep into the readers, and Messages responses whose content blocks are of every
//! kind a code-execution response holds (docs/api.md §3.3–§3.5), each with fields that may be
//! missing, null, of the wrong type, or hold odd text.

use proptest::collection::vec;
use proptest::option;
use proptest::prelude::*;
use proptest::sample::select;
use serde_json::{Map, Value, json};

/// Keys the readers look up.
const KEYS: &[&str] = &[
    "type",
    "content",
    "id",
    "tool_use_id",
    "file_id",
    "stdout",
    "stderr",
    "return_code",
    "name",
    "input",
    "text",
    "code",
    "command",
    "restart",
    "path",
    "file_text",
    "old_str",
    "new_str",
    "insert_text",
    "file_type",
    "start_line",
    "num_lines",
    "total_lines",
    "old_start",
    "old_lines",
    "new_start",
    "new_lines",
    "lines",
    "is_file_update",
    "error_code",
    "error_message",
    "encrypted_stdout",
    "stop_reason",
    "container",
    "usage",
    "input_tokens",
    "output_tokens",
    "server_tool_use",
    "code_execution_requests",
    "thinking",
    "signature",
];

/// Block and result types, stop reasons, tool names, ids and file names.
const WORDS: &[&str] = &[
    "message",
    "text",
    "thinking",
    "redacted_thinking",
    "server_tool_use",
    "tool_use",
    "container_upload",
    "bash_code_execution",
    "text_editor_code_execution",
    "code_execution",
    "bash_code_execution_tool_result",
    "bash_code_execution_result",
    "bash_code_execution_output",
    "bash_code_execution_tool_result_error",
    "code_execution_tool_result",
    "code_execution_result",
    "code_execution_output",
    "encrypted_code_execution_result",
    "code_execution_tool_result_error",
    "text_editor_code_execution_tool_result",
    "text_editor_code_execution_result",
    "text_editor_code_execution_view_result",
    "text_editor_code_execution_create_result",
    "text_editor_code_execution_str_replace_result",
    "text_editor_code_execution_tool_result_error",
    "web_search_tool_result",
    "mystery_block",
    "view",
    "create",
    "str_replace",
    "end_turn",
    "pause_turn",
    "max_tokens",
    "refusal",
    "stop_sequence",
    "file_1",
    "file_2",
    "srvtoolu_1",
    "srvtoolu_2",
    "unavailable",
    "output_file_too_large",
    "../../etc/passwd",
    "plot.png",
    "",
];

/// Pieces of text that mean something to Markdown, terminals or Unicode.
const ODD_TEXT: &[&str] = &[
    "`",
    "```",
    "~~~",
    "\n",
    "\r\n",
    "\t",
    "\0",
    "\u{1b}[2J",
    "\u{9b}",
    "\u{7f}",
    "\u{202E}",
    "é",
    "e\u{301}",
    "😀",
    "<script>",
    "](x)",
    "# ",
    "|",
    "*",
    "_",
    "\\",
    " ",
    "a",
    "0",
];

/// Tool names of calls (docs/api.md §3.3).
const TOOL_NAMES: &[&str] = &[
    "bash_code_execution",
    "text_editor_code_execution",
    "code_execution",
];

/// Text-editor commands, and the input fields that carry file content.
const EDITOR_COMMANDS: &[&str] = &["view", "create", "str_replace", "insert", "undo"];
const EDITOR_FIELDS: &[&str] = &[
    "file_text",
    "old_str",
    "new_str",
    "insert_text",
    "view_range",
];

/// Tool-result error codes (docs/api.md §3.4), one undocumented, and an empty one.
const ERROR_CODES: &[&str] = &[
    "invalid_tool_input",
    "unavailable",
    "too_many_requests",
    "execution_time_exceeded",
    "output_file_too_large",
    "file_not_found",
    "container_expired",
    "",
];

const TOOL_IDS: &[&str] = &["srvtoolu_1", "srvtoolu_2", "srvtoolu_3"];
const FILE_IDS: &[&str] = &["file_1", "file_2", "file_3", "", "../../etc/passwd"];

fn word() -> impl Strategy<Value = &'static str> + Clone {
    select(WORDS)
}

/// Text: an API word, a few odd pieces, a long run of them, or any string at all.
pub(crate) fn text() -> BoxedStrategy<String> {
    prop_oneof![
        3 => word().prop_map(str::to_owned),
        5 => vec(select(ODD_TEXT), 0..8).prop_map(|p| p.concat()),
        1 => vec(select(ODD_TEXT), 200..2200).prop_map(|p| p.concat()),
        1 => any::<String>(),
    ]
    .boxed()
}

/// A number, mostly at the edges: what a counter or a return code may be.
pub(crate) fn number() -> BoxedStrategy<Value> {
    prop_oneof![
        Just(json!(0)),
        (0..5_u64).prop_map(Value::from),
        Just(json!(-1)),
        Just(json!(u64::MAX)),
        Just(json!(i64::MIN)),
        Just(json!(1.5e300)),
        any::<i64>().prop_map(Value::from),
        // NaN and the infinities become `null`, as serde_json writes them.
        any::<f64>().prop_map(Value::from),
    ]
    .boxed()
}

/// Any JSON value, `depth` levels deep at most; objects use the readers' keys.
pub(crate) fn value(depth: u32) -> BoxedStrategy<Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        number(),
        text().prop_map(Value::String),
    ];
    leaf.prop_recursive(depth, 48, 5, |inner| {
        prop_oneof![
            2 => object(inner.clone()),
            1 => vec(inner, 0..5).prop_map(Value::Array),
        ]
    })
    .boxed()
}

/// An object of the readers' keys (sometimes with a `type` word) holding `inner` values.
fn object(inner: impl Strategy<Value = Value> + 'static) -> BoxedStrategy<Value> {
    (option::of(word()), vec((select(KEYS), inner), 0..6))
        .prop_map(|(kind, fields)| {
            let mut map = Map::new();
            if let Some(kind) = kind {
                map.insert("type".into(), json!(kind));
            }
            for (key, v) in fields {
                map.insert(key.to_owned(), v);
            }
            Value::Object(map)
        })
        .boxed()
}

/// `shape` with, now and then, one of its fields removed or given a value of any type.
fn tweaked(shape: impl Strategy<Value = Value> + 'static) -> BoxedStrategy<Value> {
    let edit = option::weighted(0.3, (select(KEYS), option::of(value(1))));
    (shape, edit)
        .prop_map(|(mut v, edit)| {
            if let (Some(map), Some((key, replacement))) = (v.as_object_mut(), edit) {
                match replacement {
                    None => map.remove(key),
                    Some(r) => map.insert(key.to_owned(), r),
                };
            }
            v
        })
        .boxed()
}

/// Usually what the field should hold, sometimes anything.
fn or_any(usual: impl Strategy<Value = Value> + 'static) -> BoxedStrategy<Value> {
    prop_oneof![4 => usual, 1 => value(1)].boxed()
}

fn string(s: impl Strategy<Value = String> + 'static) -> BoxedStrategy<Value> {
    s.prop_map(Value::String).boxed()
}

fn tool_id() -> BoxedStrategy<Value> {
    select(TOOL_IDS).prop_map(Value::from).boxed()
}

fn file_id() -> BoxedStrategy<Value> {
    or_any(select(FILE_IDS).prop_map(Value::from))
}

/// The `input` of a server tool call: a bash command or restart, Python code, a text-editor
/// command, or anything.
fn tool_input() -> BoxedStrategy<Value> {
    let bash = prop_oneof![
        string(text()).prop_map(|c| json!({"command": c})),
        Just(json!({"restart": true})),
    ];
    let python = string(text()).prop_map(|c| json!({"code": c}));
    let editor = (
        select(EDITOR_COMMANDS),
        or_any(string(text())),
        vec((select(EDITOR_FIELDS), or_any(string(text()))), 0..4),
    )
        .prop_map(|(command, path, fields)| {
            let mut input = json!({"command": command, "path": path});
            for (key, v) in fields {
                input[key] = v;
            }
            input
        });
    prop_oneof![bash, python, editor, value(2)].boxed()
}

fn call() -> BoxedStrategy<Value> {
    let name = prop_oneof![
        3 => select(TOOL_NAMES),
        1 => word(),
    ];
    (tool_id(), name, tool_input()).prop_map(|(id, name, input)| {
        json!({"type": "server_tool_use", "id": id, "name": name, "input": input})
    })
    .boxed()
}

/// An execution result: return code, streams and the files listed as output.
fn execution(kind: &'static str, output: &'static str) -> BoxedStrategy<Value> {
    let item = or_any(file_id().prop_map(move |id| json!({"type": output, "file_id": id})));
    (
        or_any(string(text())),
        or_any(string(text())),
        or_any(prop_oneof![(0..3_i64).prop_map(Value::from), number()]),
        or_any(vec(item, 0..4).prop_map(Value::Array)),
    )
        .prop_map(move |(stdout, stderr, rc, files)| {
            let out = if kind == "encrypted_code_execution_result" {
                "encrypted_stdout"
            } else {
                "stdout"
            };
            let mut r =
                json!({"type": kind, "stderr": stderr, "return_code": rc, "content": files});
            r[out] = stdout;
            r
        })
        .boxed()
}

fn tool_error(kind: &'static str) -> BoxedStrategy<Value> {
    let code = or_any(select(ERROR_CODES).prop_map(Value::from));
    (code, option::of(string(text())))
        .prop_map(move |(code, message)| {
            let mut e = json!({"type": kind, "error_code": code});
            if let Some(m) = message {
                e["error_message"] = m;
            }
            e
        })
        .boxed()
}

fn editor_result() -> BoxedStrategy<Value> {
    let line = || or_any((0..1000_u64).prop_map(Value::from));
    let view = (
        or_any(select(&["text", "image", "pdf"][..]).prop_map(Value::from)),
        or_any(string(text())),
        (line(), line(), line()),
    )
        .prop_map(|(file_type, content, (start, num, total))| {
            json!({"type": "text_editor_code_execution_view_result", "file_type": file_type,
                   "content": content, "start_line": start, "num_lines": num, "total_lines": total})
        });
    let create = or_any(any::<bool>().prop_map(Value::Bool)).prop_map(|update| {
        json!({"type": "text_editor_code_execution_create_result", "is_file_update": update})
    });
    let replace = (
        (line(), line(), line(), line()),
        or_any(vec(or_any(string(text())), 0..5).prop_map(Value::Array)),
    )
        .prop_map(|((a, b, c, d), lines)| {
            json!({"type": "text_editor_code_execution_str_replace_result",
                   "old_start": a, "old_lines": b, "new_start": c, "new_lines": d, "lines": lines})
        });
    prop_oneof![
        view,
        create,
        replace,
        tool_error("text_editor_code_execution_tool_result_error"),
    ]
    .boxed()
}

/// A result block of `kind` for one of the calls, holding `content`.
fn result(
    kind: &'static str,
    content: impl Strategy<Value = Value> + 'static,
) -> BoxedStrategy<Value> {
    (tool_id(), tweaked(content))
        .prop_map(move |(id, content)| json!({"type": kind, "tool_use_id": id, "content": content}))
        .boxed()
}

/// A content block: every kind the runner reads, unknown kinds, and anything at all, with
/// any field possibly missing or of the wrong type.
pub(crate) fn block() -> BoxedStrategy<Value> {
    let text_block = string(text()).prop_map(|t| json!({"type": "text", "text": t}));
    let thinking = prop_oneof![
        (string(text()), string(text()))
            .prop_map(|(t, s)| json!({"type": "thinking", "thinking": t, "signature": s})),
        string(text()).prop_map(|d| json!({"type": "redacted_thinking", "data": d})),
        file_id().prop_map(|id| json!({"type": "container_upload", "file_id": id})),
    ];
    let bash = result(
        "bash_code_execution_tool_result",
        prop_oneof![
            3 => execution("bash_code_execution_result", "bash_code_execution_output"),
            1 => tool_error("bash_code_execution_tool_result_error"),
        ],
    );
    let python = result(
        "code_execution_tool_result",
        prop_oneof![
            2 => execution("code_execution_result", "code_execution_output"),
            2 => execution("encrypted_code_execution_result", "code_execution_output"),
            1 => tool_error("code_execution_tool_result_error"),
        ],
    );
    let editor = result("text_editor_code_execution_tool_result", editor_result());
    // A type nobody documented, holding a result-shaped value: carried, never misread.
    let unknown = result(
        "mystery_block",
        prop_oneof![value(2), execution("bash_code_execution_result", "x")],
    );
    tweaked(prop_oneof![
        3 => text_block,
        1 => thinking,
        3 => call(),
        3 => bash,
        2 => python,
        2 => editor,
        1 => unknown,
        1 => object(value(2)),
        1 => value(2),
    ])
    .boxed()
}

/// A Messages response: usually message-shaped, sometimes anything at all.
pub(crate) fn response() -> BoxedStrategy<Value> {
    let kind = prop_oneof![9 => Just(json!("message")), 1 => value(1)];
    let content = prop_oneof![7 => vec(block(), 0..6).prop_map(Value::Array), 1 => value(2)];
    let stop_reason = prop_oneof![2 => word().prop_map(Value::from), 1 => value(1)];
    let container = prop_oneof![
        string(text()).prop_map(|id| json!({"id": id, "expires_at": "2026-01-01T00:00:00Z"})),
        string(text()),
        value(1),
    ];
    let usage = or_any(
        (
            number(),
            number(),
            or_any(number().prop_map(|n| json!({"code_execution_requests": n}))),
        )
            .prop_map(
                |(i, o, s)| json!({"input_tokens": i, "output_tokens": o, "server_tool_use": s}),
            ),
    );
    let missing = option::weighted(
        0.3,
        select(&["type", "content", "stop_reason", "container", "usage"][..]),
    );
    let message = (kind, content, stop_reason, container, usage, missing).prop_map(
        |(kind, content, stop_reason, container, usage, missing)| {
            let mut r = json!({"type": kind, "content": content, "stop_reason": stop_reason,
                               "container": container, "usage": usage});
            if let (Some(key), Some(map)) = (missing, r.as_object_mut()) {
                map.remove(key);
            }
            r
        },
    );
    prop_oneof![5 => message, 1 => value(4)].boxed()
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;

    /// Every kind of block and result a code-execution response holds is generated.
    #[test]
    fn block_strategy_reaches_every_kind() {
        let kinds: BTreeSet<String> = crate::testing::sample(&block(), 2000)
            .iter()
            .map(|b| {
                let inner = b["content"]["type"].as_str().or(b["name"].as_str());
                format!("{} {}", b["type"], inner.unwrap_or("-"))
            })
            .collect();
        let expected = [
            r#""text" -"#,
            r#""thinking" -"#,
            r#""redacted_thinking" -"#,
            r#""container_upload" -"#,
            r#""server_tool_use" bash_code_execution"#,
            r#""server_tool_use" text_editor_code_execution"#,
            r#""server_tool_use" code_execution"#,
            r#""bash_code_execution_tool_result" bash_code_execution_result"#,
            r#""bash_code_execution_tool_result" bash_code_execution_tool_result_error"#,
            r#""code_execution_tool_result" code_execution_result"#,
            r#""code_execution_tool_result" encrypted_code_execution_result"#,
            r#""code_execution_tool_result" code_execution_tool_result_error"#,
            r#""text_editor_code_execution_tool_result" text_editor_code_execution_view_result"#,
            r#""text_editor_code_execution_tool_result" text_editor_code_execution_create_result"#,
            r#""text_editor_code_execution_tool_result" text_editor_code_execution_str_replace_result"#,
            r#""text_editor_code_execution_tool_result" text_editor_code_execution_tool_result_error"#,
            r#""mystery_block" bash_code_execution_result"#,
        ];
        for kind in expected {
            assert!(kinds.contains(kind), "{kind} never generated");
        }
    }
}

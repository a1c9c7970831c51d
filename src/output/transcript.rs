//! `transcript.md`: every code execution of a job in order, each call paired with its
//! result by `tool_use_id` (docs/api.md §3.3–§3.4), with Claude's working notes (thinking
//! with text) where they came, read from the raw responses. Unknown block and result types
//! are listed, never dropped silently, and never a panic.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

use super::markdown::{
    code, fence, inline, json_fence, link_target, thinking_text, word_or_code, working_notes,
};
use super::outcome::{JobOutcome, OutputFile};
use super::tool_errors::{is_error, is_result_type};
use super::{block_type, content_blocks};
use crate::units;

/// A content block and the request it came in.
#[derive(Clone, Copy)]
struct Located<'a> {
    block: &'a Value,
    turn: usize,
    continuation: u32,
}

/// Every code execution in order, each with its result (found by `tool_use_id`, which may
/// arrive in a later `pause_turn` continuation than the call).
pub(crate) fn transcript_md(outcome: &JobOutcome) -> String {
    let blocks = located_blocks(outcome);
    let results = results_by_call(&blocks);
    let call_ids: BTreeSet<&str> = blocks
        .iter()
        .filter(|l| block_type(l.block) == "server_tool_use")
        .filter_map(|l| l.block["id"].as_str())
        .collect();

    let mut body = String::new();
    let mut n = 0;
    let mut shown: BTreeSet<&str> = BTreeSet::new();
    let mut current_turn = None;
    let mut hidden_thinking = 0;
    for loc in &blocks {
        let rendered = match block_type(loc.block) {
            "server_tool_use" => {
                let id = loc.block["id"].as_str();
                // A paused call may be repeated in the continuation; show it once.
                if id.is_some_and(|id| !shown.insert(id)) {
                    continue;
                }
                n += 1;
                let result = id.and_then(|id| results.get(id)).copied();
                render_call(n, loc, result, &outcome.outputs)
            }
            t if is_result_type(t) => {
                let id = loc.block["tool_use_id"].as_str().unwrap_or("");
                if call_ids.contains(id) {
                    continue;
                }
                n += 1;
                render_orphan(n, loc, &outcome.outputs)
            }
            // Claude's working notes, in their place between the calls (docs/output.md §8).
            "thinking" => match thinking_text(loc.block) {
                Some(text) => working_notes(text),
                None => {
                    hidden_thinking += 1;
                    continue;
                }
            },
            "redacted_thinking" => {
                hidden_thinking += 1;
                continue;
            }
            "text" | "container_upload" => continue,
            other => render_unknown(loc, other),
        };
        if current_turn != Some(loc.turn) {
            current_turn = Some(loc.turn);
            body.push_str(&format!("\n## Turn {}\n", loc.turn + 1));
        }
        body.push('\n');
        body.push_str(&rendered);
    }

    let mut out = format!("# Transcript: {}\n\n", inline(&outcome.job.id));
    out.push_str(&match n {
        0 => "*No code was executed.*\n".to_owned(),
        1 => "1 code execution.\n".to_owned(),
        n => format!("{n} code executions, in order.\n"),
    });
    if hidden_thinking > 0 {
        out.push_str(&format!(
            "\n*{} not shown: the API sent them without text (thinking `display` omitted, \
             or redacted); `messages.json` keeps every block.*\n",
            units::count(hidden_thinking, "thinking block")
        ));
    }
    out.push_str(&body);
    out
}

fn located_blocks(outcome: &JobOutcome) -> Vec<Located<'_>> {
    outcome
        .exchanges
        .iter()
        .flat_map(|e| {
            content_blocks(&e.response).map(move |block| Located {
                block,
                turn: e.turn,
                continuation: e.continuation,
            })
        })
        .collect()
}

fn results_by_call<'a>(blocks: &[Located<'a>]) -> BTreeMap<&'a str, Located<'a>> {
    let mut map = BTreeMap::new();
    for loc in blocks {
        if is_result_type(block_type(loc.block))
            && let Some(id) = loc.block["tool_use_id"].as_str()
        {
            map.entry(id).or_insert(*loc);
        }
    }
    map
}

fn render_call(
    n: usize,
    call: &Located<'_>,
    result: Option<Located<'_>>,
    outputs: &[OutputFile],
) -> String {
    let name = call.block["name"].as_str().unwrap_or("(unnamed call)");
    let mut out = format!("### {n}. {}\n\n", word_or_code(name));
    let mut place = where_(call);
    if let Some(id) = call.block["id"].as_str() {
        place.push_str(&format!(" · {}", code(id)));
    }
    if let Some(r) = result
        && (r.turn, r.continuation) != (call.turn, call.continuation)
    {
        place.push_str(&format!(" · result in {}", where_(&r).to_lowercase()));
    }
    out.push_str(&format!("{place}\n\n"));
    out.push_str(&render_input(name, &call.block["input"]));
    out.push('\n');
    match result {
        Some(r) => out.push_str(&render_result(&r.block["content"], outputs)),
        None => out.push_str("*(no result: the turn was paused or cut off)*\n"),
    }
    out
}

fn render_orphan(n: usize, loc: &Located<'_>, outputs: &[OutputFile]) -> String {
    let t = block_type(loc.block);
    let mut out = format!("### {n}. {} without its call\n\n", word_or_code(t));
    out.push_str(&format!("{}\n\n", where_(loc)));
    out.push_str(&render_result(&loc.block["content"], outputs));
    out
}

fn render_unknown(loc: &Located<'_>, t: &str) -> String {
    let t = if t.is_empty() { "(no type)" } else { t };
    format!(
        "*Unknown block {} in {}, not shown.*\n",
        code(t),
        where_(loc).to_lowercase()
    )
}

fn where_(loc: &Located<'_>) -> String {
    match loc.continuation {
        0 => format!("Turn {}", loc.turn + 1),
        c => format!("Turn {}, continuation {c}", loc.turn + 1),
    }
}

fn render_input(name: &str, input: &Value) -> String {
    match name {
        "bash_code_execution" => match input["command"].as_str() {
            Some(cmd) => fence("bash", cmd),
            None if input["restart"].as_bool() == Some(true) => "*Restart the shell.*\n".into(),
            None => json_fence(input),
        },
        "code_execution" => match input["code"].as_str() {
            Some(code) => fence("python", code),
            None => json_fence(input),
        },
        "text_editor_code_execution" if input.is_object() => render_editor_input(input),
        _ => json_fence(input),
    }
}

/// Text-editor fields that carry file content, with the label they get.
const EDITOR_TEXTS: [(&str, &str); 4] = [
    ("file_text", "Content"),
    ("old_str", "Replace"),
    ("new_str", "With"),
    ("insert_text", "Insert"),
];

fn render_editor_input(input: &Value) -> String {
    let command = input["command"].as_str().unwrap_or("(no command)");
    let path = input["path"].as_str();
    let mut out = format!("**{}**", inline(command));
    if let Some(path) = path {
        out.push_str(&format!(" {}", code(path)));
    }
    out.push('\n');
    let lang = path.map_or("", lang_for);
    let mut rest = String::new();
    if let Some(obj) = input.as_object() {
        for (key, value) in obj {
            if key == "command" || key == "path" || EDITOR_TEXTS.iter().any(|(k, _)| k == key) {
                continue;
            }
            rest.push_str(&format!(
                "- {}: {}\n",
                inline(key),
                code(&value.to_string())
            ));
        }
    }
    if !rest.is_empty() {
        out.push('\n');
        out.push_str(&rest);
    }
    for (key, label) in EDITOR_TEXTS {
        if let Some(text) = input[key].as_str() {
            out.push_str(&format!("\n{label}:\n\n"));
            out.push_str(&fence(lang, text));
        }
    }
    out
}

fn render_result(content: &Value, outputs: &[OutputFile]) -> String {
    let t = block_type(content);
    match t {
        "bash_code_execution_result" | "code_execution_result" => {
            render_execution(content, outputs, false)
        }
        "encrypted_code_execution_result" => render_execution(content, outputs, true),
        "text_editor_code_execution_view_result" => render_view(content),
        "text_editor_code_execution_create_result" => {
            if content["is_file_update"].as_bool() == Some(true) {
                "Updated the existing file.\n".into()
            } else {
                "Created the file.\n".into()
            }
        }
        "text_editor_code_execution_str_replace_result" => render_str_replace(content),
        _ if is_error(content) => render_tool_error(content),
        "" => format!("Result:\n\n{}", json_fence(content)),
        _ => format!(
            "Result of unknown type {}:\n\n{}",
            code(t),
            json_fence(content)
        ),
    }
}

fn render_execution(content: &Value, outputs: &[OutputFile], encrypted: bool) -> String {
    let mut out = String::new();
    match &content["return_code"] {
        Value::Number(rc) => out.push_str(&format!("**Return code:** {rc}\n")),
        Value::Null => out.push_str("**Return code:** unknown\n"),
        other => out.push_str(&format!("**Return code:** {}\n", code(&other.to_string()))),
    }
    if encrypted {
        out.push_str("\n**stdout:** *(encrypted by the API: the code called web search)*\n");
    } else {
        out.push_str(&stream("stdout", &content["stdout"]));
    }
    out.push_str(&stream("stderr", &content["stderr"]));
    let ids: Vec<&str> = content["content"]
        .as_array()
        .map(|items| items.iter().filter_map(|i| i["file_id"].as_str()).collect())
        .unwrap_or_default();
    if !ids.is_empty() {
        out.push_str("\n**Files produced:**\n\n");
        for id in ids {
            out.push_str(&file_line(id, outputs));
        }
    }
    out
}

/// The most of one stdout or stderr shown in the transcript. Program output can be
/// enormous (a loop printing a data frame); the transcript is for reading, and
/// messages.json keeps every byte.
pub(super) const MAX_STREAM_BYTES: usize = 64 * 1024;

fn stream(label: &str, text: &Value) -> String {
    let Some(t) = text.as_str().filter(|t| !t.is_empty()) else {
        return String::new();
    };
    if t.len() <= MAX_STREAM_BYTES {
        return format!("\n**{label}:**\n\n{}", fence("text", t));
    }
    let mut end = MAX_STREAM_BYTES;
    while !t.is_char_boundary(end) {
        end -= 1;
    }
    format!(
        "\n**{label}** *(the first {} of {}; messages.json has all of it)***:**\n\n{}",
        units::bytes(end as u64),
        units::bytes(t.len() as u64),
        fence("text", &t[..end])
    )
}

fn file_line(id: &str, outputs: &[OutputFile]) -> String {
    let saved: Vec<String> = outputs
        .iter()
        .filter(|f| f.file_id == id)
        .map(|f| format!("[{}]({})", inline(&f.name), link_target(&f.path)))
        .collect();
    if saved.is_empty() {
        format!("- {} *(not saved)*\n", code(id))
    } else {
        format!("- {} → {}\n", code(id), saved.join(", "))
    }
}

fn render_view(content: &Value) -> String {
    let file_type = content["file_type"].as_str().unwrap_or("text");
    let lines = match (
        content["start_line"].as_u64(),
        content["num_lines"].as_u64(),
        content["total_lines"].as_u64(),
    ) {
        (Some(start), Some(num), Some(total)) if num > 0 => format!(
            ", lines {start}–{} of {total}",
            start.saturating_add(num - 1)
        ),
        _ => String::new(),
    };
    let mut out = format!("Viewed ({}{lines}):\n\n", inline(file_type));
    match content["content"].as_str() {
        Some(text) if file_type == "text" => out.push_str(&fence("text", text)),
        Some(_) => out.push_str("*(content not shown)*\n"),
        None => out.push_str("*(no content)*\n"),
    }
    out
}

fn render_str_replace(content: &Value) -> String {
    let numbers = ["old_start", "old_lines", "new_start", "new_lines"].map(|k| content[k].as_u64());
    let mut diff = String::new();
    if let [Some(a), Some(b), Some(c), Some(d)] = numbers {
        diff.push_str(&format!("@@ -{a},{b} +{c},{d} @@\n"));
    }
    for line in content["lines"].as_array().into_iter().flatten() {
        if let Some(line) = line.as_str() {
            diff.push_str(line.trim_end_matches('\n'));
            diff.push('\n');
        }
    }
    if diff.is_empty() {
        "Replaced.\n".into()
    } else {
        format!("Replaced:\n\n{}", fence("diff", &diff))
    }
}

fn render_tool_error(content: &Value) -> String {
    let error_code = match &content["error_code"] {
        Value::String(s) => word_or_code(s),
        Value::Null => "(no error code)".into(),
        other => code(&other.to_string()),
    };
    let mut out = format!("**Tool error:** {error_code}\n");
    if let Some(message) = content["error_message"].as_str().filter(|m| !m.is_empty()) {
        out.push_str(&format!("\n{}\n", inline(message)));
    }
    out
}

/// A fence language for a file shown by the text editor, so viewers can highlight it.
fn lang_for(path: &str) -> &'static str {
    let ext = path.rsplit_once('.').map_or("", |(_, e)| e);
    match ext.to_ascii_lowercase().as_str() {
        "py" => "python",
        "sh" | "bash" => "bash",
        "json" => "json",
        "md" => "markdown",
        "csv" => "csv",
        "r" => "r",
        "sql" => "sql",
        "yaml" | "yml" => "yaml",
        "toml" => "toml",
        "html" | "htm" => "html",
        "js" => "javascript",
        _ => "text",
    }
}

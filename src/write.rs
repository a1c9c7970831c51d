//! Stage 7: lays out a job's output folder from its [`JobOutcome`] and writes `run.json`.
//!
//! Renders `report.md` (the assistant's words and the files), `transcript.md` (every code
//! execution), `messages.json` (the raw conversation) and `job.json` (provenance and
//! status) into a [`Staging`] folder and commits it, `job.json` last since its status is
//! what a later run trusts. The responses are read as raw JSON sent by a server: any field
//! may be missing or of an odd type, and rendering must never panic on that. Generated
//! files are downloaded into `files/` by `collect.rs` before this runs.

use std::collections::{BTreeMap, BTreeSet};
use std::io::{self, BufWriter, Write};

use camino::{Utf8Path, Utf8PathBuf};
use serde::Serialize;
use serde_json::Value;

use crate::outcome::{
    AttachedInput, ErrorKind, Exchange, JobError, JobOutcome, OutputFile, RunSummary, Usage,
};
use crate::outdir::Staging;
use crate::resolve::RequestSettings;

/// Bumped when a field of `job.json` changes meaning or goes away.
const JOB_JSON_VERSION: u32 = 1;

/// Writes the job's documents into `staging`, then swaps it into place.
pub fn write_job(staging: Staging, outcome: &JobOutcome) -> io::Result<Utf8PathBuf> {
    crate::atomic::write(&staging.path("report.md"), report_md(outcome).as_bytes())?;
    crate::atomic::write(
        &staging.path("transcript.md"),
        transcript_md(outcome).as_bytes(),
    )?;
    write_json(&staging.path("messages.json"), &messages_record(outcome))?;
    // Last: a folder with a job.json is a finished one.
    write_json(&staging.path("job.json"), &job_record(outcome))?;
    staging.commit()
}

/// Writes `OUT/run.json`.
pub fn write_run_json(out_root: &Utf8Path, summary: &RunSummary) -> io::Result<()> {
    write_json(&out_root.join("run.json"), summary)
}

fn write_json(path: &Utf8Path, value: &impl Serialize) -> io::Result<()> {
    crate::atomic::write_with(path, |file| {
        let mut w = BufWriter::new(file);
        serde_json::to_writer_pretty(&mut w, value)?;
        w.write_all(b"\n")?;
        w.flush()
    })
}

// ---------------------------------------------------------------------------------------
// job.json and messages.json

/// The content of `job.json` (CONTRACT.md "Output tree").
pub fn job_json(outcome: &JobOutcome) -> Value {
    // Cannot fail: every map in the record has string keys.
    serde_json::to_value(job_record(outcome)).unwrap_or_default()
}

/// `job.json`, field by field in the order people read it: status first.
#[derive(Serialize)]
struct JobRecord<'a> {
    job_json_version: u32,
    status: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<ErrorRecord<'a>>,
    id: &'a str,
    manifest: &'a Utf8Path,
    job: &'a str,
    fingerprint: &'a str,
    model: &'a str,
    tool: &'a str,
    api_version: &'a str,
    settings: &'a RequestSettings,
    request: &'a Value,
    system: &'a str,
    turns: &'a [String],
    inputs: &'a [AttachedInput],
    outputs: Vec<OutputRecord<'a>>,
    requests: Vec<RequestRecord<'a>>,
    usage: Usage,
    container_id: Option<&'a str>,
    started_at: jiff::Timestamp,
    finished_at: jiff::Timestamp,
    runner_version: &'static str,
}

/// Like [`JobError`], but `request_id` is always present (null when unknown), so scripts
/// see the same keys in every failed job.
#[derive(Serialize)]
struct ErrorRecord<'a> {
    kind: ErrorKind,
    message: &'a str,
    request_id: Option<&'a str>,
}

#[derive(Serialize)]
struct OutputRecord<'a> {
    name: &'a str,
    path: &'a str,
    file_id: &'a str,
    size: u64,
    blake3: &'a str,
    original_name: Option<&'a str>,
    mime_type: Option<&'a str>,
}

#[derive(Serialize)]
struct RequestRecord<'a> {
    request_id: Option<&'a str>,
    turn: usize,
    continuation: u32,
    stop_reason: Option<&'a str>,
    usage: Usage,
}

fn job_record(outcome: &JobOutcome) -> JobRecord<'_> {
    let job = &outcome.job;
    JobRecord {
        job_json_version: JOB_JSON_VERSION,
        status: if outcome.succeeded() {
            "succeeded"
        } else {
            "failed"
        },
        error: outcome.error.as_ref().map(error_record),
        id: &job.id,
        manifest: &job.manifest,
        job: &job.name,
        fingerprint: &job.fingerprint,
        model: &job.settings.model,
        tool: &job.settings.tool,
        api_version: &job.settings.api_version,
        settings: &job.settings,
        request: &outcome.request,
        system: &job.system,
        turns: &job.turns,
        inputs: &outcome.inputs,
        outputs: outcome.outputs.iter().map(output_record).collect(),
        requests: outcome.exchanges.iter().map(request_record).collect(),
        usage: outcome.usage(),
        container_id: outcome.container_id.as_deref(),
        started_at: outcome.started_at,
        finished_at: outcome.finished_at,
        runner_version: env!("CARGO_PKG_VERSION"),
    }
}

fn error_record(e: &JobError) -> ErrorRecord<'_> {
    ErrorRecord {
        kind: e.kind,
        message: &e.message,
        request_id: e.request_id.as_deref(),
    }
}

fn output_record(f: &OutputFile) -> OutputRecord<'_> {
    OutputRecord {
        name: &f.name,
        path: &f.path,
        file_id: &f.file_id,
        size: f.size,
        blake3: &f.blake3,
        original_name: f.original_name.as_deref(),
        mime_type: f.mime_type.as_deref(),
    }
}

fn request_record(e: &Exchange) -> RequestRecord<'_> {
    RequestRecord {
        request_id: e.request_id.as_deref(),
        turn: e.turn,
        continuation: e.continuation,
        stop_reason: e.stop_reason.as_deref(),
        usage: e.usage,
    }
}

#[derive(Serialize)]
struct MessagesRecord<'a> {
    request: &'a Value,
    messages: &'a [Value],
    responses: Vec<&'a Value>,
}

fn messages_record(outcome: &JobOutcome) -> MessagesRecord<'_> {
    MessagesRecord {
        request: &outcome.request,
        messages: &outcome.messages,
        responses: outcome.exchanges.iter().map(|e| &e.response).collect(),
    }
}

// ---------------------------------------------------------------------------------------
// report.md

/// The assistant's text, turn by turn, then the generated files, then the error if any.
pub fn report_md(outcome: &JobOutcome) -> String {
    let mut out = format!("# {}\n\n", inline(&outcome.job.id));
    out.push_str(&status_line(outcome));
    for turn in 0..turn_count(outcome) {
        out.push_str(&report_turn(outcome, turn));
    }
    out.push_str(&files_section(&outcome.outputs));
    if let Some(e) = &outcome.error {
        out.push_str(&error_section(e));
    }
    out
}

fn status_line(outcome: &JobOutcome) -> String {
    let status = match &outcome.error {
        None => "succeeded".to_owned(),
        Some(e) => format!("failed: {}", inline(&e.message)),
    };
    format!(
        "**Status:** {status}  \n**Model:** {} · {}\n",
        code(&outcome.job.settings.model),
        code(&outcome.job.settings.tool)
    )
}

/// Turns asked for, or answered if the responses somehow name more.
fn turn_count(outcome: &JobOutcome) -> usize {
    let answered = outcome.exchanges.iter().map(|e| e.turn + 1).max();
    outcome.job.turns.len().max(answered.unwrap_or(0))
}

fn report_turn(outcome: &JobOutcome, turn: usize) -> String {
    let mut out = format!("\n## Turn {}\n\n", turn + 1);
    if let Some(prompt) = outcome.job.turns.get(turn) {
        out.push_str(&blockquote(prompt));
        out.push('\n');
    }
    let exchanges: Vec<&Exchange> = outcome
        .exchanges
        .iter()
        .filter(|e| e.turn == turn)
        .collect();
    let texts: Vec<&str> = exchanges
        .iter()
        .flat_map(|e| content_blocks(&e.response))
        .filter(|b| block_type(b) == "text")
        .filter_map(|b| b["text"].as_str())
        .filter(|t| !t.trim().is_empty())
        .collect();
    if exchanges.is_empty() {
        out.push_str("*No response: the job stopped before this turn.*\n");
    } else if texts.is_empty() {
        out.push_str("*No text in this turn.*\n");
    }
    for (i, text) in texts.iter().enumerate() {
        if i > 0 {
            out.push('\n');
        }
        out.push_str(text.trim_matches('\n'));
        out.push('\n');
    }
    out
}

fn blockquote(text: &str) -> String {
    let mut out = String::new();
    for line in text.trim_end().lines() {
        if line.is_empty() {
            out.push_str(">\n");
        } else {
            out.push_str(&format!("> {line}\n"));
        }
    }
    if out.is_empty() {
        out.push_str(">\n");
    }
    out
}

fn files_section(outputs: &[OutputFile]) -> String {
    let mut out = "\n## Files\n\n".to_owned();
    if outputs.is_empty() {
        out.push_str("*No files were generated.*\n");
        return out;
    }
    let mut previous_was_item = false;
    for file in outputs {
        let target = link_target(&file.path);
        let label = inline(&file.name);
        if is_image(file) {
            // Images are paragraphs of their own, so they render inline and full width.
            if previous_was_item {
                out.push('\n');
            }
            out.push_str(&format!("![{label}]({target})\n\n"));
            previous_was_item = false;
        } else {
            let size = human_size(file.size);
            out.push_str(&format!("- [{label}]({target}) ({size})\n"));
            previous_was_item = true;
        }
    }
    while out.ends_with("\n\n") {
        out.pop();
    }
    out
}

const IMAGE_EXTENSIONS: [&str; 6] = ["png", "jpg", "jpeg", "gif", "webp", "svg"];

fn is_image(file: &OutputFile) -> bool {
    let by_mime = file
        .mime_type
        .as_deref()
        .is_some_and(|m| m.starts_with("image/"));
    let by_ext = file.name.rsplit_once('.').is_some_and(|(_, ext)| {
        IMAGE_EXTENSIONS
            .iter()
            .any(|known| ext.eq_ignore_ascii_case(known))
    });
    by_mime || by_ext
}

fn error_section(e: &JobError) -> String {
    let mut out = format!("\n## Error\n\n- Kind: {}\n", code(&kind_str(e.kind)));
    if let Some(id) = &e.request_id {
        out.push_str(&format!("- Request id: {}\n", code(id)));
    }
    out.push('\n');
    out.push_str(&fence("text", &e.message));
    out
}

fn kind_str(kind: ErrorKind) -> String {
    match serde_json::to_value(kind) {
        Ok(Value::String(s)) => s,
        _ => format!("{kind:?}"),
    }
}

// ---------------------------------------------------------------------------------------
// transcript.md

/// A content block and the request it came in.
#[derive(Clone, Copy)]
struct Located<'a> {
    block: &'a Value,
    turn: usize,
    continuation: u32,
}

/// Every code execution in order, each with its result (found by `tool_use_id`, which may
/// arrive in a later `pause_turn` continuation than the call).
pub fn transcript_md(outcome: &JobOutcome) -> String {
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
            "text" | "thinking" | "redacted_thinking" | "container_upload" => continue,
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

/// `bash_code_execution_tool_result`, `code_execution_tool_result`, … and the results of
/// other server tools, which pair with their calls the same way.
fn is_result_type(t: &str) -> bool {
    t.ends_with("_tool_result")
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
        _ if t.ends_with("_tool_result_error") || content.get("error_code").is_some() => {
            render_tool_error(content)
        }
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

fn stream(label: &str, text: &Value) -> String {
    match text.as_str() {
        Some(t) if !t.is_empty() => format!("\n**{label}:**\n\n{}", fence("text", t)),
        _ => String::new(),
    }
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

// ---------------------------------------------------------------------------------------
// Reading raw responses, and Markdown helpers

fn content_blocks(response: &Value) -> impl Iterator<Item = &Value> {
    response["content"].as_array().into_iter().flatten()
}

fn block_type(block: &Value) -> &str {
    block["type"].as_str().unwrap_or("")
}

/// A fenced code block that `body` cannot close early: the fence is longer than any run
/// of backticks inside it.
fn fence(lang: &str, body: &str) -> String {
    let body = visible(body);
    let ticks = "`".repeat(longest_run(&body, '`').max(2) + 1);
    let newline = if body.is_empty() || body.ends_with('\n') {
        ""
    } else {
        "\n"
    };
    format!("{ticks}{lang}\n{body}{newline}{ticks}\n")
}

fn json_fence(value: &Value) -> String {
    let text = serde_json::to_string_pretty(value).unwrap_or_else(|_| value.to_string());
    fence("json", &text)
}

/// Shows control characters (other than newline and tab) as Unicode control pictures:
/// program output may carry terminal escapes, which must not act on whoever `cat`s the file.
fn visible(text: &str) -> String {
    text.replace("\r\n", "\n")
        .chars()
        .map(|c| match c {
            '\n' | '\t' => c,
            '\u{0}'..='\u{1f}' => char::from_u32(0x2400 + u32::from(c)).unwrap_or('\u{fffd}'),
            '\u{7f}' => '\u{2421}',
            _ => c,
        })
        .collect()
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
fn code(text: &str) -> String {
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
fn word_or_code(text: &str) -> String {
    let is_word = !text.is_empty() && text.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    if is_word { text.to_owned() } else { code(text) }
}

/// Plain text on one line, with Markdown's active characters escaped.
fn inline(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in visible(text).chars() {
        match c {
            '\n' | '\t' => out.push(' '),
            '\\' | '`' | '*' | '_' | '[' | ']' | '<' | '>' | '|' | '&' | '#' | '!' => {
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
fn link_target(path: &str) -> String {
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

fn human_size(bytes: u64) -> String {
    const UNITS: [&str; 4] = ["KiB", "MiB", "GiB", "TiB"];
    if bytes < 1024 {
        return format!("{bytes} B");
    }
    // Display only: the rounding of a u64 to f64 cannot matter at one decimal.
    let mut value = bytes as f64 / 1024.0;
    let mut unit = 0;
    while value >= 1024.0 && unit + 1 < UNITS.len() {
        value /= 1024.0;
        unit += 1;
    }
    format!("{value:.1} {}", UNITS[unit])
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::outcome::{AttachedInput, ErrorKind, RunSummary};
    use crate::plan::{PlannedInput, PlannedJob};

    macro_rules! fixture {
        ($name:literal) => {
            serde_json::from_str::<Value>(include_str!(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/tests/fixtures/anthropic/",
                $name
            )))
            .unwrap()
        };
    }

    fn settings() -> RequestSettings {
        RequestSettings {
            model: "claude-opus-4-8".into(),
            max_tokens: 16_000,
            system: Some("You are a data analyst.".into()),
            api_version: "2026-10-21".into(),
            temperature: Some(0.2),
            top_p: None,
            top_k: None,
            thinking_budget_tokens: None,
            tool: "code_execution_20250825".into(),
            max_continuations: 20,
        }
    }

    fn input() -> PlannedInput {
        PlannedInput {
            path: "data/sales 2026.csv".into(),
            name: "sales 2026.csv".into(),
            size: 2048,
            blake3: "ab".repeat(32),
        }
    }

    fn exchange(turn: usize, continuation: u32, response: Value) -> Exchange {
        Exchange {
            turn,
            continuation,
            request_id: Some(format!("req_{turn}_{continuation}")),
            stop_reason: response["stop_reason"].as_str().map(str::to_owned),
            usage: Usage::from_wire(&response["usage"]),
            response,
        }
    }

    fn output(name: &str, file_id: &str, size: u64, mime: Option<&str>) -> OutputFile {
        OutputFile {
            name: name.into(),
            path: format!("files/{name}"),
            file_id: file_id.into(),
            size,
            blake3: "cd".repeat(32),
            original_name: None,
            mime_type: mime.map(str::to_owned),
        }
    }

    fn outcome(turns: &[&str], exchanges: Vec<Exchange>, outputs: Vec<OutputFile>) -> JobOutcome {
        let settings = settings();
        JobOutcome {
            job: PlannedJob {
                id: "sales/revenue".into(),
                manifest: "jobs/sales.yaml".into(),
                name: "revenue".into(),
                system: "You are a data analyst.\n\nSave every deliverable…".into(),
                turns: turns.iter().map(|t| (*t).to_owned()).collect(),
                inputs: vec![input()],
                fingerprint: "blake3:0123".into(),
                settings,
            },
            error: None,
            started_at: "2026-10-01T12:00:00Z".parse().unwrap(),
            finished_at: "2026-10-01T12:03:30Z".parse().unwrap(),
            request: json!({
                "model": "claude-opus-4-8",
                "max_tokens": 16000,
                "temperature": 0.2,
                "system": "You are a data analyst.",
                "tools": [{"type": "code_execution_20250825", "name": "code_execution"}],
            }),
            messages: vec![
                json!({"role": "user", "content": [{"type": "text", "text": "Plot"}]}),
                json!({"role": "assistant", "content": [{"type": "text", "text": "Done"}]}),
            ],
            exchanges,
            container_id: Some("container_011CPrQ5kZ8wTnM2sVb4HqXe".into()),
            inputs: vec![AttachedInput {
                input: input(),
                file_id: Some("file_011CNha8iCJcU1wXNR6q4V8w".into()),
            }],
            outputs,
        }
    }

    /// The end of a paused turn: the result of the paused call, with a file and output
    /// that itself contains a Markdown fence.
    fn continuation_response() -> Value {
        json!({
            "id": "msg_cont",
            "type": "message",
            "role": "assistant",
            "content": [
                {"type": "bash_code_execution_tool_result",
                 "tool_use_id": "srvtoolu_01Q2W3E4R5T6Y7U8I9O0P1A2",
                 "content": {"type": "bash_code_execution_result",
                             "stdout": "wrote summary\n```\nnot a fence end\n````\n",
                             "stderr": "warning: \u{1b}[31mred\u{1b}[0m\n",
                             "return_code": 0,
                             "content": [
                                {"type": "bash_code_execution_output", "file_id": "file_summary"},
                                {"type": "bash_code_execution_output", "file_id": "file_lost"}
                             ]}},
                {"type": "server_tool_use", "id": "srvtoolu_edit", "name": "text_editor_code_execution",
                 "input": {"command": "str_replace", "path": "/tmp/big_job.py",
                           "old_str": "DEBUG = True", "new_str": "DEBUG = False"}},
                {"type": "text_editor_code_execution_tool_result", "tool_use_id": "srvtoolu_edit",
                 "content": {"type": "text_editor_code_execution_str_replace_result",
                             "old_start": 3, "old_lines": 1, "new_start": 3, "new_lines": 1,
                             "lines": ["-DEBUG = True", "+DEBUG = False"]}},
                {"type": "text", "text": "The summary table is in **summary table (final).csv**."}
            ],
            "stop_reason": "end_turn",
            "usage": {"input_tokens": 6000, "output_tokens": 400,
                      "server_tool_use": {"code_execution_requests": 2}}
        })
    }

    fn succeeded() -> JobOutcome {
        outcome(
            &[
                "Plot monthly revenue from `sales 2026.csv`.\n\nKeep it short.",
                "Now run the full analysis.",
            ],
            vec![
                exchange(
                    0,
                    0,
                    fixture!("messages_response_code_execution_20250825.json"),
                ),
                exchange(1, 0, fixture!("messages_response_pause_turn.json")),
                exchange(1, 1, continuation_response()),
            ],
            vec![
                output(
                    "revenue_by_month.png",
                    "file_011CPrQ7uT3xYb8nWq2KfL9d",
                    48_213,
                    Some("image/png"),
                ),
                OutputFile {
                    original_name: Some("summary table (final).csv".into()),
                    ..output(
                        "summary table (final).csv",
                        "file_summary",
                        12_345,
                        Some("text/csv"),
                    )
                },
                output("chart [v2].svg", "file_svg", 900, None),
                output("notes.txt", "file_notes", 12, Some("text/plain")),
            ],
        )
    }

    fn failed() -> JobOutcome {
        let mut o = outcome(
            &["Try the slow analysis.", "Then print 1."],
            vec![
                exchange(0, 0, fixture!("messages_response_tool_errors.json")),
                exchange(
                    1,
                    0,
                    fixture!("messages_response_code_execution_20250522_legacy.json"),
                ),
            ],
            vec![output(
                "revenue_by_month.png",
                "file_011CPrQ7uT3xYb8nWq2KfL9d",
                48_213,
                Some("image/png"),
            )],
        );
        o.error = Some(JobError {
            kind: ErrorKind::Api,
            message: "overloaded_error: Overloaded (HTTP 529)\nafter 5 attempts".into(),
            request_id: Some("req_011CPz".into()),
        });
        o
    }

    /// Everything a hostile or broken server could send that is still valid JSON.
    fn odd() -> JobOutcome {
        let responses = vec![
            json!({"content": "not a list", "usage": null}),
            json!({"content": [
                {"type": "text", "text": 42},
                {"no_type": true},
                {"type": "mystery_block", "data": [1, 2]},
                {"type": "server_tool_use", "name": "bash_code_execution", "input": "echo hi"},
                {"type": "server_tool_use", "id": "srvtoolu_x", "name": 7, "input": {"command": ["ls"]}},
                {"type": "server_tool_use", "id": "srvtoolu_web", "name": "web_search", "input": {"query": "x"}},
                {"type": "web_search_tool_result", "tool_use_id": "srvtoolu_web", "content": [{"type": "web_search_result", "url": "https://example.com"}]},
                {"type": "server_tool_use", "id": "srvtoolu_bad", "name": "bash_code_execution", "input": {"command": "false"}},
                {"type": "bash_code_execution_tool_result", "tool_use_id": "srvtoolu_bad",
                 "content": {"type": "bash_code_execution_result", "stdout": null, "stderr": 5, "return_code": "1", "content": {"oops": 1}}},
                {"type": "code_execution_tool_result", "tool_use_id": "srvtoolu_nobody", "content": {"type": "code_execution_result", "stdout": "orphan\n", "return_code": 0}},
                {"type": "server_tool_use", "id": "srvtoolu_enc", "name": "code_execution", "input": {"code": "search()"}},
                {"type": "code_execution_tool_result", "tool_use_id": "srvtoolu_enc",
                 "content": {"type": "encrypted_code_execution_result", "encrypted_stdout": "EiQK…", "stderr": "", "return_code": 0, "content": []}},
                {"type": "server_tool_use", "id": "srvtoolu_view", "name": "text_editor_code_execution", "input": {"command": "view", "path": "/tmp/a.png", "view_range": [1, 5]}},
                {"type": "text_editor_code_execution_tool_result", "tool_use_id": "srvtoolu_view",
                 "content": {"type": "text_editor_code_execution_view_result", "file_type": "image", "content": "iVBOR…", "num_lines": null}},
                {"type": "server_tool_use", "id": "srvtoolu_new", "name": "text_editor_code_execution", "input": {"command": "create", "path": "/tmp/x.py", "file_text": "s = '```'\n"}},
                {"type": "text_editor_code_execution_tool_result", "tool_use_id": "srvtoolu_new",
                 "content": {"type": "text_editor_code_execution_create_result", "is_file_update": true}},
                {"type": "server_tool_use", "id": "srvtoolu_odd", "name": "bash_code_execution", "input": {"command": "x"}},
                {"type": "bash_code_execution_tool_result", "tool_use_id": "srvtoolu_odd", "content": {"type": "something_new", "x": 1}},
                {"type": "server_tool_use", "id": "srvtoolu_err", "name": "bash_code_execution", "input": {"command": "y"}},
                {"type": "bash_code_execution_tool_result", "tool_use_id": "srvtoolu_err", "content": {"error_code": {"nested": true}}},
                {"type": "server_tool_use", "id": "srvtoolu_cut", "name": "bash_code_execution", "input": {}},
                {"type": "tool_use", "id": "toolu_1", "name": "client_tool", "input": {}}
            ], "stop_reason": "max_tokens"}),
            Value::Null,
        ];
        let exchanges = responses
            .into_iter()
            .enumerate()
            .map(|(i, r)| exchange(0, u32::try_from(i).unwrap(), r))
            .collect();
        let mut o = outcome(&[""], exchanges, Vec::new());
        o.error = Some(JobError {
            kind: ErrorKind::MaxTokens,
            message: "the last turn ended with max_tokens".into(),
            request_id: None,
        });
        o.container_id = None;
        o.job.id = "odd/job_[1]*".into();
        o
    }

    #[test]
    fn report_of_a_successful_job() {
        insta::assert_snapshot!(report_md(&succeeded()));
    }

    #[test]
    fn transcript_of_a_successful_job() {
        insta::assert_snapshot!(transcript_md(&succeeded()));
    }

    #[test]
    fn report_of_a_failed_job() {
        insta::assert_snapshot!(report_md(&failed()));
    }

    #[test]
    fn transcript_with_tool_errors_and_legacy_results() {
        insta::assert_snapshot!(transcript_md(&failed()));
    }

    #[test]
    fn odd_responses_never_panic() {
        let o = odd();
        insta::assert_snapshot!("odd_report", report_md(&o));
        insta::assert_snapshot!("odd_transcript", transcript_md(&o));
        assert_eq!(job_json(&o)["status"], "failed");
    }

    #[test]
    fn transcript_of_a_job_that_never_answered() {
        let o = outcome(&["Hello"], Vec::new(), Vec::new());
        let t = transcript_md(&o);
        assert!(t.contains("*No code was executed.*"), "{t}");
        let r = report_md(&o);
        assert!(
            r.contains("*No response: the job stopped before this turn.*"),
            "{r}"
        );
        assert!(r.contains("*No files were generated.*"), "{r}");
    }

    #[test]
    fn paused_call_without_continuation_has_no_result() {
        let o = outcome(
            &["Go"],
            vec![exchange(
                0,
                0,
                fixture!("messages_response_pause_turn.json"),
            )],
            Vec::new(),
        );
        let t = transcript_md(&o);
        assert!(
            t.contains("*(no result: the turn was paused or cut off)*"),
            "{t}"
        );
    }

    #[test]
    fn job_json_has_every_contract_field() {
        let value = job_json(&failed());
        for key in [
            "job_json_version",
            "status",
            "error",
            "fingerprint",
            "manifest",
            "job",
            "id",
            "model",
            "tool",
            "api_version",
            "settings",
            "request",
            "system",
            "turns",
            "inputs",
            "outputs",
            "requests",
            "usage",
            "container_id",
            "started_at",
            "finished_at",
            "runner_version",
        ] {
            assert!(value.get(key).is_some(), "job.json lacks {key}: {value:#}");
        }
        assert_eq!(value["job_json_version"], 1);
        assert_eq!(value["status"], "failed");
        assert_eq!(
            value["error"],
            json!({"kind": "api", "message": "overloaded_error: Overloaded (HTTP 529)\nafter 5 attempts", "request_id": "req_011CPz"})
        );
        assert_eq!(value["model"], "claude-opus-4-8");
        assert_eq!(value["tool"], "code_execution_20250825");
        assert_eq!(value["api_version"], "2026-10-21");
        assert_eq!(value["request"]["temperature"], 0.2);
        assert_eq!(value["runner_version"], env!("CARGO_PKG_VERSION"));
        assert_eq!(value["started_at"], "2026-10-01T12:00:00Z");
        for key in ["path", "name", "blake3", "size", "file_id"] {
            assert!(value["inputs"][0].get(key).is_some(), "inputs lack {key}");
        }
        for key in [
            "name",
            "path",
            "file_id",
            "size",
            "blake3",
            "original_name",
            "mime_type",
        ] {
            assert!(value["outputs"][0].get(key).is_some(), "outputs lack {key}");
        }
        let requests = value["requests"].as_array().unwrap();
        assert_eq!(requests.len(), 2);
        for key in ["request_id", "turn", "continuation", "stop_reason", "usage"] {
            assert!(requests[0].get(key).is_some(), "requests lack {key}");
        }
        assert_eq!(requests[1]["turn"], 1);
        assert_eq!(value["usage"]["input_tokens"], 2048 + 1530);
        assert_eq!(value["container_id"], "container_011CPrQ5kZ8wTnM2sVb4HqXe");
    }

    #[test]
    fn job_json_of_a_success_has_no_error() {
        let value = job_json(&succeeded());
        assert_eq!(value["status"], "succeeded");
        assert!(value.get("error").is_none());
        assert_eq!(value["usage"]["code_execution_requests"], 2);
        assert_eq!(value["requests"][2]["continuation"], 1);
        assert_eq!(
            value["outputs"][1]["original_name"],
            "summary table (final).csv"
        );
        assert_eq!(value["outputs"][0]["original_name"], Value::Null);
    }

    fn tree(root: &Utf8Path) -> Vec<String> {
        let mut names: Vec<String> = walkdir::WalkDir::new(root)
            .min_depth(1)
            .into_iter()
            .map(|e| {
                let e = e.unwrap();
                let rel = e.path().strip_prefix(root).unwrap();
                rel.to_str().unwrap().replace('\\', "/")
            })
            .collect();
        names.sort();
        names
    }

    #[test]
    fn write_job_produces_exactly_the_job_folder() {
        let tmp = tempfile::tempdir().unwrap();
        let out = Utf8PathBuf::try_from(tmp.path().to_path_buf()).unwrap();
        let o = succeeded();
        let staging = Staging::new(&out, &o.job.id).unwrap();
        crate::atomic::write(&staging.files_dir().join("revenue_by_month.png"), b"png").unwrap();
        let dir = write_job(staging, &o).unwrap();

        assert_eq!(dir, out.join("sales/revenue"));
        assert_eq!(
            tree(&out),
            [
                "sales",
                "sales/revenue",
                "sales/revenue/files",
                "sales/revenue/files/revenue_by_month.png",
                "sales/revenue/job.json",
                "sales/revenue/messages.json",
                "sales/revenue/report.md",
                "sales/revenue/transcript.md"
            ]
        );

        let read = |name: &str| fs_err::read_to_string(dir.join(name)).unwrap();
        assert_eq!(read("report.md"), report_md(&o));
        assert_eq!(read("transcript.md"), transcript_md(&o));
        let job: Value = serde_json::from_str(&read("job.json")).unwrap();
        assert_eq!(job, job_json(&o));
        assert!(read("job.json").ends_with("}\n"));
        let messages: Value = serde_json::from_str(&read("messages.json")).unwrap();
        assert_eq!(messages["request"], o.request);
        assert_eq!(messages["messages"].as_array().unwrap().len(), 2);
        let responses = messages["responses"].as_array().unwrap();
        assert_eq!(responses.len(), 3);
        assert_eq!(responses[1]["stop_reason"], "pause_turn");
    }

    #[test]
    fn write_job_replaces_a_previous_run() {
        let tmp = tempfile::tempdir().unwrap();
        let out = Utf8PathBuf::try_from(tmp.path().to_path_buf()).unwrap();
        let o = failed();
        let first = Staging::new(&out, &o.job.id).unwrap();
        crate::atomic::write(&first.files_dir().join("stale.csv"), b"x").unwrap();
        write_job(first, &o).unwrap();
        let dir = write_job(Staging::new(&out, &o.job.id).unwrap(), &succeeded()).unwrap();
        assert!(!dir.join("files/stale.csv").exists());
        let job: Value =
            serde_json::from_str(&fs_err::read_to_string(dir.join("job.json")).unwrap()).unwrap();
        assert_eq!(job["status"], "succeeded");
    }

    #[test]
    fn run_json_is_pretty_with_a_trailing_newline() {
        let tmp = tempfile::tempdir().unwrap();
        let out = Utf8PathBuf::try_from(tmp.path().join("out")).unwrap();
        let summary = RunSummary {
            runner_version: "0.1.0".into(),
            started_at: "2026-10-01T12:00:00Z".parse().unwrap(),
            finished_at: "2026-10-01T12:05:00Z".parse().unwrap(),
            exit_code: 1,
            counts: crate::outcome::Counts::default(),
            uploads: crate::outcome::UploadStats::default(),
            usage: Usage::default(),
            jobs: Vec::new(),
        };
        write_run_json(&out, &summary).unwrap();
        let text = fs_err::read_to_string(out.join("run.json")).unwrap();
        assert!(text.starts_with("{\n  \""), "{text}");
        assert!(text.ends_with("}\n"));
        let value: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(value["exit_code"], 1);
    }

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
    }

    #[test]
    fn link_targets_are_escaped() {
        assert_eq!(
            link_target("files/summary table (final).csv"),
            "files/summary%20table%20%28final%29.csv"
        );
        assert_eq!(link_target("files/caf\u{e9}.png"), "files/caf%C3%A9.png");
        assert_eq!(inline("a_[b](c)*"), "a\\_\\[b\\](c)\\*");
    }

    #[test]
    fn sizes_read_well() {
        assert_eq!(human_size(0), "0 B");
        assert_eq!(human_size(1023), "1023 B");
        assert_eq!(human_size(12_345), "12.1 KiB");
        assert_eq!(human_size(5 * 1024 * 1024), "5.0 MiB");
    }
}

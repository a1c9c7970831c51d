//! The scripted "model". It cannot think: for the last user turn it
//! inventories the container (list files, write a script, run it, copy
//! inventory.csv and plot.png to $OUTPUT_DIR, view the CSV, summarise),
//! shaped by the turn's `@fake` directives.

use bytes::Bytes;
use serde_json::{Value, json};

use crate::checks::Thinking;
use crate::directives::{Directives, Stop, SubTool};
use crate::files::mime_for;
use crate::state::IdKind;

/// What the model sees of one request.
pub(crate) struct Turn<'a> {
    /// `code_execution_20250522`: legacy block shapes.
    pub legacy: bool,
    /// Container files: (name, size, blake3 hex), sorted by name.
    pub files: Vec<(String, u64, String)>,
    pub prompt_line: String,
    pub directives: &'a Directives,
    /// Continuations made so far (assistant messages after the last user one).
    pub continuation: u32,
    /// The unanswered call the previous (paused) response ended with.
    pub dangling: Option<(String, String)>,
    pub client_tool: Option<String>,
    pub stop_sequence: Option<String>,
    pub script_exists: bool,
    /// Up-front thinking, narration as thinking, and whether their text is returned.
    pub thinking: Thinking,
    /// The skills loaded in the container (docs/api.md §8.16).
    pub skills: Vec<crate::skills::Loaded>,
    /// The metrics file the system prompt asks for: written as a default output.
    pub metrics_file: Option<String>,
}

/// The hidden key carrying a thinking block's raw reasoning tokens (billed whatever the
/// `display`); `messages.rs` takes it out before the block is signed or sent.
pub(crate) const RAW_TOKENS: &str = "_fake_raw_tokens";

pub(crate) struct Generated {
    pub id: String,
    pub name: String,
    pub mime: String,
    pub bytes: Bytes,
}

pub(crate) struct Answer {
    pub content: Vec<Value>,
    pub stop_reason: &'static str,
    pub stop_sequence: Option<String>,
    pub stop_details: Value,
    pub generated: Vec<Generated>,
    /// Trailing `server_tool_use` without result: (id, name).
    pub dangling: Option<(String, String)>,
    /// Whether the turn wrote /tmp/inventory.py into the container.
    pub wrote_script: bool,
}

struct Builder<'a> {
    new_id: &'a mut dyn FnMut(IdKind) -> String,
    content: Vec<Value>,
    thinking: Thinking,
}

impl Builder<'_> {
    fn text(&mut self, text: &str) {
        self.content
            .push(json!({"type": "text", "text": text, "citations": null}));
    }

    /// A thinking block: its summary at `display: "summarized"`, "" when omitted; the
    /// signature is filled in once the response is complete.
    fn think(&mut self, summary: &str, raw_tokens: u64) {
        let text = if self.thinking.summarized {
            summary
        } else {
            ""
        };
        self.content.push(json!({
            "type": "thinking", "thinking": text, "signature": "", RAW_TOKENS: raw_tokens,
        }));
    }

    /// Text written between tool calls: a thinking block on the models that return
    /// their narration as thinking (docs/api.md §8.11), else a text block.
    fn narrate(&mut self, text: &str) {
        if self.thinking.narration {
            self.think(text, 16 + text.len() as u64);
        } else {
            self.text(text);
        }
    }

    /// A server tool call; returns its id for the result block.
    fn call(&mut self, name: &str, input: Value) -> String {
        let id = (self.new_id)(IdKind::ServerToolUse);
        self.content.push(json!({
            "type": "server_tool_use", "id": id, "name": name, "input": input,
            "caller": {"type": "direct"},
        }));
        id
    }

    fn result(&mut self, block_type: &str, id: &str, content: Value) {
        self.content
            .push(json!({"type": block_type, "tool_use_id": id, "content": content}));
    }

    fn bash_result(&mut self, id: &str, stdout: &str, file_ids: &[String]) {
        let outputs: Vec<Value> = file_ids
            .iter()
            .map(|f| json!({"type": "bash_code_execution_output", "file_id": f}))
            .collect();
        self.result(
            "bash_code_execution_tool_result",
            id,
            json!({"type": "bash_code_execution_result", "stdout": stdout, "stderr": "",
                   "return_code": 0, "content": outputs}),
        );
    }

    fn legacy_result(&mut self, id: &str, stdout: &str, file_ids: &[String], encrypted: bool) {
        let outputs: Vec<Value> = file_ids
            .iter()
            .map(|f| json!({"type": "code_execution_output", "file_id": f}))
            .collect();
        let content = if encrypted {
            // Opaque, like the real one; deterministic so reruns compare equal.
            let sealed = blake3::hash(stdout.as_bytes()).to_hex().to_string();
            json!({"type": "encrypted_code_execution_result", "encrypted_stdout": sealed,
                   "stderr": "", "return_code": 0, "content": outputs})
        } else {
            json!({"type": "code_execution_result", "stdout": stdout, "stderr": "",
                   "return_code": 0, "content": outputs})
        };
        self.result("code_execution_tool_result", id, content);
    }

    fn view_result(&mut self, id: &str, text: &str) {
        let lines = text.lines().count();
        self.result(
            "text_editor_code_execution_tool_result",
            id,
            json!({"type": "text_editor_code_execution_view_result", "file_type": "text",
                   "content": text, "num_lines": lines, "start_line": 1, "total_lines": lines}),
        );
    }

    /// The result of the call a paused response left open.
    fn resume(&mut self, id: &str, name: &str) {
        let stdout = "long step finished\n";
        match name {
            "code_execution" => self.legacy_result(id, stdout, &[], false),
            "text_editor_code_execution" => self.view_result(id, stdout),
            _ => self.bash_result(id, stdout, &[]),
        }
    }

    fn tool_error(&mut self, sub: SubTool, code: &str) {
        match sub {
            SubTool::Bash => {
                let command = match code {
                    "output_file_too_large" => "head -c 3G /dev/urandom > \"$OUTPUT_DIR/huge.bin\"",
                    "execution_time_exceeded" => "python /tmp/slow.py",
                    _ => "python /tmp/step.py",
                };
                let id = self.call("bash_code_execution", json!({"command": command}));
                self.result(
                    "bash_code_execution_tool_result",
                    &id,
                    json!({"type": "bash_code_execution_tool_result_error", "error_code": code}),
                );
            }
            SubTool::TextEditor => {
                let path = "/tmp/missing.txt";
                let id = self.call(
                    "text_editor_code_execution",
                    json!({"command": "view", "path": path}),
                );
                let message = match code {
                    "file_not_found" => format!("File not found: {path}"),
                    other => format!("Tool failed: {other}"),
                };
                self.result(
                    "text_editor_code_execution_tool_result",
                    &id,
                    json!({"type": "text_editor_code_execution_tool_result_error",
                           "error_code": code, "error_message": message}),
                );
            }
            SubTool::CodeExecution => {
                let id = self.call("code_execution", json!({"code": "print(1)"}));
                self.result(
                    "code_execution_tool_result",
                    &id,
                    json!({"type": "code_execution_tool_result_error", "error_code": code}),
                );
            }
        }
    }
}

pub(crate) fn answer(turn: &Turn<'_>, new_id: &mut dyn FnMut(IdKind) -> String) -> Answer {
    let mut b = Builder {
        new_id,
        content: Vec::new(),
        thinking: turn.thinking,
    };
    if turn.thinking.upfront {
        b.think(&plan(turn), 400);
    }
    if let Some((id, name)) = &turn.dangling {
        b.resume(id, name);
    }
    let d = turn.directives;
    let mut out = Answer {
        content: Vec::new(),
        stop_reason: "end_turn",
        stop_sequence: None,
        stop_details: Value::Null,
        generated: Vec::new(),
        dangling: None,
        wrote_script: false,
    };

    if let Some(pauses) = d.pause
        && turn.continuation < pauses
    {
        let step = turn.continuation + 1;
        b.narrate(&format!(
            "Running step {step} of {} of the long analysis.",
            pauses + 1
        ));
        let (name, input) = if turn.legacy {
            (
                "code_execution",
                json!({"code": format!("exec(open('/tmp/long_step_{step}.py').read())")}),
            )
        } else {
            (
                "bash_code_execution",
                json!({"command": format!("python /tmp/long_step_{step}.py")}),
            )
        };
        let id = b.call(name, input);
        out.dangling = Some((id, name.to_owned()));
        out.stop_reason = "pause_turn";
        out.content = b.content;
        return out;
    }

    let stop = d.stop.unwrap_or(Stop::EndTurn);
    if stop == Stop::Refusal {
        b.text("I can't help with this request.");
        out.stop_reason = "refusal";
        out.stop_details = json!({"type": "refusal", "category": null,
                                  "explanation": "The scripted model was told to refuse (@fake stop refusal)."});
        out.content = b.content;
        return out;
    }

    b.narrate("I'll inventory the files in the container, then write inventory.csv and a bar chart of their sizes.");
    let listing: String = turn
        .files
        .iter()
        .map(|(name, size, hash)| format!("{name}\t{size}\t{hash}\n"))
        .collect();
    let csv = inventory_csv(&turn.files);

    // (name, bytes) in $OUTPUT_DIR; explicit outputs replace same-named defaults.
    let mut planned: Vec<(String, Bytes)> = Vec::new();
    if !d.no_output {
        planned.push(("inventory.csv".to_owned(), Bytes::from(csv.clone())));
        let sizes: Vec<u64> = turn.files.iter().map(|f| f.1).collect();
        planned.push((
            "plot.png".to_owned(),
            Bytes::from(crate::png::bar_chart(&sizes)),
        ));
        if let Some(name) = &turn.metrics_file {
            planned.push((name.clone(), Bytes::from(metrics_json(&turn.files))));
        }
        // An office file per loaded Anthropic skill: default outputs too.
        planned.extend(crate::skills::outputs::office_files(
            &turn.skills,
            &turn.files,
        ));
    }
    for (name, size) in &d.outputs {
        planned.retain(|(n, _)| n != name);
        planned.push((name.clone(), synthetic_bytes(name, *size)));
    }
    for name in &d.images {
        planned.retain(|(n, _)| n != name);
        let sizes: Vec<u64> = turn.files.iter().map(|f| f.1).collect();
        planned.push((name.clone(), Bytes::from(crate::png::bar_chart(&sizes))));
    }
    planned.sort_by(|a, b| a.0.cmp(&b.0));
    for (name, bytes) in planned {
        out.generated.push(Generated {
            id: (b.new_id)(IdKind::File),
            mime: mime_for(&name).to_owned(),
            name,
            bytes,
        });
    }
    let file_ids: Vec<String> = out.generated.iter().map(|g| g.id.clone()).collect();
    let ls: String = out
        .generated
        .iter()
        .map(|g| format!("{}\n", g.name))
        .collect();

    if turn.legacy {
        let id = b.call("code_execution", json!({"code": LEGACY_LIST_CODE}));
        b.legacy_result(&id, &listing, &[], false);
        let id = b.call("code_execution", json!({"code": INVENTORY_PY}));
        b.legacy_result(&id, &ls, &file_ids, d.encrypted);
    } else {
        let id = b.call("bash_code_execution", json!({"command": LIST_COMMAND}));
        b.bash_result(&id, &listing, &[]);
        let id = b.call(
            "text_editor_code_execution",
            json!({"command": "create", "path": "/tmp/inventory.py", "file_text": INVENTORY_PY}),
        );
        b.result(
            "text_editor_code_execution_tool_result",
            &id,
            json!({"type": "text_editor_code_execution_create_result", "is_file_update": turn.script_exists}),
        );
        out.wrote_script = true;
        let command = if file_ids.is_empty() {
            "cd /tmp/outputs && python /tmp/inventory.py".to_owned()
        } else {
            "cd /tmp/outputs && python /tmp/inventory.py && cp -- * \"$OUTPUT_DIR/\" && ls \"$OUTPUT_DIR\"".to_owned()
        };
        let id = b.call("bash_code_execution", json!({"command": command}));
        b.bash_result(&id, &ls, &file_ids);
    }

    let view_input = json!({"command": "view", "path": "/tmp/outputs/inventory.csv"});
    if matches!(stop, Stop::MaxTokens) {
        // Cut off mid-turn: the last call never got its result.
        let (name, input) = if turn.legacy {
            (
                "code_execution",
                json!({"code": "print(open('/tmp/outputs/inventory.csv').read())"}),
            )
        } else {
            ("text_editor_code_execution", view_input)
        };
        let id = b.call(name, input);
        out.dangling = Some((id, name.to_owned()));
        out.stop_reason = "max_tokens";
        out.content = b.content;
        return out;
    }
    if !turn.legacy {
        let id = b.call("text_editor_code_execution", view_input);
        b.view_result(&id, &csv);
    }
    for (sub, code) in &d.tool_errors {
        b.tool_error(*sub, code);
    }

    let summary = summary(turn, &out.generated, &d.tool_errors);
    match stop {
        Stop::ToolUse => {
            b.narrate("I need the client tool to finish this.");
            let id = (b.new_id)(IdKind::ToolUse);
            let name = turn
                .client_tool
                .clone()
                .unwrap_or_else(|| "client_tool".to_owned());
            let names: Vec<&str> = turn.files.iter().map(|f| f.0.as_str()).collect();
            b.content
                .push(json!({"type": "tool_use", "id": id, "name": name,
                                  "input": {"files": names}, "caller": {"type": "direct"}}));
            out.stop_reason = "tool_use";
        }
        Stop::Sequence => {
            let cut = summary.find("\n\n").unwrap_or(summary.len());
            b.text(&summary[..cut]);
            out.stop_reason = "stop_sequence";
            out.stop_sequence = Some(
                turn.stop_sequence
                    .clone()
                    .unwrap_or_else(|| "\n\nEND".to_owned()),
            );
        }
        Stop::ContextWindowExceeded => {
            b.text("The inventory is complete; summarising the");
            out.stop_reason = "model_context_window_exceeded";
        }
        _ => b.text(&summary),
    }
    out.content = b.content;
    out
}

/// The summary of the up-front thinking.
fn plan(turn: &Turn<'_>) -> String {
    if turn.continuation > 0 {
        format!(
            "Continuing the paused analysis (continuation {}) where the last step left off.",
            turn.continuation
        )
    } else {
        format!(
            "The user asks: \"{}\". Plan: list the container's files, write and run an inventory script, then summarise its outputs.",
            turn.prompt_line
        )
    }
}

fn summary(turn: &Turn<'_>, generated: &[Generated], errors: &[(SubTool, String)]) -> String {
    let total: u64 = turn.files.iter().map(|f| f.1).sum();
    let mut s = format!(
        "Inventory of the container ({} file(s), {total} bytes) for:\n\n> {}\n\n| file | bytes | blake3 |\n|---|---:|---|\n",
        turn.files.len(),
        turn.prompt_line
    );
    for (name, size, hash) in &turn.files {
        s.push_str(&format!(
            "| {} | {size} | `{hash}` |\n",
            name.replace('|', "\\|")
        ));
    }
    if generated.is_empty() {
        s.push_str("\nNo output files were produced.");
    } else {
        let names: Vec<String> = generated
            .iter()
            .map(|g| format!("`{}`", g.name.escape_debug()))
            .collect();
        s.push_str(&format!("\nOutputs: {}.", names.join(", ")));
    }
    if let Some(line) = crate::skills::outputs::mention(&turn.skills) {
        s.push_str(&format!("\n\n{line}"));
    }
    if !errors.is_empty() {
        let codes: Vec<&str> = errors.iter().map(|e| e.1.as_str()).collect();
        s.push_str(&format!(
            "\n\nThe sandbox reported errors: {}.",
            codes.join(", ")
        ));
    }
    s
}

/// The metrics of an inventory: how many files, their total and largest size in bytes, so
/// a changed input changes a metric.
fn metrics_json(files: &[(String, u64, String)]) -> String {
    let total: u64 = files.iter().map(|f| f.1).sum();
    let largest = files.iter().map(|f| f.1).max().unwrap_or(0);
    format!(
        "{{\"files\": {}, \"bytes\": {total}, \"largest_bytes\": {largest}}}\n",
        files.len()
    )
}

fn inventory_csv(files: &[(String, u64, String)]) -> String {
    let mut csv = String::from("name,size,blake3\n");
    for (name, size, hash) in files {
        csv.push_str(&format!("{},{size},{hash}\n", csv_field(name)));
    }
    csv
}

fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_owned()
    }
}

/// Deterministic content of exactly `size` bytes: readable lines for text
/// types, pseudo-random bytes (blake3 XOF of the name) otherwise.
pub(crate) fn synthetic_bytes(name: &str, size: u64) -> Bytes {
    let Ok(len) = usize::try_from(size) else {
        return Bytes::new();
    };
    let mime = mime_for(name);
    let mut buf = vec![0u8; len];
    if mime.starts_with("text/") || mime == "application/json" {
        let mut filled = 0;
        let mut line_no = 1u64;
        while filled < len {
            let line = format!("line {line_no} of {}\n", name.escape_debug());
            let take = line.len().min(len - filled);
            buf[filled..filled + take].copy_from_slice(&line.as_bytes()[..take]);
            filled += take;
            line_no += 1;
        }
    } else {
        let mut hasher = blake3::Hasher::new();
        hasher.update(b"fake-anthropic output\0");
        hasher.update(name.as_bytes());
        hasher.finalize_xof().fill(&mut buf);
    }
    Bytes::from(buf)
}

const LIST_COMMAND: &str = "for f in *; do printf '%s\\t%s\\t%s\\n' \"$f\" \"$(stat -c %s -- \"$f\")\" \"$(b3sum --no-names -- \"$f\")\"; done";

const LEGACY_LIST_CODE: &str = "import os, hashlib\nfor f in sorted(os.listdir('.')):\n    data = open(f, 'rb').read()\n    print(f, len(data), hashlib.blake2b(data).hexdigest(), sep='\\t')\n";

const INVENTORY_PY: &str = "import csv, os, subprocess\nimport matplotlib\nmatplotlib.use('Agg')\nimport matplotlib.pyplot as plt\n\nsrc = os.environ.get('INPUT_DIR', '/mnt/user-data/uploads')\nrows = []\nfor name in sorted(os.listdir(src)):\n    path = os.path.join(src, name)\n    digest = subprocess.run(['b3sum', '--no-names', path], capture_output=True, text=True).stdout.strip()\n    rows.append((name, os.path.getsize(path), digest))\nwith open('inventory.csv', 'w', newline='') as out:\n    w = csv.writer(out)\n    w.writerow(['name', 'size', 'blake3'])\n    w.writerows(rows)\nplt.figure(figsize=(0.64, 0.48), dpi=100)\nplt.bar(range(len(rows)), [r[1] for r in rows])\nplt.savefig('plot.png')\n";

#[cfg(test)]
mod tests {
    use super::*;

    fn ids() -> impl FnMut(IdKind) -> String {
        let mut n = 0;
        move |_| {
            n += 1;
            format!("id{n}")
        }
    }

    fn turn(d: &Directives) -> Turn<'_> {
        Turn {
            legacy: false,
            files: vec![("a.csv".into(), 4, "h".into())],
            prompt_line: "hi".into(),
            directives: d,
            continuation: 0,
            dangling: None,
            client_tool: None,
            stop_sequence: None,
            script_exists: false,
            thinking: Thinking::default(),
            skills: Vec::new(),
            metrics_file: None,
        }
    }

    #[test]
    fn the_metrics_file_the_system_prompt_asks_for_is_written_from_the_inputs() {
        let d = Directives::default();
        let t = Turn {
            metrics_file: Some("metrics.json".into()),
            ..turn(&d)
        };
        let a = answer(&t, &mut ids());
        let m = a
            .generated
            .iter()
            .find(|g| g.name == "metrics.json")
            .unwrap();
        let v: Value = serde_json::from_slice(&m.bytes).unwrap();
        assert_eq!(v, json!({"files": 1, "bytes": 4, "largest_bytes": 4}));
    }

    #[test]
    fn explicit_outputs_replace_defaults_and_have_exact_sizes() {
        let d = Directives {
            outputs: vec![("inventory.csv".into(), 7), ("x.bin".into(), 1000)],
            ..Directives::default()
        };
        let a = answer(&turn(&d), &mut ids());
        let sizes: Vec<(&str, usize)> = a
            .generated
            .iter()
            .map(|g| (g.name.as_str(), g.bytes.len()))
            .collect();
        assert_eq!(sizes[0], ("inventory.csv", 7));
        assert_eq!(sizes[2], ("x.bin", 1000));
        assert_eq!(sizes[1].0, "plot.png");
    }

    #[test]
    fn pause_ends_with_an_unanswered_call() {
        let d = Directives {
            pause: Some(1),
            ..Directives::default()
        };
        let a = answer(&turn(&d), &mut ids());
        assert_eq!(a.stop_reason, "pause_turn");
        assert_eq!(a.content.last().unwrap()["type"], "server_tool_use");
        assert!(a.generated.is_empty());
    }

    #[test]
    fn thinking_models_begin_with_thinking_and_narrate_in_thinking() {
        let d = Directives::default();
        let mut t = turn(&d);
        t.thinking = Thinking {
            upfront: true,
            narration: true,
            summarized: false,
        };
        let a = answer(&t, &mut ids());
        assert_eq!(a.content[0]["type"], "thinking");
        assert_eq!(a.content[0]["thinking"], "");
        assert_eq!(a.content[1]["type"], "thinking");
        let texts: Vec<&Value> = a.content.iter().filter(|b| b["type"] == "text").collect();
        assert_eq!(texts.len(), 1, "only the final answer is text");
        assert_eq!(a.content.last().unwrap()["type"], "text");
    }
}

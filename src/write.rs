//! Stage 7: lays out a job's output folder from its [`JobOutcome`] and writes `run.json`.
//!
//! Renders `report.md` (the assistant's words and the files), `transcript.md` (every code
//! execution), `messages.json` (the raw conversation) and `job.json` (provenance and
//! status) into a [`Staging`] folder and commits it, `job.json` last since its status is
//! what a later run trusts. The responses are read as raw JSON sent by a server: any field
//! may be missing or of an odd type, and rendering must never panic on that. Generated
//! files are downloaded into `files/` by `collect.rs` before this runs.
//!
//! `transcript.rs` renders `transcript.md`; `markdown.rs` holds the escaping that keeps
//! server-sent text from breaking either document.

use std::io::{self, BufWriter, Write};

use camino::{Utf8Path, Utf8PathBuf};
use serde::Serialize;
use serde_json::Value;

use crate::outcome::{
    AttachedInput, ErrorKind, Exchange, JobError, JobOutcome, OutputFile, RunSummary, Usage,
};
use crate::outdir::Staging;
use crate::resolve::RequestSettings;

mod markdown;
#[cfg(test)]
mod test_outcomes;
mod transcript;

use markdown::{code, fence, human_size, inline, link_target, visible};
pub use transcript::transcript_md;

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
    if let Some(prompt) = outcome.job.turns.get(turn).filter(|p| !p.trim().is_empty()) {
        out.push_str(&blockquote(prompt));
        out.push('\n');
    }
    let exchanges: Vec<&Exchange> = outcome
        .exchanges
        .iter()
        .filter(|e| e.turn == turn)
        .collect();
    // The model's Markdown is kept as written, but not its terminal escapes.
    let texts: Vec<String> = exchanges
        .iter()
        .flat_map(|e| content_blocks(&e.response))
        .filter(|b| block_type(b) == "text")
        .filter_map(|b| b["text"].as_str())
        .filter(|t| !t.trim().is_empty())
        .map(visible)
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
// Reading raw responses

fn content_blocks(response: &Value) -> impl Iterator<Item = &Value> {
    response["content"].as_array().into_iter().flatten()
}

fn block_type(block: &Value) -> &str {
    block["type"].as_str().unwrap_or("")
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::test_outcomes::*;
    use super::*;
    use crate::outcome::RunSummary;

    #[test]
    fn report_of_a_successful_job() {
        insta::assert_snapshot!(report_md(&succeeded()));
    }

    #[test]
    fn report_of_a_failed_job() {
        insta::assert_snapshot!(report_md(&failed()));
    }

    #[test]
    fn odd_responses_never_panic() {
        let o = odd();
        insta::assert_snapshot!("odd_report", report_md(&o));
        assert_eq!(job_json(&o)["status"], "failed");
    }

    #[test]
    fn a_job_that_never_answered() {
        let r = report_md(&outcome(&["Hello"], Vec::new(), Vec::new()));
        assert!(
            r.contains("*No response: the job stopped before this turn.*"),
            "{r}"
        );
        assert!(r.contains("*No files were generated.*"), "{r}");
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
    fn property_any_responses_render_without_panic() {
        let mut rng = crate::test_json::Rng(0xD1CE_F00D_0BAD_CAFE);
        for case in 0..400 {
            let exchanges: Vec<Exchange> = (0..1 + rng.below(4))
                .map(|i| {
                    exchange(
                        rng.below(3),
                        u32::try_from(i).unwrap(),
                        crate::test_json::response(&mut rng),
                    )
                })
                .collect();
            let outputs = if rng.chance(2) {
                vec![output("plot.png", "file_1", 10, Some("image/png"))]
            } else {
                Vec::new()
            };
            let mut o = outcome(&["Plot", "More"], exchanges, outputs);
            if case % 3 == 0 {
                o.error = Some(JobError {
                    kind: ErrorKind::InvalidResponse,
                    message: "odd `response`\n\u{1b}[2J".into(),
                    request_id: None,
                });
            }
            let transcript = transcript_md(&o);
            assert!(transcript.starts_with("# Transcript: "));
            // Program output may hold terminal escapes; they never reach the documents raw.
            assert!(!transcript.contains('\u{1b}'));
            let report = report_md(&o);
            assert!(!report.contains('\u{1b}'));
            let job = job_json(&o);
            assert_eq!(
                job["status"],
                if case % 3 == 0 { "failed" } else { "succeeded" }
            );
            serde_json::to_string(&messages_record(&o)).unwrap();
        }
    }
}

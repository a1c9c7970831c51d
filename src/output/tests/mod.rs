//! Tests of the output documents, against hand-built outcomes (`fixtures.rs`).

mod ending;
mod explain;
mod fixtures;
mod real;
mod thinking;
mod transcript;

use camino::{Utf8Path, Utf8PathBuf};
use proptest::collection::vec;
use proptest::prelude::*;
use serde_json::{Value, json};

pub(crate) use fixtures::*;

use super::outcome::{JobError, JobOutcome, RunSummary};
use super::records::{job_json, messages_record};
use super::report::report_md;
use super::staging::Staging;
use super::transcript::transcript_md;
use super::{write_job, write_run_json};
use crate::api::messages::Usage;
use crate::status::ErrorKind;
use crate::testing::json::response;

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
fn write_job_produces_exactly_the_job_folder_page_included() {
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
            "sales/revenue/report.html",
            "sales/revenue/report.md",
            "sales/revenue/transcript.md"
        ]
    );
    // The page is in the folder when it lands, not added by a later step (a kill between
    // the two would leave a finished folder without it).
    let page = fs_err::read_to_string(dir.join("report.html")).unwrap();
    assert!(page.contains("revenue_by_month.png"), "{page}");

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
        run_id: "20261001T120000Z-0000".into(),
        runner_version: "0.1.0".into(),
        started_at: "2026-10-01T12:00:00Z".parse().unwrap(),
        finished_at: "2026-10-01T12:05:00Z".parse().unwrap(),
        exit_code: 1,
        counts: super::outcome::Counts::default(),
        uploads: super::outcome::UploadStats::default(),
        usage: Usage::default(),
        cost: super::outcome::RunCost {
            usd: 0.25,
            budget_usd: None,
        },
        jobs: Vec::new(),
        error: None,
        skipped: Vec::new(),
        notifications: Vec::new(),
        night: Default::default(),
    };
    write_run_json(&out, "run.json", &summary).unwrap();
    let text = fs_err::read_to_string(out.join("run.json")).unwrap();
    assert!(text.starts_with("{\n  \""), "{text}");
    assert!(text.ends_with("}\n"));
    let value: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(value["exit_code"], 1);
    assert_eq!(value["cost"]["usd"], 0.25);
    assert!(value["cost"].get("budget_usd").is_none());
}

/// One to four exchanges of any responses, the job's files, and whether it failed.
fn any_outcome() -> impl Strategy<Value = JobOutcome> {
    let exchanges = vec((0..3_usize, response()), 1..5);
    (exchanges, any::<bool>(), any::<bool>()).prop_map(|(exchanges, with_file, failed)| {
        let exchanges = exchanges
            .into_iter()
            .enumerate()
            .map(|(i, (turn, r))| exchange(turn, u32::try_from(i).unwrap_or(u32::MAX), r))
            .collect();
        let outputs = if with_file {
            vec![output("plot.png", "file_1", 10, Some("image/png"))]
        } else {
            Vec::new()
        };
        let mut o = outcome(&["Plot", "More"], exchanges, outputs);
        if failed {
            o.error = Some(JobError {
                kind: ErrorKind::InvalidResponse,
                message: "odd `response`\n\u{1b}[2J".into(),
                request_id: None,
                attempts: None,
            });
        }
        o
    })
}

const ESC: char = '\u{1b}';

proptest! {
    #![proptest_config(crate::testing::config(300))]

    #[test]
    fn property_any_responses_render_without_panic(o in any_outcome()) {
        let transcript = transcript_md(&o);
        prop_assert!(transcript.starts_with("# Transcript: "));
        // Program output may hold terminal escapes; they never reach the documents raw.
        prop_assert!(!transcript.contains(ESC), "raw ESC in the transcript");
        let report = report_md(&o);
        prop_assert!(!report.contains(ESC), "raw ESC in the report");
        let job = job_json(&o);
        let status = if o.error.is_some() { "failed" } else { "succeeded" };
        prop_assert_eq!(&job["status"], status);
        prop_assert!(serde_json::to_string(&messages_record(&o)).is_ok());
    }
}

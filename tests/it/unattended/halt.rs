//! Stopping new jobs: `--max-fail`, a key revoked mid-run, the spend limit; and the time
//! limit of one job's conversation.

use fake_anthropic::FakeServer;

use crate::harness::{CommandExt, Sandbox, manifest, stdout_json, summary_job};

/// Three jobs whose prompts all carry `directive`.
fn three_jobs(directive: &str) -> Sandbox {
    let sb = Sandbox::new();
    let jobs: String = ["a", "b", "c"]
        .iter()
        .map(|n| format!("  - name: {n}\n    prompt: \"Go {n}.\\n{directive}\"\n"))
        .collect();
    sb.file("m.yaml", manifest(&jobs));
    sb
}

fn statuses(summary: &serde_json::Value) -> Vec<(String, String)> {
    summary["jobs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|j| {
            (
                j["status"].as_str().unwrap().to_owned(),
                j["reason"].as_str().unwrap_or("").to_owned(),
            )
        })
        .collect()
}

fn count(lines: &[(String, String)], status: &str, reason: &str) -> usize {
    lines
        .iter()
        .filter(|(s, r)| s == status && r == reason)
        .count()
}

#[test]
fn max_fail_starts_no_new_job_after_n_failures() {
    let fake = FakeServer::start();
    let sb = three_jobs("@fake fail 400 invalid_request_error");
    let (code, summary) = sb.run_json(&fake, &["run", "m.yaml", "-j", "1", "--max-fail", "1"]);
    assert_eq!(code, Some(1), "not started is not success");
    let lines = statuses(&summary);
    assert_eq!(count(&lines, "failed", ""), 1, "{lines:?}");
    assert_eq!(count(&lines, "not_started", "max_fail"), 2, "{lines:?}");
    assert_eq!(summary["counts"]["not_started"], 2);
    assert_eq!(fake.stats().requests.get("messages"), Some(&1));
    let skipped = summary_job(&summary, "status", "not_started");
    assert_eq!(skipped["error"]["kind"], "not_started");
    assert!(
        !sb.root
            .join("out")
            .join(skipped["dir"].as_str().unwrap())
            .exists()
    );

    let fake = FakeServer::start();
    let sb = three_jobs("@fake fail 400 invalid_request_error");
    let (_, summary) = sb.run_json(&fake, &["run", "m.yaml", "-j", "1", "--max-fail", "2"]);
    let lines = statuses(&summary);
    assert_eq!(count(&lines, "failed", ""), 2, "{lines:?}");
    assert_eq!(count(&lines, "not_started", "max_fail"), 1, "{lines:?}");
}

#[test]
fn without_max_fail_every_job_runs() {
    let fake = FakeServer::start();
    let sb = three_jobs("@fake fail 400 invalid_request_error");
    let (code, summary) = sb.run_json(&fake, &["run", "m.yaml", "-j", "1"]);
    assert_eq!(code, Some(1));
    assert_eq!(count(&statuses(&summary), "failed", ""), 3);
}

#[test]
fn a_key_revoked_mid_run_stops_new_jobs_with_one_line_why() {
    let fake = FakeServer::start();
    let sb = three_jobs("@fake fail 401 authentication_error");
    let out = sb
        .cmd_against(&fake, ["run", "m.yaml", "-j", "1", "-q", "--json"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let summary: serde_json::Value = stdout_json(&out);
    let lines = statuses(&summary);
    assert_eq!(count(&lines, "failed", ""), 1, "{lines:?}");
    assert_eq!(count(&lines, "not_started", "auth"), 2, "{lines:?}");
    assert_eq!(
        fake.stats().requests.get("messages"),
        Some(&1),
        "the 401 is not retried"
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    let why: Vec<&str> = stderr
        .lines()
        .filter(|l| l.starts_with("stopped starting jobs"))
        .collect();
    assert_eq!(why.len(), 1, "{stderr}");
    assert!(why[0].contains("(2 not started)"), "{stderr}");
    assert!(why[0].contains("no longer accepts the key"), "{stderr}");
}

#[test]
fn the_spend_limit_mid_run_stops_new_jobs() {
    let fake = FakeServer::start();
    let sb = three_jobs("@fake fail 429 rate_limit_error enforced_spend_limit_reached");
    let (code, summary) = sb.run_json(&fake, &["run", "m.yaml", "-j", "1"]);
    assert_eq!(code, Some(1));
    let lines = statuses(&summary);
    assert_eq!(count(&lines, "failed", ""), 1, "{lines:?}");
    assert_eq!(count(&lines, "not_started", "spend_limit"), 2, "{lines:?}");
    let skipped = summary_job(&summary, "status", "not_started");
    assert!(
        skipped["error"]["message"]
            .as_str()
            .unwrap()
            .contains("spend limit"),
        "{skipped}"
    );
}

#[test]
fn a_conversation_past_its_timeout_fails_with_its_partial_transcript() {
    let fake = FakeServer::start();
    let sb = Sandbox::new();
    // Each response takes 400 ms and the turn pauses 10 times: far past 1 s.
    sb.file(
        "m.yaml",
        "version: 1\ndefaults:\n  model: claude-sonnet-4-6\n  timeout: 1s\njobs:\n  - name: slow\n    prompt: \"Slow.\\n@fake pause 10\\n@fake sleep 400\"\n  - name: quick\n    timeout: 1m\n    prompt: Quick.\n",
    );
    let (code, summary) = sb.run_json(&fake, &["run", "m.yaml"]);
    assert_eq!(code, Some(1));
    let slow = sb.read_json("out/m/slow/job.json");
    assert_eq!(slow["status"], "failed");
    assert_eq!(slow["error"]["kind"], "timeout");
    let kept = slow["requests"].as_array().unwrap().len();
    assert!((1..10).contains(&kept), "{kept} responses kept");
    let transcript = sb.read("out/m/slow/transcript.md");
    assert!(
        transcript.contains("python /tmp/long_step_1.py"),
        "partial transcript kept:\n{transcript}"
    );
    let report = sb.read("out/m/slow/report.md");
    assert!(report.contains("ran past its timeout (1.0s)"), "{report}");
    let quick = summary_job(&summary, "job", "quick");
    assert_eq!(quick["status"], "succeeded", "the job's own timeout wins");
}

#[test]
fn a_timeout_that_is_not_a_duration_is_a_manifest_error() {
    let sb = Sandbox::with_manifest("  - name: a\n    timeout: soon\n    prompt: x\n");
    let stderr = sb.cmd(["validate", "m.yaml"]).exit_stderr(2);
    assert!(
        stderr.contains("m.yaml:6:14: timeout `soon` is not a duration"),
        "{stderr}"
    );
}

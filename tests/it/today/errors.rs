//! The error codes of December 2026 (docs/api.md §4.5), each against the fake.

use std::time::Duration;

use fake_anthropic::{Endpoint, FakeServer, Fault};

use crate::harness::*;

fn fault(status: u16, error_type: &str, code: &str, retry_after: Option<f64>) -> Fault {
    Fault::Status {
        status,
        error_type: error_type.to_owned(),
        error_code: Some(code.to_owned()),
        retry_after,
        should_retry: None,
    }
}

#[test]
fn storage_not_ready_is_retried_after_a_minute() {
    let fake = FakeServer::start();
    let sb = Sandbox::with_manifest("  - name: j\n    prompt: go\n");
    fake.push_faults(
        Endpoint::Messages,
        [fault(503, "api_error", "storage_not_ready", None)],
    );
    // A minute, scaled by the tests' delay scale of 0.01: at least 0.6 s.
    sb.cmd_against(&fake, ["run", "m.yaml"]).assert().success();
    let log: Vec<_> = fake
        .log()
        .into_iter()
        .filter(|e| e.endpoint == Some(Endpoint::Messages))
        .collect();
    assert_eq!(log.len(), 2);
    assert_eq!(log[0].status, 503);
    let gap = log[1].at - log[0].answered_at.unwrap();
    assert!(gap >= Duration::from_millis(600), "retried after {gap:?}");
}

#[test]
fn ramp_limit_exceeded_honours_retry_after() {
    let fake = FakeServer::start();
    let sb = Sandbox::with_manifest("  - name: j\n    prompt: go\n");
    fake.push_faults(
        Endpoint::Messages,
        [fault(
            429,
            "rate_limit_error",
            "ramp_limit_exceeded",
            Some(0.3),
        )],
    );
    sb.cmd_against(&fake, ["run", "m.yaml"])
        .env("RUNNER_TEST_DELAY_SCALE", "1")
        .assert()
        .success();
    let log: Vec<_> = fake
        .log()
        .into_iter()
        .filter(|e| e.endpoint == Some(Endpoint::Messages))
        .collect();
    assert_eq!(log.len(), 2);
    let gap = log[1].at - log[0].answered_at.unwrap();
    assert!(gap >= Duration::from_millis(300), "retried after {gap:?}");
}

#[test]
fn contract_spend_limit_stops_the_run_like_the_other_spend_limit() {
    let fake = FakeServer::start();
    let sb = Sandbox::new();
    let jobs: String = ["a", "b", "c"]
        .iter()
        .map(|n| format!("  - name: {n}\n    prompt: \"Go {n}.\\n@fake fail 429 rate_limit_error contract_spend_limit_reached\"\n"))
        .collect();
    sb.file("m.yaml", manifest(&jobs));
    let (code, summary) = sb.run_json(&fake, &["run", "m.yaml", "-j", "1"]);
    assert_eq!(code, Some(1));
    let lines: Vec<(String, String)> = summary["jobs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|j| {
            (
                j["status"].as_str().unwrap().to_owned(),
                j["reason"].as_str().unwrap_or("").to_owned(),
            )
        })
        .collect();
    let not_started = lines
        .iter()
        .filter(|(s, r)| s == "not_started" && r == "spend_limit")
        .count();
    assert_eq!(not_started, 2, "{lines:?}");
    assert_eq!(
        fake.stats().requests.get("messages"),
        Some(&1),
        "never retried"
    );
}

#[test]
fn a_count_the_endpoint_refuses_leaves_the_job_without_an_estimate_and_the_plan_whole() {
    let fake = FakeServer::start();
    let sb = Sandbox::with_manifest("  - name: a\n    prompt: one\n  - name: b\n    prompt: two\n");
    fake.push_faults(
        Endpoint::CountTokens,
        [fault(
            400,
            "invalid_request_error",
            "available_tools_limit_exceeded",
            None,
        )],
    );
    let out = sb
        .cmd_against(&fake, ["plan", "--estimate", "m.yaml"])
        .output()
        .unwrap();
    assert_success(&out);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("cost unknown (the token count failed: "),
        "{text}"
    );
    assert!(
        text.contains("not counting the input files"),
        "the other job: {text}"
    );
    assert!(text.contains("(+ 1 job of unknown cost)"), "{text}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("warning: cannot estimate the cost of m/"),
        "{stderr}"
    );
    // No file block is ever counted: the endpoint refuses them.
    assert!(
        fake.messages_requests().is_empty(),
        "plan sends no Messages request"
    );
}

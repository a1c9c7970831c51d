//! `thinking`, `thinking_display`, `effort` and sampling, as sent and as refused.

use fake_anthropic::FakeServer;
use serde_json::{Value, json};

use crate::harness::*;

fn on(model: &str, settings: &str) -> Sandbox {
    let sb = Sandbox::new();
    sb.file(
        "m.yaml",
        format!("version: 1\njobs:\n  - name: a\n    model: {model}\n{settings}    prompt: hi\n"),
    );
    sb
}

/// The request parameters the fake received first.
fn sent(fake: &FakeServer) -> Value {
    fake.messages_requests().first().cloned().unwrap()
}

#[test]
fn a_model_that_thinks_by_default_is_asked_for_summarized_notes() {
    let fake = FakeServer::start();
    let sb = on("claude-sonnet-5-5", "");
    sb.cmd_against(&fake, ["run", "m.yaml"]).assert().success();
    let body = sent(&fake);
    assert_eq!(
        body["thinking"],
        json!({"type": "adaptive", "display": "summarized"})
    );
    assert!(
        body.get("output_config").is_none(),
        "no effort unless asked"
    );
    let record = sb.read_json("out/m/a/job.json");
    assert_eq!(record["request"]["thinking"], body["thinking"]);
}

#[test]
fn a_model_that_does_not_think_by_default_gets_no_thinking_field() {
    let fake = FakeServer::start();
    let sb = on("claude-haiku-4-5", "");
    sb.cmd_against(&fake, ["run", "m.yaml"]).assert().success();
    let body = sent(&fake);
    assert!(body.get("thinking").is_none(), "{body}");
}

#[test]
fn effort_and_thinking_modes_are_sent_as_written() {
    let fake = FakeServer::start();
    let sb = on(
        "claude-sonnet-5-5",
        "    thinking: between_tools\n    effort: medium\n",
    );
    sb.cmd_against(&fake, ["run", "m.yaml"]).assert().success();
    let body = sent(&fake);
    assert_eq!(body["thinking"], json!({"type": "between_tools"}));
    assert_eq!(body["output_config"], json!({"effort": "medium"}));

    let fake = FakeServer::start();
    let sb = on(
        "claude-opus-5-5",
        "    thinking_display: omitted\n    effort: xhigh\n",
    );
    sb.cmd_against(&fake, ["run", "m.yaml"]).assert().success();
    let body = sent(&fake);
    assert_eq!(
        body["thinking"],
        json!({"type": "adaptive", "display": "omitted"})
    );
    assert_eq!(body["output_config"], json!({"effort": "xhigh"}));
}

#[test]
fn a_changed_setting_reruns_the_job_and_an_unchanged_one_stays_fresh() {
    let fake = FakeServer::start();
    let sb = on("claude-sonnet-5-5", "    effort: low\n");
    sb.cmd_against(&fake, ["run", "m.yaml"]).assert().success();
    sb.cmd_against(&fake, ["run", "m.yaml"]).assert().success();
    assert_eq!(fake.messages_requests().len(), 1, "unchanged: fresh");
    sb.file(
        "m.yaml",
        "version: 1\njobs:\n  - name: a\n    model: claude-sonnet-5-5\n    effort: high\n    prompt: hi\n",
    );
    sb.cmd_against(&fake, ["run", "m.yaml"]).assert().success();
    assert_eq!(
        fake.messages_requests().len(),
        2,
        "a new effort is a new request"
    );
}

#[test]
fn settings_the_model_or_the_api_rejects_are_errors_with_their_position() {
    let sb = Sandbox::new();
    sb.file(
        "m.yaml",
        "version: 1\njobs:\n\
         \x20 - name: a\n    model: claude-sonnet-5-5\n    effort: extreme\n    prompt: hi\n\
         \x20 - name: b\n    model: claude-sonnet-5-5\n    thinking: adaptiv\n    prompt: hi\n\
         \x20 - name: c\n    model: claude-sonnet-5-5\n    thinking: between_tools\n    thinking_display: summarized\n    prompt: hi\n\
         \x20 - name: d\n    model: claude-haiku-5-5\n    thinking: disabled\n    effort: max\n    prompt: hi\n\
         \x20 - name: e\n    model: claude-sonnet-5-5\n    api_version: \"2023-06-01\"\n    temperature: 0.2\n    prompt: hi\n\
         \x20 - name: f\n    model: claude-haiku-4-5\n    thinking_display: omitted\n    prompt: hi\n",
    );
    let out = sb.cmd(["validate", "m.yaml"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    insta::assert_snapshot!(String::from_utf8_lossy(&out.stderr));
}

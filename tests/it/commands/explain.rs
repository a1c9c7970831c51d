//! `runner explain`: fresh, never ran, failed last time (also when the earlier success was
//! kept), and exactly which part of the fingerprint changed. No network: these run against a closed port, except the runs that
//! make the job.json files.

use fake_anthropic::{Endpoint, FakeServer, Fault};
use serde_json::{Value, json};

use crate::harness::{CommandExt, Sandbox};

fn explain_json(sb: &Sandbox, args: &[&str]) -> Vec<Value> {
    sb.cmd(["explain", "--json"].iter().chain(args))
        .success_json()
}

fn write_manifest(sb: &Sandbox, model: &str, prompt: &str, max_tokens: u32) {
    sb.file(
        "m.yaml",
        format!(
            "version: 1\ndefaults:\n  model: {model}\n  max_tokens: {max_tokens}\njobs:\n  - name: a\n    inputs: [d/a.csv, d/b.csv]\n    prompt: {prompt}\n  - name: b\n    prompt: other\n"
        ),
    );
}

/// `d/a.csv`, `d/b.csv` and the first manifest: job `a` reads both, `b` neither.
fn two_inputs_sandbox() -> Sandbox {
    let sb = Sandbox::new();
    sb.file("d/a.csv", "x\n1\n").file("d/b.csv", "y\n2\n");
    write_manifest(&sb, "claude-sonnet-4-6", "first", 16000);
    sb
}

#[test]
fn explain_names_each_changed_part() {
    let fake = FakeServer::start();
    let sb = two_inputs_sandbox();

    let before = explain_json(&sb, &["m.yaml"]);
    assert_eq!(before[0]["reason"], "never-ran");
    assert_eq!(before[0]["status"], "to-run");

    sb.cmd_against(&fake, ["run", "m.yaml"]).assert().success();
    let fresh = explain_json(&sb, &["m.yaml"]);
    assert!(fresh.iter().all(|e| e["status"] == "fresh"), "{fresh:?}");

    // One input, the prompt, the model and a setting change.
    sb.file("d/a.csv", "x\n1\n2\n");
    write_manifest(&sb, "claude-opus-4-8", "second", 8000);
    let changed = explain_json(&sb, &["m.yaml", "--only", "a"]);
    assert_eq!(changed.len(), 1, "--only selects");
    assert_eq!(changed[0]["reason"], "changed");
    let parts: Vec<(&str, Option<&str>)> = changed[0]["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| (c["part"].as_str().unwrap(), c["name"].as_str()))
        .collect();
    assert_eq!(
        parts,
        [
            ("setting", Some("max_tokens")),
            ("model", None),
            ("turn", None),
            ("input", Some("a.csv")),
        ],
        "b.csv is unchanged and not listed; the system text lists a.csv's size, yet only \
         the input is named (issue 23, item 9)"
    );
    let model = &changed[0]["changes"][1];
    assert_eq!(model["was"], "claude-sonnet-4-6");
    assert_eq!(model["now"], "claude-opus-4-8");

    let text = sb.cmd(["explain", "m.yaml"]).output().unwrap();
    let text = String::from_utf8(text.stdout).unwrap();
    insta::assert_snapshot!(text);
    assert!(
        text.contains("m/a  to run: changed since it last succeeded"),
        "{text}"
    );
    assert!(text.contains("input a.csv changed: blake3 "), "{text}");
    assert!(text.contains("prompt text changed"), "{text}");
    assert!(
        text.contains("m/b  to run"),
        "the model changed for b too: {text}"
    );
}

#[test]
fn explain_says_a_job_failed_last_time() {
    let fake = FakeServer::start();
    let sb = two_inputs_sandbox();
    fake.push_faults(Endpoint::Messages, [Fault::status(400)]);
    sb.cmd_against(&fake, ["run", "m.yaml", "-j", "1", "--only", "a"])
        .assert()
        .code(1);
    let e = explain_json(&sb, &["m.yaml"]);
    assert_eq!(e[0]["reason"], "failed-last-time");
    assert!(
        e[0]["detail"].as_str().unwrap().starts_with("api: "),
        "{}",
        e[0]
    );
    assert_eq!(e[0]["changes"], json!([]), "nothing changed since");
    assert_eq!(e[1]["reason"], "never-ran");
}

/// Issue 23, item 8: a night whose attempt failed, with the earlier success kept in the job
/// folder, is the first thing said, then what changed since that success.
#[test]
fn explain_says_the_last_run_failed_first_when_a_success_was_kept() {
    let fake = FakeServer::start();
    let sb = two_inputs_sandbox();
    sb.cmd_against(&fake, ["run", "m.yaml", "--only", "a"])
        .assert()
        .success();
    write_manifest(&sb, "claude-sonnet-4-6", "second", 16000);
    fake.push_faults(Endpoint::Messages, [Fault::status(400)]);
    sb.cmd_against(&fake, ["run", "m.yaml", "-j", "1", "--only", "a"])
        .assert()
        .code(1);
    let e = explain_json(&sb, &["m.yaml", "--only", "a"]);
    assert_eq!(e[0]["reason"], "failed-last-time", "{}", e[0]);
    assert_eq!(e[0]["last_run"]["status"], "failed");
    let attempt = e[0]["last_run"]["attempt"].as_str().unwrap();
    assert!(
        attempt.starts_with("runs/") && attempt.ends_with("/m/a"),
        "{attempt}"
    );
    assert!(
        e[0]["detail"].as_str().unwrap().starts_with("api: "),
        "{}",
        e[0]
    );
    assert_eq!(e[0]["changes"], json!([{"part": "turn", "turn": 1}]));

    let out = sb
        .cmd(["explain", "m.yaml", "--only", "a"])
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    let run_id = e[0]["last_run"]["run_id"].as_str().unwrap();
    let text = text.replace(run_id, "RUN");
    let first = text.lines().next().unwrap();
    assert!(
        first.starts_with("m/a  to run: failed last time (run RUN: api: "),
        "{text}"
    );
    assert!(
        first.ends_with("; the success before it is kept, and changed since"),
        "{text}"
    );
    assert_eq!(
        text.lines().nth(1),
        Some("    prompt text changed"),
        "{text}"
    );
}

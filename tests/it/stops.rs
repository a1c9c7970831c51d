//! How a turn's `stop_reason` ends a job (docs/output.md §2.2): a full context window has
//! its own kind and keeps the partial report; a refusal keeps the API's `stop_details`;
//! each request's `usage` is recorded as received.

use fake_anthropic::FakeServer;

use crate::harness::Sandbox;

fn sandbox(jobs: &str) -> Sandbox {
    let sb = Sandbox::new();
    sb.file("data/a.csv", "x,y\n1,2\n").file(
        "m.yaml",
        format!("version: 1\ndefaults:\n  model: claude-opus-5-5\njobs:\n{jobs}"),
    );
    sb
}

#[test]
fn a_full_context_window_fails_with_its_own_kind_and_keeps_what_was_done() {
    let fake = FakeServer::start();
    let sb = sandbox(
        "  - name: long\n    inputs: [data/a.csv]\n    prompt: \"Summarise.\\n@fake stop model_context_window_exceeded\"\n",
    );
    let (code, summary) = sb.run_json(&fake, &["run", "m.yaml"]);
    assert_eq!(code, Some(1), "{summary}");
    assert_eq!(
        summary["jobs"][0]["error"]["kind"],
        "context_window_exceeded"
    );
    let job = sb.read_json("out/m/long/job.json");
    assert_eq!(job["status"], "failed");
    assert_eq!(job["error"]["kind"], "context_window_exceeded");
    let message = job["error"]["message"].as_str().unwrap();
    assert!(
        message.contains("context window of `claude-opus-5-5`")
            && message.contains("split the job"),
        "{message}"
    );
    assert!(
        job["error"]["request_id"]
            .as_str()
            .unwrap()
            .starts_with("req_")
    );
    assert_eq!(
        job["requests"][0]["stop_reason"],
        "model_context_window_exceeded"
    );
    // Like max_tokens: the cut answer is in the report, the files it made are saved.
    let report = sb.read("out/m/long/report.md");
    assert!(report.contains("summarising the"), "{report}");
    assert!(
        report.contains("- Kind: `context_window_exceeded`"),
        "{report}"
    );
    assert!(sb.root.join("out/m/long/files/plot.png").is_file());
    assert!(
        sb.read("out/m/long/transcript.md")
            .contains("bash_code_execution")
    );
}

#[test]
fn a_refusal_records_its_stop_details() {
    let fake = FakeServer::start();
    let sb = sandbox("  - name: refused\n    prompt: \"@fake stop refusal\"\n");
    let (code, summary) = sb.run_json(&fake, &["run", "m.yaml"]);
    assert_eq!(code, Some(1), "{summary}");
    let job = sb.read_json("out/m/refused/job.json");
    assert_eq!(job["error"]["kind"], "refusal");
    let details = &job["requests"][0]["stop_details"];
    assert_eq!(details["type"], "refusal", "{details}");
    assert!(details["category"].is_null(), "{details}");
    let explanation = details["explanation"]
        .as_str()
        .unwrap()
        .trim_end_matches('.');
    let message = job["error"]["message"].as_str().unwrap();
    assert!(
        message.starts_with("the model refused turn 1: ") && message.contains(explanation),
        "{message}"
    );
    let report = sb.read("out/m/refused/report.md");
    assert!(report.contains(explanation), "{report}");
    assert!(report.contains("- Kind: `refusal`"), "{report}");
}

#[test]
fn each_request_keeps_its_usage_as_received() {
    let fake = FakeServer::start();
    let sb = sandbox("  - name: a\n    inputs: [data/a.csv]\n    prompt: Go.\n");
    let (code, summary) = sb.run_json(&fake, &["run", "m.yaml"]);
    assert_eq!(code, Some(0), "{summary}");
    let job = sb.read_json("out/m/a/job.json");
    let received = &sb.read_json("out/m/a/messages.json")["responses"][0]["usage"];
    let recorded = &job["requests"][0]["usage"];
    for (key, value) in received.as_object().unwrap() {
        assert_eq!(&recorded[key], value, "usage.{key}");
    }
    // The runner's own counter is added; the job's total keeps the counters only.
    assert_eq!(
        recorded["code_execution_requests"],
        received["server_tool_use"]["code_execution_requests"]
    );
    assert_eq!(recorded["inference_geo"], "global");
    assert!(
        job["usage"].get("inference_geo").is_none(),
        "{}",
        job["usage"]
    );
    assert_eq!(job["requests"][0].get("stop_details"), None);
}

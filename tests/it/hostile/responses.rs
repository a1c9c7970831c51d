//! Responses that break the rules: not JSON, the wrong shape, blocks nobody documented,
//! a result without its call, stop reasons a code-execution job cannot continue, absurd
//! numbers and enormous output. Each ends its job with a clear `job.json` or a degraded
//! success, never a panic, and messages.json keeps what was received.

use fake_anthropic::{Endpoint, FakeServer, Fault};
use serde_json::{Value, json};

use super::{assert_no_panic, manifest};
use crate::harness::Sandbox;

/// What the job should end as.
enum Expect {
    Failed {
        kind: &'static str,
        says: &'static str,
    },
    Succeeded {
        transcript_says: &'static str,
    },
}

fn message(content: Value, stop: Value) -> String {
    json!({"id": "msg_odd", "type": "message", "role": "assistant", "model": "m",
           "content": content, "stop_reason": stop, "stop_sequence": null,
           "usage": {"input_tokens": 1, "output_tokens": 1}})
    .to_string()
}

/// Runs one job whose first Messages response is `body`, and checks how it ended.
fn run_with(case: &str, prompt: &str, faults: Vec<(Endpoint, Fault)>, expect: &Expect) -> Sandbox {
    let fake = FakeServer::start();
    for (endpoint, fault) in faults {
        fake.push_faults(endpoint, [fault]);
    }
    let sb = Sandbox::new();
    let prompt = serde_json::to_string(prompt).unwrap();
    sb.file(
        "m.yaml",
        manifest(&format!("  - name: j\n    prompt: {prompt}\n")),
    );
    let out = sb.cmd_against(&fake, ["run", "m.yaml"]).output().unwrap();
    assert_no_panic(&out);
    let job = sb.read_json("out/m/j/job.json");
    match expect {
        Expect::Failed { kind, says } => {
            assert_eq!(out.status.code(), Some(1), "{case}");
            assert_eq!(job["error"]["kind"], *kind, "{case}: {job}");
            let message = job["error"]["message"].as_str().unwrap();
            assert!(message.contains(says), "{case}: {message}");
        }
        Expect::Succeeded { transcript_says } => {
            assert_eq!(out.status.code(), Some(0), "{case}: {job}");
            let transcript = sb.read("out/m/j/transcript.md");
            assert!(transcript.contains(transcript_says), "{case}: {transcript}");
        }
    }
    // Every job folder is complete, whatever happened.
    for doc in ["report.md", "transcript.md", "messages.json"] {
        assert!(sb.root.join("out/m/j").join(doc).is_file(), "{case}: {doc}");
    }
    sb
}

fn first_response(sb: &Sandbox) -> Value {
    sb.read_json("out/m/j/messages.json")["responses"][0].clone()
}

#[test]
fn each_malformed_messages_response_fails_its_job_and_is_kept_as_received() {
    let cases: Vec<(&str, String, Expect)> = vec![
        (
            "cut-off JSON",
            "{\"type\": \"message\", \"content\": [".to_owned(),
            Expect::Failed { kind: "invalid_response", says: "body is not JSON" },
        ),
        (
            "a proxy's HTML page",
            "<html><body>502 Bad Gateway</body></html>".to_owned(),
            Expect::Failed { kind: "invalid_response", says: "body is not JSON" },
        ),
        (
            "JSON that is not an object",
            "[1, 2, 3]".to_owned(),
            Expect::Failed { kind: "invalid_response", says: "expected a `message` object" },
        ),
        (
            "no content",
            json!({"id": "msg_1", "type": "message", "role": "assistant", "stop_reason": "end_turn"}).to_string(),
            Expect::Failed { kind: "invalid_response", says: "the message has no `content` list" },
        ),
        (
            "content of the wrong type",
            message(json!("just text"), json!("end_turn")),
            Expect::Failed { kind: "invalid_response", says: "the message has no `content` list" },
        ),
        (
            "no stop reason",
            message(json!([{"type": "text", "text": "hi"}]), json!(7)),
            Expect::Failed { kind: "unexpected_stop", says: "turn 1 stopped with `null`" },
        ),
    ];
    for (case, body, expect) in cases {
        let sb = run_with(
            case,
            "go",
            vec![(Endpoint::Messages, Fault::RawBody(body.clone()))],
            &expect,
        );
        // Kept exactly: as JSON when it was JSON, as text when it was not.
        let kept = first_response(&sb);
        let want = serde_json::from_str::<Value>(&body).unwrap_or(Value::String(body));
        assert_eq!(kept, want, "{case}");
    }
}

#[test]
fn a_tool_use_stop_fails_the_job_as_unexpected_stop() {
    let sb = run_with(
        "tool_use",
        "go\n@fake stop tool_use",
        Vec::new(),
        &Expect::Failed {
            kind: "unexpected_stop",
            says: "stopped with `tool_use`",
        },
    );
    let kept = first_response(&sb);
    assert_eq!(kept["stop_reason"], "tool_use");
    let last = kept["content"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(last["type"], "tool_use");
}

#[test]
fn unknown_blocks_and_orphan_results_degrade_but_succeed() {
    let unknown = message(
        json!([{"type": "text", "text": "hello"}, {"type": "hologram", "data": {"x": 1}}]),
        json!("end_turn"),
    );
    let sb = run_with(
        "unknown block",
        "go",
        vec![(Endpoint::Messages, Fault::RawBody(unknown.clone()))],
        &Expect::Succeeded {
            transcript_says: "hologram",
        },
    );
    assert_eq!(
        first_response(&sb),
        serde_json::from_str::<Value>(&unknown).unwrap()
    );

    let orphan = message(
        json!([{"type": "bash_code_execution_tool_result", "tool_use_id": "srvtoolu_ghost",
                "content": {"type": "bash_code_execution_result", "stdout": "ghost output\n",
                            "stderr": "", "return_code": 0, "content": []}}]),
        json!("end_turn"),
    );
    run_with(
        "result without its call",
        "go",
        vec![(Endpoint::Messages, Fault::RawBody(orphan))],
        &Expect::Succeeded {
            transcript_says: "ghost output",
        },
    );
}

#[test]
fn a_result_naming_a_file_that_does_not_exist_fails_the_download() {
    let ghost = message(
        json!([{"type": "bash_code_execution_tool_result", "tool_use_id": "srvtoolu_ghost",
                "content": {"type": "bash_code_execution_result", "stdout": "", "stderr": "",
                            "return_code": 0,
                            "content": [{"type": "bash_code_execution_output", "file_id": "file_ghost"}]}}]),
        json!("end_turn"),
    );
    run_with(
        "ghost file",
        "go",
        vec![(Endpoint::Messages, Fault::RawBody(ghost))],
        &Expect::Failed {
            kind: "download",
            says: "generated file file_ghost: GET /v1/files/{id}: HTTP 404",
        },
    );
}

#[test]
fn file_metadata_without_its_fields_fails_the_download_clearly() {
    run_with(
        "metadata without fields",
        "go",
        vec![
            // The check before the run, then the listing of the generated files.
            (Endpoint::ListFiles, Fault::Delay(std::time::Duration::ZERO)),
            (
                Endpoint::ListFiles,
                Fault::RawBody("{\"data\": [{\"type\": \"file\"}]}".into()),
            ),
        ],
        &Expect::Failed {
            kind: "download",
            says: "unexpected response: missing field `id`",
        },
    );
}

#[test]
fn absurd_usage_numbers_do_not_overflow() {
    let huge = |stop: &str| {
        json!({"id": "msg_1", "type": "message", "role": "assistant", "model": "m",
               "content": [{"type": "text", "text": "hi"}], "stop_reason": stop,
               "usage": {"input_tokens": u64::MAX, "output_tokens": u64::MAX}})
        .to_string()
    };
    let sb = run_with(
        "huge usage",
        "go",
        vec![
            (Endpoint::Messages, Fault::RawBody(huge("pause_turn"))),
            (Endpoint::Messages, Fault::RawBody(huge("end_turn"))),
        ],
        &Expect::Succeeded {
            transcript_says: "No code was executed",
        },
    );
    let job = sb.read_json("out/m/j/job.json");
    assert_eq!(job["usage"]["input_tokens"], u64::MAX);
}

#[test]
fn enormous_stdout_is_cut_in_the_transcript_and_kept_whole_in_messages_json() {
    let stdout = "0123456789abcdef".repeat(1 << 20); // 16 MiB
    let body = message(
        json!([{"type": "server_tool_use", "id": "srvtoolu_1", "name": "bash_code_execution",
                "input": {"command": "yes"}},
               {"type": "bash_code_execution_tool_result", "tool_use_id": "srvtoolu_1",
                "content": {"type": "bash_code_execution_result", "stdout": stdout,
                            "stderr": "", "return_code": 0, "content": []}}]),
        json!("end_turn"),
    );
    let sb = run_with(
        "enormous stdout",
        "go",
        vec![(Endpoint::Messages, Fault::RawBody(body))],
        &Expect::Succeeded {
            transcript_says: "*(the first 64.0 KiB of 16.0 MiB; messages.json has all of it)*",
        },
    );
    let transcript = std::fs::metadata(sb.root.join("out/m/j/transcript.md")).unwrap();
    assert!(transcript.len() < 100_000, "{}", transcript.len());
    let kept = first_response(&sb);
    assert_eq!(
        kept["content"][1]["content"]["stdout"]
            .as_str()
            .map(str::len),
        Some(stdout.len())
    );
}

//! The prompt cache shared across jobs (docs/api.md §3.11): what every job of a manifest
//! shares (tools, system) comes first with a breakpoint after it, what is a job's own (its
//! files, its deliverables) comes after, in its first user message; one job writes the
//! shared prefix and the others read it.

use fake_anthropic::FakeServer;
use serde_json::{Value, json};

use crate::harness::{Sandbox, manifest};

const JOBS: &str = concat!(
    "  - name: a\n    inputs: [data/a.csv]\n    prompt: Plot it.\n",
    "  - name: b\n    inputs: [data/b.csv]\n    prompt: \"Plot it.\\n@fake output summary.md 300\"\n    expect: [summary.md]\n",
    "  - name: c\n    inputs: [data/c.csv]\n    prompt: Plot it.\n",
);

fn sandbox() -> Sandbox {
    let sb = Sandbox::new();
    sb.file("data/a.csv", "a\n1\n")
        .file("data/b.csv", "b\n22\n")
        .file("data/c.csv", "c\n333\n")
        .file(
            "m.yaml",
            manifest(JOBS).replace(
                "defaults:\n",
                "defaults:\n  system: You are a careful analyst.\n",
            ),
        );
    sb
}

fn first_requests(fake: &FakeServer) -> Vec<Value> {
    fake.messages_requests()
        .into_iter()
        .filter(|b| b["messages"].as_array().is_some_and(|m| m.len() == 1))
        .collect()
}

fn n(v: &Value) -> u64 {
    v.as_u64().unwrap_or(0)
}

#[test]
fn jobs_of_a_manifest_send_one_system_prefix_and_read_what_the_first_wrote() {
    let fake = FakeServer::start();
    let sb = sandbox();
    sb.cmd_against(&fake, ["run", "m.yaml", "-j", "3"])
        .assert()
        .success();
    let firsts = first_requests(&fake);
    assert_eq!(firsts.len(), 3);
    // The same system for every job, with the breakpoint after it; no file names in it.
    let system = &firsts[0]["system"];
    assert_eq!(system[0]["cache_control"], json!({"type": "ephemeral"}));
    let text = system[0]["text"].as_str().unwrap();
    assert!(text.starts_with("You are a careful analyst."), "{text}");
    assert!(
        !text.contains("a.csv"),
        "the file list is a job's own: {text}"
    );
    for body in &firsts {
        assert_eq!(&body["system"], system, "byte-identical for every job");
        assert_eq!(
            body["cache_control"],
            json!({"type": "ephemeral"}),
            "and the conversation's own"
        );
        // The first user message: the job's files (and deliverables), the prompt, the uploads.
        let content = body["messages"][0]["content"].as_array().unwrap();
        let note = content[0]["text"].as_str().unwrap();
        assert!(note.starts_with("These files are attached"), "{note}");
        assert!(content[1]["text"].as_str().unwrap().starts_with("Plot it."));
        assert_eq!(content[2]["type"], "container_upload");
    }
    let note_of = |job: &str| {
        firsts
            .iter()
            .map(|b| {
                b["messages"][0]["content"][0]["text"]
                    .as_str()
                    .unwrap()
                    .to_owned()
            })
            .find(|t| t.contains(&format!("- {job}.csv")))
            .unwrap()
    };
    assert!(
        note_of("b").contains("`summary.md`"),
        "b's deliverables are in its own message"
    );
    assert!(!note_of("a").contains("summary.md"));

    // One job wrote the shared prefix; the other two read it on their first request.
    let usage: Vec<Value> = ["a", "b", "c"]
        .iter()
        .map(|j| sb.read_json(&format!("out/m/{j}/job.json"))["requests"][0]["usage"].clone())
        .collect();
    let readers = usage
        .iter()
        .filter(|u| n(&u["cache_read_input_tokens"]) > 0)
        .count();
    assert_eq!(readers, 2, "{usage:?}");
    let writer = usage
        .iter()
        .find(|u| n(&u["cache_read_input_tokens"]) == 0)
        .unwrap();
    for u in usage
        .iter()
        .filter(|u| n(&u["cache_read_input_tokens"]) > 0)
    {
        assert!(
            n(&u["cache_creation_input_tokens"]) < n(&writer["cache_creation_input_tokens"]),
            "a reader writes only its own part: {u} vs {writer}"
        );
    }
}

#[test]
fn results_made_before_the_split_stay_fresh() {
    // The fingerprint covers the same text as before the system prompt was split at the
    // breakpoint: a job run once is fresh on the next run, and its job.json keeps the
    // whole text (manifest system, files, deliverables rule).
    let fake = FakeServer::start();
    let sb = sandbox();
    sb.cmd_against(&fake, ["run", "m.yaml"]).assert().success();
    let job = sb.read_json("out/m/a/job.json");
    let system = job["system"].as_str().unwrap();
    assert!(
        system.starts_with("You are a careful analyst.\n\nThese files are attached"),
        "{system}"
    );
    assert!(system.contains("- a.csv (4 bytes)"), "{system}");
    let (code, summary) = sb.run_json(&fake, &["run", "m.yaml"]);
    assert_eq!(code, Some(0));
    assert_eq!(summary["counts"]["fresh"], 3, "{summary}");
}

#[test]
fn with_cache_off_the_system_is_plain_text_without_a_breakpoint() {
    let fake = FakeServer::start();
    let sb = sandbox();
    let text = sb
        .read("m.yaml")
        .replace("defaults:\n", "defaults:\n  cache: \"off\"\n");
    sb.file("m.yaml", text);
    sb.cmd_against(&fake, ["run", "m.yaml", "-j", "3"])
        .assert()
        .success();
    for body in first_requests(&fake) {
        assert!(body["system"].is_string(), "{}", body["system"]);
        assert!(body.get("cache_control").is_none());
    }
}

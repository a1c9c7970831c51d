//! `expect` and `repair_turns` end to end against the fake: deliverables produced, produced
//! only after a repair turn, still missing, and judged by globs, `min` and `min_size`.

use fake_anthropic::{Endpoint, FakeServer, Fault};
use serde_json::Value;

use crate::harness::{Sandbox, assert_exit, manifest, stdout_json};

fn sandbox(jobs: &str) -> Sandbox {
    let sb = Sandbox::new();
    sb.file("data/a.csv", "x,y\n1,2\n")
        .file("m.yaml", manifest(jobs));
    sb
}

fn turns_of(job: &Value) -> Vec<u64> {
    job["requests"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["turn"].as_u64().unwrap())
        .collect()
}

#[test]
fn produced_deliverables_succeed_without_a_repair_turn() {
    let fake = FakeServer::start();
    let sb = sandbox(
        "  - name: a\n    inputs: [data/a.csv]\n    prompt: Plot it.\n    expect: [plot.png, \"*.csv\"]\n",
    );
    let (code, summary) = sb.run_json(&fake, &["run", "m.yaml"]);
    assert_eq!(code, Some(0), "{summary}");
    let stats = fake.stats();
    assert_eq!(stats.requests.get("messages"), Some(&1), "no repair turn");
    // The check before the run, then one listing of both generated files by the check;
    // the downloads reuse what it fetched.
    assert_eq!(
        (
            stats.requests.get("list_files"),
            stats.requests.get("get_file")
        ),
        (Some(&2), None),
        "each generated file's metadata is fetched once, by the check, not again to download"
    );
    let job = sb.read_json("out/m/a/job.json");
    assert_eq!(job["status"], "succeeded");
    assert!(
        job["system"]
            .as_str()
            .unwrap()
            .contains("- `plot.png`\n- at least 1 file matching `*.csv`"),
        "{}",
        job["system"]
    );
    assert_eq!(job["repair_turns"], serde_json::json!([]));
    assert_eq!(
        job["expect"],
        serde_json::json!([
            {"name": "plot.png", "min": 1, "min_size": null, "status": "satisfied", "files": ["plot.png"]},
            {"name": "*.csv", "min": 1, "min_size": null, "status": "satisfied", "files": ["inventory.csv"]},
        ])
    );
    let satisfies: Vec<(&str, &Value)> = job["outputs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| (o["name"].as_str().unwrap(), &o["satisfies"]))
        .collect();
    assert_eq!(
        satisfies,
        [
            ("inventory.csv", &serde_json::json!(["*.csv"])),
            ("plot.png", &serde_json::json!(["plot.png"])),
        ]
    );

    // Unchanged: fresh. A changed `expect` changes the fingerprint: the job runs again.
    let (_, summary) = sb.run_json(&fake, &["run", "m.yaml"]);
    assert_eq!(summary["counts"]["fresh"], 1);
    sb.file(
        "m.yaml",
        manifest(
            "  - name: a\n    inputs: [data/a.csv]\n    prompt: Plot it.\n    expect: [plot.png]\n",
        ),
    );
    let (code, summary) = sb.run_json(&fake, &["run", "m.yaml"]);
    assert_eq!(
        (code, &summary["counts"]["succeeded"]),
        (Some(0), &1.into())
    );
}

#[test]
fn a_missing_deliverable_gets_exactly_one_repair_turn_and_then_succeeds() {
    let fake = FakeServer::start();
    let sb = sandbox(
        "  - name: a\n    inputs: [data/a.csv]\n    prompt: \"Summarise.\\n@fake no-output\\n@fake turn 2 no-output\\n@fake turn 2 output summary.md 300\"\n    expect: [summary.md]\n",
    );
    let (code, summary) = sb.run_json(&fake, &["run", "m.yaml"]);
    assert_eq!(code, Some(0), "{summary}");
    let bodies = fake.messages_requests();
    assert_eq!(bodies.len(), 2, "the prompt, then one repair turn");
    let repair = &bodies[1];
    let first_container = sb.read_json("out/m/a/job.json")["container_id"].clone();
    assert_eq!(repair["container"], first_container, "same container");
    let last_user = repair["messages"].as_array().unwrap().last().unwrap();
    let text = last_user["content"][0]["text"].as_str().unwrap();
    assert!(
        text.starts_with("These deliverables are missing: `summary.md` (not produced).")
            && text.contains("$OUTPUT_DIR"),
        "{text}"
    );
    // The check before the run, then the check after the repair turn (the first turn made
    // nothing, so nothing was listed then).
    assert_eq!(fake.stats().requests.get("list_files"), Some(&2));
    assert_eq!(fake.stats().requests.get("get_file"), None);

    let job = sb.read_json("out/m/a/job.json");
    assert_eq!(job["status"], "succeeded");
    assert_eq!(turns_of(&job), [0, 1]);
    assert_eq!(job["repair_turns"].as_array().unwrap().len(), 1);
    assert_eq!(job["expect"][0]["status"], "satisfied");
    assert_eq!(
        job["outputs"][0]["satisfies"],
        serde_json::json!(["summary.md"])
    );
    assert_eq!(
        std::fs::read(sb.root.join("out/m/a/files/summary.md"))
            .unwrap()
            .len(),
        300
    );
    let report = sb.read("out/m/a/report.md");
    assert!(
        report.contains("## Turn 2\n\n> These deliverables are missing: `summary.md`"),
        "{report}"
    );
    let transcript = sb.read("out/m/a/transcript.md");
    assert!(transcript.contains("## Turn 2\n"), "{transcript}");
}

#[test]
fn a_deliverable_still_missing_fails_with_missing_output_naming_it() {
    let fake = FakeServer::start();
    let sb = sandbox(
        "  - name: a\n    inputs: [data/a.csv]\n    prompt: \"Summarise.\\n@fake no-output\"\n    expect: [summary.md, plot.png]\n",
    );
    let (code, summary) = sb.run_json(&fake, &["run", "m.yaml"]);
    assert_eq!(code, Some(1), "{summary}");
    // The repair turn (no directives) makes the default plot.png, never summary.md.
    assert_eq!(fake.stats().requests.get("messages"), Some(&2));
    let error = &summary["jobs"][0]["error"];
    assert_eq!(error["kind"], "missing_output");
    let message = error["message"].as_str().unwrap();
    assert_eq!(
        message,
        "deliverables missing after 1 repair turn: `summary.md` (not produced)"
    );

    let job = sb.read_json("out/m/a/job.json");
    assert_eq!(job["status"], "failed");
    assert_eq!(job["error"]["kind"], "missing_output");
    assert_eq!(job["expect"][0]["status"], "missing");
    assert_eq!(job["expect"][1]["status"], "satisfied");
    assert!(
        sb.root.join("out/m/a/files/plot.png").is_file(),
        "what was produced is kept"
    );
    for doc in ["report.md", "transcript.md", "messages.json"] {
        assert!(sb.root.join("out/m/a").join(doc).is_file(), "{doc}");
    }
    let report = sb.read("out/m/a/report.md");
    assert!(report.contains("missing_output"), "{report}");
}

#[test]
fn globs_count_min_and_min_size_and_repair_turns_zero_fails_at_once() {
    let fake = FakeServer::start();
    let sb = sandbox(concat!(
        // a.bin counts; b.bin is too small; c.bin arrives in the repair turn.
        "  - name: grows\n    prompt: \"Go.\\n@fake no-output\\n@fake output a.bin 2048\\n",
        "@fake output b.bin 10\\n@fake turn 2 no-output\\n@fake turn 2 output c.bin 1500\"\n",
        "    expect: [{ name: \"*.bin\", min: 2, min_size: 1K }]\n",
        "  - name: strict\n    prompt: \"Go.\\n@fake no-output\\n@fake output a.bin 2048\"\n",
        "    expect: [{ name: \"*.bin\", min: 2 }]\n    repair_turns: 0\n",
    ));
    let (code, summary) = sb.run_json(&fake, &["run", "m.yaml", "-j", "1"]);
    assert_eq!(code, Some(1), "{summary}");

    let grows = sb.read_json("out/m/grows/job.json");
    assert_eq!(grows["status"], "succeeded");
    assert_eq!(turns_of(&grows), [0, 1]);
    assert_eq!(
        grows["repair_turns"][0]
            .as_str()
            .unwrap()
            .split(". Save")
            .next()
            .unwrap(),
        "These deliverables are missing: `*.bin` (at least 2 matching files needed, 1 produced, 1 under the minimum size of 1.0 KiB)"
    );
    assert_eq!(
        grows["expect"][0],
        serde_json::json!({"name": "*.bin", "min": 2, "min_size": 1024,
                           "status": "satisfied", "files": ["a.bin", "c.bin"]})
    );
    let b = grows["outputs"]
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["name"] == "b.bin")
        .unwrap();
    assert_eq!(b["satisfies"], serde_json::json!([]));

    let strict = sb.read_json("out/m/strict/job.json");
    assert_eq!(strict["status"], "failed");
    assert_eq!(
        turns_of(&strict),
        [0],
        "repair_turns: 0 sends no repair turn"
    );
    assert_eq!(
        strict["error"]["message"],
        "deliverables missing after no repair turn allowed (repair_turns: 0): \
         `*.bin` (at least 2 matching files needed, 1 produced)"
    );
}

#[test]
fn a_job_without_expect_records_and_sends_what_it_did_before() {
    let fake = FakeServer::start();
    let sb = sandbox("  - name: a\n    inputs: [data/a.csv]\n    prompt: Plot it.\n");
    let (code, _) = sb.run_json(&fake, &["run", "m.yaml"]);
    assert_eq!(code, Some(0));
    let job = sb.read_json("out/m/a/job.json");
    for key in ["expect", "repair_turns"] {
        assert!(job.get(key).is_none(), "{key}");
    }
    assert!(job["outputs"][0].get("satisfies").is_none());
    assert!(
        !job["system"]
            .as_str()
            .unwrap()
            .contains("expects these deliverables")
    );
    assert_eq!(fake.stats().requests.get("messages"), Some(&1));
}

#[test]
fn plan_shows_each_jobs_deliverables() {
    let sb = sandbox(
        "  - name: a\n    prompt: hi\n    expect: [summary.md, { name: \"*.png\", min: 2, min_size: 1K }]\n    repair_turns: 2\n",
    );
    let out = sb.cmd(["plan", "m.yaml"]).output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert!(
        stdout
            .contains("    expect summary.md, *.png (min 2, each ≥ 1.0 KiB)  (repair turns: 2)\n"),
        "{stdout}"
    );
    let out = sb.cmd(["plan", "m.yaml", "--json"]).output().unwrap();
    let plan: Value = stdout_json(&out);
    assert_eq!(
        plan["jobs"][0]["deliverables"],
        serde_json::json!({"expect": [{"name": "summary.md", "min": 1},
                                      {"name": "*.png", "min": 2, "min_size": 1024}],
                           "repair_turns": 2})
    );
}

#[test]
fn metadata_the_check_cannot_fetch_fails_the_job_as_download_without_a_repair_turn() {
    let fake = FakeServer::start();
    // The first listing is the check before the run; the second, the check's.
    fake.push_faults(
        Endpoint::ListFiles,
        [Fault::Delay(std::time::Duration::ZERO), Fault::status(404)],
    );
    let sb = sandbox("  - name: a\n    prompt: hi\n    expect: [summary.md]\n");
    let (code, summary) = sb.run_json(&fake, &["run", "m.yaml"]);
    assert_eq!(code, Some(1), "{summary}");
    assert_eq!(summary["jobs"][0]["error"]["kind"], "download");
    assert_eq!(fake.stats().requests.get("messages"), Some(&1));
    let job = sb.read_json("out/m/a/job.json");
    assert_eq!(job["repair_turns"], serde_json::json!([]));
    // The downloads still try (the fault was served once): what the job made is kept.
    assert!(sb.root.join("out/m/a/files/plot.png").is_file());
}

#[test]
fn expect_in_defaults_fills_for_each_placeholders_per_job() {
    let sb = Sandbox::new();
    sb.file("data/a.csv", "x\n1\n").file("data/b.csv", "x\n2\n").file(
        "m.yaml",
        "version: 1\ndefaults:\n  model: claude-haiku-4-5\n  expect: [\"{{ stem }}.md\"]\njobs:\n  - name: \"w-{{ stem }}\"\n    for_each: \"data/*.csv\"\n    prompt: hi\n",
    );
    let out = sb.cmd(["plan", "m.yaml", "--json"]).output().unwrap();
    assert_exit(&out, 0);
    let plan: Value = stdout_json(&out);
    let names: Vec<&Value> = plan["jobs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|j| &j["deliverables"]["expect"][0]["name"])
        .collect();
    assert_eq!(names, [&Value::from("a.md"), &Value::from("b.md")]);
    assert_eq!(plan["jobs"][0]["deliverables"]["repair_turns"], 1);
}

//! `runner plan`: a printable, deterministic value, snapshot-tested; no network.

use crate::harness::{CommandExt, Sandbox, assert_success, stdout_json};

fn plan_sandbox() -> Sandbox {
    let sb = Sandbox::new();
    sb.file("data/a.csv", "x,y\n1,2\n")
        .file("data/b.csv", "x,y\n3,4\n")
        .file("lookup/codes.json", "{\"a\": 1}\n")
        .file(
            "m.yaml",
            "version: 1\ndefaults:\n  model: claude-sonnet-4-6\n  system: Be careful.\njobs:\n  - name: \"w-{{ stem }}\"\n    for_each: \"data/*.csv\"\n    inputs: [\"{{ path }}\", \"lookup/*.json\"]\n    prompt: \"Summarise {{ name }}.\"\n    follow_up: [\"Now plot {{ stem }}.\"]\n",
        );
    sb
}

#[test]
fn plan_text_snapshot() {
    let sb = plan_sandbox();
    let out = sb.cmd(["plan", "m.yaml"]).output().unwrap();
    assert_success(&out);
    insta::assert_snapshot!(String::from_utf8(out.stdout).unwrap());
}

#[test]
fn plan_json_snapshot_shares_uploads_between_jobs() {
    let sb = plan_sandbox();
    let plan: serde_json::Value = sb.cmd(["plan", "--json", "m.yaml"]).success_json();
    // codes.json is attached to both jobs but planned once.
    let uploads = plan["uploads"].as_array().unwrap();
    assert_eq!(uploads.len(), 3);
    let codes = uploads.iter().find(|u| u["name"] == "codes.json").unwrap();
    assert_eq!(codes["jobs"], serde_json::json!(["m/w-a", "m/w-b"]));
    let root = sb.root.to_string_lossy().into_owned();
    insta::with_settings!({filters => vec![(root.as_str(), "[SANDBOX]")]}, {
        insta::assert_json_snapshot!(plan);
    });
}

#[test]
fn plan_is_deterministic_and_uses_the_hash_cache() {
    let sb = plan_sandbox();
    let first = sb.cmd(["plan", "--json", "m.yaml"]).output().unwrap();
    assert!(sb.state_dir().join("hashes.json").exists());
    let second = sb.cmd(["plan", "--json", "m.yaml"]).output().unwrap();
    assert_eq!(first.stdout, second.stdout);
    // A changed input changes its hash and the job's fingerprint, and nothing else.
    sb.file("data/a.csv", "x,y\n1,2\n9,9\n");
    let third = sb.cmd(["plan", "--json", "m.yaml"]).output().unwrap();
    let (a, b): (serde_json::Value, serde_json::Value) = (stdout_json(&first), stdout_json(&third));
    assert_ne!(a["jobs"][0]["fingerprint"], b["jobs"][0]["fingerprint"]);
    assert_eq!(a["jobs"][1]["fingerprint"], b["jobs"][1]["fingerprint"]);
}

#[test]
fn plan_shows_fresh_jobs_and_cached_uploads_after_a_run() {
    let fake = fake_anthropic::FakeServer::start();
    let sb = plan_sandbox();
    let status = |sb: &Sandbox| -> serde_json::Value {
        let plan: serde_json::Value = sb
            .cmd_against(&fake, ["plan", "--json", "m.yaml"])
            .success_json();
        let statuses = |list: &serde_json::Value| -> Vec<serde_json::Value> {
            list.as_array()
                .unwrap()
                .iter()
                .map(|e| e["status"].clone())
                .collect()
        };
        serde_json::json!({"jobs": statuses(&plan["jobs"]), "uploads": statuses(&plan["uploads"])})
    };
    assert_eq!(
        status(&sb),
        serde_json::json!({"jobs": ["to-run", "to-run"], "uploads": ["to-upload", "to-upload", "to-upload"]})
    );
    sb.cmd_against(&fake, ["run", "m.yaml", "--only", "w-a"])
        .assert()
        .success();
    let requests = fake.stats().requests_total;
    assert_eq!(
        status(&sb),
        serde_json::json!({"jobs": ["fresh", "to-run"], "uploads": ["cached", "to-upload", "cached"]})
    );
    assert_eq!(
        fake.stats().requests_total,
        requests,
        "plan must not call the API"
    );
}

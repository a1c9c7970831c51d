//! Many machines, one night (issue 25): `runner run --shard` processes as an orchestrator
//! starts them, sharing an output tree and a state dir, merge into one night that equals a
//! single-machine run; a missing shard is reported as missing; a retried shard replaces its
//! own part; `runner plan --shards N --json` is the fan-out's list.

use std::collections::BTreeMap;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use fake_anthropic::{Endpoint, FakeServer, Fault};

use crate::harness::{CommandExt, Sandbox, manifest};

const N: u64 = 3;
const JOBS: usize = 9;

/// Nine jobs sharing one input, so that the killed shard's cached upload serves every
/// shard of the night (the state dir is shared). Prompt caching off: with it, which job
/// writes the cache and which reads it depends on the order the jobs run in, and so do
/// their costs.
fn night_sandbox(prompt: &str) -> Sandbox {
    let sb = Sandbox::new();
    sb.file("data/shared.csv", "a,b\n1,2\n".repeat(50));
    let jobs: String = (0..JOBS)
        .map(|i| {
            format!("  - name: job-{i}\n    inputs: [data/shared.csv]\n    prompt: {prompt} {i}\n")
        })
        .collect();
    let yaml = manifest(&jobs).replace("defaults:\n", "defaults:\n  cache: off\n");
    sb.file("m.yaml", yaml);
    sb
}

/// `runner run` as the Kubernetes Indexed Job starts it: the index and count in the
/// environment, one job at a time (so a kill at the first request leaves no job done).
fn indexed(sb: &Sandbox, fake: &FakeServer, index: u64) -> Command {
    let mut cmd = sb.std_cmd_against(fake, ["run", "m.yaml", "-j", "1", "-q"]);
    cmd.env("JOB_COMPLETION_INDEX", index.to_string())
        .env("RUNNER_SHARD_COUNT", N.to_string());
    cmd
}

fn spawn(mut cmd: Command) -> Child {
    cmd.stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

/// Each job's (status, cost) by folder.
fn lines(run: &serde_json::Value) -> BTreeMap<String, (String, f64)> {
    run["jobs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|j| {
            let cost = j["cost_usd"].as_f64().unwrap_or(0.0);
            let status = j["status"].as_str().unwrap().to_owned();
            (j["dir"].as_str().unwrap().to_owned(), (status, cost))
        })
        .collect()
}

fn history(sb: &Sandbox) -> Vec<serde_json::Value> {
    sb.cmd(["history", "--json"]).success_json()
}

#[test]
fn shards_one_killed_and_restarted_merge_into_the_single_machine_night() {
    let fake = FakeServer::start();
    let sb = night_sandbox("number");
    let planned: Vec<serde_json::Value> = sb
        .cmd(["plan", "m.yaml", "--shards", "3", "--json"])
        .success_json();
    let counts: Vec<u64> = planned
        .iter()
        .map(|s| s["jobs"].as_u64().unwrap())
        .collect();
    assert_eq!(counts.iter().sum::<u64>(), JOBS as u64, "{planned:?}");
    assert_eq!(planned[1]["shard"], "2/3");
    assert_eq!(planned[1]["index"], 1);
    // The shard to kill: one with jobs.
    let victim = counts.iter().position(|&c| c > 0).unwrap() as u64;

    // The victim alone, killed while its first request waits (its upload is cached).
    fake.push_faults(Endpoint::Messages, [Fault::Hold]);
    let mut child = spawn(indexed(&sb, &fake, victim));
    assert!(
        fake.wait_until(Duration::from_secs(60), |s| s.held == 1),
        "the victim's first request never came"
    );
    child.kill().unwrap();
    child.wait().unwrap();
    fake.release_held();
    assert!(!sb.root.join("out/run.json").exists());

    // Every shard at once, the victim restarted among them.
    let children: Vec<Child> = (0..N).map(|i| spawn(indexed(&sb, &fake, i))).collect();
    for (i, child) in children.into_iter().enumerate() {
        let out = child.wait_with_output().unwrap();
        assert_eq!(
            out.status.code(),
            Some(0),
            "shard index {i}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let uploads = fake.stats().uploads;
    assert_eq!(
        uploads.values().copied().collect::<Vec<_>>(),
        [1],
        "one upload, reused by every shard and by the restart: {uploads:?}"
    );

    // The shard that finished last merged the night.
    let night = sb.read_json("out/run.json");
    assert_eq!(night["exit_code"], 0, "{night}");
    assert!(
        night["night"].as_str().unwrap().starts_with("plan-"),
        "{night}"
    );
    assert_eq!(night["shards"].as_array().unwrap().len(), N as usize);
    assert!(night.get("missing_shards").is_none() && night.get("error").is_none());

    let single_fake = FakeServer::start();
    let single = night_sandbox("number");
    let (code, alone) = single.run_json(&single_fake, &["run", "m.yaml"]);
    assert_eq!(code, Some(0));
    let (merged, expected) = (lines(&night), lines(&alone));
    assert_eq!(
        merged.keys().collect::<Vec<_>>(),
        expected.keys().collect::<Vec<_>>()
    );
    for (dir, (status, cost)) in &expected {
        let (got_status, got_cost) = &merged[dir];
        assert_eq!(got_status, status, "{dir}");
        assert!(
            (got_cost - cost).abs() < 1e-9,
            "{dir}: {got_cost} vs {cost}"
        );
    }
    assert_eq!(night["counts"], alone["counts"]);
    let total = |r: &serde_json::Value| r["cost"]["usd"].as_f64().unwrap();
    assert!((total(&night) - total(&alone)).abs() < 1e-9);

    // One history entry for the night; merging again changes nothing.
    assert_eq!(history(&sb).len(), 1);
    sb.cmd(["merge"]).assert().success();
    let again = sb.read_json("out/run.json");
    assert_eq!(again, night, "the merge is idempotent");
    assert_eq!(history(&sb).len(), 1);

    // The fan-out list estimates each shard from its jobs' last costs.
    sb.file(
        "m.yaml",
        std::fs::read_to_string(sb.root.join("m.yaml"))
            .unwrap()
            .replace("number", "again"),
    );
    let planned: Vec<serde_json::Value> = sb
        .cmd(["plan", "m.yaml", "--shards", "3", "--json"])
        .success_json();
    let estimated: f64 = planned
        .iter()
        .map(|s| s["estimated_usd"].as_f64().unwrap())
        .sum();
    assert!((estimated - total(&night)).abs() < 1e-9, "{planned:?}");
    assert!(
        planned
            .iter()
            .all(|s| s["to_run"] == s["jobs"] && s["unknown_cost"] == 0)
    );
}

#[test]
fn a_missing_shard_is_reported_and_a_retried_shard_replaces_its_part() {
    let fake = FakeServer::start();
    let sb = night_sandbox("number");
    let shard = |k: u64, extra: &[&str]| {
        let shard = format!("{k}/{N}");
        let mut args = vec![
            "run",
            "m.yaml",
            "--shard",
            &shard,
            "--night",
            "ci-7",
            "--junit",
            "junit.xml",
        ];
        args.extend_from_slice(extra);
        let out = sb.cmd_against(&fake, &args).output().unwrap();
        assert_eq!(
            out.status.code(),
            Some(0),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        sb.read_json(&format!("out/run-shard-{k}-of-{N}.json"))
    };
    shard(1, &[]);
    let first_two = shard(2, &[]);
    assert_eq!(first_two["night"], "ci-7");
    assert!(
        !sb.root.join("out/run.json").exists(),
        "no night without shard 3"
    );
    assert!(
        !sb.root.join("junit.xml").exists(),
        "a shard writes no JUnit of its own"
    );

    let stderr = sb.cmd(["merge", "--json"]).exit_stderr(1);
    assert!(
        stderr.contains("night `ci-7`: shard 3/3 is missing (no run-shard-3-of-3.json"),
        "{stderr}"
    );
    let partial = sb.read_json("out/run.json");
    assert_eq!(partial["missing_shards"], serde_json::json!(["3/3"]));
    assert_eq!(partial["exit_code"], 1);
    assert_eq!(history(&sb).len(), 1);

    // Shard 2 again: its record replaces its part; shard 3 then completes the night.
    let retried = shard(2, &["--force"]);
    assert_ne!(retried["run_id"], first_two["run_id"]);
    shard(3, &[]);
    let night = sb.read_json("out/run.json");
    assert_eq!(night["exit_code"], 0, "{night}");
    assert!(night.get("missing_shards").is_none());
    assert_eq!(night["counts"]["total"], JOBS);
    assert_eq!(night["shards"][1]["run_id"], retried["run_id"]);
    assert_eq!(night["run_id"], partial["run_id"], "the same history entry");
    assert_eq!(history(&sb).len(), 1);
    let junit = sb.read("junit.xml");
    assert_eq!(junit.matches("<testcase").count(), JOBS, "{junit}");

    // Another night's id names no record.
    let stderr = sb.cmd(["merge", "--night", "ci-8"]).exit_stderr(2);
    assert!(
        stderr.contains("no shard record is of night `ci-8`"),
        "{stderr}"
    );
}

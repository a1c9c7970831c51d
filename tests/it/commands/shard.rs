//! `--shard K/N`: the shards of a run partition its jobs (disjoint, complete), a job's
//! shard never moves when another job is added, and each shard writes its own record
//! (the night's merge: commands/merge.rs).

use std::collections::BTreeSet;

use fake_anthropic::FakeServer;

use crate::harness::{CommandExt, Sandbox, manifest};

fn jobs_yaml(count: usize) -> String {
    let jobs: String = (0..count)
        .map(|i| format!("  - name: job-{i:02}\n    prompt: number {i}\n"))
        .collect();
    manifest(&jobs)
}

/// The job ids `runner plan --shard K/N` (or its environment) shows.
fn planned_ids(sb: &Sandbox, shard: &str, env: &[(&str, &str)]) -> BTreeSet<String> {
    let mut cmd = sb.cmd(["plan", "--json", "m.yaml"]);
    if env.is_empty() {
        cmd.args(["--shard", shard]);
    }
    for (k, v) in env {
        cmd.env(k, v);
    }
    let plan: serde_json::Value = cmd.success_json();
    plan["jobs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|j| j["id"].as_str().unwrap().to_owned())
        .collect()
}

#[test]
fn three_shards_are_disjoint_complete_and_stable_when_a_job_is_added() {
    let sb = Sandbox::new();
    sb.file("m.yaml", jobs_yaml(12));
    let all: BTreeSet<String> = (0..12).map(|i| format!("m/job-{i:02}")).collect();
    let shards: Vec<BTreeSet<String>> = (1..=3)
        .map(|k| planned_ids(&sb, &format!("{k}/3"), &[]))
        .collect();
    let union: BTreeSet<String> = shards.iter().flatten().cloned().collect();
    assert_eq!(union, all, "complete");
    assert_eq!(
        shards.iter().map(BTreeSet::len).sum::<usize>(),
        12,
        "disjoint"
    );

    // One more job: every old job stays in its shard.
    sb.file("m.yaml", jobs_yaml(13));
    let grown: Vec<BTreeSet<String>> = (1..=3)
        .map(|k| planned_ids(&sb, &format!("{k}/3"), &[]))
        .collect();
    for (before, after) in shards.iter().zip(&grown) {
        assert!(before.is_subset(after), "{before:?} moved: {after:?}");
    }
    let added: usize = grown
        .iter()
        .zip(&shards)
        .map(|(a, b)| a.len() - b.len())
        .sum();
    assert_eq!(added, 1, "the new job is in exactly one shard");

    // The environment names the same shards: Kubernetes' 0-based index, or K/N.
    let indexed = planned_ids(
        &sb,
        "",
        &[("JOB_COMPLETION_INDEX", "1"), ("RUNNER_SHARD_COUNT", "3")],
    );
    assert_eq!(indexed, grown[1]);
    assert_eq!(planned_ids(&sb, "", &[("RUNNER_SHARD", "3/3")]), grown[2]);
}

#[test]
fn sharded_runs_share_an_output_tree_and_write_their_own_records() {
    let fake = FakeServer::start();
    let sb = Sandbox::new();
    sb.file("m.yaml", jobs_yaml(6));
    let mut ran: Vec<String> = Vec::new();
    for k in 1..=3 {
        let shard = format!("{k}/3");
        let (code, summary) = sb.run_json(&fake, &["run", "m.yaml", "--shard", &shard]);
        assert_eq!(code, Some(0), "{summary}");
        let record = sb.read_json(&format!("out/run-shard-{k}-of-3.json"));
        assert_eq!(record, summary, "shard {shard} writes its own record");
        ran.extend(
            summary["jobs"]
                .as_array()
                .unwrap()
                .iter()
                .map(|j| j["job"].as_str().unwrap().to_owned()),
        );
    }
    ran.sort();
    let all: Vec<String> = (0..6).map(|i| format!("job-{i:02}")).collect();
    assert_eq!(ran, all, "every job ran exactly once");
    assert_eq!(fake.stats().requests.get("messages"), Some(&6));
    // The third shard, finding every shard's record of the night, merged them.
    let night = sb.read_json("out/run.json");
    assert_eq!(night["shards"].as_array().unwrap().len(), 3, "{night}");
    assert_eq!(night["counts"]["total"], 6);

    // An unsharded run afterwards finds every job fresh and writes run.json.
    let (code, summary) = sb.run_json(&fake, &["run", "m.yaml"]);
    assert_eq!(code, Some(0));
    assert_eq!(summary["counts"]["fresh"], 6);
    assert!(sb.root.join("out/run.json").is_file());
}

#[test]
fn a_bad_shard_is_a_usage_error() {
    let sb = Sandbox::new();
    sb.file("m.yaml", jobs_yaml(2));
    let stderr = sb.cmd(["plan", "m.yaml", "--shard", "0/3"]).exit_stderr(2);
    assert!(stderr.contains("--shard `0/3`"));
    sb.cmd(["run", "m.yaml"])
        .env("JOB_COMPLETION_INDEX", "0")
        .assert()
        .code(2);
}

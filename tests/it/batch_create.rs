//! A batch create whose answer never came back (the runner killed while the API had made
//! the batch, a dropped connection, a 5xx): the intent written before the create is
//! resolved by listing the API's batches, so nothing is paid twice and no round is lost;
//! a create that made no batch is retried.

use std::collections::HashSet;
use std::time::Duration;

use fake_anthropic::{Endpoint, FakeServer, Fault};

use crate::harness::{Sandbox, assert_success};

/// Three jobs, five requests in three rounds: `long` pauses once, then has a follow-up.
fn jobs() -> Sandbox {
    Sandbox::with_manifest(concat!(
        "  - name: long\n    prompt: \"first\\n@fake pause 1\"\n    follow_up: [second]\n",
        "  - name: a\n    prompt: one\n",
        "  - name: b\n    prompt: two\n",
    ))
}

const JOBS: [&str; 3] = ["long", "a", "b"];
const REQUESTS: usize = 5;

/// Two jobs of one request each, in one batch.
fn two() -> Sandbox {
    Sandbox::with_manifest("  - name: long\n    prompt: x\n  - name: a\n    prompt: y\n")
}

const TWO: [&str; 2] = ["long", "a"];

/// The `*.json` files directly in `OUT/<rel>`.
fn json_in(sb: &Sandbox, rel: &str) -> Vec<String> {
    let Ok(entries) = std::fs::read_dir(sb.root.join("out").join(rel)) else {
        return Vec::new();
    };
    entries
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".json"))
        .collect()
}

/// Every job succeeded, each request was paid once, and nothing is left to resolve.
#[track_caller]
fn assert_finished_paying_once(sb: &Sandbox, fake: &FakeServer, jobs: &[&str], requests: usize) {
    for job in jobs {
        let j = sb.read_json(&format!("out/m/{job}/job.json"));
        assert_eq!(j["status"], "succeeded", "{job}: {j}");
    }
    let items = fake.batch_items();
    let distinct: HashSet<String> = items.iter().map(|i| i.params.to_string()).collect();
    assert_eq!(
        items.len(),
        requests,
        "items created on the fake: {items:?}"
    );
    assert_eq!(distinct.len(), requests, "an item paid twice: {items:?}");
    assert_eq!(json_in(sb, ".batches/intents"), Vec::<String>::new());
    assert_eq!(json_in(sb, ".batches"), Vec::<String>::new());
}

fn count(fake: &FakeServer, endpoint: &str) -> u32 {
    fake.stats().requests.get(endpoint).copied().unwrap_or(0)
}

#[test]
fn a_runner_killed_between_the_create_and_its_record_reruns_without_paying_twice() {
    // The re-run finds the batch ended (confirmed by its results), or still in progress
    // (adopted, and confirmed when it ends).
    for in_progress in [false, true] {
        let fake = FakeServer::start();
        if in_progress {
            fake.set_batch_delay(Duration::from_secs(600));
        }
        let sb = jobs();
        fake.push_faults(Endpoint::BatchCreate, [Fault::HoldResponse]);
        let mut child = sb.spawn_against(&fake, &["run", "m.yaml", "--batch"]);
        assert!(fake.wait_until(Duration::from_secs(60), |s| s.held == 1));
        child.kill().unwrap();
        child.wait().unwrap();
        fake.release_held();
        assert_eq!(fake.stats().batches_created, 1, "the API made the batch");
        assert_eq!(
            json_in(&sb, ".batches/intents").len(),
            1,
            "its intent is left"
        );
        assert_eq!(json_in(&sb, ".batches"), Vec::<String>::new(), "no record");
        let listed = sb
            .cmd_against(&fake, ["batches", "--offline"])
            .output()
            .unwrap();
        assert_success(&listed);
        let note = String::from_utf8_lossy(&listed.stderr);
        assert!(note.contains("a batch create of 3 requests"), "{note}");
        assert!(note.contains("never answered"), "{note}");

        let rerun = sb
            .std_cmd_against(&fake, ["run", "m.yaml", "--batch"])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        if in_progress {
            // Listed, adopted while in progress, polled: now let it end.
            assert!(fake.wait_until(Duration::from_secs(60), |s| {
                s.requests.get("batch_get").copied().unwrap_or(0) >= 1
            }));
            assert_eq!(count(&fake, "batch_create"), 1, "nothing created meanwhile");
            fake.set_batch_delay(Duration::ZERO);
        }
        let out = rerun.wait_with_output().unwrap();
        assert_success(&out);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            stderr.contains("an earlier run created this batch"),
            "{in_progress}: {stderr}"
        );
        assert!(count(&fake, "batch_list") >= 1);
        assert_finished_paying_once(&sb, &fake, &JOBS, REQUESTS);
        // The killed run's batch answered round 1: three rounds, three batches in all.
        assert_eq!(fake.stats().batches_created, 3, "{in_progress}");
        let first = &fake.batch_items()[0].batch_id;
        let long = sb.read_json("out/m/long/job.json");
        assert_eq!(&long["requests"][0]["batch_id"], first, "{long}");
    }
}

#[test]
fn a_dropped_create_response_is_resolved_by_listing_not_by_submitting_again() {
    let fake = FakeServer::start();
    let sb = jobs();
    fake.push_faults(Endpoint::BatchCreate, [Fault::DropResponse]);
    let out = sb
        .cmd_against(&fake, ["run", "m.yaml", "--batch"])
        .output()
        .unwrap();
    assert_success(&out);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("answer was lost"), "{stderr}");
    // One create per round, the dropped one included: it was found, not sent again.
    assert_eq!(count(&fake, "batch_create"), 3);
    assert_eq!(fake.stats().batches_created, 3);
    assert_eq!(count(&fake, "batch_list"), 1);
    assert_finished_paying_once(&sb, &fake, &JOBS, REQUESTS);
}

#[test]
fn a_create_that_made_no_batch_is_retried_and_a_refused_one_is_not() {
    for fault in [Fault::DropConnection, Fault::status(503)] {
        let fake = FakeServer::start();
        let sb = two();
        fake.push_faults(Endpoint::BatchCreate, [fault.clone()]);
        let out = sb
            .cmd_against(&fake, ["run", "m.yaml", "--batch"])
            .output()
            .unwrap();
        assert_success(&out);
        // Listed first (the API had made nothing), then created.
        assert_eq!(count(&fake, "batch_create"), 2, "{fault:?}");
        assert_eq!(count(&fake, "batch_list"), 1, "{fault:?}");
        assert_eq!(fake.stats().batches_created, 1, "{fault:?}");
        assert_finished_paying_once(&sb, &fake, &TWO, 2);
    }
    // A 400 is an answer: no batch was made, nothing to look for, nothing to retry.
    let fake = FakeServer::start();
    let sb = Sandbox::with_manifest("  - name: a\n    prompt: y\n");
    fake.push_faults(Endpoint::BatchCreate, [Fault::status(400)]);
    let out = sb
        .cmd_against(&fake, ["run", "m.yaml", "--batch"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(count(&fake, "batch_create"), 1);
    assert_eq!(count(&fake, "batch_list"), 0);
    assert_eq!(json_in(&sb, ".batches/intents"), Vec::<String>::new());
}

#[test]
fn when_listing_cannot_tell_the_requests_wait_for_the_next_run_instead_of_being_paid_twice() {
    let fake = FakeServer::start();
    let sb = two();
    fake.push_faults(Endpoint::BatchCreate, [Fault::DropResponse]);
    fake.push_faults(
        Endpoint::BatchList,
        [Fault::status(500), Fault::status(500)],
    );
    let run = ["run", "m.yaml", "--batch", "--max-attempts", "2"];
    let out = sb.cmd_against(&fake, run).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let a = sb.read_json("out/m/a/job.json");
    let message = a["error"]["message"].as_str().unwrap();
    assert!(
        message.contains("not submitting these requests again"),
        "{a}"
    );
    assert!(message.contains("OUT/.batches/intents/"), "{a}");
    assert_eq!(count(&fake, "batch_create"), 1, "never created twice");
    assert_eq!(
        json_in(&sb, ".batches/intents").len(),
        1,
        "kept for the re-run"
    );

    // The re-run finds the batch the lost create had made and takes its results.
    let out = sb.cmd_against(&fake, run).output().unwrap();
    assert_success(&out);
    assert_eq!(count(&fake, "batch_create"), 1);
    assert_finished_paying_once(&sb, &fake, &TWO, 2);
}

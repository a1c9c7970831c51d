//! `runner batches` against the fake's Message Batches, over real HTTP: the ended batches of
//! a finished `run --batch`, the pending one a killed runner leaves (live, offline, without
//! a key, when the API fails, when it ended unseen), and the human listing as users read it.

use std::time::Duration;

use fake_anthropic::{Endpoint, FakeServer, Fault};
use serde_json::Value;

use crate::harness::{Sandbox, manifest};

/// `m/long` pauses once (two requests, two rounds); `m/plain` needs one request.
fn two_rounds(sb: &Sandbox) {
    sb.file(
        "m.yaml",
        manifest(concat!(
            "  - name: long\n    prompt: \"first\\n@fake pause 1\"\n",
            "  - name: plain\n    prompt: Plot it.\n",
        )),
    );
}

/// Runs `n.yaml` (two one-request jobs) with `--batch` and kills the runner once it polled
/// its batch, which the fake keeps processing for 10 minutes: one pending record.
fn killed_while_polling(sb: &Sandbox, fake: &FakeServer) {
    sb.file(
        "n.yaml",
        manifest("  - name: a\n    prompt: hi\n  - name: b\n    prompt: ho\n"),
    );
    fake.set_batch_delay(Duration::from_secs(600));
    // Polled once by this runner: its batch was recorded before that.
    let before = gets(fake);
    let mut child = sb.spawn_against(fake, &["run", "n.yaml", "--batch"]);
    assert!(fake.wait_until(Duration::from_secs(60), |s| {
        s.requests.get("batch_get").copied().unwrap_or(0) > before
    }));
    child.kill().unwrap();
    child.wait().unwrap();
}

/// `runner batches …` as a finished process: exit code, stdout, stderr.
fn listing(out: std::process::Output) -> (Option<i32>, String, String) {
    (
        out.status.code(),
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

fn json(stdout: &str) -> Vec<Value> {
    serde_json::from_str::<Value>(stdout)
        .unwrap_or_else(|e| panic!("{e}: {stdout}"))
        .as_array()
        .unwrap()
        .clone()
}

/// `(job, turn, continuation)` of a listed batch's items.
fn job_turns(batch: &Value) -> Vec<(String, u64, u64)> {
    batch["jobs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|j| {
            (
                j["job"].as_str().unwrap().to_owned(),
                j["turn"].as_u64().unwrap(),
                j["continuation"].as_u64().unwrap(),
            )
        })
        .collect()
}

fn gets(fake: &FakeServer) -> u32 {
    fake.stats().requests.get("batch_get").copied().unwrap_or(0)
}

#[test]
fn after_a_finished_batch_run_the_ended_batches_are_listed_with_their_jobs_and_counts() {
    let fake = FakeServer::start();
    let sb = Sandbox::new();
    let (_, stdout, stderr) = listing(sb.cmd(["batches", "--json"]).output().unwrap());
    assert_eq!(json(&stdout), Vec::<Value>::new());
    assert!(
        stderr.contains("no batch recorded in out/.batches"),
        "{stderr}"
    );

    two_rounds(&sb);
    let (code, summary) = sb.run_json(&fake, &["run", "m.yaml", "--batch"]);
    assert_eq!(code, Some(0), "{summary}");
    let polls = gets(&fake);
    let (code, stdout, stderr) = listing(
        sb.cmd_against(&fake, ["batches", "-o", "out", "--json"])
            .output()
            .unwrap(),
    );
    assert_eq!(code, Some(0), "{stderr}");
    assert_eq!(gets(&fake), polls, "nothing pending: no API call");
    let listed = json(&stdout);
    assert_eq!(listed.len(), 2, "{stdout}");
    // Newest first: the continuation's batch, then round 1's.
    let expected = [
        vec![("m/long".to_owned(), 1, 1)],
        vec![("m/long".to_owned(), 1, 0), ("m/plain".to_owned(), 1, 0)],
    ];
    let items = fake.batch_items();
    for (batch, jobs) in listed.iter().zip(expected) {
        assert_eq!(job_turns(batch), jobs, "{batch}");
        let n = jobs.len() as u64;
        assert_eq!(batch["state"], "ended", "{batch}");
        assert_eq!(batch["requests"], n);
        assert_eq!(batch["consumed"], n);
        assert_eq!(batch["canceled"], false);
        assert!(batch["created_at"].is_string(), "{batch}");
        assert!(batch["ended_at"].is_string(), "{batch}");
        let counts = &batch["request_counts"];
        assert_eq!(counts["succeeded"], n, "{batch}");
        for other in ["errored", "expired", "canceled", "processing"] {
            assert_eq!(counts[other], 0, "{other}: {batch}");
        }
        let id = batch["batch_id"].as_str().unwrap();
        let mut sent: Vec<&str> = items
            .iter()
            .filter(|i| i.batch_id == id)
            .map(|i| i.custom_id.as_str())
            .collect();
        let mut listed_ids: Vec<&str> = batch["jobs"]
            .as_array()
            .unwrap()
            .iter()
            .map(|j| j["custom_id"].as_str().unwrap())
            .collect();
        sent.sort_unstable();
        listed_ids.sort_unstable();
        assert_eq!(listed_ids, sent, "{batch}");
    }
    assert!(listed[0]["created_at"].as_str() > listed[1]["created_at"].as_str());

    let (code, stdout, _) = listing(sb.cmd(["batches"]).output().unwrap());
    assert_eq!(code, Some(0));
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines[0], "pending: none", "{stdout}");
    assert_eq!(lines[1], "ended: 2 batches, newest first", "{stdout}");
    assert!(lines[2].contains("1 request, 1 consumed"), "{stdout}");
    assert!(lines[2].contains("1 succeeded"), "{stdout}");
    assert!(
        lines[2].ends_with("m/long turn 1 (continuation 1)"),
        "{stdout}"
    );
    assert!(lines[3].contains("2 requests, 2 consumed"), "{stdout}");
    assert!(
        lines[3].ends_with("2 succeeded  m/long turn 1, m/plain turn 1"),
        "{stdout}"
    );
}

#[test]
fn a_killed_runners_batch_is_pending_with_live_counts_or_as_recorded() {
    let fake = FakeServer::start();
    let sb = Sandbox::new();
    killed_while_polling(&sb, &fake);
    let id = fake.batch_items()[0].batch_id.clone();

    // Live: the fake still processes both requests.
    let (code, stdout, stderr) = listing(
        sb.cmd_against(&fake, ["batches", "--json"])
            .output()
            .unwrap(),
    );
    assert_eq!(code, Some(0), "{stderr}");
    let listed = json(&stdout);
    assert_eq!(listed.len(), 1, "{stdout}");
    let batch = &listed[0];
    assert_eq!(batch["batch_id"], id.as_str());
    assert_eq!(batch["state"], "in_progress", "{batch}");
    assert_eq!(batch["request_counts"]["processing"], 2, "{batch}");
    assert_eq!(batch["request_counts"]["succeeded"], 0, "{batch}");
    assert_eq!(
        (batch["requests"].as_u64(), batch["consumed"].as_u64()),
        (Some(2), Some(0))
    );
    assert!(batch["ended_at"].is_null(), "{batch}");
    assert_eq!(
        job_turns(batch),
        [("n/a".to_owned(), 1, 0), ("n/b".to_owned(), 1, 0)]
    );
    let (_, text, _) = listing(sb.cmd_against(&fake, ["batches"]).output().unwrap());
    assert!(text.starts_with("pending: 1 batch, oldest first"), "{text}");
    let line = text.lines().nth(1).unwrap();
    assert!(line.starts_with(&format!("{id}  in_progress  ")), "{text}");
    assert!(
        line.ends_with("2 requests, 0 consumed  2 processing  n/a turn 1, n/b turn 1"),
        "{text}"
    );

    // As recorded: with --offline (no call, though a key is set), and without a key.
    let polls = gets(&fake);
    let offline = listing(
        sb.cmd_against(&fake, ["batches", "--offline", "--json"])
            .output()
            .unwrap(),
    );
    let no_key = listing(sb.cmd(["batches", "--json"]).output().unwrap());
    assert_eq!(gets(&fake), polls);
    for ((code, stdout, stderr), says) in [(offline, "--offline"), (no_key, "ANTHROPIC_API_KEY")] {
        assert_eq!(code, Some(0), "{stderr}");
        assert_eq!(stderr.lines().count(), 1, "one note: {stderr}");
        assert!(stderr.contains(says), "{stderr}");
        let batch = &json(&stdout)[0];
        assert_eq!(batch["state"], "pending", "{batch}");
        assert!(batch["request_counts"].is_null(), "{batch}");
    }
    let (_, text, _) = listing(sb.cmd(["batches"]).output().unwrap());
    assert!(text.contains(&format!("{id}  pending  ")), "{text}");
    assert!(
        text.contains("2 requests, 0 consumed  -  n/a turn 1"),
        "{text}"
    );

    // The API fails for it: `unknown`, the error in a note, still exit 0.
    fake.push_faults(Endpoint::BatchGet, [Fault::status(404)]);
    let (code, stdout, stderr) = listing(
        sb.cmd_against(&fake, ["batches", "--json"])
            .output()
            .unwrap(),
    );
    assert_eq!(code, Some(0), "{stderr}");
    assert_eq!(json(&stdout)[0]["state"], "unknown");
    assert!(stderr.contains(&id) && stderr.contains("404"), "{stderr}");

    // Ended at the API while no runner watched: listed as waiting to be collected.
    fake.set_batch_delay(Duration::ZERO);
    assert!(fake.wait_until(Duration::from_secs(60), |s| s.batches_ended >= 1));
    let (code, stdout, _) = listing(sb.cmd_against(&fake, ["batches"]).output().unwrap());
    assert_eq!(code, Some(0));
    assert!(
        stdout.contains("ended (not yet collected: re-run to collect)  "),
        "{stdout}"
    );
    assert!(stdout.contains("2 succeeded"), "{stdout}");
}

#[test]
fn the_listing_as_people_read_it() {
    let fake = FakeServer::start();
    let sb = Sandbox::new();
    two_rounds(&sb);
    sb.cmd_against(&fake, ["run", "m.yaml", "--batch"])
        .assert()
        .success();
    killed_while_polling(&sb, &fake);
    let (code, stdout, stderr) = listing(sb.cmd_against(&fake, ["batches"]).output().unwrap());
    assert_eq!(code, Some(0), "{stderr}");
    assert_eq!(stderr, "");
    let filters = vec![
        (r"msgbatch_[0-9A-Za-z]+", "[BATCH_ID]"),
        (r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}Z", "[TIME]"),
    ];
    insta::with_settings!({filters => filters}, {
        insta::assert_snapshot!(stdout);
    });
}

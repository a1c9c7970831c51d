//! `runner run --batch` against the fake's Message Batches: the same output as online, no
//! request to `/v1/messages`, rounds of one request per job, item failures.

use fake_anthropic::FakeServer;

use crate::harness::{CommandExt, Sandbox, manifest};

/// Jobs with `pause_turn` continuations, follow-ups and a deliverables repair turn.
fn jobs(sb: &Sandbox) {
    sb.file("data/a.csv", "a\n1\n").file("data/b.csv", "b\n2\n").file(
        "m.yaml",
        manifest(concat!(
            "  - name: long\n    inputs: [data/a.csv]\n    prompt: \"first\\n@fake pause 2\"\n",
            "    follow_up:\n      - \"second\\n@fake pause 1\"\n      - third\n",
            "  - name: repaired\n    inputs: [data/b.csv]\n",
            "    prompt: \"Summarise.\\n@fake no-output\\n@fake turn 2 output summary.md 300\"\n",
            "    expect: [summary.md]\n",
            "  - name: plain\n    inputs: [data/a.csv, data/b.csv]\n    prompt: Plot it.\n",
        )),
    );
}

/// name → bytes of every file in a job's `files/`, each without the C2PA manifest the
/// fake, like the API, embeds afresh in images on every download (docs/api.md §0.5).
fn files(sb: &Sandbox, job: &str) -> Vec<(String, Vec<u8>)> {
    let dir = sb.root.join(format!("out/m/{job}/files"));
    let mut out: Vec<(String, Vec<u8>)> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| {
            let e = e.unwrap();
            (
                e.file_name().to_string_lossy().into_owned(),
                fake_anthropic::c2pa::unsign(&std::fs::read(e.path()).unwrap()),
            )
        })
        .collect();
    out.sort();
    out
}

/// The `*.json` file names directly in `dir`, sorted.
fn json_files(dir: &std::path::Path) -> Vec<String> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut names: Vec<String> = entries
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".json"))
        .collect();
    names.sort();
    names
}

/// Batches recorded for resuming (`OUT/.batches/*.json`).
fn pending_records(sb: &Sandbox) -> Vec<String> {
    json_files(&sb.root.join("out/.batches"))
}

/// Batches whose items all went to written jobs (`OUT/.batches/ended/`).
fn ended_records(sb: &Sandbox) -> Vec<String> {
    json_files(&sb.root.join("out/.batches/ended"))
}

fn stops(job: &serde_json::Value) -> Vec<(u64, u64, String)> {
    job["requests"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["turn"].as_u64().unwrap(),
                r["continuation"].as_u64().unwrap(),
                r["stop_reason"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

#[test]
fn a_batch_run_writes_what_an_online_run_writes_without_any_messages_request() {
    let online_fake = FakeServer::start();
    let online = Sandbox::new();
    jobs(&online);
    online
        .cmd_against(&online_fake, ["run", "m.yaml"])
        .assert()
        .success();

    let fake = FakeServer::start();
    let batch = Sandbox::new();
    jobs(&batch);
    let (code, summary) = batch.run_json(&fake, &["run", "m.yaml", "--batch"]);
    assert_eq!(code, Some(0), "{summary}");
    let stats = fake.stats();
    assert_eq!(stats.requests.get("messages"), None, "{:?}", stats.requests);
    assert!(fake.messages_requests().is_empty());

    for job in ["long", "repaired", "plain"] {
        let a = online.read_json(&format!("out/m/{job}/job.json"));
        let b = batch.read_json(&format!("out/m/{job}/job.json"));
        assert_eq!(b["status"], "succeeded", "{job}: {b}");
        assert_eq!(stops(&a), stops(&b), "{job}");
        assert_eq!(a["repair_turns"], b["repair_turns"], "{job}");
        assert_eq!(files(&online, job), files(&batch, job), "{job}");
        for r in b["requests"].as_array().unwrap() {
            assert!(
                r["batch_id"].as_str().unwrap().starts_with("msgbatch_"),
                "{r}"
            );
            assert!(r["custom_id"].is_string(), "{r}");
            assert_eq!(r["service_tier"], "batch", "{r}");
        }
        // Batch prices are half the online ones for the same usage.
        let (ca, cb) = (
            a["cost"]["usd"].as_f64().unwrap(),
            b["cost"]["usd"].as_f64().unwrap(),
        );
        assert!(cb < ca, "{job}: batch {cb} vs online {ca}");
        for name in ["report.md", "transcript.md"] {
            assert!(
                batch.root.join(format!("out/m/{job}/{name}")).is_file(),
                "{job}/{name}"
            );
        }
    }
    // Rounds: the first request of every job is in one batch; "long" needs 6 requests
    // (2 + 2 continuations, 2 follow-ups), so 6 rounds in all.
    let items = fake.batch_items();
    assert_eq!(stats.batches_created, 6, "{items:?}");
    let first = &items[0].batch_id;
    assert_eq!(items.iter().filter(|i| &i.batch_id == first).count(), 3);
    assert_eq!(items.len(), 6 + 2 + 1);
}

#[test]
fn errored_items_are_resubmitted_or_fail_the_job_with_the_apis_message() {
    let fake = FakeServer::start();
    let sb = Sandbox::with_manifest(concat!(
        "  - name: flaky\n    prompt: \"x\\n@fake batch errored overloaded_error 2\"\n",
        "  - name: invalid\n    prompt: \"x\\n@fake fail 400 invalid_request_error\"\n",
        "  - name: overloaded\n    prompt: \"x\\n@fake batch errored overloaded_error\"\n",
    ));
    let (code, summary) = sb.run_json(&fake, &["run", "m.yaml", "--batch", "--max-attempts", "3"]);
    assert_eq!(code, Some(1), "{summary}");
    let flaky = sb.read_json("out/m/flaky/job.json");
    assert_eq!(flaky["status"], "succeeded", "{flaky}");
    let invalid = sb.read_json("out/m/invalid/job.json");
    assert_eq!(invalid["error"]["kind"], "api", "{invalid}");
    assert!(
        invalid["error"]["message"]
            .as_str()
            .unwrap()
            .contains("invalid_request_error"),
        "{invalid}"
    );
    let overloaded = sb.read_json("out/m/overloaded/job.json");
    assert_eq!(overloaded["error"]["kind"], "api", "{overloaded}");
    // invalid: once; flaky: 3 submissions (2 errored); overloaded: --max-attempts 3.
    let count = |needle: &str| {
        fake.batch_items()
            .iter()
            .filter(|i| i.params.to_string().contains(needle))
            .count()
    };
    assert_eq!(count("fail 400"), 1);
    assert_eq!(count("overloaded_error 2"), 3);
    assert_eq!(count("overloaded_error\""), 3);
}

#[test]
fn an_item_that_expires_twice_fails_with_batch_expired_and_once_is_resubmitted() {
    let fake = FakeServer::start();
    let sb = Sandbox::with_manifest(concat!(
        "  - name: once\n    prompt: \"x\\n@fake batch expired 1\"\n",
        "  - name: always\n    prompt: \"x\\n@fake batch expired\"\n",
    ));
    let (code, summary) = sb.run_json(&fake, &["run", "m.yaml", "--batch"]);
    assert_eq!(code, Some(1), "{summary}");
    assert_eq!(sb.read_json("out/m/once/job.json")["status"], "succeeded");
    let always = sb.read_json("out/m/always/job.json");
    assert_eq!(always["error"]["kind"], "batch_expired", "{always}");
    assert_eq!(fake.batch_items().len(), 4);
}

#[test]
fn batch_true_in_the_config_file_is_the_default_and_no_batch_overrides_it() {
    let fake = FakeServer::start();
    let sb = Sandbox::new();
    sb.file("m.yaml", manifest("  - name: a\n    prompt: hi\n"))
        .file("runner.toml", "batch = true\n");
    sb.cmd_against(&fake, ["run", "m.yaml"]).assert().success();
    assert_eq!(fake.stats().batches_created, 1);
    assert_eq!(fake.stats().requests.get("messages"), None);
    sb.cmd_against(&fake, ["run", "m.yaml", "--no-batch", "--force"])
        .assert()
        .success();
    assert_eq!(fake.stats().batches_created, 1);
    assert_eq!(fake.stats().requests.get("messages"), Some(&1));
}

#[test]
fn a_runner_killed_while_polling_resumes_its_batch_and_submits_nothing_twice() {
    use std::time::Duration;
    let fake = FakeServer::start();
    fake.set_batch_delay(Duration::from_secs(600));
    let sb = Sandbox::new();
    jobs(&sb);
    let mut child = sb.spawn_against(&fake, &["run", "m.yaml", "--batch"]);
    // Polled at least once: the batch was recorded before that.
    assert!(fake.wait_until(Duration::from_secs(60), |s| {
        s.requests.get("batch_get").copied().unwrap_or(0) >= 1
    }));
    child.kill().unwrap();
    child.wait().unwrap();
    assert_eq!(fake.stats().batches_created, 1);
    assert_eq!(pending_records(&sb).len(), 1);

    fake.set_batch_delay(Duration::ZERO);
    let (code, summary) = sb.run_json(&fake, &["run", "m.yaml", "--batch"]);
    assert_eq!(code, Some(0), "{summary}");
    for job in ["long", "repaired", "plain"] {
        assert_eq!(
            sb.read_json(&format!("out/m/{job}/job.json"))["status"],
            "succeeded"
        );
    }
    // Every request submitted once: 9 distinct items, the first round's 3 in the batch
    // the killed runner created.
    let items = fake.batch_items();
    assert_eq!(items.len(), 9, "{items:?}");
    let distinct: std::collections::HashSet<String> =
        items.iter().map(|i| i.params.to_string()).collect();
    assert_eq!(distinct.len(), 9);
    assert_eq!(fake.stats().batches_created, 6);
    let first = &items[0].batch_id;
    let job = sb.read_json("out/m/plain/job.json");
    assert_eq!(&job["requests"][0]["batch_id"], first);
    // Nothing is left to resume: every record moved to the ended ones.
    assert_eq!(pending_records(&sb), Vec::<String>::new());
    assert_eq!(ended_records(&sb).len(), 6);
}

#[test]
fn sigterm_while_waiting_exits_130_and_leaves_the_batch_recorded_for_the_rerun() {
    use std::time::Duration;
    let fake = FakeServer::start();
    fake.set_batch_delay(Duration::from_secs(600));
    let sb = Sandbox::with_manifest("  - name: a\n    prompt: hi\n");
    let mut child = sb.spawn_against(&fake, &["run", "m.yaml", "--batch"]);
    assert!(fake.wait_until(Duration::from_secs(60), |s| {
        s.requests.get("batch_get").copied().unwrap_or(0) >= 1
    }));
    assert_eq!(
        crate::harness::signal_and_wait(&mut child, "-TERM"),
        Some(130)
    );
    assert_eq!(sb.read_json("out/run.json")["counts"]["interrupted"], 1);
    // Not canceled: the batch is still with the API, and recorded for the re-run.
    assert_eq!(fake.stats().requests.get("batch_cancel"), None);
    assert_eq!(pending_records(&sb).len(), 1);
    fake.set_batch_delay(Duration::ZERO);
    sb.cmd_against(&fake, ["run", "m.yaml", "--batch"])
        .assert()
        .success();
    assert_eq!(fake.batch_items().len(), 1);
}

#[test]
fn cancel_on_interrupt_cancels_the_waiting_batch() {
    use std::time::Duration;
    let fake = FakeServer::start();
    fake.set_batch_delay(Duration::from_secs(600));
    let sb = Sandbox::with_manifest("  - name: a\n    prompt: hi\n");
    let mut child = sb.spawn_against(
        &fake,
        &["run", "m.yaml", "--batch", "--cancel-on-interrupt"],
    );
    assert!(fake.wait_until(Duration::from_secs(60), |s| {
        s.requests.get("batch_get").copied().unwrap_or(0) >= 1
    }));
    assert_eq!(
        crate::harness::signal_and_wait(&mut child, "-INT"),
        Some(130)
    );
    assert_eq!(fake.stats().requests.get("batch_cancel"), Some(&1));
    assert_eq!(fake.stats().batches_ended, 1);
    // Still recorded: the re-run takes what the canceled batch had answered (here nothing)
    // and submits the rest again.
    assert_eq!(pending_records(&sb).len(), 1);
    fake.set_batch_delay(Duration::ZERO);
    sb.cmd_against(&fake, ["run", "m.yaml", "--batch"])
        .assert()
        .success();
    assert_eq!(fake.stats().batches_created, 2);
    assert_eq!(fake.batch_items().len(), 2);
    assert_eq!(sb.read_json("out/m/a/job.json")["status"], "succeeded");
    assert_eq!(pending_records(&sb), Vec::<String>::new());
    assert_eq!(ended_records(&sb).len(), 2);
}

/// `batch_id` of each request in a job's job.json (`None` for online ones).
fn batch_ids(job: &serde_json::Value) -> Vec<Option<String>> {
    job["requests"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            r.get("batch_id")
                .and_then(|b| b.as_str())
                .map(str::to_owned)
        })
        .collect()
}

#[test]
fn at_the_deadline_the_waiting_batch_is_canceled_and_its_jobs_finish_online() {
    use std::time::Duration;
    let fake = FakeServer::start();
    fake.set_batch_delay(Duration::from_secs(600));
    let sb = Sandbox::new();
    jobs(&sb);
    let (code, summary) = sb.run_json(
        &fake,
        &["run", "m.yaml", "--batch", "--batch-deadline", "1s"],
    );
    assert_eq!(code, Some(0), "{summary}");
    let stats = fake.stats();
    assert_eq!(stats.batches_created, 1);
    assert_eq!(stats.requests.get("batch_cancel"), Some(&1));
    // Every request online, the canceled first round included: 6 + 2 + 1.
    assert_eq!(fake.messages_requests().len(), 9);
    for job in ["long", "repaired", "plain"] {
        let j = sb.read_json(&format!("out/m/{job}/job.json"));
        assert_eq!(j["status"], "succeeded", "{job}: {j}");
        assert!(batch_ids(&j).iter().all(Option::is_none), "{job}: {j}");
    }
    assert_eq!(pending_records(&sb), Vec::<String>::new());
    let ended = ended_records(&sb);
    assert_eq!(ended.len(), 1);
    let record = sb.read_json(&format!("out/.batches/ended/{}", ended[0]));
    assert_eq!(record["ended"]["canceled"], true, "{record}");
}

#[test]
fn a_deadline_after_the_first_round_keeps_its_answers_and_sends_the_rest_online() {
    use std::time::Duration;
    let fake = FakeServer::start();
    // Round 1 is answered at once; round 2 would wait ten minutes.
    fake.set_batch_delay_from(2, Duration::from_secs(600));
    let sb = Sandbox::new();
    jobs(&sb);
    let (code, summary) = sb.run_json(
        &fake,
        &["run", "m.yaml", "--batch", "--batch-deadline", "4s"],
    );
    assert_eq!(code, Some(0), "{summary}");
    assert_eq!(fake.stats().batches_created, 2);
    assert_eq!(fake.stats().requests.get("batch_cancel"), Some(&1));
    for job in ["long", "repaired", "plain"] {
        let j = sb.read_json(&format!("out/m/{job}/job.json"));
        assert_eq!(j["status"], "succeeded", "{job}: {j}");
        let ids = batch_ids(&j);
        assert!(
            ids[0].is_some(),
            "{job}: the first request came from round 1: {j}"
        );
        assert!(ids[1..].iter().all(Option::is_none), "{job}: {j}");
    }
    // Round 1's 3 requests were paid in the batch; the other 6 online only.
    assert_eq!(fake.messages_requests().len(), 6);
    let items = fake.batch_items();
    assert_eq!(items.len(), 3 + 2, "{items:?}");
}

#[test]
fn a_result_missing_from_the_results_fails_its_job_instead_of_hanging() {
    let fake = FakeServer::start();
    let sb = Sandbox::with_manifest(concat!(
        "  - name: lost\n    prompt: \"x\\n@fake batch missing\"\n",
        "  - name: fine\n    prompt: hi\n",
    ));
    let (code, summary) = sb.run_json(&fake, &["run", "m.yaml", "--batch"]);
    assert_eq!(code, Some(1), "{summary}");
    assert_eq!(sb.read_json("out/m/fine/job.json")["status"], "succeeded");
    let lost = sb.read_json("out/m/lost/job.json");
    assert_eq!(lost["status"], "failed", "{lost}");
    assert_eq!(lost["error"]["kind"], "api", "{lost}");
    let message = lost["error"]["message"].as_str().unwrap();
    assert!(
        message.contains("ended without a result for custom_id"),
        "{message}"
    );
    assert_eq!(fake.batch_items().len(), 2);
}

#[test]
fn a_runner_killed_in_a_later_round_resumes_every_round_and_pays_nothing_twice() {
    use std::time::Duration;
    let fake = FakeServer::start();
    fake.set_batch_delay_from(2, Duration::from_secs(600));
    let sb = Sandbox::new();
    jobs(&sb);
    let mut child = sb.spawn_against(&fake, &["run", "m.yaml", "--batch"]);
    // Round 1's results went to the jobs ("plain" is even done), round 2 is recorded:
    // both records are kept until the jobs that used them are written.
    assert!(fake.wait_until(Duration::from_secs(60), |s| {
        s.batches_created >= 2 && pending_records(&sb).len() == 2
    }));
    child.kill().unwrap();
    child.wait().unwrap();
    // Each record names the job, turn and continuation of every item.
    let round2 = fake.batch_items()[3].batch_id.clone();
    let record = sb.read_json(&format!("out/.batches/{round2}.json"));
    let mut items: Vec<(String, u64, u64)> = record["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| {
            (
                i["job"].as_str().unwrap().to_owned(),
                i["turn"].as_u64().unwrap(),
                i["continuation"].as_u64().unwrap(),
            )
        })
        .collect();
    items.sort();
    assert_eq!(
        items,
        [("m/long".to_owned(), 1, 1), ("m/repaired".to_owned(), 2, 0)],
        "{record}"
    );

    fake.set_batch_delay(Duration::ZERO);
    let (code, summary) = sb.run_json(&fake, &["run", "m.yaml", "--batch"]);
    assert_eq!(code, Some(0), "{summary}");
    let items = fake.batch_items();
    let distinct: std::collections::HashSet<String> =
        items.iter().map(|i| i.params.to_string()).collect();
    assert_eq!(items.len(), 9, "{items:?}");
    assert_eq!(distinct.len(), 9);
    for job in ["long", "repaired", "plain"] {
        assert_eq!(
            sb.read_json(&format!("out/m/{job}/job.json"))["status"],
            "succeeded"
        );
    }
    assert_eq!(pending_records(&sb), Vec::<String>::new());
    assert_eq!(ended_records(&sb).len(), 6);
}

#[test]
fn batch_poll_and_batch_deadline_are_checked_before_anything_is_sent() {
    let fake = FakeServer::start();
    let sb = Sandbox::with_manifest("  - name: a\n    prompt: hi\n");
    for (args, needle) in [
        (&["--batch-poll", "0s"][..], "longer than zero"),
        (
            &["--batch-poll", "1m..10s"][..],
            "MAX is shorter than FIRST",
        ),
        (&["--batch-poll", "soon"][..], "expected FIRST[..MAX]"),
        (&["--batch-deadline", "tomorrow"][..], "not a duration"),
    ] {
        let out = sb
            .cmd_against(&fake, ["run", "m.yaml", "--batch"].iter().chain(args))
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains(needle), "{args:?}: {stderr}");
    }
    sb.file("runner.toml", "batch = true\nbatch_poll = \"2m..1m\"\n");
    let stderr = sb.cmd_against(&fake, ["run", "m.yaml"]).exit_stderr(2);
    assert!(stderr.contains("MAX is shorter"));
    assert!(fake.log().is_empty(), "{:?}", fake.log());
}

#[test]
fn a_batch_canceled_by_someone_else_leaves_its_jobs_not_started_or_interrupted() {
    use std::time::Duration;
    let fake = FakeServer::start();
    fake.set_batch_delay(Duration::from_secs(600));
    let sb = Sandbox::with_manifest("  - name: a\n    prompt: \"hi\\n@fake pause 1\"\n");
    // Canceled (in the Console, say) while it holds the job's first request.
    let mut child = sb.spawn_against(&fake, &["run", "m.yaml", "--batch"]);
    assert!(fake.wait_until(Duration::from_secs(60), |s| {
        s.requests.get("batch_get").copied().unwrap_or(0) >= 1
    }));
    fake.cancel_batch(&fake.batch_items()[0].batch_id);
    assert_eq!(child.wait().unwrap().code(), Some(1));
    let run = sb.read_json("out/run.json");
    let line = &run["jobs"][0];
    assert_eq!(line["status"], "not_started", "{run}");
    assert_eq!(line["reason"], "batch_canceled", "{run}");
    assert!(
        line["error"]["message"]
            .as_str()
            .unwrap()
            .contains("was canceled"),
        "{run}"
    );

    // Canceled while it holds the job's continuation: the job was under way.
    fake.set_batch_delay_from(3, Duration::from_secs(600));
    let mut child = sb.spawn_against(&fake, &["run", "m.yaml", "--batch"]);
    assert!(fake.wait_until(Duration::from_secs(60), |s| { s.batches_created >= 3 }));
    let held = fake.batch_items().last().unwrap().batch_id.clone();
    fake.cancel_batch(&held);
    assert_eq!(child.wait().unwrap().code(), Some(130));
    let run = sb.read_json("out/run.json");
    assert_eq!(run["jobs"][0]["status"], "interrupted", "{run}");

    // Nothing canceled was paid for: the re-run submits it again and finishes.
    fake.set_batch_delay(Duration::ZERO);
    sb.cmd_against(&fake, ["run", "m.yaml", "--batch"])
        .assert()
        .success();
    assert_eq!(sb.read_json("out/m/a/job.json")["status"], "succeeded");
    assert_eq!(fake.stats().requests.get("batch_cancel"), None);
}

#[test]
fn the_budget_reserves_batch_requests_at_batch_prices() {
    // One request's bound: 10 model calls of 2,000 output tokens at $15 per million is
    // $0.30 online and $0.15 in a batch, plus at most 7 and 4 cents of input: $0.25 lies
    // between them.
    let sb = Sandbox::with_manifest("  - name: a\n    max_tokens: 2000\n    prompt: hi\n");
    let fake = FakeServer::start();
    let (code, summary) = sb.run_json(&fake, &["run", "m.yaml", "--budget-usd", "0.25"]);
    assert_eq!(code, Some(1), "{summary}");
    // Its first request not sent, the job did not start.
    assert_eq!(summary["jobs"][0]["reason"], "budget", "{summary}");
    let (code, summary) = sb.run_json(&fake, &["run", "m.yaml", "--batch", "--budget-usd", "0.25"]);
    assert_eq!(code, Some(0), "{summary}");
    assert_eq!(summary["jobs"][0]["status"], "succeeded", "{summary}");
}

//! Unattended reliability against the fake's fault injection: what is retried, how long
//! the runner waits, the shared pause after a 429, retried uploads and downloads, files the
//! API lost, expired containers, signals, and a rate-limited run of 50 jobs.

use std::io::BufRead;
use std::time::Duration;

use fake_anthropic::{Config, Endpoint, FakeServer, Fault, LogEntry, RateLimit};

use crate::harness::{CommandExt, Sandbox, manifest};

fn messages_log(fake: &FakeServer) -> Vec<LogEntry> {
    fake.log()
        .into_iter()
        .filter(|e| e.endpoint == Some(Endpoint::Messages))
        .collect()
}

/// A finished run of one job with one input; returns the input's file id.
fn one_uploaded_input() -> (FakeServer, Sandbox, String) {
    let fake = FakeServer::start();
    let sb = Sandbox::with_manifest("  - name: j\n    inputs: [data/a.csv]\n    prompt: go\n");
    sb.file("data/a.csv", "a\n1\n");
    sb.cmd_against(&fake, ["run", "m.yaml"]).assert().success();
    let id = sb.read_json("out/m/j/job.json")["inputs"][0]["file_id"]
        .as_str()
        .unwrap()
        .to_owned();
    (fake, sb, id)
}

/// Runs one job whose first Messages request meets `fault`; returns whether the runner
/// tried again and the exit code.
fn retried_after(fault: Fault) -> (bool, Option<i32>) {
    let fake = FakeServer::start();
    let sb = Sandbox::with_manifest("  - name: j\n    prompt: go\n");
    fake.push_faults(Endpoint::Messages, [fault]);
    let out = sb.cmd_against(&fake, ["run", "m.yaml"]).output().unwrap();
    (fake.stats().retries_seen > 0, out.status.code())
}

#[test]
fn transient_failures_are_retried_and_permanent_ones_are_not() {
    let codes = [
        400, 401, 403, 404, 408, 409, 413, 429, 500, 502, 503, 504, 529,
    ];
    let mut retried = Vec::new();
    for code in codes {
        let (again, exit) = retried_after(Fault::status(code));
        assert_eq!(exit, Some(if again { 0 } else { 1 }), "status {code}");
        if again {
            retried.push(code);
        }
    }
    assert_eq!(retried, [408, 409, 429, 500, 502, 503, 504, 529]);

    assert_eq!(
        retried_after(Fault::spend_cap()),
        (false, Some(1)),
        "spend cap"
    );
    assert_eq!(
        retried_after(Fault::DropConnection),
        (true, Some(0)),
        "dropped connection"
    );
    let told = |status, should_retry| Fault::Status {
        status,
        error_type: "api_error".into(),
        error_code: None,
        retry_after: None,
        should_retry: Some(should_retry),
    };
    assert_eq!(
        retried_after(told(400, true)),
        (true, Some(0)),
        "x-should-retry: true"
    );
    assert_eq!(
        retried_after(told(503, false)),
        (false, Some(1)),
        "x-should-retry: false"
    );
}

#[test]
fn retry_after_is_waited_exactly_as_the_fake_records() {
    let fake = FakeServer::start();
    let sb = Sandbox::with_manifest("  - name: j\n    prompt: go\n");
    fake.push_faults(Endpoint::Messages, [Fault::rate_limited(0.3)]);
    sb.cmd_against(&fake, ["run", "m.yaml"])
        .env("RUNNER_TEST_DELAY_SCALE", "1")
        .assert()
        .success();
    let log = messages_log(&fake);
    assert_eq!(log.len(), 2);
    assert_eq!(log[0].status, 429);
    let gap = log[1].at - log[0].answered_at.unwrap();
    assert!(gap >= Duration::from_millis(300), "retried after {gap:?}");
    assert!(
        gap < Duration::from_millis(1300),
        "waited far too long: {gap:?}"
    );
    assert_eq!(log[1].retry_count, 1);
}

#[test]
fn giving_up_names_the_attempts_and_the_last_request_id() {
    let fake = FakeServer::start();
    let sb = Sandbox::with_manifest("  - name: j\n    prompt: go\n");
    fake.push_faults(Endpoint::Messages, (0..3).map(|_| Fault::status(529)));
    sb.cmd_against(&fake, ["run", "--max-attempts", "3", "m.yaml"])
        .assert()
        .code(1);
    let error = &sb.read_json("out/m/j/job.json")["error"];
    let message = error["message"].as_str().unwrap();
    assert!(message.contains("HTTP 529 overloaded_error"), "{message}");
    assert!(message.ends_with("(gave up after 3 attempts)"), "{message}");
    let last = messages_log(&fake).pop().unwrap();
    assert_eq!(error["request_id"], last.request_id.as_str());
    assert!(message.contains(&last.request_id));
}

#[test]
fn a_429_pauses_every_job_for_its_retry_after() {
    let fake = FakeServer::start();
    let sb = Sandbox::new();
    // Each job makes two requests (one pause_turn continuation).
    sb.file(
        "m.yaml",
        manifest("  - name: a\n    prompt: \"@fake pause 1\"\n  - name: b\n    prompt: \"@fake pause 1\"\n"),
    );
    // The first request goes alone (until an answer shows the rate limits, docs/api.md
    // §4.3); of the two sent after its answer, one is parked and the other is told to
    // wait 400 ms.
    fake.push_faults(
        Endpoint::Messages,
        [
            Fault::Delay(Duration::ZERO),
            Fault::Hold,
            Fault::rate_limited(0.4),
        ],
    );
    let mut child = sb
        .std_cmd_against(&fake, ["run", "-j", "2", "m.yaml"])
        .env("RUNNER_TEST_DELAY_SCALE", "1")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let both = fake.wait_until(Duration::from_secs(30), |s| {
        s.held == 1 && s.faults_served == 3
    });
    fake.release_held();
    assert!(child.wait().unwrap().success());
    assert!(both);
    let log = messages_log(&fake);
    assert_eq!(
        log.len(),
        5,
        "the first request, the parked one, the 429, its retry, one continuation"
    );
    let limited = log.iter().find(|e| e.status == 429).unwrap();
    let answered = limited.answered_at.unwrap();
    let window_end = answered + Duration::from_millis(400);
    // The parked request may reach the fake just after the 429 went out: it was already on
    // the wire. Every request sent later waited out the window, including the other job's
    // continuation.
    let later: Vec<&LogEntry> = log
        .iter()
        .filter(|e| e.at > answered + Duration::from_millis(20))
        .collect();
    assert!(later.len() >= 2, "{log:#?}");
    for e in later {
        assert!(
            e.at >= window_end,
            "a request arrived {:?} into the window",
            e.at - answered
        );
    }
}

#[test]
fn uploads_and_downloads_are_retried_until_complete() {
    let fake = FakeServer::start();
    let sb = Sandbox::with_manifest("  - name: j\n    inputs: [data/a.csv]\n    prompt: go\n");
    sb.file("data/a.csv", "a\n1\n");
    fake.push_faults(
        Endpoint::Upload,
        [Fault::status(500), Fault::DropConnection],
    );
    fake.push_faults(Endpoint::Download, [Fault::ShortBody, Fault::status(503)]);
    sb.cmd_against(&fake, ["run", "m.yaml"]).assert().success();
    let stats = fake.stats();
    assert_eq!(stats.upload_count, 1, "the failed attempts stored nothing");
    let job = sb.read_json("out/m/j/job.json");
    for out in job["outputs"].as_array().unwrap() {
        let bytes =
            std::fs::read(sb.root.join("out/m/j").join(out["path"].as_str().unwrap())).unwrap();
        // Images come with a C2PA manifest embedded on download (docs/api.md §0.5).
        assert_eq!(
            Some(fake_anthropic::c2pa::unsign(&bytes)),
            fake.file_bytes(out["file_id"].as_str().unwrap())
        );
    }
    assert!(stats.retries_seen >= 4);
}

#[test]
fn a_file_the_api_lost_after_verification_is_uploaded_again_once() {
    let (fake, sb, old_id) = one_uploaded_input();

    // The cached id is verified, then the file disappears before the conversation uses it.
    fake.push_faults(Endpoint::Messages, [Fault::Hold]);
    let mut child = sb.spawn_against(&fake, &["run", "--force", "m.yaml"]);
    assert!(fake.wait_until(Duration::from_secs(30), |s| s.held == 1));
    fake.delete_file(&old_id);
    fake.release_held();
    assert!(child.wait().unwrap().success());
    assert_eq!(fake.stats().upload_count, 2);
    let job = sb.read_json("out/m/j/job.json");
    assert_ne!(job["inputs"][0]["file_id"], old_id.as_str());
    // The cache now holds the new id: the next forced run uploads nothing.
    sb.cmd_against(&fake, ["run", "--force", "m.yaml"])
        .assert()
        .success();
    assert_eq!(fake.stats().upload_count, 2);
}

#[test]
fn a_404_that_is_not_about_files_fails_without_uploading_again() {
    let fake = FakeServer::start();
    let sb = Sandbox::with_manifest(
        "  - name: j\n    inputs: [data/a.csv]\n    prompt: \"@fake fail 404 not_found_error\"\n",
    );
    sb.file("data/a.csv", "a\n1\n");
    sb.cmd_against(&fake, ["run", "m.yaml"]).assert().code(1);
    assert_eq!(fake.stats().upload_count, 1);
    assert_eq!(fake.stats().requests["messages"], 1);
}

#[test]
fn an_expired_container_fails_the_follow_up_clearly_and_never_loops() {
    let fake = FakeServer::start();
    let sb = Sandbox::with_manifest("  - name: j\n    prompt: first\n    follow_up: [second]\n");
    // The first turn goes through; the follow-up is parked while its container expires.
    fake.push_faults(
        Endpoint::Messages,
        [Fault::Delay(Duration::ZERO), Fault::Hold],
    );
    let mut child = sb.spawn_against(&fake, &["run", "m.yaml"]);
    assert!(fake.wait_until(Duration::from_secs(30), |s| s.held == 1));
    let container = fake.stats().containers.into_keys().next().unwrap();
    fake.expire_container(&container);
    fake.release_held();
    assert_eq!(child.wait().unwrap().code(), Some(1));
    let job = sb.read_json("out/m/j/job.json");
    assert_eq!(job["status"], "failed");
    assert_eq!(job["error"]["kind"], "api");
    assert!(
        job["error"]["message"]
            .as_str()
            .unwrap()
            .contains("HTTP 400 invalid_request_error")
    );
    assert_eq!(fake.stats().requests["messages"], 2);
    // The first turn's answer is kept in the report.
    assert!(
        std::fs::read_to_string(sb.root.join("out/m/j/report.md"))
            .unwrap()
            .contains("## Turn 1")
    );
}

#[test]
fn an_expired_container_reported_as_a_500_fails_at_once_instead_of_retrying() {
    // Every container expires as its answer is sent: the follow-up names one whose expiry,
    // as the first answer gave it, has passed.
    let fake = FakeServer::start_with(Config {
        container_ttl: Some(Duration::ZERO),
        expired_container_500: true,
        ..Config::default()
    });
    let sb = Sandbox::with_manifest("  - name: j\n    prompt: first\n    follow_up: [second]\n");
    sb.cmd_against(&fake, ["run", "m.yaml"]).assert().code(1);
    let job = sb.read_json("out/m/j/job.json");
    assert_eq!(job["error"]["kind"], "api");
    let message = job["error"]["message"].as_str().unwrap();
    assert!(
        message.contains("HTTP 500") && message.contains("expired at"),
        "{message}"
    );
    assert_eq!(
        fake.stats().requests["messages"],
        2,
        "the first turn, and the follow-up once: a 500 naming an expired container is final"
    );
}

#[test]
fn a_second_signal_stops_at_once_and_nothing_is_half_written() {
    let fake = FakeServer::start();
    let sb = Sandbox::with_manifest("  - name: j\n    prompt: go\n");
    // A download in flight is work the first signal lets finish.
    fake.push_faults(Endpoint::Download, [Fault::Hold]);
    let mut child = sb
        .std_cmd_against(&fake, ["run", "m.yaml"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    assert!(fake.wait_until(Duration::from_secs(30), |s| s.held == 1));
    let signal = |pid: u32| {
        assert!(
            std::process::Command::new("kill")
                .args(["-INT", &pid.to_string()])
                .status()
                .unwrap()
                .success()
        );
    };
    signal(child.id());
    let mut stderr = std::io::BufReader::new(child.stderr.take().unwrap());
    let mut line = String::new();
    while stderr.read_line(&mut line).unwrap() > 0
        && !line.contains("interrupted: starting no new work")
    {
        line.clear();
    }
    assert!(
        line.contains("interrupted"),
        "the first signal was not acknowledged"
    );
    assert!(
        child.try_wait().unwrap().is_none(),
        "the in-flight download was abandoned"
    );
    signal(child.id());
    let status = child.wait().unwrap();
    fake.release_held();
    assert_eq!(status.code(), Some(130));
    // Nothing half-written: no job folder, no run.json; only a hidden staging folder,
    // which the next run tidies away before finishing the job.
    assert!(!sb.root.join("out/m/j").exists());
    assert!(!sb.root.join("out/run.json").exists());
    sb.cmd_against(&fake, ["run", "m.yaml"]).assert().success();
    let leftovers: Vec<_> = std::fs::read_dir(sb.root.join("out/m"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(leftovers, ["j"]);
}

#[test]
fn two_runners_sharing_a_state_dir_keep_every_cache_entry() {
    let fake = FakeServer::start();
    let sb = Sandbox::new();
    let mut jobs_a = String::new();
    let mut jobs_b = String::new();
    for i in 0..12 {
        sb.file(&format!("data/a{i}.csv"), format!("a,{i}\n"));
        sb.file(&format!("data/b{i}.csv"), format!("b,{i}\n"));
        jobs_a.push_str(&format!(
            "  - name: a{i}\n    inputs: [data/a{i}.csv]\n    prompt: go\n"
        ));
        jobs_b.push_str(&format!(
            "  - name: b{i}\n    inputs: [data/b{i}.csv]\n    prompt: go\n"
        ));
    }
    sb.file("a.yaml", manifest(&jobs_a))
        .file("b.yaml", manifest(&jobs_b));
    let mut first = sb.spawn_against(&fake, &["run", "-o", "out-a", "--uploads", "1", "a.yaml"]);
    let mut second = sb.spawn_against(&fake, &["run", "-o", "out-b", "--uploads", "1", "b.yaml"]);
    assert!(first.wait().unwrap().success());
    assert!(second.wait().unwrap().success());
    let cache = sb.read_json(".state/uploads.json");
    assert_eq!(cache["entries"].as_array().unwrap().len(), 24);
    // Both runs are fresh now, with every upload known.
    let (code, summary) = sb.run_json(
        &fake,
        &["run", "--force", "-o", "out-c", "a.yaml", "b.yaml"],
    );
    assert_eq!(code, Some(0));
    assert_eq!(summary["uploads"]["uploaded"], 0);
    assert_eq!(summary["uploads"]["reused"], 24);
}

#[test]
fn fifty_jobs_under_a_rate_limit_and_random_overload_all_succeed_politely() {
    let fake = FakeServer::start_with(Config {
        rate_limit: Some(RateLimit {
            requests: 25,
            window: Duration::from_secs(1),
        }),
        random_overload: Some((0.05, 7)),
        ..Config::default()
    });
    let sb = Sandbox::new();
    let jobs: String = (0..50)
        .map(|i| format!("  - name: j{i}\n    prompt: go\n"))
        .collect();
    sb.file("m.yaml", manifest(&jobs));
    let summary: serde_json::Value = sb
        .cmd_against(&fake, ["run", "-j", "8", "--json", "m.yaml"])
        .env("RUNNER_TEST_DELAY_SCALE", "1")
        .success_json();
    assert_eq!(summary["counts"]["succeeded"], 50);

    // No request was sent inside a retry-after window. A request already on the wire when
    // the 429 went out is not the runner's doing: allow it a few milliseconds.
    let log = messages_log(&fake);
    let in_flight = Duration::from_millis(20);
    let mut violations = Vec::new();
    for limited in log.iter().filter(|e| e.retry_after.is_some()) {
        let from = limited.answered_at.unwrap() + in_flight;
        let until = limited.answered_at.unwrap() + limited.retry_after.unwrap();
        violations.extend(
            log.iter()
                .filter(|e| e.at > from && e.at < until)
                .map(|e| e.request_id.clone()),
        );
    }
    assert!(
        violations.is_empty(),
        "{} requests inside a retry-after window",
        violations.len()
    );
}

#[test]
fn tool_errors_inside_a_200_are_recorded_and_the_job_still_succeeds() {
    let fake = FakeServer::start();
    let sb = Sandbox::with_manifest(
        "  - name: j\n    prompt: \"go\\n@fake tool-error bash execution_time_exceeded\\n@fake tool-error text_editor file_not_found\"\n",
    );
    sb.cmd_against(&fake, ["run", "m.yaml"]).assert().success();
    assert_eq!(sb.read_json("out/m/j/job.json")["status"], "succeeded");
    let transcript = sb.read("out/m/j/transcript.md");
    assert!(
        transcript.contains("execution_time_exceeded"),
        "{transcript}"
    );
    assert!(transcript.contains("file_not_found"), "{transcript}");
}

#[test]
fn slow_responses_are_waited_for_not_mistaken_for_failures() {
    let fake = FakeServer::start();
    let sb = Sandbox::with_manifest(
        "  - name: j\n    inputs: [data/a.csv]\n    prompt: \"go\\n@fake sleep 1500\"\n",
    );
    sb.file("data/a.csv", "a\n1\n");
    fake.push_faults(Endpoint::Upload, [Fault::Delay(Duration::from_millis(500))]);
    fake.push_faults(
        Endpoint::Download,
        [Fault::Delay(Duration::from_millis(500))],
    );
    sb.cmd_against(&fake, ["run", "m.yaml"]).assert().success();
    assert_eq!(fake.stats().retries_seen, 0, "nothing timed out");
}

#[test]
fn an_expired_cached_file_is_uploaded_again_before_use() {
    let (fake, sb, id) = one_uploaded_input();
    fake.expire_file(&id);
    let (code, summary) = sb.run_json(&fake, &["run", "--force", "m.yaml"]);
    assert_eq!(code, Some(0));
    assert_eq!(summary["uploads"]["uploaded"], 1);
    assert_eq!(fake.stats().upload_count, 2);
    // The conversation never saw the expired id.
    let last = fake.messages_requests().pop().unwrap();
    assert_ne!(last["messages"][0]["content"][1]["file_id"], id.as_str());
}

#[test]
fn a_file_that_expires_during_the_run_is_uploaded_again() {
    let (fake, sb, id) = one_uploaded_input();
    // The id is verified alive at the start; it expires while the first request waits.
    fake.push_faults(Endpoint::Messages, [Fault::Hold]);
    let child = sb
        .std_cmd_against(&fake, ["run", "--force", "--json", "m.yaml"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    assert!(fake.wait_until(Duration::from_secs(30), |s| s.held == 1));
    fake.expire_file(&id);
    fake.release_held();
    let out = child.wait_with_output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // Still listed (with `expires_at` in the past), yet uploaded again and the job retried.
    assert_eq!(fake.stats().upload_count, 2);
    let last = fake.messages_requests().pop().unwrap();
    assert_ne!(last["messages"][0]["content"][1]["file_id"], id.as_str());
    assert_ne!(
        sb.read_json("out/m/j/job.json")["inputs"][0]["file_id"],
        id.as_str()
    );
}

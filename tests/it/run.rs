//! `runner run` end to end against the fake API over real HTTP: dedup, containers,
//! pause_turn and follow-ups, downloads, failures as values, concurrency.

use std::collections::BTreeMap;
use std::time::Duration;

use fake_anthropic::{Endpoint, FakeServer, Fault};

use crate::harness::{CommandExt, Sandbox, assert_exit, assert_success, manifest};

fn blake3_hex(bytes: &[u8]) -> String {
    blake3::hash(bytes).to_hex().to_string()
}

/// Two manifests whose jobs share `shared.csv` (also present as a byte-identical copy in
/// another folder: same hash and name, so the same upload).
fn shared_inputs() -> Sandbox {
    let sb = Sandbox::new();
    sb.file("data/shared.csv", "k,v\n1,2\n")
        .file("data/copy/shared.csv", "k,v\n1,2\n")
        .file("data/a.csv", "a\n1\n")
        .file("data/b.csv", "b\n2\n")
        .file(
            "one.yaml",
            manifest(
                "  - name: j1\n    inputs: [data/a.csv, data/shared.csv]\n    prompt: one\n  - name: j2\n    inputs: [data/b.csv, data/shared.csv]\n    prompt: two\n",
            ),
        )
        .file(
            "two.yaml",
            manifest("  - name: k1\n    inputs: [data/copy/shared.csv, data/a.csv]\n    prompt: three\n"),
        );
    sb
}

#[test]
fn each_content_is_uploaded_once_and_a_second_run_sends_nothing() {
    let fake = FakeServer::start();
    let sb = shared_inputs();
    sb.cmd_against(&fake, ["run", "one.yaml", "two.yaml"])
        .assert()
        .success();
    let stats = fake.stats();
    let expected: BTreeMap<(String, String), u32> = [
        ((blake3_hex(b"a\n1\n"), "a.csv".to_owned()), 1),
        ((blake3_hex(b"b\n2\n"), "b.csv".to_owned()), 1),
        ((blake3_hex(b"k,v\n1,2\n"), "shared.csv".to_owned()), 1),
    ]
    .into();
    assert_eq!(stats.uploads, expected);
    assert_eq!(stats.requests.get("messages"), Some(&3));

    // Nothing changed: every job is fresh; no upload, no message.
    let before = fake.stats().requests_total;
    let (code, summary) = sb.run_json(&fake, &["run", "one.yaml", "two.yaml"]);
    assert_eq!(code, Some(0));
    assert_eq!(summary["counts"]["fresh"], 3);
    assert_eq!(
        fake.stats().requests_total,
        before,
        "a fresh run must not call the API"
    );

    // The shared file vanished from the API: a forced run verifies the cache, uploads
    // that one again, and reuses the others.
    let run = sb.read_json("out/one/j1/job.json");
    let shared_id = run["inputs"][1]["file_id"].as_str().unwrap().to_owned();
    fake.delete_file(&shared_id);
    let (code, summary) = sb.run_json(&fake, &["run", "--force", "one.yaml", "two.yaml"]);
    assert_eq!(code, Some(0));
    assert_eq!(summary["uploads"]["uploaded"], 1);
    assert_eq!(summary["uploads"]["reused"], 2);
    let uploads = fake.stats().uploads;
    assert_eq!(
        uploads[&(blake3_hex(b"k,v\n1,2\n"), "shared.csv".to_owned())],
        2
    );
    assert_eq!(uploads[&(blake3_hex(b"a\n1\n"), "a.csv".to_owned())], 1);
}

#[test]
fn every_container_sees_exactly_its_own_files() {
    let fake = FakeServer::start();
    let sb = shared_inputs();
    sb.cmd_against(&fake, ["run", "one.yaml", "two.yaml"])
        .assert()
        .success();
    let containers = fake.stats().containers;
    assert_eq!(containers.len(), 3);
    let expect = |names: &[(&str, &[u8])]| -> BTreeMap<String, String> {
        names
            .iter()
            .map(|(n, b)| ((*n).to_owned(), blake3_hex(b)))
            .collect()
    };
    for (dir, files) in [
        (
            "out/one/j1",
            expect(&[("a.csv", b"a\n1\n"), ("shared.csv", b"k,v\n1,2\n")]),
        ),
        (
            "out/one/j2",
            expect(&[("b.csv", b"b\n2\n"), ("shared.csv", b"k,v\n1,2\n")]),
        ),
        (
            "out/two/k1",
            expect(&[("a.csv", b"a\n1\n"), ("shared.csv", b"k,v\n1,2\n")]),
        ),
    ] {
        let job = sb.read_json(&format!("{dir}/job.json"));
        let container = job["container_id"].as_str().unwrap();
        assert_eq!(containers[container].files, files, "{dir}");
    }
}

#[test]
fn pause_turn_chains_and_follow_ups_complete_in_one_container() {
    let fake = FakeServer::start();
    let sb = Sandbox::with_manifest(
        "  - name: long\n    inputs: [data/a.csv]\n    prompt: \"first\\n@fake pause 2\"\n    follow_up:\n      - \"second\\n@fake pause 1\"\n      - third\n",
    );
    sb.file("data/a.csv", "a\n1\n");
    sb.cmd_against(&fake, ["run", "m.yaml"]).assert().success();
    let stats = fake.stats();
    assert_eq!(stats.continuations, 3);
    assert_eq!(stats.containers.len(), 1);
    let job = sb.read_json("out/m/long/job.json");
    assert_eq!(job["status"], "succeeded");
    let stops: Vec<&str> = job["requests"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["stop_reason"].as_str().unwrap())
        .collect();
    assert_eq!(
        stops,
        [
            "pause_turn",
            "pause_turn",
            "end_turn",
            "pause_turn",
            "end_turn",
            "end_turn"
        ]
    );
    // Every request after the first names the job's container.
    let container = job["container_id"].as_str().unwrap();
    let requests = fake.messages_requests();
    assert_eq!(requests.len(), 6);
    assert!(requests[0].get("container").is_none());
    for r in &requests[1..] {
        assert_eq!(r["container"], container);
    }
    // Three user turns, in order; the files are attached to the first only.
    let last = &requests[5]["messages"];
    let users: Vec<&serde_json::Value> = last
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["role"] == "user")
        .collect();
    assert_eq!(users.len(), 3);
    // The job's own note (its files), the prompt, then the upload.
    assert_eq!(users[0]["content"][0]["type"], "text");
    assert_eq!(users[0]["content"][2]["type"], "container_upload");
    assert_eq!(users[2]["content"].as_array().unwrap().len(), 1);
}

#[test]
fn generated_files_arrive_byte_exact_and_hostile_names_stay_inside_files() {
    let fake = FakeServer::start();
    let sb = Sandbox::new();
    let hostile = [
        "../../etc/passwd",
        "/abs/path.txt",
        "a/b/c.txt",
        "\"..\\\\x\"",
        "\"C:\\\\x\"",
        "CON",
        "plot.png",
        "Plot.png",
        "\"..\"",
        "\"bell\\u0007.txt\"",
    ];
    let prompt: String = hostile
        .iter()
        .map(|n| format!("@fake output {n} 64\n"))
        .collect();
    sb.file("data/a.csv", "a\n1\n")
        .file("prompt.md", format!("make files\n{prompt}"))
        .file(
            "m.yaml",
            manifest("  - name: files\n    inputs: [data/a.csv]\n    prompt_file: prompt.md\n"),
        );
    sb.cmd_against(&fake, ["run", "m.yaml"]).assert().success();
    let job_dir = sb.root.join("out/m/files");
    let job = sb.read_json("out/m/files/job.json");
    let outputs = job["outputs"].as_array().unwrap();
    // Every file the API generated arrived, once.
    let generated = fake.stats().generated_files;
    let mut ids: Vec<&str> = outputs
        .iter()
        .map(|o| o["file_id"].as_str().unwrap())
        .collect();
    ids.sort_unstable();
    let mut expected: Vec<&str> = generated.iter().map(String::as_str).collect();
    expected.sort_unstable();
    assert_eq!(ids, expected);
    assert!(outputs.len() > hostile.len());
    let mut names = std::collections::BTreeSet::new();
    for out in outputs {
        let path = job_dir.join(out["path"].as_str().unwrap());
        assert_eq!(
            path.parent().unwrap(),
            job_dir.join("files"),
            "{path:?} escapes files/"
        );
        let bytes = std::fs::read(&path).unwrap();
        let id = out["file_id"].as_str().unwrap();
        // Images come with a C2PA manifest embedded on download (docs/api.md §0.5).
        let stored = fake.file_bytes(id).unwrap();
        assert_eq!(
            fake_anthropic::c2pa::unsign(&bytes),
            stored,
            "{path:?} differs from the API's bytes"
        );
        assert_eq!(out["blake3"], blake3_hex(&bytes));
        if bytes == stored {
            assert!(out.get("content_blake3").is_none(), "{out}");
        } else {
            assert_eq!(out["content_blake3"], blake3_hex(&stored), "{out}");
        }
        assert!(
            names.insert(out["name"].as_str().unwrap().to_lowercase()),
            "duplicate name"
        );
    }
    // Nothing was written anywhere else in the sandbox.
    assert!(
        !sb.root.join("etc").exists()
            && !sb.root.join("out/etc").exists()
            && !sb.root.join("out/m/etc").exists()
    );
}

#[test]
fn a_failed_job_is_a_value_and_the_run_exits_1() {
    let fake = FakeServer::start();
    let sb = Sandbox::with_manifest(concat!(
        "  - name: ok\n    inputs: [data/a.csv]\n    prompt: fine\n",
        "  - name: bad-request\n    inputs: [data/a.csv]\n    prompt: \"@fake fail 400 invalid_request_error\"\n",
        "  - name: truncated\n    inputs: [data/a.csv]\n    prompt: \"@fake stop max_tokens\"\n",
        "  - name: refused\n    prompt: \"@fake stop refusal\"\n",
        "  - name: paused-forever\n    max_continuations: 2\n    prompt: \"@fake pause 5\"\n",
    ));
    sb.file("data/a.csv", "a\n1\n");
    let out = sb.cmd_against(&fake, ["run", "m.yaml"]).output().unwrap();
    assert_exit(&out, 1);
    let kind = |job: &str| sb.read_json(&format!("out/m/{job}/job.json"))["error"]["kind"].clone();
    assert_eq!(sb.read_json("out/m/ok/job.json")["status"], "succeeded");
    assert_eq!(kind("bad-request"), "api");
    assert_eq!(kind("truncated"), "max_tokens");
    assert_eq!(kind("refused"), "refusal");
    assert_eq!(kind("paused-forever"), "pause_turn_cap");
    let bad = sb.read_json("out/m/bad-request/job.json");
    assert_eq!(bad["status"], "failed");
    assert!(
        bad["error"]["request_id"]
            .as_str()
            .unwrap()
            .starts_with("req_")
    );
    let run = sb.read_json("out/run.json");
    assert_eq!(run["exit_code"], 1);
    assert_eq!(run["counts"]["succeeded"], 1);
    assert_eq!(run["counts"]["failed"], 4);
    let statuses: BTreeMap<String, String> = run["jobs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|j| {
            (
                j["job"].as_str().unwrap().to_owned(),
                j["status"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(statuses["ok"], "succeeded");
    assert_eq!(statuses["refused"], "failed");
    // A failed job is not fresh: the next run tries it again (and only it).
    let before = fake.stats().requests.get("messages").copied().unwrap_or(0);
    sb.cmd_against(&fake, ["run", "m.yaml", "--only", "refused"])
        .assert()
        .code(1);
    assert_eq!(fake.stats().requests["messages"], before + 1);
}

#[test]
fn dash_j_bounds_and_reaches_the_number_of_conversations_in_flight() {
    let fake = FakeServer::start();
    let sb = Sandbox::new();
    let jobs: String = (0..6)
        .map(|i| format!("  - name: j{i}\n    prompt: go\n"))
        .collect();
    sb.file("m.yaml", manifest(&jobs));
    // The first request goes alone (until an answer shows the rate limits, docs/api.md
    // §4.3); park the next three conversations until all three are in flight at once.
    fake.push_faults(
        Endpoint::Messages,
        [
            Fault::Delay(Duration::ZERO),
            Fault::Hold,
            Fault::Hold,
            Fault::Hold,
        ],
    );
    let mut child = sb.spawn_against(&fake, &["run", "-j", "3", "m.yaml"]);
    let reached = fake.wait_until(Duration::from_secs(30), |s| s.held == 3);
    fake.release_held();
    let status = child.wait().unwrap();
    assert!(reached, "three conversations were never in flight together");
    assert!(status.success());
    assert_eq!(fake.stats().max_messages_in_flight, 3);
}

#[test]
fn a_job_does_not_wait_for_unrelated_uploads() {
    let fake = FakeServer::start();
    let sb = Sandbox::new();
    sb.file("data/big.csv", "x\n".repeat(50_000))
        .file("data/small.csv", "y\n1\n")
        .file(
            "m.yaml",
            manifest("  - name: big\n    inputs: [data/big.csv]\n    prompt: go\n  - name: small\n    inputs: [data/small.csv]\n    prompt: go\n"),
        );
    // Uploads start largest first: park the big one.
    fake.push_faults(Endpoint::Upload, [Fault::Hold]);
    let mut child = sb.spawn_against(&fake, &["run", "m.yaml"]);
    let small_ran = fake.wait_until(Duration::from_secs(30), |s| {
        s.held == 1 && s.requests.get("messages") == Some(&1)
    });
    fake.release_held();
    assert!(child.wait().unwrap().success());
    assert!(small_ran, "the small job waited for the big upload");
}

#[test]
fn a_second_runner_on_the_same_output_folder_is_refused() {
    let fake = FakeServer::start();
    let sb = Sandbox::with_manifest("  - name: slow\n    prompt: go\n");
    fake.push_faults(Endpoint::Messages, [Fault::Hold]);
    let mut first = sb.spawn_against(&fake, &["run", "m.yaml"]);
    assert!(fake.wait_until(Duration::from_secs(30), |s| s.held == 1));
    let out = sb.cmd_against(&fake, ["run", "m.yaml"]).output().unwrap();
    fake.release_held();
    assert!(first.wait().unwrap().success());
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("another `runner run` is writing to out")
    );
}

#[test]
fn upload_ttl_asks_the_files_api_to_expire_uploads() {
    let fake = FakeServer::start();
    let sb = Sandbox::with_manifest("  - name: j\n    inputs: [data/a.csv]\n    prompt: go\n");
    sb.file("data/a.csv", "a\n1\n");
    sb.cmd_against(&fake, ["run", "--upload-ttl", "7d", "m.yaml"])
        .assert()
        .success();
    let cache = sb.read_json(".state/uploads.json");
    let entry = &cache["entries"][0];
    let uploaded: jiff::Timestamp = entry["uploaded_at"].as_str().unwrap().parse().unwrap();
    let expires: jiff::Timestamp = entry["expires_at"].as_str().unwrap().parse().unwrap();
    let ttl = expires.duration_since(uploaded).as_secs();
    assert!((7 * 86_400 - 60..=7 * 86_400).contains(&ttl), "ttl {ttl}");
    // Out of the API's range: a usage error before anything is sent.
    let stderr = sb
        .cmd_against(&fake, ["run", "--force", "--upload-ttl", "30m", "m.yaml"])
        .exit_stderr(2);
    assert!(stderr.contains("--upload-ttl `30m`: expected a duration from 1h to 90d"));
}

#[test]
fn sigint_stops_the_run_with_130_and_keeps_finished_jobs() {
    interrupted_by("-INT");
}

#[test]
fn sigterm_stops_the_run_with_130_and_keeps_finished_jobs() {
    interrupted_by("-TERM");
}

fn interrupted_by(signal: &str) {
    let fake = FakeServer::start();
    let sb =
        Sandbox::with_manifest("  - name: one\n    prompt: go\n  - name: two\n    prompt: go\n");
    // Only the second conversation to arrive is parked.
    fake.push_faults(
        Endpoint::Messages,
        [Fault::Delay(Duration::ZERO), Fault::Hold],
    );
    let mut child = sb.spawn_against(&fake, &["run", "-j", "1", "m.yaml"]);
    assert!(fake.wait_until(Duration::from_secs(30), |s| s.held == 1));
    let code = crate::harness::signal_and_wait(&mut child, signal);
    fake.release_held();
    assert_eq!(code, Some(130));
    let run = sb.read_json("out/run.json");
    assert_eq!(run["exit_code"], 130);
    assert_eq!(run["counts"]["succeeded"], 1);
    assert_eq!(run["counts"]["interrupted"], 1);
    // Which job went first is up to the scheduler; run.json says.
    let dir_with = |status: &str| -> String {
        let jobs = run["jobs"].as_array().unwrap();
        let job = jobs.iter().find(|j| j["status"] == status).unwrap();
        job["dir"].as_str().unwrap().to_owned()
    };
    let finished = dir_with("succeeded");
    let stopped = dir_with("interrupted");
    assert_eq!(
        sb.read_json(&format!("out/{finished}/job.json"))["status"],
        "succeeded"
    );
    assert!(
        !sb.root.join("out").join(&stopped).exists(),
        "an interrupted job leaves no folder"
    );
    // The re-run continues: the finished job is fresh, the interrupted one runs.
    let (code, summary) = sb.run_json(&fake, &["run", "m.yaml"]);
    assert_eq!(code, Some(0));
    assert_eq!(summary["counts"]["fresh"], 1);
    assert_eq!(summary["counts"]["succeeded"], 1);
}

#[test]
fn under_cron_stderr_has_no_bars_or_colour_and_stdout_only_what_was_asked() {
    let fake = FakeServer::start();
    let sb = Sandbox::with_manifest(
        "  - name: j\n    prompt: \"go\\n@fake tool-error bash unavailable\"\n",
    );
    // stderr is a pipe here, as under cron; -v makes the logger write plenty.
    fake.push_faults(Endpoint::Messages, [Fault::status(529)]);
    let out = sb
        .cmd_against(&fake, ["-v", "run", "m.yaml"])
        .output()
        .unwrap();
    assert_success(&out);
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(stderr.contains("retrying after"), "{stderr}");
    assert!(
        !stderr.contains('\u{1b}'),
        "escape codes on a non-terminal stderr:\n{stderr}"
    );
    assert!(
        !stderr.contains('\r'),
        "progress redraws on a non-terminal stderr"
    );
    assert!(
        out.stdout.is_empty(),
        "stdout carries only what a command is asked to print"
    );
}

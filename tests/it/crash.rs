//! Crash safety: the runner is killed with SIGKILL at many points of a run. After each
//! kill, every file in the output tree is complete or absent and the upload cache is
//! valid; the re-run uploads nothing that had finished uploading, skips the jobs that had
//! finished, and completes the rest.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use fake_anthropic::{Endpoint, FakeServer, Fault};

use crate::harness::Sandbox;

/// Where the run is stopped: the k-th request (1-based) to an endpoint is parked and the
/// runner killed while it waits; or the runner is killed, unparked, once the fake has seen
/// n requests (anywhere in a write or a read, whatever it was doing).
#[derive(Clone, Copy, Debug)]
enum Point {
    Held(Endpoint, usize),
    AfterRequests(u32),
    /// Like `Held`, during a forced re-run that follows a complete run.
    HeldInForcedRerun(Endpoint, usize),
}

const POINTS: &[Point] = &[
    Point::Held(Endpoint::Upload, 1),
    Point::Held(Endpoint::Upload, 3),
    Point::Held(Endpoint::Messages, 1),
    Point::Held(Endpoint::Messages, 2),
    Point::Held(Endpoint::Messages, 3),
    // The second listing: the first job's generated files (the first is the check before the run).
    Point::Held(Endpoint::ListFiles, 2),
    Point::Held(Endpoint::Download, 1),
    Point::Held(Endpoint::Download, 3),
    Point::Held(Endpoint::Messages, 4),
    Point::Held(Endpoint::Download, 6),
    Point::Held(Endpoint::Messages, 5),
    Point::AfterRequests(9),
    Point::AfterRequests(17),
    Point::HeldInForcedRerun(Endpoint::ListFiles, 1),
];

fn sandbox() -> Sandbox {
    let sb = Sandbox::new();
    // Distinct sizes: uploads go largest first, so the order is known.
    sb.file("data/shared.csv", "s,".repeat(400))
        .file("data/a.csv", "a,".repeat(300))
        .file("data/b.csv", "b,".repeat(200))
        .file("data/c.csv", "c,".repeat(100))
        .file(
            "m.yaml",
            "version: 1\ndefaults:\n  model: claude-sonnet-4-6\njobs:\n\
             \x20 - name: j1\n    inputs: [data/a.csv, data/shared.csv]\n    prompt: \"@fake pause 1\"\n    follow_up: [more]\n\
             \x20 - name: j2\n    inputs: [data/b.csv, data/shared.csv]\n    prompt: go\n\
             \x20 - name: j3\n    inputs: [data/c.csv]\n    prompt: go\n",
        );
    sb
}

const RUN: &[&str] = &["run", "-j", "1", "--uploads", "1", "m.yaml"];

fn hold_kth(fake: &FakeServer, endpoint: Endpoint, k: usize) {
    let pass = (1..k).map(|_| Fault::Delay(Duration::ZERO));
    fake.push_faults(endpoint, pass.chain([Fault::Hold]));
}

fn kill_at(sb: &Sandbox, fake: &FakeServer, point: Point) {
    let wait = Duration::from_secs(30);
    match point {
        Point::Held(endpoint, k) | Point::HeldInForcedRerun(endpoint, k) => {
            if matches!(point, Point::HeldInForcedRerun(..)) {
                sb.cmd_against(fake, RUN).assert().success();
            }
            hold_kth(fake, endpoint, k);
            let args: Vec<&str> = if matches!(point, Point::HeldInForcedRerun(..)) {
                RUN.iter().copied().chain(["--force"]).collect()
            } else {
                RUN.to_vec()
            };
            let mut child = sb.spawn_against(fake, &args);
            assert!(
                fake.wait_until(wait, |s| s.held == 1),
                "{point:?} never reached"
            );
            child.kill().unwrap();
            child.wait().unwrap();
            fake.release_held();
        }
        Point::AfterRequests(n) => {
            let mut child = sb.spawn_against(fake, RUN);
            assert!(
                fake.wait_until(wait, |s| s.requests_total >= n),
                "{point:?} never reached"
            );
            child.kill().unwrap();
            child.wait().unwrap();
        }
    }
}

/// Every job folder is complete, no temporary file has a real name, the caches parse, and
/// every cached upload id is a file the API holds with those bytes. Returns the jobs that
/// are complete.
fn check_tree(sb: &Sandbox, fake: &FakeServer, point: Point) -> Vec<String> {
    let out = sb.root.join("out/m");
    let mut finished = Vec::new();
    for entry in std::fs::read_dir(&out).into_iter().flatten() {
        let entry = entry.unwrap();
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.starts_with('.') {
            continue; // a staging folder: removed by the next run before it writes anything
        }
        let dir = entry.path();
        let job: serde_json::Value =
            serde_json::from_slice(&std::fs::read(dir.join("job.json")).unwrap())
                .unwrap_or_else(|e| panic!("{point:?}: {name}/job.json: {e}"));
        for f in ["report.md", "transcript.md", "report.html"] {
            assert!(dir.join(f).is_file(), "{point:?}: {name}/{f} missing");
        }
        let messages: Result<serde_json::Value, _> =
            serde_json::from_slice(&std::fs::read(dir.join("messages.json")).unwrap());
        assert!(messages.is_ok(), "{point:?}: {name}/messages.json");
        for o in job["outputs"].as_array().unwrap() {
            let bytes = std::fs::read(dir.join(o["path"].as_str().unwrap())).unwrap();
            assert_eq!(
                bytes.len() as u64,
                o["size"].as_u64().unwrap(),
                "{point:?}: {name} {o}"
            );
            assert_eq!(
                blake3::hash(&bytes).to_hex().as_str(),
                o["blake3"].as_str().unwrap()
            );
        }
        if job["status"] == "succeeded" {
            finished.push(name);
        }
    }
    assert_no_temp_names(&sb.root.join("out"), point);
    for cache in ["hashes.json", "uploads.json"] {
        let path = sb.state_dir().join(cache);
        if path.exists() {
            let parsed: Result<serde_json::Value, _> =
                serde_json::from_slice(&std::fs::read(&path).unwrap());
            assert!(parsed.is_ok(), "{point:?}: {cache} is torn");
        }
    }
    for e in cache_entries(sb) {
        let bytes = fake
            .file_bytes(e["file_id"].as_str().unwrap())
            .unwrap_or_default();
        assert_eq!(
            blake3::hash(&bytes).to_hex().as_str(),
            e["blake3"].as_str().unwrap(),
            "{point:?}: {e}"
        );
    }
    let run = sb.root.join("out/run.json");
    if run.exists() {
        let parsed: Result<serde_json::Value, _> =
            serde_json::from_slice(&std::fs::read(run).unwrap());
        assert!(parsed.is_ok(), "{point:?}: run.json is torn");
    }
    finished.sort();
    finished
}

/// Every entry of the upload cache: the snapshot, then the journal a killed run left.
fn cache_entries(sb: &Sandbox) -> Vec<serde_json::Value> {
    let mut entries = Vec::new();
    if let Ok(bytes) = std::fs::read(sb.state_dir().join("uploads.json")) {
        let cache: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
        entries.extend(cache["entries"].as_array().unwrap().iter().cloned());
    }
    if let Ok(text) = std::fs::read_to_string(sb.state_dir().join("uploads.journal")) {
        // A line torn by the kill is not an entry (the loader skips it too).
        entries.extend(text.lines().filter_map(|l| serde_json::from_str(l).ok()));
    }
    entries
}

/// (BLAKE3, name) of every upload in the cache.
fn cached_keys(sb: &Sandbox) -> Vec<(String, String)> {
    cache_entries(sb)
        .iter()
        .map(|e| {
            (
                e["blake3"].as_str().unwrap().to_owned(),
                e["name"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

/// Outside staging folders, no file carries a temporary name.
fn assert_no_temp_names(dir: &Path, point: Point) {
    for entry in std::fs::read_dir(dir).into_iter().flatten() {
        let entry = entry.unwrap();
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.contains(".staging-") || name.contains(".old-") {
            continue;
        }
        assert!(
            !name.starts_with(".runner-tmp-") && !name.starts_with(".download-"),
            "{point:?}: temporary file {name} in {dir:?}"
        );
        if entry.file_type().unwrap().is_dir() {
            assert_no_temp_names(&entry.path(), point);
        }
    }
}

#[test]
fn killed_at_any_point_the_tree_is_whole_and_a_rerun_finishes_without_redoing_work() {
    for &point in POINTS {
        let fake = FakeServer::start();
        let sb = sandbox();
        kill_at(&sb, &fake, point);
        // A released request may still be finishing on the fake: let it settle first.
        assert!(fake.wait_until(Duration::from_secs(30), |s| s.held == 0
            && s.uploads_in_flight == 0
            && s.messages_in_flight == 0));
        let finished = check_tree(&sb, &fake, point);
        let uploads_before: BTreeMap<(String, String), u32> = fake.stats().uploads;
        let recorded = cached_keys(&sb);

        let (code, summary) = sb.run_json(&fake, &["run", "m.yaml"]);
        assert_eq!(code, Some(0), "{point:?}: {summary}");
        let done = check_tree(&sb, &fake, point);
        assert_eq!(done, ["j1", "j2", "j3"], "{point:?}");

        // Jobs finished before the kill were not run again.
        let fresh: Vec<String> = summary["jobs"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|j| j["status"] == "fresh")
            .map(|j| j["job"].as_str().unwrap().to_owned())
            .collect();
        assert_eq!(fresh, finished, "{point:?}");
        // Nothing whose upload the runner had seen finish was uploaded again. An upload the
        // server completed but whose response the killed runner never read has an id nobody
        // knows: it is uploaded once more, never twice.
        for (key, count) in fake.stats().uploads {
            let before = uploads_before.get(&key).copied().unwrap_or(0);
            if recorded.contains(&key) {
                assert_eq!(
                    count, before,
                    "{point:?}: {key:?} was cached, yet uploaded again"
                );
            } else {
                assert!(
                    count <= before + 1,
                    "{point:?}: {key:?} uploaded {count} times"
                );
            }
        }
    }
}

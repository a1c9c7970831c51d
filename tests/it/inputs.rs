//! The state dir's caches as inputs change under them and as they are damaged: an edit the
//! hash cache must see, and damaged caches that cost only what they lost, said once.

use std::io::Write;

use fake_anthropic::FakeServer;

use crate::harness::{Sandbox, assert_exit, summary_job};

fn blake3_hex(bytes: &[u8]) -> String {
    blake3::hash(bytes).to_hex().to_string()
}

#[test]
fn a_same_size_edit_in_place_with_its_mtime_restored_is_seen() {
    let fake = FakeServer::start();
    let sb = Sandbox::with_manifest("  - name: j\n    inputs: [data/a.csv]\n    prompt: go\n");
    sb.file("data/a.csv", "a\n1\n");
    sb.cmd_against(&fake, ["run", "m.yaml"]).assert().success();

    // What `cp -p`, `rsync -t` or `touch -r` leave: same inode, size and mtime, new bytes.
    let path = sb.root.join("data/a.csv");
    let mtime = std::fs::metadata(&path).unwrap().modified().unwrap();
    let mut file = std::fs::OpenOptions::new().write(true).open(&path).unwrap();
    file.write_all(b"a\n2\n").unwrap();
    file.set_modified(mtime).unwrap();
    drop(file);

    let (code, summary) = sb.run_json(&fake, &["run", "m.yaml"]);
    assert_eq!(code, Some(0), "{summary}");
    assert_eq!(summary_job(&summary, "dir", "m/j")["status"], "succeeded");
    assert_eq!(fake.stats().upload_count, 2);
    assert_eq!(
        sb.read_json("out/m/j/job.json")["inputs"][0]["blake3"],
        blake3_hex(b"a\n2\n")
    );
}

/// A sandbox whose one job attaches `data/a.csv` and `data/b.csv`.
fn two_inputs() -> Sandbox {
    let sb = Sandbox::with_manifest(
        "  - name: j\n    inputs: [data/a.csv, data/b.csv]\n    prompt: go\n",
    );
    sb.file("data/a.csv", "a\n1\n").file("data/b.csv", "b\n2\n");
    sb
}

/// The warnings of a command's stderr that name `file`.
fn warnings_naming(stderr: &[u8], file: &str) -> usize {
    String::from_utf8_lossy(stderr)
        .lines()
        .filter(|l| l.contains("WARN") && l.contains(file))
        .count()
}

#[test]
fn a_damaged_upload_cache_is_said_once_and_its_readable_entries_are_kept() {
    let fake = FakeServer::start();
    let sb = two_inputs();
    sb.cmd_against(&fake, ["run", "m.yaml"]).assert().success();
    let mut cache = sb.read_json(".state/uploads.json");
    let entries = cache["entries"].as_array_mut().unwrap();
    let a = entries.iter_mut().find(|e| e["name"] == "a.csv").unwrap();
    a["file_id"] = serde_json::json!(7);
    sb.file(".state/uploads.json", cache.to_string());

    let out = sb
        .cmd_against(&fake, ["run", "--force", "m.yaml"])
        .output()
        .unwrap();
    assert_exit(&out, 0);
    assert_eq!(
        warnings_naming(&out.stderr, "uploads.json"),
        1,
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // b.csv's entry was still read: only a.csv is uploaded again.
    assert_eq!(fake.stats().upload_count, 3);
}

#[test]
fn a_damaged_hash_cache_is_said_once_and_its_readable_entries_are_kept() {
    let sb = two_inputs();
    sb.cmd(["plan", "m.yaml"]).assert().success();
    let mut cache = sb.read_json(".state/hashes.json");
    let map = cache.as_object_mut().unwrap();
    for (path, entry) in map.iter_mut() {
        if path.ends_with("a.csv") {
            entry["stamp"] = serde_json::json!("torn");
        } else {
            // Poisoned, to show that the entry is trusted rather than b.csv read again.
            entry["blake3"] = serde_json::json!("0".repeat(64));
        }
    }
    sb.file(".state/hashes.json", cache.to_string());

    let out = sb.cmd(["plan", "--json", "m.yaml"]).output().unwrap();
    assert_exit(&out, 0);
    assert_eq!(
        warnings_naming(&out.stderr, "hashes.json"),
        1,
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let plan: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let blake3 = |name: &str| {
        plan["uploads"]
            .as_array()
            .unwrap()
            .iter()
            .find(|u| u["name"] == name)
            .unwrap()["blake3"]
            .clone()
    };
    assert_eq!(blake3("b.csv"), "0".repeat(64));
    assert_eq!(blake3("a.csv"), blake3_hex(b"a\n1\n"));
}

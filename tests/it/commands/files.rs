//! `runner files list|prune|rm` against the fake, and the Files calls' `anthropic-version`.

use std::collections::BTreeSet;

use fake_anthropic::{Endpoint, FakeServer, Fault};
use serde_json::Value;

use crate::harness::{CommandExt, Sandbox, assert_success, manifest};

fn input_ids(sb: &Sandbox, job: &str) -> Vec<String> {
    ids(sb, job, "inputs")
}

/// The file ids of a job.json's `inputs` or `outputs`.
fn ids(sb: &Sandbox, job: &str, key: &str) -> Vec<String> {
    sb.read_json(&format!("out/m/{job}/job.json"))[key]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["file_id"].as_str().unwrap().to_owned())
        .collect()
}

fn files_json(sb: &Sandbox, fake: &FakeServer, args: &[&str]) -> Vec<Value> {
    sb.cmd_against(fake, ["files", "list", "--json"].iter().chain(args))
        .success_json()
}

fn cache_text(sb: &Sandbox) -> String {
    ["uploads.json", "uploads.journal"]
        .iter()
        .map(|f| std::fs::read_to_string(sb.state_dir().join(f)).unwrap_or_default())
        .collect()
}

/// `sb` ran job `a` on a.csv twice (the first upload of a.csv is now unreferenced) and
/// job `b` on b.csv; `other` (its own state dir) uploaded c.csv. Returns the id of the
/// first a.csv upload.
fn two_runners(fake: &FakeServer) -> (Sandbox, Sandbox, String) {
    let sb = Sandbox::new();
    sb.file("d/a.csv", "x\n1\n").file("d/b.csv", "y\n2\n").file(
        "m.yaml",
        manifest("  - name: a\n    inputs: [d/a.csv]\n    prompt: one\n  - name: b\n    inputs: [d/b.csv]\n    prompt: two\n"),
    );
    sb.cmd_against(fake, ["run", "m.yaml"]).assert().success();
    let first_a = input_ids(&sb, "a").remove(0);
    sb.file("d/a.csv", "x\n1\n2\n");
    sb.cmd_against(fake, ["run", "m.yaml"]).assert().success();
    let other = Sandbox::new();
    other.file("d/c.csv", "z\n3\n").file(
        "m.yaml",
        manifest("  - name: c\n    inputs: [d/c.csv]\n    prompt: three\n"),
    );
    other
        .cmd_against(fake, ["run", "m.yaml"])
        .assert()
        .success();
    (sb, other, first_a)
}

#[test]
fn files_list_marks_runner_uploads_and_their_users() {
    let fake = FakeServer::start();
    let (sb, other, first_a) = two_runners(&fake);
    let listed = files_json(&sb, &fake, &["-o", "out"]);
    let by_id = |id: &str| listed.iter().find(|f| f["id"] == id).unwrap().clone();
    let a_now = input_ids(&sb, "a").remove(0);
    assert_eq!(by_id(&a_now)["uploaded_by_runner"], true);
    assert_eq!(by_id(&a_now)["filename"], "a.csv");
    let users = by_id(&a_now)["used_by"].clone();
    assert!(users[0].as_str().unwrap().ends_with("out/m/a"), "{users}");
    assert_eq!(by_id(&first_a)["uploaded_by_runner"], true);
    assert_eq!(by_id(&first_a)["used_by"], serde_json::json!([]));
    let c = other.read_json("out/m/c/job.json")["inputs"][0]["file_id"].clone();
    assert_eq!(by_id(c.as_str().unwrap())["uploaded_by_runner"], false);
    let generated = sb.read_json("out/m/b/job.json")["outputs"][0]["file_id"].clone();
    let generated = by_id(generated.as_str().unwrap());
    assert_eq!(generated["uploaded_by_runner"], false);
    assert_eq!(generated["used_by"].as_array().unwrap().len(), 1);
    // 3 uploads by `sb` and 1 by `other`; 2 generated files in each of 4 conversations.
    assert_eq!(listed.len(), 4 + 8, "every page of the workspace");
}

#[test]
fn files_list_follows_every_page() {
    let fake = FakeServer::start();
    let sb = Sandbox::new();
    let file = |id: &str| {
        format!(
            r#"{{"id":"{id}","type":"file","filename":"{id}.csv","mime_type":"text/csv","size_bytes":3,"created_at":"2026-11-21T04:40:12Z","downloadable":false,"expires_at":null}}"#
        )
    };
    fake.push_faults(
        Endpoint::ListFiles,
        [
            Fault::RawBody(format!(
                r#"{{"data":[{}],"next_page":"page_two"}}"#,
                file("file_1")
            )),
            Fault::RawBody(format!(
                r#"{{"data":[{}],"next_page":null}}"#,
                file("file_2")
            )),
        ],
    );
    let listed = files_json(&sb, &fake, &[]);
    let ids: Vec<&str> = listed.iter().map(|f| f["id"].as_str().unwrap()).collect();
    assert_eq!(ids, ["file_1", "file_2"]);
    let queries: Vec<String> = fake
        .log()
        .iter()
        .filter(|e| e.endpoint == Some(Endpoint::ListFiles))
        .map(|e| e.query.clone().unwrap_or_default())
        .collect();
    assert_eq!(queries, ["limit=1000", "limit=1000&page=page_two"]);
}

#[test]
fn files_prune_dry_run_lists_and_prune_deletes_only_unreferenced_runner_uploads() {
    let fake = FakeServer::start();
    let (sb, other, first_a) = two_runners(&fake);
    let others_upload = other.read_json("out/m/c/job.json")["inputs"][0]["file_id"]
        .as_str()
        .unwrap()
        .to_owned();

    let dry = sb
        .cmd_against(&fake, ["files", "prune", "--dry-run"])
        .output()
        .unwrap();
    assert_success(&dry);
    let listed = String::from_utf8(dry.stdout).unwrap();
    assert_eq!(listed.lines().count(), 1, "{listed}");
    assert!(
        listed.starts_with(&format!("would delete {first_a}  a.csv")),
        "{listed}"
    );
    assert_eq!(
        fake.stats().requests.get("delete_file"),
        None,
        "a dry run deletes nothing"
    );
    assert!(fake.file_bytes(&first_a).is_some());

    let young = sb
        .cmd_against(&fake, ["files", "prune", "--dry-run", "--older-than", "1d"])
        .output()
        .unwrap();
    assert!(
        young.stdout.is_empty(),
        "uploaded just now, so not older than a day"
    );

    // A mistyped output tree would make every upload look unreferenced: refused.
    sb.cmd_against(&fake, ["files", "prune", "-o", "outt"])
        .assert()
        .code(2);
    assert_eq!(fake.stats().requests.get("delete_file"), None);

    // A run writing to the tree (here: a shard's shared lock) may use uploads its job.json
    // does not name yet: refused.
    let held = std::fs::File::open(sb.root.join("out/.runner.lock")).unwrap();
    held.lock_shared().unwrap();
    let stderr = sb.cmd_against(&fake, ["files", "prune"]).exit_stderr(2);
    assert!(stderr.contains("is writing to out"));
    assert_eq!(fake.stats().requests.get("delete_file"), None);
    drop(held);

    sb.cmd_against(&fake, ["files", "prune"]).assert().success();
    assert!(fake.file_bytes(&first_a).is_none(), "deleted");
    assert_eq!(fake.stats().requests.get("delete_file"), Some(&1));
    for kept in input_ids(&sb, "a").iter().chain(&input_ids(&sb, "b")) {
        assert!(fake.file_bytes(kept).is_some(), "{kept} is referenced");
    }
    assert!(
        fake.file_bytes(&others_upload).is_some(),
        "not this runner's upload"
    );
    assert!(!cache_text(&sb).contains(&first_a), "the cache forgot it");
    // The jobs stay fresh: nothing they use was deleted.
    let (code, summary) = sb.run_json(&fake, &["run", "m.yaml"]);
    assert_eq!(
        (code, summary["counts"]["fresh"].clone()),
        (Some(0), 2.into())
    );
}

#[test]
fn files_prune_generated_deletes_the_generated_files_the_trees_record_and_nothing_else() {
    let fake = FakeServer::start();
    let (sb, other, first_a) = two_runners(&fake);
    let generated: BTreeSet<String> = ["a", "b"]
        .iter()
        .flat_map(|job| ids(&sb, job, "outputs"))
        .collect();
    assert_eq!(generated.len(), 4, "two files in each job's kept result");
    let inputs: Vec<String> = ["a", "b"].iter().flat_map(|j| input_ids(&sb, j)).collect();
    let someone_elses: Vec<String> = ["inputs", "outputs"]
        .iter()
        .flat_map(|key| ids(&other, "c", key))
        .collect();
    let deletes = || fake.stats().requests.get("delete_file").copied();

    let dry = sb
        .cmd_against(&fake, ["files", "prune", "--generated", "--dry-run"])
        .output()
        .unwrap();
    assert_success(&dry);
    let listed: BTreeSet<String> = String::from_utf8(dry.stdout)
        .unwrap()
        .lines()
        .map(|l| {
            let l = l.strip_prefix("would delete ").unwrap();
            l.split("  ").next().unwrap().to_owned()
        })
        .collect();
    let mut want = generated.clone();
    want.insert(first_a.clone());
    assert_eq!(
        listed, want,
        "the generated files, and the unreferenced upload"
    );
    assert_eq!(deletes(), None, "a dry run deletes nothing");

    // Without the flag, uploads only, as ever.
    sb.cmd_against(&fake, ["files", "prune"]).assert().success();
    assert!(fake.file_bytes(&first_a).is_none());
    for id in &generated {
        assert!(
            fake.file_bytes(id).is_some(),
            "{id}: kept without --generated"
        );
    }

    sb.cmd_against(&fake, ["files", "prune", "--generated"])
        .assert()
        .success();
    for id in &generated {
        assert!(fake.file_bytes(id).is_none(), "{id}: deleted");
    }
    assert_eq!(deletes(), Some(1 + 4));
    for id in inputs.iter().chain(&someone_elses) {
        assert!(
            fake.file_bytes(id).is_some(),
            "{id}: never a generated file of ours"
        );
    }
    // The saved copies stay, and nothing the jobs use was deleted: they are fresh.
    let saved = sb.read_json("out/m/b/job.json")["outputs"][0]["path"].clone();
    assert!(
        sb.root
            .join("out/m/b")
            .join(saved.as_str().unwrap())
            .is_file()
    );
    let (code, summary) = sb.run_json(&fake, &["run", "m.yaml"]);
    assert_eq!(
        (code, summary["counts"]["fresh"].clone()),
        (Some(0), 2.into())
    );
    // Pruned once: the job.json files still name them, but nothing is left to delete.
    let again = sb
        .cmd_against(&fake, ["files", "prune", "--generated", "--dry-run"])
        .output()
        .unwrap();
    assert!(again.stdout.is_empty(), "{again:?}");
}

#[test]
fn files_rm_reports_a_bad_id_and_deletes_the_rest_through_retries() {
    let fake = FakeServer::start();
    let (sb, _other, _) = two_runners(&fake);
    let b = input_ids(&sb, "b").remove(0);
    fake.push_faults(Endpoint::DeleteFile, [Fault::status(503)]);
    let out = sb
        .cmd_against(&fake, ["files", "rm", "file_nope", &b])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "one id failed");
    let said = String::from_utf8(out.stderr).unwrap();
    assert!(
        said.contains("error: file_nope: no such file in this workspace"),
        "{said}"
    );
    assert!(said.contains(&format!("deleted {b}")), "{said}");
    assert!(fake.file_bytes(&b).is_none());
    assert!(!cache_text(&sb).contains(&b), "the cache forgot it");
    assert!(fake.stats().retries_seen >= 1, "the 503 was retried");
}

#[test]
fn files_calls_send_the_api_version_of_the_jobs_or_the_flag() {
    let fake = FakeServer::start();
    let sb = Sandbox::new();
    sb.file("d/a.csv", "x\n1\n").file(
        "m.yaml",
        "version: 1\ndefaults:\n  model: claude-sonnet-4-6\n  api_version: \"2023-06-01\"\njobs:\n  - name: a\n    inputs: [d/a.csv]\n    prompt: one\n",
    );
    sb.cmd_against(&fake, ["run", "m.yaml"]).assert().success();
    // Again after the upload is cached: the bulk check of cached ids too.
    sb.cmd_against(&fake, ["run", "m.yaml", "--force"])
        .assert()
        .success();
    files_json(&sb, &fake, &["--api-version", "2023-06-01"]);
    let log = fake.log();
    let files_calls: Vec<_> = log
        .iter()
        .filter(|e| e.endpoint.is_some_and(|e| e != Endpoint::Messages))
        .collect();
    let endpoints: Vec<Endpoint> = files_calls.iter().filter_map(|e| e.endpoint).collect();
    // `GetFile` is only for an id a listing left out (docs/api.md §2.4); every call made
    // is checked below.
    for expected in [Endpoint::Upload, Endpoint::ListFiles, Endpoint::Download] {
        assert!(endpoints.contains(&expected), "{expected:?} not exercised");
    }
    for call in files_calls {
        assert_eq!(
            call.api_version.as_deref(),
            Some("2023-06-01"),
            "{} {}",
            call.method,
            call.path
        );
    }
    sb.cmd_against(&fake, ["files", "list", "--api-version", "2024-01-01"])
        .assert()
        .code(2);
}

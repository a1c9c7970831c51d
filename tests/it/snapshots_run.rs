//! Snapshots of what users read after `runner run`: its stderr when it is not a terminal
//! (cron's mail), and a whole output tree. Times, ids and the sandbox path vary from run
//! to run and are filtered; everything else must stay as it is unless a change means it.

use std::path::Path;

use fake_anthropic::FakeServer;

use crate::harness::Sandbox;

/// One job that succeeds and one the API refuses with a 400.
fn good_and_bad() -> Sandbox {
    let sb = Sandbox::with_manifest(
        "  - name: good\n    inputs: [data/a.csv]\n    prompt: |\n      Summarise the table.\n    follow_up: [Now plot it.]\n  - name: bad\n    inputs: [data/a.csv]\n    prompt: |\n      bad\n      @fake fail 400 invalid_request_error\n",
    );
    sb.file("data/a.csv", "a,b\n1,2\n");
    sb
}

/// Filters for what varies between runs.
fn filters(sb: &Sandbox) -> Vec<(String, String)> {
    let root = sb.root.to_str().unwrap();
    vec![
        (regex_escape(root), "[SANDBOX]".to_owned()),
        (
            r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})".to_owned(),
            "[TIME]".to_owned(),
        ),
        (
            r"\b(req|file|container|msg|srvtoolu|toolu)_[0-9A-Za-z]{20,}".to_owned(),
            "[${1}_id]".to_owned(),
        ),
        (
            r"127\.0\.0\.1:\d+".to_owned(),
            "127.0.0.1:[PORT]".to_owned(),
        ),
        (
            r"\b\d{8}T\d{6}Z-[0-9a-f]{4}\b".to_owned(),
            "[RUN_ID]".to_owned(),
        ),
        (
            r#""duration_secs": [0-9.e-]+"#.to_owned(),
            r#""duration_secs": [SECS]"#.to_owned(),
        ),
        (r"took [0-9.]+s".to_owned(), "took [SECS]s".to_owned()),
        // An image's bytes carry a manifest signed afresh on each download (docs/api.md
        // §0.5); its content hash, which stays, is kept in the snapshot.
        (
            r#""blake3": "[0-9a-f]{64}"(,\s*"content_blake3")"#.to_owned(),
            r#""blake3": "[SIGNED]"${1}"#.to_owned(),
        ),
    ]
}

fn regex_escape(text: &str) -> String {
    text.chars()
        .flat_map(|c| {
            let special = "\\.+*?()|[]{}^$".contains(c);
            special.then_some('\\').into_iter().chain([c])
        })
        .collect()
}

fn with_filters(sb: &Sandbox, check: impl FnOnce()) {
    let filters = filters(sb);
    let filters: Vec<(&str, &str)> = filters
        .iter()
        .map(|(a, b)| (a.as_str(), b.as_str()))
        .collect();
    insta::with_settings!({filters => filters, prepend_module_to_snapshot => true}, {
        check();
    });
}

/// `runner run`'s stderr in a pipe, at the default verbosity: the failed job once, as a
/// log line, then the summary line.
#[test]
fn run_stderr_when_not_a_terminal() {
    let fake = FakeServer::start();
    let sb = good_and_bad();
    let out = sb
        .cmd_against(&fake, ["run", "m.yaml", "-j", "1", "--uploads", "1"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8(out.stderr).unwrap();
    with_filters(&sb, || insta::assert_snapshot!(stderr));
}

/// Every path of an output tree, then the records and documents of one job and the run.
#[test]
fn a_whole_output_tree() {
    let fake = FakeServer::start();
    let sb = good_and_bad();
    let out = sb
        .cmd_against(&fake, ["run", "m.yaml", "-j", "1", "--uploads", "1"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let root = sb.root.join("out");
    let mut tree = String::new();
    for path in walk(&root, &root) {
        tree.push_str(&path);
        tree.push('\n');
    }
    let read = |rel: &str| std::fs::read_to_string(root.join(rel)).unwrap();
    with_filters(&sb, || {
        insta::assert_snapshot!("tree", tree);
        insta::assert_snapshot!("run_json", read("run.json"));
        insta::assert_snapshot!("good_job_json", read("m/good/job.json"));
        insta::assert_snapshot!("bad_job_json", read("m/bad/job.json"));
        insta::assert_snapshot!("good_report_md", read("m/good/report.md"));
        insta::assert_snapshot!("good_transcript_md", read("m/good/transcript.md"));
    });
}

/// Every file and folder under `dir`, relative to `root`, sorted; folders end with `/`.
fn walk(root: &Path, dir: &Path) -> Vec<String> {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    entries.sort();
    let mut out = Vec::new();
    for path in entries {
        let rel = path
            .strip_prefix(root)
            .unwrap()
            .to_str()
            .unwrap()
            .to_owned();
        if path.is_dir() {
            out.push(format!("{rel}/"));
            out.extend(walk(root, &path));
        } else {
            out.push(rel);
        }
    }
    out
}

//! Inputs checked before money is spent (issue 22): `max_input_age` fails a job whose input
//! is too old before anything is uploaded for it or sent, and a `for_each` that matches no
//! file fails only its entry (`no_inputs`), or is skipped with `allow_empty: true`.

use std::time::{Duration, SystemTime};

use fake_anthropic::FakeServer;

use crate::harness::{Sandbox, summary_job};

fn age(sandbox: &Sandbox, rel: &str, by: Duration) {
    let file = std::fs::File::options()
        .write(true)
        .open(sandbox.root.join(rel))
        .unwrap();
    file.set_modified(SystemTime::now() - by).unwrap();
}

#[test]
fn a_stale_input_fails_only_its_job_and_sends_nothing_for_it() {
    let sandbox = Sandbox::with_manifest(
        "  - name: old\n    inputs: [data/old.csv]\n    max_input_age: 36h\n    prompt: hi\n  \
         - name: new\n    inputs: [data/new.csv]\n    max_input_age: 36h\n    prompt: hi\n",
    );
    sandbox.file("data/old.csv", "a,b\n1,2\n");
    sandbox.file("data/new.csv", "a,b\n3,4\n");
    age(
        &sandbox,
        "data/old.csv",
        Duration::from_secs(3 * 86_400 + 4 * 3600 + 60),
    );
    let fake = FakeServer::start();
    let (code, summary) = sandbox.run_json(&fake, &["run", "m.yaml", "-o", "out"]);
    assert_eq!(code, Some(1), "{summary}");
    let old = summary_job(&summary, "job", "old");
    assert_eq!(old["status"], "failed");
    assert_eq!(old["error"]["kind"], "stale_input");
    let message = old["error"]["message"].as_str().unwrap();
    assert!(message.contains("data/old.csv"), "{message}");
    assert!(message.contains("3d 4h old"), "{message}");
    assert_eq!(summary_job(&summary, "job", "new")["status"], "succeeded");
    let stats = fake.stats();
    assert_eq!(
        stats.requests.get("messages").copied().unwrap_or(0),
        1,
        "{stats:?}"
    );
    assert!(
        stats.uploads.keys().all(|(_, name)| name != "old.csv"),
        "{stats:?}"
    );
    // Written like any job that failed before sending.
    let job = sandbox.read_json("out/m/old/job.json");
    assert_eq!(job["error"]["kind"], "stale_input");

    // Still stale the next night, though unchanged: never fresh.
    let (code, summary) = sandbox.run_json(&fake, &["run", "m.yaml", "-o", "out"]);
    assert_eq!(code, Some(1), "{summary}");
    assert_eq!(
        summary_job(&summary, "job", "old")["error"]["kind"],
        "stale_input"
    );
    assert_eq!(summary_job(&summary, "job", "new")["status"], "fresh");
}

#[test]
fn max_input_age_in_defaults_and_plan_shows_it() {
    let sandbox = Sandbox::new();
    sandbox.file(
        "m.yaml",
        "version: 1\ndefaults:\n  model: claude-sonnet-4-6\n  max_input_age: 2d\njobs:\n  \
         - name: a\n    inputs: [d.csv]\n    prompt: hi\n",
    );
    sandbox.file("d.csv", "x\n");
    age(&sandbox, "d.csv", Duration::from_secs(3 * 86_400));
    let out = sandbox.cmd(["plan", "m.yaml"]).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("stale: input `d.csv` is 3d old"), "{text}");
}

const TWO_ENTRIES: &str = "  - name: \"w-{{ stem }}\"\n    for_each: \"data/*.json\"\n    prompt: hi\n  \
                           - name: plain\n    prompt: hi\n";

#[test]
fn an_empty_for_each_fails_only_its_entry_and_the_rest_runs() {
    let sandbox = Sandbox::with_manifest(TWO_ENTRIES);
    let fake = FakeServer::start();
    let (code, summary) = sandbox.run_json(&fake, &["run", "m.yaml", "-o", "out"]);
    assert_eq!(code, Some(1), "{summary}");
    let empty = summary_job(&summary, "job", "w-{{ stem }}");
    assert_eq!(empty["status"], "failed");
    assert_eq!(empty["error"]["kind"], "no_inputs");
    assert!(
        empty["error"]["message"]
            .as_str()
            .unwrap()
            .contains("data/*.json")
    );
    assert_eq!(summary_job(&summary, "job", "plain")["status"], "succeeded");
    assert_eq!(summary["counts"]["failed"], 1);

    // validate: a warning, exit 0 (the files may be there by the run).
    let out = sandbox.cmd(["validate", "m.yaml"]).output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("warning") && err.contains("matches no file"),
        "{err}"
    );
    // plan: the entry with 0 jobs.
    let out = sandbox.cmd(["plan", "m.yaml"]).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("0 jobs: for_each `data/*.json` matches no file"),
        "{text}"
    );
}

#[test]
fn allow_empty_makes_an_empty_for_each_a_skip() {
    let jobs = TWO_ENTRIES.replace("for_each:", "allow_empty: true\n    for_each:");
    let sandbox = Sandbox::with_manifest(&jobs);
    let fake = FakeServer::start();
    let out = sandbox
        .cmd_against(&fake, ["run", "m.yaml", "-o", "out"])
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("skipped m/w-{{ stem }}"), "{err}");
    let run = sandbox.read_json("out/run.json");
    assert_eq!(run["counts"]["failed"], 0);
    assert_eq!(run["skipped"][0]["job"], "w-{{ stem }}");
    assert_eq!(run["skipped"][0]["dir"], "m/w-{{ stem }}");
    let page = sandbox.read("out/index.html");
    // The page says so too (minijinja escapes `/` as well).
    assert!(
        page.contains("skipped <strong>m&#x2f;w-{{ stem }}</strong>: "),
        "{page}"
    );
}

#[test]
fn with_keep_going_an_empty_for_each_and_an_invalid_entry_each_fail_alone() {
    let jobs = format!("{TWO_ENTRIES}  - name: bad\n    inputs: [missing.csv]\n    prompt: hi\n");
    let sandbox = Sandbox::with_manifest(&jobs);
    let fake = FakeServer::start();
    let (code, summary) = sandbox.run_json(&fake, &["run", "m.yaml", "-o", "out", "--keep-going"]);
    assert_eq!(code, Some(1), "{summary}");
    assert_eq!(
        summary_job(&summary, "job", "w-{{ stem }}")["error"]["kind"],
        "no_inputs"
    );
    assert_eq!(
        summary_job(&summary, "job", "bad")["error"]["kind"],
        "invalid"
    );
    assert_eq!(summary_job(&summary, "job", "plain")["status"], "succeeded");
    assert_eq!(summary["counts"]["total"], 3);
}

//! `runner diff`: two nights of the run history compared job by job (docs/output.md §12.1).

use fake_anthropic::FakeServer;

use crate::harness::{Sandbox, assert_exit, manifest, stdout_json};

fn jobs() -> String {
    manifest(
        "  - name: report\n    inputs: [data/in.csv]\n    prompt: \"Summarise.\"\n  - name: other\n    inputs: [data/other.csv]\n    prompt: \"Count.\"\n",
    )
}

/// Night one, then night two (with `data/in.csv` changed when `change`); the two run ids.
fn two_nights(fake: &FakeServer, sb: &Sandbox, change: bool) -> (String, String) {
    sb.file("data/in.csv", "a\n1\n")
        .file("data/other.csv", "b\n2\n")
        .file("m.yaml", jobs());
    // One job at a time: which job writes the shared prompt prefix, and so what each
    // costs, does not depend on which starts first.
    let (code, first) = sb.run_json(fake, &["run", "m.yaml", "-j", "1", "--uploads", "1"]);
    assert_eq!(code, Some(0));
    if change {
        sb.file("data/in.csv", "a\n1\n22\n333\n");
    }
    let (code, second) = sb.run_json(fake, &["run", "m.yaml", "-j", "1", "--uploads", "1"]);
    assert_eq!(code, Some(0));
    let id = |s: &serde_json::Value| s["run_id"].as_str().unwrap().to_owned();
    (id(&first), id(&second))
}

#[test]
fn a_changed_input_shows_the_job_its_files_and_its_report_diff() {
    let fake = FakeServer::start();
    let sb = Sandbox::new();
    let (first, _) = two_nights(&fake, &sb, true);
    assert!(
        sb.root
            .join(format!("out/runs/{first}/.reports/m/report.md"))
            .is_file(),
        "the run kept a copy of the report it wrote"
    );
    let out = sb.cmd(["diff"]).output().unwrap();
    assert_exit(&out, 1);
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("\nm/report: changed\n"), "{text}");
    assert!(!text.contains("m/other: changed"), "{text}");
    assert!(
        text.contains("  file changed: files/inventory.csv\n"),
        "{text}"
    );
    assert!(text.contains("  report.md:\n    --- "), "{text}");
    assert!(text.contains("\n    -**Inputs:**"), "{text}");
    assert!(text.contains("  cost: $"), "{text}");
    assert!(
        text.ends_with("1 job changed, 0 added, 0 removed; 1 job unchanged\n"),
        "{text}"
    );
}

#[test]
fn the_json_shape() {
    let fake = FakeServer::start();
    let sb = Sandbox::new();
    let (first, second) = two_nights(&fake, &sb, true);
    // The shortest beginning of the first id that the second does not share: two runs in
    // the same second share more than the time.
    let prefix = (1..first.len())
        .map(|n| &first[..n])
        .find(|p| !second.starts_with(p))
        .unwrap_or(&first);
    let out = sb
        .cmd(["diff", "--json", prefix, &second])
        .output()
        .unwrap();
    assert_exit(&out, 1);
    let json: serde_json::Value = stdout_json(&out);
    assert_eq!(json["from"]["run_id"], first.as_str());
    assert_eq!(json["changed"], true);
    let other = &json["jobs"][0];
    assert_eq!(
        (&other["id"], &other["change"]),
        (&"m/other".into(), &"unchanged".into())
    );
    assert_eq!(other["status"]["to"], "fresh");
    assert_eq!(
        other["report"]["changed"], false,
        "a fresh job's report is the older run's"
    );
    let text = String::from_utf8(out.stdout).unwrap();
    let filters = vec![
        (r"\b\d{8}T\d{6}Z-[0-9a-f]{4}\b", "[RUN_ID]"),
        (r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z", "[TIME]"),
        (
            r#""duration_secs": \{[^}]*\}"#,
            r#""duration_secs": [DELTA]"#,
        ),
        (r"\b(file|req|container)_[0-9A-Za-z]{20,}", "[${1}_id]"),
    ];
    insta::with_settings!({filters => filters}, {
        insta::assert_snapshot!(text);
    });
}

#[test]
fn nothing_changed_exits_0_and_a_night_of_fresh_jobs_is_not_the_default() {
    let fake = FakeServer::start();
    let sb = Sandbox::new();
    let (first, second) = two_nights(&fake, &sb, false);
    let out = sb.cmd(["diff", &first, &second]).output().unwrap();
    assert_exit(&out, 0);
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.ends_with("0 jobs changed, 0 added, 0 removed; 2 jobs unchanged\n"),
        "{text}"
    );
    // One argument: compared with the newest.
    assert_exit(&sb.cmd(["diff", &first]).output().unwrap(), 0);
    // The second night did no work: by default there is only one run to compare.
    let out = sb.cmd(["diff"]).output().unwrap();
    assert_exit(&out, 2);
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(
        err.contains("only one of the 2 recorded runs did work"),
        "{err}"
    );
}

#[test]
fn an_unknown_run_or_too_few_runs_exit_2() {
    let sb = Sandbox::new();
    let out = sb.cmd(["diff"]).output().unwrap();
    assert_exit(&out, 2);
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(err.contains("no run is recorded"), "{err}");

    let fake = FakeServer::start();
    sb.file("data/in.csv", "a\n1\n")
        .file("data/other.csv", "b\n2\n")
        .file("m.yaml", jobs());
    let (code, _) = sb.run_json(&fake, &["run", "m.yaml"]);
    assert_eq!(code, Some(0));
    let out = sb.cmd(["diff"]).output().unwrap();
    assert_exit(&out, 2);
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(err.contains("only one run is recorded"), "{err}");

    let out = sb.cmd(["diff", "20990101", "-o", "out"]).output().unwrap();
    assert_exit(&out, 2);
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(
        err.contains("no run `20990101` in the run history; `runner history` lists the run ids"),
        "{err}"
    );
}

//! What schedulers and CI read: `--keep-going`, JUnit XML (checked against the vendored
//! common schema), JSON log lines, the config file, and the key from a file.

use fake_anthropic::{Config, FakeServer};

use crate::harness::{
    CommandExt, Sandbox, TEST_KEY, assert_exit, manifest, stdout_json, summary_job,
};

/// `good.yaml` (two jobs, one failing), `drop.yaml` (one job with a missing input, one fine)
/// and `broken.yaml` (not a manifest at all).
fn nightly_drop() -> Sandbox {
    let sb = Sandbox::new();
    sb.file("data/in.csv", "a\n1\n")
        .file(
            "good.yaml",
            manifest(
                "  - name: ok\n    inputs: [data/in.csv]\n    prompt: fine\n  - name: bad\n    prompt: \"x\\n@fake fail 400 invalid_request_error\"\n",
            ),
        )
        .file(
            "drop.yaml",
            manifest(
                "  - name: missing\n    inputs: [data/gone.csv]\n    prompt: x\n  - name: present\n    inputs: [data/in.csv]\n    prompt: y\n",
            ),
        )
        .file("broken.yaml", "version: 1\njobs: [\n");
    sb
}

#[test]
fn keep_going_fails_only_the_jobs_an_invalid_manifest_concerns() {
    let fake = FakeServer::start();
    let sb = nightly_drop();
    let strict = sb
        .cmd_against(&fake, ["run", "good.yaml", "drop.yaml", "broken.yaml"])
        .output()
        .unwrap();
    assert_eq!(
        strict.status.code(),
        Some(2),
        "without the flag, the strict refusal stays"
    );
    assert_eq!(fake.stats().requests_total, 0);

    let (code, summary) = sb.run_json(
        &fake,
        &[
            "run",
            "good.yaml",
            "drop.yaml",
            "broken.yaml",
            "--keep-going",
        ],
    );
    assert_eq!(code, Some(1));
    let by_dir = |dir: &str| summary_job(&summary, "dir", dir).clone();
    let missing = by_dir("drop/missing");
    assert_eq!(missing["status"], "failed");
    assert_eq!(missing["error"]["kind"], "invalid");
    let message = missing["error"]["message"].as_str().unwrap();
    assert!(message.starts_with("drop.yaml:6:"), "{message}");
    assert!(message.contains("data/gone.csv"), "{message}");
    let broken = by_dir("broken/*");
    assert_eq!(broken["error"]["kind"], "invalid");
    assert_eq!(by_dir("drop/present")["status"], "succeeded");
    assert_eq!(by_dir("good/ok")["status"], "succeeded");
    assert_eq!(by_dir("good/bad")["error"]["kind"], "api");
    assert_eq!(summary["counts"]["failed"], 3);
}

#[test]
fn junit_report_matches_the_common_schema_and_names_every_job() {
    let fake = FakeServer::start();
    let sb = nightly_drop();
    let args = [
        "run",
        "good.yaml",
        "drop.yaml",
        "--keep-going",
        "--junit",
        "reports/junit.xml",
    ];
    sb.cmd_against(&fake, args).assert().code(1);
    // Again: the successes are fresh now.
    sb.cmd_against(&fake, args).assert().code(1);
    let xml = sb.read("reports/junit.xml");

    let xsd = include_str!("../../../docs/junit/JUnit.xsd");
    let schema = xmlschema::parse_schema(xsd).unwrap();
    let report = xmlschema::validate(&oxml::parse(&xml).unwrap(), &schema);
    assert!(report.is_valid(), "{report:?}\n{xml}");
    // The check can fail: a testcase without its required `classname` is rejected.
    let broken = xml.replacen(" classname=\"drop\"", "", 1);
    assert!(!xmlschema::validate(&oxml::parse(&broken).unwrap(), &schema).is_valid());

    let doc = oxml::parse(&xml).unwrap();
    let _ = doc;
    assert_eq!(xml.matches("<testsuite ").count(), 2, "{xml}");
    assert!(
        xml.contains("<testsuite name=\"drop\" tests=\"2\" failures=\"1\""),
        "{xml}"
    );
    assert!(
        xml.contains("<testcase name=\"bad\" classname=\"good\" time=\""),
        "{xml}"
    );
    assert!(
        xml.contains("<failure message=\"POST /v1/messages: HTTP 400"),
        "{xml}"
    );
    assert!(xml.contains("type=\"api\">"), "{xml}");
    assert!(xml.contains("type=\"invalid\">"), "{xml}");
    assert_eq!(
        xml.matches("<skipped message=\"fresh\"/>").count(),
        2,
        "{xml}"
    );
}

/// Each stderr line of `runner run --log-format json ARGS` (with `good.yaml`), parsed.
fn json_lines(fake: &FakeServer, sb: &Sandbox, args: &[&str]) -> Vec<serde_json::Value> {
    let out = sb
        .cmd_against(
            fake,
            ["run", "good.yaml", "--log-format", "json"]
                .iter()
                .chain(args),
        )
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8(out.stderr).unwrap();
    let objects: Vec<serde_json::Value> = stderr
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l:?}")))
        .collect();
    for o in &objects {
        assert!(o["timestamp"].is_string() && o["level"].is_string(), "{o}");
        assert!(o["message"].is_string(), "{o}");
    }
    objects
}

#[test]
fn json_log_lines_are_one_object_each_with_the_failure_and_the_summary_as_fields() {
    let fake = FakeServer::start();
    let sb = nightly_drop();
    // With -v, without (a warning filter), and with -q (then the closing lines print the
    // failure): the failed job's line is there, once, at ERROR, with its fields. `--force`:
    // the good job runs (and costs) every time.
    for args in [&["-v", "--force"][..], &["--force"], &["-q", "--force"]] {
        let objects = json_lines(&fake, &sb, args);
        let failed: Vec<&serde_json::Value> =
            objects.iter().filter(|o| o["job"] == "good/bad").collect();
        assert_eq!(failed.len(), 1, "shown once: {args:?} {objects:#?}");
        let failed = failed[0];
        assert_eq!(failed["level"], "ERROR", "{failed}");
        assert_eq!(failed["kind"], "api", "{failed}");
        assert!(
            failed["request_id"]
                .as_str()
                .is_some_and(|r| r.starts_with("req_")),
            "{failed}"
        );
        assert_eq!(failed["attempts"], 1, "a 400 is not retried: {failed}");
        let summary = objects
            .iter()
            .find(|o| o.get("exit_code").is_some())
            .unwrap_or_else(|| panic!("{args:?} {objects:#?}"));
        assert!(
            summary["message"]
                .as_str()
                .unwrap()
                .contains("2 jobs: 1 succeeded, 1 failed"),
            "{summary}"
        );
        assert_eq!(
            summary["level"], "ERROR",
            "a night with a failure: {summary}"
        );
        assert_eq!(summary["exit_code"], 1);
        assert_eq!(summary["counts"]["total"], 2, "{summary}");
        assert_eq!(summary["counts"]["failed"], 1, "{summary}");
        assert!(
            summary["cost_usd"].as_f64().is_some_and(|c| c > 0.0),
            "{summary}"
        );
    }
}

#[test]
fn a_config_file_holds_the_options_and_flags_override_it() {
    let fake = FakeServer::start();
    let sb = nightly_drop();
    sb.file(
        "etc/nightly.toml",
        "manifests = [\"../good.yaml\"]\nout = \"../nightly\"\njobs = 1\nmax_fail = 1\nkeep_runs = 5\njunit = \"junit.xml\"\n",
    );
    let (code, summary) = sb.run_json(&fake, &["run", "--config", "etc/nightly.toml"]);
    assert_eq!(code, Some(1));
    assert!(
        sb.root.join("nightly/good/ok/job.json").is_file()
            || sb.root.join("nightly/good/bad/job.json").is_file()
    );
    assert!(
        sb.root.join("etc/junit.xml").is_file(),
        "relative to the file's folder"
    );
    assert_eq!(summary["counts"]["failed"], 1);
    let history = sb
        .cmd(["history", "--json", "--config", "etc/nightly.toml"])
        .output()
        .unwrap();
    let runs: serde_json::Value = stdout_json(&history);
    assert_eq!(
        runs[0]["run_id"], summary["run_id"],
        "history reads the file's `out`"
    );
    assert_eq!(
        summary["counts"]["not_started"].as_u64().unwrap()
            + summary["counts"]["succeeded"].as_u64().unwrap(),
        1
    );

    // runner.toml in the current folder is read without a flag; a flag wins over it.
    sb.file("runner.toml", "out = \"from-file\"\nforce = true\n");
    let (code, _) = sb.run_json(&fake, &["run", "good.yaml", "-o", "from-flag"]);
    assert_eq!(code, Some(1));
    assert!(sb.root.join("from-flag/run.json").is_file());
    assert!(!sb.root.join("from-file").exists());
    sb.cmd_against(&fake, ["run", "good.yaml"]).assert().code(1);
    assert!(sb.root.join("from-file/run.json").is_file());

    // `budget_usd` in the file goes through the flag's own checks.
    sb.file("runner.toml", "budget_usd = -1.0\n");
    let stderr = sb.cmd_against(&fake, ["run", "good.yaml"]).exit_stderr(2);
    assert!(stderr.contains("--budget-usd `-1`: expected"), "{stderr}");

    sb.file("runner.toml", "outt = \"x\"\n");
    let stderr = sb.cmd_against(&fake, ["run", "good.yaml"]).exit_stderr(2);
    assert!(
        stderr.contains("runner.toml: TOML parse error") && stderr.contains("unknown field `outt`"),
        "{stderr}"
    );
}

#[test]
fn the_key_can_come_from_a_file_and_is_never_echoed() {
    let fake = FakeServer::start_with(Config {
        api_key: Some(TEST_KEY.into()),
        ..Config::default()
    });
    let sb = Sandbox::new();
    sb.file("m.yaml", manifest("  - name: a\n    prompt: x\n"))
        .file("secrets/key", format!("  {TEST_KEY}\n"));
    let out = sb
        .cmd_against(&fake, ["run", "m.yaml"])
        .env_remove("ANTHROPIC_API_KEY")
        .env("ANTHROPIC_API_KEY_FILE", sb.root.join("secrets/key"))
        .output()
        .unwrap();
    assert_exit(&out, 0);

    let out = sb
        .cmd_against(&fake, ["run", "m.yaml", "--force"])
        .env("ANTHROPIC_API_KEY_FILE", sb.root.join("secrets/key"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "both set is ambiguous");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("ANTHROPIC_API_KEY_FILE"), "{stderr}");
    assert!(!stderr.contains(TEST_KEY), "{stderr}");

    let out = sb
        .cmd_against(&fake, ["run", "m.yaml", "--force"])
        .env_remove("ANTHROPIC_API_KEY")
        .env("ANTHROPIC_API_KEY_FILE", sb.root.join("secrets/none"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
}

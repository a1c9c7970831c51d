//! Failing fast on what no retry will fix: the check before any upload, and the hints for
//! base URLs that are set up wrong.

use fake_anthropic::{Config, FakeServer};

use crate::harness::{Sandbox, TEST_KEY};

fn sandbox() -> Sandbox {
    let sb = Sandbox::with_manifest(
        "  - name: a\n    inputs: [data/in.csv]\n    prompt: one\n  - name: b\n    inputs: [data/in.csv]\n    prompt: two\n",
    );
    sb.file("data/in.csv", "a\n1\n");
    sb
}

/// Runs `runner run m.yaml` with `base_url`; returns exit code and stderr. (How fast this
/// is, is measured in BENCHMARKS.md, "Failing fast"; the tests count requests instead.)
fn run_at(sb: &Sandbox, fake: &FakeServer, base_url: &str) -> (Option<i32>, String) {
    let out = sb
        .cmd_against(fake, ["run", "m.yaml"])
        .env("ANTHROPIC_BASE_URL", base_url)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    (out.status.code(), stderr)
}

#[test]
fn a_wrong_key_ends_the_run_at_once_with_exit_2_and_nothing_uploaded() {
    let fake = FakeServer::start_with(Config {
        api_key: Some("sk-ant-the-right-one".into()),
        ..Config::default()
    });
    let sb = sandbox();
    let (code, stderr) = run_at(&sb, &fake, &fake.base_url());
    assert_eq!(code, Some(2), "{stderr}");
    let stats = fake.stats();
    assert!(
        stats.requests_total <= 2,
        "{} requests",
        stats.requests_total
    );
    assert_eq!(stats.upload_count, 0);
    assert_eq!(stats.requests.get("messages"), None);
    let lines: Vec<&str> = stderr.lines().collect();
    assert_eq!(lines.len(), 1, "one line: {stderr}");
    assert!(lines[0].starts_with("error: the API at "), "{stderr}");
    assert!(lines[0].contains("refused the key: HTTP 401"), "{stderr}");
    assert!(lines[0].contains("check ANTHROPIC_API_KEY"), "{stderr}");
    assert!(!stderr.contains(TEST_KEY), "the key is never echoed");
    assert!(!sb.root.join("out/m").exists(), "no job folder");
}

#[test]
fn an_unreachable_host_ends_the_run_at_once() {
    let fake = FakeServer::start();
    let sb = sandbox();
    // A closed local port: the connection is refused.
    let (code, stderr) = run_at(&sb, &fake, "http://127.0.0.1:9");
    assert_eq!(code, Some(2), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(
        stderr.starts_with("error: cannot reach the API at http://127.0.0.1:9"),
        "{stderr}"
    );
    assert!(stderr.contains("check ANTHROPIC_BASE_URL"), "{stderr}");
}

#[test]
fn an_unknown_host_name_points_at_dns() {
    let fake = FakeServer::start();
    let sb = sandbox();
    // `.invalid` never resolves (RFC 2606).
    let (code, stderr) = run_at(&sb, &fake, "http://api.anthropic.invalid");
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains("cannot reach the API"), "{stderr}");
    assert!(stderr.contains("DNS"), "{stderr}");
}

#[test]
fn a_base_url_ending_in_v1_gets_a_hint() {
    let fake = FakeServer::start();
    let sb = sandbox();
    let (code, stderr) = run_at(&sb, &fake, &format!("{}/v1", fake.base_url()));
    assert_eq!(code, Some(2), "{stderr}");
    assert!(
        stderr.contains(&format!(
            "{}/v1/v1/files answered HTTP 404",
            fake.base_url()
        )),
        "{stderr}"
    );
    assert!(
        stderr.contains(&format!(
            "ends in /v1, but the runner adds /v1 itself: set it to {}",
            fake.base_url()
        )),
        "{stderr}"
    );
    assert_eq!(fake.stats().upload_count, 0);
}

#[test]
fn a_base_url_that_is_not_the_api_is_named() {
    let fake = FakeServer::start();
    let sb = sandbox();
    let (code, stderr) = run_at(&sb, &fake, &format!("{}/proxy", fake.base_url()));
    assert_eq!(code, Some(2), "{stderr}");
    assert!(
        stderr.contains("does not look like the Anthropic API"),
        "{stderr}"
    );
}

#[test]
fn https_to_a_plain_http_server_gets_a_hint() {
    let fake = FakeServer::start();
    let sb = sandbox();
    let https = fake.base_url().replacen("http://", "https://", 1);
    let (code, stderr) = run_at(&sb, &fake, &https);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(
        stderr.contains(&format!("set ANTHROPIC_BASE_URL to {}", fake.base_url())),
        "{stderr}"
    );
}

#[test]
fn a_base_url_without_scheme_gets_a_hint() {
    let fake = FakeServer::start();
    let sb = sandbox();
    for url in ["api.anthropic.com", "localhost:8080"] {
        let (code, stderr) = run_at(&sb, &fake, url);
        assert_eq!(code, Some(2), "{stderr}");
        assert!(
            stderr.contains(&format!("write e.g. https://{url}")),
            "{url}: {stderr}"
        );
    }
    assert_eq!(fake.stats().requests_total, 0);
}

#[test]
fn a_setup_failure_is_recorded_as_a_run_with_its_error_and_shown_on_the_page() {
    let fake = FakeServer::start();
    let sb = sandbox();
    sb.cmd_against(&fake, ["run", "m.yaml"]).assert().success();
    let good = sb.read_json("out/run.json");

    // The next night the host cannot be reached.
    let out = sb
        .cmd_against(&fake, ["run", "--force", "m.yaml"])
        .env("ANTHROPIC_BASE_URL", "http://127.0.0.1:9")
        .output()
        .unwrap();
    crate::harness::assert_exit(&out, 2);
    let run = sb.read_json("out/run.json");
    assert_ne!(run["run_id"], good["run_id"], "run.json is tonight's");
    assert_eq!(run["exit_code"], 2);
    assert_eq!(run["jobs"], serde_json::json!([]));
    let message = run["error"]["message"].as_str().unwrap();
    assert!(message.contains("cannot reach the API"), "{message}");
    let id = run["run_id"].as_str().unwrap();
    assert_eq!(sb.read_json(&format!("out/runs/{id}/run.json")), run);
    let history: serde_json::Value = sb
        .cmd(["history", "--json"])
        .output()
        .map(|o| serde_json::from_slice(&o.stdout).unwrap())
        .unwrap();
    assert_eq!(history[0]["run_id"], id, "newest first: {history}");
    assert_eq!(history[1]["run_id"], good["run_id"]);
    let index = sb.read("out/index.html");
    assert!(index.contains("id=\"run-error\""), "{index}");
    assert!(index.contains("cannot reach the API"), "{index}");
    // The jobs' folders from the good night are still on the page.
    assert!(index.contains("data-status=\"succeeded\""), "{index}");
}

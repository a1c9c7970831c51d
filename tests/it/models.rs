//! The Models API on the runner side (docs/api.md §12), against the fake's catalogue over
//! HTTP: a retired, unknown or unfitting model ends `run` before any upload; a deprecated
//! one warns; answers are cached for a day; `runner models`; `validate` and `plan` check
//! against the cache without the network.

use fake_anthropic::{Endpoint, FakeServer, Fault};

use crate::harness::{CommandExt, Sandbox, assert_success};

/// The fake's date, so the catalogue (Opus 4.5 deprecated, Sonnet 4.5 retired) does not
/// move under the tests.
fn fake() -> FakeServer {
    let fake = FakeServer::start();
    fake.set_today(jiff::civil::date(2026, 12, 6));
    fake
}

/// A manifest of one job on `model` (priced by the manifest: the built-in table does not
/// know every current model) with `extra` settings on the job.
fn on_model(model: &str, extra: &str) -> Sandbox {
    let sb = Sandbox::new();
    sb.file("data.csv", "x\n1\n").file(
        "m.yaml",
        format!(
            "version: 1\ndefaults:\n  model: {model}\n  pricing: {{input: 3, output: 15}}\njobs:\n  - name: a\n    inputs: [data.csv]\n    prompt: hi\n{extra}"
        ),
    );
    sb
}

/// A manifest whose `defaults` name a retired model (Sonnet 4.5, retired 2026-11-30) for
/// the job entries `jobs`, priced by the manifest (the price table's rows for it ended
/// with it).
fn on_retired_model(jobs: &str) -> Sandbox {
    let sb = Sandbox::new();
    sb.file(
        "m.yaml",
        format!(
            "version: 1\ndefaults:\n  model: claude-sonnet-4-5-20250929\n  pricing: {{input: 3, output: 15}}\njobs:\n{jobs}"
        ),
    );
    sb
}

fn requests(fake: &FakeServer, endpoint: &str) -> u32 {
    fake.stats().requests.get(endpoint).copied().unwrap_or(0)
}

#[test]
fn a_retired_model_ends_the_run_before_any_upload_naming_the_current_models() {
    let fake = fake();
    let sb = on_retired_model("  - name: a\n    inputs: [data.csv]\n    prompt: hi\n");
    sb.file("data.csv", "x\n1\n");
    let stderr = sb.cmd_against(&fake, ["run", "m.yaml"]).exit_stderr(2);
    assert!(
        stderr.contains(
            "error: m.yaml:3:10: model `claude-sonnet-4-5-20250929` was retired on 2026-11-30\n"
        ),
        "{stderr}"
    );
    assert!(
        stderr.contains(
            "= help: current sonnet models: claude-sonnet-5-5, claude-sonnet-5, claude-sonnet-4-6; \
             set `model` to one of them"
        ),
        "{stderr}"
    );
    let stats = fake.stats();
    assert_eq!(stats.upload_count, 0, "nothing uploaded");
    assert_eq!(requests(&fake, "messages"), 0);
    // Recorded as a run that started no job (docs/output.md §6).
    let run = sb.read_json("out/run.json");
    assert_eq!(
        (run["exit_code"].clone(), run["jobs"].clone()),
        (2.into(), serde_json::json!([]))
    );
}

#[test]
fn an_unknown_model_is_a_404_answer_not_a_network_failure() {
    let fake = fake();
    let sb = on_model("claude-sonet-5-5", "");
    let stderr = sb.cmd_against(&fake, ["run", "m.yaml"]).exit_stderr(2);
    assert!(
        stderr.contains(
            "error: m.yaml:3:10: model `claude-sonet-5-5` is not in the API's model catalogue \
             (GET /v1/models/claude-sonet-5-5 answered 404)"
        ),
        "{stderr}"
    );
    assert!(
        stderr.contains("did you mean `claude-sonnet-5-5`?"),
        "{stderr}"
    );
    assert_eq!(fake.stats().upload_count, 0);
}

#[test]
fn a_deprecated_model_runs_with_one_warning_naming_its_retirement() {
    let fake = fake();
    let sb = Sandbox::new();
    sb.file("data.csv", "x\n1\n").file(
        "m.yaml",
        "version: 1\ndefaults:\n  model: claude-opus-4-5-20251101\njobs:\n  - name: a\n    inputs: [data.csv]\n    prompt: hi\n  - name: b\n    inputs: [data.csv]\n    prompt: ho\n",
    );
    let out = sb.cmd_against(&fake, ["run", "m.yaml"]).output().unwrap();
    assert_success(&out);
    let stderr = String::from_utf8_lossy(&out.stderr);
    let warnings: Vec<&str> = stderr
        .lines()
        .filter(|l| l.starts_with("warning:"))
        .collect();
    assert_eq!(
        warnings,
        [
            "warning: m.yaml:3:10: model `claude-opus-4-5-20251101` is deprecated: it retires on \
             2027-01-22; `runner models` lists the current models"
        ]
    );
    // One model, asked once; a warning is not worth listing the catalogue for.
    assert_eq!(requests(&fake, "get_model"), 1);
    assert_eq!(requests(&fake, "list_models"), 0);
}

#[test]
fn answers_are_cached_for_a_day_per_base_url() {
    let fake = fake();
    let sb = on_model("claude-sonnet-5-5", "");
    sb.cmd_against(&fake, ["run", "m.yaml"]).assert().success();
    assert_eq!(requests(&fake, "get_model"), 1);
    let cache = sb.state_dir().join("models.json");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&cache).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600, "private to the user");
    }
    sb.cmd_against(&fake, ["run", "m.yaml", "--force"])
        .assert()
        .success();
    assert_eq!(requests(&fake, "get_model"), 1, "the cached answer served");
    assert_eq!(requests(&fake, "list_models"), 0);

    // A day later it is asked again.
    let text = std::fs::read_to_string(&cache).unwrap();
    let mut saved: serde_json::Value = serde_json::from_str(&text).unwrap();
    let day_ago = jiff::Timestamp::now() - jiff::SignedDuration::from_hours(25);
    saved["entries"][0]["fetched_at"] = serde_json::json!(day_ago.to_string());
    std::fs::write(&cache, saved.to_string()).unwrap();
    sb.cmd_against(&fake, ["run", "m.yaml", "--force"])
        .assert()
        .success();
    assert_eq!(
        requests(&fake, "get_model"),
        2,
        "a stale answer is asked again"
    );

    // Another base URL (another fake) is asked again.
    let other = fake_anthropic::FakeServer::start();
    sb.cmd_against(&other, ["run", "m.yaml", "--force"])
        .assert()
        .success();
    assert_eq!(requests(&other, "get_model"), 1);
}

#[test]
fn a_catalogue_that_cannot_be_reached_warns_and_the_run_goes_on() {
    let fake = fake();
    fake.push_faults(
        Endpoint::GetModel,
        [Fault::status(503), Fault::status(503), Fault::status(503)],
    );
    let sb = on_model("claude-sonnet-5-5", "");
    let out = sb.cmd_against(&fake, ["run", "m.yaml"]).output().unwrap();
    assert_success(&out);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("warning: cannot check model `claude-sonnet-5-5` with the API (")
            && stderr.contains("; going on without checking it"),
        "{stderr}"
    );
    assert_eq!(requests(&fake, "get_model"), 3, "three attempts, no more");
    assert!(!sb.state_dir().join("models.json").exists());
}

#[test]
fn settings_the_model_does_not_accept_are_refused_at_their_keys() {
    let fake = fake();
    let sb = on_model(
        "claude-sonnet-5-5",
        "    max_tokens: 200000\n    thinking: {budget_tokens: 4000}\n",
    );
    let stderr = sb.cmd_against(&fake, ["run", "m.yaml"]).exit_stderr(2);
    insta::assert_snapshot!(stderr);
    assert_eq!(fake.stats().upload_count, 0);
    assert_eq!(requests(&fake, "messages"), 0);
}

#[test]
fn runner_models_lists_the_catalogue_with_prices() {
    let fake = fake();
    // Launched after this release: in the catalogue, not in the price table.
    fake.add_model(serde_json::json!({
        "id": "claude-sonnet-6", "like": "claude-sonnet-5-5", "display_name": "Claude Sonnet 6",
        "created_at": "2026-12-01T00:00:00Z"
    }));
    let sb = Sandbox::new();
    let out = sb.cmd_against(&fake, ["models"]).output().unwrap();
    assert_success(&out);
    insta::assert_snapshot!(String::from_utf8(out.stdout).unwrap());
    assert!(
        sb.state_dir().join("models.json").exists(),
        "saved as the cache"
    );
}

#[test]
fn runner_models_json_is_stable_and_all_adds_the_retired() {
    let fake = fake();
    let sb = Sandbox::new();
    let listed: serde_json::Value = sb.cmd_against(&fake, ["models", "--json"]).success_json();
    let all = listed.as_array().unwrap();
    let sonnet = all.iter().find(|m| m["id"] == "claude-sonnet-5-5").unwrap();
    insta::assert_json_snapshot!(sonnet);
    let haiku = all
        .iter()
        .find(|m| m["id"] == "claude-haiku-4-5-20251001")
        .unwrap();
    assert_eq!(
        haiku["price"]["rates"]["input"], 1.0,
        "priced by the built-in table"
    );
    assert!(
        all.iter().all(|m| m["lifecycle"] != "retired"),
        "no retired model without --all"
    );
    let with_retired: serde_json::Value = sb
        .cmd_against(&fake, ["models", "--json", "--all"])
        .success_json();
    let retired: Vec<&str> = with_retired
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["lifecycle"] == "retired")
        .map(|m| m["id"].as_str().unwrap())
        .collect();
    assert_eq!(
        retired,
        [
            "claude-sonnet-4-5-20250929",
            "claude-opus-4-20250514",
            "claude-sonnet-4-20250514"
        ]
    );
}

#[test]
fn runner_models_needs_the_key() {
    let sb = Sandbox::new();
    let stderr = sb.cmd(["models"]).exit_stderr(2);
    assert!(stderr.contains("ANTHROPIC_API_KEY is not set"), "{stderr}");
}

#[test]
fn validate_says_once_when_there_is_no_cached_catalogue() {
    let sb = Sandbox::with_manifest("  - name: a\n    prompt: hi\n  - name: b\n    prompt: ho\n");
    let out = sb.cmd(["validate", "m.yaml"]).output().unwrap();
    assert_success(&out);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        stderr,
        "no cached model catalogue for http://127.0.0.1:9; run `runner models` or `runner run` \
         to fetch it\nok: 1 manifest, 2 jobs, 0 input files\n"
    );
    assert!(!sb.state_dir().exists(), "validate creates nothing");
}

#[test]
fn validate_and_plan_check_against_the_cached_catalogue_without_the_network() {
    let fake = fake();
    let sb = on_retired_model("  - name: a\n    prompt: hi\n");
    sb.cmd_against(&fake, ["models"]).assert().success();
    let before = fake.stats().requests_total;

    // Sonnet 4.5 is not listed without --all: not checked, and said so.
    let out = sb
        .cmd_against(&fake, ["validate", "m.yaml"])
        .output()
        .unwrap();
    assert_success(&out);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("so not checked: claude-sonnet-4-5-20250929"),
        "{stderr}"
    );
    sb.cmd_against(&fake, ["models", "--all"])
        .assert()
        .success();
    let before_all = fake.stats().requests_total;
    for command in ["validate", "plan"] {
        let stderr = sb.cmd_against(&fake, [command, "m.yaml"]).exit_stderr(2);
        assert!(
            stderr.contains(
                "m.yaml:3:10: model `claude-sonnet-4-5-20250929` was retired on 2026-11-30"
            ),
            "{command}: {stderr}"
        );
    }
    // A deprecated model passes with its warning.
    sb.file(
        "m.yaml",
        "version: 1\ndefaults:\n  model: claude-opus-4-5-20251101\njobs:\n  - name: a\n    prompt: hi\n",
    );
    let out = sb
        .cmd_against(&fake, ["validate", "m.yaml"])
        .output()
        .unwrap();
    assert_success(&out);
    assert!(
        String::from_utf8_lossy(&out.stderr).contains(
            "warning: m.yaml:3:10: model `claude-opus-4-5-20251101` is deprecated: it retires on 2027-01-22"
        )
    );
    assert!(before > 0);
    assert_eq!(
        fake.stats().requests_total,
        before_all,
        "validate and plan sent nothing"
    );
}

#[test]
fn plan_estimate_checks_the_models_with_the_api() {
    let fake = fake();
    let sb = on_retired_model("  - name: a\n    prompt: hi\n");
    let stderr = sb
        .cmd_against(&fake, ["plan", "--estimate", "m.yaml"])
        .exit_stderr(2);
    assert!(stderr.contains("was retired on 2026-11-30"), "{stderr}");
    assert_eq!(requests(&fake, "get_model"), 1);
    assert_eq!(fake.stats().count_tokens, 0, "refused before counting");
}

#[test]
fn runner_models_reads_every_page() {
    let fake = fake();
    for i in 0..1000 {
        fake.add_model(serde_json::json!({
            "id": format!("claude-test-{i:04}"), "like": "claude-haiku-5-5",
            "created_at": "2020-01-01T00:00:00Z"
        }));
    }
    let sb = Sandbox::new();
    let listed: serde_json::Value = sb.cmd_against(&fake, ["models", "--json"]).success_json();
    assert_eq!(listed.as_array().unwrap().len(), 17 + 1000);
    assert_eq!(requests(&fake, "list_models"), 2, "1000 a page");
}

#[test]
fn a_model_without_the_code_execution_tool_is_refused_at_its_model_key() {
    let fake = fake();
    fake.add_model(serde_json::json!({
        "id": "claude-plain-1", "like": "claude-haiku-5-5",
        "capabilities": {"server_tools": {"supported": false, "code_execution": {"supported": false}}}
    }));
    let sb = on_model("claude-plain-1", "");
    let stderr = sb.cmd_against(&fake, ["run", "m.yaml"]).exit_stderr(2);
    assert!(
        stderr.contains(
            "error: m.yaml:3:10: `claude-plain-1` does not support the code execution tool"
        ),
        "{stderr}"
    );
    assert_eq!(fake.stats().upload_count, 0);
}

#[test]
fn an_effort_level_or_thinking_type_the_model_lacks_is_refused_at_its_key() {
    let fake = fake();
    let sb = on_model("claude-opus-4-5-20251101", "    effort: max\n");
    let stderr = sb.cmd_against(&fake, ["run", "m.yaml"]).exit_stderr(2);
    assert!(
        stderr.contains(
            "error: m.yaml:9:13: `claude-opus-4-5-20251101` does not accept effort `max`\n"
        ) && stderr.contains("= help: the model accepts: low, medium, high"),
        "{stderr}"
    );
    let sb = on_model("claude-sonnet-5", "    thinking: between_tools\n");
    let stderr = sb.cmd_against(&fake, ["run", "m.yaml"]).exit_stderr(2);
    assert!(
        stderr.contains(
            "error: m.yaml:9:15: `claude-sonnet-5` does not accept thinking `between_tools`\n"
        ) && stderr.contains("= help: the model accepts: adaptive, disabled"),
        "{stderr}"
    );
    assert_eq!(fake.stats().upload_count, 0);
}

//! Prices as dated data a user extends: `--prices FILE`, `prices` in runner.toml.

use fake_anthropic::FakeServer;
use serde_json::Value;

use crate::harness::*;

const NEXT: &str = "version: 1\njobs:\n  - name: a\n    model: claude-next-6\n    prompt: hi\n";

const PRICES: &str = "[[price]]\nmodel = \"claude-next-6\"\ninput = 6.0\noutput = 30.0\n\
                      cache_read = 0.3\nsource = \"launch post\"\n";

/// A fake that knows `claude-next-6`, a model launched after this release.
fn fake_with_next() -> FakeServer {
    let fake = FakeServer::start();
    fake.add_model(serde_json::json!({"id": "claude-next-6", "like": "claude-sonnet-4-6"}));
    fake
}

fn n(v: &Value) -> f64 {
    v.as_f64().unwrap()
}

#[test]
fn a_model_this_release_does_not_know_runs_when_a_price_file_prices_it() {
    let fake = fake_with_next();
    let sb = Sandbox::new();
    sb.file("m.yaml", NEXT).file("prices.toml", PRICES);
    let stderr = sb.cmd(["validate", "m.yaml"]).exit_stderr(2);
    assert!(
        stderr.contains("no price is known for model `claude-next-6`"),
        "{stderr}"
    );
    assert!(
        stderr.contains("--prices FILE"),
        "the help says how: {stderr}"
    );

    sb.cmd_against(&fake, ["--prices", "prices.toml", "run", "m.yaml"])
        .assert()
        .success();
    let job = sb.read_json("out/m/a/job.json");
    let request = &job["requests"][0];
    assert_eq!(request["price"]["model"], "claude-next-6");
    assert_eq!(request["price"]["source"], "launch post");
    assert_eq!(request["price"]["tier"], false);
    assert_eq!(request["price"]["factor"], 1.0);
    assert_eq!(
        job["price_row"]["rates"]["cache_write_5m"], 7.5,
        "1.25 x input"
    );
    let u = &request["usage"];
    let by_hand = n(&u["input_tokens"]) * 6.0
        + n(&u["cache_creation"]["ephemeral_5m_input_tokens"]) * 7.5
        + n(&u["cache_creation"]["ephemeral_1h_input_tokens"]) * 12.0
        + n(&u["cache_read_input_tokens"]) * 0.3
        + n(&u["output_tokens"]) * 30.0;
    assert!((n(&request["cost_usd"]) - by_hand / 1e6).abs() < 1e-9);
    assert!(n(&job["cost"]["usd"]) > 0.0, "never a silent $0");
}

#[test]
fn runner_toml_names_the_price_file_for_every_command() {
    let fake = fake_with_next();
    let sb = Sandbox::new();
    sb.file("m.yaml", NEXT)
        .file("p/prices.toml", PRICES)
        .file("runner.toml", "prices = \"p/prices.toml\"\n");
    sb.cmd(["validate", "m.yaml"]).assert().success();
    let plan: Value = sb.cmd(["plan", "--json", "m.yaml"]).success_json();
    assert_eq!(plan["jobs"][0]["rates"]["input"], 6.0);
    assert_eq!(plan["jobs"][0]["price"]["source"], "launch post");
    sb.cmd_against(&fake, ["run", "m.yaml"]).assert().success();
}

#[test]
fn a_user_row_overrides_the_built_in_price_from_its_day() {
    let fake = FakeServer::start();
    let sb = Sandbox::new();
    sb.file(
        "m.yaml",
        "version: 1\njobs:\n  - name: a\n    model: claude-haiku-4-5\n    prompt: hi\n",
    )
    .file(
        "prices.toml",
        "[[price]]\nmodel = \"claude-haiku-4-5\"\neffective_from = 2026-01-01\ninput = 0.5\noutput = 2.5\n",
    );
    sb.cmd_against(&fake, ["--prices", "prices.toml", "run", "m.yaml"])
        .assert()
        .success();
    let job = sb.read_json("out/m/a/job.json");
    assert_eq!(job["prices"]["input"], 0.5);
    assert_eq!(job["requests"][0]["price"]["effective_from"], "2026-01-01");
}

#[test]
fn a_broken_price_file_is_one_error_naming_the_file_and_the_key() {
    let sb = Sandbox::new();
    sb.file("m.yaml", NEXT).file(
        "prices.toml",
        "[[price]]\nmodel = \"claude-next-6\"\ninput = 6.0\noutput = 30.0\ncache_reed = 0.3\n",
    );
    let stderr = sb
        .cmd(["--prices", "prices.toml", "validate", "m.yaml"])
        .exit_stderr(2);
    let lines = error_lines(stderr.as_bytes());
    assert_eq!(lines.len(), 1, "{stderr}");
    assert!(lines[0].starts_with("price file prices.toml"), "{stderr}");
    assert!(stderr.contains("unknown field `cache_reed`"), "{stderr}");
    let missing = sb
        .cmd(["--prices", "nowhere.toml", "validate", "m.yaml"])
        .exit_stderr(2);
    assert!(
        missing.contains("cannot read the price file nowhere.toml"),
        "{missing}"
    );
}

#[test]
fn a_retired_model_is_refused_before_anything_is_sent_naming_its_replacement() {
    let fake = FakeServer::start();
    let sb = Sandbox::new();
    sb.file(
        "m.yaml",
        "version: 1\njobs:\n  - name: a\n    model: claude-sonnet-4-5-20250929\n    inputs: [d.csv]\n    prompt: hi\n",
    )
    .file("d.csv", "a\n1\n");
    let stderr = sb.cmd_against(&fake, ["run", "m.yaml"]).exit_stderr(2);
    let lines = error_lines(stderr.as_bytes());
    assert_eq!(
        lines[0],
        "m.yaml:4:12: model `claude-sonnet-4-5-20250929` was retired on 2026-11-30: the API answers every request to it with 404",
        "{stderr}"
    );
    assert!(stderr.contains("use `claude-sonnet-5-5`"), "{stderr}");
    assert!(
        fake.stats().requests.is_empty(),
        "nothing sent, nothing uploaded"
    );
}

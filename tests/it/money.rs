//! Money end to end against the fake API: every request priced from its own usage, prompt
//! caching on by default, unpriced models refused, `--budget-usd` never overshot, and
//! pacing by the input/output token limits.

use std::time::Duration;

use fake_anthropic::{Config, FakeServer, TokenLimit, UsageTotals};
use serde_json::Value;

use crate::harness::{CommandExt, Sandbox, manifest, stdout_json};

/// Claude Sonnet 4.5's prices (docs/api.md §11), USD per million tokens: input, 5-minute
/// cache write, 1-hour cache write, cache read, output.
const SONNET: [f64; 5] = [3.0, 3.75, 6.0, 0.30, 15.0];

fn n(v: &Value) -> f64 {
    v.as_f64().unwrap_or_else(|| panic!("not a number: {v}"))
}

/// One request's `usage` priced by hand.
fn by_hand(usage: &Value) -> f64 {
    let [input, w5, w1, read, output] = SONNET;
    (n(&usage["input_tokens"]) * input
        + n(&usage["cache_creation"]["ephemeral_5m_input_tokens"]) * w5
        + n(&usage["cache_creation"]["ephemeral_1h_input_tokens"]) * w1
        + n(&usage["cache_read_input_tokens"]) * read
        + n(&usage["output_tokens"]) * output)
        / 1e6
}

/// The fake's own record of the usage it reported, priced by hand.
fn fake_total(u: &UsageTotals) -> f64 {
    let [input, w5, w1, read, output] = SONNET;
    #[expect(clippy::cast_precision_loss, reason = "small counts")]
    let f = |x: u64| x as f64;
    (f(u.input_tokens) * input
        + f(u.cache_write_5m) * w5
        + f(u.cache_write_1h) * w1
        + f(u.cache_read) * read
        + f(u.output_tokens) * output)
        / 1e6
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-9 * a.abs().max(b.abs()).max(1.0)
}

/// A job with 2 `pause_turn` continuations and 1 follow-up: four requests.
const LONG_JOB: &str =
    "  - name: long\n    prompt: \"first\\n@fake pause 2\"\n    follow_up: [second]\n";

#[test]
fn each_request_is_priced_from_its_own_usage() {
    let fake = FakeServer::start();
    let sb = Sandbox::with_manifest(LONG_JOB);
    let (code, summary) = sb.run_json(&fake, &["run", "m.yaml"]);
    assert_eq!(code, Some(0));
    let job = sb.read_json("out/m/long/job.json");
    let requests = job["requests"].as_array().unwrap();
    assert_eq!(requests.len(), 4);
    let mut sum = 0.0;
    for r in requests {
        let hand = by_hand(&r["usage"]);
        assert!(close(n(&r["cost_usd"]), hand), "{r}: by hand {hand}");
        sum += hand;
    }
    assert!(sum > 0.0);
    assert!(close(n(&job["cost"]["usd"]), sum), "{}", job["cost"]);
    let parts = &job["cost"]["parts"];
    let part_sum: f64 = [
        "input",
        "cache_write_5m",
        "cache_write_1h",
        "cache_read",
        "output",
    ]
    .iter()
    .map(|k| n(&parts[*k]))
    .sum();
    assert!(close(part_sum, sum));
    assert_eq!(job["prices"]["cache_read"], 0.3);
    assert!(close(n(&summary["cost"]["usd"]), sum));
    assert!(
        close(fake_total(&fake.stats().usage), sum),
        "the fake billed the same"
    );
}

#[test]
fn caching_is_on_by_default_and_each_continuation_reads_the_conversation_so_far() {
    let fake = FakeServer::start();
    let sb = Sandbox::with_manifest(LONG_JOB);
    sb.cmd_against(&fake, ["run", "m.yaml"]).assert().success();
    for body in fake.messages_requests() {
        assert_eq!(
            body["cache_control"],
            serde_json::json!({"type": "ephemeral"})
        );
    }
    let job = sb.read_json("out/m/long/job.json");
    let usage: Vec<&Value> = job["requests"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| &r["usage"])
        .collect();
    assert_eq!(usage[0]["cache_read_input_tokens"], 0);
    assert!(n(&usage[0]["cache_creation"]["ephemeral_5m_input_tokens"]) > 0.0);
    for pair in usage.windows(2) {
        let (before, later) = (pair[0], pair[1]);
        // Everything the previous request read or wrote is read now (the fake counts
        // tokens per message, so the prefix is a little shorter than the whole body).
        let seen =
            n(&before["cache_read_input_tokens"]) + n(&before["cache_creation_input_tokens"]);
        let read = n(&later["cache_read_input_tokens"]);
        assert!(read > 0.9 * seen && read <= seen, "{before} then {later}");
        assert_eq!(
            later["cache_creation_input_tokens"],
            later["cache_creation"]["ephemeral_5m_input_tokens"]
        );
    }
    assert_eq!(job["cache"], "5m");
}

#[test]
fn cache_off_and_1h_change_the_bill_but_not_the_fingerprint() {
    let fake = FakeServer::start();
    let sb = Sandbox::new();
    let with = |cache: &str| {
        format!(
            "version: 1\ndefaults:\n  model: claude-sonnet-4-6\n  cache: {cache}\njobs:\n{LONG_JOB}"
        )
    };
    sb.file("m.yaml", with("\"off\""));
    sb.cmd_against(&fake, ["run", "m.yaml"]).assert().success();
    for body in fake.messages_requests() {
        assert!(body.get("cache_control").is_none(), "{body}");
    }
    let off = sb.read_json("out/m/long/job.json");
    assert_eq!(off["usage"]["cache_read_input_tokens"], 0);
    assert_eq!(off["usage"]["cache_creation_input_tokens"], 0);

    // Caching does not change what a job computes: the job stays fresh.
    sb.file("m.yaml", manifest(LONG_JOB));
    let (code, summary) = sb.run_json(&fake, &["run", "m.yaml"]);
    assert_eq!(code, Some(0));
    assert_eq!(summary["counts"]["fresh"], 1);
    sb.cmd_against(&fake, ["run", "--force", "m.yaml"])
        .assert()
        .success();
    let cached = sb.read_json("out/m/long/job.json");
    let input_side = |job: &Value| {
        let p = &job["cost"]["parts"];
        n(&p["input"]) + n(&p["cache_write_5m"]) + n(&p["cache_write_1h"]) + n(&p["cache_read"])
    };
    assert!(
        input_side(&cached) < input_side(&off),
        "reading the conversation from the cache costs less than paying full price for it"
    );

    sb.file("m.yaml", with("1h"));
    sb.cmd_against(&fake, ["run", "--force", "m.yaml"])
        .assert()
        .success();
    let last = fake.messages_requests().pop().unwrap();
    assert_eq!(
        last["cache_control"],
        serde_json::json!({"type": "ephemeral", "ttl": "1h"})
    );
    let hour = sb.read_json("out/m/long/job.json");
    assert!(n(&hour["usage"]["cache_creation"]["ephemeral_1h_input_tokens"]) > 0.0);
    assert_eq!(
        hour["usage"]["cache_creation"]["ephemeral_5m_input_tokens"],
        0
    );
    assert!(n(&hour["cost"]["parts"]["cache_write_1h"]) > 0.0);
}

#[test]
fn an_unpriced_model_is_refused_by_validate_plan_and_run() {
    let sb = Sandbox::new();
    sb.file(
        "m.yaml",
        "version: 1\njobs:\n  - name: a\n    model: claude-mystery-7\n    prompt: hi\n",
    );
    for args in [
        vec!["validate", "m.yaml"],
        vec!["plan", "m.yaml"],
        vec!["run", "m.yaml"],
    ] {
        let out = sb.cmd(&args).output().unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            stderr.contains("no price is known for model `claude-mystery-7`"),
            "{stderr}"
        );
        assert!(
            stderr.contains("pricing: { input: 2, output: 10 }"),
            "{stderr}"
        );
    }
    sb.file(
        "m.yaml",
        "version: 1\njobs:\n  - name: a\n    model: claude-mystery-7\n    pricing: { input: 2, output: 8 }\n    prompt: hi\n",
    );
    sb.cmd(["validate", "m.yaml"]).assert().success();
    let plan: Value = serde_json::from_slice(
        &sb.cmd(["plan", "--json", "m.yaml"])
            .output()
            .unwrap()
            .stdout,
    )
    .unwrap();
    let rates = &plan["jobs"][0]["rates"];
    assert_eq!(rates["input"], 2.0);
    assert_eq!(
        rates["cache_write_5m"], 2.5,
        "derived with the API's multipliers"
    );
    assert_eq!(rates["output"], 8.0);
}

#[test]
fn a_budget_smaller_than_the_run_stops_it_within_the_budget() {
    let fake = FakeServer::start();
    let sb = Sandbox::new();
    let mut jobs = String::new();
    for i in 0..6 {
        jobs.push_str(&format!(
            "  - name: j{i}\n    max_tokens: 1000\n    prompt: \"job {i}\\n@fake pause 1\"\n"
        ));
    }
    sb.file("m.yaml", manifest(&jobs));
    // Above one request's reservation (its bytes and the tool's overhead at the cache
    // write price, 10 × max_tokens at the output price: about $0.21), below the night.
    let budget = 0.30;
    let out = sb
        .cmd_against(
            &fake,
            ["run", "m.yaml", "-j", "1", "--budget-usd", "0.30", "--json"],
        )
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let summary: Value = stdout_json(&out);
    let stats = fake.stats();
    assert!(
        stats.usage.responses >= 1,
        "the budget let some work happen"
    );
    let spent = fake_total(&stats.usage);
    assert!(spent <= budget, "spent {spent} of {budget}");
    assert!(close(n(&summary["cost"]["usd"]), spent));
    assert_eq!(summary["cost"]["budget_usd"], budget);
    let jobs = summary["jobs"].as_array().unwrap();
    // The request refused is a job's first (that job did not start either) or a later
    // one (that job fails, keeping its conversation).
    let stopped: Vec<&Value> = jobs.iter().filter(|j| j["status"] == "failed").collect();
    assert!(stopped.len() <= 1, "{summary}");
    assert!(stopped.iter().all(|j| j["error"]["kind"] == "budget"));
    let refusal = jobs
        .iter()
        .filter_map(|j| j["error"]["message"].as_str())
        .find(|m| m.contains("not sent"))
        .unwrap_or_else(|| panic!("{summary}"));
    assert!(
        refusal.contains("--budget-usd 0.30 not yet spent"),
        "{refusal}"
    );
    let not_started = jobs.iter().filter(|j| j["status"] == "not_started").count();
    assert!(not_started >= 1, "{summary}");
    assert_eq!(summary["counts"]["not_started"], not_started);
    for j in jobs.iter().filter(|j| j["status"] == "not_started") {
        assert_eq!(j["reason"], "budget");
        assert!(
            !sb.root
                .join("out")
                .join(j["dir"].as_str().unwrap())
                .exists()
        );
    }
    let stderr = String::from_utf8_lossy(&out.stderr);
    let line = stderr
        .lines()
        .find(|l| l.contains("the budget stopped the run"))
        .unwrap_or_else(|| panic!("{stderr}"));
    assert!(line.contains("spent of --budget-usd $0.3000"), "{line}");
    // A failed job keeps its partial conversation.
    for failed in stopped {
        let dir = failed["dir"].as_str().unwrap();
        let job = sb.read_json(&format!("out/{dir}/job.json"));
        assert_eq!(job["error"]["kind"], "budget");
    }
}

#[test]
fn a_bad_budget_is_refused_before_any_work() {
    let sb = Sandbox::new();
    for bad in ["0", "-1", "lots", "NaN"] {
        let out = sb
            .cmd(["run", "m.yaml", &format!("--budget-usd={bad}")])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{bad}");
        assert!(String::from_utf8_lossy(&out.stderr).contains("--budget-usd"));
    }
}

#[test]
fn runs_against_an_input_token_limit_ride_it_instead_of_bouncing_off_it() {
    // About five first requests' worth of input tokens per second (each ~4,700): -j 4
    // fits at first, then only pacing avoids 429s.
    let fake = FakeServer::start_with(Config {
        token_limit: Some(TokenLimit {
            input: 25_000,
            output: 1_000_000,
            window: Duration::from_secs(1),
        }),
        ..Config::default()
    });
    let sb = Sandbox::new();
    let mut jobs = String::new();
    for i in 0..12 {
        jobs.push_str(&format!("  - name: j{i}\n    prompt: \"job {i}\"\n"));
    }
    sb.file("m.yaml", manifest(&jobs));
    let (code, summary) = sb.run_json(&fake, &["run", "m.yaml", "-j", "4"]);
    assert_eq!(code, Some(0), "{summary}");
    assert_eq!(summary["counts"]["succeeded"], 12);
    let stats = fake.stats();
    assert!(
        stats.token_limited <= 2,
        "{} of {} requests were answered 429",
        stats.token_limited,
        stats.requests["messages"]
    );
}

#[test]
fn a_small_input_token_limit_is_learned_from_one_answer_then_filled_without_429s() {
    // 4,499 tokens per 3 s (a per-minute limit of the size in BENCHMARKS.md scenario 7,
    // twenty times faster), jobs billed as a real first turn is: about 680 counted, the
    // tool's definitions read from the cache. Charged the tool allowance guessed before
    // any answer (4,300), each would need the whole bucket and they would go one by one.
    let fake = FakeServer::start_with(Config {
        messages_latency: Duration::from_millis(300),
        token_limit: Some(TokenLimit {
            input: 4_499,
            output: 1_000_000,
            window: Duration::from_secs(3),
        }),
        ..Config::default()
    });
    let sb = Sandbox::new();
    let mut jobs = String::new();
    for i in 0..12 {
        jobs.push_str(&format!(
            "  - name: j{i}\n    prompt: \"job {i}\\n@fake usage input=4 cache_write=676 cache_read=4338\"\n"
        ));
    }
    sb.file("m.yaml", manifest(&jobs));
    let (code, summary) = sb.run_json(&fake, &["run", "m.yaml", "-j", "8"]);
    assert_eq!(code, Some(0), "{summary}");
    assert_eq!(summary["counts"]["succeeded"], 12);
    let stats = fake.stats();
    assert_eq!(
        stats.token_limited, 0,
        "{} of {} requests were answered 429",
        stats.token_limited, stats.requests["messages"]
    );
    let messages: Vec<_> = fake
        .log()
        .into_iter()
        .filter(|e| e.path == "/v1/messages")
        .collect();
    let first_answer = messages
        .iter()
        .filter_map(|e| e.answered_at)
        .min()
        .expect("an answer");
    let before = messages.iter().filter(|e| e.at < first_answer).count();
    assert_eq!(
        before, 1,
        "requests sent before anything was known of the bucket"
    );
    // After it, five fit at once (3,819 left, 680 each).
    assert!(
        stats.max_messages_in_flight >= 4,
        "requests did not overlap: at most {} in flight",
        stats.max_messages_in_flight
    );
}

#[test]
fn plan_shows_the_last_cost_and_estimates_the_others() {
    let fake = FakeServer::start();
    let sb = Sandbox::with_manifest("  - name: a\n    prompt: one\n  - name: b\n    prompt: two\n");
    sb.cmd_against(&fake, ["run", "m.yaml", "--only", "a"])
        .assert()
        .success();
    let a = n(&sb.read_json("out/m/a/job.json")["cost"]["usd"]);
    // Changed, so it runs again: its last cost is the expectation.
    sb.file(
        "m.yaml",
        manifest("  - name: a\n    prompt: one again\n  - name: b\n    prompt: two\n"),
    );
    let out = sb.cmd(["plan", "m.yaml"]).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains(&format!("cost ${a:.4} (last run)")), "{text}");
    assert!(text.contains("cost unknown"), "{text}");
    assert!(text.contains("(+ 1 job of unknown cost)"), "{text}");
    assert_eq!(fake.stats().count_tokens, 0, "plan makes no network call");

    let plan: Value = sb
        .cmd_against(&fake, ["plan", "--estimate", "--json", "m.yaml"])
        .success_json();
    assert_eq!(fake.stats().count_tokens, 1, "only the job without history");
    let b = &plan["jobs"][1]["cost"]["estimate"];
    let tokens = n(&b["input_tokens"]);
    assert!(tokens > 0.0);
    assert!(
        close(n(&b["first_request_usd"]), tokens * 3.75 / 1e6),
        "{b}"
    );
    assert!(n(&b["worst_case_usd"]) > n(&b["first_request_usd"]));
    assert!(close(
        n(&plan["cost"]["expected_usd"]),
        a + n(&b["conversation_usd"])
    ));
    assert_eq!(
        (&plan["cost"]["from_last_cost"], &plan["cost"]["modelled"]),
        (&serde_json::json!(1), &serde_json::json!(1))
    );
}

/// Issue 23, item 11: `--estimate` prices the whole conversation (every turn's model
/// calls, each reading what came before), not only the first request, and says what the
/// figure covers; measured against what the fake bills for the same job.
#[test]
fn plan_estimate_covers_the_whole_conversation() {
    let fake = FakeServer::start();
    let sb = Sandbox::with_manifest("  - name: a\n    prompt: one\n    follow_up: [two, three]\n");
    let plan: Value = sb
        .cmd_against(&fake, ["plan", "--estimate", "--json", "m.yaml"])
        .success_json();
    let e = &plan["jobs"][0]["cost"]["estimate"];
    assert_eq!(e["turns"], 3, "{e}");
    let estimated = n(&e["conversation_usd"]);
    assert!(estimated > 3.0 * n(&e["first_request_usd"]), "{e}");
    assert_eq!(plan["cost"]["covers"], "whole_conversations");
    assert!(close(n(&plan["cost"]["expected_usd"]), estimated));
    let out = sb
        .cmd_against(&fake, ["plan", "--estimate", "m.yaml"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains(&format!(
            "expected cost ${estimated:.4} for 1 job: whole conversations, from last costs for 0, modelled for 1"
        )),
        "{text}"
    );
    assert!(
        text.contains("for the whole conversation (modelled: 3 turns, 9 model calls)"),
        "{text}"
    );

    sb.cmd_against(&fake, ["run", "m.yaml"]).assert().success();
    let actual = n(&sb.read_json("out/m/a/job.json")["cost"]["usd"]);
    assert!(
        estimated >= actual / 2.0 && estimated <= actual * 10.0,
        "estimated ${estimated:.4}, the night cost ${actual:.4}"
    );
}

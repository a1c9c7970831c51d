//! Done-when of docs/api.md §11 and §13 together: a job on each current model, with a
//! `pause_turn` continuation, a follow-up and a repair turn, survives the fake's strict
//! prefix check, and its cost is the fake's own ledger to the micro-dollar.

use fake_anthropic::FakeServer;
use serde_json::Value;

use crate::harness::*;

/// The prompt pauses once and makes no file; the follow-up makes the defaults; the repair
/// turn (turn 3, written by the runner) makes the missing deliverable.
fn job(model: &str, follow_up: &str) -> String {
    format!(
        "version: 1\njobs:\n  - name: a\n    model: {model}\n    inputs: [data/a.csv]\n\
         \x20   prompt: \"Summarise.\\n@fake pause 1\\n@fake no-output\\n@fake turn 3 output summary.md 300\"\n\
         \x20   follow_up: [\"{follow_up}\"]\n    expect: [summary.md]\n"
    )
}

fn micro(usd: f64) -> i64 {
    #[expect(clippy::cast_possible_truncation, reason = "test amounts are small")]
    let m = (usd * 1e6).round() as i64;
    m
}

/// Runs `manifest` against a strict fake dated 2026-12-07; the job's record.
fn run(manifest: &str, args: &[&str]) -> (Value, fake_anthropic::Ledger) {
    let fake = FakeServer::start();
    fake.set_strict_prefix(true);
    fake.set_today(jiff::civil::date(2026, 12, 7));
    let sb = Sandbox::new();
    sb.file("data/a.csv", "x,y\n1,2\n").file("m.yaml", manifest);
    let mut all = vec!["run", "m.yaml"];
    all.extend_from_slice(args);
    let out = sb.cmd_against(&fake, &all).output().unwrap();
    assert_success(&out);
    (sb.read_json("out/m/a/job.json"), fake.ledger())
}

fn assert_billed_as_the_ledger(model: &str, job: &Value, ledger: &fake_anthropic::Ledger) {
    let requests = job["requests"].as_array().unwrap();
    assert_eq!(
        requests.len(),
        ledger.entries.len(),
        "{model}: one entry per request"
    );
    assert_eq!(ledger.unpriced, 0, "{model}");
    for (r, e) in requests.iter().zip(&ledger.entries) {
        let ours = micro(r["cost_usd"].as_f64().unwrap());
        let theirs = e.micro_usd.unwrap().round() as i64;
        assert_eq!(ours, theirs, "{model}: request {r}\nledger {e:?}");
        assert_eq!(r["price"]["tier"], e.tier, "{model}");
    }
    assert_eq!(
        micro(job["cost"]["usd"].as_f64().unwrap()),
        ledger.total_micro_usd.round() as i64,
        "{model}: the job's cost"
    );
}

#[test]
fn jobs_on_opus_sonnet_and_haiku_5_5_pass_the_prefix_check_and_cost_what_the_fake_bills() {
    for model in ["claude-opus-5-5", "claude-sonnet-5-5", "claude-haiku-5-5"] {
        let (job, ledger) = run(&job(model, "And the totals?"), &[]);
        assert_eq!(job["status"], "succeeded", "{model}: {job}");
        let turns: Vec<(u64, u64)> = job["requests"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| {
                (
                    r["turn"].as_u64().unwrap(),
                    r["continuation"].as_u64().unwrap(),
                )
            })
            .collect();
        assert_eq!(turns, [(0, 0), (0, 1), (1, 0), (2, 0)], "{model}");
        assert_eq!(job["repair_turns"].as_array().unwrap().len(), 1, "{model}");
        assert_billed_as_the_ledger(model, &job, &ledger);
    }
}

#[test]
fn a_haiku_5_5_request_over_100000_prompt_tokens_is_billed_at_its_tier_as_the_fake_bills() {
    let model = "claude-haiku-5-5";
    let (job, ledger) = run(
        &job(
            model,
            "And the totals?\\n@fake usage input=120000 output=40000",
        ),
        &[],
    );
    let follow_up = &job["requests"][2];
    assert_eq!(follow_up["price"]["tier"], true, "{follow_up}");
    assert!(
        follow_up["usage"]["output_tokens"].as_u64().unwrap()
            > job["request"]["max_tokens"].as_u64().unwrap(),
        "output above max_tokens is billed as it came"
    );
    assert_billed_as_the_ledger(model, &job, &ledger);
}

#[test]
fn a_batch_request_costs_what_the_fake_bills() {
    let model = "claude-sonnet-5-5";
    let (job, ledger) = run(&job(model, "And the totals?"), &["--batch"]);
    assert!(ledger.entries.iter().all(|e| e.batch), "{ledger:?}");
    assert_eq!(job["requests"][0]["price"]["factor"], 0.5);
    assert_billed_as_the_ledger(model, &job, &ledger);
}

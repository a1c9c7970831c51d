//! `--budget-usd` against the fake, judged by the fake's own ledger: a night finishes at
//! `-j 16` with a budget of 1.5× its cost (requests that do not fit wait for the
//! reservations in flight instead of stopping the run), and a budget below the cost stops
//! the night within the budget, also when output exceeds `max_tokens`.

use fake_anthropic::FakeServer;
use proptest::prelude::*;
use serde_json::Value;

use crate::harness::{Sandbox, manifest, stdout_json};

/// `n` jobs, each a first request, some with a `pause_turn` continuation or a follow-up;
/// `extra` is appended to every prompt (a directive).
fn night(n: usize, extra: &str) -> String {
    let mut jobs = String::new();
    for i in 0..n {
        let pause = if i % 4 == 1 { "\\n@fake pause 1" } else { "" };
        jobs.push_str(&format!(
            "  - name: j{i:02}\n    max_tokens: 500\n    prompt: \"job {i}{pause}{extra}\"\n"
        ));
        if i % 4 == 2 {
            jobs.push_str("    follow_up: [more]\n");
        }
    }
    manifest(&jobs)
}

/// What one run did, by the fake's ledger.
struct Ran {
    code: Option<i32>,
    summary: Value,
    stderr: String,
    /// USD the fake billed.
    billed: f64,
}

/// Runs `manifest` with `args` against a fresh fake (so no prompt cache carries over).
fn run(manifest: &str, args: &[&str]) -> Ran {
    let fake = FakeServer::start();
    let sb = Sandbox::new();
    sb.file("m.yaml", manifest);
    let mut all = vec!["run", "m.yaml", "--json"];
    all.extend_from_slice(args);
    let out = sb.cmd_against(&fake, &all).output().unwrap();
    let ledger = fake.ledger();
    assert_eq!(ledger.unpriced, 0);
    Ran {
        code: out.status.code(),
        summary: stdout_json(&out),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        billed: ledger.total_micro_usd / 1e6,
    }
}

fn count(summary: &Value, status: &str) -> u64 {
    summary["counts"][status].as_u64().unwrap_or(0)
}

#[test]
fn a_night_finishes_at_j16_with_a_budget_of_one_and_a_half_times_its_cost() {
    let night = night(40, "");
    for mode in [None, Some("--batch")] {
        let free = run(
            &night,
            &["-j", "16"].iter().copied().chain(mode).collect::<Vec<_>>(),
        );
        assert_eq!(free.code, Some(0), "{mode:?}: {}", free.stderr);
        let budget = format!("{:.6}", 1.5 * free.billed);
        let mut args = vec!["-j", "16", "--budget-usd", &budget];
        args.extend(mode);
        let ran = run(&night, &args);
        assert_eq!(ran.code, Some(0), "{mode:?} at {budget}: {}", ran.stderr);
        assert_eq!(count(&ran.summary, "succeeded"), 40, "{mode:?}");
        assert!(
            ran.billed <= 1.5 * free.billed,
            "{mode:?}: billed {} of {budget}",
            ran.billed
        );
    }
}

/// A budget below the night's cost ends it within the budget by the fake's bill, and
/// says what was reserved when it stopped.
fn stops_within(extra: &str, batch: bool) {
    let night = night(40, extra);
    let mut args = vec!["-j", "16"];
    if batch {
        args.push("--batch");
    }
    let free = run(&night, &args);
    assert_eq!(free.code, Some(0), "{}", free.stderr);
    let budget = 0.4 * free.billed;
    let text = format!("{budget:.6}");
    args.extend(["--budget-usd", &text]);
    let ran = run(&night, &args);
    assert_eq!(ran.code, Some(1), "{}", ran.stderr);
    assert!(ran.billed > 0.0, "the budget let some work happen");
    assert!(ran.billed <= budget, "billed {} of {budget}", ran.billed);
    assert!(count(&ran.summary, "succeeded") > 0, "{}", ran.summary);
    assert!(count(&ran.summary, "not_started") > 0, "{}", ran.summary);
    let jobs = ran.summary["jobs"].as_array().unwrap();
    // Jobs whose first request was refused did not start; later requests fail their jobs.
    let refusals: Vec<&str> = jobs
        .iter()
        .filter(|j| j["error"]["kind"] == "budget" || j["reason"] == "budget")
        .filter_map(|j| j["error"]["message"].as_str())
        .filter(|m| m.contains("not sent"))
        .collect();
    assert!(!refusals.is_empty(), "{}", ran.summary);
    for message in refusals {
        assert!(
            message.contains("not yet spent")
                && (message.contains("nothing in flight") || message.contains("in flight)")),
            "the refusal says what was spent and what was reserved: {message}"
        );
    }
}

#[test]
fn a_budget_below_the_cost_stops_the_night_within_it_by_the_fakes_bill() {
    stops_within("", false);
    stops_within("", true);
}

#[test]
fn output_above_max_tokens_stays_within_the_budget() {
    // Three model calls' worth of output (the fake's tool loop makes five calls).
    stops_within("\\n@fake usage output=1500", false);
    stops_within("\\n@fake usage output=1500", true);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(6))]

    /// Random nights, concurrency and budgets: the fake never bills more than the budget,
    /// and a budget that lets work happen ends with every job accounted for.
    #[test]
    fn random_nights_never_overspend(
        jobs in 2..10usize,
        concurrency in 1..9u32,
        budget in 0.15..0.9f64,
        batch in any::<bool>(),
        over in any::<bool>(),
    ) {
        let extra = if over { "\\n@fake usage output=1200" } else { "" };
        let (j, text) = (concurrency.to_string(), format!("{budget:.6}"));
        let mut args = vec!["-j", j.as_str(), "--budget-usd", text.as_str()];
        if batch {
            args.push("--batch");
        }
        let ran = run(&night(jobs, extra), &args);
        prop_assert!(matches!(ran.code, Some(0 | 1)), "{}", ran.stderr);
        prop_assert!(ran.billed <= budget, "billed {} of {budget}", ran.billed);
        let total: u64 = ["succeeded", "failed", "not_started"]
            .iter()
            .map(|s| count(&ran.summary, s))
            .sum();
        prop_assert_eq!(total, jobs as u64, "{}", ran.summary);
    }
}

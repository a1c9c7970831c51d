//! Usage accounting (docs/api.md §8.12) and the fake's price ledger (docs/api.md §8.13).

use std::time::Duration;

use fake_anthropic::{Config, FakeServer};
use serde_json::{Value, json};

use crate::{authed, client, json_of, post_messages, request};

fn body(model: &str, text: &str) -> Value {
    let mut b = request(text, &[], "code_execution_20260521");
    b["model"] = json!(model);
    b
}

fn ok(server: &FakeServer, body: &Value) -> Value {
    let (status, msg) = post_messages(server, body);
    assert_eq!(status, 200, "{msg}");
    msg
}

fn on(date: &str) -> FakeServer {
    FakeServer::start_with(Config {
        today: Some(date.parse().unwrap()),
        ..Config::default()
    })
}

#[test]
fn server_tool_loops_report_the_sum_of_their_model_calls() {
    let server = FakeServer::start();
    let mut small = body("claude-sonnet-5-5", "Plot it");
    small["max_tokens"] = json!(400);
    let msg = ok(&server, &small);
    let usage = &msg["usage"];
    let output = usage["output_tokens"].as_u64().unwrap();
    assert!(output > 400, "several calls of at most 400 each: {usage}");
    let thinking = usage["output_tokens_details"]["thinking_tokens"]
        .as_u64()
        .unwrap();
    assert!(thinking > 0 && thinking <= output, "{usage}");
    assert_eq!(usage["service_tier"], "standard");
    assert_eq!(usage["inference_geo"], "global");
    assert_eq!(usage["speed"], "standard");
    // Thinking is billed whatever the display returns.
    let mut shown = small.clone();
    shown["thinking"] = json!({"type": "adaptive", "display": "summarized"});
    let shown = ok(&server, &shown);
    assert_eq!(
        shown["usage"]["output_tokens_details"]["thinking_tokens"],
        thinking
    );
    // The 4.5 models count as they always did.
    let legacy = ok(&server, &body("claude-haiku-4-5", "Plot it"));
    assert!(legacy["usage"].get("output_tokens_details").is_none());
}

#[test]
fn the_usage_directive_forces_the_numbers() {
    let server = FakeServer::start();
    let msg = ok(
        &server,
        &body(
            "claude-haiku-5-5",
            "Big\n@fake usage input=120000 output=200000 thinking=5000",
        ),
    );
    let usage = &msg["usage"];
    assert_eq!(usage["input_tokens"], 120_000);
    assert_eq!(usage["output_tokens"], 200_000, "above max_tokens (16000)");
    assert_eq!(usage["output_tokens_details"]["thinking_tokens"], 5_000);
    assert_eq!(usage["cache_read_input_tokens"], 0);
    let msg = ok(
        &server,
        &body(
            "claude-haiku-5-5",
            "x\n@fake usage cache_read=90000 cache_write=20000",
        ),
    );
    assert_eq!(
        (
            &msg["usage"]["input_tokens"],
            &msg["usage"]["cache_read_input_tokens"]
        ),
        (&json!(0), &json!(90_000))
    );
    assert_eq!(
        msg["usage"]["cache_creation"]["ephemeral_5m_input_tokens"],
        20_000
    );
    let (status, _) = post_messages(
        &server,
        &body("claude-haiku-5-5", "x\n@fake usage input=many"),
    );
    assert_eq!(status, 400);
}

#[test]
fn the_ledger_prices_every_request_by_the_fakes_date() {
    let server = on("2026-10-06");
    let forced = "x\n@fake usage cache_read=1000000 output=0";
    ok(&server, &body("claude-sonnet-5-5", forced));
    server.set_today("2026-10-07".parse().unwrap());
    ok(&server, &body("claude-sonnet-5-5", forced));
    // Haiku 5.5: at 100,000 prompt tokens the low tier, above it every token high.
    ok(
        &server,
        &body(
            "claude-haiku-5-5",
            "x\n@fake usage input=100000 output=1000",
        ),
    );
    ok(
        &server,
        &body(
            "claude-haiku-5-5",
            "x\n@fake usage input=90000 cache_read=10001 output=1000",
        ),
    );
    server.add_model(json!({"id": "claude-unpriced-1", "like": "claude-sonnet-5-5"}));
    ok(&server, &body("claude-unpriced-1", "x"));

    let ledger = server.ledger();
    let costs: Vec<Option<f64>> = ledger.entries.iter().map(|e| e.micro_usd).collect();
    let high = 90_000.0 * 0.5 + 10_001.0 * 0.05 + 1_000.0 * 2.5;
    assert_eq!(
        costs,
        [
            Some(200_000.0),
            Some(100_000.0),
            Some(10_000.0 + 500.0),
            Some(high),
            None
        ]
    );
    let rows: Vec<Option<&str>> = ledger.entries.iter().map(|e| e.row.as_deref()).collect();
    assert_eq!(
        rows[0],
        Some("claude-sonnet-5-5 from 2026-09-28 until 2026-10-07")
    );
    assert_eq!(rows[1], Some("claude-sonnet-5-5 from 2026-10-07"));
    assert!(!ledger.entries[2].tier && ledger.entries[3].tier);
    assert_eq!(ledger.unpriced, 1);
    assert_eq!(
        ledger.total_micro_usd,
        200_000.0 + 100_000.0 + 10_500.0 + high
    );
    assert_eq!(ledger.entries[0].date, "2026-10-06");
    assert!(ledger.entries[0].message_id.starts_with("msg_"));

    // The same over HTTP.
    let (status, http) = json_of(
        client()
            .get(format!("{}/_fake/ledger", server.base_url()))
            .send()
            .unwrap(),
    );
    assert_eq!(status, 200);
    assert_eq!(http["entries"].as_array().unwrap().len(), 5);
    assert_eq!(http["entries"][1]["cache_read_tokens"], 1_000_000);
    assert_eq!(http["total_micro_usd"], json!(ledger.total_micro_usd));
}

#[test]
fn batch_items_are_in_the_ledger_at_half_price() {
    let server = on("2026-12-06");
    let params = body("claude-opus-5-5", "x\n@fake usage input=1000 output=1000");
    let (status, batch) = json_of(
        authed(client().post(format!("{}/v1/messages/batches", server.base_url())))
            .json(&json!({"requests": [{"custom_id": "a", "params": params}]}))
            .send()
            .unwrap(),
    );
    assert_eq!(status, 200, "{batch}");
    assert!(server.wait_until(Duration::from_secs(10), |s| s.batches_ended == 1));
    ok(&server, &params);
    let ledger = server.ledger();
    let batch_entry = &ledger.entries[0];
    assert!(batch_entry.batch);
    assert_eq!(
        batch_entry.micro_usd,
        Some((1_000.0 * 4.0 + 1_000.0 * 20.0) / 2.0)
    );
    assert_eq!(
        ledger.entries[1].micro_usd,
        Some(1_000.0 * 4.0 + 1_000.0 * 20.0)
    );
}

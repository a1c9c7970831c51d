//! Thinking blocks, narration as thinking, the prefix binding of signatures and strict
//! prefix mode (docs/api.md §8.11).

use fake_anthropic::{Config, FakeServer};
use serde_json::{Value, json};

use crate::{error_of, post_messages, request};

fn body(model: &str, text: &str) -> Value {
    let mut b = request(text, &[], "code_execution_20260521");
    b["model"] = json!(model);
    b["system"] = json!("You analyse data.");
    b
}

fn ok(server: &FakeServer, body: &Value) -> Value {
    let (status, msg) = post_messages(server, body);
    assert_eq!(status, 200, "{body}\n{msg}");
    msg
}

fn kinds(msg: &Value) -> Vec<&str> {
    msg["content"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["type"].as_str().unwrap())
        .collect()
}

fn thinking_texts(msg: &Value) -> Vec<&str> {
    msg["content"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|b| b["type"] == "thinking")
        .map(|b| b["thinking"].as_str().unwrap())
        .collect()
}

/// `body` + the response as an assistant turn + a new user turn.
fn follow_up(body: &Value, msg: &Value, text: &str) -> Value {
    let mut next = body.clone();
    let messages = next["messages"].as_array_mut().unwrap();
    messages.push(json!({"role": "assistant", "content": msg["content"]}));
    messages.push(json!({"role": "user", "content": [{"type": "text", "text": text}]}));
    next["container"] = msg["container"]["id"].clone();
    next
}

const BOUND: &str = "Invalid `signature` in `thinking` block. The block is bound to a different conversation. Remove the block, or set `thinking.block_binding.prefix_mismatch_behavior` to \"drop_block\".";

fn refused_at(server: &FakeServer, body: &Value, at: &str) {
    let (status, err) = post_messages(server, body);
    assert_eq!(status, 400, "{err}");
    assert_eq!(error_of(&err).0, "invalid_request_error");
    assert_eq!(err["error"]["message"], format!("{at}: {BOUND}"));
}

#[test]
fn models_that_think_by_default_begin_with_signed_thinking_blocks() {
    let server = FakeServer::start();
    let msg = ok(&server, &body("claude-haiku-5-5", "Plot it"));
    let k = kinds(&msg);
    assert_eq!(k[0], "thinking");
    let first = &msg["content"][0];
    assert_eq!(first["thinking"], "", "omitted by default");
    assert_eq!(first["signature"].as_str().unwrap().len(), 64);
    // Haiku 5.5 does not narrate in thinking: the intro stays text.
    assert_eq!(k[1], "text");

    let mut summarized = body("claude-haiku-5-5", "Plot it");
    summarized["thinking"] = json!({"type": "adaptive", "display": "summarized"});
    let msg = ok(&server, &summarized);
    assert!(thinking_texts(&msg)[0].contains("Plot it"), "{msg}");

    // Legacy Haiku 4.5 answers exactly as before: no thinking, no new usage fields.
    let msg = ok(&server, &body("claude-haiku-4-5", "Plot it"));
    assert!(!kinds(&msg).contains(&"thinking"));
    assert!(msg["usage"].get("output_tokens_details").is_none());
    assert!(msg["usage"].get("speed").is_none());
    // ... unless asked to think.
    let mut asked = body("claude-haiku-4-5", "Plot it");
    asked["thinking"] = json!({"type": "enabled", "budget_tokens": 2048});
    let msg = ok(&server, &asked);
    assert_eq!(kinds(&msg)[0], "thinking");
    assert!(
        !thinking_texts(&msg)[0].is_empty(),
        "Haiku 4.5 summarizes by default"
    );
    // Opus 4.8 does not think unless asked.
    assert!(!kinds(&ok(&server, &body("claude-opus-4-8", "x"))).contains(&"thinking"));
    // Disabled means no thinking.
    let mut off = body("claude-opus-5", "x");
    off["thinking"] = json!({"type": "disabled"});
    assert!(!kinds(&ok(&server, &off)).contains(&"thinking"));
}

#[test]
fn opus_and_sonnet_5_5_narrate_between_tool_calls_in_thinking() {
    let server = FakeServer::start();
    for model in ["claude-opus-5-5", "claude-sonnet-5-5"] {
        let msg = ok(&server, &body(model, "Plot it"));
        let k = kinds(&msg);
        assert_eq!(&k[..2], ["thinking", "thinking"], "{model}: {k:?}");
        assert_eq!(
            k.iter().filter(|t| **t == "text").count(),
            1,
            "only the answer is text"
        );
        assert_eq!(*k.last().unwrap(), "text");
        assert!(thinking_texts(&msg).iter().all(|t| t.is_empty()));

        let mut summarized = body(model, "Plot it");
        summarized["thinking"] = json!({"type": "adaptive", "display": "summarized"});
        let msg = ok(&server, &summarized);
        assert!(
            thinking_texts(&msg)[1].starts_with("I'll inventory the files"),
            "{msg}"
        );
    }
    // Sonnet 5.5 between_tools: no up-front thinking, the narration still as thinking,
    // summarized.
    let mut between = body("claude-sonnet-5-5", "Plot it");
    between["thinking"] = json!({"type": "between_tools"});
    let msg = ok(&server, &between);
    assert_eq!(kinds(&msg)[0], "thinking");
    assert_eq!(thinking_texts(&msg).len(), 1);
    assert!(thinking_texts(&msg)[0].starts_with("I'll inventory"));
    // A paused turn's narration too.
    let msg = ok(&server, &body("claude-opus-5-5", "Long\n@fake pause 1"));
    assert_eq!(kinds(&msg), ["thinking", "thinking", "server_tool_use"]);
}

#[test]
fn follow_ups_and_continuations_sent_back_unchanged_pass() {
    let server = FakeServer::start();
    let first = body("claude-sonnet-5-5", "Long\n@fake pause 2");
    let mut conv = first.clone();
    let mut msg = ok(&server, &conv);
    while msg["stop_reason"] == "pause_turn" {
        conv["messages"]
            .as_array_mut()
            .unwrap()
            .push(json!({"role": "assistant", "content": msg["content"]}));
        msg = ok(&server, &conv);
    }
    assert_eq!(msg["stop_reason"], "end_turn");
    let next = follow_up(&conv, &msg, "And the median?");
    ok(&server, &next);
    // cache_control markers and key order do not matter.
    let mut marked = next.clone();
    marked["messages"][0]["content"][0]["cache_control"] = json!({"type": "ephemeral"});
    ok(&server, &marked);
}

#[test]
fn a_changed_prefix_or_block_is_refused() {
    let server = FakeServer::start();
    let first = body("claude-opus-5-5", "Plot it");
    let msg = ok(&server, &first);
    let next = follow_up(&first, &msg, "Thanks. More?");
    ok(&server, &next);

    let mut system = next.clone();
    system["system"] = json!("You analyse data. Today is 2026-12-06.");
    refused_at(&server, &system, "messages.1.content.0");

    let mut tools = next.clone();
    tools["tools"]
        .as_array_mut()
        .unwrap()
        .push(json!({"name": "lookup", "input_schema": {"type": "object"}}));
    refused_at(&server, &tools, "messages.1.content.0");

    let mut edited = next.clone();
    edited["messages"][0]["content"][0]["text"] = json!("Plot it nicely");
    refused_at(&server, &edited, "messages.1.content.0");

    let mut model = next.clone();
    model["model"] = json!("claude-sonnet-5-5");
    refused_at(&server, &model, "messages.1.content.0");

    let mut modified = next.clone();
    modified["messages"][1]["content"][1]["thinking"] = json!("I changed my mind.");
    refused_at(&server, &modified, "messages.1.content.1");

    // Dropped: the first (empty) block, so the second sits where the first was.
    let mut dropped = next.clone();
    dropped["messages"][1]["content"]
        .as_array_mut()
        .unwrap()
        .remove(0);
    refused_at(&server, &dropped, "messages.1.content.0");

    // Reordered: the two thinking blocks swapped.
    let mut swapped = next.clone();
    swapped["messages"][1]["content"]
        .as_array_mut()
        .unwrap()
        .swap(0, 1);
    refused_at(&server, &swapped, "messages.1.content.0");
}

#[test]
fn a_dropped_lone_thinking_block_is_detected_too() {
    let server = FakeServer::start();
    let first = body("claude-haiku-5-5", "Plot it");
    let msg = ok(&server, &first);
    assert_eq!(thinking_texts(&msg).len(), 1);
    let mut next = follow_up(&first, &msg, "More?");
    next["messages"][1]["content"]
        .as_array_mut()
        .unwrap()
        .remove(0);
    refused_at(&server, &next, "messages.1.content.0");
    // An assistant turn the client wrote itself, with no thinking, is its own business.
    let mut own = body("claude-haiku-5-5", "Hi");
    own["messages"].as_array_mut().unwrap().extend([
        json!({"role": "assistant", "content": "Hello."}),
        json!({"role": "user", "content": "Go on"}),
    ]);
    ok(&server, &own);
    // Models without preserved thinking do not check (Opus 5).
    let first = body("claude-opus-5", "Plot it");
    let msg = ok(&server, &first);
    let mut next = follow_up(&first, &msg, "More?");
    next["system"] = json!("changed");
    next["messages"][1]["content"]
        .as_array_mut()
        .unwrap()
        .remove(0);
    ok(&server, &next);
    // The beta escape hatch.
    let first = body("claude-sonnet-5-5", "Plot it");
    let msg = ok(&server, &first);
    let mut next = follow_up(&first, &msg, "More?");
    next["system"] = json!("changed");
    next["thinking"] =
        json!({"type": "adaptive", "block_binding": {"prefix_mismatch_behavior": "drop_block"}});
    ok(&server, &next);
}

#[test]
fn strict_prefix_mode_names_the_first_difference() {
    let server = FakeServer::start_with(Config {
        strict_prefix: true,
        ..Config::default()
    });
    let first = body("claude-haiku-4-5", "Plot it");
    let msg = ok(&server, &first);
    let next = follow_up(&first, &msg, "More?");
    let second = ok(&server, &next);
    let third = follow_up(&next, &second, "Again");
    let third_msg = ok(&server, &third);

    let refused = |body: &Value| {
        let (status, err) = post_messages(&server, body);
        assert_eq!(status, 400, "{err}");
        err["error"]["message"].as_str().unwrap().to_owned()
    };
    // Going back to an earlier request, even on a model without preserved thinking.
    let mut rewound = next.clone();
    rewound["messages"]
        .as_array_mut()
        .unwrap()
        .push(json!({"role": "user", "content": "x"}));
    let msg = refused(&rewound);
    assert!(
        msg.contains("messages.3 differs from messages.3 of the previous request"),
        "{msg}"
    );
    // Leaving out the last response.
    let mut skipped = third.clone();
    skipped["messages"]
        .as_array_mut()
        .unwrap()
        .push(json!({"role": "user", "content": "x"}));
    let msg = refused(&skipped);
    assert!(
        msg.contains("messages.5 differs from the previous response"),
        "{msg}"
    );
    let mut effort = follow_up(&third, &third_msg, "x");
    effort["max_tokens"] = json!(1000);
    let effort_msg = ok(&server, &effort);
    let mut changed = follow_up(&effort, &effort_msg, "y");
    changed["model"] = json!("claude-sonnet-4-6");
    let msg = refused(&changed);
    assert!(msg.contains("`model` differs"), "{msg}");
    changed["model"] = json!("claude-haiku-4-5");
    changed["thinking"] = json!({"type": "disabled"});
    assert!(refused(&changed).contains("`thinking` differs"));
    changed.as_object_mut().unwrap().remove("thinking");
    changed["tools"][0]["type"] = json!("code_execution_20250825");
    assert!(refused(&changed).contains("`tools` differs"));
    changed["tools"][0]["type"] = json!("code_execution_20260521");
    changed["messages"][0]["content"][0]["text"] = json!("Plot it!");
    assert!(
        refused(&changed).contains("messages.0 differs from messages.0 of the previous request")
    );
    changed["messages"][0]["content"][0]["text"] = json!("Plot it");
    ok(&server, &changed);
    // Off again: the real API's leniency.
    server.set_strict_prefix(false);
    ok(&server, &skipped);
}

#[test]
fn streamed_thinking_blocks_rebuild_to_the_signed_block() {
    let server = FakeServer::start();
    let mut b = body("claude-sonnet-5-5", "Plot it");
    b["thinking"] = json!({"type": "adaptive", "display": "summarized"});
    let plain = ok(&server, &b);
    b["stream"] = json!(true);
    let text = crate::authed(crate::client().post(format!("{}/v1/messages", server.base_url())))
        .json(&b)
        .send()
        .unwrap()
        .text()
        .unwrap();
    let events: Vec<Value> = text
        .lines()
        .filter_map(|l| l.strip_prefix("data: "))
        .map(|d| serde_json::from_str(d).unwrap())
        .collect();
    let start = events
        .iter()
        .find(|e| e["type"] == "content_block_start" && e["index"] == 0)
        .unwrap();
    assert_eq!(
        start["content_block"],
        json!({"type": "thinking", "thinking": "", "signature": ""})
    );
    let deltas: Vec<&Value> = events
        .iter()
        .filter(|e| e["type"] == "content_block_delta" && e["index"] == 0)
        .map(|e| &e["delta"])
        .collect();
    let thought: String = deltas
        .iter()
        .filter(|d| d["type"] == "thinking_delta")
        .map(|d| d["thinking"].as_str().unwrap())
        .collect();
    assert_eq!(thought, plain["content"][0]["thinking"].as_str().unwrap());
    let signature = deltas
        .iter()
        .find(|d| d["type"] == "signature_delta")
        .unwrap();
    assert_eq!(signature["signature"].as_str().unwrap().len(), 64);
    let usage = &events
        .iter()
        .find(|e| e["type"] == "message_delta")
        .unwrap()["usage"];
    assert!(
        usage["output_tokens_details"]["thinking_tokens"]
            .as_u64()
            .unwrap()
            > 0
    );
}

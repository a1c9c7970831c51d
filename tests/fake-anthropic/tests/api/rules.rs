//! Per-model request rules (docs/api.md §8.10) on Messages, count_tokens and batch params.

use fake_anthropic::FakeServer;
use serde_json::{Value, json};

use crate::{authed, client, error_of, json_of, post_messages, request, upload};

fn on(model: &str) -> Value {
    let mut body = request("x", &[], "code_execution_20260521");
    body["model"] = json!(model);
    body
}

fn with(model: &str, edit: impl FnOnce(&mut Value)) -> Value {
    let mut body = on(model);
    edit(&mut body);
    body
}

/// Asserts a 400 `invalid_request_error` and returns its message.
fn refused(server: &FakeServer, body: &Value) -> String {
    let (status, err) = post_messages(server, body);
    assert_eq!(status, 400, "{body}\n{err}");
    assert_eq!(error_of(&err).0, "invalid_request_error");
    err["error"]["message"].as_str().unwrap().to_owned()
}

fn accepted(server: &FakeServer, body: &Value) -> Value {
    let (status, msg) = post_messages(server, body);
    assert_eq!(status, 200, "{body}\n{msg}");
    msg
}

fn thinking(t: Value) -> impl FnOnce(&mut Value) {
    move |b: &mut Value| b["thinking"] = t
}

fn effort(level: &str) -> impl FnOnce(&mut Value) {
    let level = level.to_owned();
    move |b: &mut Value| b["output_config"] = json!({ "effort": level })
}

#[test]
fn thinking_types_follow_the_models_capabilities() {
    let server = FakeServer::start();
    let disabled = json!({"type": "disabled"});
    let enabled = json!({"type": "enabled", "budget_tokens": 2048});
    let between = json!({"type": "between_tools"});
    let adaptive = json!({"type": "adaptive"});
    // Opus 5.5: adaptive only, with the documented messages.
    assert_eq!(
        refused(
            &server,
            &with("claude-opus-5-5", thinking(disabled.clone()))
        ),
        "\"thinking.type.disabled\" is not supported for this model. Use \"thinking.type.adaptive\" and \"output_config.effort\" to control thinking behavior."
    );
    assert_eq!(
        refused(&server, &with("claude-opus-5-5", thinking(enabled.clone()))),
        "\"thinking.type.enabled\" is not supported for this model. Use \"thinking.type.adaptive\" and \"output_config.effort\" to control thinking behavior."
    );
    accepted(
        &server,
        &with("claude-opus-5-5", thinking(adaptive.clone())),
    );
    // Sonnet 5.5: between_tools instead of disabled, and the message says so.
    assert!(
        refused(
            &server,
            &with("claude-sonnet-5-5", thinking(disabled.clone()))
        )
        .contains("between_tools")
    );
    accepted(
        &server,
        &with("claude-sonnet-5-5", thinking(between.clone())),
    );
    // Haiku 5.5 / Opus 5: disabled is fine, enabled is not.
    for model in ["claude-haiku-5-5", "claude-opus-5"] {
        accepted(&server, &with(model, thinking(disabled.clone())));
        refused(&server, &with(model, thinking(enabled.clone())));
        refused(&server, &with(model, thinking(between.clone())));
    }
    // Fable: adaptive only; Haiku 4.5: budgets only.
    refused(
        &server,
        &with("claude-fable-5-2", thinking(disabled.clone())),
    );
    refused(
        &server,
        &with("claude-haiku-4-5", thinking(adaptive.clone())),
    );
    accepted(
        &server,
        &with("claude-haiku-4-5", thinking(enabled.clone())),
    );
    // Sonnet 4.6 still takes all three.
    for t in [&adaptive, &enabled, &disabled] {
        accepted(&server, &with("claude-sonnet-4-6", thinking(t.clone())));
    }
    // A test's own entry changes the rules with its capabilities.
    server.add_model(json!({"id": "claude-opus-5-5", "capabilities": {"thinking": {"types": {"disabled": {"supported": true}}}}}));
    accepted(&server, &with("claude-opus-5-5", thinking(disabled)));
    refused(
        &server,
        &with("claude-opus-5-5", thinking(json!({"type": "sometimes"}))),
    );
}

#[test]
fn budgets_must_be_at_least_1024_and_below_max_tokens() {
    let server = FakeServer::start();
    let budget = |n: u64| thinking(json!({"type": "enabled", "budget_tokens": n}));
    assert!(refused(&server, &with("claude-sonnet-4-6", budget(1023))).contains("1024"));
    let msg = refused(&server, &with("claude-sonnet-4-6", budget(16000)));
    assert_eq!(
        msg,
        "`max_tokens` must be greater than `thinking.budget_tokens`"
    );
    accepted(&server, &with("claude-sonnet-4-6", budget(15999)));
    refused(
        &server,
        &with("claude-sonnet-4-6", thinking(json!({"type": "enabled"}))),
    );
}

#[test]
fn effort_levels_and_their_combinations_with_thinking() {
    let server = FakeServer::start();
    accepted(&server, &with("claude-opus-5-5", effort("max")));
    assert!(
        refused(&server, &with("claude-haiku-4-5", effort("low")))
            .contains("does not support the effort")
    );
    assert!(
        refused(&server, &with("claude-sonnet-4-6", effort("xhigh")))
            .contains("low, medium, high, max")
    );
    assert!(
        refused(&server, &with("claude-opus-4-5", effort("max"))).contains("low, medium, high")
    );
    refused(&server, &with("claude-opus-5-5", effort("extreme")));
    // Thinking off caps effort at high on Haiku 5.5 and Opus 5 (and on Opus 4.8, which
    // does not think unless asked).
    for model in ["claude-haiku-5-5", "claude-opus-5"] {
        for level in ["xhigh", "max"] {
            let body = with(model, |b| {
                b["thinking"] = json!({"type": "disabled"});
                b["output_config"] = json!({"effort": level});
            });
            assert_eq!(
                refused(&server, &body),
                format!(
                    "output_config.effort '{level}' is not supported when thinking is disabled on this model. Use effort 'high' or below, or enable thinking."
                )
            );
        }
        accepted(
            &server,
            &with(model, |b| {
                b["thinking"] = json!({"type": "disabled"});
                b["output_config"] = json!({"effort": "high"});
            }),
        );
        accepted(&server, &with(model, effort("max")));
    }
    refused(&server, &with("claude-opus-4-8", effort("xhigh")));
    accepted(
        &server,
        &with("claude-opus-4-8", |b| {
            b["thinking"] = json!({"type": "adaptive"});
            b["output_config"] = json!({"effort": "xhigh"});
        }),
    );
    // between_tools only at low/medium/high.
    for (level, ok) in [
        ("low", true),
        ("medium", true),
        ("high", true),
        ("xhigh", false),
        ("max", false),
    ] {
        let body = with("claude-sonnet-5-5", |b| {
            b["thinking"] = json!({"type": "between_tools"});
            b["output_config"] = json!({"effort": level});
        });
        assert_eq!(post_messages(&server, &body).0 == 200, ok, "{level}");
    }
}

#[test]
fn sampling_parameters_per_version_and_model() {
    let server = FakeServer::start();
    let send = |body: &Value, version: &str| {
        json_of(
            client()
                .post(format!("{}/v1/messages", server.base_url()))
                .header("x-api-key", "k")
                .header("anthropic-version", version)
                .json(body)
                .send()
                .unwrap(),
        )
    };
    // 2026-10-21 refuses them even at their defaults, on every model.
    for model in ["claude-haiku-4-5", "claude-sonnet-5-5"] {
        let body = with(model, |b| b["temperature"] = json!(1.0));
        assert_eq!(send(&body, "2026-10-21").0, 400);
    }
    // 2023-06-01: defaults pass everywhere, other values only on the older models.
    accepted_old(
        &send,
        with("claude-sonnet-5-5", |b| b["temperature"] = json!(1.0)),
    );
    for model in [
        "claude-sonnet-5-5",
        "claude-haiku-5-5",
        "claude-opus-4-7",
        "claude-fable-5",
    ] {
        assert_eq!(
            send(
                &with(model, |b| b["temperature"] = json!(0.2)),
                "2023-06-01"
            )
            .0,
            400,
            "{model}"
        );
        assert_eq!(
            send(&with(model, |b| b["top_k"] = json!(5)), "2023-06-01").0,
            400,
            "{model}"
        );
    }
    accepted_old(
        &send,
        with("claude-sonnet-4-6", |b| b["temperature"] = json!(0.2)),
    );
    accepted_old(&send, with("claude-haiku-4-5", |b| b["top_p"] = json!(0.9)));
    let both = with("claude-haiku-4-5", |b| {
        b["temperature"] = json!(0.2);
        b["top_p"] = json!(0.9);
    });
    let (status, err) = send(&both, "2023-06-01");
    assert_eq!(status, 400);
    assert!(
        err["error"]["message"]
            .as_str()
            .unwrap()
            .contains("cannot both be specified")
    );
}

fn accepted_old(send: &dyn Fn(&Value, &str) -> (u16, Value), body: Value) {
    let (status, msg) = send(&body, "2023-06-01");
    assert_eq!(status, 200, "{msg}");
}

#[test]
fn forced_tool_choice_is_refused_on_the_newest_models() {
    let server = FakeServer::start();
    for choice in [
        json!({"type": "any"}),
        json!({"type": "tool", "name": "code_execution"}),
    ] {
        for model in [
            "claude-opus-5-5",
            "claude-sonnet-5-5",
            "claude-fable-5-1",
            "claude-mythos-5-2",
        ] {
            let body = with(model, |b| b["tool_choice"] = choice.clone());
            assert!(refused(&server, &body).contains("tool_choice"), "{model}");
        }
        for model in ["claude-haiku-5-5", "claude-opus-5", "claude-haiku-4-5"] {
            accepted(&server, &with(model, |b| b["tool_choice"] = choice.clone()));
        }
    }
    accepted(
        &server,
        &with("claude-opus-5-5", |b| {
            b["tool_choice"] = json!({"type": "auto"})
        }),
    );
}

#[test]
fn prefill_is_refused_on_4_6_and_later_except_a_pause_turn_continuation() {
    let server = FakeServer::start();
    let prefill = |model: &str| {
        with(model, |b| {
            b["messages"]
                .as_array_mut()
                .unwrap()
                .push(json!({"role": "assistant", "content": "Sure, here"}));
        })
    };
    for model in [
        "claude-sonnet-4-6",
        "claude-opus-4-8",
        "claude-haiku-5-5",
        "claude-sonnet-5-5",
    ] {
        assert_eq!(
            refused(&server, &prefill(model)),
            "This model does not support assistant message prefill. The conversation must end with a user message."
        );
    }
    // Haiku 4.5 keeps the fake's old answer: only emitted content may be resent.
    assert!(
        refused(&server, &prefill("claude-haiku-4-5")).contains("not a response of this server")
    );

    // A paused turn sent back last is a continuation, not prefill.
    let mut body = with("claude-sonnet-5-5", |b| {
        b["messages"][0]["content"][0]["text"] = json!("Long job\n@fake pause 1");
    });
    let paused = accepted(&server, &body);
    assert_eq!(paused["stop_reason"], "pause_turn");
    body["messages"]
        .as_array_mut()
        .unwrap()
        .push(json!({"role": "assistant", "content": paused["content"]}));
    let done = accepted(&server, &body);
    assert_eq!(done["stop_reason"], "end_turn");
    // A max_tokens turn is not paused: resending it last is prefill.
    let mut cut = with("claude-sonnet-5-5", |b| {
        b["messages"][0]["content"][0]["text"] = json!("x\n@fake stop max_tokens");
    });
    let msg = accepted(&server, &cut);
    cut["messages"]
        .as_array_mut()
        .unwrap()
        .push(json!({"role": "assistant", "content": msg["content"]}));
    assert!(refused(&server, &cut).contains("prefill"));
}

#[test]
fn max_tokens_above_the_models_limit_is_refused() {
    let server = FakeServer::start();
    let msg = refused(
        &server,
        &with("claude-haiku-4-5", |b| b["max_tokens"] = json!(64_001)),
    );
    assert_eq!(
        msg,
        "max_tokens: 64001 > 64000, which is the maximum allowed number of output tokens for claude-haiku-4-5-20251001"
    );
    accepted(
        &server,
        &with("claude-haiku-4-5", |b| b["max_tokens"] = json!(64_000)),
    );
    accepted(
        &server,
        &with("claude-opus-5-5", |b| b["max_tokens"] = json!(128_000)),
    );
    refused(
        &server,
        &with("claude-opus-5-5", |b| b["max_tokens"] = json!(128_001)),
    );
}

#[test]
fn count_tokens_runs_the_same_checks_and_refuses_file_sources() {
    let server = FakeServer::start();
    let count = |body: &Value| {
        json_of(
            authed(client().post(format!("{}/v1/messages/count_tokens", server.base_url())))
                .json(body)
                .send()
                .unwrap(),
        )
    };
    let file = upload(&server, "a.csv", b"1,2\n");
    let id = file["id"].as_str().unwrap();
    let base = |content: Value| json!({"model": "claude-sonnet-5-5", "messages": [{"role": "user", "content": content}]});
    let (status, ok) = count(&base(json!("How many?")));
    assert_eq!(status, 200, "{ok}");
    for content in [
        json!([{"type": "text", "text": "x"}, {"type": "container_upload", "file_id": id}]),
        json!([{"type": "document", "source": {"type": "file", "file_id": id}}]),
        json!([{"type": "image", "source": {"type": "file", "file_id": id}}]),
    ] {
        let (status, err) = count(&base(content));
        assert_eq!(status, 400, "{err}");
        assert_eq!(
            err["error"]["message"],
            "File sources are not supported in the token counting endpoint."
        );
    }
    let mut with_container = base(json!("x"));
    with_container["container"] = json!("container_x");
    assert_eq!(count(&with_container).0, 400);
    let mut disabled = base(json!("x"));
    disabled["thinking"] = json!({"type": "disabled"});
    assert_eq!(count(&disabled).0, 400);
    let mut sampled = base(json!("x"));
    sampled["temperature"] = json!(1.0);
    assert_eq!(
        count(&sampled).0,
        400,
        "2026-10-21 refuses sampling here too"
    );
}

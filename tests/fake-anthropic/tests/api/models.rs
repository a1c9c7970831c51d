//! The Models API and the model checks of Messages / count_tokens / batches.

use fake_anthropic::{Config, FakeServer};
use serde_json::{Value, json};

use crate::{authed, client, error_of, get, json_of, post_messages, request};

fn ids(page: &Value) -> Vec<&str> {
    page["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["id"].as_str().unwrap())
        .collect()
}

fn on(date: &str) -> FakeServer {
    FakeServer::start_with(Config {
        today: Some(date.parse().unwrap()),
        ..Config::default()
    })
}

#[test]
fn list_is_newest_first_and_hides_retired_models_by_default() {
    let server = on("2026-12-06");
    let (status, page) = get(&server, "/v1/models?limit=1000");
    assert_eq!(status, 200, "{page}");
    let listed = ids(&page);
    assert_eq!(listed[0], "claude-fable-5-2");
    assert!(listed.contains(&"claude-opus-4-5-20251101"));
    assert!(!listed.contains(&"claude-sonnet-4-5-20250929"));
    assert_eq!(page["has_more"], false);
    assert_eq!(page["first_id"], listed[0]);
    assert_eq!(page["last_id"], *listed.last().unwrap());
    let created: Vec<&str> = page["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["created_at"].as_str().unwrap())
        .collect();
    let mut sorted = created.clone();
    sorted.sort_by(|a, b| b.cmp(a));
    assert_eq!(created, sorted);

    let (_, retired) = get(&server, "/v1/models?lifecycle[]=retired&limit=100");
    let retired = ids(&retired);
    assert!(
        retired.contains(&"claude-sonnet-4-5-20250929"),
        "{retired:?}"
    );
    assert!(retired.contains(&"claude-sonnet-4-20250514"));
    assert!(!retired.contains(&"claude-opus-5-5"));
    // `lifecycle` repeated without brackets, and percent-encoded brackets.
    let (_, both) = get(
        &server,
        "/v1/models?lifecycle=retired&lifecycle%5B%5D=deprecated&limit=100",
    );
    let both = ids(&both);
    assert!(both.contains(&"claude-opus-4-5-20251101") && both.contains(&"claude-opus-4-20250514"));
    assert!(!both.contains(&"claude-opus-5-5"));
}

#[test]
fn pages_follow_after_id_and_before_id() {
    let server = on("2026-12-06");
    let (_, all) = get(&server, "/v1/models?limit=1000");
    let all = ids(&all);
    let (_, first) = get(&server, "/v1/models?limit=3");
    assert_eq!(ids(&first), all[..3]);
    assert_eq!(first["has_more"], true);
    let (_, second) = get(
        &server,
        &format!(
            "/v1/models?limit=3&after_id={}",
            first["last_id"].as_str().unwrap()
        ),
    );
    assert_eq!(ids(&second), all[3..6]);
    let (_, back) = get(
        &server,
        &format!(
            "/v1/models?limit=2&before_id={}",
            second["first_id"].as_str().unwrap()
        ),
    );
    assert_eq!(ids(&back), all[1..3]);
    assert_eq!(back["has_more"], true);
    let (_, last) = get(&server, "/v1/models?limit=20");
    assert_eq!(last["has_more"], all.len() > 20);
    for bad in [
        "limit=0",
        "limit=1001",
        "lifecycle[]=gone",
        "lifecycle[]=active&lifecycle[]=retired&lifecycle[]=deprecated&lifecycle[]=active",
        "after_id=claude-nope",
    ] {
        let (status, body) = get(&server, &format!("/v1/models?{bad}"));
        assert_eq!(status, 400, "{bad}: {body}");
        assert_eq!(error_of(&body).0, "invalid_request_error");
    }
}

#[test]
fn model_info_has_every_key_and_aliases_resolve() {
    let server = on("2026-12-06");
    let (status, haiku) = get(&server, "/v1/models/claude-haiku-4-5");
    assert_eq!(status, 200, "{haiku}");
    assert_eq!(haiku["id"], "claude-haiku-4-5-20251001");
    assert_eq!(haiku["type"], "model");
    assert_eq!(haiku["lifecycle"], "active");
    assert!(haiku["deprecated_at"].is_null() && haiku["retires_at"].is_null());
    assert_eq!(haiku["line"], "haiku");
    assert_eq!(
        (
            haiku["max_input_tokens"].as_u64(),
            haiku["max_tokens"].as_u64()
        ),
        (Some(200_000), Some(64_000))
    );
    assert!(haiku.get("aliases").is_none(), "{haiku}");
    let caps = &haiku["capabilities"];
    for key in [
        "batch",
        "citations",
        "code_execution",
        "context_management",
        "effort",
        "image_input",
        "pdf_input",
        "server_tools",
        "structured_outputs",
        "thinking",
    ] {
        assert!(caps[key]["supported"].is_boolean(), "{key}: {caps}");
    }
    assert_eq!(caps["effort"]["supported"], false);
    assert_eq!(caps["server_tools"]["code_execution"]["supported"], true);
    assert_eq!(caps["thinking"]["types"]["adaptive"]["supported"], false);
    assert_eq!(caps["thinking"]["types"]["enabled"]["supported"], true);

    let (_, sonnet) = get(&server, "/v1/models/claude-sonnet-5-5");
    let types = &sonnet["capabilities"]["thinking"]["types"];
    assert_eq!(types["between_tools"]["supported"], true);
    assert_eq!(types["disabled"]["supported"], false);
    assert_eq!(sonnet["capabilities"]["effort"]["xhigh"]["supported"], true);
    assert_eq!(sonnet["max_tokens"], 128_000);

    let (_, opus45) = get(&server, "/v1/models/claude-opus-4-5");
    assert_eq!(opus45["lifecycle"], "deprecated");
    assert_eq!(opus45["retires_at"], "2027-01-22T00:00:00Z");
    assert!(opus45["deprecated_at"].is_string());

    let (status, retired) = get(&server, "/v1/models/claude-sonnet-4-5-20250929");
    assert_eq!(status, 200);
    assert_eq!(retired["lifecycle"], "retired");

    let (status, body) = get(&server, "/v1/models/claude-nope-9");
    assert_eq!(status, 404);
    assert_eq!(error_of(&body).0, "not_found_error");
    assert_eq!(body["error"]["message"], "model: claude-nope-9");
}

#[test]
fn lifecycle_is_computed_from_the_fake_date() {
    let server = on("2026-11-29");
    let (_, sonnet45) = get(&server, "/v1/models/claude-sonnet-4-5");
    assert_eq!(sonnet45["lifecycle"], "deprecated");
    let mut body = request("x", &[], "code_execution_20250825");
    body["model"] = json!("claude-sonnet-4-5-20250929");
    assert_eq!(post_messages(&server, &body).0, 200);
    server.set_today("2026-11-30".parse().unwrap());
    let (_, sonnet45) = get(&server, "/v1/models/claude-sonnet-4-5");
    assert_eq!(sonnet45["lifecycle"], "retired");
    let (status, err) = post_messages(&server, &body);
    assert_eq!(status, 404, "{err}");
    assert_eq!(
        err["error"],
        json!({"type": "not_found_error", "message": "model: claude-sonnet-4-5-20250929"})
    );
    server.set_today("2027-01-22".parse().unwrap());
    let (_, opus45) = get(&server, "/v1/models/claude-opus-4-5-20251101");
    assert_eq!(opus45["lifecycle"], "retired");
}

#[test]
fn retired_and_unknown_models_are_404_on_messages_count_tokens_and_batches() {
    let server = on("2026-12-06");
    for model in ["claude-sonnet-4-5-20250929", "claude-mystery-7"] {
        let mut body = request("x", &[], "code_execution_20250825");
        body["model"] = json!(model);
        let (status, err) = post_messages(&server, &body);
        assert_eq!(status, 404, "{err}");
        assert_eq!(err["error"]["message"], format!("model: {model}"));
        let count = json!({"model": model, "messages": [{"role": "user", "content": "hi"}]});
        let (status, err) = json_of(
            authed(client().post(format!("{}/v1/messages/count_tokens", server.base_url())))
                .json(&count)
                .send()
                .unwrap(),
        );
        assert_eq!(status, 404, "{err}");
        assert_eq!(err["error"]["message"], format!("model: {model}"));
    }
    // The legacy alias still works, exactly as before.
    let mut body = request("x", &[], "code_execution_20250825");
    body["model"] = json!("claude-haiku-4-5");
    let (status, msg) = post_messages(&server, &body);
    assert_eq!(status, 200, "{msg}");
    assert_eq!(msg["model"], "claude-haiku-4-5");

    let mut params = request("x", &[], "code_execution_20250825");
    params["model"] = json!("claude-sonnet-4-5-20250929");
    let (status, batch) = json_of(
        authed(client().post(format!("{}/v1/messages/batches", server.base_url())))
            .json(&json!({"requests": [{"custom_id": "a", "params": params}]}))
            .send()
            .unwrap(),
    );
    assert_eq!(status, 200, "{batch}");
    let id = batch["id"].as_str().unwrap();
    assert!(server.wait_until(std::time::Duration::from_secs(10), |s| s.batches_ended == 1));
    let resp = authed(client().get(format!(
        "{}/v1/messages/batches/{id}/results",
        server.base_url()
    )))
    .send()
    .unwrap()
    .text()
    .unwrap();
    let line: Value = serde_json::from_str(resp.trim()).unwrap();
    assert_eq!(line["result"]["type"], "errored");
    assert_eq!(line["result"]["error"]["error"]["type"], "not_found_error");
}

#[test]
fn tests_add_and_replace_models() {
    let server = on("2026-12-06");
    server.add_model(json!({
        "id": "claude-sonnet-6", "like": "claude-sonnet-5-5", "display_name": "Claude Sonnet 6",
        "created_at": "2026-12-05T00:00:00Z", "aliases": ["claude-sonnet-6-latest"],
    }));
    server.add_model(json!({
        "id": "claude-opus-5-5", "deprecated_at": "2026-12-01T00:00:00Z",
        "retires_at": "2027-03-01T00:00:00Z",
    }));
    let (_, page) = get(&server, "/v1/models?limit=2");
    assert_eq!(ids(&page), ["claude-sonnet-6", "claude-fable-5-2"]);
    let (_, alias) = get(&server, "/v1/models/claude-sonnet-6-latest");
    assert_eq!(alias["id"], "claude-sonnet-6");
    assert_eq!(
        alias["capabilities"]["thinking"]["types"]["between_tools"]["supported"],
        true
    );
    let (_, opus) = get(&server, "/v1/models/claude-opus-5-5");
    assert_eq!(opus["lifecycle"], "deprecated");
    assert_eq!(opus["display_name"], "Claude Opus 5.5");
    let mut body = request("x", &[], "code_execution_20250825");
    body["model"] = json!("claude-sonnet-6");
    assert_eq!(post_messages(&server, &body).0, 200);

    // The same over the control endpoint.
    let resp = client()
        .post(format!("{}/_fake/models", server.base_url()))
        .json(&json!([{"id": "claude-gone-1", "lifecycle": "retired",
                        "deprecated_at": "2026-01-01T00:00:00Z"}]))
        .send()
        .unwrap();
    assert_eq!(resp.status(), 200);
    let (_, gone) = get(&server, "/v1/models/claude-gone-1");
    assert_eq!(gone["lifecycle"], "retired");
    let resp = client()
        .post(format!("{}/_fake/models", server.base_url()))
        .json(&json!({"display_name": "no id"}))
        .send()
        .unwrap();
    assert_eq!(resp.status(), 400);
}

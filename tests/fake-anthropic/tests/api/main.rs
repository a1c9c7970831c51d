//! The fake over real HTTP, with a plain reqwest client.
#![allow(
    clippy::unwrap_used,
    reason = "test helpers panic on unexpected answers, like the tests"
)]

mod batches;
mod faults;
mod files;
mod messages;
mod models;
mod rules;
mod skills;
mod skills_container;
mod thinking;
mod usage;

use fake_anthropic::FakeServer;
use reqwest::blocking::{Client, RequestBuilder, Response, multipart};
use serde_json::{Value, json};

pub const VERSION: &str = "2026-10-21";

pub fn client() -> Client {
    Client::builder().pool_max_idle_per_host(0).build().unwrap()
}

pub fn authed(rb: RequestBuilder) -> RequestBuilder {
    rb.header("x-api-key", "test-key")
        .header("anthropic-version", VERSION)
}

pub fn json_of(resp: Response) -> (u16, Value) {
    let status = resp.status().as_u16();
    let text = resp.text().unwrap();
    (
        status,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
    )
}

/// Asserts the docs/api.md §4.1 error shape and returns (error.type, details.error_code).
pub fn error_of(body: &Value) -> (String, Option<String>) {
    assert_eq!(body["type"], "error", "{body}");
    assert!(
        body["request_id"].as_str().unwrap().starts_with("req_"),
        "{body}"
    );
    assert!(body["error"]["message"].is_string(), "{body}");
    (
        body["error"]["type"].as_str().unwrap().to_owned(),
        body["error"]["details"]["error_code"]
            .as_str()
            .map(str::to_owned),
    )
}

pub fn upload(server: &FakeServer, name: &str, bytes: &[u8]) -> Value {
    let part = multipart::Part::bytes(bytes.to_vec()).file_name(name.to_owned());
    let form = multipart::Form::new().part("file", part);
    let (status, body) = json_of(
        authed(client().post(format!("{}/v1/files", server.base_url())))
            .multipart(form)
            .send()
            .unwrap(),
    );
    assert_eq!(status, 200, "{body}");
    body
}

pub fn request(prompt: &str, file_ids: &[&str], tool: &str) -> Value {
    let mut content = vec![json!({"type": "text", "text": prompt})];
    content.extend(
        file_ids
            .iter()
            .map(|id| json!({"type": "container_upload", "file_id": id})),
    );
    json!({
        "model": "claude-opus-4-8",
        "max_tokens": 16000,
        "messages": [{"role": "user", "content": content}],
        "tools": [{"type": tool, "name": "code_execution"}],
    })
}

pub fn post_messages(server: &FakeServer, body: &Value) -> (u16, Value) {
    json_of(
        authed(client().post(format!("{}/v1/messages", server.base_url())))
            .json(body)
            .send()
            .unwrap(),
    )
}

pub fn get(server: &FakeServer, path: &str) -> (u16, Value) {
    json_of(
        authed(client().get(format!("{}{path}", server.base_url())))
            .send()
            .unwrap(),
    )
}

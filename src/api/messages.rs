//! The Messages wire format (docs/api.md §3): the one place that knows its JSON. It builds
//! request bodies and reads the parts of a response the runner acts on; responses are kept
//! as raw JSON everywhere else, so a block type this file does not know is carried through,
//! never dropped.

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::client::ApiClient;
use super::error::{ApiError, ApiErrorKind, raw_text, transport};
use super::gates::TokenEstimate;

/// The request parameters of a job, as the runner decided them (the manifest's settings
/// and the system prompt). Everything but `messages` and `container`.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Params<'a> {
    pub model: &'a str,
    pub max_tokens: u32,
    pub system: &'a str,
    pub tool: &'a str,
    pub temperature: Option<f64>,
    pub top_p: Option<f64>,
    pub top_k: Option<u32>,
    pub thinking: Option<ThinkingParam>,
    /// `output_config.effort` (docs/api.md §13.2).
    pub effort: Option<&'a str>,
    pub cache: CacheTtl,
}

/// The `thinking` modes without a budget (docs/api.md §13.1).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum ThinkingMode {
    Adaptive,
    Disabled,
    BetweenTools,
}

impl ThinkingMode {
    pub(crate) const ALL: [&str; 3] = ["adaptive", "disabled", "between_tools"];

    pub(crate) fn parse(word: &str) -> Option<ThinkingMode> {
        match word {
            "adaptive" => Some(ThinkingMode::Adaptive),
            "disabled" => Some(ThinkingMode::Disabled),
            "between_tools" => Some(ThinkingMode::BetweenTools),
            _ => None,
        }
    }

    /// Its `thinking.type` on the wire, and in the Models API's `thinking.types`.
    pub(crate) fn wire(self) -> &'static str {
        match self {
            ThinkingMode::Adaptive => "adaptive",
            ThinkingMode::Disabled => "disabled",
            ThinkingMode::BetweenTools => "between_tools",
        }
    }
}

/// `thinking.display`: whether thinking text comes back (docs/api.md §13.1).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum ThinkingDisplay {
    Summarized,
    Omitted,
}

impl ThinkingDisplay {
    pub(crate) const ALL: [&str; 2] = ["summarized", "omitted"];

    pub(crate) fn parse(word: &str) -> Option<ThinkingDisplay> {
        match word {
            "summarized" => Some(ThinkingDisplay::Summarized),
            "omitted" => Some(ThinkingDisplay::Omitted),
            _ => None,
        }
    }
}

/// The `thinking` field a job sends.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ThinkingParam {
    Mode(ThinkingMode, Option<ThinkingDisplay>),
    /// `{"type": "enabled", "budget_tokens": N}`, on the models that still take it.
    Budget(u32, Option<ThinkingDisplay>),
}

impl ThinkingParam {
    /// Its `thinking.type`.
    pub(crate) fn wire_type(self) -> &'static str {
        match self {
            ThinkingParam::Mode(m, _) => m.wire(),
            ThinkingParam::Budget(..) => "enabled",
        }
    }

    fn to_json(self) -> Value {
        let (mut v, display) = match self {
            ThinkingParam::Budget(n, d) => (json!({"type": "enabled", "budget_tokens": n}), d),
            ThinkingParam::Mode(m, d) => (json!({"type": m.wire()}), d),
        };
        // Only adaptive and enabled thinking take `display` (docs/api.md §13.1).
        if let Some(d) = display
            && matches!(
                self,
                ThinkingParam::Budget(..) | ThinkingParam::Mode(ThinkingMode::Adaptive, _)
            )
        {
            v["display"] = json!(d);
        }
        v
    }
}

/// Automatic prompt caching (docs/api.md §3.11): the manifest's `cache` key.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) enum CacheTtl {
    #[default]
    #[serde(rename = "5m")]
    FiveMinutes,
    #[serde(rename = "1h")]
    OneHour,
    #[serde(rename = "off")]
    Off,
}

/// The request parameters every request of a job carries (all but `messages`/`container`).
pub(crate) fn request_params(p: &Params<'_>) -> Value {
    let cache_control = match p.cache {
        CacheTtl::Off => None,
        CacheTtl::FiveMinutes => Some(json!({"type": "ephemeral"})),
        CacheTtl::OneHour => Some(json!({"type": "ephemeral", "ttl": "1h"})),
    };
    // The explicit breakpoint after what every job of the manifest shares (tools, then
    // system): one job writes it, the others read it (docs/api.md §3.11).
    let system = match &cache_control {
        Some(cc) => json!([{"type": "text", "text": p.system, "cache_control": cc}]),
        None => json!(p.system),
    };
    let mut body = json!({
        "model": p.model,
        "max_tokens": p.max_tokens,
        "system": system,
        "tools": [{"type": p.tool, "name": "code_execution"}],
    });
    if let Some(t) = p.temperature {
        body["temperature"] = json!(t);
    }
    if let Some(v) = p.top_p {
        body["top_p"] = json!(v);
    }
    if let Some(k) = p.top_k {
        body["top_k"] = json!(k);
    }
    if let Some(t) = p.thinking {
        body["thinking"] = t.to_json();
    }
    if let Some(effort) = p.effort {
        body["output_config"] = json!({"effort": effort});
    }
    // Top-level automatic caching: the breakpoint moves to the end of each request, so a
    // continuation or follow-up reads the conversation so far (docs/api.md §3.11).
    if let Some(cc) = cache_control {
        body["cache_control"] = cc;
    }
    body
}

/// A Messages response: the raw body (kept verbatim for messages.json) and its request id.
#[derive(Debug)]
pub(crate) struct MessageResponse {
    pub body: serde_json::Value,
    pub request_id: Option<String>,
    /// Set when the response came from a Message Batch (`batches.rs`).
    pub batch: Option<super::batches::BatchRef>,
    /// The UTC day it arrived on: the day it is priced by (docs/api.md §11).
    pub received_on: jiff::civil::Date,
}

impl ApiClient {
    /// `POST /v1/messages`.
    pub(crate) async fn create_message(
        &self,
        api_version: &str,
        body: &serde_json::Value,
        estimate: TokenEstimate,
        attempt: u32,
    ) -> Result<MessageResponse, ApiError> {
        let endpoint = "POST /v1/messages";
        let req = self
            .http
            .post(format!("{}/v1/messages", self.base))
            .headers(self.headers(api_version, attempt))
            .timeout(self.timeouts.messages)
            .json(body);
        let (resp, request_id) = self
            .send(&self.messages_gate, endpoint, req, estimate)
            .await?;
        let bytes = resp
            .bytes()
            .await
            .map_err(|e| transport(endpoint, &e, request_id.clone()))?;
        let body: serde_json::Value = serde_json::from_slice(&bytes).map_err(|e| ApiError {
            endpoint: endpoint.to_owned(),
            kind: ApiErrorKind::Decode {
                message: format!("body is not JSON: {e}"),
                body: raw_text(&bytes),
            },
            request_id: request_id.clone(),
            retry_after: None,
            should_retry: None,
        })?;
        let usage = Usage::from_wire(&body["usage"]);
        // Cache reads do not count toward the input-token limit (docs/api.md §11).
        self.messages_gate.record_usage(
            estimate,
            usage
                .input_tokens
                .saturating_add(usage.cache_creation_input_tokens),
            usage.output_tokens,
        );
        Ok(MessageResponse {
            body,
            request_id,
            batch: None,
            received_on: super::prices::today(),
        })
    }
}

impl ApiClient {
    /// `POST /v1/messages/count_tokens` (docs/api.md §3.12): the input tokens `body` (a
    /// request without `max_tokens`, see [`count_tokens_body`]) would have.
    pub(crate) async fn count_tokens(
        &self,
        api_version: &str,
        body: &serde_json::Value,
        attempt: u32,
    ) -> Result<u64, ApiError> {
        let endpoint = "POST /v1/messages/count_tokens";
        let req = self
            .http
            .post(format!("{}/v1/messages/count_tokens", self.base))
            .headers(self.headers(api_version, attempt))
            .timeout(self.timeouts.files)
            .json(body);
        let (resp, request_id) = self
            .send(&self.messages_gate, endpoint, req, TokenEstimate::default())
            .await?;
        let bytes = resp
            .bytes()
            .await
            .map_err(|e| transport(endpoint, &e, request_id.clone()))?;
        let value: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        value["input_tokens"].as_u64().ok_or_else(|| ApiError {
            endpoint: endpoint.to_owned(),
            kind: ApiErrorKind::Decode {
                message: "no `input_tokens` number in the answer".to_owned(),
                body: raw_text(&bytes),
            },
            request_id,
            retry_after: None,
            should_retry: None,
        })
    }
}

/// The body for token counting of a job's first request: its parameters without what
/// the endpoint does not take, and the first user turn (no files: they are in the
/// container, not in the prompt).
pub(crate) fn count_tokens_body(params: &Value, note: &str, first_turn: &str) -> Value {
    let mut body = params.clone();
    if let Some(obj) = body.as_object_mut() {
        for key in [
            "max_tokens",
            "cache_control",
            "temperature",
            "top_p",
            "top_k",
        ] {
            obj.remove(key);
        }
    }
    body["messages"] = json!([first_user_turn(note, first_turn, &[])]);
    body
}

/// Token and tool counters, summed over requests. Every field is optional on the wire.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Usage {
    #[serde(default)]
    pub input_tokens: u64,
    #[serde(default)]
    pub output_tokens: u64,
    #[serde(default)]
    pub cache_creation_input_tokens: u64,
    #[serde(default)]
    pub cache_read_input_tokens: u64,
    #[serde(default)]
    pub code_execution_requests: u64,
    /// `cache_creation_input_tokens` split by TTL (docs/api.md §3.8).
    #[serde(default)]
    pub cache_creation: CacheCreation,
}

/// `usage.cache_creation`: cache writes by TTL, priced differently (docs/api.md §11).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct CacheCreation {
    #[serde(default)]
    pub ephemeral_5m_input_tokens: u64,
    #[serde(default)]
    pub ephemeral_1h_input_tokens: u64,
}

impl Usage {
    /// Reads a raw `usage` object, tolerating nulls and missing keys (docs/api.md §3.8).
    pub(crate) fn from_wire(usage: &serde_json::Value) -> Usage {
        let n = |v: &serde_json::Value| v.as_u64().unwrap_or(0);
        Usage {
            input_tokens: n(&usage["input_tokens"]),
            output_tokens: n(&usage["output_tokens"]),
            cache_creation_input_tokens: n(&usage["cache_creation_input_tokens"]),
            cache_read_input_tokens: n(&usage["cache_read_input_tokens"]),
            code_execution_requests: n(&usage["server_tool_use"]["code_execution_requests"]),
            cache_creation: CacheCreation {
                ephemeral_5m_input_tokens: n(&usage["cache_creation"]["ephemeral_5m_input_tokens"]),
                ephemeral_1h_input_tokens: n(&usage["cache_creation"]["ephemeral_1h_input_tokens"]),
            },
        }
    }

    /// Saturating: the counts come from a server, and an absurd one must not panic a run.
    pub(crate) fn add(&mut self, other: &Usage) {
        let sum = |a: &mut u64, b: u64| *a = a.saturating_add(b);
        sum(&mut self.input_tokens, other.input_tokens);
        sum(&mut self.output_tokens, other.output_tokens);
        sum(
            &mut self.cache_creation_input_tokens,
            other.cache_creation_input_tokens,
        );
        sum(
            &mut self.cache_read_input_tokens,
            other.cache_read_input_tokens,
        );
        sum(
            &mut self.code_execution_requests,
            other.code_execution_requests,
        );
        sum(
            &mut self.cache_creation.ephemeral_5m_input_tokens,
            other.cache_creation.ephemeral_5m_input_tokens,
        );
        sum(
            &mut self.cache_creation.ephemeral_1h_input_tokens,
            other.cache_creation.ephemeral_1h_input_tokens,
        );
    }
}

/// A job's first user turn: what is the job's own (its files and deliverables, after the
/// shared prefix's breakpoint), the prompt, then one `container_upload` per input.
pub(crate) fn first_user_turn(note: &str, text: &str, file_ids: &[String]) -> Value {
    let mut turn = user_turn(text, file_ids);
    if let Some(content) = turn["content"].as_array_mut() {
        content.insert(0, json!({"type": "text", "text": note}));
    }
    turn
}

/// A user turn: the text, then (first turn only) one `container_upload` per input.
pub(crate) fn user_turn(text: &str, file_ids: &[String]) -> Value {
    let mut content = vec![json!({"type": "text", "text": text})];
    content.extend(
        file_ids
            .iter()
            .map(|id| json!({"type": "container_upload", "file_id": id})),
    );
    json!({"role": "user", "content": content})
}

/// The assistant turn to send back: the response's content, unchanged (docs/api.md §3.7).
pub(crate) fn assistant_turn(content: &Value) -> Value {
    json!({"role": "assistant", "content": content})
}

/// The full body of one request.
pub(crate) fn message_body(params: &Value, messages: &[Value], container: Option<&str>) -> Value {
    let mut body = params.clone();
    body["messages"] = Value::Array(messages.to_vec());
    if let Some(field) = super::container::request_field(params, container) {
        body["container"] = field;
    }
    body
}

/// How a response says it was billed: `usage.service_tier` and `usage.inference_geo`
/// (docs/api.md §11).
pub(crate) fn billing(body: &Value) -> super::prices::Billing<'_> {
    super::prices::Billing {
        service_tier: service_tier(body),
        inference_geo: body["usage"]["inference_geo"].as_str(),
    }
}

/// The response's `usage.service_tier` (`standard`, `priority`, `batch`), if any.
pub(crate) fn service_tier(body: &Value) -> Option<&str> {
    body["usage"]["service_tier"].as_str()
}

/// The container a request body names (`message_body`), if any.
pub(crate) fn named_container(body: &Value) -> Option<&str> {
    super::container::named(body)
}

/// When a response's container expires (`container.expires_at`, RFC 3339), if it says.
pub(crate) fn container_expires_at(body: &Value) -> Option<jiff::Timestamp> {
    body["container"]["expires_at"].as_str()?.parse().ok()
}

/// What the runner needs from a response.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Reply<'a> {
    pub stop_reason: Option<&'a str>,
    pub content: &'a Value,
    pub container_id: Option<&'a str>,
}

/// Reads a Messages response; `Err` says what is missing.
pub(crate) fn read_reply(body: &Value) -> Result<Reply<'_>, String> {
    if body["type"] != "message" {
        return Err(format!(
            "expected a `message` object, got type {}",
            body["type"]
        ));
    }
    let content = &body["content"];
    if !content.is_array() {
        return Err("the message has no `content` list".into());
    }
    // The container is an object in current versions; accept the bare id form too.
    let container_id = body["container"]["id"]
        .as_str()
        .or_else(|| body["container"].as_str());
    Ok(Reply {
        stop_reason: body["stop_reason"].as_str(),
        content,
        container_id,
    })
}

/// Ids of files the code generated, in order, from every kind of result block: bash
/// (20250825+), legacy Python, and encrypted legacy results (docs/api.md §3.5).
pub(crate) fn generated_file_ids(content: &Value) -> Vec<String> {
    let mut ids = Vec::new();
    for block in content.as_array().into_iter().flatten() {
        let result = &block["content"];
        let listed = match result["type"].as_str() {
            Some(
                "bash_code_execution_result"
                | "code_execution_result"
                | "encrypted_code_execution_result",
            ) => &result["content"],
            _ => continue,
        };
        for out in listed.as_array().into_iter().flatten() {
            if let Some(id) = out["file_id"].as_str()
                && !ids.iter().any(|seen| seen == id)
            {
                ids.push(id.to_owned());
            }
        }
    }
    ids
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::testing::json::response;

    #[test]
    fn finds_file_ids_in_every_result_kind_once() {
        let content = json!([
            {"type": "text", "text": "hi"},
            {"type": "bash_code_execution_tool_result", "tool_use_id": "a", "content": {
                "type": "bash_code_execution_result", "stdout": "", "stderr": "", "return_code": 0,
                "content": [{"type": "bash_code_execution_output", "file_id": "file_1"}]}},
            {"type": "code_execution_tool_result", "tool_use_id": "b", "content": {
                "type": "encrypted_code_execution_result", "encrypted_stdout": "x", "stderr": "", "return_code": 0,
                "content": [{"type": "code_execution_output", "file_id": "file_2"},
                            {"type": "code_execution_output", "file_id": "file_1"}]}},
            {"type": "bash_code_execution_tool_result", "tool_use_id": "c", "content": {
                "type": "bash_code_execution_tool_result_error", "error_code": "unavailable"}},
            {"type": "mystery_block", "content": {"type": "bash_code_execution_result", "content": [{"file_id": "file_3"}]}}
        ]);
        assert_eq!(generated_file_ids(&content), ["file_1", "file_2", "file_3"]);
    }

    #[test]
    fn reads_a_containers_expiry_and_the_container_a_body_names() {
        let reply = json!({"container": {"id": "c1", "expires_at": "2026-11-21T05:41:59.946777Z"}});
        let at = container_expires_at(&reply).unwrap();
        assert_eq!(at.to_string(), "2026-11-21T05:41:59.946777Z");
        assert_eq!(
            container_expires_at(&json!({"container": {"expires_at": "soon"}})),
            None
        );
        assert_eq!(container_expires_at(&json!({"container": "c2"})), None);
        let body = message_body(&json!({"model": "m"}), &[], Some("c1"));
        assert_eq!(named_container(&body), Some("c1"));
        assert_eq!(named_container(&message_body(&json!({}), &[], None)), None);
    }

    #[test]
    fn reads_container_in_both_forms_and_rejects_non_messages() {
        let obj = json!({"type": "message", "content": [], "stop_reason": "end_turn", "container": {"id": "c1", "expires_at": "x"}});
        assert_eq!(read_reply(&obj).unwrap().container_id, Some("c1"));
        let bare = json!({"type": "message", "content": [], "container": "c2"});
        assert_eq!(read_reply(&bare).unwrap().container_id, Some("c2"));
        assert!(read_reply(&json!({"type": "error"})).is_err());
        assert!(read_reply(&json!({"type": "message"})).is_err());
    }

    proptest! {
        #![proptest_config(crate::testing::config(1000))]

        #[test]
        fn property_any_json_reads_without_panic(body in response()) {
            let is_message = body["type"] == "message" && body["content"].is_array();
            match read_reply(&body) {
                Ok(reply) => {
                    prop_assert!(is_message, "read a non-message");
                    prop_assert_eq!(reply.content, &body["content"]);
                }
                Err(why) => {
                    prop_assert!(!is_message, "rejected a message: {}", why);
                    prop_assert!(!why.is_empty());
                }
            }
            let ids = generated_file_ids(&body["content"]);
            for (i, id) in ids.iter().enumerate() {
                prop_assert!(!ids[..i].contains(id), "{:?} listed twice", id);
                prop_assert!(holds_file_id(&body, id), "{:?} is no file_id of the body", id);
            }
            let _ = Usage::from_wire(&body["usage"]);
        }
    }

    /// Whether `file_id: id` appears anywhere in `v`.
    fn holds_file_id(v: &Value, id: &str) -> bool {
        match v {
            Value::Object(map) => map
                .iter()
                .any(|(k, x)| (k == "file_id" && x == id) || holds_file_id(x, id)),
            Value::Array(items) => items.iter().any(|x| holds_file_id(x, id)),
            _ => false,
        }
    }

    /// The response strategy reaches both sides of `read_reply`, and responses with files.
    #[test]
    fn response_strategy_reaches_messages_non_messages_and_files() {
        let bodies = crate::testing::sample(&response(), 1000);
        let read = bodies.iter().filter(|b| read_reply(b).is_ok()).count();
        assert!((200..900).contains(&read), "{read} of 1000 read");
        let with_files = bodies
            .iter()
            .filter(|b| !generated_file_ids(&b["content"]).is_empty())
            .count();
        assert!(with_files > 50, "{with_files} of 1000 with files");
        // Some list an id twice, so "each id once" is tested.
        let repeated = bodies
            .iter()
            .filter(|b| {
                let ids = generated_file_ids(&b["content"]);
                !ids.is_empty() && count_file_ids(&b["content"]) > ids.len()
            })
            .count();
        assert!(repeated > 10, "{repeated} of 1000 with a repeated id");
    }

    fn count_file_ids(v: &Value) -> usize {
        match v {
            Value::Object(map) => map
                .iter()
                .map(|(k, x)| usize::from(k == "file_id" && x.is_string()) + count_file_ids(x))
                .sum(),
            Value::Array(items) => items.iter().map(count_file_ids).sum(),
            _ => 0,
        }
    }

    /// The prefix check of today's models (docs/api.md §3.7): a response's content goes
    /// back in the next request as received, block for block and key for key, including
    /// empty thinking blocks, signatures and fields this file does not know.
    #[test]
    fn a_reply_goes_back_as_received() {
        let content = r#"[{"signature":"EqQB","thinking":"","type":"thinking"},{"type":"redacted_thinking","data":"Emw"},{"type":"text","text":"é \u2028","citations":null,"future_field":{"z":1,"a":[true,null]}},{"type":"server_tool_use","id":"srvtoolu_1","name":"bash_code_execution","input":{"command":"ls"},"caller":{"type":"direct"}}]"#;
        let body: Value = serde_json::from_str(&format!(
            r#"{{"type":"message","content":{content},"stop_reason":"pause_turn"}}"#
        ))
        .unwrap();
        let reply = read_reply(&body).unwrap();
        let params = json!({"model": "claude-sonnet-5-5", "system": "s", "tools": []});
        let messages = [user_turn("go", &[]), assistant_turn(reply.content)];
        let sent = message_body(&params, &messages, Some("container_1")).to_string();
        let back: Value = serde_json::from_str(&sent).unwrap();
        assert_eq!(back["messages"][1]["content"], body["content"]);
        // Key order too: the text is the one received, up to JSON's own spelling of
        // the escape (serde_json writes U+2028 as is).
        let expected = content.replace("\\u2028", "\u{2028}");
        assert!(sent.contains(&expected), "{sent}\n{expected}");
        assert!(sent.ends_with(r#""container":"container_1"}"#), "{sent}");
    }

    #[test]
    fn usage_from_a_server_saturates_instead_of_overflowing() {
        let huge = Usage::from_wire(&serde_json::json!({
            "input_tokens": u64::MAX, "output_tokens": -1, "server_tool_use": "x"
        }));
        assert_eq!(huge.output_tokens, 0);
        let mut total = huge;
        total.add(&huge);
        assert_eq!(total.input_tokens, u64::MAX);
    }
}

//! The Messages wire format (REFERENCE.md §3): building request bodies and reading the
//! parts of a response the runner acts on. Responses are kept as raw JSON everywhere else,
//! so a block type this file does not know is carried through, never dropped.

use serde_json::{Value, json};

use crate::plan::PlannedJob;

/// The request parameters every request of a job carries (all but `messages`/`container`).
pub fn request_params(job: &PlannedJob) -> Value {
    let s = &job.settings;
    let mut body = json!({
        "model": s.model,
        "max_tokens": s.max_tokens,
        "system": job.system,
        "tools": [{"type": s.tool, "name": "code_execution"}],
    });
    if let Some(t) = s.temperature {
        body["temperature"] = json!(t);
    }
    if let Some(p) = s.top_p {
        body["top_p"] = json!(p);
    }
    if let Some(k) = s.top_k {
        body["top_k"] = json!(k);
    }
    if let Some(budget) = s.thinking_budget_tokens {
        body["thinking"] = json!({"type": "enabled", "budget_tokens": budget});
    }
    body
}

/// A user turn: the text, then (first turn only) one `container_upload` per input.
pub fn user_turn(text: &str, file_ids: &[String]) -> Value {
    let mut content = vec![json!({"type": "text", "text": text})];
    content.extend(
        file_ids
            .iter()
            .map(|id| json!({"type": "container_upload", "file_id": id})),
    );
    json!({"role": "user", "content": content})
}

/// The assistant turn to send back: the response's content, unchanged (REFERENCE.md §3.7).
pub fn assistant_turn(content: &Value) -> Value {
    json!({"role": "assistant", "content": content})
}

/// The full body of one request.
pub fn message_body(params: &Value, messages: &[Value], container: Option<&str>) -> Value {
    let mut body = params.clone();
    body["messages"] = Value::Array(messages.to_vec());
    if let Some(id) = container {
        body["container"] = json!(id);
    }
    body
}

/// What the runner needs from a response.
#[derive(Debug, PartialEq, Eq)]
pub struct Reply<'a> {
    pub stop_reason: Option<&'a str>,
    pub content: &'a Value,
    pub container_id: Option<&'a str>,
}

/// Reads a Messages response; `Err` says what is missing.
pub fn read_reply(body: &Value) -> Result<Reply<'_>, String> {
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
/// (20250825+), legacy Python, and encrypted legacy results (REFERENCE.md §3.5).
pub fn generated_file_ids(content: &Value) -> Vec<String> {
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
    use super::*;

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
    fn reads_container_in_both_forms_and_rejects_non_messages() {
        let obj = json!({"type": "message", "content": [], "stop_reason": "end_turn", "container": {"id": "c1", "expires_at": "x"}});
        assert_eq!(read_reply(&obj).unwrap().container_id, Some("c1"));
        let bare = json!({"type": "message", "content": [], "container": "c2"});
        assert_eq!(read_reply(&bare).unwrap().container_id, Some("c2"));
        assert!(read_reply(&json!({"type": "error"})).is_err());
        assert!(read_reply(&json!({"type": "message"})).is_err());
    }

    #[test]
    fn property_any_json_reads_without_panic() {
        let mut rng = crate::test_json::Rng(0x0005_EED0_FA11_5AFE);
        let mut read = 0;
        for _ in 0..5000 {
            let body = crate::test_json::response(&mut rng);
            match read_reply(&body) {
                Ok(reply) => {
                    read += 1;
                    assert!(reply.content.is_array(), "{body}");
                    assert_eq!(body["type"], "message");
                }
                Err(why) => assert!(!why.is_empty()),
            }
            let mut ids = generated_file_ids(&body["content"]);
            let n = ids.len();
            ids.sort();
            ids.dedup();
            assert_eq!(ids.len(), n, "each file id once: {body}");
            let _ = crate::outcome::Usage::from_wire(&body["usage"]);
        }
        // The generator reaches both sides.
        assert!((500..4500).contains(&read), "{read}");
    }
}

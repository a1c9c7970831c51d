//! Strict prefix mode (`Config::strict_prefix`, docs/api.md §8.11): every request that
//! continues a container's conversation keeps `model`, `system`, `tools`, `thinking` and
//! `output_config` identical, and its messages start with exactly the previous request's
//! messages plus that request's response as an assistant turn. Stricter than the real
//! API (which checks only what thinking blocks are bound to), so a test proves a client
//! append-only; a 400 names the first difference.

use serde_json::{Map, Value, json};

use crate::errors::ApiError;
use crate::thinking::{blocks_of, canonical};

const SAME: &[&str] = &["model", "system", "tools", "thinking", "output_config"];

/// The last request of a container's conversation, canonical.
#[derive(Clone, Debug)]
pub(crate) struct LastTurn {
    fields: Vec<String>,
    messages: Vec<String>,
    response: String,
}

fn field(obj: &Map<String, Value>, key: &str) -> String {
    match (key, obj.get(key)) {
        ("system", Some(v)) => canonical(&Value::Array(blocks_of(v))),
        (_, Some(v)) => canonical(v),
        (_, None) => "null".to_owned(),
    }
}

fn message(role: &str, content: &Value) -> String {
    canonical(&json!({"role": role, "content": blocks_of(content)}))
}

impl LastTurn {
    pub(crate) fn new(obj: &Map<String, Value>, messages: &[Value], response: &Value) -> LastTurn {
        LastTurn {
            fields: SAME.iter().map(|k| field(obj, k)).collect(),
            messages: messages
                .iter()
                .map(|m| message(m["role"].as_str().unwrap_or_default(), &m["content"]))
                .collect(),
            response: message("assistant", response),
        }
    }

    /// Whether `obj` continues this turn append-only.
    pub(crate) fn check(
        &self,
        container: &str,
        obj: &Map<String, Value>,
        messages: &[Value],
    ) -> Result<(), ApiError> {
        let fail = |what: String| {
            ApiError::invalid(format!(
                "fake-anthropic strict prefix (container {container}): {what}; a continued conversation must be append-only"
            ))
        };
        for (key, before) in SAME.iter().zip(&self.fields) {
            if field(obj, key) != *before {
                return Err(fail(format!(
                    "`{key}` differs from the previous request of this conversation"
                )));
            }
        }
        let sent: Vec<String> = messages
            .iter()
            .map(|m| message(m["role"].as_str().unwrap_or_default(), &m["content"]))
            .collect();
        let expected = self.messages.iter().chain(std::iter::once(&self.response));
        for (k, want) in expected.enumerate() {
            let what = if k < self.messages.len() {
                format!("messages.{k} of the previous request")
            } else {
                "the previous response (as an assistant turn)".to_owned()
            };
            match sent.get(k) {
                None => {
                    return Err(fail(format!(
                        "messages has {} entries, so it lacks messages.{k}: {what}",
                        sent.len()
                    )));
                }
                Some(got) if got != want => {
                    return Err(fail(format!("messages.{k} differs from {what}")));
                }
                Some(_) => {}
            }
        }
        Ok(())
    }
}

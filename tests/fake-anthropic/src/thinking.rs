//! Thinking blocks bound to their conversation prefix (docs/api.md §8.11, "preserved
//! thinking"). A block's signature is a keyed blake3 hash of the model, `system`,
//! `tools`, every message and block before it and its own text, all as canonical JSON
//! (sorted keys, `cache_control` and null-valued keys left out, string content read as
//! one text block), so any change to what came before it — or to the block — breaks it.
//! Requests to preserved-thinking models are checked: every thinking block's signature,
//! and every assistant turn against what this server emitted at that point of the
//! conversation, which catches a dropped block whose neighbours are intact.

use std::collections::HashMap;

use serde_json::{Map, Value, json};

use crate::errors::ApiError;

/// The §4.2 error of docs/api.md §8.11, at `messages.I.content.J`.
pub(crate) fn bound_elsewhere(i: usize, j: usize) -> ApiError {
    ApiError::invalid(format!(
        "messages.{i}.content.{j}: Invalid `signature` in `thinking` block. The block is bound to a different conversation. Remove the block, or set `thinking.block_binding.prefix_mismatch_behavior` to \"drop_block\"."
    ))
}

/// Canonical JSON: keys sorted, `cache_control` and null-valued keys dropped.
pub(crate) fn canonical(v: &Value) -> String {
    fn write(v: &Value, out: &mut String) {
        match v {
            Value::Object(map) => {
                let mut keys: Vec<&String> = map
                    .iter()
                    .filter(|(k, v)| *k != "cache_control" && !v.is_null())
                    .map(|(k, _)| k)
                    .collect();
                keys.sort();
                out.push('{');
                for (i, k) in keys.into_iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    out.push_str(&Value::String(k.clone()).to_string());
                    out.push(':');
                    write(&map[k], out);
                }
                out.push('}');
            }
            Value::Array(items) => {
                out.push('[');
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    write(item, out);
                }
                out.push(']');
            }
            other => out.push_str(&other.to_string()),
        }
    }
    let mut out = String::new();
    write(v, &mut out);
    out
}

/// Message content (or `system`) as a list of blocks: a string is one text block.
pub(crate) fn blocks_of(content: &Value) -> Vec<Value> {
    match content {
        Value::String(s) => vec![json!({"type": "text", "text": s})],
        Value::Array(blocks) => blocks.clone(),
        _ => Vec::new(),
    }
}

/// The running hash of a conversation prefix.
#[derive(Clone)]
pub(crate) struct Prefix(blake3::Hasher);

impl Prefix {
    fn push(&mut self, v: &Value) {
        let c = canonical(v);
        self.0.update(&(c.len() as u64).to_le_bytes());
        self.0.update(c.as_bytes());
    }

    fn marker(&mut self, m: &str) {
        self.push(&json!({ "\u{0}": m }));
    }

    /// The prefix key: which point of which conversation this is.
    pub(crate) fn key(&self) -> String {
        self.0.finalize().to_hex().to_string()
    }

    /// The signature of a thinking block with this text right here.
    pub(crate) fn sign(&self, text: &str) -> String {
        let mut h = self.0.clone();
        h.update(b"\0thinking\0");
        h.update(text.as_bytes());
        h.finalize().to_hex().to_string()
    }

    pub(crate) fn start_message(&mut self, role: &str) {
        self.marker(role);
    }

    pub(crate) fn block(&mut self, block: &Value) {
        self.push(block);
    }

    pub(crate) fn end_message(&mut self) {
        self.marker("end");
    }
}

/// Signs, remembers and checks thinking blocks for one server.
pub(crate) struct Binder {
    key: [u8; 32],
    /// Prefix key → the turns this server emitted there: blocks as canonical JSON, and
    /// whether the turn had a thinking block.
    emitted: HashMap<String, Vec<(Vec<String>, bool)>>,
}

impl Default for Binder {
    fn default() -> Binder {
        Binder::new(0)
    }
}

impl Binder {
    pub(crate) fn new(salt: u64) -> Binder {
        Binder {
            key: blake3::derive_key(
                "fake-anthropic 2026-12 thinking block binding",
                &salt.to_le_bytes(),
            ),
            emitted: HashMap::new(),
        }
    }

    /// The prefix of a request's model, `system` and `tools`.
    pub(crate) fn head(&self, model: &str, obj: &Map<String, Value>) -> Prefix {
        let mut p = Prefix(blake3::Hasher::new_keyed(&self.key));
        p.push(&json!(model));
        p.push(&Value::Array(blocks_of(
            obj.get("system").unwrap_or(&Value::Null),
        )));
        p.push(obj.get("tools").unwrap_or(&json!([])));
        p
    }

    /// Signs every thinking block of a response that follows `prefix` (the request's
    /// head and messages) and remembers the response there.
    pub(crate) fn sign_response(&mut self, prefix: &Prefix, content: &mut [Value]) {
        let key = prefix.key();
        let mut p = prefix.clone();
        p.start_message("assistant");
        for block in content.iter_mut() {
            if block["type"] == "thinking" {
                let text = block["thinking"].as_str().unwrap_or_default().to_owned();
                block["signature"] = json!(p.sign(&text));
            }
            p.block(block);
        }
        let canon = content.iter().map(canonical).collect();
        let thinking = content.iter().any(|b| b["type"] == "thinking");
        self.emitted.entry(key).or_default().push((canon, thinking));
    }

    /// The prefix after all of a request's messages, checking on the way (when `check`)
    /// every thinking block's signature and every assistant turn against what this
    /// server emitted at that point.
    pub(crate) fn walk(
        &self,
        head: Prefix,
        messages: &[Value],
        check: bool,
    ) -> Result<Prefix, ApiError> {
        let mut p = head;
        for (i, m) in messages.iter().enumerate() {
            let role = m["role"].as_str().unwrap_or_default();
            let blocks = blocks_of(&m["content"]);
            if check && role == "assistant" {
                self.check_turn(&p, i, &blocks)?;
            }
            p.start_message(role);
            for b in &blocks {
                p.block(b);
            }
            p.end_message();
        }
        Ok(p)
    }

    fn check_turn(&self, before: &Prefix, i: usize, blocks: &[Value]) -> Result<(), ApiError> {
        let mut p = before.clone();
        p.start_message("assistant");
        let mut has_thinking = false;
        for (j, b) in blocks.iter().enumerate() {
            if b["type"] == "thinking" {
                has_thinking = true;
                let text = b["thinking"].as_str().unwrap_or_default();
                if b["signature"].as_str() != Some(p.sign(text).as_str()) {
                    return Err(bound_elsewhere(i, j));
                }
            }
            p.block(b);
        }
        let Some(candidates) = self.emitted.get(&before.key()) else {
            return Ok(());
        };
        let sent: Vec<String> = blocks.iter().map(canonical).collect();
        let thinking_there = candidates.iter().any(|(_, thinking)| *thinking);
        if candidates.iter().any(|(c, _)| *c == sent) || !(has_thinking || thinking_there) {
            return Ok(());
        }
        // The first block that differs from the closest emitted turn.
        let common = candidates
            .iter()
            .map(|(c, _)| c.iter().zip(&sent).take_while(|(a, b)| a == b).count())
            .max()
            .unwrap_or(0);
        Err(bound_elsewhere(i, common.min(sent.len().saturating_sub(1))))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn canonical_ignores_key_order_nulls_and_cache_control() {
        let a = json!({"b": 1, "a": {"x": null, "cache_control": {"type": "ephemeral"}, "y": [1]}});
        let b = json!({"a": {"y": [1]}, "b": 1});
        assert_eq!(canonical(&a), canonical(&b));
        assert_ne!(
            canonical(&json!({"a": [1, 2]})),
            canonical(&json!({"a": [2, 1]}))
        );
    }
}

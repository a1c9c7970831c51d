//! Output accounting (docs/api.md §8.12). A request with server tools calls the model
//! once per step of its tool loop: each call's output (thinking, text, tool calls) is
//! capped by `max_tokens`, and `usage.output_tokens` is their sum, so it may exceed
//! `max_tokens`. Thinking is billed by its raw reasoning tokens, whatever `display`
//! returns. Models before the 2026 usage fields keep the old single-call count.

use serde_json::Value;

use crate::model::RAW_TOKENS;
use crate::thinking::canonical;

/// `output_tokens` and `output_tokens_details.thinking_tokens`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Output {
    pub total: u64,
    pub thinking: u64,
}

/// Takes the hidden raw-token counts out of the thinking blocks: one entry per block.
pub(crate) fn take_raw(content: &mut [Value]) -> Vec<u64> {
    content
        .iter_mut()
        .map(|b| {
            b.as_object_mut()
                .and_then(|o| o.remove(RAW_TOKENS))
                .and_then(|v| v.as_u64())
                .unwrap_or(0)
        })
        .collect()
}

/// The output of a response, per model call (`per_call`) or as one call (the 4.5
/// models, whose usage is counted as it always was).
pub(crate) fn output(
    content: &[Value],
    raw: &[u64],
    max_tokens: u64,
    hit_max_tokens: bool,
    per_call: bool,
) -> Output {
    if !per_call {
        let total = if hit_max_tokens {
            max_tokens
        } else {
            (Value::Array(content.to_vec()).to_string().len() / 4).max(1) as u64
        };
        return Output { total, thinking: 0 };
    }
    let mut calls: Vec<u64> = vec![0];
    let mut thinking = 0;
    for (block, raw) in content.iter().zip(raw) {
        let kind = block["type"].as_str().unwrap_or_default();
        if kind.ends_with("_tool_result") {
            // The tool ran; the model is called again with its result.
            if calls.last().is_some_and(|n| *n > 0) {
                calls.push(0);
            }
            continue;
        }
        let tokens = if kind == "thinking" {
            thinking += raw;
            *raw
        } else {
            (canonical(block).len() / 4).max(1) as u64
        };
        if let Some(n) = calls.last_mut() {
            *n += tokens;
        }
    }
    for n in &mut calls {
        *n = (*n).clamp(1, max_tokens);
    }
    if hit_max_tokens && let Some(n) = calls.last_mut() {
        *n = max_tokens;
    }
    let total: u64 = calls.iter().sum();
    Output {
        total,
        thinking: thinking.min(total),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn each_call_is_capped_but_the_sum_is_not() {
        let big = "x".repeat(4_000);
        let content = vec![
            json!({"type": "thinking", "thinking": "", "signature": "s"}),
            json!({"type": "server_tool_use", "id": "a", "name": "bash", "input": {"command": big}}),
            json!({"type": "bash_code_execution_tool_result", "tool_use_id": "a", "content": {}}),
            json!({"type": "server_tool_use", "id": "b", "name": "bash", "input": {"command": big}}),
            json!({"type": "bash_code_execution_tool_result", "tool_use_id": "b", "content": {}}),
            json!({"type": "text", "text": big}),
        ];
        let raw = [300, 0, 0, 0, 0, 0];
        let out = output(&content, &raw, 800, false, true);
        assert_eq!(out.total, 800 * 3);
        assert_eq!(out.thinking, 300);
        let old = output(&content, &raw, 800, false, false);
        assert!(old.total > 2_400 && old.thinking == 0);
    }
}

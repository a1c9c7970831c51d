//! `"stream": true` (docs/api.md §3.9): the finished message replayed as SSE
//! events, in one buffered body. Clients that accumulate the events get back
//! exactly the non-streaming message (so continuations still match).

use bytes::Bytes;
use serde_json::{Value, json};

/// Text deltas are cut into pieces of about this many bytes, so clients
/// really have to concatenate.
const TEXT_PIECE: usize = 24;

pub(crate) fn sse(message: &Value) -> Bytes {
    let mut out = String::new();
    let mut event = |name: &str, data: Value| {
        out.push_str("event: ");
        out.push_str(name);
        out.push_str("\ndata: ");
        out.push_str(&data.to_string());
        out.push_str("\n\n");
    };

    let mut start = message.clone();
    start["content"] = json!([]);
    start["stop_reason"] = Value::Null;
    start["stop_sequence"] = Value::Null;
    start["stop_details"] = Value::Null;
    start["usage"]["output_tokens"] = json!(1);
    event(
        "message_start",
        json!({"type": "message_start", "message": start}),
    );
    event("ping", json!({"type": "ping"}));

    let blocks = message["content"].as_array().cloned().unwrap_or_default();
    for (index, block) in blocks.iter().enumerate() {
        let kind = block["type"].as_str().unwrap_or_default();
        let mut head = block.clone();
        let mut deltas = Vec::new();
        match kind {
            "text" => {
                head["text"] = json!("");
                let text = block["text"].as_str().unwrap_or_default();
                deltas.extend(pieces(text).map(|p| json!({"type": "text_delta", "text": p})));
            }
            "thinking" => {
                head["thinking"] = json!("");
                head["signature"] = json!("");
                let text = block["thinking"].as_str().unwrap_or_default();
                deltas
                    .extend(pieces(text).map(|p| json!({"type": "thinking_delta", "thinking": p})));
                deltas.push(json!({"type": "signature_delta", "signature": block["signature"]}));
            }
            "server_tool_use" | "tool_use" => {
                head["input"] = json!({});
                let input = block["input"].to_string();
                deltas.extend(
                    pieces(&input).map(|p| json!({"type": "input_json_delta", "partial_json": p})),
                );
            }
            // Tool results arrive complete in content_block_start.
            _ => {}
        }
        event(
            "content_block_start",
            json!({"type": "content_block_start", "index": index, "content_block": head}),
        );
        for delta in deltas {
            event(
                "content_block_delta",
                json!({"type": "content_block_delta", "index": index, "delta": delta}),
            );
        }
        event(
            "content_block_stop",
            json!({"type": "content_block_stop", "index": index}),
        );
    }

    let usage = &message["usage"];
    let mut delta_usage = json!({
        "input_tokens": usage["input_tokens"],
        "output_tokens": usage["output_tokens"],
        "cache_creation_input_tokens": usage["cache_creation_input_tokens"],
        "cache_read_input_tokens": usage["cache_read_input_tokens"],
        "server_tool_use": usage["server_tool_use"],
    });
    if !usage["output_tokens_details"].is_null() {
        delta_usage["output_tokens_details"] = usage["output_tokens_details"].clone();
    }
    event(
        "message_delta",
        json!({
            "type": "message_delta",
            "delta": {
                "stop_reason": message["stop_reason"],
                "stop_sequence": message["stop_sequence"],
                "stop_details": message["stop_details"],
                "container": message["container"],
            },
            "usage": delta_usage,
        }),
    );
    event("message_stop", json!({"type": "message_stop"}));
    Bytes::from(out)
}

/// Splits at char boundaries into pieces of about [`TEXT_PIECE`] bytes.
fn pieces(s: &str) -> impl Iterator<Item = &str> {
    let mut rest = s;
    std::iter::from_fn(move || {
        if rest.is_empty() {
            return None;
        }
        let mut cut = TEXT_PIECE.min(rest.len());
        while !rest.is_char_boundary(cut) {
            cut += 1;
        }
        let (piece, tail) = rest.split_at(cut);
        rest = tail;
        Some(piece)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pieces_cover_the_text_at_char_boundaries() {
        let text = "héllo wörld, ".repeat(5);
        assert_eq!(pieces(&text).collect::<String>(), text);
        assert!(pieces(&text).count() > 2);
        assert_eq!(pieces("").count(), 0);
    }
}

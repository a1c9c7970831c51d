//! Per-model request rules of Messages, count_tokens and batch params (docs/api.md
//! §8.10): thinking types, effort levels, sampling parameters, forced tool choice,
//! assistant prefill and `max_tokens`, each a 400 `invalid_request_error` with the
//! documented message where there is one. Thinking types and effort levels come from the
//! catalogue entry's `capabilities`; the rest from `rules.rs`.

use serde_json::{Map, Value};

use crate::catalogue::Resolved;
use crate::errors::ApiError;
use crate::rules::Rules;

const THINKING_TYPES: &[&str] = &["adaptive", "enabled", "disabled", "between_tools"];
const EFFORTS: &[&str] = &["low", "medium", "high", "xhigh", "max"];
/// Batch items may ask for this much output with the `output-300k-2026-03-24` beta.
pub(crate) const BATCH_OUTPUT_300K: u64 = 300_000;

/// How the model thinks on this request.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Thinking {
    /// The response begins with a thinking block.
    pub upfront: bool,
    /// Narration between tool calls comes back as thinking blocks.
    pub narration: bool,
    /// Thinking text is returned (summarized) rather than "" (omitted).
    pub summarized: bool,
}

/// The request's `thinking` and `output_config.effort`, checked against the model.
pub(crate) fn thinking(
    obj: &Map<String, Value>,
    model: &Resolved,
    rules: Rules,
    max_tokens: Option<u64>,
) -> Result<Thinking, ApiError> {
    let effort = effort(obj, model)?;
    let config = match obj.get("thinking") {
        None | Some(Value::Null) => None,
        Some(Value::Object(t)) => Some(t),
        Some(_) => return Err(ApiError::invalid("thinking: Input should be an object")),
    };
    let kind = match config {
        None => None,
        Some(t) => match t.get("type").and_then(Value::as_str) {
            Some(k) if THINKING_TYPES.contains(&k) => Some(k),
            Some(k) => {
                return Err(ApiError::invalid(format!(
                    "thinking.type: Input tag '{k}' does not match any of the expected tags: 'adaptive', 'enabled', 'disabled', 'between_tools'"
                )));
            }
            None => return Err(ApiError::invalid("thinking.type: Field required")),
        },
    };
    if let Some(k) = kind
        && !model.supports(&["thinking", "types", k])
    {
        return Err(ApiError::invalid(unsupported_type(k, model)));
    }
    let display = match config.and_then(|t| t.get("display")) {
        None | Some(Value::Null) => None,
        Some(Value::String(d)) if d == "summarized" || d == "omitted" => Some(d == "summarized"),
        Some(_) => {
            return Err(ApiError::invalid(
                "thinking.display: Input should be 'summarized' or 'omitted'",
            ));
        }
    };
    if kind == Some("enabled") {
        let budget = config.and_then(|t| t.get("budget_tokens"));
        let Some(budget) = budget.and_then(Value::as_u64) else {
            return Err(ApiError::invalid(
                "thinking.enabled.budget_tokens: Field required (an integer >= 1024)",
            ));
        };
        if budget < 1024 {
            return Err(ApiError::invalid(
                "thinking.enabled.budget_tokens: Input should be greater than or equal to 1024",
            ));
        }
        if let Some(max) = max_tokens
            && budget >= max
        {
            return Err(ApiError::invalid(
                "`max_tokens` must be greater than `thinking.budget_tokens`",
            ));
        }
    }
    let on = match kind {
        Some("adaptive" | "enabled") => true,
        Some(_) => false,
        None => rules.thinks_by_default,
    };
    if let Some(level @ ("xhigh" | "max")) = effort {
        if kind == Some("between_tools") {
            return Err(ApiError::invalid(format!(
                "output_config.effort '{level}' is not supported with thinking.type 'between_tools'. Use effort 'low', 'medium' or 'high', or use thinking.type 'adaptive'."
            )));
        }
        if !on && rules.effort_needs_thinking {
            return Err(ApiError::invalid(format!(
                "output_config.effort '{level}' is not supported when thinking is disabled on this model. Use effort 'high' or below, or enable thinking."
            )));
        }
    }
    let between = kind == Some("between_tools");
    Ok(Thinking {
        upfront: on,
        narration: rules.narration_as_thinking && (on || between),
        // between_tools returns its progress updates summarized (docs/api.md §8.11).
        summarized: display.unwrap_or(between || rules.summarized_by_default),
    })
}

/// The 400 for a thinking type the model refuses; Opus 5.5's documented wording, with
/// the alternative this model has.
fn unsupported_type(kind: &str, model: &Resolved) -> String {
    let instead = if model.supports(&["thinking", "types", "adaptive"]) {
        if kind == "disabled" && model.supports(&["thinking", "types", "between_tools"]) {
            "Use \"thinking.type.between_tools\" to turn off up-front thinking, or \"thinking.type.adaptive\" and \"output_config.effort\" to control thinking behavior."
        } else {
            "Use \"thinking.type.adaptive\" and \"output_config.effort\" to control thinking behavior."
        }
    } else {
        "Use \"thinking.type.enabled\" with \"budget_tokens\"."
    };
    format!("\"thinking.type.{kind}\" is not supported for this model. {instead}")
}

/// `output_config.effort`, checked against `capabilities.effort`.
fn effort<'a>(obj: &'a Map<String, Value>, model: &Resolved) -> Result<Option<&'a str>, ApiError> {
    let Some(config) = obj.get("output_config").filter(|v| !v.is_null()) else {
        return Ok(None);
    };
    let Some(config) = config.as_object() else {
        return Err(ApiError::invalid(
            "output_config: Input should be an object",
        ));
    };
    let level = match config.get("effort") {
        None | Some(Value::Null) => return Ok(None),
        Some(Value::String(e)) if EFFORTS.contains(&e.as_str()) => e.as_str(),
        Some(_) => {
            return Err(ApiError::invalid(
                "output_config.effort: Input should be 'low', 'medium', 'high', 'xhigh' or 'max'",
            ));
        }
    };
    if !model.supports(&["effort"]) {
        return Err(ApiError::invalid(
            "output_config.effort: This model does not support the effort parameter.",
        ));
    }
    if !model.supports(&["effort", level]) {
        let allowed: Vec<&str> = EFFORTS
            .iter()
            .copied()
            .filter(|e| model.supports(&["effort", e]))
            .collect();
        return Err(ApiError::invalid(format!(
            "output_config.effort '{level}' is not supported by this model. Use one of: {}.",
            allowed.join(", ")
        )));
    }
    Ok(Some(level))
}

/// Sampling parameters: `2026-10-21` refuses them outright (docs/api.md §0.3); on the
/// newer models non-default values are refused under either version.
pub(crate) fn sampling(
    obj: &Map<String, Value>,
    version: &str,
    rules: Rules,
) -> Result<(), ApiError> {
    let given = |key: &str| obj.get(key).filter(|v| !v.is_null());
    for (key, max) in [("temperature", 1.0), ("top_p", 1.0), ("top_k", f64::MAX)] {
        let Some(v) = given(key) else {
            continue;
        };
        if version == "2026-10-21" {
            return Err(ApiError::invalid(format!(
                "{key}: API version 2026-10-21 does not accept `{key}`; remove it (or use anthropic-version 2023-06-01)"
            )));
        }
        let Some(x) = v.as_f64().filter(|x| (0.0..=max).contains(x)) else {
            return Err(ApiError::invalid(format!("{key}: value out of range")));
        };
        #[expect(clippy::float_cmp, reason = "the default is exactly 1")]
        let default = key != "top_k" && x == 1.0;
        if rules.no_sampling && !default {
            return Err(ApiError::invalid(format!(
                "`{key}` is not supported for this model; remove it (current models do not use sampling parameters)"
            )));
        }
    }
    if rules.one_sampling_knob && given("temperature").is_some() && given("top_p").is_some() {
        return Err(ApiError::invalid(
            "`temperature` and `top_p` cannot both be specified for this model. Please use only one.",
        ));
    }
    Ok(())
}

/// `tool_choice` `any` / `tool` on the models that refuse forced tool use.
pub(crate) fn tool_choice(obj: &Map<String, Value>, rules: Rules) -> Result<(), ApiError> {
    let kind = obj
        .get("tool_choice")
        .and_then(|c| c.get("type"))
        .and_then(Value::as_str);
    if rules.no_forced_tools && matches!(kind, Some("any" | "tool")) {
        return Err(ApiError::invalid(format!(
            "tool_choice.type '{}' is not supported for this model: forced tool use is unavailable. Use 'auto' or 'none'.",
            kind.unwrap_or_default()
        )));
    }
    Ok(())
}

/// Assistant prefill: a conversation ending with an assistant turn that is not the
/// paused turn of a `pause_turn` continuation.
pub(crate) fn prefill(messages: &[Value], rules: Rules, paused_last: bool) -> Result<(), ApiError> {
    let ends_with_assistant = messages.last().is_some_and(|m| m["role"] == "assistant");
    if rules.no_prefill && ends_with_assistant && !paused_last {
        return Err(ApiError::invalid(
            "This model does not support assistant message prefill. The conversation must end with a user message.",
        ));
    }
    Ok(())
}

/// `max_tokens` within the model's limit (batch items: up to 300K with the beta header).
pub(crate) fn max_tokens(
    max_tokens: u64,
    model: &Resolved,
    batch_300k: bool,
) -> Result<(), ApiError> {
    let Some(limit) = model.max_tokens() else {
        return Ok(());
    };
    let limit = if batch_300k && limit >= 128_000 {
        BATCH_OUTPUT_300K
    } else {
        limit
    };
    if max_tokens > limit {
        return Err(ApiError::invalid(format!(
            "max_tokens: {max_tokens} > {limit}, which is the maximum allowed number of output tokens for {}",
            model.id()
        )));
    }
    Ok(())
}

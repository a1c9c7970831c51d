//! Request validation for `POST /v1/messages`, like the real API's 400s.

use serde_json::{Map, Value};

use crate::directives::{Directives, SubTool};
use crate::errors::ApiError;

const CODE_EXECUTION_TYPES: &[&str] = &[
    "code_execution_20250522",
    "code_execution_20250825",
    "code_execution_20260120",
    "code_execution_20260521",
];

/// Server tools the real API has; accepted and ignored by the fake.
const OTHER_SERVER_TOOL_PREFIXES: &[&str] = &[
    "web_search_",
    "web_fetch_",
    "bash_",
    "text_editor_",
    "computer_",
    "memory_",
    "tool_search_tool_",
    "mcp_toolset",
    "advisor_",
];

pub(crate) struct Tools {
    pub legacy: bool,
    pub client_tool: Option<String>,
}

pub(crate) fn messages(obj: &Map<String, Value>) -> Result<&Vec<Value>, ApiError> {
    let messages = match obj.get("messages") {
        None => return Err(ApiError::invalid("messages: Field required")),
        Some(Value::Array(m)) => m,
        Some(_) => return Err(ApiError::invalid("messages: Input should be a valid list")),
    };
    if messages.is_empty() {
        return Err(ApiError::invalid(
            "messages: at least one message is required",
        ));
    }
    for (i, m) in messages.iter().enumerate() {
        match m.get("role").and_then(Value::as_str) {
            Some("user" | "assistant") => {}
            _ => {
                return Err(ApiError::invalid(format!(
                    "messages.{i}.role: Input should be 'user' or 'assistant'"
                )));
            }
        }
        match m.get("content") {
            Some(Value::String(_)) => {}
            Some(Value::Array(blocks)) if !blocks.is_empty() => {
                if let Some(j) = blocks
                    .iter()
                    .position(|b| b.get("type").and_then(Value::as_str).is_none())
                {
                    return Err(ApiError::invalid(format!(
                        "messages.{i}.content.{j}.type: Field required"
                    )));
                }
            }
            Some(Value::Array(_)) => {
                return Err(ApiError::invalid(format!(
                    "messages.{i}: all messages must have non-empty content"
                )));
            }
            _ => {
                return Err(ApiError::invalid(format!(
                    "messages.{i}.content: Input should be a string or a list of content blocks"
                )));
            }
        }
    }
    if messages[0]["role"] != "user" {
        return Err(ApiError::invalid(
            "messages: first message must use the \"user\" role",
        ));
    }
    Ok(messages)
}

/// What `2026-10-21` stopped accepting inside messages (docs/api.md §0.3):
/// `document` blocks in assistant turns and non-empty `citations` on user
/// text blocks.
pub(crate) fn version_rules(messages: &[Value], version: &str) -> Result<(), ApiError> {
    if version != "2026-10-21" {
        return Ok(());
    }
    for (i, m) in messages.iter().enumerate() {
        let Some(blocks) = m["content"].as_array() else {
            continue;
        };
        for (j, b) in blocks.iter().enumerate() {
            if m["role"] == "assistant" && b["type"] == "document" {
                return Err(ApiError::invalid(format!(
                    "messages.{i}.content.{j}: API version 2026-10-21 does not accept document blocks in assistant messages"
                )));
            }
            if m["role"] == "user"
                && b["type"] == "text"
                && b["citations"].as_array().is_some_and(|c| !c.is_empty())
            {
                return Err(ApiError::invalid(format!(
                    "messages.{i}.content.{j}.citations: API version 2026-10-21 does not accept citations on user text blocks"
                )));
            }
        }
    }
    Ok(())
}

pub(crate) fn tools(obj: &Map<String, Value>) -> Result<Tools, ApiError> {
    let tools = match obj.get("tools") {
        None | Some(Value::Null) => {
            return Err(ApiError::invalid(
                "tools: Field required (fake-anthropic answers only with the code execution tool; \
                 pause_turn continuations must resend tools)",
            ));
        }
        Some(Value::Array(t)) => t,
        Some(_) => return Err(ApiError::invalid("tools: Input should be a valid list")),
    };
    let mut code_execution: Option<&str> = None;
    let mut client_tool = None;
    let mut names: Vec<&str> = Vec::new();
    for (i, tool) in tools.iter().enumerate() {
        let name = tool.get("name").and_then(Value::as_str);
        match tool.get("type").and_then(Value::as_str) {
            Some(t) if t.starts_with("code_execution_") => {
                if !CODE_EXECUTION_TYPES.contains(&t) {
                    return Err(ApiError::invalid(format!(
                        "tools.{i}.type: Input tag '{t}' does not match any of the expected tags: {}",
                        CODE_EXECUTION_TYPES.join(", ")
                    )));
                }
                if name != Some("code_execution") {
                    return Err(ApiError::invalid(format!(
                        "tools.{i}.name: Input should be 'code_execution'"
                    )));
                }
                code_execution = Some(t);
            }
            None | Some("custom") => {
                let Some(name) = name.filter(|n| !n.is_empty()) else {
                    return Err(ApiError::invalid(format!("tools.{i}.name: Field required")));
                };
                if !tool.get("input_schema").is_some_and(Value::is_object) {
                    return Err(ApiError::invalid(format!(
                        "tools.{i}.input_schema: Field required"
                    )));
                }
                client_tool.get_or_insert_with(|| name.to_owned());
            }
            Some(t) if OTHER_SERVER_TOOL_PREFIXES.iter().any(|p| t.starts_with(p)) => {}
            Some(t) => {
                return Err(ApiError::invalid(format!(
                    "tools.{i}.type: unknown tool type '{t}'"
                )));
            }
        }
        if let Some(name) = name {
            if names.contains(&name) {
                return Err(ApiError::invalid(format!(
                    "tools: Tool names must be unique ('{name}')"
                )));
            }
            names.push(name);
        }
    }
    let Some(kind) = code_execution else {
        return Err(ApiError::invalid(
            "tools: fake-anthropic needs a code execution tool \
             ({\"type\": \"code_execution_20250825\", \"name\": \"code_execution\"} or another real version)",
        ));
    };
    Ok(Tools {
        legacy: kind == "code_execution_20250522",
        client_tool,
    })
}

pub(crate) fn directives_fit(d: &Directives, legacy: bool) -> Result<(), ApiError> {
    if d.encrypted && !legacy {
        return Err(ApiError::invalid(
            "@fake encrypted needs the legacy tool code_execution_20250522",
        ));
    }
    if legacy
        && let Some((sub, _)) = d
            .tool_errors
            .iter()
            .find(|(s, _)| *s != SubTool::CodeExecution)
    {
        return Err(ApiError::invalid(format!(
            "@fake tool-error {sub:?}: code_execution_20250522 has no such sub-tool"
        )));
    }
    Ok(())
}

//! Checks every API request's common headers: auth, `anthropic-version`,
//! `anthropic-beta` (docs/api.md §1, §8.1).

use hyper::HeaderMap;

use crate::errors::ApiError;
use crate::state::Shared;

const API_VERSIONS: &[&str] = &["2023-06-01", "2026-10-21"];

/// `anthropic-beta` names the fake accepts: the SDK 2.11 `AnthropicBetaParam`
/// list plus the historical code-execution and tool headers of docs/api.md §0.2.
const KNOWN_BETAS: &[&str] = &[
    "files-api-2025-04-14",
    "code-execution-2025-05-22",
    "code-execution-2025-08-25",
    "computer-use-2024-10-22",
    "computer-use-2025-01-24",
    "computer-use-2025-11-24",
    "output-128k-2025-02-19",
    "mcp-client-2025-04-04",
    "mcp-client-2025-11-20",
    "mcp-client-2026-09-15",
    "dev-full-thinking-2025-05-14",
    "interleaved-thinking-2025-05-14",
    "context-1m-2025-08-07",
    "context-management-2025-06-27",
    "model-context-window-exceeded-2025-08-26",
    "fast-mode-2026-02-01",
    "output-300k-2026-03-24",
    "advisor-tool-2026-03-01",
    "managed-agents-2026-04-01",
    "compact-2026-01-12",
    "compact-2026-09-04",
    "structured-outputs-2025-11-13",
    "task-budgets-2026-03-13",
    "message-batches-2024-09-24",
    "prompt-caching-2024-07-31",
    "pdfs-2024-09-25",
    "token-counting-2024-11-01",
    "token-efficient-tools-2025-02-19",
    "extended-cache-ttl-2025-04-11",
    "skills-2025-10-02",
    "fine-grained-tool-streaming-2025-05-14",
    "web-fetch-2025-09-10",
    "effort-2025-11-24",
    "advanced-tool-use-2025-11-20",
    // 2026-12 (docs/api.md §8.9).
    "thinking-display-updates-2026-08-18",
    "thinking-binding-controls-2026-08-01",
    "mid-conversation-output-config-2026-07-01",
    "message-threads-2026-08-12",
    "cache-diagnosis-2026-04-07",
    "ce-user-management-2026-07-13",
];

/// Whether an `anthropic-beta` header names `beta`.
pub(crate) fn has_beta(headers: &HeaderMap, beta: &str) -> bool {
    headers
        .get_all("anthropic-beta")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|n| n.trim() == beta)
}

/// Auth, `anthropic-version` and `anthropic-beta` (docs/api.md §1, §8.1).
pub(crate) fn check(shared: &Shared, headers: &HeaderMap) -> Result<(String, bool), ApiError> {
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::trim)
    };
    // x-api-key wins when both are sent (third-party report, docs/api.md §1).
    let key = header("x-api-key").or_else(|| {
        header("authorization").and_then(|v| {
            v.strip_prefix("Bearer ")
                .or_else(|| v.strip_prefix("bearer "))
                .map(str::trim)
        })
    });
    let auth_error = |msg: &str| ApiError::new(401, msg);
    match (key, &shared.config.api_key) {
        (None, _) => return Err(auth_error("x-api-key header is required")),
        (Some(""), _) => return Err(auth_error("invalid x-api-key")),
        (Some(k), Some(expected)) if k != expected => return Err(auth_error("invalid x-api-key")),
        _ => {}
    }
    let version = match header("anthropic-version") {
        None => return Err(ApiError::invalid("anthropic-version: header is required")),
        Some(v) if API_VERSIONS.contains(&v) => v.to_owned(),
        Some(v) => {
            return Err(ApiError::invalid(format!(
                "anthropic-version: unsupported version `{v}`; use one of {API_VERSIONS:?}"
            )));
        }
    };
    let mut legacy_files = false;
    let mut unknown = Vec::new();
    for value in headers.get_all("anthropic-beta") {
        let Ok(value) = value.to_str() else {
            return Err(ApiError::invalid(
                "anthropic-beta: header is not valid text",
            ));
        };
        for name in value.split(',').map(str::trim).filter(|n| !n.is_empty()) {
            if name == "files-api-2025-04-14" {
                legacy_files = true;
            }
            if !KNOWN_BETAS.contains(&name) {
                unknown.push(format!("`{name}`"));
            }
        }
    }
    if !unknown.is_empty() {
        return Err(ApiError::invalid(format!(
            "Unexpected value(s) {} for the `anthropic-beta` header. Please consult our documentation at docs.anthropic.com or try again without the header.",
            unknown.join(", ")
        )));
    }
    Ok((version, legacy_files))
}

//! API errors and the buffered reply type every handler produces.

use bytes::Bytes;
use hyper::StatusCode;
use hyper::header::{HeaderMap, HeaderName, HeaderValue};
use serde_json::{Value, json};

/// `error.type` for a status, per docs/api.md §4.2.
pub(crate) fn default_error_type(status: u16) -> &'static str {
    match status {
        400 => "invalid_request_error",
        401 => "authentication_error",
        402 => "billing_error",
        403 => "permission_error",
        404 => "not_found_error",
        // docs/api.md §4.2 has no type for 408; the SDK's union calls timeouts this.
        408 | 504 => "timeout_error",
        409 => "conflict_error",
        413 => "request_too_large",
        429 => "rate_limit_error",
        529 => "overloaded_error",
        s if s >= 500 => "api_error",
        _ => "invalid_request_error",
    }
}

fn default_message(error_type: &str) -> &'static str {
    match error_type {
        "authentication_error" => "invalid x-api-key",
        "billing_error" => "Your credit balance is too low to access the Anthropic API.",
        "permission_error" => {
            "Your API key does not have permission to use the specified resource."
        }
        "not_found_error" => "Not found",
        "rate_limit_error" => "This request would exceed your organization's rate limit.",
        "timeout_error" => "Request timed out",
        "conflict_error" => "Conflict",
        "request_too_large" => "Request exceeds the maximum allowed number of bytes.",
        "api_error" => "Internal server error",
        "overloaded_error" => "Overloaded",
        _ => "Invalid request",
    }
}

/// The message of the 2026 error codes (docs/api.md §8.15; wording of the first from
/// the SDK, of the others the fake's).
fn code_message(code: &str) -> Option<&'static str> {
    Some(match code {
        "storage_not_ready" => {
            "Your workspace is still being connected to its storage. Try again in a minute."
        }
        "ramp_limit_exceeded" => {
            "This request would exceed the limit on how fast your organization's usage can grow. Retry after the time in the retry-after header."
        }
        "contract_spend_limit_reached" => {
            "Your organization has reached the spend limit of its contract. Contact your account team to raise it."
        }
        // docs/api.md §8.16.
        "skill_read_blocked_undecryptable" => {
            "A custom skill the request names is stored under an encryption key state the workspace cannot currently decrypt."
        }
        "cmek_context_unavailable" => {
            "The workspace's encryption context is unavailable. Try again in a few minutes."
        }
        _ => return None,
    })
}

/// `retry-after` as the shortest decimal that says the value.
pub(crate) fn format_secs(secs: f64) -> String {
    if secs.fract() == 0.0 && secs.abs() < 1e15 {
        format!("{secs:.0}")
    } else {
        format!("{secs}")
    }
}

/// An error answer; rendered with the request's id by [`ApiError::into_reply`].
#[derive(Debug, Clone)]
pub(crate) struct ApiError {
    pub status: u16,
    pub error_type: String,
    pub message: String,
    pub error_code: Option<String>,
    pub headers: Vec<(&'static str, String)>,
}

impl ApiError {
    pub(crate) fn new(status: u16, message: impl Into<String>) -> ApiError {
        ApiError {
            status,
            error_type: default_error_type(status).to_owned(),
            message: message.into(),
            error_code: None,
            headers: Vec::new(),
        }
    }

    pub(crate) fn invalid(message: impl Into<String>) -> ApiError {
        ApiError::new(400, message)
    }

    pub(crate) fn not_found(message: impl Into<String>) -> ApiError {
        ApiError::new(404, message)
    }

    pub(crate) fn with_code(mut self, code: &str) -> ApiError {
        self.error_code = Some(code.to_owned());
        self
    }

    pub(crate) fn with_header(mut self, name: &'static str, value: String) -> ApiError {
        self.headers.push((name, value));
        self
    }

    /// `retry-after` (as given) and `retry-after-ms`.
    pub(crate) fn with_retry_after(self, secs: f64) -> ApiError {
        self.with_header("retry-after", format_secs(secs))
            .with_header("retry-after-ms", format!("{:.0}", (secs * 1000.0).max(0.0)))
    }

    /// A 429 whose `retry-after` is whole seconds (as the real API sends) and
    /// `retry-after-ms` the exact wait, which the official SDK reads first.
    pub(crate) fn rate_limited(message: &str, wait: std::time::Duration) -> ApiError {
        let ms = wait.as_millis().max(1);
        ApiError::new(429, message)
            .with_header("retry-after", ms.div_ceil(1000).to_string())
            .with_header("retry-after-ms", ms.to_string())
    }

    pub(crate) fn from_parts(
        status: u16,
        error_type: &str,
        error_code: Option<&str>,
        message: Option<&str>,
    ) -> ApiError {
        let fallback = error_code
            .and_then(code_message)
            .unwrap_or(default_message(error_type));
        ApiError {
            status,
            error_type: error_type.to_owned(),
            message: message.unwrap_or(fallback).to_owned(),
            error_code: error_code.map(str::to_owned),
            headers: Vec::new(),
        }
    }

    pub(crate) fn body(&self, request_id: &str) -> Value {
        let mut error = json!({"type": self.error_type, "message": self.message});
        if let Some(code) = &self.error_code {
            error["details"] = json!({ "error_code": code });
        }
        json!({"type": "error", "error": error, "request_id": request_id})
    }

    pub(crate) fn into_reply(self, request_id: &str) -> Reply {
        let status = StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let mut reply = Reply::json(status, &self.body(request_id));
        for (name, value) in self.headers {
            reply.set_header(name, &value);
        }
        reply
    }
}

/// A fully buffered response. Everything the fake serves fits in memory, and
/// buffering lets faults such as `ShortBody` rewrite a finished response.
#[derive(Debug)]
pub(crate) struct Reply {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Bytes,
}

impl Reply {
    pub(crate) fn json(status: StatusCode, value: &Value) -> Reply {
        let mut reply = Reply::bytes(status, Bytes::from(value.to_string()));
        reply.set_header("content-type", "application/json");
        reply
    }

    pub(crate) fn ok_json(value: &Value) -> Reply {
        Reply::json(StatusCode::OK, value)
    }

    pub(crate) fn bytes(status: StatusCode, body: Bytes) -> Reply {
        Reply {
            status,
            headers: HeaderMap::new(),
            body,
        }
    }

    /// Sets a header; values that are not valid header text are dropped
    /// (only ever our own ASCII values reach here).
    pub(crate) fn set_header(&mut self, name: &'static str, value: &str) {
        if let Ok(v) = HeaderValue::from_str(value) {
            self.headers.insert(HeaderName::from_static(name), v);
        }
    }
}

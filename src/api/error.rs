//! A failed API call, typed: an error status with the API's own error type and code, a
//! transport failure, a body that is not what the API documents, or a local file problem
//! during an upload. Every variant keeps the request id when the server sent one, since
//! that is what Anthropic support asks for (docs/api.md §4.1).

use std::fmt;
use std::time::Duration;

use super::headers::{header_str, retry_after};

/// A failed API call: an error status, a transport failure, or a body we cannot read.
#[derive(Debug, Clone)]
pub(crate) struct ApiError {
    pub endpoint: String,
    pub kind: ApiErrorKind,
    pub request_id: Option<String>,
    /// From `retry-after-ms` or `retry-after` (docs/api.md §4.3).
    pub retry_after: Option<Duration>,
    /// From `x-should-retry`.
    pub should_retry: Option<bool>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum ApiErrorKind {
    Status {
        status: u16,
        error_type: Option<String>,
        error_code: Option<String>,
        message: String,
    },
    /// Connection refused or reset, timeout, or a body cut short.
    Transport(String),
    /// A 2xx whose body does not have the documented shape. `body` is what arrived (lossy
    /// UTF-8, capped), so the job's messages.json can keep it.
    Decode { message: String, body: String },
    /// A local file could not be read (uploads), or changed while being read.
    Local(String),
}

impl ApiError {
    pub(crate) fn status(&self) -> Option<u16> {
        match &self.kind {
            ApiErrorKind::Status { status, .. } => Some(*status),
            _ => None,
        }
    }

    pub(crate) fn error_code(&self) -> Option<&str> {
        match &self.kind {
            ApiErrorKind::Status { error_code, .. } => error_code.as_deref(),
            _ => None,
        }
    }

    pub(crate) fn local(endpoint: &str, message: String) -> ApiError {
        ApiError {
            endpoint: endpoint.to_owned(),
            kind: ApiErrorKind::Local(message),
            request_id: None,
            retry_after: None,
            should_retry: Some(false),
        }
    }
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: ", self.endpoint)?;
        match &self.kind {
            ApiErrorKind::Status {
                status,
                error_type,
                error_code,
                message,
            } => {
                write!(f, "HTTP {status}")?;
                if let Some(t) = error_type {
                    write!(f, " {t}")?;
                }
                if let Some(c) = error_code {
                    write!(f, " ({c})")?;
                }
                if !message.is_empty() {
                    write!(f, ": {message}")?;
                }
            }
            ApiErrorKind::Transport(m) => write!(f, "connection failed: {m}")?,
            ApiErrorKind::Decode { message, .. } => write!(f, "unexpected response: {message}")?,
            ApiErrorKind::Local(m) => f.write_str(m)?,
        }
        if let Some(id) = &self.request_id {
            write!(f, " (request id {id})")?;
        }
        Ok(())
    }
}

impl std::error::Error for ApiError {}

/// Raised inside an upload body stream for a problem with the local file, so that
/// [`transport`] can tell it from a network failure.
#[derive(Debug)]
pub(super) struct LocalFileError(String);

impl LocalFileError {
    pub(super) fn io(message: String) -> std::io::Error {
        std::io::Error::other(LocalFileError(message))
    }
}

impl fmt::Display for LocalFileError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for LocalFileError {}

pub(super) async fn decode_json<T: serde::de::DeserializeOwned>(
    endpoint: &str,
    resp: reqwest::Response,
    request_id: Option<String>,
) -> Result<T, ApiError> {
    let bytes = resp
        .bytes()
        .await
        .map_err(|e| transport(endpoint, &e, request_id.clone()))?;
    serde_json::from_slice(&bytes).map_err(|e| ApiError {
        endpoint: endpoint.to_owned(),
        kind: ApiErrorKind::Decode {
            message: e.to_string(),
            body: raw_text(&bytes),
        },
        request_id,
        retry_after: None,
        should_retry: None,
    })
}

/// What arrived, for the record: lossy UTF-8, at most 1 MiB.
pub(super) fn raw_text(bytes: &[u8]) -> String {
    const CAP: usize = 1 << 20;
    String::from_utf8_lossy(&bytes[..bytes.len().min(CAP)]).into_owned()
}

pub(super) fn transport(
    endpoint: &str,
    e: &reqwest::Error,
    request_id: Option<String>,
) -> ApiError {
    // A body stream we fed that failed (the file changed or could not be read) is a local
    // problem, not the network's: it must not be retried as if transient.
    let mut source: Option<&dyn std::error::Error> = Some(e);
    while let Some(s) = source {
        let local = s.downcast_ref::<LocalFileError>().or_else(|| {
            s.downcast_ref::<std::io::Error>()
                .and_then(std::io::Error::get_ref)
                .and_then(|inner| inner.downcast_ref::<LocalFileError>())
        });
        if let Some(local) = local {
            return ApiError::local(endpoint, local.0.clone());
        }
        source = s.source();
    }
    let what = if e.is_timeout() {
        "timed out".to_owned()
    } else {
        crate::error_chain::chain(e)
    };
    ApiError {
        endpoint: endpoint.to_owned(),
        kind: ApiErrorKind::Transport(what),
        request_id,
        retry_after: None,
        should_retry: None,
    }
}

pub(super) async fn status_error(
    endpoint: &str,
    resp: reqwest::Response,
    request_id: Option<String>,
) -> ApiError {
    let status = resp.status().as_u16();
    let headers = resp.headers().clone();
    let body = resp.bytes().await.unwrap_or_default();
    let json: serde_json::Value = serde_json::from_slice(&body).unwrap_or_default();
    let err = &json["error"];
    let message = err["message"].as_str().map_or_else(
        || {
            String::from_utf8_lossy(&body[..body.len().min(200)])
                .trim()
                .to_owned()
        },
        str::to_owned,
    );
    ApiError {
        endpoint: endpoint.to_owned(),
        kind: ApiErrorKind::Status {
            status,
            error_type: err["type"].as_str().map(str::to_owned),
            error_code: err["details"]["error_code"].as_str().map(str::to_owned),
            message,
        },
        request_id: request_id.or_else(|| json["request_id"].as_str().map(str::to_owned)),
        retry_after: retry_after(&headers),
        should_retry: header_str(&headers, "x-should-retry").map(|v| v == "true"),
    }
}

//! The check before a run sends anything (docs/api.md §2.11): one cheap authenticated
//! request, `GET /v1/files?limit=1`, tells a wrong key, an unreachable host, a TLS
//! mismatch or a base URL that does not speak the API from a working setup, in one
//! round trip instead of minutes of retries. Each failure names its cause and the fix.

use std::time::Duration;

use super::client::ApiClient;
use super::error::{ApiError, ApiErrorKind};

/// Long enough for a slow but working API; a dead host fails well before this.
const PREFLIGHT_TIMEOUT: Duration = Duration::from_secs(10);

/// The API cannot be used as configured: nothing was uploaded or started.
#[derive(Debug, thiserror::Error)]
#[error("{what}; {fix}")]
pub(crate) struct PreflightError {
    /// The cause, with the URL requested and the request id when there is one.
    pub what: String,
    /// What to do about it.
    pub fix: String,
}

#[derive(serde::Deserialize)]
struct Listing {
    #[expect(
        dead_code,
        reason = "only its presence is checked: the API's list shape"
    )]
    data: Vec<serde_json::Value>,
}

impl ApiClient {
    /// One `GET /v1/files?limit=1`; a transient answer (429, 5xx, a dropped connection) is
    /// asked once more, then let through: the run's own retries deal with those.
    pub(crate) async fn preflight(&self, version: &str) -> Result<(), PreflightError> {
        let mut last = None;
        for attempt in 0..2 {
            match self.list_one(version, attempt).await {
                Ok(()) => return Ok(()),
                Err(e) if transient(&e) => last = Some(e),
                Err(e) => return Err(self.explain(&e)),
            }
        }
        if let Some(e) = last {
            tracing::warn!("the API is busy at the start of the run: {e}");
        }
        Ok(())
    }

    async fn list_one(&self, version: &str, attempt: u32) -> Result<(), ApiError> {
        let endpoint = "GET /v1/files";
        let req = self
            .http
            .get(format!("{}/v1/files?limit=1", self.base))
            .headers(self.headers(version, attempt))
            .timeout(PREFLIGHT_TIMEOUT);
        let _: Listing = self.send_json(&self.files_gate, endpoint, req).await?;
        Ok(())
    }

    fn explain(&self, e: &ApiError) -> PreflightError {
        let url = format!("{}/v1/files", self.base);
        let id = e
            .request_id
            .as_ref()
            .map(|id| format!(" (request id {id})"))
            .unwrap_or_default();
        let v1_hint = if self.base.ends_with("/v1") {
            Some(format!(
                "ANTHROPIC_BASE_URL ends in /v1, but the runner adds /v1 itself: set it to {}",
                self.base.trim_end_matches("/v1")
            ))
        } else {
            None
        };
        match &e.kind {
            ApiErrorKind::Status {
                status: status @ (401 | 403),
                message,
                ..
            } => PreflightError {
                what: format!(
                    "the API at {} refused the key: HTTP {status} {message}{id}",
                    self.base
                ),
                fix: "check ANTHROPIC_API_KEY (or ANTHROPIC_API_KEY_FILE): is it the right key, \
                      still active, and of this organisation?"
                    .to_owned(),
            },
            ApiErrorKind::Status { status, .. } => PreflightError {
                what: format!(
                    "{url} answered HTTP {status}{id}: it does not look like the Anthropic API"
                ),
                fix: v1_hint.unwrap_or_else(|| {
                    "check ANTHROPIC_BASE_URL: it should be the API's root, e.g. \
                     https://api.anthropic.com"
                        .to_owned()
                }),
            },
            ApiErrorKind::Decode { .. } => PreflightError {
                what: format!("{url} answered, but not as the Anthropic API does{id}"),
                fix: v1_hint.unwrap_or_else(|| {
                    "check ANTHROPIC_BASE_URL: it should be the API's root, e.g. \
                     https://api.anthropic.com"
                        .to_owned()
                }),
            },
            ApiErrorKind::Transport(cause) => {
                let lower = cause.to_ascii_lowercase();
                let tls = ["tls", "ssl", "certificate", "handshake", "corrupt message"]
                    .iter()
                    .any(|w| lower.contains(w));
                let fix = if self.base.starts_with("https://") && tls {
                    format!(
                        "the server may speak plain HTTP: if so, set ANTHROPIC_BASE_URL to {}",
                        self.base.replacen("https://", "http://", 1)
                    )
                } else if lower.contains("dns") || lower.contains("resolve") {
                    "check the host name in ANTHROPIC_BASE_URL, and this machine's DNS".to_owned()
                } else {
                    "check ANTHROPIC_BASE_URL, the network, and any proxy or firewall".to_owned()
                };
                PreflightError {
                    what: format!("cannot reach the API at {}: {cause}", self.base),
                    fix,
                }
            }
            ApiErrorKind::Local(m) => PreflightError {
                what: format!("cannot ask the API at {}: {m}", self.base),
                fix: "check ANTHROPIC_BASE_URL".to_owned(),
            },
        }
    }
}

/// Worth asking once more: the API may just be busy.
fn transient(e: &ApiError) -> bool {
    match &e.kind {
        ApiErrorKind::Status { status, .. } => {
            !super::facts::is_spend_limit(e.error_code())
                && matches!(status, 408 | 409 | 429 | 500..=599)
        }
        ApiErrorKind::Transport(m) => {
            m == "timed out" || m.contains("reset") || m.contains("closed")
        }
        _ => false,
    }
}

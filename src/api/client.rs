//! The HTTP client: one `reqwest` client, the authentication and version headers, and
//! the one `send` every request goes through, which waits at its endpoint group's gate
//! first and tells the gate what the response said. The endpoints are in `files.rs` and
//! `messages.rs`.

use std::sync::Arc;
use std::time::Duration;

use reqwest::header::{HeaderMap, HeaderValue};

use super::error::{ApiError, status_error, transport};
use super::gates::{Gate, Signal, TokenEstimate};
use super::headers::{header_str, quota, retry_after};
use super::key::ApiKey;
use crate::ui::events::Reporter;

/// The client cannot be made: nothing was sent.
#[derive(Debug, thiserror::Error)]
pub(crate) enum ClientError {
    #[error("invalid ANTHROPIC_BASE_URL `{url}`: {reason}")]
    BaseUrl { url: String, reason: String },
    #[error("cannot build the HTTP client")]
    Build(#[source] reqwest::Error),
}

/// Timeouts. A code-execution turn may legitimately run for many minutes with no byte on
/// the wire (non-streaming), so the Messages timeout is long; TCP keep-alive notices a dead
/// peer sooner.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Timeouts {
    pub connect: Duration,
    pub messages: Duration,
    pub files: Duration,
}

impl Default for Timeouts {
    fn default() -> Timeouts {
        Timeouts {
            connect: Duration::from_secs(15),
            messages: Duration::from_secs(30 * 60),
            files: Duration::from_secs(15 * 60),
        }
    }
}

/// How much the client may do at once, and the test-only scale of its own pauses.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Pacing {
    /// Messages requests in flight at most (the adaptive limit starts here).
    pub messages: usize,
    /// Files requests (uploads, listings, metadata, downloads) in flight at most.
    pub files: usize,
    /// Multiplies server-given waits too; 1.0 except in tests.
    pub scale: f64,
}

#[derive(Clone, Debug)]
pub(crate) struct ApiClient {
    pub(super) http: reqwest::Client,
    pub(super) base: String,
    key: ApiKey,
    pub(super) timeouts: Timeouts,
    scale: f64,
    pub(super) messages_gate: Arc<Gate>,
    pub(super) files_gate: Arc<Gate>,
}

impl ApiClient {
    pub(crate) fn new(
        base_url: &str,
        key: ApiKey,
        timeouts: Timeouts,
        pacing: Pacing,
    ) -> Result<ApiClient, ClientError> {
        let base = base_url.trim_end_matches('/').to_owned();
        let shown = super::key::redact_userinfo(&base);
        let url = reqwest::Url::parse(&base).map_err(|e| ClientError::BaseUrl {
            url: shown.to_string(),
            reason: format!("{e}; write e.g. https://{shown}"),
        })?;
        // `localhost:8080` parses, with `localhost` as its scheme.
        if !matches!(url.scheme(), "http" | "https") {
            return Err(ClientError::BaseUrl {
                url: shown.to_string(),
                reason: format!("it has no http:// or https:// scheme; write e.g. https://{shown}"),
            });
        }
        // reqwest is built without a crypto provider (Cargo.toml says why); an error only
        // means one is installed already, which serves as well.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let http = reqwest::Client::builder()
            .connect_timeout(timeouts.connect)
            .tcp_keepalive(Duration::from_secs(30))
            .user_agent(concat!("runner/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(ClientError::Build)?;
        Ok(ApiClient {
            http,
            base,
            key,
            timeouts,
            scale: pacing.scale,
            messages_gate: Arc::new(Gate::new("messages", pacing.messages, pacing.scale)),
            files_gate: Arc::new(Gate::new("files", pacing.files, pacing.scale)),
        })
    }

    /// Lets the gates report their pauses (for the progress display).
    pub(crate) fn set_reporter(&self, reporter: &Arc<dyn Reporter>) {
        self.messages_gate.set_reporter(Arc::clone(reporter));
        self.files_gate.set_reporter(Arc::clone(reporter));
    }

    pub(crate) fn base_url(&self) -> &str {
        &self.base
    }

    pub(crate) fn key_fingerprint(&self) -> String {
        self.key.fingerprint()
    }

    pub(super) fn headers(&self, api_version: &str, attempt: u32) -> HeaderMap {
        let mut h = HeaderMap::new();
        if let Ok(mut key) = HeaderValue::from_str(self.key.expose()) {
            key.set_sensitive(true);
            h.insert("x-api-key", key);
        }
        if let Ok(v) = HeaderValue::from_str(api_version) {
            h.insert("anthropic-version", v);
        }
        // The SDKs' header for "this is attempt N"; lets the server (and our fake) tell
        // retries from new requests.
        h.insert("x-stainless-retry-count", HeaderValue::from(attempt));
        h
    }

    /// Sends one request through `gate`: waits for it to be open and for a slot, then tells
    /// it what the response said about rate limits.
    /// [`ApiClient::send`] a request that takes no tokens, and read its JSON answer.
    pub(super) async fn send_json<T: serde::de::DeserializeOwned>(
        &self,
        gate: &Gate,
        endpoint: &str,
        req: reqwest::RequestBuilder,
    ) -> Result<T, ApiError> {
        let (resp, request_id) = self
            .send(gate, endpoint, req, super::gates::TokenEstimate::default())
            .await?;
        super::error::decode_json(endpoint, resp, request_id).await
    }

    pub(super) async fn send(
        &self,
        gate: &Gate,
        endpoint: &str,
        req: reqwest::RequestBuilder,
        estimate: TokenEstimate,
    ) -> Result<(reqwest::Response, Option<String>), ApiError> {
        let permit = gate.acquire(estimate).await;
        let resp = match req.send().await {
            Ok(r) => r,
            Err(e) => {
                gate.observe(Signal {
                    own: permit.charge(),
                    ..Signal::default()
                });
                return Err(transport(endpoint, &e, None));
            }
        };
        let request_id = header_str(resp.headers(), "request-id");
        let status = resp.status().as_u16();
        gate.observe(Signal {
            status: Some(status),
            retry_after: retry_after(resp.headers()).map(|d| d.mul_f64(self.scale)),
            quota: quota(resp.headers(), "requests"),
            input_quota: quota(resp.headers(), "input-tokens"),
            output_quota: quota(resp.headers(), "output-tokens"),
            own: permit.charge(),
        });
        if resp.status().is_success() {
            return Ok((resp, request_id));
        }
        Err(status_error(endpoint, resp, request_id).await)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// reqwest is built without a crypto provider: building a client must install one
    /// rather than panic on the first https connection.
    #[test]
    fn an_https_client_builds_with_a_crypto_provider_installed() {
        let pacing = Pacing {
            messages: 1,
            files: 1,
            scale: 1.0,
        };
        let client = ApiClient::new(
            "https://api.example.invalid",
            ApiKey::new("k".into()),
            Timeouts::default(),
            pacing,
        );
        assert!(client.is_ok());
        assert!(rustls::crypto::CryptoProvider::get_default().is_some());
    }
}

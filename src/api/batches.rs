//! The Message Batches calls (docs/api.md §5): create, retrieve, list, cancel, and the JSONL
//! results, streamed line by line. Every call waits at the Messages gate like an online
//! request. Item `params` are built by `messages.rs` ([`super::messages::request_params`]);
//! this file only wraps them in `{"custom_id", "params"}` and reads the results' envelope,
//! keeping each succeeded item's message as raw JSON.

use serde::Deserialize;
use serde_json::Value;

use super::client::ApiClient;
use super::error::{ApiError, ApiErrorKind, transport};
use super::files::path_segment;
use super::gates::TokenEstimate;

/// docs/api.md §5: at most this many requests per batch.
pub(crate) const MAX_REQUESTS: usize = 100_000;
/// docs/api.md §5: at most this many bytes per batch-create body (kept a little under the
/// documented 256 MB for the JSON envelope).
pub(crate) const MAX_BYTES: usize = 255 * 1024 * 1024;
/// A results line longer than this is not a Messages response (they are capped far lower);
/// it is refused instead of buffered without end.
const MAX_LINE_BYTES: usize = 64 * 1024 * 1024;

/// Which batch item a response came from (recorded in `job.json`).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub(crate) struct BatchRef {
    pub batch_id: String,
    pub custom_id: String,
}

/// One item to submit: its `custom_id` (`^[a-zA-Z0-9_-]{1,64}$`) and a complete
/// non-streaming Messages body.
#[derive(Debug, Clone, Copy, serde::Serialize)]
pub(crate) struct BatchRequest<'a> {
    pub custom_id: &'a str,
    pub params: &'a Value,
}

/// `processing_status`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum BatchStatus {
    InProgress,
    Canceling,
    Ended,
}

/// `request_counts`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, serde::Serialize)]
pub(crate) struct RequestCounts {
    #[serde(default)]
    pub processing: u64,
    #[serde(default)]
    pub succeeded: u64,
    #[serde(default)]
    pub errored: u64,
    #[serde(default)]
    pub canceled: u64,
    #[serde(default)]
    pub expired: u64,
}

/// A MessageBatch, the fields the runner acts on.
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct BatchInfo {
    pub id: String,
    pub processing_status: BatchStatus,
    pub request_counts: RequestCounts,
    #[serde(default)]
    pub results_url: Option<String>,
    /// When the API created it (absent only from a server that leaves it out).
    #[serde(default)]
    pub created_at: Option<jiff::Timestamp>,
}

impl RequestCounts {
    /// Every item of the batch, whatever its state.
    pub(crate) fn total(&self) -> u64 {
        self.processing + self.succeeded + self.errored + self.canceled + self.expired
    }
}

/// One page of `GET /v1/messages/batches`, newest first; the next (older) page is asked
/// for with `after_id` = `last_id` while `has_more`.
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct BatchPage {
    pub data: Vec<BatchInfo>,
    #[serde(default)]
    pub has_more: bool,
    #[serde(default)]
    pub last_id: Option<String>,
}

/// Batches asked for per list page (the API allows 1–1000).
pub(crate) const LIST_PAGE: u32 = 100;

/// One item's result. `Succeeded` keeps the message verbatim.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum ItemOutcome {
    Succeeded(Value),
    Errored { error_type: String, message: String },
    Canceled,
    Expired,
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct BatchResult {
    pub custom_id: String,
    pub outcome: ItemOutcome,
}

impl ItemOutcome {
    /// Reads a results line's `result` object; `None` when it has no known shape.
    fn from_wire(result: &Value) -> Option<ItemOutcome> {
        Some(match result.get("type")?.as_str()? {
            "succeeded" => ItemOutcome::Succeeded(result.get("message")?.clone()),
            "errored" => {
                let inner = &result["error"]["error"];
                ItemOutcome::Errored {
                    error_type: inner["type"].as_str().unwrap_or("api_error").to_owned(),
                    message: inner["message"].as_str().unwrap_or_default().to_owned(),
                }
            }
            "canceled" => ItemOutcome::Canceled,
            "expired" => ItemOutcome::Expired,
            _ => return None,
        })
    }
}

/// The create body, `{"requests": [{"custom_id", "params"}, …]}`: serialized straight from
/// the borrowed items, so a round of 100,000 requests is not copied into a second tree.
#[derive(Debug, Clone, Copy, serde::Serialize)]
pub(crate) struct CreateBody<'a> {
    pub requests: &'a [BatchRequest<'a>],
}

impl ApiClient {
    /// `POST /v1/messages/batches`.
    pub(crate) async fn create_batch(
        &self,
        api_version: &str,
        body: &CreateBody<'_>,
        attempt: u32,
    ) -> Result<BatchInfo, ApiError> {
        let endpoint = "POST /v1/messages/batches";
        let req = self
            .http
            .post(format!("{}/v1/messages/batches", self.base))
            .headers(self.headers(api_version, attempt))
            .timeout(self.timeouts.files)
            .json(body);
        self.send_json(&self.messages_gate, endpoint, req).await
    }

    /// `GET /v1/messages/batches/{id}`.
    pub(crate) async fn retrieve_batch(
        &self,
        id: &str,
        api_version: &str,
        attempt: u32,
    ) -> Result<BatchInfo, ApiError> {
        let endpoint = "GET /v1/messages/batches/{id}";
        let req = self
            .http
            .get(format!(
                "{}/v1/messages/batches/{}",
                self.base,
                path_segment(id)
            ))
            .headers(self.headers(api_version, attempt))
            .timeout(self.timeouts.files);
        self.send_json(&self.messages_gate, endpoint, req).await
    }

    /// `GET /v1/messages/batches?limit=…[&after_id=…]`: one page, newest first.
    pub(crate) async fn list_batches(
        &self,
        api_version: &str,
        after_id: Option<&str>,
        attempt: u32,
    ) -> Result<BatchPage, ApiError> {
        let endpoint = "GET /v1/messages/batches";
        let mut url = reqwest::Url::parse(&format!("{}/v1/messages/batches", self.base))
            .map_err(|e| ApiError::local(endpoint, e.to_string()))?;
        {
            let mut q = url.query_pairs_mut();
            q.append_pair("limit", &LIST_PAGE.to_string());
            if let Some(after) = after_id {
                q.append_pair("after_id", after);
            }
        }
        let req = self
            .http
            .get(url)
            .headers(self.headers(api_version, attempt))
            .timeout(self.timeouts.files);
        self.send_json(&self.messages_gate, endpoint, req).await
    }

    /// `POST /v1/messages/batches/{id}/cancel`.
    pub(crate) async fn cancel_batch(
        &self,
        id: &str,
        api_version: &str,
        attempt: u32,
    ) -> Result<BatchInfo, ApiError> {
        let endpoint = "POST /v1/messages/batches/{id}/cancel";
        let req = self
            .http
            .post(format!(
                "{}/v1/messages/batches/{}/cancel",
                self.base,
                path_segment(id)
            ))
            .headers(self.headers(api_version, attempt))
            .timeout(self.timeouts.files);
        self.send_json(&self.messages_gate, endpoint, req).await
    }

    /// `GET {results_url}`: the JSONL results, each line handed to `on_result` as it
    /// arrives (a retried call hands some again; match by `custom_id`). The URL comes from
    /// the server, so it must lie under the configured base URL: the API key is never sent
    /// anywhere else.
    pub(crate) async fn batch_results(
        &self,
        results_url: &str,
        api_version: &str,
        attempt: u32,
        on_result: &mut (dyn FnMut(BatchResult) + Send),
    ) -> Result<(), ApiError> {
        let endpoint = "GET {results_url}";
        if !results_url.starts_with(&format!("{}/", self.base)) {
            return Err(ApiError::local(
                endpoint,
                format!(
                    "the batch's results_url `{results_url}` is not under the API base URL `{}`; \
                     refusing to send the API key there",
                    self.base
                ),
            ));
        }
        let req = self
            .http
            .get(results_url)
            .headers(self.headers(api_version, attempt))
            .header("accept", "application/binary")
            .timeout(self.timeouts.files);
        let (mut resp, request_id) = self
            .send(&self.messages_gate, endpoint, req, TokenEstimate::default())
            .await?;
        let lines = ResultLines {
            endpoint,
            request_id,
        };
        let mut buf: Vec<u8> = Vec::new();
        while let Some(chunk) = resp
            .chunk()
            .await
            .map_err(|e| transport(endpoint, &e, lines.request_id.clone()))?
        {
            buf.extend_from_slice(&chunk);
            while let Some(nl) = buf.iter().position(|b| *b == b'\n') {
                let line: Vec<u8> = buf.drain(..=nl).collect();
                lines.read(&line, on_result)?;
            }
            if buf.len() > MAX_LINE_BYTES {
                return Err(lines.error(
                    format!("a results line is longer than {MAX_LINE_BYTES} bytes"),
                    &buf,
                ));
            }
        }
        lines.read(&buf, on_result)
    }
}

/// The lines of one results download, read one at a time; a bad one fails the call with
/// its request id and the line's start.
struct ResultLines<'a> {
    endpoint: &'a str,
    request_id: Option<String>,
}

impl ResultLines<'_> {
    #[expect(
        clippy::result_large_err,
        reason = "the error is the call's own ApiError, returned as is"
    )]
    fn read(
        &self,
        line: &[u8],
        on_result: &mut (dyn FnMut(BatchResult) + Send),
    ) -> Result<(), ApiError> {
        if line.iter().all(u8::is_ascii_whitespace) {
            return Ok(());
        }
        let v: Value = serde_json::from_slice(line)
            .map_err(|e| self.error(format!("a results line is not JSON: {e}"), line))?;
        let custom_id = v["custom_id"].as_str();
        let outcome = ItemOutcome::from_wire(&v["result"]);
        match (custom_id, outcome) {
            (Some(c), Some(outcome)) => {
                on_result(BatchResult {
                    custom_id: c.to_owned(),
                    outcome,
                });
                Ok(())
            }
            _ => Err(self.error(
                "a results line lacks custom_id or a known result type".to_owned(),
                line,
            )),
        }
    }

    fn error(&self, message: String, line: &[u8]) -> ApiError {
        ApiError {
            endpoint: self.endpoint.to_owned(),
            kind: ApiErrorKind::Decode {
                message,
                body: String::from_utf8_lossy(&line[..line.len().min(4096)]).into_owned(),
            },
            request_id: self.request_id.clone(),
            retry_after: None,
            should_retry: None,
        }
    }
}

/// Whether an `errored` item's error type is worth submitting again (docs/api.md §5).
pub(crate) fn is_transient_item(error_type: &str) -> bool {
    matches!(
        error_type,
        "overloaded_error" | "api_error" | "rate_limit_error" | "timeout_error"
    )
}

/// An errored item, as an API error status (so the job's failure reads like an online
/// one and names the batch and custom_id).
pub(crate) fn item_error(at: &BatchRef, error_type: &str, message: &str) -> ApiError {
    let status = match error_type {
        "invalid_request_error" => 400,
        "authentication_error" => 401,
        "permission_error" => 403,
        "not_found_error" => 404,
        "request_too_large" => 413,
        "rate_limit_error" => 429,
        "overloaded_error" => 529,
        _ => 500,
    };
    ApiError {
        endpoint: format!("Message Batch {} item {}", at.batch_id, at.custom_id),
        kind: ApiErrorKind::Status {
            status,
            error_type: Some(error_type.to_owned()),
            error_code: None,
            message: message.to_owned(),
        },
        request_id: None,
        retry_after: None,
        should_retry: Some(false),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn every_result_type_is_read_and_unknown_ones_are_refused() {
        let ok = ItemOutcome::from_wire(&json!({"type": "succeeded", "message": {"id": "msg_1"}}));
        assert_eq!(ok, Some(ItemOutcome::Succeeded(json!({"id": "msg_1"}))));
        let err = ItemOutcome::from_wire(&json!({"type": "errored", "error": {"type": "error",
            "error": {"type": "overloaded_error", "message": "Overloaded"}}}));
        assert_eq!(
            err,
            Some(ItemOutcome::Errored {
                error_type: "overloaded_error".into(),
                message: "Overloaded".into()
            })
        );
        assert_eq!(
            ItemOutcome::from_wire(&json!({"type": "expired"})),
            Some(ItemOutcome::Expired)
        );
        assert_eq!(
            ItemOutcome::from_wire(&json!({"type": "canceled"})),
            Some(ItemOutcome::Canceled)
        );
        assert_eq!(ItemOutcome::from_wire(&json!({"type": "mystery"})), None);
    }

    fn client_of(fake: &fake_anthropic::FakeServer) -> crate::api::ApiClient {
        use crate::api::{ApiClient, ApiKey, Pacing, Timeouts};
        let pacing = Pacing {
            messages: 4,
            files: 4,
            scale: 0.01,
        };
        let key = ApiKey::new("k".into());
        ApiClient::new(&fake.base_url(), key, Timeouts::default(), pacing).unwrap()
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn create_poll_and_stream_results_against_the_fake() {
        let fake = fake_anthropic::FakeServer::start();
        let client = client_of(&fake);
        let params = json!({"model": "claude-opus-4-8", "max_tokens": 100,
            "messages": [{"role": "user", "content": "hi\n@fake batch expired"}],
            "tools": [{"type": "code_execution_20250825", "name": "code_execution"}]});
        let ok = json!({"model": "claude-opus-4-8", "max_tokens": 100,
            "messages": [{"role": "user", "content": "hi"}],
            "tools": [{"type": "code_execution_20250825", "name": "code_execution"}]});
        let requests = [
            BatchRequest {
                custom_id: "a",
                params: &params,
            },
            BatchRequest {
                custom_id: "b",
                params: &ok,
            },
        ];
        let body = CreateBody {
            requests: &requests,
        };
        assert_eq!(
            serde_json::to_value(body).unwrap(),
            json!({"requests": [{"custom_id": "a", "params": params},
                                {"custom_id": "b", "params": ok}]})
        );
        let batch = client.create_batch("2023-06-01", &body, 0).await.unwrap();
        assert!(
            fake.wait_until_async(std::time::Duration::from_secs(10), |s| s.batches_ended == 1)
                .await
        );
        let ended = client
            .retrieve_batch(&batch.id, "2023-06-01", 0)
            .await
            .unwrap();
        assert_eq!(ended.processing_status, BatchStatus::Ended);
        assert_eq!(ended.request_counts.expired, 1);
        let page = client.list_batches("2023-06-01", None, 0).await.unwrap();
        assert_eq!(page.data.len(), 1);
        assert_eq!(page.data[0].id, batch.id);
        assert_eq!(page.data[0].request_counts.total(), 2);
        assert!(page.data[0].created_at.is_some() && !page.has_more);
        let after = client
            .list_batches("2023-06-01", page.last_id.as_deref(), 0)
            .await
            .unwrap();
        assert!(after.data.is_empty(), "nothing older");
        let mut got = Vec::new();
        client
            .batch_results(
                ended.results_url.as_deref().unwrap(),
                "2023-06-01",
                0,
                &mut |r| got.push(r),
            )
            .await
            .unwrap();
        got.sort_by(|x, y| x.custom_id.cmp(&y.custom_id));
        assert_eq!(got[0].outcome, ItemOutcome::Expired);
        assert!(
            matches!(&got[1].outcome, ItemOutcome::Succeeded(m) if m["usage"]["service_tier"] == "batch")
        );
        let elsewhere = client
            .batch_results("http://evil.example/x", "2023-06-01", 0, &mut |_| {})
            .await
            .unwrap_err();
        assert!(elsewhere.to_string().contains("refusing"), "{elsewhere}");
    }

    #[test]
    fn ids_cannot_change_the_path() {
        assert_eq!(path_segment("msgbatch_01a-B"), "msgbatch_01a-B");
        assert_eq!(path_segment("../x?y"), "%2E%2E%2Fx%3Fy");
    }
}

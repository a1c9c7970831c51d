//! The HTTP edge: the only module that knows endpoints, headers and wire JSON
//! (`../shared/anthropic-api/REFERENCE.md`). One call here is one HTTP request; retries
//! live in `retry.rs` and wrap these calls.
//!
//! The API key is held in [`ApiKey`], whose `Debug` is redacted, and is only ever placed
//! in a header marked sensitive, so it cannot leak into logs.

use std::fmt;
use std::io::Write;
use std::time::Duration;

use camino::Utf8Path;
use futures_util::{Stream, StreamExt};
use std::sync::Arc;

use reqwest::header::{HeaderMap, HeaderValue};
use serde::Deserialize;

use crate::events::Reporter;
use crate::rate_limit::{Gate, Quota, Signal};

/// The API key; never printed.
#[derive(Clone)]
pub struct ApiKey(String);

impl ApiKey {
    pub fn new(key: String) -> ApiKey {
        ApiKey(key)
    }

    /// A stable, non-reversible identifier of the key, for cache keys.
    pub fn fingerprint(&self) -> String {
        let hash = blake3::keyed_hash(b"runner upload-cache key hashing!", self.0.as_bytes());
        hash.to_hex()[..32].to_owned()
    }
}

impl fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ApiKey(<redacted>)")
    }
}

/// A failed API call: an error status, a transport failure, or a body we cannot read.
#[derive(Debug, Clone)]
pub struct ApiError {
    pub endpoint: String,
    pub kind: ApiErrorKind,
    pub request_id: Option<String>,
    /// From `retry-after-ms` or `retry-after` (REFERENCE.md §4.3).
    pub retry_after: Option<Duration>,
    /// From `x-should-retry`.
    pub should_retry: Option<bool>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ApiErrorKind {
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
    pub fn status(&self) -> Option<u16> {
        match &self.kind {
            ApiErrorKind::Status { status, .. } => Some(*status),
            _ => None,
        }
    }

    pub fn error_code(&self) -> Option<&str> {
        match &self.kind {
            ApiErrorKind::Status { error_code, .. } => error_code.as_deref(),
            _ => None,
        }
    }

    fn local(endpoint: &str, message: String) -> ApiError {
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

/// One file to upload, and what its bytes must be.
#[derive(Clone, Copy, Debug)]
pub struct UploadSpec<'a> {
    pub path: &'a Utf8Path,
    pub name: &'a str,
    pub blake3: &'a str,
    pub size: u64,
    pub expires_in_seconds: Option<u64>,
}

/// Told the size of each chunk as it goes out (upload progress).
pub type OnBytes = Arc<dyn Fn(u64) + Send + Sync>;

/// File metadata (REFERENCE.md §2.2); only the fields the runner uses.
#[derive(Clone, Debug, Deserialize)]
pub struct FileMeta {
    pub id: String,
    pub filename: String,
    #[serde(default)]
    pub mime_type: Option<String>,
    pub size_bytes: u64,
    #[serde(default)]
    pub downloadable: bool,
    #[serde(default)]
    pub expires_at: Option<jiff::Timestamp>,
}

#[derive(Deserialize)]
struct FileList {
    data: Vec<FileMeta>,
}

/// A Messages response: the raw body (kept verbatim for messages.json) and its request id.
#[derive(Debug)]
pub struct MessageResponse {
    pub body: serde_json::Value,
    pub request_id: Option<String>,
}

/// Timeouts. A code-execution turn may legitimately run for many minutes with no byte on
/// the wire (non-streaming), so the Messages timeout is long; TCP keep-alive notices a dead
/// peer sooner.
#[derive(Clone, Copy, Debug)]
pub struct Timeouts {
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
pub struct Pacing {
    /// Messages requests in flight at most (the adaptive limit starts here).
    pub messages: usize,
    /// Files requests (uploads, listings, metadata, downloads) in flight at most.
    pub files: usize,
    /// Multiplies server-given waits too; 1.0 except in tests.
    pub scale: f64,
}

impl Default for Pacing {
    fn default() -> Pacing {
        Pacing {
            messages: 4,
            files: 16,
            scale: 1.0,
        }
    }
}

#[derive(Clone, Debug)]
pub struct ApiClient {
    http: reqwest::Client,
    base: String,
    key: ApiKey,
    timeouts: Timeouts,
    scale: f64,
    messages_gate: Arc<Gate>,
    files_gate: Arc<Gate>,
}

impl ApiClient {
    pub fn new(
        base_url: &str,
        key: ApiKey,
        timeouts: Timeouts,
        pacing: Pacing,
    ) -> Result<ApiClient, String> {
        let base = base_url.trim_end_matches('/').to_owned();
        reqwest::Url::parse(&base)
            .map_err(|e| format!("invalid ANTHROPIC_BASE_URL `{base}`: {e}"))?;
        let http = reqwest::Client::builder()
            .connect_timeout(timeouts.connect)
            .tcp_keepalive(Duration::from_secs(30))
            .user_agent(concat!("runner/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| format!("cannot build the HTTP client: {e}"))?;
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
    pub fn set_reporter(&self, reporter: &Arc<dyn Reporter>) {
        self.messages_gate.set_reporter(Arc::clone(reporter));
        self.files_gate.set_reporter(Arc::clone(reporter));
    }

    pub fn base_url(&self) -> &str {
        &self.base
    }

    pub fn key_fingerprint(&self) -> String {
        self.key.fingerprint()
    }

    fn headers(&self, api_version: &str, attempt: u32) -> HeaderMap {
        let mut h = HeaderMap::new();
        if let Ok(mut key) = HeaderValue::from_str(&self.key.0) {
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
    async fn send(
        &self,
        gate: &Gate,
        endpoint: &str,
        req: reqwest::RequestBuilder,
    ) -> Result<(reqwest::Response, Option<String>), ApiError> {
        let _permit = gate.acquire().await;
        let resp = match req.send().await {
            Ok(r) => r,
            Err(e) => {
                gate.observe(Signal::default());
                return Err(transport(endpoint, &e, None));
            }
        };
        let request_id = header_str(resp.headers(), "request-id");
        let status = resp.status().as_u16();
        gate.observe(Signal {
            status: Some(status),
            retry_after: retry_after(resp.headers()).map(|d| d.mul_f64(self.scale)),
            exhausted_for: exhausted_for(resp.headers()),
            quota: request_quota(resp.headers()),
        });
        if resp.status().is_success() {
            return Ok((resp, request_id));
        }
        Err(status_error(endpoint, resp, request_id).await)
    }

    /// `POST /v1/messages`.
    pub async fn create_message(
        &self,
        api_version: &str,
        body: &serde_json::Value,
        attempt: u32,
    ) -> Result<MessageResponse, ApiError> {
        let endpoint = "POST /v1/messages";
        let req = self
            .http
            .post(format!("{}/v1/messages", self.base))
            .headers(self.headers(api_version, attempt))
            .timeout(self.timeouts.messages)
            .json(body);
        let (resp, request_id) = self.send(&self.messages_gate, endpoint, req).await?;
        let bytes = resp
            .bytes()
            .await
            .map_err(|e| transport(endpoint, &e, request_id.clone()))?;
        let body: serde_json::Value = serde_json::from_slice(&bytes).map_err(|e| ApiError {
            endpoint: endpoint.to_owned(),
            kind: ApiErrorKind::Decode {
                message: format!("body is not JSON: {e}"),
                body: raw_text(&bytes),
            },
            request_id: request_id.clone(),
            retry_after: None,
            should_retry: None,
        })?;
        Ok(MessageResponse { body, request_id })
    }

    /// `POST /v1/files`, streaming the file from disk. The bytes are hashed on the way out;
    /// if they no longer match `expected_blake3` (the file changed since it was planned), the
    /// body stream fails before it ends, so the server never stores a file under a wrong hash.
    pub async fn upload(
        &self,
        spec: &UploadSpec<'_>,
        on_bytes: Option<OnBytes>,
        attempt: u32,
    ) -> Result<FileMeta, ApiError> {
        let UploadSpec {
            path,
            name,
            blake3: expected_blake3,
            size: expected_size,
            expires_in_seconds,
        } = *spec;
        let endpoint = "POST /v1/files";
        // Look before opening: a FIFO put in the file's place would block the open forever,
        // and a folder is no upload. Neither is worth a retry.
        match tokio::fs::metadata(path).await {
            Ok(meta) if meta.is_file() => {}
            Ok(_) => {
                return Err(ApiError::local(
                    endpoint,
                    format!("{path} is no longer a regular file"),
                ));
            }
            Err(e) => {
                return Err(ApiError::local(
                    endpoint,
                    format!("cannot open {path}: {e}"),
                ));
            }
        }
        let file = tokio::fs::File::open(path)
            .await
            .map_err(|e| ApiError::local(endpoint, format!("cannot open {path}: {e}")))?;
        let stream = verified_stream(
            file,
            path.to_string(),
            expected_blake3.to_owned(),
            expected_size,
            on_bytes,
        );
        let body = reqwest::Body::wrap_stream(stream);
        let mut part = reqwest::multipart::Part::stream_with_length(body, expected_size)
            .file_name(name.to_owned());
        if let Some(mime) = mime_for(name) {
            part = part
                .mime_str(mime)
                .map_err(|e| ApiError::local(endpoint, e.to_string()))?;
        }
        let mut form = reqwest::multipart::Form::new().part("file", part);
        if let Some(ttl) = expires_in_seconds {
            form = form.text("expires_in_seconds", ttl.to_string());
        }
        let req = self
            .http
            .post(format!("{}/v1/files", self.base))
            .headers(self.headers(crate::resolve::DEFAULT_API_VERSION, attempt))
            .timeout(self.timeouts.files)
            .multipart(form);
        let (resp, request_id) = self.send(&self.files_gate, endpoint, req).await?;
        decode_json(endpoint, resp, request_id).await
    }

    /// `GET /v1/files?ids[]=…` (at most 100 ids); ids the API no longer knows are absent.
    pub async fn files_by_ids(
        &self,
        ids: &[String],
        attempt: u32,
    ) -> Result<Vec<FileMeta>, ApiError> {
        let endpoint = "GET /v1/files";
        let mut url = reqwest::Url::parse(&format!("{}/v1/files", self.base))
            .map_err(|e| ApiError::local(endpoint, e.to_string()))?;
        {
            let mut q = url.query_pairs_mut();
            for id in ids {
                q.append_pair("ids[]", id);
            }
        }
        let req = self
            .http
            .get(url)
            .headers(self.headers(crate::resolve::DEFAULT_API_VERSION, attempt))
            .timeout(self.timeouts.files);
        let (resp, request_id) = self.send(&self.files_gate, endpoint, req).await?;
        let list: FileList = decode_json(endpoint, resp, request_id).await?;
        Ok(list.data)
    }

    /// `GET /v1/files/{id}`.
    pub async fn file_meta(&self, id: &str, attempt: u32) -> Result<FileMeta, ApiError> {
        let endpoint = "GET /v1/files/{id}";
        let req = self
            .http
            .get(format!("{}/v1/files/{}", self.base, path_segment(id)))
            .headers(self.headers(crate::resolve::DEFAULT_API_VERSION, attempt))
            .timeout(self.timeouts.files);
        let (resp, request_id) = self.send(&self.files_gate, endpoint, req).await?;
        decode_json(endpoint, resp, request_id).await
    }

    /// `GET /v1/files/{id}/content`, streamed into `sink`. Returns the byte count and the
    /// BLAKE3 of what was written.
    pub async fn download(
        &self,
        id: &str,
        // Any writer: collect.rs passes one that cuts off a body longer than announced.
        sink: &mut impl Write,
        attempt: u32,
    ) -> Result<(u64, String), ApiError> {
        let endpoint = "GET /v1/files/{id}/content";
        let req = self
            .http
            .get(format!(
                "{}/v1/files/{}/content",
                self.base,
                path_segment(id)
            ))
            .headers(self.headers(crate::resolve::DEFAULT_API_VERSION, attempt))
            .header("accept", "application/binary")
            .timeout(self.timeouts.files);
        let (mut resp, request_id) = self.send(&self.files_gate, endpoint, req).await?;
        let mut hasher = blake3::Hasher::new();
        let mut total = 0u64;
        while let Some(chunk) = resp
            .chunk()
            .await
            .map_err(|e| transport(endpoint, &e, request_id.clone()))?
        {
            hasher.update(&chunk);
            total += chunk.len() as u64;
            sink.write_all(&chunk).map_err(|e| {
                ApiError::local(endpoint, format!("cannot write the download: {e}"))
            })?;
        }
        Ok((total, hasher.finalize().to_hex().to_string()))
    }
}

/// File ids are opaque; keep them from changing the URL's path.
fn path_segment(id: &str) -> String {
    id.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-') {
                char::from(b).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

fn mime_for(name: &str) -> Option<&'static str> {
    let ext = name.rsplit_once('.')?.1.to_ascii_lowercase();
    Some(match ext.as_str() {
        "csv" => "text/csv",
        "tsv" => "text/tab-separated-values",
        "txt" | "md" => "text/plain",
        "json" => "application/json",
        "xml" => "application/xml",
        "pdf" => "application/pdf",
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        "gif" => "image/gif",
        "webp" => "image/webp",
        "xlsx" => "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        "parquet" => "application/vnd.apache.parquet",
        _ => return None,
    })
}

/// Reads the file in chunks, hashing as it goes; fails the stream at the end if the bytes
/// are not the ones that were planned.
fn verified_stream(
    file: tokio::fs::File,
    path: String,
    expected: String,
    expected_size: u64,
    on_bytes: Option<OnBytes>,
) -> impl Stream<Item = Result<bytes::Bytes, std::io::Error>> {
    let chunks = tokio_util::io::ReaderStream::with_capacity(file, 256 * 1024);
    let state = (chunks, blake3::Hasher::new(), 0u64, false);
    futures_util::stream::unfold(state, move |(mut chunks, mut hasher, mut seen, done)| {
        let (path, expected, on_bytes) = (path.clone(), expected.clone(), on_bytes.clone());
        async move {
            if done {
                return None;
            }
            match chunks.next().await {
                Some(Ok(chunk)) => {
                    hasher.update(&chunk);
                    seen += chunk.len() as u64;
                    if let Some(report) = &on_bytes {
                        report(chunk.len() as u64);
                    }
                    if seen > expected_size {
                        let e = LocalFileError::io(format!("{path} grew since it was planned"));
                        return Some((Err(e), (chunks, hasher, seen, true)));
                    }
                    Some((Ok(chunk), (chunks, hasher, seen, false)))
                }
                Some(Err(e)) => {
                    let e = LocalFileError::io(format!("cannot read {path}: {e}"));
                    Some((Err(e), (chunks, hasher, seen, true)))
                }
                None => {
                    let actual = hasher.finalize().to_hex().to_string();
                    if seen == expected_size && actual == expected {
                        None
                    } else {
                        let e = LocalFileError::io(format!(
                            "{path} changed since it was planned ({seen} bytes, blake3 {actual}; expected {expected_size} bytes, blake3 {expected})"
                        ));
                        Some((Err(e), (chunks, hasher, seen, true)))
                    }
                }
            }
        }
    })
}

/// Raised inside an upload body stream for a problem with the local file, so that
/// [`transport`] can tell it from a network failure.
#[derive(Debug)]
struct LocalFileError(String);

impl LocalFileError {
    fn io(message: String) -> std::io::Error {
        std::io::Error::other(LocalFileError(message))
    }
}

impl fmt::Display for LocalFileError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for LocalFileError {}

async fn decode_json<T: serde::de::DeserializeOwned>(
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
fn raw_text(bytes: &[u8]) -> String {
    const CAP: usize = 1 << 20;
    String::from_utf8_lossy(&bytes[..bytes.len().min(CAP)]).into_owned()
}

fn transport(endpoint: &str, e: &reqwest::Error, request_id: Option<String>) -> ApiError {
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
        error_chain(e)
    };
    ApiError {
        endpoint: endpoint.to_owned(),
        kind: ApiErrorKind::Transport(what),
        request_id,
        retry_after: None,
        should_retry: None,
    }
}

fn error_chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut source = e.source();
    while let Some(cause) = source {
        s.push_str(": ");
        s.push_str(&cause.to_string());
        source = cause.source();
    }
    s
}

async fn status_error(
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

fn header_str(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
}

/// The request quota from `anthropic-ratelimit-requests-{limit,remaining,reset}`
/// (REFERENCE.md §4.3), for pacing.
pub fn request_quota(headers: &HeaderMap) -> Option<Quota> {
    let number = |name: &str| header_str(headers, name).and_then(|v| v.trim().parse::<u64>().ok());
    let reset: jiff::Timestamp = header_str(headers, "anthropic-ratelimit-requests-reset")?
        .trim()
        .parse()
        .ok()?;
    Some(Quota {
        limit: number("anthropic-ratelimit-requests-limit")?,
        remaining: number("anthropic-ratelimit-requests-remaining")?,
        reset_in: Duration::try_from(reset.duration_since(jiff::Timestamp::now()))
            .unwrap_or_default(),
    })
}

/// How long until the most restrictive used-up token quota resets, from the
/// `anthropic-ratelimit-{tokens,input-tokens,output-tokens}-{remaining,reset}` headers
/// (REFERENCE.md §4.3); `None` while every one has room. (Requests are paced instead:
/// see [`request_quota`].)
pub fn exhausted_for(headers: &HeaderMap) -> Option<Duration> {
    let now = jiff::Timestamp::now();
    ["tokens", "input-tokens", "output-tokens"]
        .iter()
        .filter(|kind| {
            header_str(headers, &format!("anthropic-ratelimit-{kind}-remaining"))
                .and_then(|v| v.trim().parse::<u64>().ok())
                == Some(0)
        })
        .filter_map(|kind| {
            let reset: jiff::Timestamp =
                header_str(headers, &format!("anthropic-ratelimit-{kind}-reset"))?
                    .trim()
                    .parse()
                    .ok()?;
            Duration::try_from(reset.duration_since(now)).ok()
        })
        .max()
        .filter(|d| !d.is_zero())
}

/// `retry-after-ms` first, then `retry-after` as seconds (possibly fractional) or an HTTP
/// date, as the official SDK reads them (REFERENCE.md §4.4).
pub fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    if let Some(ms) =
        header_str(headers, "retry-after-ms").and_then(|v| v.trim().parse::<f64>().ok())
        && ms.is_finite()
        && ms > 0.0
    {
        return Some(Duration::from_secs_f64(ms / 1000.0));
    }
    let value = header_str(headers, "retry-after")?;
    if let Ok(secs) = value.trim().parse::<f64>() {
        return (secs.is_finite() && secs > 0.0).then(|| Duration::from_secs_f64(secs));
    }
    let when = jiff::fmt::rfc2822::parse(value.trim()).ok()?.timestamp();
    let wait = when.duration_since(jiff::Timestamp::now());
    Duration::try_from(wait).ok().filter(|d| !d.is_zero())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, HeaderValue::from_str(v).unwrap());
        }
        h
    }

    #[test]
    fn retry_after_prefers_ms_and_accepts_fractions() {
        assert_eq!(
            retry_after(&headers(&[("retry-after-ms", "250"), ("retry-after", "3")])),
            Some(Duration::from_millis(250))
        );
        assert_eq!(
            retry_after(&headers(&[("retry-after", "1.5")])),
            Some(Duration::from_millis(1500))
        );
        assert_eq!(retry_after(&headers(&[("retry-after", "0")])), None);
        assert_eq!(retry_after(&headers(&[("retry-after", "soon")])), None);
        assert_eq!(retry_after(&headers(&[])), None);
    }

    #[test]
    fn exhausted_quota_is_read_from_rate_limit_headers() {
        let reset = (jiff::Timestamp::now() + jiff::SignedDuration::from_secs(5)).to_string();
        let h = headers(&[
            ("anthropic-ratelimit-tokens-remaining", "0"),
            ("anthropic-ratelimit-tokens-reset", reset.as_str()),
            ("anthropic-ratelimit-input-tokens-remaining", "12000"),
        ]);
        let wait = exhausted_for(&h).unwrap();
        assert!(
            wait > Duration::from_secs(4) && wait <= Duration::from_secs(5),
            "{wait:?}"
        );
        let room = headers(&[
            ("anthropic-ratelimit-requests-remaining", "3"),
            ("anthropic-ratelimit-requests-reset", reset.as_str()),
        ]);
        assert_eq!(exhausted_for(&room), None);
    }

    #[test]
    fn key_is_redacted_and_fingerprint_is_not_the_key() {
        let key = ApiKey::new("sk-ant-secret".into());
        assert_eq!(format!("{key:?}"), "ApiKey(<redacted>)");
        assert!(!key.fingerprint().contains("secret"));
        assert_eq!(
            key.fingerprint(),
            ApiKey::new("sk-ant-secret".into()).fingerprint()
        );
    }

    #[test]
    fn path_segment_escapes_everything_but_id_characters() {
        assert_eq!(path_segment("file_01Ab-x"), "file_01Ab-x");
        assert_eq!(path_segment("../x"), "%2E%2E%2Fx");
    }
}

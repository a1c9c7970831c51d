//! The request pipeline shared by every endpoint: logging and counters,
//! faults, configured limits, common header checks, latency, routing.
//!
//! Order (documented in README.md): scripted faults → rate limit →
//! concurrency limit → random overload → auth / `anthropic-version` /
//! `anthropic-beta` → latency → the endpoint.

use std::sync::Arc;
use std::time::Instant;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::{HeaderMap, Method, Request, Response};
use hyper_util::rt::TokioIo;

use crate::errors::{ApiError, Reply};
use crate::faults::{Endpoint, Fault};
use crate::limits::RateHeaders;
use crate::state::{IdKind, LogEntry, Shared, State, after, rfc3339};
use crate::{control, files, messages};

/// Messages / count_tokens request size limit (REFERENCE §1).
const MESSAGES_MAX_BYTES: usize = 32 * 1024 * 1024;

const API_VERSIONS: &[&str] = &["2023-06-01", "2026-10-21"];

/// `anthropic-beta` names the fake accepts: the SDK 2.11 `AnthropicBetaParam`
/// list plus the historical code-execution and tool headers of REFERENCE §0.2.
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
];

/// Returned by the service to make hyper close the connection without
/// writing any response.
#[derive(Debug)]
pub(crate) struct Dropped;

impl std::fmt::Display for Dropped {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("connection dropped by a scripted fault")
    }
}

impl std::error::Error for Dropped {}

/// Per-request context handed to endpoint handlers.
pub(crate) struct Ctx {
    pub shared: Arc<Shared>,
    pub version: String,
    /// `anthropic-beta: files-api-2025-04-14` switches Files to legacy shapes.
    pub legacy_files: bool,
}

enum Route {
    Upload,
    List,
    Get(String),
    Download(String),
    Delete(String),
    Messages,
    Unknown,
}

impl Route {
    fn parse(method: &Method, path: &str) -> Route {
        let segs: Vec<&str> = path.trim_end_matches('/').split('/').skip(1).collect();
        match (method, segs.as_slice()) {
            (&Method::POST, ["v1", "files"]) => Route::Upload,
            (&Method::GET, ["v1", "files"]) => Route::List,
            (&Method::GET, ["v1", "files", id]) => Route::Get((*id).to_owned()),
            (&Method::DELETE, ["v1", "files", id]) => Route::Delete((*id).to_owned()),
            (&Method::GET, ["v1", "files", id, "content"]) => Route::Download((*id).to_owned()),
            (&Method::POST, ["v1", "messages"]) => Route::Messages,
            _ => Route::Unknown,
        }
    }

    fn endpoint(&self) -> Option<Endpoint> {
        Some(match self {
            Route::Upload => Endpoint::Upload,
            Route::List => Endpoint::ListFiles,
            Route::Get(_) => Endpoint::GetFile,
            Route::Download(_) => Endpoint::Download,
            Route::Delete(_) => Endpoint::DeleteFile,
            Route::Messages => Endpoint::Messages,
            Route::Unknown => return None,
        })
    }
}

/// The request body: buffered, except uploads, which are streamed.
pub(crate) enum ReqBody {
    Buffered(Bytes),
    Streaming(Incoming),
}

impl ReqBody {
    /// Reads and discards what is left, so the client sees our answer rather
    /// than a reset while it is still sending.
    async fn drain(self) {
        if let ReqBody::Streaming(mut body) = self {
            while let Some(Ok(_)) = body.frame().await {}
        }
    }
}

pub(crate) async fn serve(
    listener: tokio::net::TcpListener,
    shared: Arc<Shared>,
    mut shutdown: tokio::sync::oneshot::Receiver<()>,
) {
    loop {
        tokio::select! {
            _ = &mut shutdown => break,
            accepted = listener.accept() => {
                let stream = match accepted {
                    Ok((stream, _)) => stream,
                    Err(_) => {
                        // e.g. out of file descriptors: back off instead of spinning
                        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
                        continue;
                    }
                };
                let _ = stream.set_nodelay(true);
                let shared = shared.clone();
                tokio::spawn(async move {
                    let svc = hyper::service::service_fn(move |req| handle(shared.clone(), req));
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), svc)
                        .await;
                });
            }
        }
    }
}

/// Decrements an in-flight counter when the request ends, however it ends
/// (hyper drops the future if the client goes away).
struct InFlight {
    shared: Arc<Shared>,
    endpoint: Endpoint,
}

impl Drop for InFlight {
    fn drop(&mut self) {
        let endpoint = self.endpoint;
        self.shared.update(|s| match endpoint {
            Endpoint::Messages => s.stats.messages_in_flight -= 1,
            Endpoint::Upload => s.stats.uploads_in_flight -= 1,
            _ => {}
        });
    }
}

struct Held(Arc<Shared>);

impl Drop for Held {
    fn drop(&mut self) {
        self.0.update(|s| s.stats.held -= 1);
    }
}

struct Arrival {
    log_index: usize,
    fault: Option<Fault>,
    rate: Option<RateHeaders>,
    admission: Result<(), ApiError>,
    in_flight: Option<InFlight>,
}

async fn handle(
    shared: Arc<Shared>,
    req: Request<Incoming>,
) -> Result<Response<Full<Bytes>>, Dropped> {
    if req.uri().path().starts_with("/_fake/") {
        let reply = control::handle(&shared, req).await;
        return Ok(to_response(reply));
    }
    let route = Route::parse(req.method(), req.uri().path());
    let endpoint = route.endpoint();
    let request_id = shared.new_id(IdKind::Request);
    let mut arrival = arrive(&shared, &req, endpoint, &request_id);
    let log_index = arrival.log_index;

    let in_flight = arrival.in_flight.take();
    let outcome = process(&shared, req, route, endpoint, &request_id, arrival).await;
    let Some(mut reply) = outcome else {
        return Err(Dropped);
    };
    reply.set_header("request-id", &request_id);
    reply.set_header(
        "anthropic-organization-id",
        "00000000-0000-4000-8000-00000000fa6e",
    );
    let status = reply.status.as_u16();
    shared.update(|s| {
        if let Some(entry) = s.log.get_mut(log_index) {
            entry.status = status;
        }
    });
    // Only now, so a waiter that sees the request finished also sees its status.
    drop(in_flight);
    Ok(to_response(reply))
}

fn to_response(reply: Reply) -> Response<Full<Bytes>> {
    let mut resp = Response::new(Full::new(reply.body));
    *resp.status_mut() = reply.status;
    *resp.headers_mut() = reply.headers;
    resp
}

/// Logs and counts the request, takes its fault, and decides admission, all
/// under one lock so concurrent arrivals see a consistent order.
fn arrive(
    shared: &Arc<Shared>,
    req: &Request<Incoming>,
    endpoint: Option<Endpoint>,
    request_id: &str,
) -> Arrival {
    let retry_count = req
        .headers()
        .get("x-stainless-retry-count")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u32>().ok())
        .unwrap_or(0);
    let entry = LogEntry {
        at: shared.started.elapsed(),
        method: req.method().to_string(),
        path: req.uri().path().to_owned(),
        query: req.uri().query().map(str::to_owned),
        endpoint,
        status: 0,
        request_id: request_id.to_owned(),
        retry_count,
    };
    let config = &shared.config;
    shared.update(|s| {
        let log_index = s.log.len();
        s.log.push(entry);
        let name = endpoint.map_or("unknown", Endpoint::name);
        *s.stats.requests.entry(name.to_owned()).or_default() += 1;
        s.stats.requests_total += 1;
        if retry_count > 0 {
            s.stats.retries_seen += 1;
        }
        let Some(endpoint) = endpoint else {
            return Arrival {
                log_index,
                fault: None,
                rate: None,
                admission: Ok(()),
                in_flight: None,
            };
        };
        let fault = s.faults.get_mut(&endpoint).and_then(|q| q.pop_front());
        let (rate, admission) = if fault.is_some() {
            s.stats.faults_served += 1;
            (None, Ok(()))
        } else {
            admit(s, config, endpoint)
        };
        let in_flight = if admission.is_ok() {
            match endpoint {
                Endpoint::Messages => {
                    s.stats.messages_in_flight += 1;
                    s.stats.max_messages_in_flight = s
                        .stats
                        .max_messages_in_flight
                        .max(s.stats.messages_in_flight);
                }
                Endpoint::Upload => {
                    s.stats.uploads_in_flight += 1;
                    s.stats.max_uploads_in_flight =
                        s.stats.max_uploads_in_flight.max(s.stats.uploads_in_flight);
                }
                _ => {}
            }
            Some(InFlight {
                shared: shared.clone(),
                endpoint,
            })
        } else {
            None
        };
        Arrival {
            log_index,
            fault,
            rate,
            admission,
            in_flight,
        }
    })
}

fn admit(
    s: &mut State,
    config: &crate::Config,
    endpoint: Endpoint,
) -> (Option<RateHeaders>, Result<(), ApiError>) {
    let mut rate = None;
    if let Some(limit) = config.rate_limit {
        let window = if endpoint.is_files() {
            &mut s.rate_files
        } else {
            &mut s.rate_messages
        };
        let (headers, wait) = window.admit(limit, Instant::now());
        rate = Some(headers);
        if let Some(wait) = wait {
            let msg = format!(
                "This request would exceed your organization's rate limit of {} requests per {} ms.",
                limit.requests,
                limit.window.as_millis()
            );
            return (rate, Err(ApiError::rate_limited(&msg, wait)));
        }
    }
    if endpoint == Endpoint::Messages {
        if let Some(max) = config.max_concurrent_messages
            && s.stats.messages_in_flight >= max
        {
            let wait = config
                .messages_latency
                .max(std::time::Duration::from_millis(50));
            let msg = format!("Number of concurrent requests exceeds your rate limit of {max}.");
            return (rate, Err(ApiError::rate_limited(&msg, wait)));
        }
        if let Some(overload) = s.overload.as_mut()
            && overload.hit()
        {
            return (rate, Err(ApiError::new(529, "Overloaded")));
        }
    }
    (rate, Ok(()))
}

/// `None` means: drop the connection without a response.
async fn process(
    shared: &Arc<Shared>,
    req: Request<Incoming>,
    route: Route,
    endpoint: Option<Endpoint>,
    request_id: &str,
    arrival: Arrival,
) -> Option<Reply> {
    let (parts, incoming) = req.into_parts();
    let body = if matches!(route, Route::Upload) {
        ReqBody::Streaming(incoming)
    } else {
        // Requests that only die by fault still read their body first, so
        // `messages_requests` sees every Messages body.
        let bytes = match incoming.collect().await {
            Ok(collected) => collected.to_bytes(),
            Err(_) => return None,
        };
        if endpoint == Some(Endpoint::Messages) {
            let value = serde_json::from_slice(&bytes).unwrap_or_else(|_| {
                serde_json::Value::String(String::from_utf8_lossy(&bytes).into_owned())
            });
            shared.update(|s| s.messages_requests.push(value));
        }
        ReqBody::Buffered(bytes)
    };
    let Arrival {
        fault,
        rate,
        admission,
        ..
    } = arrival;

    let mut short_body = false;
    match fault {
        Some(Fault::DropConnection) => return None,
        Some(Fault::Status {
            status,
            error_type,
            error_code,
            retry_after,
            should_retry,
        }) => {
            body.drain().await;
            let mut err = ApiError::from_parts(status, &error_type, error_code.as_deref(), None);
            if let Some(secs) = retry_after {
                err = err
                    .with_header("retry-after", format_secs(secs))
                    .with_header("retry-after-ms", format!("{:.0}", (secs * 1000.0).max(0.0)));
            }
            if let Some(retry) = should_retry {
                err = err.with_header("x-should-retry", retry.to_string());
            }
            return Some(err.into_reply(request_id));
        }
        Some(Fault::ShortBody) => short_body = true,
        Some(Fault::Delay(d)) => tokio::time::sleep(d).await,
        Some(Fault::Hold) => {
            let mut released = shared.release.subscribe();
            shared.update(|s| s.stats.held += 1);
            let _held = Held(shared.clone());
            let _ = released.changed().await;
        }
        None => {}
    }

    let mut reply = match admission {
        Err(e) => {
            body.drain().await;
            e.into_reply(request_id)
        }
        Ok(()) => match normal(
            shared,
            &parts.headers,
            parts.uri.query(),
            body,
            route,
            endpoint,
        )
        .await
        {
            Ok(reply) => reply,
            Err(e) => e.into_reply(request_id),
        },
    };
    if let Some(rate) = rate {
        reply.set_header(
            "anthropic-ratelimit-requests-limit",
            &rate.limit.to_string(),
        );
        reply.set_header(
            "anthropic-ratelimit-requests-remaining",
            &rate.remaining.to_string(),
        );
        reply.set_header(
            "anthropic-ratelimit-requests-reset",
            &rfc3339(after(rate.reset_in)),
        );
    }
    if short_body {
        let keep = reply.body.len() / 2;
        reply.body = reply.body.slice(..keep);
    }
    Some(reply)
}

/// `retry-after` as the shortest decimal that says the configured value.
fn format_secs(secs: f64) -> String {
    if secs.fract() == 0.0 && secs.abs() < 1e15 {
        format!("{secs:.0}")
    } else {
        format!("{secs}")
    }
}

async fn normal(
    shared: &Arc<Shared>,
    headers: &HeaderMap,
    query: Option<&str>,
    body: ReqBody,
    route: Route,
    endpoint: Option<Endpoint>,
) -> Result<Reply, ApiError> {
    let latency = match endpoint {
        Some(Endpoint::Messages) => shared.config.messages_latency,
        Some(_) => shared.config.files_latency,
        None => std::time::Duration::ZERO,
    };
    if !latency.is_zero() {
        tokio::time::sleep(latency).await;
    }
    if endpoint.is_none() {
        body.drain().await;
        return Err(ApiError::not_found("Not found"));
    }
    let (version, legacy_files) = match check_headers(shared, headers) {
        Ok(v) => v,
        Err(e) => {
            body.drain().await;
            return Err(e);
        }
    };
    let ctx = Ctx {
        shared: shared.clone(),
        version,
        legacy_files,
    };
    let buffered = |body: ReqBody| match body {
        ReqBody::Buffered(b) => b,
        ReqBody::Streaming(_) => Bytes::new(),
    };
    match route {
        Route::Upload => match body {
            ReqBody::Streaming(incoming) => files::upload(&ctx, headers, incoming).await,
            ReqBody::Buffered(_) => Err(ApiError::invalid("file: Field required")),
        },
        Route::List => files::list(&ctx, query.unwrap_or("")),
        Route::Get(id) => files::metadata(&ctx, &id),
        Route::Download(id) => files::download(&ctx, &id),
        Route::Delete(id) => files::delete(&ctx, &id),
        Route::Messages => {
            let bytes = buffered(body);
            if bytes.len() > MESSAGES_MAX_BYTES {
                return Err(ApiError::new(
                    413,
                    "Request exceeds the maximum allowed number of bytes.",
                ));
            }
            messages::create(&ctx, headers, &bytes).await
        }
        Route::Unknown => Err(ApiError::not_found("Not found")),
    }
}

/// Auth, `anthropic-version` and `anthropic-beta` (REFERENCE §1, §8.1).
fn check_headers(shared: &Shared, headers: &HeaderMap) -> Result<(String, bool), ApiError> {
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::trim)
    };
    // x-api-key wins when both are sent (third-party report, REFERENCE §1).
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

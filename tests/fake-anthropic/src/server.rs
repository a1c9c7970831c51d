//! The request pipeline shared by every endpoint: arrival (see admission.rs),
//! faults, configured limits, common header checks, latency, routing.
//!
//! Order (documented in README.md): scripted faults → rate limit →
//! concurrency limit → random overload → auth / `anthropic-version` /
//! `anthropic-beta` → latency → the endpoint.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::{HeaderMap, Method, Request, Response};
use hyper_util::rt::TokioIo;

use crate::admission::{Arrival, Held};
use crate::errors::{ApiError, Reply};
use crate::faults::{Endpoint, Fault};
use crate::state::{IdKind, Shared, after, rfc3339};
use crate::{admission, batches, control, files, headers, messages, models_api, skills};

/// Messages / count_tokens request size limit (docs/api.md §1).
const MESSAGES_MAX_BYTES: usize = 32 * 1024 * 1024;

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
    /// A Message Batch item (its `params` answered by the Messages handler).
    pub batch: bool,
}

enum Route {
    Upload,
    List,
    Get(String),
    Download(String),
    Delete(String),
    Messages,
    CountTokens,
    Batches(batches::Route),
    ListModels,
    GetModel(String),
    Skills(skills::Route),
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
            (&Method::POST, ["v1", "messages", "count_tokens"]) => Route::CountTokens,
            (&Method::GET, ["v1", "models"]) => Route::ListModels,
            (&Method::GET, ["v1", "models", id]) => Route::GetModel((*id).to_owned()),
            (_, ["v1", "messages", "batches", rest @ ..]) => {
                batches::Route::parse(method, rest).map_or(Route::Unknown, Route::Batches)
            }
            (_, ["v1", "skills", rest @ ..]) => {
                skills::Route::parse(method, rest).map_or(Route::Unknown, Route::Skills)
            }
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
            Route::CountTokens => Endpoint::CountTokens,
            Route::Batches(r) => r.endpoint(),
            Route::ListModels => Endpoint::ListModels,
            Route::GetModel(_) => Endpoint::GetModel,
            Route::Skills(r) => r.endpoint(),
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
    pub(crate) async fn drain(self) {
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
    let mut arrival = admission::arrive(&shared, &req, endpoint, &request_id);
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
    let retry_after = reply
        .headers
        .get("retry-after-ms")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<f64>().ok())
        .map(|ms| Duration::from_secs_f64(ms.max(0.0) / 1000.0));
    let answered_at = shared.started.elapsed();
    shared.update(|s| {
        if let Some(entry) = s.log.get_mut(log_index) {
            entry.status = status;
            entry.answered_at = Some(answered_at);
            entry.retry_after = retry_after;
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
    let streamed = match &route {
        Route::Upload => true,
        Route::Skills(r) => r.is_upload(),
        _ => false,
    };
    let body = if streamed {
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
            let carried = skills::CarriedSkills::of(&value, false);
            shared.update(|s| {
                s.messages_requests.push(value);
                s.stats.skills_carried.push(carried);
            });
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
    let then = fault.clone();
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
                err = err.with_retry_after(secs);
            }
            if let Some(retry) = should_retry {
                err = err.with_header("x-should-retry", retry.to_string());
            }
            return Some(err.into_reply(request_id));
        }
        Some(Fault::RawBody(raw)) => {
            body.drain().await;
            let mut reply = Reply::bytes(hyper::StatusCode::OK, Bytes::from(raw));
            reply.set_header("content-type", "application/json");
            return Some(reply);
        }
        Some(Fault::ShortBody) => short_body = true,
        Some(Fault::Delay(d)) => tokio::time::sleep(d).await,
        Some(Fault::Hold) => park(shared).await,
        Some(Fault::DropResponse | Fault::HoldResponse) | None => {}
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
    match then {
        Some(Fault::DropResponse) => None,
        Some(Fault::HoldResponse) => {
            park(shared).await;
            Some(reply)
        }
        _ => Some(reply),
    }
}

/// Parks the request until [`crate::FakeServer::release_held`], counted in `Stats::held`.
async fn park(shared: &Arc<Shared>) {
    let mut released = shared.release.subscribe();
    shared.update(|s| s.stats.held += 1);
    let _held = Held(shared.clone());
    let _ = released.changed().await;
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
    let (version, legacy_files) = match headers::check(shared, headers) {
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
        batch: false,
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
        Route::CountTokens => messages::count_tokens(&ctx, &buffered(body)),
        Route::Batches(r) => {
            batches::handle(&ctx, headers, r, query.unwrap_or(""), &buffered(body))
        }
        Route::ListModels => models_api::list(&ctx, query.unwrap_or("")),
        Route::GetModel(id) => models_api::get(&ctx, &id),
        Route::Skills(r) => skills::handle(&ctx, headers, r, query.unwrap_or(""), body).await,
        Route::Unknown => Err(ApiError::not_found("Not found")),
    }
}

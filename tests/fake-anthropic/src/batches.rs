//! Message Batches (docs/api.md §5): create, retrieve, list, cancel, delete and
//! the JSONL results at an absolute `results_url`. Each item's `params` is
//! answered by the same handler as `POST /v1/messages` (files, containers,
//! `pause_turn`, `@fake` directives), after the configurable batch delay.
//! `@fake batch errored TYPE [N]` / `@fake batch expired [N]` script an item's
//! result for the first N submissions of the same params; `@fake batch missing [N]`
//! leaves the item out of the results altogether.

use std::collections::HashSet;
use std::sync::Arc;

use hyper::{HeaderMap, Method};
use jiff::Timestamp;
use serde_json::{Value, json};

use crate::directives;
use crate::errors::{ApiError, Reply};
use crate::faults::Endpoint;
use crate::messages;
use crate::server::Ctx;
use crate::state::{IdKind, Shared, rfc3339};

/// docs/api.md §5: at most this many requests per batch.
const MAX_REQUESTS: usize = 100_000;
/// docs/api.md §1: Message Batches request size limit.
pub(crate) const MAX_BYTES: usize = 256 * 1024 * 1024;

/// One submitted item, as recorded for tests ([`crate::FakeServer::batch_items`]).
#[derive(Clone, Debug)]
pub struct BatchItem {
    pub batch_id: String,
    pub custom_id: String,
    pub params: Value,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Status {
    InProgress,
    Canceling,
    Ended,
}

pub(crate) struct Batch {
    id: String,
    created_at: Timestamp,
    ended_at: Option<Timestamp>,
    cancel_initiated_at: Option<Timestamp>,
    status: Status,
    /// The server's own base URL, for the absolute `results_url`.
    base_url: String,
    /// (custom_id, params) in submission order.
    items: Vec<(String, Value)>,
    /// One JSON result per ended item, in the order they ended.
    results: Vec<Value>,
    /// Items scripted (`@fake batch missing`) to have no results line.
    missing: HashSet<String>,
    started: bool,
}

impl Batch {
    fn object(&self) -> Value {
        let mut counts =
            json!({"processing": 0, "succeeded": 0, "errored": 0, "canceled": 0, "expired": 0});
        for r in &self.results {
            if let Some(kind) = r["result"]["type"].as_str()
                && let Some(n) = counts.get_mut(kind)
            {
                *n = Value::from(n.as_u64().unwrap_or(0) + 1);
            }
        }
        counts["processing"] = Value::from(self.items.len() - self.results.len());
        let expires_at = self.created_at + jiff::SignedDuration::from_hours(24);
        json!({
            "id": self.id,
            "type": "message_batch",
            "processing_status": match self.status {
                Status::InProgress => "in_progress",
                Status::Canceling => "canceling",
                Status::Ended => "ended",
            },
            "request_counts": counts,
            "created_at": rfc3339(self.created_at),
            "expires_at": rfc3339(expires_at),
            "ended_at": self.ended_at.map(rfc3339),
            "archived_at": null,
            "cancel_initiated_at": self.cancel_initiated_at.map(rfc3339),
            "results_url": (self.status == Status::Ended)
                .then(|| format!("{}/v1/messages/batches/{}/results", self.base_url, self.id)),
        })
    }

    /// Every item without a result is canceled, and the batch ends.
    fn end_canceled(&mut self) {
        let done: HashSet<String> = self
            .results
            .iter()
            .filter_map(|r| r["custom_id"].as_str().map(str::to_owned))
            .collect();
        for (custom_id, _) in &self.items {
            if !done.contains(custom_id) && !self.missing.contains(custom_id) {
                self.results
                    .push(json!({"custom_id": custom_id, "result": {"type": "canceled"}}));
            }
        }
        self.status = Status::Ended;
        self.ended_at = Some(Timestamp::now());
    }
}

#[derive(Clone, Debug)]
pub(crate) enum Route {
    Create,
    List,
    Get(String),
    Results(String),
    Cancel(String),
    Delete(String),
}

impl Route {
    /// `rest` is the path after `/v1/messages/batches`.
    pub(crate) fn parse(method: &Method, rest: &[&str]) -> Option<Route> {
        Some(match (method, rest) {
            (&Method::POST, []) => Route::Create,
            (&Method::GET, []) => Route::List,
            (&Method::GET, [id]) => Route::Get((*id).to_owned()),
            (&Method::DELETE, [id]) => Route::Delete((*id).to_owned()),
            (&Method::GET, [id, "results"]) => Route::Results((*id).to_owned()),
            (&Method::POST, [id, "cancel"]) => Route::Cancel((*id).to_owned()),
            _ => return None,
        })
    }

    pub(crate) fn endpoint(&self) -> Endpoint {
        match self {
            Route::Create => Endpoint::BatchCreate,
            Route::List => Endpoint::BatchList,
            Route::Get(_) => Endpoint::BatchGet,
            Route::Results(_) => Endpoint::BatchResults,
            Route::Cancel(_) => Endpoint::BatchCancel,
            Route::Delete(_) => Endpoint::BatchDelete,
        }
    }
}

pub(crate) fn handle(
    ctx: &Ctx,
    headers: &HeaderMap,
    route: Route,
    query: &str,
    body: &[u8],
) -> Result<Reply, ApiError> {
    let shared = &ctx.shared;
    let not_found = |id: &str| ApiError::not_found(format!("No batch with id {id}"));
    let with = |id: &str, f: &mut dyn FnMut(&mut Batch) -> Result<Value, ApiError>| {
        shared.update(|s| match s.batches.values_mut().find(|b| b.id == id) {
            Some(b) => f(b),
            None => Err(not_found(id)),
        })
    };
    match route {
        Route::Create => create(ctx, headers, body),
        Route::Get(id) => with(&id, &mut |b| Ok(b.object())).map(|v| Reply::ok_json(&v)),
        Route::List => Ok(Reply::ok_json(&list(shared, query)?)),
        Route::Cancel(id) => shared
            .update(|s| cancel(s, &id))
            .map(|v| Reply::ok_json(&v)),
        Route::Results(id) => {
            let lines = with(&id, &mut |b| {
                if b.status != Status::Ended {
                    return Err(ApiError::invalid(format!(
                        "Batch {id} has not ended yet; results are available once processing_status is ended"
                    )));
                }
                let mut text = String::new();
                // Any order: the newest result first, so clients match by custom_id.
                for r in b.results.iter().rev() {
                    text.push_str(&r.to_string());
                    text.push('\n');
                }
                Ok(Value::String(text))
            })?;
            let text = lines.as_str().unwrap_or_default().to_owned();
            let mut reply = Reply::bytes(hyper::StatusCode::OK, bytes::Bytes::from(text));
            reply.set_header("content-type", "application/x-jsonl");
            Ok(reply)
        }
        Route::Delete(id) => {
            shared.update(|s| {
                let seq = s
                    .batches
                    .iter()
                    .find(|(_, b)| b.id == id)
                    .map(|(seq, b)| (*seq, b.status))
                    .ok_or_else(|| not_found(&id))?;
                if seq.1 != Status::Ended {
                    return Err(ApiError::invalid(format!(
                        "Batch {id} cannot be deleted while it is in progress; cancel it first"
                    )));
                }
                s.batches.remove(&seq.0);
                Ok(())
            })?;
            Ok(Reply::ok_json(
                &json!({"id": id, "type": "message_batch_deleted"}),
            ))
        }
    }
}

fn create(ctx: &Ctx, headers: &HeaderMap, body: &[u8]) -> Result<Reply, ApiError> {
    if body.len() > MAX_BYTES {
        return Err(ApiError::new(
            413,
            "Request exceeds the maximum allowed number of bytes.",
        ));
    }
    let request: Value = serde_json::from_slice(body)
        .map_err(|e| ApiError::invalid(format!("The request body is not valid JSON: {e}")))?;
    let requests = request
        .get("requests")
        .and_then(Value::as_array)
        .ok_or_else(|| ApiError::invalid("requests: Field required"))?;
    if requests.is_empty() || requests.len() > MAX_REQUESTS {
        return Err(ApiError::invalid(format!(
            "requests: List should have between 1 and {MAX_REQUESTS} items"
        )));
    }
    let mut seen = HashSet::new();
    let mut items = Vec::with_capacity(requests.len());
    for (i, r) in requests.iter().enumerate() {
        let custom_id = r
            .get("custom_id")
            .and_then(Value::as_str)
            .filter(|c| {
                (1..=64).contains(&c.len())
                    && c.bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
            })
            .ok_or_else(|| {
                ApiError::invalid(format!(
                    "requests.{i}.custom_id: String should match pattern '^[a-zA-Z0-9_-]{{1,64}}$'"
                ))
            })?;
        if !seen.insert(custom_id) {
            return Err(ApiError::invalid(format!(
                "requests.{i}.custom_id: duplicate custom_id {custom_id:?}; custom_ids must be unique within a batch"
            )));
        }
        let params = r
            .get("params")
            .filter(|p| p.is_object())
            .ok_or_else(|| ApiError::invalid(format!("requests.{i}.params: Field required")))?;
        items.push((custom_id.to_owned(), params.clone()));
    }
    let id = ctx.shared.new_id(IdKind::Batch);
    let host = headers
        .get(hyper::header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("127.0.0.1");
    let batch = Batch {
        id: id.clone(),
        created_at: Timestamp::now(),
        ended_at: None,
        cancel_initiated_at: None,
        status: Status::InProgress,
        base_url: format!("http://{host}"),
        items,
        results: Vec::new(),
        missing: HashSet::new(),
        started: false,
    };
    let object = batch.object();
    ctx.shared.update(|s| {
        s.stats.batches_created += 1;
        s.stats.batch_items += u32::try_from(batch.items.len()).unwrap_or(u32::MAX);
        for (custom_id, params) in &batch.items {
            s.stats
                .skills_carried
                .push(crate::skills::CarriedSkills::of(params, true));
            s.batch_items.push(BatchItem {
                batch_id: id.clone(),
                custom_id: custom_id.clone(),
                params: params.clone(),
            });
        }
        let seq = s.batches.keys().next_back().map_or(1, |k| k + 1);
        s.batches.insert(seq, batch);
    });
    let worker = Ctx {
        shared: ctx.shared.clone(),
        version: ctx.version.clone(),
        legacy_files: false,
        batch: true,
    };
    tokio::spawn(process(worker, id, headers.clone()));
    Ok(Reply::ok_json(&object))
}

/// `POST /v1/messages/batches/{id}/cancel` (also [`crate::FakeServer::cancel_batch`]): a
/// batch not yet processing ends at once, every item canceled.
pub(crate) fn cancel(s: &mut crate::state::State, id: &str) -> Result<Value, ApiError> {
    let b = s
        .batches
        .values_mut()
        .find(|b| b.id == id)
        .ok_or_else(|| ApiError::not_found(format!("No batch with id {id}")))?;
    if b.status == Status::InProgress {
        b.cancel_initiated_at = Some(Timestamp::now());
        b.status = Status::Canceling;
        if !b.started {
            b.end_canceled();
            let object = b.object();
            s.stats.batches_ended += 1;
            return Ok(object);
        }
    }
    Ok(b.object())
}

/// Answers every item in turn unless the batch was canceled first.
async fn process(ctx: Ctx, id: String, headers: HeaderMap) {
    // The delay is re-read while waiting, so a test can shorten it for batches already
    // created (e.g. to let a resumed run finish).
    let created = std::time::Instant::now();
    loop {
        let delay = ctx.shared.read(|s| {
            let seq = s.batches.iter().find(|(_, b)| b.id == id).map(|(k, _)| *k);
            if seq.is_some_and(|seq| seq < s.batch_delay_from) {
                std::time::Duration::ZERO
            } else {
                s.batch_delay
            }
        });
        let waited = created.elapsed();
        if waited >= delay {
            break;
        }
        tokio::time::sleep((delay - waited).min(std::time::Duration::from_millis(20))).await;
    }
    let items = ctx.shared.update(|s| {
        let b = s.batches.values_mut().find(|b| b.id == id)?;
        if b.status != Status::InProgress {
            return None;
        }
        b.started = true;
        Some(b.items.clone())
    });
    // Ended already (canceled before processing started).
    let Some(items) = items else { return };
    for (custom_id, params) in items {
        let result = answer(&ctx, &headers, &params).await;
        let stop = ctx
            .shared
            .update(|s| match s.batches.values_mut().find(|b| b.id == id) {
                Some(b) => {
                    match result {
                        Some(result) => b
                            .results
                            .push(json!({"custom_id": custom_id, "result": result})),
                        None => {
                            b.missing.insert(custom_id);
                        }
                    }
                    b.status == Status::Canceling
                }
                None => true,
            });
        if stop {
            break;
        }
    }
    ctx.shared.update(|s| {
        if let Some(b) = s.batches.values_mut().find(|b| b.id == id) {
            b.end_canceled();
            s.stats.batches_ended += 1;
        }
    });
}

/// One item's `result` object (`None`: scripted to be missing from the results).
async fn answer(ctx: &Ctx, headers: &HeaderMap, params: &Value) -> Option<Value> {
    if let Some(fault) = scripted(&ctx.shared, params) {
        return fault;
    }
    Some(answer_params(ctx, headers, params).await)
}

async fn answer_params(ctx: &Ctx, headers: &HeaderMap, params: &Value) -> Value {
    if params.get("stream") == Some(&Value::Bool(true)) {
        return errored(&ApiError::invalid(
            "stream: streaming is not supported in Message Batches",
        ));
    }
    let refused = ctx.shared.read(|s| s.skills.refused_in_batches);
    if let Some(e) = crate::skills::container::batch_refusal(refused, params) {
        return errored(&e);
    }
    let body = params.to_string();
    match messages::create(ctx, headers, body.as_bytes()).await {
        Ok(reply) => match serde_json::from_slice::<Value>(&reply.body) {
            Ok(mut message) => {
                message["usage"]["service_tier"] = Value::from("batch");
                json!({"type": "succeeded", "message": message})
            }
            Err(e) => errored(&ApiError::new(500, format!("fake: bad message JSON: {e}"))),
        },
        Err(e) => errored(&e),
    }
}

fn errored(e: &ApiError) -> Value {
    let mut body = e.body("");
    body["request_id"] = Value::Null;
    json!({"type": "errored", "error": body})
}

/// A `@fake batch …` result for these params, if one is due (`Some(None)`: no line).
fn scripted(shared: &Arc<Shared>, params: &Value) -> Option<Option<Value>> {
    let messages = params.get("messages")?.as_array()?;
    let texts: Vec<String> = messages
        .iter()
        .filter(|m| m["role"] == "user")
        .map(messages::text_of)
        .collect();
    let fault = directives::for_turn(&texts, texts.len()).ok()?.batch?;
    let key = params.to_string();
    let due = shared.update(|s| {
        let hits = s.batch_fault_hits.entry(key).or_insert(0);
        let due = fault.times.is_none_or(|n| *hits < n);
        if due {
            *hits += 1;
        }
        due
    });
    if !due {
        return None;
    }
    if fault.missing {
        return Some(None);
    }
    Some(Some(match fault.errored {
        Some(error_type) => {
            let status = match error_type.as_str() {
                "overloaded_error" => 529,
                "api_error" => 500,
                "rate_limit_error" => 429,
                "not_found_error" => 404,
                "permission_error" => 403,
                "authentication_error" => 401,
                _ => 400,
            };
            errored(&ApiError::from_parts(status, &error_type, None, None))
        }
        None => json!({"type": "expired"}),
    }))
}

/// `GET /v1/messages/batches`: newest first, `limit` (1–1000, 20); `after_id` pages
/// toward older batches (the next page is `after_id` = `last_id`), `before_id` toward newer
/// ones (the page just before that batch).
fn list(shared: &Arc<Shared>, query: &str) -> Result<Value, ApiError> {
    let mut limit = 20usize;
    let mut before = None;
    let mut after = None;
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        match k {
            "limit" => {
                limit = v
                    .parse()
                    .ok()
                    .filter(|n| (1..=1000).contains(n))
                    .ok_or_else(|| {
                        ApiError::invalid("limit: Input should be between 1 and 1000")
                    })?;
            }
            "before_id" => before = Some(v.to_owned()),
            "after_id" => after = Some(v.to_owned()),
            _ => {}
        }
    }
    Ok(shared.read(|s| {
        let newest_first: Vec<&Batch> = s.batches.values().rev().collect();
        let start = after
            .as_ref()
            .and_then(|a| newest_first.iter().position(|b| &b.id == a))
            .map_or(0, |i| i + 1);
        let end = before
            .as_ref()
            .and_then(|b| newest_first.iter().position(|x| &x.id == b))
            .unwrap_or(newest_first.len());
        let window = newest_first.get(start..end.max(start)).unwrap_or_default();
        // `before_id` pages toward newer batches: the `limit` just before it.
        let skip = if before.is_some() && after.is_none() {
            window.len().saturating_sub(limit)
        } else {
            0
        };
        let page: Vec<Value> = window
            .iter()
            .skip(skip)
            .take(limit)
            .map(|b| b.object())
            .collect();
        json!({
            "data": page,
            "has_more": window.len() > limit,
            "first_id": page.first().map(|b| b["id"].clone()),
            "last_id": page.last().map(|b| b["id"].clone()),
        })
    }))
}

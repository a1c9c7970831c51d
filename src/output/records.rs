//! `job.json` and `messages.json`, field by field (docs/output.md §2, §3), and the
//! freshness check that reads a previous `job.json` back.

use camino::Utf8Path;
use serde::Serialize;
use serde_json::Value;

use super::outcome::{AttachedInput, Exchange, JobError, JobOutcome, OutputFile};
use crate::api::messages::{CacheTtl, Usage};
use crate::api::prices::{PriceRow, Rates};
use crate::manifest::RequestSettings;
use crate::plan::PlannedJob;
use crate::plan::expect::{Produced, evaluate, satisfied_by};
use crate::plan::price::Applied;
use crate::plan::price::Cost;
use crate::status::ErrorKind;

/// Bumped when a field of `job.json` changes meaning or goes away.
const JOB_JSON_VERSION: u32 = 1;

/// The content of `job.json` (docs/output.md §2).
#[cfg(test)]
pub fn job_json(outcome: &JobOutcome) -> Value {
    // Cannot fail: every map in the record has string keys.
    serde_json::to_value(job_record(outcome)).unwrap_or_default()
}

/// `job.json`, field by field in the order people read it: status first.
#[derive(Serialize)]
pub(super) struct JobRecord<'a> {
    job_json_version: u32,
    status: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<ErrorRecord<'a>>,
    id: &'a str,
    manifest: &'a Utf8Path,
    job: &'a str,
    fingerprint: &'a str,
    model: &'a str,
    tool: &'a str,
    api_version: &'a str,
    settings: &'a RequestSettings,
    request: &'a Value,
    system: &'a str,
    turns: &'a [String],
    #[serde(skip_serializing_if = "Option::is_none")]
    repair_turns: Option<&'a [String]>,
    inputs: &'a [AttachedInput],
    outputs: Vec<OutputRecord<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    expect: Option<Vec<ExpectRecord<'a>>>,
    requests: Vec<RequestRecord<'a>>,
    usage: Usage,
    /// The job's price, by category (docs/output.md §2); container time is not in it.
    cost: Cost,
    /// The USD-per-million-token prices of its model when it started (its first request's
    /// row, or the manifest's `pricing:`); each request records the row it was billed at.
    prices: Rates,
    /// That row in full: period, tier, factors, source.
    price_row: &'a PriceRow,
    cache: CacheTtl,
    container_id: Option<&'a str>,
    started_at: jiff::Timestamp,
    finished_at: jiff::Timestamp,
    runner_version: &'static str,
}

/// Like [`JobError`], but `request_id` is always present (null when unknown), so scripts
/// see the same keys in every failed job.
#[derive(Serialize)]
struct ErrorRecord<'a> {
    kind: ErrorKind,
    message: &'a str,
    request_id: Option<&'a str>,
}

#[derive(Serialize)]
struct OutputRecord<'a> {
    name: &'a str,
    path: &'a str,
    file_id: &'a str,
    size: u64,
    blake3: &'a str,
    /// BLAKE3 without the image's C2PA manifest, only when one was stripped (§2.6).
    #[serde(skip_serializing_if = "Option::is_none")]
    content_blake3: Option<&'a str>,
    original_name: Option<&'a str>,
    mime_type: Option<&'a str>,
    /// The `expect` entries this file counts for; absent when the job expects nothing.
    #[serde(skip_serializing_if = "Option::is_none")]
    satisfies: Option<Vec<&'a str>>,
    turn: usize,
}

/// One `expect` entry and how it fared against the saved files (docs/output.md §2.10).
#[derive(Serialize)]
struct ExpectRecord<'a> {
    name: &'a str,
    min: u32,
    min_size: Option<u64>,
    status: &'static str,
    /// Names in `files/` that count for it.
    files: Vec<&'a str>,
}

#[derive(Serialize)]
struct RequestRecord<'a> {
    request_id: Option<&'a str>,
    turn: usize,
    continuation: u32,
    stop_reason: Option<&'a str>,
    /// Why the turn stopped, as the API sent it (a refusal's `category` and `explanation`);
    /// absent when the response had none or `null`.
    #[serde(skip_serializing_if = "Option::is_none")]
    stop_details: Option<&'a Value>,
    /// The response's `usage` in full (docs/output.md §2.8).
    usage: Value,
    cost_usd: f64,
    /// The price row, tier and factor it was billed at.
    price: Applied,
    /// Batch mode only: the Message Batch id and the item's `custom_id`.
    #[serde(skip_serializing_if = "Option::is_none")]
    batch_id: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    custom_id: Option<&'a str>,
    /// Batch mode only: the response's `usage.service_tier` (`batch`: batch prices).
    #[serde(skip_serializing_if = "Option::is_none")]
    service_tier: Option<&'a str>,
}

pub(super) fn job_record(outcome: &JobOutcome) -> JobRecord<'_> {
    let job = &outcome.job;
    let first_row = match outcome.exchanges.first() {
        Some(e) => job.prices.on(e.received_on),
        None => &job.price,
    };
    let expect = job.deliverables.as_ref().map(|d| &d.expect[..]);
    // Judged on the saved files by the name the API gave them, as the check after the last
    // turn judged the metadata.
    let produced: Vec<Produced<'_>> = outcome
        .outputs
        .iter()
        .map(|f| Produced {
            name: f.original_name.as_deref().unwrap_or(&f.name),
            size: f.size,
        })
        .collect();
    let statuses = expect.map(|e| evaluate(e, &produced)).unwrap_or_default();
    JobRecord {
        job_json_version: JOB_JSON_VERSION,
        status: if outcome.succeeded() {
            "succeeded"
        } else {
            "failed"
        },
        error: outcome.error.as_ref().map(error_record),
        id: &job.id,
        manifest: &job.manifest,
        job: &job.name,
        fingerprint: &job.fingerprint,
        model: &job.settings.model,
        tool: &job.settings.tool,
        api_version: &job.settings.api_version,
        settings: &job.settings,
        request: &outcome.request,
        system: &job.system,
        turns: &job.turns,
        repair_turns: expect.map(|_| &outcome.repair_turns[..]),
        inputs: &outcome.inputs,
        outputs: outcome
            .outputs
            .iter()
            .enumerate()
            .map(|(i, f)| OutputRecord {
                satisfies: expect.map(|e| satisfied_by(e, &statuses, i)),
                ..output_record(f)
            })
            .collect(),
        expect: expect.map(|e| {
            e.iter()
                .zip(&statuses)
                .map(|(e, s)| ExpectRecord {
                    name: &e.name,
                    min: e.min,
                    min_size: e.min_size,
                    status: if s.satisfied { "satisfied" } else { "missing" },
                    files: s
                        .files
                        .iter()
                        .map(|&i| outcome.outputs[i].name.as_str())
                        .collect(),
                })
                .collect()
        }),
        requests: outcome
            .exchanges
            .iter()
            .map(|e| request_record(e, job))
            .collect(),
        usage: outcome.usage(),
        cost: outcome.cost(),
        prices: first_row.rates,
        price_row: first_row,
        cache: job.cache,
        container_id: outcome.container_id.as_deref(),
        started_at: outcome.started_at,
        finished_at: outcome.finished_at,
        runner_version: env!("CARGO_PKG_VERSION"),
    }
}

fn error_record(e: &JobError) -> ErrorRecord<'_> {
    ErrorRecord {
        kind: e.kind,
        message: &e.message,
        request_id: e.request_id.as_deref(),
    }
}

fn output_record(f: &OutputFile) -> OutputRecord<'_> {
    OutputRecord {
        name: &f.name,
        path: &f.path,
        file_id: &f.file_id,
        size: f.size,
        blake3: &f.blake3,
        content_blake3: f.content_blake3.as_deref(),
        original_name: f.original_name.as_deref(),
        mime_type: f.mime_type.as_deref(),
        satisfies: None,
        turn: f.turn,
    }
}

fn request_record<'a>(e: &'a Exchange, job: &PlannedJob) -> RequestRecord<'a> {
    RequestRecord {
        request_id: e.request_id.as_deref(),
        turn: e.turn,
        continuation: e.continuation,
        stop_reason: e.stop_reason.as_deref(),
        stop_details: Some(&e.response["stop_details"]).filter(|d| !d.is_null()),
        usage: usage_record(e),
        cost_usd: e.cost(job).usd,
        price: e.applied(job),
        batch_id: e.batch.as_ref().map(|b| b.batch_id.as_str()),
        custom_id: e.batch.as_ref().map(|b| b.custom_id.as_str()),
        service_tier: e
            .batch
            .as_ref()
            .and_then(|_| e.response["usage"]["service_tier"].as_str()),
    }
}

/// A response's `usage` as received, every key kept (`output_tokens_details`,
/// `inference_geo`, `speed`, `iterations`, …, docs/api.md §3.8), with the counters the
/// runner prices overwritten by the values it read (a missing or odd one is 0), so what
/// `job.json` shows is what was billed.
fn usage_record(e: &Exchange) -> Value {
    // Cannot fail: `Usage` is a struct of integers.
    let counted = serde_json::to_value(e.usage).unwrap_or_default();
    let Value::Object(counted) = counted else {
        return counted;
    };
    let mut usage = match &e.response["usage"] {
        Value::Object(received) => received.clone(),
        _ => serde_json::Map::new(),
    };
    for (key, value) in counted {
        match (usage.get_mut(&key), value) {
            // `cache_creation` may carry TTLs the runner does not know: keep them.
            (Some(Value::Object(received)), Value::Object(read)) => received.extend(read),
            (_, value) => {
                usage.insert(key, value);
            }
        }
    }
    Value::Object(usage)
}

#[derive(Serialize)]
pub(super) struct MessagesRecord<'a> {
    request: &'a Value,
    messages: &'a [Value],
    responses: Vec<&'a Value>,
}

pub(super) fn messages_record(outcome: &JobOutcome) -> MessagesRecord<'_> {
    MessagesRecord {
        request: &outcome.request,
        messages: &outcome.messages,
        responses: outcome.exchanges.iter().map(|e| &e.response).collect(),
    }
}

/// A job is fresh when its folder's `job.json` says it succeeded with this fingerprint.
pub fn is_fresh(out: &Utf8Path, job_id: &str, fingerprint: &str) -> bool {
    let Ok(bytes) = fs_err::read(out.join(job_id).join("job.json")) else {
        return false;
    };
    let Ok(value) = serde_json::from_slice::<Value>(&bytes) else {
        return false;
    };
    value["status"] == "succeeded" && value["fingerprint"] == fingerprint
}

/// The `cost.usd` of the job's previous `job.json`, if it has one (for `runner plan`).
pub fn last_cost(out: &Utf8Path, job_id: &str) -> Option<f64> {
    let bytes = fs_err::read(out.join(job_id).join("job.json")).ok()?;
    let value = serde_json::from_slice::<Value>(&bytes).ok()?;
    value["cost"]["usd"]
        .as_f64()
        .filter(|c| c.is_finite() && *c >= 0.0)
}

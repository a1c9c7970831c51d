//! `job.json` and `messages.json`, field by field (docs/output.md §2, §3), and the
//! freshness check that reads a previous `job.json` back.

use std::borrow::Cow;

use camino::Utf8Path;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::outcome::{AttachedInput, Exchange, JobError, JobOutcome, OutputFile};
use super::skill_records::SkillRecord;
use crate::api::messages::{CacheTtl, Usage};
use crate::api::prices::{PriceRow, Rates};
use crate::manifest::Expectation;
use crate::manifest::RequestSettings;
use crate::plan::PlannedJob;
use crate::plan::expect::{EntryStatus, Produced, evaluate, satisfied_by};
use crate::plan::price::Applied;
use crate::plan::price::Parts;
use crate::status::{ErrorKind, JobStatus};

/// Bumped when a field of `job.json` changes meaning or goes away.
const JOB_JSON_VERSION: u32 = 1;

/// The content of `job.json` (docs/output.md §2).
#[cfg(test)]
pub(crate) fn job_json(outcome: &JobOutcome) -> Value {
    // Cannot fail: every map in the record has string keys.
    serde_json::to_value(job_record(outcome)).unwrap_or_default()
}

/// `job.json`, field by field in the order people read it: status first. Written from a
/// job's outcome and read back by every reader ([`read_job_json`]): a record an older
/// runner wrote lacks some fields (they read as `None` or empty) and may hold keys this
/// one does not know (ignored). Fields every runner writes are optional only so a record
/// read back never gains a value it did not hold.
#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(default)]
pub(crate) struct JobRecord<'a> {
    pub job_json_version: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<JobStatus>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<ErrorRecord<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<Cow<'a, str>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub manifest: Option<Cow<'a, str>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub job: Option<Cow<'a, str>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fingerprint: Option<Cow<'a, str>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub model: Option<Cow<'a, str>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tool: Option<Cow<'a, str>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub api_version: Option<Cow<'a, str>>,
    /// Compared key by key with a planned job's (`runner explain`), as recorded.
    #[serde(skip_serializing_if = "AsWritten::is_absent")]
    pub settings: AsWritten<'a, RequestSettings>,
    #[serde(skip_serializing_if = "AsWritten::is_absent")]
    pub request: AsWritten<'a, Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub system: Option<Cow<'a, str>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub turns: Option<Cow<'a, [String]>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub repair_turns: Option<Cow<'a, [String]>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub inputs: Option<Vec<InputRecord<'a>>>,
    /// One per skill the job's requests used (docs/output.md §2.11); absent when none.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub skills: Vec<SkillRecord>,
    /// The job's matrix cell, key → value (docs/output.md §2); absent when none.
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub params: std::collections::BTreeMap<String, String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub outputs: Option<Vec<OutputRecord<'a>>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expect: Option<Vec<ExpectRecord<'a>>>,
    /// The values of the job's `metrics:` file (docs/output.md §2.12); absent when none.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub metrics: Option<crate::output::metric_values::Metrics>,
    /// The code-execution results that were errors (docs/output.md §2.13); absent when none.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tool_errors: Vec<super::tool_errors::ToolError>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub requests: Option<Vec<RequestRecord<'a>>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub usage: Option<Usage>,
    /// The job's price, by category (docs/output.md §2); container time is not in it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cost: Option<CostRecord>,
    /// The USD-per-million-token prices of its model when it started (its first request's
    /// row, or the manifest's `pricing:`); each request records the row it was billed at.
    #[serde(skip_serializing_if = "AsWritten::is_absent")]
    pub prices: AsWritten<'a, Rates>,
    /// That row in full: period, tier, factors, source.
    #[serde(skip_serializing_if = "AsWritten::is_absent")]
    pub price_row: AsWritten<'a, PriceRow>,
    #[serde(skip_serializing_if = "AsWritten::is_absent")]
    pub cache: AsWritten<'a, CacheTtl>,
    /// `null` when the job never got a container; absent only in a record that lacks it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub container_id: Option<Option<Cow<'a, str>>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub started_at: Option<jiff::Timestamp>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub finished_at: Option<jiff::Timestamp>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub runner_version: Option<Cow<'a, str>>,
}

/// A part of the record no reader takes apart: written from the runner's own type, read
/// back as the JSON it holds, so what an older runner wrote there is kept as it was.
#[derive(Debug, Default)]
pub(crate) enum AsWritten<'a, T: Clone> {
    Typed(Cow<'a, T>),
    Json(Value),
    /// Not in the record read back.
    #[default]
    Absent,
}

impl<T: Serialize + Clone> AsWritten<'_, T> {
    fn is_absent(&self) -> bool {
        matches!(self, AsWritten::Absent)
    }

    /// The part as JSON (`null` when absent).
    pub(crate) fn to_json(&self) -> Value {
        match self {
            // Cannot fail: the parts are structs and maps with string keys.
            AsWritten::Typed(t) => serde_json::to_value(t.as_ref()).unwrap_or_default(),
            AsWritten::Json(v) => v.clone(),
            AsWritten::Absent => Value::Null,
        }
    }
}

impl<T: Serialize + Clone> Serialize for AsWritten<'_, T> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            AsWritten::Typed(t) => t.as_ref().serialize(s),
            AsWritten::Json(v) => v.serialize(s),
            AsWritten::Absent => s.serialize_none(),
        }
    }
}

impl<'de, T: Clone> Deserialize<'de> for AsWritten<'_, T> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Value::deserialize(d).map(AsWritten::Json)
    }
}

/// Like [`JobError`], but `request_id` is always present (null when unknown), so scripts
/// see the same keys in every failed job.
#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(default)]
pub(crate) struct ErrorRecord<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kind: Option<ErrorKind>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<Cow<'a, str>>,
    pub request_id: Option<Cow<'a, str>>,
}

/// The job's cost: `usd` read back where there is one.
#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct CostRecord {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub usd: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parts: Option<Parts>,
}

/// An attached input: [`AttachedInput`]'s fields, as `job.json` lays them out.
#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(default)]
pub(crate) struct InputRecord<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub path: Option<Cow<'a, str>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<Cow<'a, str>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub size: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub blake3: Option<Cow<'a, str>>,
    pub file_id: Option<Cow<'a, str>>,
}

#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(default)]
pub(crate) struct OutputRecord<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<Cow<'a, str>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub path: Option<Cow<'a, str>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub file_id: Option<Cow<'a, str>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub size: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub blake3: Option<Cow<'a, str>>,
    /// BLAKE3 without the image's C2PA manifest, only when one was stripped (§2.6).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub content_blake3: Option<Cow<'a, str>>,
    pub original_name: Option<Cow<'a, str>>,
    pub mime_type: Option<Cow<'a, str>>,
    /// The `expect` entries this file counts for; absent when the job expects nothing.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub satisfies: Option<Vec<Cow<'a, str>>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub turn: Option<usize>,
}

/// One `expect` entry and how it fared against the saved files (docs/output.md §2.10).
#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(default)]
pub(crate) struct ExpectRecord<'a> {
    pub name: Cow<'a, str>,
    pub min: u32,
    pub min_size: Option<u64>,
    pub status: Cow<'a, str>,
    /// Names in `files/` that count for it.
    pub files: Vec<Cow<'a, str>>,
}

#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(default)]
pub(crate) struct RequestRecord<'a> {
    pub request_id: Option<Cow<'a, str>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub turn: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub continuation: Option<u32>,
    pub stop_reason: Option<Cow<'a, str>>,
    /// Why the turn stopped, as the API sent it (a refusal's `category` and `explanation`);
    /// absent when the response had none or `null`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stop_details: Option<Cow<'a, Value>>,
    /// The response's `usage` in full (docs/output.md §2.8).
    pub usage: Value,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cost_usd: Option<f64>,
    /// The price row, tier and factor it was billed at.
    #[serde(skip_serializing_if = "AsWritten::is_absent")]
    pub price: AsWritten<'a, Applied>,
    /// Batch mode only: the Message Batch id and the item's `custom_id`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub batch_id: Option<Cow<'a, str>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub custom_id: Option<Cow<'a, str>>,
    /// Batch mode only: the response's `usage.service_tier` (`batch`: batch prices).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub service_tier: Option<Cow<'a, str>>,
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
    let cost = outcome.cost();
    JobRecord {
        job_json_version: JOB_JSON_VERSION,
        status: Some(if outcome.succeeded() {
            JobStatus::Succeeded
        } else {
            JobStatus::Failed
        }),
        error: outcome.error.as_ref().map(error_record),
        id: Some(job.id.as_str().into()),
        manifest: Some(job.manifest.as_str().into()),
        job: Some(job.name.as_str().into()),
        fingerprint: Some(job.fingerprint.as_str().into()),
        model: Some(job.settings.model.as_str().into()),
        tool: Some(job.settings.tool.as_str().into()),
        api_version: Some(job.settings.api_version.as_str().into()),
        settings: AsWritten::Typed(Cow::Borrowed(&job.settings)),
        request: AsWritten::Typed(Cow::Borrowed(&outcome.request)),
        system: Some(job.system.as_str().into()),
        turns: Some(job.turns[..].into()),
        repair_turns: expect.map(|_| outcome.repair_turns[..].into()),
        inputs: Some(outcome.inputs.iter().map(input_record).collect()),
        skills: super::skill_records::of(outcome),
        params: job.params.clone(),
        outputs: Some(output_records(outcome, expect, &statuses)),
        expect: expect.map(|e| expect_records(outcome, e, &statuses)),
        metrics: outcome.metrics.clone(),
        tool_errors: super::tool_errors::of(&outcome.exchanges),
        requests: Some(
            outcome
                .exchanges
                .iter()
                .map(|e| request_record(e, job))
                .collect(),
        ),
        usage: Some(outcome.usage()),
        cost: Some(CostRecord {
            usd: Some(cost.usd),
            parts: Some(cost.parts),
        }),
        prices: AsWritten::Typed(Cow::Borrowed(&first_row.rates)),
        price_row: AsWritten::Typed(Cow::Borrowed(first_row)),
        cache: AsWritten::Typed(Cow::Borrowed(&job.cache)),
        container_id: Some(outcome.container_id.as_deref().map(Cow::Borrowed)),
        started_at: Some(outcome.started_at),
        finished_at: Some(outcome.finished_at),
        runner_version: Some(env!("CARGO_PKG_VERSION").into()),
    }
}

/// The saved files, each with the `expect` entries it counts for when the job has some.
fn output_records<'a>(
    outcome: &'a JobOutcome,
    expect: Option<&'a [Expectation]>,
    statuses: &[EntryStatus],
) -> Vec<OutputRecord<'a>> {
    outcome
        .outputs
        .iter()
        .enumerate()
        .map(|(i, f)| OutputRecord {
            satisfies: expect.map(|e| {
                satisfied_by(e, statuses, i)
                    .into_iter()
                    .map(Cow::Borrowed)
                    .collect()
            }),
            ..output_record(f)
        })
        .collect()
}

/// Each `expect` entry, how it fared, and the saved files that count for it.
fn expect_records<'a>(
    outcome: &'a JobOutcome,
    expect: &'a [Expectation],
    statuses: &[EntryStatus],
) -> Vec<ExpectRecord<'a>> {
    expect
        .iter()
        .zip(statuses)
        .map(|(e, s)| ExpectRecord {
            name: e.name.as_str().into(),
            min: e.min,
            min_size: e.min_size,
            status: if s.satisfied { "satisfied" } else { "missing" }.into(),
            files: s
                .files
                .iter()
                .map(|&i| outcome.outputs[i].name.as_str().into())
                .collect(),
        })
        .collect()
}

fn error_record(e: &JobError) -> ErrorRecord<'_> {
    ErrorRecord {
        kind: Some(e.kind),
        message: Some(e.message.as_str().into()),
        request_id: e.request_id.as_deref().map(Cow::Borrowed),
    }
}

fn input_record(a: &AttachedInput) -> InputRecord<'_> {
    InputRecord {
        path: Some(a.input.path.as_str().into()),
        name: Some(a.input.name.as_str().into()),
        size: Some(a.input.size),
        blake3: Some(a.input.blake3.as_str().into()),
        file_id: a.file_id.as_deref().map(Cow::Borrowed),
    }
}

fn output_record<'a>(f: &'a OutputFile) -> OutputRecord<'a> {
    let text = |s: Option<&'a str>| s.map(Cow::Borrowed);
    OutputRecord {
        name: Some(f.name.as_str().into()),
        path: Some(f.path.as_str().into()),
        file_id: Some(f.file_id.as_str().into()),
        size: Some(f.size),
        blake3: Some(f.blake3.as_str().into()),
        content_blake3: text(f.content_blake3.as_deref()),
        original_name: text(f.original_name.as_deref()),
        mime_type: text(f.mime_type.as_deref()),
        satisfies: None,
        turn: Some(f.turn),
    }
}

fn request_record<'a>(e: &'a Exchange, job: &PlannedJob) -> RequestRecord<'a> {
    let text = |s: Option<&'a str>| s.map(Cow::Borrowed);
    RequestRecord {
        request_id: text(e.request_id.as_deref()),
        turn: Some(e.turn),
        continuation: Some(e.continuation),
        stop_reason: text(e.stop_reason.as_deref()),
        stop_details: Some(&e.response["stop_details"])
            .filter(|d| !d.is_null())
            .map(Cow::Borrowed),
        usage: usage_record(e),
        cost_usd: Some(e.cost(job).usd),
        price: AsWritten::Typed(Cow::Owned(e.applied(job))),
        batch_id: text(e.batch.as_ref().map(|b| b.batch_id.as_str())),
        custom_id: text(e.batch.as_ref().map(|b| b.custom_id.as_str())),
        service_tier: text(
            e.batch
                .as_ref()
                .and_then(|_| e.response["usage"]["service_tier"].as_str()),
        ),
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

/// A `job.json`'s bytes read back: `Err` when they are not JSON, or not a record's JSON.
pub(crate) fn parse_job_json(bytes: &[u8]) -> serde_json::Result<JobRecord<'static>> {
    serde_json::from_slice(bytes)
}

/// The `job.json` at `path`; `None` when it is missing, unreadable or does not parse.
pub(crate) fn read_job_json(path: &Utf8Path) -> Option<JobRecord<'static>> {
    let bytes = fs_err::read(path).ok()?;
    parse_job_json(&bytes).ok()
}

impl JobRecord<'_> {
    pub(crate) fn succeeded(&self) -> bool {
        self.status == Some(JobStatus::Succeeded)
    }
}

/// A job is fresh when its folder's `job.json` says it succeeded with this fingerprint.
pub(crate) fn is_fresh(out: &Utf8Path, job_id: &str, fingerprint: &str) -> bool {
    read_job_json(&out.join(job_id).join("job.json"))
        .is_some_and(|r| r.succeeded() && r.fingerprint.as_deref() == Some(fingerprint))
}

/// The `cost.usd` of the job's previous `job.json`, if it has one (for `runner plan`).
pub(crate) fn last_cost(out: &Utf8Path, job_id: &str) -> Option<f64> {
    read_job_json(&out.join(job_id).join("job.json"))?
        .cost?
        .usd
        .filter(|c| c.is_finite() && *c >= 0.0)
}

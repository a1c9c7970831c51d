//! `runner batches`: the batches `runner run --batch` recorded under `OUT/.batches/`
//! (`output/batch_journal.rs`, docs/output.md §15). Pending ones first, oldest first, with
//! their live state and `request_counts` from the API when a key is configured; then the
//! recent ended ones, newest first, as recorded. Read-only: it never collects, cancels or
//! prunes. Only an unreadable `OUT/.batches` fails it; a failing API call is one batch
//! shown as `unknown` and a note, so the listing is there when the API is not.

use std::collections::HashSet;

use futures_util::StreamExt;
use serde::Serialize;

use crate::api::batches::{BatchInfo, BatchStatus, RequestCounts};
use crate::api::retry::{GaveUp, retry};
use crate::config::BatchesConfig;
use crate::error::{Error, Exit};
use crate::output::batch_journal::{Journal, Record};
use crate::ui::{self, Display};
use crate::units;

/// Ended batches listed without `--all`.
const RECENT: usize = 10;
/// Retrievals in flight at once.
const IN_FLIGHT: usize = 4;
/// Jobs named per line; the rest are counted.
const JOBS_SHOWN: usize = 3;

/// One line of the listing; with `--json`, one object (field names are stable, §15).
#[derive(Debug, Serialize)]
struct Listed {
    batch_id: String,
    /// The API's `processing_status` (`in_progress`, `canceling`, `ended`) for a pending
    /// batch; `pending` when not asked, `unknown` when asking failed; `ended` once collected.
    state: &'static str,
    created_at: Option<jiff::Timestamp>,
    /// When the runner collected it (moved it to `ended/`); `null` while pending.
    ended_at: Option<jiff::Timestamp>,
    requests: usize,
    consumed: usize,
    /// `null` when unknown (pending and not asked, or never seen by the runner).
    request_counts: Option<RequestCounts>,
    jobs: Vec<JobItem>,
    /// The runner canceled it (`--batch-deadline`, `--cancel-on-interrupt`).
    canceled: bool,
}

#[derive(Debug, Serialize)]
struct JobItem {
    /// Empty in records written before jobs were recorded.
    job: String,
    turn: u32,
    continuation: u32,
    custom_id: String,
}

/// What the API says about a pending batch.
enum Live {
    /// Not asked: `--offline`, or no key.
    NotAsked,
    Known(BatchInfo),
    Failed,
}

pub(super) async fn batches(config: BatchesConfig, display: &Display) -> Result<Exit, Error> {
    let journal = Journal::new(&config.out);
    let dir = config.out.join(".batches");
    journal
        .check_readable()
        .map_err(|source| Error::ReadRecord {
            path: dir.clone(),
            source,
        })?;
    if !display.quiet {
        for intent in journal.intents() {
            ui::note(&format!(
                "warning: a batch create of {} at {} (intent {}) never answered: the \
                 next `runner run --batch` asks the API whether it made that batch before \
                 submitting any of them again",
                units::count(intent.items.len(), "request"),
                intent.at.strftime("%Y-%m-%d %H:%M:%SZ"),
                intent.nonce
            ));
        }
    }
    let pending = journal.pending_records();
    // A run folding a record between the two reads can show it in both: pending wins.
    let pending_ids: HashSet<&str> = pending.iter().map(|r| r.batch_id.as_str()).collect();
    let mut ended: Vec<Record> = journal
        .ended_records()
        .into_iter()
        .filter(|r| !pending_ids.contains(r.batch_id.as_str()))
        .collect();
    let ended_total = ended.len();
    if !config.all {
        ended.truncate(RECENT);
    }
    if pending.is_empty() && ended.is_empty() {
        if !display.quiet {
            ui::note(&format!("no batch recorded in {dir}"));
        }
        if config.json {
            ui::stdout("[]\n");
        }
        return Ok(Exit::Success);
    }
    let live = live(&config, &pending, display).await;
    let pending: Vec<Listed> = pending
        .iter()
        .zip(live)
        .map(|(r, l)| listed(r, l))
        .collect();
    let ended: Vec<Listed> = ended.iter().map(|r| listed(r, Live::NotAsked)).collect();
    let text = if config.json {
        let all: Vec<&Listed> = pending.iter().chain(&ended).collect();
        serde_json::to_string_pretty(&all).map_err(Error::Json)? + "\n"
    } else {
        render(&pending, &ended, ended_total)
    };
    ui::stdout(&text);
    Ok(Exit::Success)
}

/// Each pending batch's state from the API, in order; why not asked, or what failed, as
/// notes on stderr.
async fn live(config: &BatchesConfig, pending: &[Record], display: &Display) -> Vec<Live> {
    let not_asked = || pending.iter().map(|_| Live::NotAsked).collect();
    if pending.is_empty() {
        return Vec::new();
    }
    let Some(api) = &config.api else {
        if !display.quiet {
            ui::note("--offline: pending batches as recorded; live state and counts need the API");
        }
        return not_asked();
    };
    if api.key.is_none() {
        if !display.quiet {
            ui::note(
                "pending batches as recorded: live state and counts need ANTHROPIC_API_KEY \
                 (or ANTHROPIC_API_KEY_FILE)",
            );
        }
        return not_asked();
    }
    let client = match api.connect(config.pacing()) {
        Ok(client) => client,
        Err(e) => {
            ui::note(&format!("warning: cannot reach the API: {e}"));
            return pending.iter().map(|_| Live::Failed).collect();
        }
    };
    let client = &client;
    let answers: Vec<Result<BatchInfo, GaveUp>> = futures_util::stream::iter(pending)
        .map(|r| {
            retry(&config.policy, move |attempt| {
                client.retrieve_batch(&r.batch_id, &r.api_version, attempt)
            })
        })
        .buffered(IN_FLIGHT)
        .collect()
        .await;
    // Notes after all answers, in listing order (not in the order they failed).
    pending
        .iter()
        .zip(answers)
        .map(|(r, answer)| match answer {
            Ok(info) => Live::Known(info),
            Err(e) => {
                ui::note(&format!(
                    "warning: {}: cannot get its state: {e}",
                    r.batch_id
                ));
                Live::Failed
            }
        })
        .collect()
}

fn listed(record: &Record, live: Live) -> Listed {
    let consumed = record
        .items
        .iter()
        .filter(|i| record.consumed.contains(&i.custom_id))
        .count();
    // By job, not in the order the jobs happened to submit: the same listing every time.
    let mut jobs: Vec<JobItem> = record
        .items
        .iter()
        .map(|i| JobItem {
            job: i.job.clone(),
            turn: i.turn,
            continuation: i.continuation,
            custom_id: i.custom_id.clone(),
        })
        .collect();
    jobs.sort_by(|a, b| {
        (&a.job, a.turn, a.continuation, &a.custom_id).cmp(&(
            &b.job,
            b.turn,
            b.continuation,
            &b.custom_id,
        ))
    });
    let ended = record.ended.as_ref();
    let (state, request_counts) = match (ended, live) {
        (Some(e), _) => ("ended", e.request_counts),
        (None, Live::NotAsked) => ("pending", None),
        (None, Live::Failed) => ("unknown", None),
        (None, Live::Known(info)) => (status(info.processing_status), Some(info.request_counts)),
    };
    Listed {
        batch_id: record.batch_id.clone(),
        state,
        created_at: record.created_at,
        ended_at: ended.map(|e| e.at),
        requests: record.items.len(),
        consumed,
        request_counts,
        jobs,
        canceled: ended.is_some_and(|e| e.canceled),
    }
}

fn status(s: BatchStatus) -> &'static str {
    match s {
        BatchStatus::InProgress => "in_progress",
        BatchStatus::Canceling => "canceling",
        BatchStatus::Ended => "ended",
    }
}

/// Both sections, each under its header, columns aligned across both.
fn render(pending: &[Listed], ended: &[Listed], ended_total: usize) -> String {
    let rows: Vec<[String; 6]> = pending.iter().chain(ended).map(columns).collect();
    let mut widths = [0; 5];
    for row in &rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let line = |row: &[String; 6]| {
        let mut text = String::new();
        for (cell, w) in row.iter().zip(widths) {
            text.push_str(&format!("{cell:<w$}  "));
        }
        text.push_str(&row[5]);
        text.trim_end().to_owned() + "\n"
    };
    let mut text = match pending.len() {
        0 => "pending: none\n".to_owned(),
        n => format!(
            "pending: {n} batch{}, oldest first; the same `runner run --batch` again collects them\n",
            if n == 1 { "" } else { "es" }
        ),
    };
    text.extend(rows[..pending.len()].iter().map(line));
    text.push_str(&match ended.len() {
        0 => "ended: none\n".to_owned(),
        n if n < ended_total => {
            format!("ended: the {n} newest of {ended_total} (--all for every one)\n")
        }
        n => format!(
            "ended: {n} batch{}, newest first\n",
            if n == 1 { "" } else { "es" }
        ),
    });
    text.extend(rows[pending.len()..].iter().map(line));
    text
}

/// id, state, created, requests, counts, jobs.
fn columns(b: &Listed) -> [String; 6] {
    let state = match (b.state, b.ended_at, b.canceled) {
        ("ended", None, _) => "ended (not yet collected: re-run to collect)".to_owned(),
        ("ended", Some(_), true) => "ended (canceled)".to_owned(),
        (state, ..) => state.to_owned(),
    };
    let created = b.created_at.map_or_else(
        || "-".to_owned(),
        |t| t.strftime("%Y-%m-%d %H:%M:%SZ").to_string(),
    );
    let requests = format!(
        "{}, {} consumed",
        units::count(b.requests, "request"),
        b.consumed
    );
    [
        b.batch_id.clone(),
        state,
        created,
        requests,
        counts(b.request_counts),
        jobs(&b.jobs),
    ]
}

/// `2 succeeded, 1 errored`: the counts that are not zero, in a fixed order; `-` unknown.
fn counts(c: Option<RequestCounts>) -> String {
    let Some(c) = c.filter(|c| c.total() > 0) else {
        return "-".to_owned();
    };
    let parts = [
        (c.succeeded, "succeeded"),
        (c.errored, "errored"),
        (c.expired, "expired"),
        (c.canceled, "canceled"),
        (c.processing, "processing"),
    ];
    let shown: Vec<String> = parts
        .iter()
        .filter(|(n, _)| *n > 0)
        .map(|(n, what)| format!("{n} {what}"))
        .collect();
    shown.join(", ")
}

/// `m/long turn 2, m/plain turn 1 (+3 more)`; items of old records (no job) say nothing.
fn jobs(items: &[JobItem]) -> String {
    let named: Vec<String> = items
        .iter()
        .filter(|i| !i.job.is_empty())
        .map(|i| match i.continuation {
            0 => format!("{} turn {}", i.job, i.turn),
            c => format!("{} turn {} (continuation {c})", i.job, i.turn),
        })
        .collect();
    let mut text = named[..named.len().min(JOBS_SHOWN)].join(", ");
    if let Some(more) = named.len().checked_sub(JOBS_SHOWN).filter(|n| *n > 0) {
        text.push_str(&format!(" (+{more} more)"));
    }
    text
}

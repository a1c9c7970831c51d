//! Batch mode (`runner run --batch`, docs/output.md "Batch mode"): every Messages request
//! of the run goes through the Message Batches API (docs/api.md §5) instead of
//! `POST /v1/messages`.
//!
//! The per-job logic is not duplicated: each job runs the same conversation as online
//! (`conversation.rs`: turns, `pause_turn`, follow-ups, deliverables repair), and only the
//! transport of one request differs: `priced.rs` hands the body to [`Batcher::submit`] and
//! awaits its result. The batcher gathers requests into **rounds**: a round is submitted
//! when every job still conversing is waiting on a request (so round 1 holds the first
//! request of every job), split across batches only where the limits require (100,000
//! requests or 256 MB, docs/api.md §5). When a round's batches end, their results (matched
//! by `custom_id`, in any order) wake the jobs, whose next requests form the next round.
//!
//! Item results: `succeeded` → the job goes on; `errored` with a transient error type →
//! submitted again in the next round, up to `--max-attempts` submissions; any other
//! `errored` → the job fails with the API's message; `expired` → submitted once more, then
//! the job fails with kind `batch_expired`; `canceled` → interrupted. A result missing
//! from a batch's results fails its job (an error, not a hang).

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};

use serde_json::Value;
use tokio::sync::{Notify, oneshot};

use super::Ctx;
use super::batch_journal::{Journal, Record, Recorded, body_hash};
use super::batch_wait;
use crate::api::ApiError;
use crate::api::batches::{self as wire, BatchRef, BatchRequest, ItemOutcome};
use crate::api::messages::MessageResponse;
use crate::api::retry::{GaveUp, retry};

/// How one submitted request ended.
pub enum BatchAnswer {
    Answer(MessageResponse),
    Failed(GaveUp),
    /// Expired twice (`batch_expired`).
    Expired(String),
    /// Canceled, or the run was interrupted.
    Canceled,
}

struct Pending {
    body: Value,
    api_version: String,
    submissions: u32,
    expirations: u32,
    reply: oneshot::Sender<BatchAnswer>,
}

#[derive(Default)]
struct Inner {
    /// Jobs that may still submit a request.
    active: usize,
    queue: Vec<Pending>,
    next_id: u64,
    /// Batches created and not yet handed out: (id, API version).
    waiting: Vec<(String, String)>,
}

/// The round driver's shared state; see the module docs.
pub struct Batcher {
    inner: Mutex<Inner>,
    changed: Notify,
    journal: Journal,
    /// Requests recorded by an earlier run, by body hash (`batch_journal.rs`).
    recorded: Mutex<HashMap<String, (Recorded, String)>>,
    /// `--cancel-on-interrupt`.
    cancel_on_interrupt: bool,
}

/// Held by a job while it may still submit requests; dropping it lets rounds go on
/// without the job.
pub struct Enrolled(Arc<Batcher>);

impl Drop for Enrolled {
    fn drop(&mut self) {
        self.0.update(|i| i.active = i.active.saturating_sub(1));
    }
}

impl Batcher {
    /// A batcher for `jobs` jobs, each of which must be [`Batcher::enroll`]ed... by
    /// construction: the count starts at `jobs` and every [`Enrolled`] dropped lowers it.
    pub fn new(jobs: usize, out: &camino::Utf8Path, cancel_on_interrupt: bool) -> Arc<Batcher> {
        let journal = Journal::new(out);
        let recorded = Mutex::new(journal.pending());
        Arc::new(Batcher {
            inner: Mutex::new(Inner {
                active: jobs,
                ..Inner::default()
            }),
            changed: Notify::new(),
            journal,
            recorded,
            cancel_on_interrupt,
        })
    }

    /// The token one job holds (the count was set by [`Batcher::new`]).
    pub fn enroll(self: &Arc<Batcher>) -> Enrolled {
        Enrolled(Arc::clone(self))
    }

    fn with<R>(&self, f: impl FnOnce(&mut Inner) -> R) -> R {
        f(&mut self
            .inner
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner))
    }

    /// Changes the state and wakes the driver.
    fn update<R>(&self, f: impl FnOnce(&mut Inner) -> R) -> R {
        let r = self.with(f);
        self.changed.notify_one();
        r
    }

    /// Queues one request for the next round and waits for its result.
    pub async fn submit(&self, body: &Value, api_version: &str) -> BatchAnswer {
        let (tx, rx) = oneshot::channel();
        self.update(|i| {
            i.queue.push(Pending {
                body: body.clone(),
                api_version: api_version.to_owned(),
                submissions: 0,
                expirations: 0,
                reply: tx,
            });
        });
        rx.await.unwrap_or(BatchAnswer::Canceled)
    }

    /// Runs rounds until no job is left; returns when the run is interrupted too (the
    /// batches then stay with the API).
    pub async fn drive(self: Arc<Batcher>, ctx: Arc<Ctx>) {
        loop {
            let round = loop {
                // Looked at without notifying: the driver must not wake itself.
                let ready = self.with(|i| {
                    if i.active == 0 && i.queue.is_empty() {
                        return Some(None);
                    }
                    (!i.queue.is_empty() && i.queue.len() >= i.active)
                        .then(|| Some(std::mem::take(&mut i.queue)))
                });
                match ready {
                    Some(round) => break round,
                    None => tokio::select! {
                        () = self.changed.notified() => {}
                        () = ctx.cancel.cancelled() => return self.interrupted(&ctx).await,
                    },
                }
            };
            let Some(round) = round else { return };
            let requeue = tokio::select! {
                r = self.run_round(&ctx, round) => r,
                () = ctx.cancel.cancelled() => return self.interrupted(&ctx).await,
            };
            if !requeue.is_empty() {
                self.update(|i| i.queue.extend(requeue));
            }
        }
    }

    /// The run was interrupted: the batches stay with the API (recorded, so the re-run
    /// resumes them), or with `--cancel-on-interrupt` are canceled and forgotten.
    async fn interrupted(&self, ctx: &Ctx) {
        if !self.cancel_on_interrupt {
            return;
        }
        let waiting = self.with(|i| std::mem::take(&mut i.waiting));
        for (id, version) in waiting {
            match retry(&ctx.policy, |attempt| {
                ctx.client.cancel_batch(&id, &version, attempt)
            })
            .await
            {
                Ok(_) => self.journal.done(&id),
                Err(e) => tracing::error!(batch_id = id, "cannot cancel the batch: {e}"),
            }
        }
    }

    /// Submits one round and hands out its results; returns the requests to submit again.
    async fn run_round(&self, ctx: &Ctx, round: Vec<Pending>) -> Vec<Pending> {
        let mut requeue = Vec::new();
        let mut by_version: BTreeMap<String, Vec<Pending>> = BTreeMap::new();
        // Requests an earlier run already submitted: picked up from their batch.
        let mut resumed: BTreeMap<(String, String), Vec<(String, Pending)>> = BTreeMap::new();
        {
            let mut recorded = self
                .recorded
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            for p in round {
                match recorded.remove(&body_hash(&p.body)) {
                    Some((at, version)) if version == p.api_version => resumed
                        .entry((at.batch_id, version))
                        .or_default()
                        .push((at.custom_id, p)),
                    _ => by_version.entry(p.api_version.clone()).or_default().push(p),
                }
            }
        }
        let picked_up = resumed
            .into_iter()
            .map(|((batch_id, version), items)| async move {
                tracing::info!(batch_id, items = items.len(), "resuming a recorded batch");
                let (ids, items): (Vec<String>, Vec<Pending>) = items.into_iter().unzip();
                self.finish(ctx, &version, &batch_id, ids, items).await
            });
        for r in futures_util::future::join_all(picked_up).await {
            requeue.extend(r);
        }
        // Every batch of the round is created and polled at once.
        let batches = by_version.into_iter().flat_map(|(version, items)| {
            batch_wait::split(items, |p: &Pending| &p.body)
                .into_iter()
                .map(move |chunk| (version.clone(), chunk))
        });
        let runs = batches
            .map(|(version, chunk)| async move { self.run_batch(ctx, &version, chunk).await });
        for r in futures_util::future::join_all(runs).await {
            requeue.extend(r);
        }
        requeue
    }

    async fn run_batch(&self, ctx: &Ctx, version: &str, items: Vec<Pending>) -> Vec<Pending> {
        let ids: Vec<String> = self.with(|i| {
            items
                .iter()
                .map(|_| {
                    i.next_id += 1;
                    format!("req-{}", i.next_id)
                })
                .collect()
        });
        let requests: Vec<BatchRequest<'_>> = ids
            .iter()
            .zip(&items)
            .map(|(id, p)| BatchRequest {
                custom_id: id,
                params: &p.body,
            })
            .collect();
        let body = wire::create_body(&requests);
        // A create that may have reached the API is not sent again: it could make a second
        // batch of the same requests, paid twice. Only answers that say "not processed"
        // (429, 529) are retried.
        let created = retry(&ctx.policy, |attempt| {
            let call = ctx.client.create_batch(version, &body, attempt);
            async move {
                call.await.map_err(|mut e| {
                    if !matches!(e.status(), Some(429 | 529)) {
                        e.should_retry = Some(false);
                    }
                    e
                })
            }
        })
        .await;
        let batch = match created {
            Ok(b) => b,
            Err(gave_up) => {
                for p in items {
                    let _ = p.reply.send(BatchAnswer::Failed(gave_up.clone()));
                }
                return Vec::new();
            }
        };
        self.with(|i| i.waiting.push((batch.id.clone(), version.to_owned())));
        // Before anything else: a runner killed from here on resumes this batch.
        let record = Record {
            batch_id: batch.id.clone(),
            api_version: version.to_owned(),
            items: ids
                .iter()
                .zip(&items)
                .map(|(id, p)| (id.clone(), body_hash(&p.body)))
                .collect(),
        };
        if let Err(e) = self.journal.record(&record) {
            tracing::error!(
                batch_id = batch.id,
                "cannot record the batch under OUT/.batches ({e}); a re-run would submit its requests again"
            );
        }
        self.finish(ctx, version, &batch.id, ids, items).await
    }

    /// Waits for a batch and hands its results out; returns the requests to submit again.
    async fn finish(
        &self,
        ctx: &Ctx,
        version: &str,
        batch_id: &str,
        ids: Vec<String>,
        items: Vec<Pending>,
    ) -> Vec<Pending> {
        self.with(|i| {
            if !i.waiting.iter().any(|(w, _)| w == batch_id) {
                i.waiting.push((batch_id.to_owned(), version.to_owned()));
            }
        });
        let ended = match batch_wait::until_ended(ctx, version, batch_id).await {
            Ok(info) => info,
            Err(gave_up) => {
                for p in items {
                    let _ = p.reply.send(BatchAnswer::Failed(gave_up.clone()));
                }
                return Vec::new();
            }
        };
        let collected: Mutex<HashMap<String, ItemOutcome>> = Mutex::new(HashMap::new());
        let fetched = match ended.results_url.as_deref() {
            Some(url) => {
                retry(&ctx.policy, |attempt| {
                    let collected = &collected;
                    async move {
                        ctx.client
                            .batch_results(url, version, attempt, &mut |r| {
                                collected
                                    .lock()
                                    .unwrap_or_else(std::sync::PoisonError::into_inner)
                                    .insert(r.custom_id, r.outcome);
                            })
                            .await
                    }
                })
                .await
            }
            None => Err(GaveUp {
                error: ApiError::local(
                    "GET /v1/messages/batches/{id}",
                    format!("batch {batch_id} ended without a results_url"),
                ),
                attempts: 1,
            }),
        };
        if let Err(gave_up) = fetched {
            for p in items {
                let _ = p.reply.send(BatchAnswer::Failed(gave_up.clone()));
            }
            return Vec::new();
        }
        tracing::debug!(batch_id, "results read");
        let mut results = collected
            .into_inner()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let mut requeue = Vec::new();
        for (custom_id, mut p) in ids.into_iter().zip(items) {
            p.submissions += 1;
            let batch_ref = BatchRef {
                batch_id: batch_id.to_owned(),
                custom_id: custom_id.clone(),
            };
            let answer = match results.remove(&custom_id) {
                Some(ItemOutcome::Succeeded(message)) => BatchAnswer::Answer(MessageResponse {
                    request_id: None,
                    body: message,
                    batch: Some(batch_ref),
                }),
                Some(ItemOutcome::Errored {
                    error_type,
                    message,
                }) => {
                    if wire::is_transient_item(&error_type)
                        && p.submissions < ctx.policy.max_attempts
                    {
                        requeue.push(p);
                        continue;
                    }
                    BatchAnswer::Failed(GaveUp {
                        error: wire::item_error(&batch_ref, &error_type, &message),
                        attempts: p.submissions,
                    })
                }
                Some(ItemOutcome::Expired) if p.expirations == 0 => {
                    p.expirations += 1;
                    requeue.push(p);
                    continue;
                }
                Some(ItemOutcome::Expired) => BatchAnswer::Expired(format!(
                    "the request expired twice in Message Batches (last: batch {}, custom_id {})",
                    batch_ref.batch_id, batch_ref.custom_id
                )),
                Some(ItemOutcome::Canceled) => BatchAnswer::Canceled,
                None => BatchAnswer::Failed(GaveUp {
                    error: ApiError::local(
                        "GET {results_url}",
                        format!(
                            "batch {} ended without a result for custom_id {custom_id}",
                            batch_ref.batch_id
                        ),
                    ),
                    attempts: p.submissions,
                }),
            };
            tracing::debug!(batch_id, custom_id, "item result handed to its job");
            let _ = p.reply.send(answer);
        }
        self.journal.done(batch_id);
        self.with(|i| i.waiting.retain(|(w, _)| w != batch_id));
        requeue
    }
}

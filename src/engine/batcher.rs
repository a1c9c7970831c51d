//! Batch mode (`runner run --batch`, docs/output.md §15): every Messages request
//! of the run goes through the Message Batches API (docs/api.md §5) instead of
//! `POST /v1/messages`.
//!
//! The per-job logic is not duplicated: each job runs the same conversation as online
//! (`conversation.rs`: turns, `pause_turn`, follow-ups, deliverables repair), and only the
//! transport of one request differs: `priced.rs` hands the body to [`Batcher::submit`] and
//! awaits its result. The batcher gathers requests into **rounds**: a round is submitted
//! when every job still conversing is waiting on a request, or on the budget for one
//! (`budget.rs`; so round 1 holds the first request of every job the budget lets in), split across batches only where the limits require (100,000
//! requests or 256 MB, docs/api.md §5). When a round's batches end, their results (matched
//! by `custom_id`, in any order) wake the jobs, whose next requests form the next round.
//!
//! Item results: `succeeded` → the job goes on; `errored` with a transient error type →
//! submitted again in the next round, up to `--max-attempts` submissions; any other
//! `errored` → the job fails with the API's message; `expired` → submitted once more, then
//! the job fails with kind `batch_expired`; `canceled` (a batch canceled by someone else,
//! or on interrupt) → the job is `not_started` if it was its first request, else
//! interrupted (an item of a batch an earlier run left behind is submitted again instead). A result missing from a batch's
//! results fails its job (an error, not a hang). Results are handed to their jobs as their
//! lines arrive, so a round's results are never all held at once.
//!
//! `--batch-deadline`: when it passes, the waiting batches are canceled; what they had
//! answered is used, and every request not answered by then (and every later one) is sent
//! online ([`BatchAnswer::Online`]), so a report needed by morning is ready by morning.
//!
//! The journal (`batch_journal.rs`) is told at the end of the run which items went to jobs
//! whose folders were written ([`Batcher::fold_into_journal`]); until then a killed runner
//! resumes them all.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::Value;
use tokio::sync::{Notify, oneshot};
use tokio_util::sync::CancellationToken;

use super::Ctx;
use super::batch_journal::{Item, Journal, Record, Recorded, Use};
use super::batch_wait;
use crate::api::ApiError;
use crate::api::batches::{self as wire, BatchRef, BatchRequest, ItemOutcome, RequestCounts};
use crate::api::messages::MessageResponse;
use crate::api::retry::{GaveUp, retry};
use crate::output::outcome::JobLine;
use crate::status::JobStatus;

/// Records the items of jobs a run found fresh as consumed (`batch_journal.rs`): their
/// folders were written by an earlier run, which may have been killed before saying so.
pub fn settle_fresh(out: &camino::Utf8Path, fresh: &[&str]) {
    Journal::new(out).consume_jobs(&fresh.iter().copied().collect());
}

/// How batch mode runs (`runner run --batch` and its options).
#[derive(Clone, Copy, Debug)]
pub struct BatchSettings {
    /// `--cancel-on-interrupt`.
    pub cancel_on_interrupt: bool,
    /// `--batch-deadline`, from the start of the run.
    pub deadline: Option<Duration>,
    /// `--batch-poll`: the first wait between polls of a batch, and the longest.
    pub poll_first: Duration,
    pub poll_max: Duration,
}

/// How one submitted request ended.
pub enum BatchAnswer {
    Answer(MessageResponse),
    Failed(GaveUp),
    /// Expired twice (`batch_expired`).
    Expired(String),
    /// Canceled (by someone else, or on interrupt), or the run was interrupted; says which
    /// batch when there was one.
    Canceled(Option<String>),
    /// `--batch-deadline` passed before it was answered: send it online.
    Online,
}

/// Which request of which job an item stands for.
#[derive(Debug, Clone)]
pub struct Origin {
    /// The job's id (`<manifest-stem>/<job>`).
    pub job: String,
    /// 1-based turn, and the `pause_turn` continuation within it.
    pub turn: u32,
    pub continuation: u32,
}

struct Pending {
    body: Value,
    /// [`body_hash`] of `body`, and the length of its JSON: computed once.
    hash: String,
    size: usize,
    api_version: String,
    origin: Origin,
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
    /// `--batch-deadline` has passed: requests go online.
    past_deadline: bool,
    /// Active jobs whose next request waits for budget (`budget.rs`): a round does not
    /// wait for them, since it is what frees the money they wait for.
    budget_waiting: usize,
}

/// The round driver's shared state; see the module docs.
pub struct Batcher {
    inner: Mutex<Inner>,
    changed: Notify,
    journal: Journal,
    /// Requests recorded by an earlier run, by body hash (`batch_journal.rs`).
    recorded: Mutex<HashMap<String, (Recorded, String)>>,
    settings: BatchSettings,
    /// When `--batch-deadline` passes.
    deadline: Option<tokio::time::Instant>,
    /// Cancelled when the deadline passes, to wake the pollers.
    deadline_passed: CancellationToken,
    /// What this run did with each batch, folded into the journal at the end.
    used: Mutex<HashMap<String, Use>>,
    /// The items handed to each job: (batch id, custom_id).
    handed: Mutex<HashMap<String, Vec<(String, String)>>>,
}

/// Held by a job while it may still submit requests; dropping it lets rounds go on
/// without the job.
pub struct Enrolled(Arc<Batcher>);

impl Drop for Enrolled {
    fn drop(&mut self) {
        self.0.update(|i| i.active = i.active.saturating_sub(1));
    }
}

/// Held by a job while its next request waits for budget; see [`Inner::budget_waiting`].
pub struct BudgetWait(Arc<Batcher>);

impl Drop for BudgetWait {
    fn drop(&mut self) {
        self.0
            .update(|i| i.budget_waiting = i.budget_waiting.saturating_sub(1));
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl Batcher {
    /// A batcher for `jobs` jobs, each of which must be [`Batcher::enroll`]ed... by
    /// construction: the count starts at `jobs` and every [`Enrolled`] dropped lowers it.
    pub fn new(jobs: usize, out: &camino::Utf8Path, settings: BatchSettings) -> Arc<Batcher> {
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
            settings,
            deadline: settings.deadline.map(|d| tokio::time::Instant::now() + d),
            deadline_passed: CancellationToken::new(),
            used: Mutex::new(HashMap::new()),
            handed: Mutex::new(HashMap::new()),
        })
    }

    /// The token one job holds (the count was set by [`Batcher::new`]).
    pub fn enroll(self: &Arc<Batcher>) -> Enrolled {
        Enrolled(Arc::clone(self))
    }

    /// Rounds go on without this job until the guard is dropped.
    pub fn waiting_for_budget(self: &Arc<Batcher>) -> BudgetWait {
        self.update(|i| i.budget_waiting += 1);
        BudgetWait(Arc::clone(self))
    }

    /// Whether requests now go online (`--batch-deadline` passed).
    pub fn past_deadline(&self) -> bool {
        self.with(|i| i.past_deadline)
    }

    fn with<R>(&self, f: impl FnOnce(&mut Inner) -> R) -> R {
        f(&mut lock(&self.inner))
    }

    /// Changes the state and wakes the driver.
    fn update<R>(&self, f: impl FnOnce(&mut Inner) -> R) -> R {
        let r = self.with(f);
        self.changed.notify_one();
        r
    }

    /// Queues one request for the next round and waits for its result. `hash` and `size`
    /// are [`super::batch_journal::body_hash`] and the length of `body`'s JSON, computed by the caller, which
    /// serializes it anyway.
    pub async fn submit(
        &self,
        body: &Value,
        hash: String,
        size: usize,
        api_version: &str,
        origin: Origin,
    ) -> BatchAnswer {
        let (tx, rx) = oneshot::channel();
        let queued = self.update(|i| {
            if i.past_deadline {
                return false;
            }
            i.queue.push(Pending {
                body: body.clone(),
                hash,
                size,
                api_version: api_version.to_owned(),
                origin,
                submissions: 0,
                expirations: 0,
                reply: tx,
            });
            true
        });
        if !queued {
            return BatchAnswer::Online;
        }
        rx.await.unwrap_or(BatchAnswer::Canceled(None))
    }

    /// Runs rounds until no job is left; returns when the run is interrupted too (the
    /// batches then stay with the API).
    pub async fn drive(self: Arc<Batcher>, ctx: Arc<Ctx>) {
        if let Some(at) = self.deadline {
            let (me, ctx) = (Arc::clone(&self), Arc::clone(&ctx));
            tokio::spawn(async move {
                tokio::select! {
                    () = tokio::time::sleep_until(at) => me.deadline_reached(&ctx).await,
                    () = ctx.cancel.cancelled() => {}
                }
            });
        }
        loop {
            let round = loop {
                // Looked at without notifying: the driver must not wake itself.
                let ready = self.with(|i| {
                    if i.active == 0 && i.queue.is_empty() {
                        return Some(None);
                    }
                    (!i.queue.is_empty() && i.queue.len() + i.budget_waiting >= i.active)
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
                let online = self.with(|i| {
                    if i.past_deadline {
                        Some(requeue)
                    } else {
                        i.queue.extend(requeue);
                        None
                    }
                });
                self.changed.notify_one();
                for p in online.into_iter().flatten() {
                    let _ = p.reply.send(BatchAnswer::Online);
                }
            }
        }
    }

    /// `--batch-deadline` passed: queued requests go online, and the waiting batches are
    /// canceled (their pollers then read what they had answered).
    async fn deadline_reached(&self, ctx: &Ctx) {
        let (queued, waiting) = self.update(|i| {
            i.past_deadline = true;
            (std::mem::take(&mut i.queue), i.waiting.clone())
        });
        tracing::info!(
            batches = waiting.len(),
            "the batch deadline passed: canceling the waiting batches, finishing online"
        );
        self.deadline_passed.cancel();
        for p in queued {
            let _ = p.reply.send(BatchAnswer::Online);
        }
        for (id, version) in waiting {
            self.cancel(ctx, &id, &version).await;
        }
    }

    async fn cancel(&self, ctx: &Ctx, id: &str, version: &str) {
        match retry(&ctx.policy, |attempt| {
            ctx.client.cancel_batch(id, version, attempt)
        })
        .await
        {
            Ok(info) => {
                let mut used = lock(&self.used);
                let used = used.entry(id.to_owned()).or_default();
                used.canceled = true;
                used.request_counts = Some(info.request_counts);
            }
            Err(e) => tracing::error!(batch_id = id, "cannot cancel the batch: {e}"),
        }
    }

    /// The run was interrupted: the batches stay with the API (recorded, so the re-run
    /// resumes them), or with `--cancel-on-interrupt` are canceled (the re-run then takes
    /// what they had answered and submits the rest again).
    async fn interrupted(&self, ctx: &Ctx) {
        if !self.settings.cancel_on_interrupt {
            return;
        }
        let waiting = self.with(|i| std::mem::take(&mut i.waiting));
        for (id, version) in waiting {
            self.cancel(ctx, &id, &version).await;
        }
    }

    /// Tells the journal which items went to jobs whose folders were written (any final
    /// status but interrupted): those are never resumed. Called once, at the end of the
    /// run; then drops records the API no longer keeps results for.
    pub fn fold_into_journal(&self, lines: &[JobLine]) {
        let mut handed = std::mem::take(&mut *lock(&self.handed));
        let mut used = std::mem::take(&mut *lock(&self.used));
        for line in lines {
            if matches!(line.status, JobStatus::Interrupted | JobStatus::NotStarted) {
                continue;
            }
            for (batch_id, custom_id) in handed.remove(&line.dir).unwrap_or_default() {
                used.entry(batch_id).or_default().consumed.insert(custom_id);
            }
        }
        let at = jiff::Timestamp::now();
        for (batch_id, use_) in &used {
            if let Err(e) = self.journal.fold(batch_id, use_, at) {
                tracing::warn!(batch_id, "cannot update the batch record: {e}");
            }
        }
        self.journal.prune();
    }

    /// Submits one round and hands out its results; returns the requests to submit again.
    async fn run_round(&self, ctx: &Ctx, round: Vec<Pending>) -> Vec<Pending> {
        let mut requeue = Vec::new();
        let mut by_version: BTreeMap<String, Vec<Pending>> = BTreeMap::new();
        // Requests an earlier run already submitted: picked up from their batch.
        let mut resumed: BTreeMap<(String, String), Vec<(String, Pending)>> = BTreeMap::new();
        {
            let mut recorded = lock(&self.recorded);
            for p in round {
                match recorded.remove(&p.hash) {
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
                self.finish(ctx, &version, &batch_id, ids, items, true)
                    .await
            });
        for r in futures_util::future::join_all(picked_up).await {
            requeue.extend(r);
        }
        // Every batch of the round is created and polled at once.
        let batches = by_version.into_iter().flat_map(|(version, items)| {
            batch_wait::split(
                items,
                |p: &Pending| p.size,
                wire::MAX_REQUESTS,
                wire::MAX_BYTES,
            )
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
        if self.past_deadline() {
            for p in items {
                let _ = p.reply.send(BatchAnswer::Online);
            }
            return Vec::new();
        }
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
        let body = wire::CreateBody {
            requests: &requests,
        };
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
        drop(requests);
        let batch = match created {
            Ok(b) => b,
            Err(gave_up) => {
                for p in items {
                    let _ = p.reply.send(BatchAnswer::Failed(gave_up.clone()));
                }
                return Vec::new();
            }
        };
        // Before anything else: a runner killed from here on resumes this batch.
        let record = Record {
            batch_id: batch.id.clone(),
            api_version: version.to_owned(),
            created_at: Some(jiff::Timestamp::now()),
            items: ids
                .iter()
                .zip(&items)
                .map(|(id, p)| Item {
                    custom_id: id.clone(),
                    hash: p.hash.clone(),
                    job: p.origin.job.clone(),
                    turn: p.origin.turn,
                    continuation: p.origin.continuation,
                })
                .collect(),
            consumed: std::collections::BTreeSet::new(),
            ended: None,
        };
        if let Err(e) = self.journal.record(&record) {
            tracing::error!(
                batch_id = batch.id,
                "cannot record the batch under OUT/.batches ({e}); a re-run would submit its requests again"
            );
        }
        drop(record);
        self.finish(ctx, version, &batch.id, ids, items, false)
            .await
    }

    /// Waits for a batch and hands its results out as they are read; returns the requests
    /// to submit again. `resumed`: the batch was created by an earlier run.
    async fn finish(
        &self,
        ctx: &Ctx,
        version: &str,
        batch_id: &str,
        ids: Vec<String>,
        items: Vec<Pending>,
        resumed: bool,
    ) -> Vec<Pending> {
        let late = self.with(|i| {
            if !i.waiting.iter().any(|(w, _)| w == batch_id) {
                i.waiting.push((batch_id.to_owned(), version.to_owned()));
            }
            i.past_deadline
        });
        // Created while the deadline passed: nobody else cancels it.
        if late {
            self.cancel(ctx, batch_id, version).await;
        }
        let poll = batch_wait::Poll {
            first: self.settings.poll_first,
            max: self.settings.poll_max,
            wake: &self.deadline_passed,
        };
        let ended = batch_wait::until_ended(ctx, version, batch_id, &poll).await;
        let ended = match ended {
            Ok(info) => info,
            Err(gave_up) => {
                for p in items {
                    let _ = p.reply.send(BatchAnswer::Failed(gave_up.clone()));
                }
                return Vec::new();
            }
        };
        self.note_counts(batch_id, ended.request_counts);
        let waiting: Mutex<HashMap<String, Pending>> =
            Mutex::new(ids.into_iter().zip(items).collect());
        let requeue: Mutex<Vec<Pending>> = Mutex::new(Vec::new());
        let fetched = match ended.results_url.as_deref() {
            Some(url) => {
                retry(&ctx.policy, |attempt| {
                    let (waiting, requeue) = (&waiting, &requeue);
                    async move {
                        ctx.client
                            .batch_results(url, version, attempt, &mut |r| {
                                // A retried call reads some lines again; they were handed out.
                                let Some(p) = lock(waiting).remove(&r.custom_id) else {
                                    return;
                                };
                                let at = BatchRef {
                                    batch_id: batch_id.to_owned(),
                                    custom_id: r.custom_id,
                                };
                                if let Some(again) =
                                    self.hand_out(ctx, at, Some(r.outcome), p, resumed)
                                {
                                    lock(requeue).push(again);
                                }
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
        let left = waiting
            .into_inner()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let mut requeue = requeue
            .into_inner()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        match fetched {
            Err(gave_up) => {
                for p in left.into_values() {
                    let _ = p.reply.send(BatchAnswer::Failed(gave_up.clone()));
                }
            }
            Ok(()) => {
                for (custom_id, p) in left {
                    let at = BatchRef {
                        batch_id: batch_id.to_owned(),
                        custom_id,
                    };
                    requeue.extend(self.hand_out(ctx, at, None, p, resumed));
                }
            }
        }
        tracing::debug!(batch_id, "results handed out");
        self.with(|i| i.waiting.retain(|(w, _)| w != batch_id));
        requeue
    }

    fn note_counts(&self, batch_id: &str, counts: RequestCounts) {
        lock(&self.used)
            .entry(batch_id.to_owned())
            .or_default()
            .request_counts = Some(counts);
    }

    /// Acts on one item's result (`None`: the batch's results lacked it); returns the
    /// request when it is to be submitted again.
    fn hand_out(
        &self,
        ctx: &Ctx,
        at: BatchRef,
        outcome: Option<ItemOutcome>,
        mut p: Pending,
        resumed: bool,
    ) -> Option<Pending> {
        p.submissions += 1;
        lock(&self.handed)
            .entry(p.origin.job.clone())
            .or_default()
            .push((at.batch_id.clone(), at.custom_id.clone()));
        // Not answered, and the deadline passed: online instead of another round.
        let again = |p: Pending| {
            if self.past_deadline() {
                let _ = p.reply.send(BatchAnswer::Online);
                None
            } else {
                Some(p)
            }
        };
        let answer = match outcome {
            Some(ItemOutcome::Succeeded(message)) => BatchAnswer::Answer(MessageResponse {
                request_id: None,
                body: message,
                batch: Some(at),
                received_on: crate::api::prices::today(),
            }),
            Some(ItemOutcome::Errored {
                error_type,
                message,
            }) => {
                if wire::is_transient_item(&error_type) && p.submissions < ctx.policy.max_attempts {
                    return again(p);
                }
                BatchAnswer::Failed(GaveUp {
                    error: wire::item_error(&at, &error_type, &message),
                    attempts: p.submissions,
                })
            }
            Some(ItemOutcome::Expired) if p.expirations == 0 => {
                p.expirations += 1;
                return again(p);
            }
            Some(ItemOutcome::Expired) => BatchAnswer::Expired(format!(
                "the request expired twice in Message Batches (last: batch {}, custom_id {})",
                at.batch_id, at.custom_id
            )),
            // Never processed, so never paid: an earlier run's canceled batch, or ours at
            // the deadline, is no reason to give the job up.
            Some(ItemOutcome::Canceled) if resumed || self.past_deadline() => return again(p),
            Some(ItemOutcome::Canceled) => BatchAnswer::Canceled(Some(at.batch_id)),
            None => BatchAnswer::Failed(GaveUp {
                error: ApiError::local(
                    "GET {results_url}",
                    format!(
                        "batch {} ended without a result for custom_id {}",
                        at.batch_id, at.custom_id
                    ),
                ),
                attempts: p.submissions,
            }),
        };
        let _ = p.reply.send(answer);
        None
    }
}

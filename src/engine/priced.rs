//! One Messages request of a conversation, with its money: the most the request can bill
//! is reserved against `--budget-usd` before it is sent (`budget.rs`: a request that does
//! not fit waits for requests in flight to settle; one that never can is not sent, and the
//! run stops starting jobs: `halt.rs`), its pacing estimate goes to the Messages gate, and
//! its answer's priced usage replaces the reservation and is reported as the run's running
//! total (docs/output.md §6.4).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, PoisonError};

use serde_json::Value;

use super::answer::Answer;
use super::batcher::Origin;
use super::budget::Reservation;
use super::container;
use super::ctx::Ctx;
use super::halt::HaltKind;
use crate::api::gates::TokenEstimate;
use crate::api::messages::{self as wire, CacheTtl, MessageResponse, Usage};
use crate::api::retry::{GaveUp, retry};
use crate::api::{ApiError, ApiErrorKind};
use crate::output::batch_journal::body_hash;
use crate::plan::{PlannedJob, price};

/// The conversation's previous request. Its bytes: with caching on, the API reads them
/// from the cache, and cache reads do not count toward the input-token rate limit. Its
/// answer's size and counted tokens: they bound the next request's input.
#[derive(Debug, Default)]
pub(super) struct Previous {
    bytes: usize,
    /// The answered request's body size, and its `usage` input (every category) plus
    /// output tokens.
    counted: Option<(usize, u64)>,
    /// When the container of the latest answer that named one expires (`container.rs`).
    container_expires: Option<jiff::Timestamp>,
}

/// Tokens a request may add beyond the bytes it appends to the previous one: the API's
/// framing of each new message (role markers, block boundaries), a few tokens per block.
/// UNCONFIRMED as a number; far above what the recordings show (docs/api.md §11.1).
const FRAMING_TOKENS: u64 = 1_024;

impl Previous {
    /// The most input tokens a request of `size` bytes can bill (docs/output.md §6.4):
    /// from the count of the previous request of the conversation, which this one extends
    /// (everything it read, plus all it wrote, which comes back as input, plus the bytes
    /// appended, plus framing); for a first request, from its bytes.
    fn input_bound(&self, size: usize) -> u64 {
        match self.counted {
            Some((bytes, tokens)) => tokens
                .saturating_add(size.saturating_sub(bytes) as u64)
                .saturating_add(FRAMING_TOKENS),
            None => price::input_of_bytes(size as u64),
        }
    }

    fn answered(&mut self, size: usize, usage: &Usage, body: &Value) {
        if let Some(at) = wire::container_expires_at(body) {
            self.container_expires = Some(at);
        }
        let tokens = usage
            .input_tokens
            .saturating_add(usage.cache_creation_input_tokens)
            .saturating_add(usage.cache_read_input_tokens)
            .saturating_add(usage.output_tokens);
        self.counted = Some((size, tokens));
    }
}

/// A pacing estimate of tokens per byte of request JSON (not a bound: the budget counts
/// one token per byte, docs/output.md §6.4).
const BYTES_PER_TOKEN: usize = 4;
/// A pacing estimate of the tokens the API adds for the code-execution tool's definitions
/// and system prompt (a real first turn read 4,338 of them from the cache, docs/api.md
/// §11).
const TOOL_TOKENS: usize = 4_300;

/// Sends `body` (with retries), priced and paced: through the run's Message Batches in
/// batch mode, unless `--batch-deadline` has passed. `step` is the request's 1-based turn
/// and `pause_turn` continuation (recorded with a batch item).
pub(super) async fn send(
    ctx: &Ctx,
    job: &PlannedJob,
    body: &Value,
    previous: &mut Previous,
    step: (usize, u32),
) -> Answer {
    // Serialized once: its length prices the request, and in batch mode its hash is the
    // request's identity in the batch records.
    let json = body.to_string();
    let size = json.len();
    let batch = ctx
        .batcher
        .as_ref()
        .filter(|b| !b.past_deadline())
        .map(|b| (b, body_hash(&json)));
    drop(json);
    if let Some((batcher, hash)) = batch {
        let worst = worst_case(ctx, job, previous, size, true);
        let reservation = match reserve(ctx, job, worst).await {
            Ok(r) => r,
            Err(ended) => return ended,
        };
        let origin = Origin {
            job: job.id.clone(),
            turn: u32::try_from(step.0).unwrap_or(u32::MAX),
            continuation: step.1,
        };
        let answer = tokio::select! {
            a = batcher.submit(body, hash, size, &job.settings.api_version, origin) => a,
            () = ctx.cancel.cancelled() => return Answer::Interrupted,
        };
        let response = match answer {
            Some(Answer::Replied(r)) => Ok(r),
            Some(Answer::Failed(gave_up)) => Err(gave_up),
            // Expired, canceled or abandoned: never processed, so not billed.
            Some(ended) => {
                reservation.release();
                return ended;
            }
            // Not processed (so not billed): sent online below.
            None => {
                reservation.release();
                return send_online(ctx, job, body, previous, size).await;
            }
        };
        return settle(ctx, job, (previous, size), reservation, response);
    }
    send_online(ctx, job, body, previous, size).await
}

/// The most the request can bill (docs/output.md §6.4), at batch prices for a batch item
/// (docs/api.md §5). An answer is priced by the day it arrives, up to a day later in a
/// batch: the dearer of today's and tomorrow's rows.
fn worst_case(ctx: &Ctx, job: &PlannedJob, previous: &Previous, size: usize, batch: bool) -> f64 {
    let bound = price::Bound {
        input_tokens: previous.input_bound(size),
        max_tokens: job.settings.max_tokens,
        model_calls: ctx.budget.model_calls(),
    };
    let today = crate::api::prices::today();
    [today, today.tomorrow().unwrap_or(today)]
        .into_iter()
        .map(|day| {
            let row = job.prices.on(day);
            let factor = if batch { row.batch_factor } else { 1.0 };
            factor * price::worst_case(&bound, row, job.cache)
        })
        .fold(0.0, f64::max)
}

/// Reserves `worst` against `--budget-usd`, waiting while requests in flight hold what it
/// needs (in batch mode, rounds go on without this job meanwhile). A refusal stops the run
/// from starting jobs and is the request's end; so is an interrupt.
async fn reserve<'a>(
    ctx: &'a Ctx,
    job: &PlannedJob,
    worst: f64,
) -> Result<Reservation<'a>, Answer> {
    let on_wait = || {
        tracing::debug!(
            job = job.id,
            "waiting for requests in flight to free budget"
        );
        ctx.batcher.as_ref().map(|b| b.waiting_for_budget())
    };
    let reserved = tokio::select! {
        r = ctx.budget.reserve(worst, on_wait) => r,
        () = ctx.cancel.cancelled() => return Err(Answer::Interrupted),
    };
    reserved.map_err(|refused| {
        ctx.halt.halt(
            HaltKind::Budget,
            format!(
                "not started: the budget (--budget-usd {:.2}) stopped the run",
                refused.limit
            ),
        );
        Answer::OverBudget(refused)
    })
}

/// The request's pacing estimate for the Messages gate (not a bound).
fn pacing(job: &PlannedJob, previous: &mut Previous, size: usize) -> TokenEstimate {
    // Cached: only what is new since the last request is written (and counted); the tool
    // definitions are part of the cached prefix after the first request.
    // The gate replaces the tool allowance by what answers show it to be.
    let (fresh, tools) = if job.cache == CacheTtl::Off || previous.bytes == 0 {
        (size / BYTES_PER_TOKEN, TOOL_TOKENS)
    } else {
        (size.saturating_sub(previous.bytes) / BYTES_PER_TOKEN, 0)
    };
    previous.bytes = size;
    TokenEstimate {
        input: fresh as u64,
        tools: tools as u64,
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Sends `body` to `POST /v1/messages` (with retries), priced and paced. An attempt whose
/// answer was lost may still have been billed: it keeps its reservation (counted as
/// spent), and the retry is sent only under a reservation of its own.
async fn send_online(
    ctx: &Ctx,
    job: &PlannedJob,
    body: &Value,
    previous: &mut Previous,
    size: usize,
) -> Answer {
    let worst = worst_case(ctx, job, previous, size, false);
    let held = match reserve(ctx, job, worst).await {
        Ok(r) => Mutex::new(Some(r)),
        Err(sent) => return sent,
    };
    let estimate = pacing(job, previous, size);
    let expires = previous.container_expires;
    let not_retried: Mutex<Option<Answer>> = Mutex::new(None);
    let lost = AtomicBool::new(false);
    let api_version = job.settings.api_version.as_str();
    let call = retry(&ctx.settings.policy, |attempt| {
        let (held, not_retried, lost) = (&held, &not_retried, &lost);
        async move {
            if lost.swap(false, Ordering::Relaxed) {
                drop(lock(held).take());
                match reserve(ctx, job, worst).await {
                    Ok(r) => *lock(held) = Some(r),
                    Err(sent) => {
                        *lock(not_retried) = Some(sent);
                        return Err(ApiError {
                            endpoint: "messages".into(),
                            kind: ApiErrorKind::Local("not retried: the budget".into()),
                            request_id: None,
                            retry_after: None,
                            should_retry: Some(false),
                        });
                    }
                }
            }
            let answer = ctx
                .client
                .create_message(api_version, body, estimate, attempt)
                .await
                .map_err(|e| container::expired_on_500(e, body, expires, jiff::Timestamp::now()));
            if answer
                .as_ref()
                .is_err_and(|e| matches!(e.kind, ApiErrorKind::Transport(_)))
            {
                lost.store(true, Ordering::Relaxed);
            }
            answer
        }
    });
    let response = tokio::select! {
        r = call => r,
        // The reservation stays counted: the request may have been billed.
        () = ctx.cancel.cancelled() => return Answer::Interrupted,
    };
    if let Some(sent) = lock(&not_retried).take() {
        return sent;
    }
    match lock(&held).take() {
        Some(reservation) => settle(ctx, job, (previous, size), reservation, response),
        // Only a refused retry leaves no reservation, and that returned above.
        None => Answer::Interrupted,
    }
}

/// Prices an answer (online or from a batch: `service_tier` says which prices apply) and
/// records its count for the next request's bound.
fn settle(
    ctx: &Ctx,
    job: &PlannedJob,
    (previous, size): (&mut Previous, usize),
    reservation: Reservation<'_>,
    response: Result<MessageResponse, GaveUp>,
) -> Answer {
    match response {
        Ok(answer) => {
            let usage = Usage::from_wire(&answer.body["usage"]);
            let cost = price::request_cost(
                &usage,
                wire::billing(&answer.body),
                job.prices.on(answer.received_on),
                job.cache,
            );
            check_bound(ctx, job, &usage, cost.usd, reservation.amount());
            previous.answered(size, &usage, &answer.body);
            reservation.settle(cost.usd);
            Answer::Replied(answer)
        }
        Err(gave_up) => {
            // An error status was not billed; a lost or unreadable answer may have been.
            if gave_up.error.status().is_some() {
                reservation.release();
            }
            Answer::Failed(gave_up)
        }
    }
}

/// Says so when an answer billed more than its reservation, and reserves later requests
/// for as many model calls as its output shows.
fn check_bound(ctx: &Ctx, job: &PlannedJob, usage: &Usage, cost: f64, reserved: f64) {
    let per_call = u64::from(job.settings.max_tokens.max(1));
    let calls = u32::try_from(usage.output_tokens.div_ceil(per_call)).unwrap_or(u32::MAX);
    if ctx.budget.saw_model_calls(calls) {
        tracing::warn!(
            job = job.id,
            "a request wrote {} output tokens, {calls} times its max_tokens ({per_call}): \
             later requests are reserved for {calls} model calls (--budget-model-calls)",
            usage.output_tokens
        );
    }
    if cost > reserved {
        tracing::warn!(
            job = job.id,
            "a request cost {}, more than the {} reserved for it (docs/output.md §6.4): \
             the run may end above --budget-usd by the difference",
            crate::units::usd(cost),
            crate::units::usd(reserved)
        );
    }
}

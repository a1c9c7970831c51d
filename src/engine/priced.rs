//! One Messages request of a conversation, with its money: the request's worst case is
//! reserved against `--budget-usd` before it is sent (a request that could overshoot is not
//! sent, and the run stops starting jobs: `halt.rs`), its pacing estimate goes to the
//! Messages gate, and its answer's priced usage replaces the reservation and is reported
//! as the run's running total (docs/output.md §6.4).

use std::sync::atomic::{AtomicU32, Ordering};

use serde_json::Value;

use super::answer::Answer;
use super::batcher::Origin;
use super::budget::{Refused, Reservation};
use super::ctx::Ctx;
use super::halt::HaltKind;
use crate::api::ApiErrorKind;
use crate::api::gates::TokenEstimate;
use crate::api::messages::{self as wire, CacheTtl, MessageResponse, Usage};
use crate::api::retry::{GaveUp, retry};
use crate::output::batch_journal::body_hash;
use crate::plan::{PlannedJob, price};
use crate::ui::events::Event;

/// Bytes of the conversation's previous request: with caching on, the API reads them from
/// the cache, and cache reads do not count toward the input-token rate limit.
#[derive(Debug, Default)]
pub struct Previous {
    bytes: usize,
}

/// A pacing estimate of tokens per byte of request JSON (not a bound: the budget counts
/// one token per byte).
const BYTES_PER_TOKEN: usize = 4;
/// A pacing estimate of the tokens the API adds for the code-execution tool's definitions
/// and system prompt (a real first turn read 4,338 of them from the cache, docs/api.md
/// §11).
const TOOL_TOKENS: usize = 4_300;

/// Sends `body` (with retries), priced and paced: through the run's Message Batches in
/// batch mode, unless `--batch-deadline` has passed. `step` is the request's 1-based turn
/// and `pause_turn` continuation (recorded with a batch item).
pub async fn send(
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
        // Batch items are billed at batch prices (docs/api.md §5).
        let worst = job.price.batch_factor * worst_case(job, size);
        let reservation = match reserve(ctx, worst) {
            Ok(r) => r,
            Err(refused) => return Answer::OverBudget(refused),
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
        return settle(ctx, job, reservation, response);
    }
    send_online(ctx, job, body, previous, size).await
}

fn worst_case(job: &PlannedJob, size: usize) -> f64 {
    price::worst_case(
        size as u64,
        job.settings.max_tokens,
        job.prices.on(crate::api::prices::today()),
        job.cache,
    )
}

/// Reserves a request's worst case against `--budget-usd`; a refusal stops the run from
/// starting jobs and is the request's end.
fn reserve(ctx: &Ctx, worst: f64) -> Result<Reservation<'_>, Refused> {
    ctx.budget.reserve(worst).inspect_err(|refused| {
        ctx.halt.halt(
            HaltKind::Budget,
            format!(
                "not started: the budget (--budget-usd {:.2}) stopped the run",
                refused.limit
            ),
        );
    })
}

/// Sends `body` to `POST /v1/messages` (with retries), priced and paced.
async fn send_online(
    ctx: &Ctx,
    job: &PlannedJob,
    body: &Value,
    previous: &mut Previous,
    size: usize,
) -> Answer {
    let worst = worst_case(job, size);
    let reservation = match reserve(ctx, worst) {
        Ok(r) => r,
        Err(refused) => return Answer::OverBudget(refused),
    };
    // Cached: only what is new since the last request is written (and counted); the tool
    // definitions are part of the cached prefix after the first request.
    let fresh = if job.cache == CacheTtl::Off || previous.bytes == 0 {
        size / BYTES_PER_TOKEN + TOOL_TOKENS
    } else {
        size.saturating_sub(previous.bytes) / BYTES_PER_TOKEN
    };
    previous.bytes = size;
    let estimate = TokenEstimate {
        input: fresh as u64,
    };
    // An attempt whose answer was lost may still have been billed: each one that was
    // retried stays counted at the worst case.
    let lost = AtomicU32::new(0);
    let api_version = job.settings.api_version.as_str();
    let call = retry(&ctx.settings.policy, |attempt| {
        let sent = ctx
            .client
            .create_message(api_version, body, estimate, attempt);
        let lost = &lost;
        async move {
            let answer = sent.await;
            if answer
                .as_ref()
                .is_err_and(|e| matches!(e.kind, ApiErrorKind::Transport(_)))
            {
                lost.fetch_add(1, Ordering::Relaxed);
            }
            answer
        }
    });
    let response = tokio::select! {
        r = call => r,
        // The reservation stays counted: the request may have been billed.
        () = ctx.cancel.cancelled() => return Answer::Interrupted,
    };
    let lost = lost.into_inner();
    // The last attempt's own loss is the reservation's business.
    let retried_losses = if response
        .as_ref()
        .is_err_and(|g| matches!(g.error.kind, ApiErrorKind::Transport(_)))
    {
        lost.saturating_sub(1)
    } else {
        lost
    };
    ctx.budget.count_lost(worst * f64::from(retried_losses));
    settle(ctx, job, reservation, response)
}

/// Prices an answer (online or from a batch: `service_tier` says which prices apply).
fn settle(
    ctx: &Ctx,
    job: &PlannedJob,
    reservation: Reservation<'_>,
    response: Result<MessageResponse, GaveUp>,
) -> Answer {
    match response {
        Ok(answer) => {
            let cost = price::request_cost(
                &Usage::from_wire(&answer.body["usage"]),
                wire::billing(&answer.body),
                job.prices.on(answer.received_on),
                job.cache,
            );
            let spent = reservation.settle(cost.usd);
            ctx.reporter.report(Event::Spent {
                micro_usd: micro(spent),
            });
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

/// USD in millionths, for events (which compare exactly).
fn micro(usd: f64) -> u64 {
    #[expect(
        clippy::cast_possible_truncation,
        clippy::cast_sign_loss,
        reason = "a non-negative dollar amount far below 2^64 millionths"
    )]
    let m = (usd.max(0.0) * 1e6).round() as u64;
    m
}

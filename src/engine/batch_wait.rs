//! Batch mode's waiting and sizing (`batcher.rs`): polling a batch until it has ended,
//! backing off and reporting its `request_counts`, and splitting a round where the batch
//! limits require it (docs/api.md §5).

use std::time::Duration;

use super::Ctx;
use crate::api::batches::{self as wire, BatchStatus, MAX_BYTES, MAX_REQUESTS};
use crate::api::retry::{GaveUp, retry};
use crate::ui::events::Event;

/// First wait between polls of a batch; it grows by half each time up to [`POLL_MAX`]
/// (both scaled by `RUNNER_TEST_DELAY_SCALE` in tests).
const POLL_FIRST: Duration = Duration::from_secs(5);
const POLL_MAX: Duration = Duration::from_secs(300);

/// Polls until the batch has ended, backing off, reporting its counts.
pub async fn until_ended(ctx: &Ctx, version: &str, id: &str) -> Result<wire::BatchInfo, GaveUp> {
    let mut wait = POLL_FIRST;
    loop {
        let info = retry(&ctx.policy, |attempt| {
            ctx.client.retrieve_batch(id, version, attempt)
        })
        .await?;
        let c = info.request_counts;
        ctx.reporter.report(Event::BatchProgress {
            batch_id: info.id.clone(),
            processing: c.processing,
            succeeded: c.succeeded,
            errored: c.errored,
            canceled: c.canceled,
            expired: c.expired,
        });
        if info.processing_status == BatchStatus::Ended {
            return Ok(info);
        }
        tokio::time::sleep(ctx.policy.scaled(wait)).await;
        wait = wait.mul_f64(1.5).min(POLL_MAX);
    }
}

/// Splits a round where the batch limits require it.
/// `body` gives each item's request body.
pub(super) fn split<T>(items: Vec<T>, body: impl Fn(&T) -> &serde_json::Value) -> Vec<Vec<T>> {
    let mut out: Vec<Vec<T>> = Vec::new();
    let mut bytes = 0usize;
    for p in items {
        let size = serde_json::to_vec(body(&p)).map_or(0, |b| b.len()) + 128;
        let full = out
            .last()
            .is_none_or(|last| last.len() >= MAX_REQUESTS || bytes + size > MAX_BYTES);
        if full {
            out.push(Vec::new());
            bytes = 0;
        }
        bytes += size;
        if let Some(last) = out.last_mut() {
            last.push(p);
        }
    }
    out
}

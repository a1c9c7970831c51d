//! Batch mode's waiting and sizing (`batcher.rs`): polling a batch until it has ended,
//! backing off and reporting its `request_counts`, and splitting a round where the batch
//! limits require it (docs/api.md §5).

use std::time::Duration;

use tokio_util::sync::CancellationToken;

use std::sync::Arc;

use crate::api::ApiClient;
use crate::api::batches::{self as wire, BatchStatus};
use crate::api::retry::{GaveUp, RetryPolicy, retry};
use crate::ui::events::{BatchCounts, Event, Reporter};

/// What batch mode's calls need of the run: the client, its retry policy, the display and
/// the first signal. The batcher holds its own, so it needs nothing else of the run.
#[derive(Clone)]
pub struct Link {
    pub client: ApiClient,
    pub policy: RetryPolicy,
    pub reporter: Arc<dyn Reporter>,
    pub cancel: CancellationToken,
}

/// How a batch is polled: `first` after creating it, each wait half as long again as the
/// last, up to `max` (`--batch-poll`; both scaled by `RUNNER_TEST_DELAY_SCALE` in tests).
/// `wake` (the deadline passing) cuts the current wait short once.
pub struct Poll<'a> {
    pub first: Duration,
    pub max: Duration,
    pub wake: &'a CancellationToken,
}

/// Polls until the batch has ended, backing off, reporting its counts.
pub async fn until_ended(
    ctx: &Link,
    version: &str,
    id: &str,
    poll: &Poll<'_>,
) -> Result<wire::BatchInfo, GaveUp> {
    let mut wait = poll.first;
    let mut woken = poll.wake.is_cancelled();
    loop {
        let info = retry(&ctx.policy, |attempt| {
            ctx.client.retrieve_batch(id, version, attempt)
        })
        .await?;
        let c = info.request_counts;
        ctx.reporter.report(Event::BatchProgress {
            batch_id: info.id.clone(),
            counts: BatchCounts {
                processing: c.processing,
                succeeded: c.succeeded,
                errored: c.errored,
                canceled: c.canceled,
                expired: c.expired,
            },
        });
        if info.processing_status == BatchStatus::Ended {
            return Ok(info);
        }
        tokio::select! {
            () = tokio::time::sleep(ctx.policy.scaled(wait)) => {
                wait = wait.mul_f64(1.5).min(poll.max);
            }
            // The batch is being canceled: look again soon.
            () = poll.wake.cancelled(), if !woken => {
                woken = true;
                wait = poll.first;
            }
        }
    }
}

/// Splits a round where the batch limits require it: at most `max_requests` items and
/// `max_bytes` of request JSON per batch. `size` gives each item's request JSON length.
pub(super) fn split<T>(
    items: Vec<T>,
    size: impl Fn(&T) -> usize,
    max_requests: usize,
    max_bytes: usize,
) -> Vec<Vec<T>> {
    let mut out: Vec<Vec<T>> = Vec::new();
    let mut bytes = 0usize;
    for p in items {
        // The envelope's `{"custom_id": …, "params": …}` is well under 128 bytes.
        let size = size(&p) + 128;
        let full = out
            .last()
            .is_none_or(|last| last.len() >= max_requests || bytes + size > max_bytes);
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

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use super::split;
    use crate::api::batches::{MAX_BYTES, MAX_REQUESTS};

    fn sizes(chunks: &[Vec<Value>]) -> Vec<usize> {
        chunks.iter().map(Vec::len).collect()
    }

    fn len(v: &Value) -> usize {
        v.to_string().len()
    }

    #[test]
    fn a_round_is_split_at_the_request_limit_and_never_otherwise() {
        let items: Vec<Value> = (0..MAX_REQUESTS + 1).map(|n| json!(n)).collect();
        let chunks = split(items, len, MAX_REQUESTS, MAX_BYTES);
        assert_eq!(sizes(&chunks), [MAX_REQUESTS, 1]);
        // Order is kept: the second batch holds the last item.
        assert_eq!(chunks[1][0], json!(MAX_REQUESTS));
        let few: Vec<Value> = (0..3).map(|n| json!(n)).collect();
        assert_eq!(sizes(&split(few, len, MAX_REQUESTS, MAX_BYTES)), [3]);
        assert!(split(Vec::<Value>::new(), len, MAX_REQUESTS, MAX_BYTES).is_empty());
    }

    #[test]
    fn a_round_is_split_before_a_batch_would_pass_the_byte_limit() {
        // Each item is 1,000 bytes of JSON plus the envelope allowance.
        let body = json!("x".repeat(998));
        let items: Vec<Value> = (0..10).map(|_| body.clone()).collect();
        let per_item = 1_000 + 128;
        let chunks = split(items, len, MAX_REQUESTS, 3 * per_item);
        assert_eq!(sizes(&chunks), [3, 3, 3, 1]);
        // An item larger than the limit still goes, alone (the API then refuses it).
        let big = vec![json!("y".repeat(5_000)), json!(1)];
        assert_eq!(sizes(&split(big, len, MAX_REQUESTS, 1_000)), [1, 1]);
    }
}

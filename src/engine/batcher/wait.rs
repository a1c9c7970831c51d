//! Waiting for a batch: polling it until it has ended, backing off, and reporting its
//! `request_counts` on the display.

use std::sync::Arc;
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use crate::api::ApiClient;
use crate::api::batches::{self as wire, BatchStatus};
use crate::api::retry::{GaveUp, RetryPolicy, retry};
use crate::ui::events::{BatchCounts, Event, Reporter};

/// What batch mode's calls need of the run: the client, its retry policy, the display and
/// the first signal. The batcher holds its own, so it needs nothing else of the run.
#[derive(Clone)]
pub(crate) struct Link {
    pub client: ApiClient,
    pub policy: RetryPolicy,
    pub reporter: Arc<dyn Reporter>,
    pub cancel: CancellationToken,
}

/// How a batch is polled: `first` after creating it, each wait half as long again as the
/// last, up to `max` (`--batch-poll`; both scaled by `RUNNER_TEST_DELAY_SCALE` in tests).
/// `wake` (the deadline passing) cuts the current wait short once.
pub(super) struct Poll<'a> {
    pub first: Duration,
    pub max: Duration,
    pub wake: &'a CancellationToken,
}

/// Polls until the batch has ended, backing off, reporting its counts.
pub(super) async fn until_ended(
    link: &Link,
    version: &str,
    id: &str,
    poll: &Poll<'_>,
) -> Result<wire::BatchInfo, GaveUp> {
    let mut wait = poll.first;
    let mut woken = poll.wake.is_cancelled();
    loop {
        let info = retry(&link.policy, |attempt| {
            link.client.retrieve_batch(id, version, attempt)
        })
        .await?;
        let c = info.request_counts;
        link.reporter.report(Event::BatchProgress {
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
            () = tokio::time::sleep(link.policy.scaled(wait)) => {
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

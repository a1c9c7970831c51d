//! The reporter for when stderr is not a terminal (cron, CI) or `-v` is given: plain log
//! lines through `tracing`, one per event worth a line.

use super::events::{Event, Reporter, Step};
use crate::status::JobStatus;

pub(crate) struct LogReporter;

impl Reporter for LogReporter {
    fn report(&self, event: Event) {
        match event {
            Event::RunStarted {
                jobs,
                fresh,
                uploads,
                upload_bytes,
            } => {
                tracing::info!(jobs, fresh, uploads, upload_bytes, "run started");
            }
            Event::UploadFinished {
                name,
                size,
                reused: false,
            } => tracing::info!(name, size, "uploaded"),
            Event::JobStep {
                id,
                step:
                    Step::Turn {
                        turn,
                        of,
                        continuation,
                    },
            } => tracing::debug!(job = id, turn, of, continuation, "requesting"),
            Event::JobFinished {
                id,
                status: JobStatus::Failed,
                failure: Some(f),
            } => {
                // Worded as the terminal display and the `-q` summary word it, so a failed
                // job reads the same wherever it is shown (and is shown once); at ERROR,
                // with the fields a log shipper alerts on (docs/unattended.md).
                tracing::error!(
                    job = id,
                    kind = f.kind.as_str(),
                    request_id = f.request_id.as_deref(),
                    attempts = f.attempts,
                    "failed {id} ({}): {}",
                    f.kind,
                    f.message
                );
            }
            Event::JobFinished { id, status, .. } => {
                tracing::info!(job = id, status = status.as_str(), "job finished");
            }
            Event::Backoff { endpoint, wait } => {
                let wait_ms = u64::try_from(wait.as_millis()).unwrap_or(u64::MAX);
                tracing::info!(endpoint, wait_ms, "backing off");
            }
            Event::BatchProgress { batch_id, counts } => tracing::info!(
                batch_id,
                processing = counts.processing,
                succeeded = counts.succeeded,
                errored = counts.errored,
                canceled = counts.canceled,
                expired = counts.expired,
                "batch polled"
            ),
            Event::Interrupted => {
                tracing::warn!(
                    "interrupted: finishing writes, starting no new work \
                     (press Ctrl-C again to stop at once)"
                );
            }
            _ => {}
        }
    }
}

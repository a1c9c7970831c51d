//! What the stages tell the outside world, as plain data: no preformatted text, so each
//! reporter words it its own way (bars on a terminal, log lines for cron) and tests can
//! compare events exactly. Stages (and the API's gates, for their pauses) call
//! [`Reporter::report`]; nothing here draws.

use std::time::Duration;

use crate::status::{ErrorKind, JobStatus};

#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Event {
    /// The run is about to start: totals for the bars.
    RunStarted {
        jobs: usize,
        fresh: usize,
        uploads: usize,
        upload_bytes: u64,
    },
    UploadStarted {
        name: String,
        size: u64,
    },
    /// Bytes of the current uploads went out.
    UploadProgress {
        bytes: u64,
    },
    UploadFinished {
        name: String,
        size: u64,
        /// A cached file id was verified and reused; nothing was sent.
        reused: bool,
    },
    /// A job waits for its inputs or for a `-j` slot.
    JobWaiting {
        id: String,
    },
    /// A job's current step.
    JobStep {
        id: String,
        step: Step,
    },
    JobFinished {
        id: String,
        status: JobStatus,
        failure: Option<Failure>,
    },
    /// Requests to an endpoint group are held back (a 429/529, or a used-up quota).
    Backoff {
        endpoint: &'static str,
        wait: Duration,
    },
    /// The run's priced usage so far, in millionths of a USD (after each answer), and
    /// with `--budget-usd` what requests in flight have reserved (after each change).
    Spent {
        micro_usd: u64,
        reserved_micro_usd: u64,
    },
    /// A Message Batch was polled (batch mode): its `request_counts`.
    BatchProgress {
        batch_id: String,
        counts: BatchCounts,
    },
    /// The first SIGINT/SIGTERM: no new work starts; writes in progress finish.
    Interrupted,
}

/// Where a running job is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Step {
    /// Waiting for the answer to turn `turn` (1-based) of `of`; `continuation` counts the
    /// `pause_turn` continuations of this turn so far.
    Turn {
        turn: usize,
        of: usize,
        continuation: u32,
    },
    /// Downloading the files the job generated.
    Downloading { files: usize },
}

/// Why a job failed, as `job.json` spells it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Failure {
    pub kind: ErrorKind,
    pub message: String,
    /// The request id of the response that failed the job, when there was one.
    pub request_id: Option<String>,
    /// The attempts of the API call that failed the job, when one did.
    pub attempts: Option<u32>,
}

pub(crate) trait Reporter: Send + Sync {
    fn report(&self, event: Event);
}

/// Reports nothing (for `-q`, and for tests that do not look).
pub(crate) struct Silent;

impl Reporter for Silent {
    fn report(&self, _event: Event) {}
}

/// A Message Batch's `request_counts`, as shown and logged.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct BatchCounts {
    pub processing: u64,
    pub succeeded: u64,
    pub errored: u64,
    pub canceled: u64,
    pub expired: u64,
}

impl std::fmt::Display for BatchCounts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} processing, {} succeeded, {} errored, {} canceled, {} expired",
            self.processing, self.succeeded, self.errored, self.canceled, self.expired
        )
    }
}

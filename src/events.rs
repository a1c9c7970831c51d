//! What the stages tell the outside world. Stages call [`Reporter::report`]; `progress.rs`
//! draws it for a terminal, and tests record it.

use crate::outcome::JobStatus;

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Event {
    /// The run is about to start: totals for the bars.
    RunStarted {
        jobs: usize,
        fresh: usize,
        upload_bytes: u64,
        uploads: usize,
    },
    UploadStarted {
        name: String,
        size: u64,
    },
    UploadProgress {
        bytes: u64,
    },
    UploadFinished {
        name: String,
        size: u64,
        reused: bool,
    },
    JobWaiting {
        id: String,
    },
    /// A job's current step, e.g. "turn 1/2", "continuing (pause 3)", "downloading 2 files".
    JobState {
        id: String,
        state: String,
    },
    JobFinished {
        id: String,
        status: JobStatus,
        detail: Option<String>,
    },
    /// Requests to an endpoint are held back after a 429/529.
    Backoff {
        endpoint: String,
        wait_ms: u64,
    },
    Interrupted,
}

pub trait Reporter: Send + Sync {
    fn report(&self, event: Event);
}

/// Reports nothing (for `-q`, and for tests that do not look).
pub struct Silent;

impl Reporter for Silent {
    fn report(&self, _event: Event) {}
}

/// Plain log lines, for when stderr is not a terminal (cron, CI).
pub struct LogReporter;

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
            Event::JobFinished { id, status, detail } => match detail {
                Some(d) => tracing::warn!(job = id, ?status, "job finished: {d}"),
                None => tracing::info!(job = id, ?status, "job finished"),
            },
            Event::Backoff { endpoint, wait_ms } => {
                tracing::info!(endpoint, wait_ms, "backing off")
            }
            Event::Interrupted => {
                tracing::warn!("interrupted: finishing writes, starting no new work")
            }
            _ => {}
        }
    }
}

//! The last time a job ran, as the run history records it (docs/output.md §4.1, §12): a
//! failed attempt kept beside an earlier success, or an interrupted job, leaves no trace in
//! the job folder's `job.json`, only in its run's `run.json` line.

use serde::Serialize;

use super::outcome::RunSummary;
use crate::status::JobStatus;

/// A job's line in the newest recorded run that started it (or meant to: `not_started`).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub(crate) struct LastRun {
    pub run_id: String,
    pub started_at: jiff::Timestamp,
    /// When the run ended: a `job.json` that finished later is newer than this line.
    #[serde(skip)]
    pub finished_at: jiff::Timestamp,
    pub status: JobStatus,
    /// `<kind>: <message>` of the line's error.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// Where the failed attempt went, relative to the output root, when the job folder kept
    /// an earlier success.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub attempt: Option<String>,
}

impl LastRun {
    /// The run did not leave a success (failed, interrupted, not started).
    pub(crate) fn went_wrong(&self) -> bool {
        self.status != JobStatus::Succeeded
    }
}

/// The line of job `job_id` in the newest of `runs` (newest first, as
/// [`super::history::list`] gives them) where it was not skipped as fresh.
pub(crate) fn last_run(runs: &[RunSummary], job_id: &str) -> Option<LastRun> {
    runs.iter().find_map(|run| {
        let line = run
            .jobs
            .iter()
            .find(|l| l.dir == job_id && l.status != JobStatus::Fresh)?;
        Some(LastRun {
            run_id: run.run_id.clone(),
            started_at: run.started_at,
            finished_at: run.finished_at,
            status: line.status,
            error: line
                .error
                .as_ref()
                .map(|e| format!("{}: {}", e.kind.as_str(), e.message)),
            attempt: line.history.attempt.clone(),
        })
    })
}

/// What the job's newest success in `runs` cost, the whole conversation (for `runner plan`
/// when its job folder says nothing of it).
pub(crate) fn last_cost(runs: &[RunSummary], job_id: &str) -> Option<f64> {
    runs.iter()
        .flat_map(|run| &run.jobs)
        .filter(|l| l.dir == job_id && l.status == JobStatus::Succeeded)
        .find_map(|l| l.history.cost_usd)
        .filter(|c| c.is_finite() && *c >= 0.0)
}

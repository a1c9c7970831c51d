//! A run that ends in setup after its plan (a refused key, an unreachable host, a model the
//! API refuses: exit 2 before any job starts) is still a run: recorded with no jobs and its
//! error as `run.json` and in the history, and shown on the morning page, so neither says
//! that the previous night was the last one (docs/output.md §6, §12, §14).

use camino::Utf8Path;

use crate::error::Error;
use crate::output::history;
use crate::output::outcome::{RunCost, RunSummary};

/// What a setup failure's record needs from the run that failed.
pub(super) struct SetupRecord<'a> {
    pub out: &'a Utf8Path,
    /// `run.json`, or a shard's record.
    pub record: &'a str,
    pub run_id: &'a str,
    pub started_at: jiff::Timestamp,
    pub cost: RunCost,
    /// `--keep-runs`: a failing cron job must not fill `OUT/runs/` either.
    pub keep_runs: usize,
    /// A shard's night (docs/output.md §6.5), so the merge finds its record.
    pub night: Option<String>,
}

impl SetupRecord<'_> {
    /// Records `error` as the run's end, and hands it back for the caller to return, with
    /// the record (for the notifications). A record that cannot be written is a warning:
    /// the error itself is what the user needs.
    pub(super) fn failed(&self, error: impl Into<Error>) -> (Error, RunSummary) {
        let error = error.into();
        let mut summary = RunSummary::setup_failed(
            self.run_id.to_owned(),
            self.started_at,
            self.cost,
            error.exit().code(),
            crate::error_chain::chain(&error),
        );
        summary.night.night.clone_from(&self.night);
        if let Err(e) = history::write_run(self.out, self.record, &summary) {
            tracing::warn!("cannot record the failed run in {}: {e}", self.out);
        }
        if let Err(e) = history::prune(self.out, self.keep_runs, self.run_id) {
            tracing::warn!("cannot prune {}: {e}", self.out.join(history::RUNS));
        }
        if let Err(e) = crate::output::html::write_index(self.out) {
            tracing::warn!("{}", crate::error_chain::chain(&e));
        }
        (error, summary)
    }
}

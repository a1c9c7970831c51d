//! The async core of `runner run`: uploads, conversations, downloads and each job's output
//! folder, for the jobs the plan says to run. Everything fatal was checked before this
//! stage starts; from here on a failure belongs to a job and is a value in its line.
//!
//! # Concurrency design
//!
//! - **A task per job.** Every job to run is spawned at once on a [`JoinSet`]. A job task
//!   first awaits the uploads of its own inputs (not of all inputs), then a `-j` permit,
//!   then runs its conversation, releases the permit, downloads what the code generated
//!   and writes its folder. Downloads and writes of one job so overlap the next job's
//!   conversation. A task that panics becomes a failed job (kind `internal`); the run goes
//!   on.
//! - **One upload driver** ([`uploads`]). One spawned task takes upload requests from a
//!   channel and runs at most `--uploads` at once, in job order (each upload ranks by the
//!   first job that needs it, largest first within a job), so the first conversations
//!   start as early as possible. Each upload is a shared future that every job needing the
//!   content awaits. An input the API lost mid-run is uploaded again through the same
//!   driver, once per content for all jobs.
//! - **Gates** (in `api`). Every request, of any job or upload, first and retried alike,
//!   waits at its endpoint group's gate, which pauses everyone after a 429/529, paces by
//!   the server's quota and adapts concurrency; so jobs never stampede the API.
//! - **Cancellation.** One
//!   [`CancellationToken`](tokio_util::sync::CancellationToken) (from the first
//!   SIGINT/SIGTERM): jobs not started are recorded as interrupted, requests in flight are
//!   abandoned, folders being written are finished. The second signal is
//!   `commands/run.rs`'s business.
//! - **Money.** Every Messages request reserves the most it can bill against
//!   `--budget-usd` first ([`budget`], through `priced.rs`); a request that does not fit
//!   waits, first come first served, for requests in flight to free what they did not
//!   use; one that could never fit is not sent, its job ends and [`halt`] keeps every job
//!   not yet started from starting.
//!
//! # How a job ends
//!
//! `job.rs` is one job from its inputs to its folder; `conversation.rs` runs its
//! conversation (turns, `pause_turn`, follow-ups, and the repair turns `deliverables.rs`
//! asks for). Each request ends as an `Answer` (`answer.rs`), online (`priced.rs`) or in a
//! batch ([`batcher`]); the conversation turns that answer, or the response's stop reason,
//! into the job's [`JobEnd`] in one place. `downloads.rs` then fetches the generated files
//! within the output limits, and the job's outcome is built once and written.
//!
//! What every task shares, and the [`Settings`], live in `ctx.rs`: the command hands
//! [`run`] a [`Start`], and no module here imports this one.

mod answer;
pub(crate) mod batcher;
pub(crate) mod budget;
mod container;
pub(crate) mod conversation;
mod ctx;
mod deliverables;
mod download_size;
pub(crate) mod downloads;
mod file_metas;
pub(crate) mod halt;
mod job;
pub(crate) mod prefix;
mod priced;
mod skills;
pub(crate) mod uploads;

pub(crate) use batcher::BatchSettings;
pub(crate) use ctx::{Ctx, OutputLimits, Settings, Start};

use std::collections::BTreeMap;
use std::sync::Arc;

use camino::Utf8Path;
use futures_util::FutureExt;
use tokio::sync::Semaphore;
use tokio::task::JoinSet;

use crate::api::messages::Usage;
use crate::api::retry::GaveUp;
use crate::output::outcome::{JobEnd, JobError, JobLine, UploadStats};
use crate::plan::{PlannedJob, PlannedUpload};
use crate::status::{ErrorKind, JobStatus};
use crate::store::upload_cache::UploadCache;
use crate::ui::events::Event;
use uploads::Uploads;

/// What the engine did.
#[derive(Debug, Default)]
pub(crate) struct Report {
    pub lines: Vec<JobLine>,
    pub usage: Usage,
    pub uploads: UploadStats,
    /// Priced usage of every answered request.
    pub cost_usd: f64,
}

/// The cached file ids could not be checked with the API: nothing was started.
#[derive(Debug, thiserror::Error)]
#[error("cannot verify cached uploads with the API")]
pub(crate) struct VerifyError(#[source] pub Box<GaveUp>);

/// Runs `to_run` into `out`; `needed` are the uploads they attach.
pub(crate) async fn run(
    start: Start,
    cache: UploadCache,
    needed: &[&PlannedUpload],
    to_run: &[&PlannedJob],
    out: &Utf8Path,
) -> Result<Report, VerifyError> {
    let ctx = Arc::new(Ctx::new(start, to_run.len(), out));
    if let Some(b) = &ctx.batcher {
        tokio::spawn(Arc::clone(b).drive());
    }
    let cache = Arc::new(cache);
    compact(&cache);
    let verified = uploads::verify_cached(&ctx, &cache, needed)
        .await
        .map_err(|e| VerifyError(Box::new(e)))?;
    let order: BTreeMap<String, usize> = to_run
        .iter()
        .enumerate()
        .map(|(i, j)| (j.id.clone(), i))
        .collect();
    let uploads = Arc::new(Uploads::start(&ctx, &cache, needed, &verified, &order));
    let mut report = join(&ctx, spawn_jobs(&ctx, &uploads, to_run, out)).await;
    // Fold this run's journal into the snapshot, so uploads.json is whole between runs.
    compact(&cache);
    if let Some(b) = &ctx.batcher {
        b.fold_into_journal(&report.lines);
    }
    report.uploads = uploads.stats();
    report.cost_usd = ctx.budget.spent();
    Ok(report)
}

fn compact(cache: &UploadCache) {
    if let Err(e) = cache.compact() {
        tracing::warn!("{}", crate::error_chain::chain(&e));
    }
}

/// A task per job, all spawned at once; each waits for its `-j` permit itself.
fn spawn_jobs(
    ctx: &Arc<Ctx>,
    uploads: &Arc<Uploads>,
    to_run: &[&PlannedJob],
    out: &Utf8Path,
) -> JoinSet<(JobLine, Usage)> {
    // Batch mode: a round holds a request of every job, so no job waits for a `-j` slot.
    let slots = if ctx.settings.batch.is_some() {
        to_run.len().max(1)
    } else {
        ctx.settings.jobs
    };
    let permits = Arc::new(Semaphore::new(slots));
    let mut tasks = JoinSet::new();
    for job in to_run {
        let (ctx, uploads, permits, job) = (
            Arc::clone(ctx),
            Arc::clone(uploads),
            Arc::clone(&permits),
            (*job).clone(),
        );
        let out = out.to_owned();
        tasks.spawn(guarded(job.clone(), async move {
            job::run_one(&ctx, &uploads, &permits, &out, job).await
        }));
    }
    tasks
}

/// Every job's line and the run's usage, as the tasks finish.
async fn join(ctx: &Ctx, mut tasks: JoinSet<(JobLine, Usage)>) -> Report {
    let mut report = Report::default();
    while let Some(joined) = tasks.join_next().await {
        // `guarded` turns a panic into a line; a join error is then only a cancelled task,
        // which this code never does.
        let Ok((line, usage)) = joined else { continue };
        // A panicked job could not report its end itself.
        if let Some(e) = line
            .error
            .as_ref()
            .filter(|e| e.kind == ErrorKind::Internal)
        {
            ctx.reporter.report(Event::JobFinished {
                id: line.dir.clone(),
                status: JobStatus::Failed,
                failure: Some(e.failure()),
            });
        }
        report.usage.add(&usage);
        report.lines.push(line);
    }
    report
}

/// Runs one job's future; a panic in it becomes that job's failed line instead of
/// aborting the run.
async fn guarded(job: PlannedJob, run: impl Future<Output = (JobLine, Usage)>) -> (JobLine, Usage) {
    match std::panic::AssertUnwindSafe(run).catch_unwind().await {
        Ok(done) => done,
        Err(panic) => {
            let what = panic
                .downcast_ref::<&str>()
                .map(|s| (*s).to_owned())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_default();
            let error = JobError::plain(
                ErrorKind::Internal,
                format!(
                    "the runner failed while running this job (a bug; please report it): {what}"
                ),
            );
            (
                JobLine::ended(&job, JobEnd::Failed(error)),
                Usage::default(),
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_panicking_job_becomes_a_failed_line() {
        let job = crate::output::tests::succeeded().job;
        let (line, usage) = guarded(job.clone(), async { panic!("boom") }).await;
        assert_eq!(line.status, JobStatus::Failed);
        let error = line.error.unwrap();
        assert_eq!(error.kind, ErrorKind::Internal);
        assert!(error.message.ends_with("boom"), "{}", error.message);
        assert_eq!(line.dir, job.id);
        assert_eq!(usage, Usage::default());
    }
}

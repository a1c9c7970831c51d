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
//! - **Cancellation.** One [`CancellationToken`] (from the first SIGINT/SIGTERM): jobs
//!   not started are recorded as interrupted, requests in flight are abandoned, folders
//!   being written are finished. The second signal is `commands/run.rs`'s business.
//!
//! - **Money.** Every Messages request reserves the most it can bill against
//!   `--budget-usd` first ([`budget`], through `priced.rs`); a request that does not fit
//!   waits, first come first served, for requests in flight to free what they did not
//!   use; one that could never fit is not sent, its job fails and [`halt`] keeps every job
//!   not yet started from starting.
//!
//! `conversation.rs` runs one conversation (turns, `pause_turn`, follow-ups);
//! `deliverables.rs` checks the generated files against `expect` after the last turn and
//! asks for repair turns; `downloads.rs` fetches generated files within the output limits;
//! `job.rs` is one job from its inputs to its folder.

pub(crate) mod batch_journal;
mod batch_wait;
pub(crate) mod batcher;
pub(crate) mod budget;
pub(crate) mod conversation;
mod deliverables;
mod download_size;
pub(crate) mod downloads;
pub(crate) mod halt;
mod job;
mod priced;
pub(crate) mod uploads;

pub(crate) use job::line;

use std::collections::BTreeMap;
use std::sync::Arc;

use camino::Utf8Path;
use futures_util::FutureExt;
use tokio::sync::Semaphore;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use crate::api::ApiClient;
use crate::api::messages::Usage;
use crate::api::retry::{GaveUp, RetryPolicy};
use crate::output::outcome::{JobError, JobLine, UploadStats};
use crate::plan::{PlannedJob, PlannedUpload};
use crate::status::{ErrorKind, JobStatus};
use crate::store::upload_cache::UploadCache;
use crate::ui::events::{Event, Failure, Reporter};
use budget::Budget;
use downloads::OutputLimits;
use uploads::Uploads;

/// How the engine runs, decided by the configuration.
#[derive(Clone, Copy, Debug)]
pub struct Settings {
    /// Conversations in flight at once (`-j`).
    pub jobs: usize,
    /// Uploads in flight at once.
    pub uploads: usize,
    /// `expires_in_seconds` for new uploads.
    pub upload_ttl: Option<u64>,
    pub limits: OutputLimits,
    pub policy: RetryPolicy,
    /// `--max-fail`: after this many failed jobs, start no new one.
    pub max_fail: Option<usize>,
    /// `--budget-usd`.
    pub budget_usd: Option<f64>,
    /// `--budget-model-calls`: model calls one request is reserved for.
    pub budget_model_calls: u32,
    /// `--batch` and its options: every Messages request through Message Batches
    /// (`batcher.rs`).
    pub batch: Option<batcher::BatchSettings>,
}

/// What every task of a run shares.
pub struct Ctx {
    pub client: ApiClient,
    pub policy: RetryPolicy,
    /// `anthropic-version` of the Files calls: the jobs' own (see [`files_api_version`]).
    pub files_version: String,
    pub reporter: Arc<dyn Reporter>,
    pub cancel: CancellationToken,
    pub halt: halt::Halt,
    /// Failed jobs so far, for `--max-fail`.
    pub failures: halt::FailCount,
    pub max_fail: Option<usize>,
    /// Where a failed attempt of a job goes when the job's folder holds a success:
    /// `OUT/runs/<run-id>` (docs/output.md, "Run history").
    pub attempts_root: camino::Utf8PathBuf,
    /// The run's spend, and `--budget-usd` (`budget.rs`).
    pub budget: Budget,
    /// Batch mode: where requests go instead of `POST /v1/messages` (set by [`run`]).
    pub batcher: Option<Arc<batcher::Batcher>>,
}

/// What the engine did.
#[derive(Debug, Default)]
pub struct Report {
    pub lines: Vec<JobLine>,
    pub usage: Usage,
    pub uploads: UploadStats,
    /// Priced usage of every answered request.
    pub cost_usd: f64,
}

/// The cached file ids could not be checked with the API: nothing was started.
#[derive(Debug, thiserror::Error)]
#[error("cannot verify cached uploads with the API")]
pub struct VerifyError(#[source] pub Box<GaveUp>);

/// Runs `to_run` into `out`; `needed` are the uploads they attach.
pub async fn run(
    ctx: Ctx,
    cache: UploadCache,
    needed: &[&PlannedUpload],
    to_run: &[&PlannedJob],
    settings: &Settings,
    out: &Utf8Path,
) -> Result<Report, VerifyError> {
    let mut ctx = ctx;
    if let Some(batch) = settings.batch {
        ctx.batcher = Some(batcher::Batcher::new(to_run.len(), out, batch));
    }
    let ctx = Arc::new(ctx);
    if let Some(b) = &ctx.batcher {
        tokio::spawn(Arc::clone(b).drive(Arc::clone(&ctx)));
    }
    let cache = Arc::new(cache);
    if let Err(e) = cache.compact() {
        tracing::warn!("{}", crate::error_chain::chain(&e));
    }
    let verified = uploads::verify_cached(&ctx, &cache, needed)
        .await
        .map_err(|e| VerifyError(Box::new(e)))?;
    let order: BTreeMap<String, usize> = to_run
        .iter()
        .enumerate()
        .map(|(i, j)| (j.id.clone(), i))
        .collect();
    let uploads = Arc::new(Uploads::start(
        &ctx, &cache, needed, &verified, settings, &order,
    ));
    // Batch mode: a round holds a request of every job, so no job waits for a `-j` slot.
    let slots = if settings.batch.is_some() {
        to_run.len().max(1)
    } else {
        settings.jobs
    };
    let permits = Arc::new(Semaphore::new(slots));
    let mut tasks = JoinSet::new();
    for job in to_run {
        let (ctx, uploads, permits, job) = (
            Arc::clone(&ctx),
            Arc::clone(&uploads),
            Arc::clone(&permits),
            (*job).clone(),
        );
        let (limits, out) = (settings.limits, out.to_owned());
        tasks.spawn(guarded(job.clone(), async move {
            job::run_one(&ctx, &uploads, &permits, limits, &out, job).await
        }));
    }
    let mut report = Report::default();
    while let Some(joined) = tasks.join_next().await {
        // `guarded` turns a panic into a line; a join error is then only a cancelled task,
        // which this code never does.
        let Ok((line, usage)) = joined else { continue };
        if line.status == JobStatus::Failed
            && line
                .error
                .as_ref()
                .is_some_and(|e| e.kind == ErrorKind::Internal)
        {
            ctx.reporter.report(Event::JobFinished {
                id: line.dir.clone(),
                status: JobStatus::Failed,
                failure: line.error.as_ref().map(|e| Failure {
                    kind: e.kind,
                    message: e.message.clone(),
                }),
            });
        }
        report.usage.add(&usage);
        report.lines.push(line);
    }
    // Fold this run's journal into the snapshot, so uploads.json is whole between runs.
    if let Err(e) = cache.compact() {
        tracing::warn!("{}", crate::error_chain::chain(&e));
    }
    if let Some(b) = &ctx.batcher {
        b.fold_into_journal(&report.lines);
    }
    report.uploads = uploads.stats();
    report.cost_usd = ctx.budget.spent();
    Ok(report)
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
            let error = JobError {
                kind: ErrorKind::Internal,
                message: format!(
                    "the runner failed while running this job (a bug; please report it): {what}"
                ),
                request_id: None,
            };
            (
                job::line(&job, JobStatus::Failed, Some(error)),
                Usage::default(),
            )
        }
    }
}

/// The `anthropic-version` a run's Files calls send: the one every job to run asks for, or
/// the default when they differ (uploads are shared between jobs; docs/api.md §0.3).
pub fn files_api_version(jobs: &[&PlannedJob]) -> String {
    let mut versions = jobs.iter().map(|j| j.settings.api_version.as_str());
    let first = versions
        .next()
        .unwrap_or(crate::api::facts::DEFAULT_API_VERSION);
    if versions.all(|v| v == first) {
        first.to_owned()
    } else {
        crate::api::facts::DEFAULT_API_VERSION.to_owned()
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

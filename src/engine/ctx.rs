//! How the engine runs ([`Settings`], decided by the configuration) and what every task of
//! a run shares ([`Ctx`]). The settings reach the engine by one route: inside the
//! [`Start`] that `commands/run.rs` hands to [`super::run`], which builds the [`Ctx`].

use std::sync::Arc;

use camino::{Utf8Path, Utf8PathBuf};
use tokio_util::sync::CancellationToken;

use super::batcher::{BatchSettings, Batcher, Link};
use super::budget::Budget;
use super::halt::{FailCount, Halt};
use crate::api::ApiClient;
use crate::api::retry::RetryPolicy;
use crate::ui::events::Reporter;

/// How the engine runs, decided by the configuration.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Settings {
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
    /// (`batcher/`).
    pub batch: Option<BatchSettings>,
}

/// Caps on what a server may make a job write (`downloads.rs`). Exceeding one fails the
/// job with a clear reason and leaves nothing partial.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct OutputLimits {
    pub max_file_bytes: u64,
    pub max_job_bytes: u64,
    pub max_files: usize,
}

/// What the command hands the engine: the connection, the display, the first signal, where
/// failed attempts go, and the settings.
pub(crate) struct Start {
    pub client: ApiClient,
    /// `anthropic-version` of the Files calls: the jobs' own
    /// ([`crate::plan::request::files_api_version`]).
    pub files_version: String,
    pub reporter: Arc<dyn Reporter>,
    pub cancel: CancellationToken,
    /// Where a failed attempt of a job goes when the job's folder holds a success:
    /// `OUT/runs/<run-id>` (docs/output.md, "Run history").
    pub attempts_root: Utf8PathBuf,
    pub settings: Settings,
    /// Which custom skill folders this runner uploaded, for this API and key.
    pub skill_cache: crate::store::skill_cache::SkillCache,
}

/// What every task of a run shares.
pub(crate) struct Ctx {
    pub client: ApiClient,
    pub files_version: String,
    pub reporter: Arc<dyn Reporter>,
    pub cancel: CancellationToken,
    pub settings: Settings,
    pub halt: Halt,
    /// Failed jobs so far, for `--max-fail`.
    pub failures: FailCount,
    pub attempts_root: Utf8PathBuf,
    /// The run's spend, and `--budget-usd` (`budget.rs`).
    pub budget: Budget,
    /// Batch mode: where requests go instead of `POST /v1/messages`.
    pub batcher: Option<Arc<Batcher>>,
    /// The run's custom skill folders, each uploaded once (`skills.rs`).
    pub skills: super::skills::Skills,
    /// One job first for each shared prefix (`prefix.rs`).
    pub prefixes: super::prefix::Leaders,
}

impl Ctx {
    /// The context of a run of `jobs` jobs into `out`.
    pub(crate) fn new(start: Start, jobs: usize, out: &Utf8Path) -> Ctx {
        let settings = start.settings;
        let batcher = settings.batch.map(|batch| {
            let link = Link {
                client: start.client.clone(),
                policy: settings.policy,
                reporter: Arc::clone(&start.reporter),
                cancel: start.cancel.clone(),
            };
            Batcher::new(jobs, out, batch, link)
        });
        let budget = Budget::new(settings.budget_usd, settings.budget_model_calls)
            .reporting_to(Arc::clone(&start.reporter));
        Ctx {
            client: start.client,
            files_version: start.files_version,
            reporter: start.reporter,
            cancel: start.cancel,
            settings,
            halt: Halt::default(),
            failures: FailCount::default(),
            attempts_root: start.attempts_root,
            budget,
            batcher,
            skills: super::skills::Skills::new(start.skill_cache),
            prefixes: super::prefix::Leaders::default(),
        }
    }

    /// Counts one failed job; the `--max-fail`th stops new jobs from starting.
    pub(crate) fn job_failed(&self) {
        self.failures.failed(&self.halt, self.settings.max_fail);
    }
}

//! The only module that knows the order of the stages:
//! manifest → resolve (inputs) → hash → plan → upload → run → collect → write.
//! It turns the outcome into an exit code.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use camino::{Utf8Path, Utf8PathBuf};
use futures_util::future::Shared as Shared_;
use futures_util::{FutureExt, StreamExt};
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;

use crate::api::{ApiClient, ApiKey, Pacing, Timeouts};
use crate::cli::{PlanArgs, RunArgs, StateArgs};
use crate::error::{Error, exit};
use crate::events::{Event, Reporter};
use crate::outcome::{
    AttachedInput, Counts, ErrorKind, JobError, JobLine, JobOutcome, JobStatus, RunSummary,
    UploadStats, Usage,
};
use crate::outdir::{self, Staging};
use crate::plan::{self, Plan, PlannedJob, PlannedUpload};
use crate::resolve::{self, Job};
use crate::retry;
use crate::retry::RetryPolicy;
use crate::run::{self, Conversation, RunCtx};
use crate::state::{self, StateDir};
use crate::upload::{self, UploadCache};
use crate::{collect, hashing, wire, write};

/// Reads and checks the manifests; fails with every diagnostic of every manifest.
fn load(manifests: &[Utf8PathBuf]) -> Result<Vec<Job>, Error> {
    let (sources, result) = resolve::resolve(manifests);
    result.map_err(|diagnostics| Error::Invalid {
        diagnostics,
        sources: sources.into_iter().map(|s| (s.path, s.text)).collect(),
    })
}

/// `runner validate`: manifests and inputs, no hashing, no network.
pub fn validate(manifests: &[Utf8PathBuf]) -> Result<(Vec<Job>, u8), Error> {
    let jobs = load(manifests)?;
    Ok((jobs, exit::SUCCESS))
}

/// Resolves, hashes (with the cache in the state dir) and plans.
pub async fn make_plan(
    manifests: &[Utf8PathBuf],
    state: &StateArgs,
) -> Result<(Plan, StateDir), Error> {
    let jobs = load(manifests)?;
    let state = StateDir::open(&state::resolve(state.state_dir.as_deref())?)?;
    let paths: Vec<Utf8PathBuf> = jobs
        .iter()
        .flat_map(|j| j.inputs.iter().map(|f| f.abs.clone()))
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect();
    let hashes: BTreeMap<_, _> = hashing::hash_all(Some(&state), paths).await?;
    Ok((plan::build(&jobs, &hashes), state))
}

/// `runner plan`: the plan as text or JSON on stdout.
///
/// Each job is marked fresh or to-run (from its `job.json` under `--out`), and each upload
/// cached or to-upload (from the upload cache of this API base URL and key; a cached id is
/// verified only by `run`, since `plan` makes no network call).
pub async fn plan(args: &PlanArgs, api: &ApiConfig) -> Result<(String, u8), Error> {
    let (plan, state) = make_plan(&args.manifests, &args.state).await?;
    let fresh: BTreeSet<String> = plan
        .jobs
        .iter()
        .filter(|j| is_fresh(&args.out, j))
        .map(|j| j.id.clone())
        .collect();
    let cached: BTreeSet<(String, String)> = match &api.key {
        Some(key) => {
            let cache = UploadCache::for_api(&state, &api.base_url, key.fingerprint());
            cache
                .lookup(&plan.uploads.iter().collect::<Vec<_>>())
                .into_keys()
                .collect()
        }
        None => BTreeSet::new(),
    };
    let status = crate::plan_text::Status { fresh, cached };
    let text = if args.json {
        let value = crate::plan_text::to_json(&plan, &status);
        serde_json::to_string_pretty(&value).map_err(|e| Error::Setup(e.to_string()))? + "\n"
    } else {
        crate::plan_text::render(&plan, &status)
    };
    Ok((text, exit::SUCCESS))
}

/// The resources every task of a run shares.
struct Shared {
    client: ApiClient,
    policy: RetryPolicy,
    reporter: Arc<dyn Reporter>,
    cancel: CancellationToken,
    out: Utf8PathBuf,
    limits: collect::OutputLimits,
    cache: Arc<UploadCache>,
    /// Where each (BLAKE3, name) is read from, for uploads.
    sources: BTreeMap<(String, String), Utf8PathBuf>,
    /// Inputs uploaded again mid-run because the API lost them, shared by all jobs.
    reuploads: std::sync::Mutex<BTreeMap<(String, String), UploadHandle>>,
}

impl Shared {
    fn ctx(&self) -> RunCtx<'_> {
        RunCtx {
            client: &self.client,
            policy: &self.policy,
            reporter: self.reporter.as_ref(),
            cancel: &self.cancel,
            limits: self.limits,
        }
    }
}

type UploadResult = Result<(String, bool, u64), Arc<str>>;
type UploadHandle = Shared_<futures_util::future::BoxFuture<'static, UploadResult>>;

/// `runner run`: plan, then upload → run → collect → write every selected job that is not
/// fresh. Returns the summary (also written as `run.json`) and the exit code.
pub async fn run(
    args: &RunArgs,
    api: &ApiConfig,
    reporter: Arc<dyn Reporter>,
    cancel: CancellationToken,
) -> Result<(RunSummary, u8), Error> {
    let started_at = jiff::Timestamp::now();
    let (plan, state) = make_plan(&args.manifests, &args.state).await?;
    let ttl = args.upload_ttl.as_deref().map(parse_ttl).transpose()?;
    let selected = select_jobs(&plan, &args.only)?;
    let out = args.out.clone();
    fs_err::create_dir_all(&out)
        .map_err(|e| Error::Setup(format!("cannot create output folder: {e}")))?;
    let _out_lock = lock_out(&out)?;
    outdir::clean_stale(&out)
        .map_err(|e| Error::Setup(format!("cannot tidy output folder {out}: {e}")))?;

    let (fresh, to_run): (Vec<&PlannedJob>, Vec<&PlannedJob>) = selected
        .into_iter()
        .partition(|job| !args.force && is_fresh(&out, job));
    let needed: Vec<&PlannedUpload> = plan
        .uploads
        .iter()
        .filter(|u| u.jobs.iter().any(|id| to_run.iter().any(|j| &j.id == id)))
        .collect();
    reporter.report(Event::RunStarted {
        jobs: to_run.len() + fresh.len(),
        fresh: fresh.len(),
        uploads: needed.len(),
        upload_bytes: needed.iter().map(|u| u.size).sum(),
    });
    for job in &fresh {
        reporter.report(Event::JobFinished {
            id: job.id.clone(),
            status: JobStatus::Fresh,
            detail: None,
        });
    }

    let mut lines: Vec<JobLine> = fresh
        .iter()
        .map(|j| job_line(j, JobStatus::Fresh, None))
        .collect();
    let mut usage = Usage::default();
    let mut upload_stats = UploadStats::default();

    if !to_run.is_empty() {
        let policy = RetryPolicy {
            max_attempts: u32::from(args.max_attempts),
            ..RetryPolicy::default()
        };
        let client = api.connect(Pacing {
            messages: usize::from(args.jobs),
            // Uploads, plus the downloads and metadata calls of running jobs.
            files: usize::from(args.uploads) + usize::from(args.jobs),
            scale: policy.scale,
        })?;
        client.set_reporter(&reporter);
        let cache = Arc::new(UploadCache::new(&state, &client));
        let shared = Arc::new(Shared {
            client,
            policy,
            reporter: Arc::clone(&reporter),
            cancel: cancel.clone(),
            out: out.clone(),
            limits: collect::OutputLimits::from(args),
            cache: Arc::clone(&cache),
            sources: plan
                .uploads
                .iter()
                .map(|u| ((u.blake3.clone(), u.name.clone()), u.source.clone()))
                .collect(),
            reuploads: std::sync::Mutex::default(),
        });
        if let Err(e) = cache.compact() {
            tracing::warn!("{e}");
        }
        let cached = cache.lookup(&needed);
        let verified = if cached.is_empty() {
            BTreeMap::new()
        } else {
            upload::verify(&shared.client, &shared.policy, &cached)
                .await
                .map_err(|e| {
                    Error::Setup(format!("cannot verify cached uploads with the API: {e}"))
                })?
        };
        let job_order: BTreeMap<String, usize> = to_run
            .iter()
            .enumerate()
            .map(|(i, j)| (j.id.clone(), i))
            .collect();
        let handles = start_uploads(
            &shared,
            &cache,
            &needed,
            &verified,
            ttl,
            args.uploads,
            &job_order,
        );
        let jobs_limit = Arc::new(Semaphore::new(usize::from(args.jobs)));
        let mut tasks = tokio::task::JoinSet::new();
        for job in &to_run {
            let inputs: Vec<UploadHandle> = job
                .inputs
                .iter()
                .filter_map(|i| handles.get(&(i.blake3.clone(), i.name.clone())).cloned())
                .collect();
            let (shared, limit, job) =
                (Arc::clone(&shared), Arc::clone(&jobs_limit), (*job).clone());
            tasks.spawn(async move { run_one(&shared, &limit, job, inputs).await });
        }
        while let Some(joined) = tasks.join_next().await {
            let (line, job_usage) =
                joined.map_err(|e| Error::Setup(format!("a job task failed: {e}")))?;
            usage.add(&job_usage);
            lines.push(line);
        }
        // Fold this run's journal into the snapshot, so uploads.json is whole between runs.
        if let Err(e) = cache.compact() {
            tracing::warn!("{e}");
        }
        for handle in handles.values() {
            if let Some(Ok((_, reused, bytes))) = handle.peek() {
                if *reused {
                    upload_stats.reused += 1;
                } else {
                    upload_stats.uploaded += 1;
                    upload_stats.bytes_uploaded += bytes;
                }
            }
        }
    }

    lines.sort_by(|a, b| (&a.manifest, &a.job).cmp(&(&b.manifest, &b.job)));
    let counts = count(&lines);
    let exit_code = if counts.interrupted > 0 {
        exit::INTERRUPTED
    } else if counts.failed > 0 {
        exit::JOBS_FAILED
    } else {
        exit::SUCCESS
    };
    let summary = RunSummary {
        runner_version: env!("CARGO_PKG_VERSION").to_owned(),
        started_at,
        finished_at: jiff::Timestamp::now(),
        exit_code,
        counts,
        uploads: upload_stats,
        usage,
        jobs: lines,
    };
    write::write_run_json(&out, &summary)
        .map_err(|e| Error::Setup(format!("cannot write {out}/run.json: {e}")))?;
    Ok((summary, exit_code))
}

/// Where the API is and how to authenticate; read from the environment by `main`.
#[derive(Clone, Debug)]
pub struct ApiConfig {
    pub base_url: String,
    pub key: Option<ApiKey>,
}

impl ApiConfig {
    pub const DEFAULT_BASE_URL: &str = "https://api.anthropic.com";

    /// `ANTHROPIC_API_KEY` and `ANTHROPIC_BASE_URL`.
    pub fn from_env() -> ApiConfig {
        let var = |name: &str| std::env::var(name).ok().filter(|v| !v.trim().is_empty());
        ApiConfig {
            base_url: var("ANTHROPIC_BASE_URL")
                .unwrap_or_else(|| Self::DEFAULT_BASE_URL.to_owned()),
            key: var("ANTHROPIC_API_KEY").map(ApiKey::new),
        }
    }

    fn connect(&self, pacing: Pacing) -> Result<ApiClient, Error> {
        let key = self.key.clone().ok_or_else(|| {
            Error::Setup(
                "ANTHROPIC_API_KEY is not set; `runner run` needs an API key \
                 (to try the runner without one: `cargo run --example demo`)"
                    .into(),
            )
        })?;
        ApiClient::new(&self.base_url, key, Timeouts::default(), pacing).map_err(Error::Setup)
    }
}

/// Starts every upload that is not verified in the cache, at most `limit` at once, from one
/// driver task (so they really start in order). The order completes jobs' input sets in job
/// order (each upload ranks by the first job that needs it, largest first within a job), so
/// the first conversations start as early as possible; every job awaits only the handles
/// of its own inputs.
fn start_uploads(
    shared: &Arc<Shared>,
    cache: &Arc<UploadCache>,
    needed: &[&PlannedUpload],
    verified: &BTreeMap<(String, String), String>,
    ttl: Option<u64>,
    limit: u16,
    job_order: &BTreeMap<String, usize>,
) -> BTreeMap<(String, String), UploadHandle> {
    let mut ordered = needed.to_vec();
    ordered.sort_by_cached_key(|u| {
        let first_job = u
            .jobs
            .iter()
            .filter_map(|id| job_order.get(id))
            .min()
            .copied();
        (
            first_job,
            std::cmp::Reverse(u.size),
            u.key().0.to_owned(),
            u.key().1.to_owned(),
        )
    });
    let mut handles = BTreeMap::new();
    let mut queue = Vec::new();
    for u in ordered {
        let key = (u.blake3.clone(), u.name.clone());
        let future: futures_util::future::BoxFuture<'static, UploadResult> =
            if let Some(id) = verified.get(&key) {
                shared.reporter.report(Event::UploadFinished {
                    name: u.name.clone(),
                    size: u.size,
                    reused: true,
                });
                let id = id.clone();
                Box::pin(async move { Ok((id, true, 0)) })
            } else {
                let (tx, rx) = tokio::sync::oneshot::channel::<UploadResult>();
                queue.push((u.clone(), tx));
                Box::pin(async move {
                    rx.await
                        .unwrap_or_else(|_| Err(Arc::<str>::from("the upload was abandoned")))
                })
            };
        handles.insert(key, future.shared());
    }
    let (shared, cache) = (Arc::clone(shared), Arc::clone(cache));
    tokio::spawn(async move {
        futures_util::stream::iter(queue)
            .for_each_concurrent(usize::from(limit), |(u, tx)| {
                let (shared, cache) = (&shared, &cache);
                async move {
                    let result = if shared.cancel.is_cancelled() {
                        Err(Arc::<str>::from("interrupted before upload"))
                    } else {
                        shared.reporter.report(Event::UploadStarted {
                            name: u.name.clone(),
                            size: u.size,
                        });
                        let reporter = Arc::clone(&shared.reporter);
                        let on_bytes: crate::api::OnBytes =
                            Arc::new(move |bytes| reporter.report(Event::UploadProgress { bytes }));
                        let r = upload::upload_one(
                            &shared.client,
                            &shared.policy,
                            cache,
                            &u,
                            ttl,
                            Some(on_bytes),
                        )
                        .await;
                        if r.is_ok() {
                            shared.reporter.report(Event::UploadFinished {
                                name: u.name.clone(),
                                size: u.size,
                                reused: false,
                            });
                        }
                        r.map(|meta| (meta.id, false, u.size))
                            .map_err(Arc::<str>::from)
                    };
                    let _ = tx.send(result);
                }
            })
            .await;
    });
    handles
}

/// One job from waiting for its inputs to its output folder. Never fails: a failure is
/// the job's status.
async fn run_one(
    shared: &Shared,
    limit: &Semaphore,
    job: PlannedJob,
    inputs: Vec<UploadHandle>,
) -> (JobLine, Usage) {
    let reporter = shared.reporter.as_ref();
    reporter.report(Event::JobWaiting { id: job.id.clone() });
    let ready = tokio::select! {
        r = futures_util::future::join_all(inputs) => Some(r),
        () = shared.cancel.cancelled() => None,
    };
    let Some(uploaded) = ready else {
        return interrupted(reporter, &job);
    };
    // A `-j` slot is one conversation in flight; it is released when the conversation
    // ends, so downloading and writing this job overlap the next job's conversation.
    let permit = tokio::select! {
        p = limit.acquire() => p.ok(),
        () = shared.cancel.cancelled() => None,
    };
    if shared.cancel.is_cancelled() {
        return interrupted(reporter, &job);
    }
    let started_at = jiff::Timestamp::now();
    // The output folder must be writable before the conversation is paid for.
    let staging = match Staging::new(&shared.out, &job.id) {
        Ok(staging) => staging,
        Err(e) => {
            let error = JobError {
                kind: ErrorKind::Write,
                message: format!("cannot write the output of {}: {e}", job.id),
                request_id: None,
            };
            reporter.report(Event::JobFinished {
                id: job.id.clone(),
                status: JobStatus::Failed,
                detail: Some(error.message.clone()),
            });
            return (
                job_line(&job, JobStatus::Failed, Some(error)),
                Usage::default(),
            );
        }
    };
    let mut file_ids = Vec::new();
    let mut upload_error = None;
    for (input, result) in job.inputs.iter().zip(&uploaded) {
        match result {
            Ok((id, _, _)) => file_ids.push(id.clone()),
            Err(e) => upload_error = Some(format!("input {}: {e}", input.path)),
        }
    }
    let ctx = shared.ctx();
    let conversation = match upload_error {
        Some(message) => Conversation {
            request: wire::request_params(&job),
            error: Some(JobError {
                kind: ErrorKind::Upload,
                message,
                request_id: None,
            }),
            ..Conversation::default()
        },
        None => {
            let first = run::converse(&ctx, &job, &file_ids).await;
            if first.first_request_not_found()
                && refresh_lost_inputs(shared, &job, &mut file_ids).await
            {
                tracing::warn!(
                    job = job.id,
                    "an attached file was gone; uploaded it again, retrying the job once"
                );
                run::converse(&ctx, &job, &file_ids).await
            } else {
                first
            }
        }
    };
    drop(permit);
    if conversation
        .error
        .as_ref()
        .is_some_and(|e| e.kind == ErrorKind::Interrupted)
    {
        return interrupted(reporter, &job);
    }
    let mut outcome = JobOutcome {
        // The ids the conversation used: after a re-upload, the new ones.
        inputs: if file_ids.len() == job.inputs.len() {
            job.inputs
                .iter()
                .zip(&file_ids)
                .map(|(i, id)| AttachedInput {
                    input: i.clone(),
                    file_id: Some(id.clone()),
                })
                .collect()
        } else {
            job.inputs
                .iter()
                .zip(&uploaded)
                .map(|(i, r)| AttachedInput {
                    input: i.clone(),
                    file_id: r.as_ref().ok().map(|(id, _, _)| id.clone()),
                })
                .collect()
        },
        job,
        error: conversation.error,
        started_at,
        finished_at: started_at,
        request: conversation.request,
        messages: conversation.messages,
        exchanges: conversation.exchanges,
        container_id: conversation.container_id,
        outputs: Vec::new(),
    };
    let written = write_outcome(&ctx, &mut outcome, staging).await;
    if let Err(e) = written {
        outcome.error.get_or_insert(e);
    }
    let status = if outcome.succeeded() {
        JobStatus::Succeeded
    } else {
        JobStatus::Failed
    };
    reporter.report(Event::JobFinished {
        id: outcome.job.id.clone(),
        status: status.clone(),
        detail: outcome.error.as_ref().map(|e| e.message.clone()),
    });
    (
        job_line(&outcome.job, status, outcome.error.clone()),
        outcome.usage(),
    )
}

/// After a 404 on a job's first request: asks the Files API which of the job's file ids are
/// gone and uploads those inputs again (once per content across all jobs of the run).
/// Returns whether anything was replaced, i.e. whether retrying the job can help.
async fn refresh_lost_inputs(shared: &Shared, job: &PlannedJob, file_ids: &mut [String]) -> bool {
    let Ok(alive) = retry::retry(&shared.policy, |attempt| {
        shared.client.files_by_ids(file_ids, attempt)
    })
    .await
    else {
        return false;
    };
    let mut replaced = false;
    for (input, id) in job.inputs.iter().zip(file_ids.iter_mut()) {
        if alive.iter().any(|m| &m.id == id) {
            continue;
        }
        let key = (input.blake3.clone(), input.name.clone());
        let handle = {
            let mut reuploads = shared
                .reuploads
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            reuploads
                .entry(key)
                .or_insert_with(|| {
                    let upload = PlannedUpload {
                        blake3: input.blake3.clone(),
                        name: input.name.clone(),
                        size: input.size,
                        source: shared
                            .sources
                            .get(&(input.blake3.clone(), input.name.clone()))
                            .cloned()
                            .unwrap_or_default(),
                        jobs: vec![job.id.clone()],
                    };
                    let cache = Arc::clone(&shared.cache);
                    let (client, policy) = (shared.client.clone(), shared.policy);
                    let future: futures_util::future::BoxFuture<'static, UploadResult> =
                        Box::pin(async move {
                            upload::upload_one(&client, &policy, &cache, &upload, None, None)
                                .await
                                .map(|meta| (meta.id, false, upload.size))
                                .map_err(Arc::<str>::from)
                        });
                    future.shared()
                })
                .clone()
        };
        match handle.await {
            Ok((new_id, _, _)) => {
                *id = new_id;
                replaced = true;
            }
            Err(e) => {
                tracing::warn!(job = job.id, "re-upload of {} failed: {e}", input.path);
                return false;
            }
        }
    }
    replaced
}

/// Downloads the generated files (even for a failed job: they are what it produced) and
/// writes the job folder.
async fn write_outcome(
    ctx: &RunCtx<'_>,
    outcome: &mut JobOutcome,
    staging: Staging,
) -> Result<(), JobError> {
    match collect::collect(ctx, &outcome.job.id, &outcome.exchanges, &staging).await {
        Ok(outputs) => outcome.outputs = outputs,
        Err(e) => {
            outcome.error.get_or_insert(e);
        }
    }
    outcome.finished_at = jiff::Timestamp::now();
    let id = outcome.job.id.clone();
    write::write_job(staging, outcome).map_err(|e| JobError {
        kind: ErrorKind::Write,
        message: format!("cannot write the output of {id}: {e}"),
        request_id: None,
    })?;
    Ok(())
}

fn interrupted(reporter: &dyn Reporter, job: &PlannedJob) -> (JobLine, Usage) {
    reporter.report(Event::JobFinished {
        id: job.id.clone(),
        status: JobStatus::Interrupted,
        detail: None,
    });
    let error = JobError {
        kind: ErrorKind::Interrupted,
        message: "the run was interrupted before this job finished; run again to continue".into(),
        request_id: None,
    };
    (
        job_line(job, JobStatus::Interrupted, Some(error)),
        Usage::default(),
    )
}

/// One runner per output folder: a second one would race on the same job folders (and
/// tidy away the first one's staging folders). Held until the run ends.
fn lock_out(out: &Utf8Path) -> Result<fs_err::File, Error> {
    let path = out.join(".runner.lock");
    let file = state::open_lock_file(&path)?;
    match file.file().try_lock() {
        Ok(()) => Ok(file),
        Err(std::fs::TryLockError::WouldBlock) => Err(Error::Setup(format!(
            "another `runner run` is writing to {out}; wait for it to finish or use another --out"
        ))),
        Err(std::fs::TryLockError::Error(e)) => {
            Err(Error::Setup(format!("cannot lock {path}: {e}")))
        }
    }
}

fn job_line(job: &PlannedJob, status: JobStatus, error: Option<JobError>) -> JobLine {
    JobLine {
        manifest: job.manifest.to_string(),
        job: job.name.clone(),
        status,
        dir: job.id.clone(),
        fingerprint: job.fingerprint.clone(),
        error,
    }
}

fn count(lines: &[JobLine]) -> Counts {
    let mut c = Counts {
        total: lines.len(),
        ..Counts::default()
    };
    for l in lines {
        match l.status {
            JobStatus::Succeeded => c.succeeded += 1,
            JobStatus::Failed => c.failed += 1,
            JobStatus::Fresh => c.fresh += 1,
            JobStatus::Interrupted => c.interrupted += 1,
        }
    }
    c
}

/// A job is fresh when its folder's job.json says it succeeded with the same fingerprint.
fn is_fresh(out: &Utf8Path, job: &PlannedJob) -> bool {
    let Ok(bytes) = fs_err::read(out.join(&job.id).join("job.json")) else {
        return false;
    };
    let Ok(value) = serde_json::from_slice::<serde_json::Value>(&bytes) else {
        return false;
    };
    value["status"] == "succeeded" && value["fingerprint"] == job.fingerprint.as_str()
}

/// `--only GLOB`: matched against the job name and against `<manifest-stem>/<name>`.
fn select_jobs<'p>(plan: &'p Plan, only: &[String]) -> Result<Vec<&'p PlannedJob>, Error> {
    if only.is_empty() {
        return Ok(plan.jobs.iter().collect());
    }
    let mut builder = globset::GlobSetBuilder::new();
    for pattern in only {
        let glob = globset::GlobBuilder::new(pattern)
            .literal_separator(true)
            .build()
            .map_err(|e| {
                Error::Setup(format!(
                    "--only `{pattern}` is not a valid glob: {}",
                    e.kind()
                ))
            })?;
        builder.add(glob);
    }
    let set = builder.build().map_err(|e| Error::Setup(e.to_string()))?;
    let chosen: Vec<&PlannedJob> = plan
        .jobs
        .iter()
        .filter(|j| set.is_match(&j.name) || set.is_match(&j.id))
        .collect();
    if chosen.is_empty() {
        return Err(Error::Setup(format!(
            "--only {} matches no job",
            only.join(", ")
        )));
    }
    Ok(chosen)
}

/// `--upload-ttl`: a duration such as `2h`, `36h`, `7d` or `90 days`, within what the
/// Files API accepts (1 hour to 90 days).
fn parse_ttl(text: &str) -> Result<u64, Error> {
    let bad = || {
        Error::Setup(format!(
            "--upload-ttl `{text}`: expected a duration from 1h to 90d, e.g. `12h` or `7d`"
        ))
    };
    let span: jiff::Span = text.trim().parse().map_err(|_| bad())?;
    let secs = span
        .total(jiff::SpanTotal::from(jiff::Unit::Second).days_are_24_hours())
        .map_err(|_| bad())?;
    if !(3600.0..=7_776_000.0).contains(&secs) {
        return Err(bad());
    }
    #[expect(
        clippy::cast_possible_truncation,
        clippy::cast_sign_loss,
        reason = "range checked above"
    )]
    Ok(secs as u64)
}

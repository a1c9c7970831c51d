//! `runner run`: manifest → plan → (select, lock the output folder, skip what is fresh) →
//! key and model checks → engine → `run.json` → the closing summary. The order of the
//! stages and nothing else.

use std::sync::Arc;

use camino::{Utf8Path, Utf8PathBuf};
use tokio_util::sync::CancellationToken;

use super::model_check;
use super::output_lock;
use super::plan::{make_plan, make_plan_keep_going};
use super::setup_failure::SetupRecord;
use super::signals::Shutdown;
use crate::config::{Config, RunConfig};
use crate::engine::{self, Start};
use crate::error::{Error, Exit};
use crate::output::attempts::previous_success;
use crate::output::batch_journal::Journal;
use crate::output::night::NightKeys;
use crate::output::outcome::{
    Counts, HaltKind, JobError, JobLine, LineHistory, Notified, RunCost, RunSummary, Skipped,
};
use crate::output::records::is_fresh;
use crate::output::staging;
use crate::output::{history, junit, metrics};
use crate::plan::models::ModelUse;
use crate::plan::request::files_api_version;
use crate::plan::{Plan, PlannedJob, PlannedUpload};
use crate::status::{ErrorKind, JobStatus};
use crate::store::StateDir;
use crate::store::skill_cache::SkillCache;
use crate::store::upload_cache::UploadCache;
use crate::ui::events::{Event, Reporter};
use crate::ui::summary::Summary;
use crate::ui::{self, Display};

pub(super) async fn run(config: RunConfig, display: &Display) -> Result<Exit, Error> {
    let shutdown = Shutdown::install();
    let reporter = ui::reporter(display);
    announce_interrupt(&reporter, shutdown.token.clone());
    let work = execute(
        &config,
        display,
        Arc::clone(&reporter),
        shutdown.token.clone(),
    );
    tokio::select! {
        result = work => {
            let summary = result?;
            // Bars off the screen before the closing lines.
            drop(reporter);
            finish(&summary, &config, display);
            Ok(exit_for(&summary.counts, config.fail_on_alert))
        }
        () = shutdown.second_signal() => {
            ui::note("interrupted again: stopping now (finished jobs are kept)");
            Ok(Exit::Interrupted)
        }
    }
}

/// Tells the display when the first signal arrives (without keeping it alive).
fn announce_interrupt(reporter: &Arc<dyn Reporter>, token: CancellationToken) {
    let reporter = Arc::downgrade(reporter);
    tokio::spawn(async move {
        token.cancelled().await;
        if let Some(reporter) = reporter.upgrade() {
            reporter.report(Event::Interrupted);
        }
    });
}

async fn execute(
    config: &RunConfig,
    display: &Display,
    reporter: Arc<dyn Reporter>,
    cancel: CancellationToken,
) -> Result<RunSummary, Error> {
    let started_at = jiff::Timestamp::now();
    let run_id = history::new_run_id(started_at);
    let (plan, state, rejected, skipped) = load(config).await?;
    let night = night_of(config, &plan);
    let selected = select(config, &plan, &rejected, &skipped)?;
    let out = &config.out;
    let _lock = prepare_out(config, &selected)?;
    let (fresh, to_run, needed) = split(config, &plan, selected);
    reporter.report(Event::RunStarted {
        jobs: to_run.len() + fresh.len() + rejected.len(),
        fresh: fresh.len(),
        uploads: needed.len(),
        upload_bytes: needed.iter().map(|u| u.size).sum(),
    });
    let mut lines = settled(&reporter, out, rejected, &fresh);
    let mut report = engine::Report::default();
    if !to_run.is_empty() {
        let run = EngineRun {
            state: &state,
            needed: &needed,
            to_run: &to_run,
            attempts_root: history::run_dir(out, &run_id),
        };
        let record = output_lock::run_record_name(config.shard);
        let setup = SetupRecord {
            out,
            record: &record,
            run_id: &run_id,
            started_at,
            cost: RunCost {
                usd: 0.0,
                budget_usd: config.engine.budget_usd,
            },
            keep_runs: config.keep_runs,
            night: night.clone(),
        };
        match run_engine(config, display, reporter, cancel, run).await {
            Ok(ran) => report = ran,
            Err(e) => {
                let (error, summary) = setup.failed(e);
                notify_and_record(config, summary).await;
                merge_night(config, night.as_deref());
                return Err(error);
            }
        }
    }
    lines.append(&mut report.lines);
    lines.sort_by(|a, b| (&a.manifest, &a.job).cmp(&(&b.manifest, &b.job)));
    judge_metrics(out, &run_id, &plan, &mut lines);
    let counts = Counts::of(&lines);
    let summary = RunSummary {
        run_id,
        runner_version: env!("CARGO_PKG_VERSION").to_owned(),
        started_at,
        finished_at: jiff::Timestamp::now(),
        exit_code: exit_for(&counts, config.fail_on_alert).code(),
        counts,
        uploads: report.uploads,
        usage: report.usage,
        cost: RunCost {
            usd: report.cost_usd,
            budget_usd: config.engine.budget_usd,
        },
        jobs: lines,
        error: None,
        skipped,
        notifications: Vec::new(),
        night: NightKeys::of_shard(night),
    };
    record(config, summary).await
}

/// The run's record and the rest written, its notifications sent, and with `--shard` the
/// night merged when this shard is its last.
async fn record(config: &RunConfig, summary: RunSummary) -> Result<RunSummary, Error> {
    write_records(config, &summary)?;
    let summary = notify_and_record(config, summary).await;
    merge_night(config, summary.night.night.as_deref());
    Ok(summary)
}

/// A shard's night: `--night`, else derived from the plan and N (docs/output.md §6.5).
fn night_of(config: &RunConfig, plan: &Plan) -> Option<String> {
    let shard = config.shard?;
    Some(config.night.clone().unwrap_or_else(|| {
        let jobs = plan
            .jobs
            .iter()
            .map(|j| (j.id.as_str(), j.fingerprint.as_str()));
        crate::output::merge::derived_night(jobs, config.only.patterns(), shard.n())
    }))
}

/// With `--shard`, once its record is written: the night's merge, when this shard is the
/// last of its night to finish.
fn merge_night(config: &RunConfig, night: Option<&str>) {
    if let Some(night) = night {
        super::merge::after_shard(&config.out, night, config.junit.as_deref());
    }
}

/// Sends the run's notifications (after its record is written, so a slow target never
/// costs the record), then rewrites the record with their results. Never fails the run:
/// a target that failed is logged at ERROR and recorded.
async fn notify_and_record(config: &RunConfig, mut summary: RunSummary) -> RunSummary {
    if config.notify.targets.is_empty() {
        return summary;
    }
    let Ok(value) = serde_json::to_value(&summary) else {
        return summary;
    };
    let changes = crate::output::diff::since::since_previous(&config.out, &summary.run_id);
    let outcomes = crate::notify::notify(&config.notify, &value, changes.as_deref()).await;
    if outcomes.is_empty() {
        return summary;
    }
    summary.notifications = outcomes
        .into_iter()
        .map(|o| Notified {
            target: o.target,
            trigger: o.trigger.as_str().to_owned(),
            ok: o.error.is_none(),
            error: o.error,
        })
        .collect();
    let record = output_lock::run_record_name(config.shard);
    if let Err(e) = history::write_run(&config.out, &record, &summary) {
        tracing::warn!("cannot record the notifications in {}: {e}", config.out);
    }
    summary
}

/// The plan, the state dir, and the lines of jobs settled without a plan of their own, as
/// `--only` selects them: (with `--keep-going`) rejected manifest entries, and `for_each`
/// entries that matched no file (failed with kind `no_inputs`); and the entries skipped
/// because they allow that.
async fn load(config: &RunConfig) -> Result<(Plan, StateDir, Vec<JobLine>, Vec<Skipped>), Error> {
    let (plan, state, mut rejected) = if config.keep_going {
        make_plan_keep_going(&config.manifests, &config.state_dir, &config.known).await?
    } else {
        let (plan, state) = make_plan(&config.manifests, &config.state_dir, &config.known).await?;
        (plan, state, Vec::new())
    };
    let mut skipped = Vec::new();
    for e in &plan.empty {
        if e.allow_empty {
            tracing::warn!("{}: skipped: {} (allow_empty)", e.dir(), e.message());
            skipped.push(Skipped {
                manifest: e.manifest.to_string(),
                job: e.job.clone(),
                dir: e.dir(),
                reason: e.message(),
            });
        } else {
            rejected.push(JobLine {
                manifest: e.manifest.to_string(),
                job: e.job.clone(),
                status: JobStatus::Failed,
                dir: e.dir(),
                fingerprint: String::new(),
                error: Some(JobError::plain(ErrorKind::NoInputs, e.message())),
                reason: None,
                history: LineHistory::default(),
                params: Default::default(),
            });
        }
    }
    let rejected = rejected
        .into_iter()
        .filter(|line| config.only.matches(&line.job, &line.dir))
        .collect();
    skipped.retain(|s| config.only.matches(&s.job, &s.dir));
    Ok((plan, state, rejected, skipped))
}

/// The jobs `--only` and `--shard` select; none at all (rejected ones included) is a
/// usage error.
fn select<'p>(
    config: &RunConfig,
    plan: &'p Plan,
    rejected: &[JobLine],
    skipped: &[Skipped],
) -> Result<Vec<&'p PlannedJob>, Error> {
    let selected = config.only.select(plan);
    if selected.is_empty() && rejected.is_empty() && skipped.is_empty() {
        return Err(Error::NoJobMatches(config.only.patterns().to_vec()));
    }
    // After `--only`: a shard with no job is no usage error, just nothing to do.
    Ok(match config.shard {
        Some(shard) => selected
            .into_iter()
            .filter(|j| shard.holds(&j.id))
            .collect(),
        None => selected,
    })
}

/// The selected jobs that are fresh, those to run, and the uploads the jobs to run need. A
/// stale job is never fresh (its unchanged inputs are what `max_input_age` is for) and
/// needs no upload: it fails before sending.
type Split<'p> = (
    Vec<&'p PlannedJob>,
    Vec<&'p PlannedJob>,
    Vec<&'p PlannedUpload>,
);

fn split<'p>(config: &RunConfig, plan: &'p Plan, selected: Vec<&'p PlannedJob>) -> Split<'p> {
    let (fresh, to_run): (Vec<&PlannedJob>, Vec<&PlannedJob>) =
        selected.into_iter().partition(|job| {
            !config.force && job.stale.is_none() && is_fresh(&config.out, &job.id, &job.fingerprint)
        });
    let sent: Vec<&PlannedJob> = to_run
        .iter()
        .copied()
        .filter(|j| j.stale.is_none())
        .collect();
    let needed = plan.uploads_for(&sent);
    (fresh, to_run, needed)
}

/// Creates and locks OUT (the lock is held while the returned files live), and tidies
/// what killed runs left: everywhere, or with `--shard` only the selected jobs' leftovers.
fn prepare_out(config: &RunConfig, selected: &[&PlannedJob]) -> Result<Vec<fs_err::File>, Error> {
    let out = &config.out;
    fs_err::create_dir_all(out).map_err(|source| Error::CreateOut {
        path: out.clone(),
        source,
    })?;
    let lock = output_lock::lock(out, config.shard)?;
    let tidied = match config.shard {
        None => staging::clean_stale(out),
        Some(_) => {
            let ids: Vec<&str> = selected.iter().map(|j| j.id.as_str()).collect();
            staging::clean_stale_of(out, &ids)
        }
    };
    tidied.map_err(|source| Error::TidyOut {
        path: out.clone(),
        source,
    })?;
    Ok(lock)
}

/// The lines of the jobs settled before the engine runs: rejected (failed) and fresh.
fn settled(
    reporter: &Arc<dyn Reporter>,
    out: &Utf8Path,
    rejected: Vec<JobLine>,
    fresh: &[&PlannedJob],
) -> Vec<JobLine> {
    let mut lines: Vec<JobLine> = Vec::new();
    for line in rejected {
        reporter.report(Event::JobFinished {
            id: line.dir.clone(),
            status: JobStatus::Failed,
            failure: line.error.as_ref().map(JobError::failure),
        });
        lines.push(line);
    }
    for job in fresh {
        reporter.report(Event::JobFinished {
            id: job.id.clone(),
            status: JobStatus::Fresh,
            failure: None,
        });
        let mut line = JobLine::of(job, JobStatus::Fresh, None);
        line.history.outputs = previous_success(out, &job.id).unwrap_or_default();
        line.history.metrics = metrics::kept(out, &job.id);
        lines.push(line);
    }
    // Their folders were written by an earlier run, which may have been killed before
    // recording their batch items as consumed.
    Journal::new(out).consume_jobs(&fresh.iter().map(|j| j.id.as_str()).collect());
    lines
}

/// What the engine is to run, and where a failed attempt goes.
struct EngineRun<'a> {
    state: &'a StateDir,
    needed: &'a [&'a PlannedUpload],
    to_run: &'a [&'a PlannedJob],
    attempts_root: Utf8PathBuf,
}

/// Checks the key and the models (either failing ends the run, exit 2, before any
/// upload), then runs the engine.
async fn run_engine(
    config: &RunConfig,
    display: &Display,
    reporter: Arc<dyn Reporter>,
    cancel: CancellationToken,
    run: EngineRun<'_>,
) -> Result<engine::Report, Error> {
    let client = config.api.connect(Config::pacing(&config.engine))?;
    let files_version = files_api_version(run.to_run);
    client.preflight(&files_version).await?;
    let uses: Vec<ModelUse<'_>> = run.to_run.iter().map(|j| ModelUse::from(*j)).collect();
    let policy = &config.engine.policy;
    model_check::online(&client, run.state, &uses, &files_version, policy, display).await?;
    client.set_reporter(&reporter);
    let cache = UploadCache::for_api(run.state, client.base_url(), client.key_fingerprint());
    let skill_cache = SkillCache::for_api(run.state, client.base_url(), client.key_fingerprint());
    let start = Start {
        client,
        files_version,
        reporter,
        cancel,
        attempts_root: run.attempts_root,
        settings: config.engine,
        skill_cache,
    };
    Ok(engine::run(start, cache, run.needed, run.to_run, &config.out).await?)
}

/// `run.json` (or the shard's record), `--junit`, `--keep-runs` and the pages.
fn write_records(config: &RunConfig, summary: &RunSummary) -> Result<(), Error> {
    let out = &config.out;
    let record = output_lock::run_record_name(config.shard);
    history::write_run(out, &record, summary).map_err(|source| Error::WriteRecord {
        path: out.join(&record),
        source,
    })?;
    // A shard's --junit is the night's, which the merge writes.
    if let Some(path) = config.junit.as_ref().filter(|_| config.shard.is_none()) {
        junit::write(path, summary).map_err(|source| Error::Junit {
            path: path.clone(),
            source,
        })?;
    }
    match history::prune(out, config.keep_runs, &summary.run_id) {
        Ok(0) => {}
        Ok(n) => tracing::info!(
            "removed {} (--keep-runs {})",
            crate::units::count(n, "old run folder"),
            config.keep_runs
        ),
        Err(e) => tracing::warn!("cannot prune {}: {e}", out.join(history::RUNS)),
    }
    super::pages::write_pages(out);
    Ok(())
}

/// `--json`'s summary on stdout, then the closing lines on stderr (also with `-q`).
fn finish(summary: &RunSummary, config: &RunConfig, display: &Display) {
    if config.json
        && let Ok(text) = serde_json::to_string_pretty(summary)
    {
        ui::stdout(&format!("{text}\n"));
    }
    let closing = Summary {
        total: summary.counts.total,
        succeeded: summary.counts.succeeded,
        failed: summary.counts.failed,
        fresh: summary.counts.fresh,
        interrupted: summary.counts.interrupted,
        not_started: summary.counts.not_started,
        stopped: summary
            .jobs
            .iter()
            .find(|j| j.status == JobStatus::NotStarted)
            .and_then(|j| j.error.as_ref())
            .map(|e| e.message.clone()),
        uploaded: summary.uploads.uploaded,
        bytes_uploaded: summary.uploads.bytes_uploaded,
        reused: summary.uploads.reused,
        // Every input token, whichever way it was billed: with caching on, most are cache
        // writes and reads, and plain input alone would read as nothing sent.
        input_tokens: summary
            .usage
            .input_tokens
            .saturating_add(summary.usage.cache_creation_input_tokens)
            .saturating_add(summary.usage.cache_read_input_tokens),
        output_tokens: summary.usage.output_tokens,
        cost_usd: summary.cost.usd,
        budget_stop: summary
            .jobs
            .iter()
            .any(|j| {
                j.not_started_by(HaltKind::Budget)
                    || j.error
                        .as_ref()
                        .is_some_and(|e| e.kind == ErrorKind::Budget)
            })
            .then(|| (summary.cost.budget_usd.unwrap_or(0.0), summary.cost.usd)),
        alerts: summary
            .jobs
            .iter()
            .flat_map(|j| {
                j.history
                    .alerts
                    .iter()
                    .map(|a| (j.dir.clone(), a.message.clone()))
            })
            .collect(),
        failures: summary
            .jobs
            .iter()
            .filter(|j| j.status == JobStatus::Failed)
            .filter_map(|j| Some((j.dir.clone(), j.error.as_ref()?.failure())))
            .collect(),
        record: config
            .out
            .join(output_lock::run_record_name(config.shard))
            .to_string(),
        counts: serde_json::to_value(&summary.counts).unwrap_or_default(),
        exit_code: summary.exit_code,
    };
    for line in ui::summary::lines(&closing, display) {
        ui::emit(&line);
    }
    for s in &summary.skipped {
        ui::note(&format!("skipped {}: {} (allow_empty)", s.dir, s.reason));
    }
    let index = config.out.join("index.html");
    // Quiet means quiet on a good night; the page is where it always is.
    if index.is_file() && !display.quiet {
        ui::note(&format!("open {index}"));
    }
}

/// The `alert:` thresholds of the jobs that succeeded tonight, judged against the run
/// history before this run (docs/output.md §6.1).
fn judge_metrics(out: &Utf8Path, run_id: &str, plan: &Plan, lines: &mut [JobLine]) {
    let rules: std::collections::BTreeMap<&str, &[crate::manifest::AlertRule]> = plan
        .jobs
        .iter()
        .filter(|j| !j.alerts.is_empty())
        .map(|j| (j.id.as_str(), &j.alerts[..]))
        .collect();
    if rules.is_empty() {
        return;
    }
    let earlier = history::list_before(out, run_id).unwrap_or_default();
    metrics::judge(lines, &rules, &earlier);
}

/// Interrupted wins over failed (or not started), those over success; with
/// `--fail-on-alert`, an alert is a failure too.
fn exit_for(counts: &Counts, fail_on_alert: bool) -> Exit {
    if counts.interrupted > 0 {
        Exit::Interrupted
    } else if counts.failed > 0 || counts.not_started > 0 || (fail_on_alert && counts.alert > 0) {
        Exit::JobsFailed
    } else {
        Exit::Success
    }
}

//! `runner run`: manifest → plan → (select, lock the output folder, skip what is fresh) →
//! key and model checks → engine → `run.json` → the closing summary. The order of the
//! stages and nothing else.

use std::sync::Arc;

use camino::Utf8Path;
use tokio_util::sync::CancellationToken;

use super::model_check;
use super::output_lock;
use super::plan::{make_plan, make_plan_keep_going};
use super::signals::Shutdown;
use crate::api::messages::Usage;
use crate::config::{Config, RunConfig};
use crate::engine::budget::Budget;
use crate::engine::halt::{FailCount, Halt, HaltKind};
use crate::engine::{self, Ctx};
use crate::error::{Error, Exit};
use crate::output::attempts::previous_success;
use crate::output::outcome::{Counts, JobLine, RunCost, RunSummary, UploadStats};
use crate::output::records::is_fresh;
use crate::output::staging;
use crate::output::{history, junit};
use crate::plan::PlannedJob;
use crate::plan::models::ModelUse;
use crate::status::{ErrorKind, JobStatus};
use crate::store::upload_cache::UploadCache;
use crate::ui::events::{Event, Failure, Reporter};
use crate::ui::summary::Summary;
use crate::ui::{self, Display};

pub async fn run(config: RunConfig, display: &Display) -> Result<Exit, Error> {
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
            Ok(exit_for(&summary.counts))
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
    let (plan, state, rejected) = if config.keep_going {
        make_plan_keep_going(&config.manifests, &config.state_dir, &config.known).await?
    } else {
        let (plan, state) = make_plan(&config.manifests, &config.state_dir, &config.known).await?;
        (plan, state, Vec::new())
    };
    let rejected: Vec<JobLine> = rejected
        .into_iter()
        .filter(|line| config.only.matches(&line.job, &line.dir))
        .collect();
    let selected = config.only.select(&plan);
    if selected.is_empty() && rejected.is_empty() {
        return Err(Error::NoJobMatches(config.only.patterns().to_vec()));
    }
    // After `--only`: a shard with no job is no usage error, just nothing to do.
    let selected: Vec<&PlannedJob> = match config.shard {
        Some(shard) => selected
            .into_iter()
            .filter(|j| shard.holds(&j.id))
            .collect(),
        None => selected,
    };
    let out = &config.out;
    fs_err::create_dir_all(out).map_err(|source| Error::CreateOut {
        path: out.clone(),
        source,
    })?;
    let _lock = output_lock::lock(out, config.shard)?;
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

    let (fresh, to_run): (Vec<&PlannedJob>, Vec<&PlannedJob>) = selected
        .into_iter()
        .partition(|job| !config.force && is_fresh(out, &job.id, &job.fingerprint));
    let needed = plan.uploads_for(&to_run);
    reporter.report(Event::RunStarted {
        jobs: to_run.len() + fresh.len() + rejected.len(),
        fresh: fresh.len(),
        uploads: needed.len(),
        upload_bytes: needed.iter().map(|u| u.size).sum(),
    });
    let mut lines: Vec<JobLine> = Vec::new();
    for line in rejected {
        reporter.report(Event::JobFinished {
            id: line.dir.clone(),
            status: JobStatus::Failed,
            failure: line.error.as_ref().map(|e| Failure {
                kind: e.kind,
                message: e.message.clone(),
            }),
        });
        lines.push(line);
    }
    for job in &fresh {
        reporter.report(Event::JobFinished {
            id: job.id.clone(),
            status: JobStatus::Fresh,
            failure: None,
        });
        let mut line = engine::line(job, JobStatus::Fresh, None);
        line.history.outputs = previous_success(out, &job.id).unwrap_or_default();
        lines.push(line);
    }
    let fresh_ids: Vec<&str> = fresh.iter().map(|j| j.id.as_str()).collect();
    engine::batcher::settle_fresh(out, &fresh_ids);
    let mut usage = Usage::default();
    let mut uploads = UploadStats::default();
    let mut cost = RunCost {
        usd: 0.0,
        budget_usd: config.engine.budget_usd,
    };
    if !to_run.is_empty() {
        let client = config.api.connect(Config::pacing(&config.engine))?;
        // Before anything is uploaded: a wrong key or base URL ends the run here (exit 2).
        let files_version = engine::files_api_version(&to_run);
        client.preflight(&files_version).await?;
        // Then the models: a retired or unknown model, or a setting its model does not
        // accept, ends the run here too (exit 2), before any upload.
        let uses: Vec<ModelUse<'_>> = to_run.iter().map(|j| ModelUse::from(*j)).collect();
        let policy = &config.engine.policy;
        model_check::online(&client, &state, &uses, &files_version, policy, display).await?;
        client.set_reporter(&reporter);
        let cache = UploadCache::for_api(&state, client.base_url(), client.key_fingerprint());
        let budget = Budget::new(config.engine.budget_usd, config.engine.budget_model_calls)
            .reporting_to(Arc::clone(&reporter));
        let ctx = Ctx {
            client,
            policy: config.engine.policy,
            files_version,
            reporter,
            cancel,
            halt: Halt::default(),
            failures: FailCount::default(),
            max_fail: config.engine.max_fail,
            attempts_root: history::run_dir(out, &run_id),
            budget,
            batcher: None,
        };
        let report = engine::run(ctx, cache, &needed, &to_run, &config.engine, out).await?;
        lines.extend(report.lines);
        usage = report.usage;
        uploads = report.uploads;
        cost.usd = report.cost_usd;
    }
    lines.sort_by(|a, b| (&a.manifest, &a.job).cmp(&(&b.manifest, &b.job)));
    let counts = count(&lines);
    let summary = RunSummary {
        run_id,
        runner_version: env!("CARGO_PKG_VERSION").to_owned(),
        started_at,
        finished_at: jiff::Timestamp::now(),
        exit_code: exit_for(&counts).code(),
        counts,
        uploads,
        usage,
        cost,
        jobs: lines,
    };
    let record = output_lock::run_record_name(config.shard);
    history::write_run(out, &record, &summary).map_err(|source| Error::WriteRecord {
        path: out.join(&record),
        source,
    })?;
    if let Some(path) = &config.junit {
        junit::write(path, &summary).map_err(|source| Error::Junit {
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
    write_pages(out);
    Ok(summary)
}

/// The morning page and the job pages, also when jobs failed. They are derived from the
/// files just written (`runner report` makes them again), so a failure here is a warning
/// and leaves the exit code to the jobs.
fn write_pages(out: &Utf8Path) {
    match crate::output::html::write_site(out) {
        Ok(site) => {
            for e in &site.failed {
                tracing::warn!("{}", crate::error_chain::chain(e));
            }
        }
        Err(e) => tracing::warn!("{}", crate::error_chain::chain(&e)),
    }
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
                j.reason.as_deref() == Some(HaltKind::Budget.as_str())
                    || j.error
                        .as_ref()
                        .is_some_and(|e| e.kind == ErrorKind::Budget)
            })
            .then(|| (summary.cost.budget_usd.unwrap_or(0.0), summary.cost.usd)),
        failures: summary
            .jobs
            .iter()
            .filter(|j| j.status == JobStatus::Failed)
            .filter_map(|j| Some((j.dir.clone(), j.error.as_ref()?)))
            .map(|(dir, e)| (dir, e.kind, e.message.clone()))
            .collect(),
        record: config
            .out
            .join(output_lock::run_record_name(config.shard))
            .to_string(),
    };
    for line in ui::summary::lines(&closing, display) {
        ui::note(&line);
    }
    let index = config.out.join("index.html");
    // Quiet means quiet on a good night; the page is where it always is.
    if index.is_file() && !display.quiet {
        ui::note(&format!("open {index}"));
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
            JobStatus::NotStarted => c.not_started += 1,
        }
    }
    c
}

/// Interrupted wins over failed (or not started), those over success.
fn exit_for(counts: &Counts) -> Exit {
    if counts.interrupted > 0 {
        Exit::Interrupted
    } else if counts.failed > 0 || counts.not_started > 0 {
        Exit::JobsFailed
    } else {
        Exit::Success
    }
}

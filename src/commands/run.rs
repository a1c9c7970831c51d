//! `runner run`: manifest → plan → (select, lock the output folder, skip what is fresh) →
//! engine → `run.json` → the closing summary. The order of the stages and nothing else.

use std::sync::Arc;

use camino::Utf8Path;
use tokio_util::sync::CancellationToken;

use super::plan::make_plan;
use super::shutdown::Shutdown;
use crate::api::messages::Usage;
use crate::config::{Config, RunConfig};
use crate::engine::{self, Ctx};
use crate::error::{Error, Exit};
use crate::output::outcome::{Counts, JobLine, RunSummary, UploadStats};
use crate::output::records::is_fresh;
use crate::output::staging;
use crate::plan::PlannedJob;
use crate::status::JobStatus;
use crate::store::upload_cache::UploadCache;
use crate::store::{self, StoreError};
use crate::ui::events::{Event, Reporter};
use crate::ui::summary::Summary;
use crate::ui::{self, Display};

pub async fn run(config: RunConfig, display: &Display) -> Result<Exit, Error> {
    let shutdown = Shutdown::install();
    let reporter = ui::reporter(display);
    announce_interrupt(&reporter, shutdown.token.clone());
    let work = execute(&config, Arc::clone(&reporter), shutdown.token.clone());
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
    reporter: Arc<dyn Reporter>,
    cancel: CancellationToken,
) -> Result<RunSummary, Error> {
    let started_at = jiff::Timestamp::now();
    let (plan, state) = make_plan(&config.manifests, &config.state_dir).await?;
    let selected = config.only.select(&plan);
    if selected.is_empty() {
        return Err(Error::NoJobMatches(config.only.patterns().to_vec()));
    }
    let out = &config.out;
    fs_err::create_dir_all(out).map_err(|source| Error::CreateOut {
        path: out.clone(),
        source,
    })?;
    let _lock = lock_out(out)?;
    staging::clean_stale(out).map_err(|source| Error::TidyOut {
        path: out.clone(),
        source,
    })?;

    let (fresh, to_run): (Vec<&PlannedJob>, Vec<&PlannedJob>) = selected
        .into_iter()
        .partition(|job| !config.force && is_fresh(out, &job.id, &job.fingerprint));
    let needed = plan.uploads_for(&to_run);
    reporter.report(Event::RunStarted {
        jobs: to_run.len() + fresh.len(),
        fresh: fresh.len(),
        uploads: needed.len(),
        upload_bytes: needed.iter().map(|u| u.size).sum(),
    });
    let mut lines: Vec<JobLine> = Vec::new();
    for job in &fresh {
        reporter.report(Event::JobFinished {
            id: job.id.clone(),
            status: JobStatus::Fresh,
            failure: None,
        });
        lines.push(engine::line(job, JobStatus::Fresh, None));
    }
    let mut usage = Usage::default();
    let mut uploads = UploadStats::default();
    if !to_run.is_empty() {
        let client = config.api.connect(Config::pacing(&config.engine))?;
        client.set_reporter(&reporter);
        let cache = UploadCache::for_api(&state, client.base_url(), client.key_fingerprint());
        let ctx = Ctx {
            client,
            policy: config.engine.policy,
            reporter,
            cancel,
        };
        let report = engine::run(ctx, cache, &needed, &to_run, &config.engine, out).await?;
        lines.extend(report.lines);
        usage = report.usage;
        uploads = report.uploads;
    }
    lines.sort_by(|a, b| (&a.manifest, &a.job).cmp(&(&b.manifest, &b.job)));
    let counts = count(&lines);
    let summary = RunSummary {
        runner_version: env!("CARGO_PKG_VERSION").to_owned(),
        started_at,
        finished_at: jiff::Timestamp::now(),
        exit_code: exit_for(&counts).code(),
        counts,
        uploads,
        usage,
        jobs: lines,
    };
    crate::output::write_run_json(out, &summary).map_err(|source| Error::WriteRecord {
        path: out.join("run.json"),
        source,
    })?;
    Ok(summary)
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
        uploaded: summary.uploads.uploaded,
        bytes_uploaded: summary.uploads.bytes_uploaded,
        reused: summary.uploads.reused,
        input_tokens: summary.usage.input_tokens,
        output_tokens: summary.usage.output_tokens,
        failures: summary
            .jobs
            .iter()
            .filter(|j| j.status == JobStatus::Failed)
            .filter_map(|j| Some((j.dir.clone(), j.error.as_ref()?)))
            .map(|(dir, e)| (dir, e.kind, e.message.clone()))
            .collect(),
        record: config.out.join("run.json").to_string(),
    };
    for line in ui::summary::lines(&closing, display) {
        ui::note(&line);
    }
}

/// One runner per output folder: a second one would race on the same job folders (and
/// tidy away the first one's staging folders). Held until the run ends.
fn lock_out(out: &Utf8Path) -> Result<fs_err::File, Error> {
    let path = out.join(".runner.lock");
    let file = store::open_lock_file(&path).map_err(|e| match e {
        StoreError::Open { source, .. } => Error::LockOut {
            path: path.clone(),
            source,
        },
        other => Error::Store(other),
    })?;
    match file.file().try_lock() {
        Ok(()) => Ok(file),
        Err(std::fs::TryLockError::WouldBlock) => Err(Error::OutLocked(out.to_owned())),
        Err(std::fs::TryLockError::Error(source)) => Err(Error::LockOut { path, source }),
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

/// Interrupted wins over failed, failed over success.
fn exit_for(counts: &Counts) -> Exit {
    if counts.interrupted > 0 {
        Exit::Interrupted
    } else if counts.failed > 0 {
        Exit::JobsFailed
    } else {
        Exit::Success
    }
}

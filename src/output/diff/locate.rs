//! Where each run's results are in the output tree (docs/output.md §12.1): its record's
//! lines (status, duration, cost, the outputs' hashes, metrics), and its `report.md`, which
//! is the failed attempt's under `OUT/runs/<run-id>/`, the copy the run kept in
//! `OUT/runs/<run-id>/.reports/`, or the job folder when that still holds the run's result.

use std::collections::BTreeMap;

use camino::Utf8Path;
use serde_json::Value;

use super::{JobView, Report, RunView};
use crate::output::history::{report_copy, run_dir};
use crate::output::outcome::{JobLine, RunSummary};
use crate::output::records::read_job_json;
use crate::status::JobStatus;

/// A run record as read from the history: typed, and as the JSON it holds.
pub(crate) type Record = (RunSummary, Value);

/// The view of `runs[index]`; `runs` is the whole history, newest first (a fresh job's
/// report is the one of the older run that made its result).
pub(crate) fn view(out: &Utf8Path, runs: &[Record], index: usize) -> RunView {
    let (run, raw) = &runs[index];
    let raw_lines = raw["jobs"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default();
    let jobs = run
        .jobs
        .iter()
        .enumerate()
        .map(|(i, line)| {
            let raw = raw_lines.get(i).unwrap_or(&Value::Null);
            JobView {
                id: line.dir.clone(),
                status: line.status,
                duration_secs: line.history.duration_secs,
                cost_usd: line.history.cost_usd,
                outputs: line.history.outputs.clone(),
                metrics: metrics(raw),
                alerts: raw["alerts"].as_array().cloned().unwrap_or_default(),
                report: report(out, runs, index, line),
            }
        })
        .collect();
    RunView {
        run_id: run.run_id.clone(),
        started_at: run.started_at,
        jobs,
    }
}

/// Whether the run did work: a job not fresh.
pub(crate) fn did_work(run: &RunSummary) -> bool {
    run.jobs.iter().any(|l| l.status != JobStatus::Fresh)
}

/// `jobs[].metrics`: the numbers of a flat object, anything else left out.
fn metrics(line: &Value) -> BTreeMap<String, f64> {
    line["metrics"]
        .as_object()
        .into_iter()
        .flatten()
        .filter_map(|(name, v)| Some((name.clone(), v.as_f64()?)))
        .collect()
}

fn report(out: &Utf8Path, runs: &[Record], index: usize, line: &JobLine) -> Report {
    match line.status {
        JobStatus::NotStarted | JobStatus::Interrupted => Report::Absent,
        JobStatus::Fresh => fresh_report(out, runs, index, line),
        JobStatus::Succeeded | JobStatus::Failed => ran_report(out, &runs[index].0, line),
    }
}

/// The report of a job that ran in `run`.
fn ran_report(out: &Utf8Path, run: &RunSummary, line: &JobLine) -> Report {
    if let Some(attempt) = &line.history.attempt {
        return read(&out.join(attempt).join("report.md"));
    }
    if line.history.duration_secs.is_none() {
        // Failed before its conversation (kind `invalid`, `write`): no folder was written.
        return Report::Absent;
    }
    let copy = report_copy(&run_dir(out, &run.run_id), &line.dir);
    if copy.is_file() {
        return read(&copy);
    }
    // A run from before the copies: its job folder, if no later run replaced it.
    let folder = out.join(&line.dir);
    let holds = read_job_json(&folder.join("job.json")).is_some_and(|r| {
        r.fingerprint.as_deref() == Some(line.fingerprint.as_str())
            && r.finished_at
                .is_some_and(|t| run.started_at <= t && t <= run.finished_at)
    });
    if holds {
        read(&folder.join("report.md"))
    } else {
        Report::NotKept
    }
}

/// A fresh job's result is the one an older run made: the newest older run in which it
/// succeeded, else the job folder if it already held that result when `runs[index]` began.
fn fresh_report(out: &Utf8Path, runs: &[Record], index: usize, line: &JobLine) -> Report {
    for (older, _) in runs.iter().skip(index + 1) {
        let Some(then) = older.jobs.iter().find(|l| l.dir == line.dir) else {
            continue;
        };
        match then.status {
            JobStatus::Succeeded => return ran_report(out, older, then),
            // The folder kept an earlier success, or was not touched.
            JobStatus::Fresh | JobStatus::NotStarted | JobStatus::Interrupted => {}
            JobStatus::Failed if then.history.attempt.is_some() => {}
            JobStatus::Failed if then.history.duration_secs.is_none() => {}
            JobStatus::Failed => break,
        }
    }
    let started = runs[index].0.started_at;
    let folder = out.join(&line.dir);
    let holds = read_job_json(&folder.join("job.json")).is_some_and(|r| {
        r.succeeded()
            && r.fingerprint.as_deref() == Some(line.fingerprint.as_str())
            && r.finished_at.is_some_and(|t| t <= started)
    });
    if holds {
        read(&folder.join("report.md"))
    } else {
        Report::NotKept
    }
}

fn read(path: &Utf8Path) -> Report {
    match fs_err::read(path) {
        Ok(bytes) => Report::Kept(String::from_utf8_lossy(&bytes).into_owned()),
        Err(e) => {
            tracing::debug!("{e}");
            Report::NotKept
        }
    }
}

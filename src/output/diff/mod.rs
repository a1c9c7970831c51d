//! `runner diff` (docs/output.md §12.1): two runs of the history compared job by job. The
//! views of the two runs (`locate.rs` reads them from the output tree) go in, a [`RunDiff`]
//! comes out: status, duration and cost, deliverables by content hash (an image without its
//! C2PA manifest, as the run record's `changed` compares it), metrics, alerts and the text
//! of `report.md`. `select.rs` picks the runs, `text.rs` writes the diff for people,
//! `since.rs` the one line a notification gives it.

pub(crate) mod locate;
pub(crate) mod select;
pub(crate) mod since;
#[cfg(test)]
mod tests;
mod text;

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;
use serde_json::Value;

use super::outcome::LineOutput;
use crate::status::JobStatus;

pub(crate) use text::render_text;

/// One run as the diff sees it.
#[derive(Clone, Debug)]
pub(crate) struct RunView {
    pub run_id: String,
    pub started_at: jiff::Timestamp,
    pub jobs: Vec<JobView>,
}

/// One job's line of a run, with what the output tree still keeps of its result.
#[derive(Clone, Debug)]
pub(crate) struct JobView {
    /// `<stem>/<job>`.
    pub id: String,
    pub status: JobStatus,
    pub duration_secs: Option<f64>,
    pub cost_usd: Option<f64>,
    pub outputs: Vec<LineOutput>,
    /// `jobs[].metrics` of the run record: the numbers of a flat object; absent = none.
    pub metrics: BTreeMap<String, f64>,
    /// `jobs[].alerts` of the run record, as written; absent = none.
    pub alerts: Vec<Value>,
    pub report: Report,
}

/// The text of the job's `report.md` in that run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Report {
    Kept(String),
    /// The run wrote one, but the output tree no longer holds it.
    NotKept,
    /// The run wrote none (not started, interrupted, refused before any request).
    Absent,
}

/// The comparison of run `from` with run `to` (`runner diff --json`, docs/output.md §12.1).
#[derive(Clone, Debug, Serialize)]
pub(crate) struct RunDiff {
    pub from: RunRef,
    pub to: RunRef,
    /// Whether any job changed (exit code 1).
    pub changed: bool,
    pub counts: DiffCounts,
    /// Every job of either run, sorted by id.
    pub jobs: Vec<JobDiff>,
}

#[derive(Clone, Debug, Serialize)]
pub(crate) struct RunRef {
    pub run_id: String,
    pub started_at: jiff::Timestamp,
}

#[derive(Clone, Debug, Default, Serialize)]
pub(crate) struct DiffCounts {
    pub changed: usize,
    pub added: usize,
    pub removed: usize,
    pub unchanged: usize,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum Change {
    Added,
    Removed,
    Changed,
    Unchanged,
}

#[derive(Clone, Debug, Serialize)]
pub(crate) struct JobDiff {
    pub id: String,
    pub change: Change,
    /// The job's status in each run; `null` on the side where it is absent.
    pub status: Pair<Option<JobStatus>>,
    /// `null` unless both runs recorded it.
    pub duration_secs: Option<Delta>,
    /// `null` unless both runs recorded it.
    pub cost_usd: Option<Delta>,
    pub files: FileChanges,
    pub metrics: Vec<MetricDelta>,
    pub alerts: Pair<Vec<Value>>,
    pub report: ReportDiff,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub(crate) struct Pair<T> {
    pub from: T,
    pub to: T,
}

#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub(crate) struct Delta {
    pub from: f64,
    pub to: f64,
    pub delta: f64,
}

/// Generated files by path (`files/<name>`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub(crate) struct FileChanges {
    pub added: Vec<String>,
    pub removed: Vec<String>,
    pub changed: Vec<String>,
}

impl FileChanges {
    pub(crate) fn is_empty(&self) -> bool {
        self.added.is_empty() && self.removed.is_empty() && self.changed.is_empty()
    }
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub(crate) struct MetricDelta {
    pub name: String,
    pub from: Option<f64>,
    pub to: Option<f64>,
    /// `to - from`, when both are there.
    pub delta: Option<f64>,
    /// `delta` as a percentage of `|from|`, when both are there and `from` is not 0.
    pub percent: Option<f64>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub(crate) struct ReportDiff {
    /// Whether the text differs (its `**Ran:**` line left out); `null` when either side's
    /// text is not kept or was never written.
    pub changed: Option<bool>,
    /// The unified diff, when the text changed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub diff: Option<String>,
    /// The runs whose report text the output tree no longer holds.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub not_kept: Vec<String>,
}

/// Compares every job of run `a` with the same job of run `b`.
pub(crate) fn compare(a: &RunView, b: &RunView) -> RunDiff {
    let by_id = |run: &RunView| -> BTreeMap<String, JobView> {
        run.jobs.iter().map(|j| (j.id.clone(), j.clone())).collect()
    };
    let (jobs_a, jobs_b) = (by_id(a), by_id(b));
    let ids: BTreeSet<&String> = jobs_a.keys().chain(jobs_b.keys()).collect();
    let names = Pair {
        from: a.run_id.as_str(),
        to: b.run_id.as_str(),
    };
    let mut counts = DiffCounts::default();
    let jobs: Vec<JobDiff> = ids
        .into_iter()
        .map(|id| {
            let job = compare_job(id, jobs_a.get(id), jobs_b.get(id), &names);
            match job.change {
                Change::Added => counts.added += 1,
                Change::Removed => counts.removed += 1,
                Change::Changed => counts.changed += 1,
                Change::Unchanged => counts.unchanged += 1,
            }
            job
        })
        .collect();
    RunDiff {
        from: RunRef {
            run_id: a.run_id.clone(),
            started_at: a.started_at,
        },
        to: RunRef {
            run_id: b.run_id.clone(),
            started_at: b.started_at,
        },
        changed: counts.changed + counts.added + counts.removed > 0,
        counts,
        jobs,
    }
}

fn compare_job(id: &str, a: Option<&JobView>, b: Option<&JobView>, runs: &Pair<&str>) -> JobDiff {
    let both = |f: fn(&JobView) -> Option<f64>| match (a.and_then(f), b.and_then(f)) {
        (Some(from), Some(to)) => Some(Delta {
            from,
            to,
            delta: to - from,
        }),
        _ => None,
    };
    let none = Vec::new();
    let outputs = |j: Option<&JobView>| j.map_or(&none[..], |j| &j.outputs[..]).to_vec();
    let files = compare_files(&outputs(a), &outputs(b));
    let empty = BTreeMap::new();
    let metrics = compare_metrics(
        a.map_or(&empty, |j| &j.metrics),
        b.map_or(&empty, |j| &j.metrics),
    );
    let alerts = Pair {
        from: a.map(|j| j.alerts.clone()).unwrap_or_default(),
        to: b.map(|j| j.alerts.clone()).unwrap_or_default(),
    };
    let absent = Report::Absent;
    let report = compare_reports(
        a.map_or(&absent, |j| &j.report),
        b.map_or(&absent, |j| &j.report),
        runs,
    );
    let status = Pair {
        from: a.map(|j| j.status),
        to: b.map(|j| j.status),
    };
    let change = match (a, b) {
        (None, _) => Change::Added,
        (_, None) => Change::Removed,
        _ if outcome(status.from) != outcome(status.to)
            || !files.is_empty()
            || metrics.iter().any(|m| m.delta != Some(0.0))
            || alerts.from != alerts.to
            || report.changed == Some(true) =>
        {
            Change::Changed
        }
        _ => Change::Unchanged,
    };
    JobDiff {
        id: id.to_owned(),
        change,
        status,
        duration_secs: both(|j| j.duration_secs),
        cost_usd: both(|j| j.cost_usd),
        files,
        metrics,
        alerts,
        report,
    }
}

/// What a status says of the result: a fresh job keeps its success, so `succeeded` then
/// `fresh` is no change.
fn outcome(status: Option<JobStatus>) -> Option<JobStatus> {
    status.map(|s| match s {
        JobStatus::Fresh => JobStatus::Succeeded,
        other => other,
    })
}

/// Files added, removed, and changed in content, by path. Content is `content_blake3` where
/// a file has it (an image without the C2PA manifest signed afresh on every download,
/// docs/output.md §2.6), else `blake3` ([`LineOutput::content`]): the run record's `changed`
/// is this comparison, empty.
pub(crate) fn compare_files(a: &[LineOutput], b: &[LineOutput]) -> FileChanges {
    let map = |v: &[LineOutput]| -> BTreeMap<String, String> {
        v.iter()
            .map(|o| (o.path.clone(), o.content().to_owned()))
            .collect()
    };
    let (a, b) = (map(a), map(b));
    let mut changes = FileChanges::default();
    for (path, content) in &a {
        match b.get(path) {
            None => changes.removed.push(path.clone()),
            Some(other) if other != content => changes.changed.push(path.clone()),
            Some(_) => {}
        }
    }
    changes.added = b.keys().filter(|p| !a.contains_key(*p)).cloned().collect();
    changes
}

fn compare_metrics(a: &BTreeMap<String, f64>, b: &BTreeMap<String, f64>) -> Vec<MetricDelta> {
    let names: BTreeSet<&String> = a.keys().chain(b.keys()).collect();
    names
        .into_iter()
        .map(|name| {
            let (from, to) = (a.get(name).copied(), b.get(name).copied());
            let delta = from.zip(to).map(|(f, t)| t - f);
            let percent = from
                .zip(delta)
                .filter(|(f, _)| *f != 0.0)
                .map(|(f, d)| d / f.abs() * 100.0);
            MetricDelta {
                name: name.clone(),
                from,
                to,
                delta,
                percent,
            }
        })
        .collect()
}

fn compare_reports(a: &Report, b: &Report, runs: &Pair<&str>) -> ReportDiff {
    let mut not_kept = Vec::new();
    for (report, run) in [(a, runs.from), (b, runs.to)] {
        if *report == Report::NotKept {
            not_kept.push(run.to_owned());
        }
    }
    let (Report::Kept(a), Report::Kept(b)) = (a, b) else {
        return ReportDiff {
            not_kept,
            ..ReportDiff::default()
        };
    };
    let (a, b) = (comparable(a), comparable(b));
    if a == b {
        return ReportDiff {
            changed: Some(false),
            ..ReportDiff::default()
        };
    }
    let diff = similar::TextDiff::from_lines(&a, &b)
        .unified_diff()
        .context_radius(3)
        .header(
            &format!("{}/report.md", runs.from),
            &format!("{}/report.md", runs.to),
        )
        .to_string();
    ReportDiff {
        changed: Some(true),
        diff: Some(diff),
        not_kept,
    }
}

/// The report without its `**Ran:**` line (when the job ran, how long it took and its
/// cost: different in every run, and shown as deltas already, docs/output.md §7).
fn comparable(text: &str) -> String {
    text.split_inclusive('\n')
        .filter(|line| !line.starts_with("**Ran:** "))
        .collect()
}

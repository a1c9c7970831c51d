//! What the pages are made from, read from the output tree: `run.json`, the run history
//! (`OUT/runs/<run-id>/run.json`, when runs are kept), and each job folder's `job.json`.
//! `job.json` is read through its typed record (one that does not parse is not read), the
//! rest as loose JSON; the views see all of it as loose JSON: a missing or odd field shows
//! as "—" on the page, never as an error, and a `dir` that is not a plain `<stem>/<job>`
//! is ignored.

use std::collections::{BTreeMap, HashMap};

use camino::{Utf8Path, Utf8PathBuf};
use serde_json::Value;

use super::headline::{self, Lead, RunBrief};
use crate::output::records::read_job_json;

/// The output tree as the pages see it.
#[derive(Debug, Default)]
pub(super) struct Snapshot {
    pub out: Utf8PathBuf,
    /// The run the page leads with ([`headline::pick`]): `OUT/run.json`, or when that run
    /// had nothing to do, the newest run of the history that did something.
    pub run: Option<Value>,
    /// When the runs after it started, newest first: each found every job fresh.
    pub quiet: Vec<Value>,
    /// Earlier and latest runs, oldest first (run ids sort by start time).
    pub history: Vec<HistoryRun>,
    /// Every job of the latest run and every job folder on disk, by `dir`.
    pub jobs: Vec<JobOnDisk>,
}

/// One run of the history, as much of it as the index needs: kept small and indexed by
/// job, since a history of 30 runs of 10,000 jobs is read at the end of every run.
#[derive(Debug)]
pub(super) struct HistoryRun {
    pub id: String,
    /// What picking the headline needs of it.
    pub brief: RunBrief,
    /// Each selected job's status in that run, by `dir`.
    pub statuses: HashMap<String, String>,
    /// The jobs whose failed attempt that run kept (`runs/<id>/<stem>/<job>/` holding a
    /// `report.md` or `job.json`), with the file to link.
    pub attempts: HashMap<String, &'static str>,
    /// The metrics of each job that succeeded in that run with some (`jobs[].metrics`).
    pub metrics: HashMap<String, Value>,
}

#[derive(Debug)]
pub(super) struct JobOnDisk {
    /// `<stem>/<job>`, relative to `OUT`.
    pub dir: String,
    pub stem: String,
    /// Its line in the run the page leads with, else in `OUT/run.json`, if either selected it.
    pub line: Option<Value>,
    /// Its `job.json`, if the folder has a readable one: whole while its page is
    /// written, then only what the index reads ([`for_index`]).
    pub record: Option<Value>,
    pub folder: Utf8PathBuf,
}

pub(super) fn read(out: &Utf8Path) -> Snapshot {
    let latest = read_json(&out.join("run.json"));
    let history = read_history(&out.join("runs"));
    let pick = headline::pick(latest.as_ref(), history.iter().map(|h| &h.brief));
    let lead = match &pick.lead {
        Lead::Latest => latest.clone(),
        Lead::Kept(id) => read_json(&out.join("runs").join(id).join("run.json")),
        Lead::Gone => None,
    };
    let mut jobs: BTreeMap<String, JobOnDisk> = BTreeMap::new();
    for dir in job_folders(out, !history.is_empty()) {
        add(&mut jobs, out, &dir);
    }
    // The lead run's lines last: where both selected a job, the lead's is the story.
    for run in [&latest, &lead] {
        let lines = run
            .as_ref()
            .and_then(|r| r["jobs"].as_array())
            .into_iter()
            .flatten();
        for line in lines {
            let Some(dir) = line["dir"].as_str().filter(|d| is_job_dir(d)) else {
                continue;
            };
            add(&mut jobs, out, dir).line = Some(line.clone());
        }
    }
    Snapshot {
        out: out.to_owned(),
        run: lead,
        quiet: pick.quiet,
        history,
        jobs: jobs.into_values().collect(),
    }
}

fn add<'a>(
    jobs: &'a mut BTreeMap<String, JobOnDisk>,
    out: &Utf8Path,
    dir: &str,
) -> &'a mut JobOnDisk {
    jobs.entry(dir.to_owned()).or_insert_with(|| {
        let folder = out.join(dir);
        JobOnDisk {
            dir: dir.to_owned(),
            stem: dir.split('/').next().unwrap_or_default().to_owned(),
            line: None,
            // Read one at a time by `write_site`, as each job's page is written.
            record: None,
            folder,
        }
    })
}

/// A `job.json`'s `outputs`, the declared deliverables first (those whose `satisfies`
/// names an `expect` entry, docs/output.md §2.10), each group in its recorded order.
pub(super) fn outputs_deliverables_first(record: &Value) -> Vec<Value> {
    let outputs = record["outputs"].as_array().cloned().unwrap_or_default();
    let is_deliverable = |o: &Value| o["satisfies"].as_array().is_some_and(|s| !s.is_empty());
    let (mut first, rest): (Vec<Value>, Vec<Value>) =
        outputs.into_iter().partition(|o| is_deliverable(o));
    first.extend(rest);
    first
}

/// A `job.json`, read back through the record the runner writes ([`read_job_json`]),
/// then handed to the views as loose JSON: a field the record lacks is absent there too.
pub(super) fn read_record(path: &Utf8Path) -> Option<Value> {
    let record = read_job_json(path)?;
    // Cannot fail: the record's maps have string keys.
    serde_json::to_value(record).ok()
}

pub(super) fn read_json(path: &Utf8Path) -> Option<Value> {
    let bytes = fs_err::read(path).ok()?;
    serde_json::from_slice(&bytes).ok()
}

pub(super) fn read_text(path: &Utf8Path) -> Option<String> {
    let bytes = fs_err::read(path).ok()?;
    Some(String::from_utf8_lossy(&bytes).into_owned())
}

/// `<stem>/<job>`: two plain components, neither hidden, so a `dir` read from disk can
/// only point at a job folder inside `OUT`.
pub(super) fn is_job_dir(dir: &str) -> bool {
    let parts: Vec<&str> = dir.split('/').collect();
    parts.len() == 2 && parts.iter().all(|p| is_plain(p))
}

fn is_plain(name: &str) -> bool {
    !name.is_empty() && !name.starts_with('.') && !name.contains(['\\', '\0']) && name != ".."
}

/// `OUT/<stem>/<job>/` folders holding a `job.json`. `OUT/runs` is the run history when
/// it holds runs, not a manifest.
fn job_folders(out: &Utf8Path, has_history: bool) -> Vec<String> {
    let mut found = Vec::new();
    for stem in dir_names(out) {
        if stem == "runs" && has_history {
            continue;
        }
        for job in dir_names(&out.join(&stem)) {
            if out.join(&stem).join(&job).join("job.json").is_file() {
                found.push(format!("{stem}/{job}"));
            }
        }
    }
    found
}

/// The plain folder names in `dir` (links are not followed: a job folder is always a real
/// folder).
fn dir_names(dir: &Utf8Path) -> Vec<String> {
    let Ok(entries) = fs_err::read_dir(dir) else {
        return Vec::new();
    };
    let mut names: Vec<String> = entries
        .filter_map(Result::ok)
        .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
        .filter_map(|e| e.file_name().into_string().ok())
        .filter(|n| is_plain(n))
        .collect();
    names.sort();
    names
}

fn read_history(runs: &Utf8Path) -> Vec<HistoryRun> {
    dir_names(runs)
        .into_iter()
        .filter_map(|id| {
            let folder = runs.join(&id);
            let run = read_json(&folder.join("run.json"))?;
            let statuses = run["jobs"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|l| {
                    Some((
                        l["dir"].as_str()?.to_owned(),
                        l["status"].as_str()?.to_owned(),
                    ))
                })
                .collect();
            let metrics = metrics_in(&run);
            Some(HistoryRun {
                brief: RunBrief::of(id.clone(), &run),
                id,
                statuses,
                attempts: attempts_in(&folder),
                metrics,
            })
        })
        .collect()
}

/// The `metrics` of each line of `run` that succeeded with an object of them, by `dir`.
fn metrics_in(run: &Value) -> HashMap<String, Value> {
    run["jobs"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|l| l["status"] == "succeeded" && l["metrics"].is_object())
        .filter_map(|l| Some((l["dir"].as_str()?.to_owned(), l["metrics"].clone())))
        .collect()
}

/// The metrics of job `dir` in the newest recorded run that finished before
/// `finished_at` (the job's own end) with the job succeeded: the night before the one
/// `report.html` shows. Read only for a job with metrics.
pub(super) fn previous_metrics(out: &Utf8Path, dir: &str, finished_at: &Value) -> Option<Value> {
    let end: jiff::Timestamp = finished_at.as_str()?.parse().ok()?;
    let runs = out.join("runs");
    dir_names(&runs).into_iter().rev().find_map(|id| {
        let run = read_json(&runs.join(id).join("run.json"))?;
        let finished: jiff::Timestamp = run["finished_at"].as_str()?.parse().ok()?;
        if finished >= end {
            return None;
        }
        metrics_in(&run).remove(dir)
    })
}

/// The failed attempts a run folder keeps, by job `dir`, with the file a link opens: its
/// page when it has one.
fn attempts_in(run: &Utf8Path) -> HashMap<String, &'static str> {
    let mut found = HashMap::new();
    for stem in dir_names(run) {
        for job in dir_names(&run.join(&stem)) {
            let folder = run.join(&stem).join(&job);
            if let Some(f) = ["report.html", "report.md", "job.json"]
                .into_iter()
                .find(|f| folder.join(f).is_file())
            {
                found.insert(format!("{stem}/{job}"), f);
            }
        }
    }
    found
}

/// What the index reads of a `job.json` (`index.rs`); the rest (the request, every
/// response's record) is dropped once the job's own page is written, so the index of a
/// large tree does not hold every record whole.
pub(super) fn for_index(record: Value) -> Value {
    const KEPT: [&str; 10] = [
        "metrics",
        "tool_errors",
        "status",
        "started_at",
        "finished_at",
        "error",
        "manifest",
        "model",
        "cost",
        "outputs",
    ];
    match record {
        Value::Object(mut map) => {
            map.retain(|k, _| KEPT.contains(&k.as_str()));
            Value::Object(map)
        }
        other => other,
    }
}

//! `OUT/index.html`'s view: the run it leads with (`headline.rs`), then one card per job,
//! failures first, each telling that run's attempt apart from the result it shows
//! (`tonight.rs`), with what the history adds (a strip of past statuses, the failed
//! attempt, whether the outputs changed) when `OUT/runs/` holds one.

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::Value;

use super::disk::{HistoryRun, JobOnDisk, Snapshot};
pub(super) use super::loose::{seconds_between, text};
use super::tonight::{self, Attempt, Made};
use super::trend::{self, TrendView};
use super::{NONE, duration, href, usd};
use crate::output::office::{self, Bounds, Preview};
use crate::units;

/// How many past runs the status strip shows.
const STRIP: usize = 12;
/// Thumbnails per card.
const THUMBS: usize = 4;
/// Office files a card tries to preview (docs/output.md §14.1): the index reads every
/// job's files at the end of every run, so few.
const PREVIEWS: usize = 2;
/// Every status word, in the order the filter lists them.
const STATUSES: [&str; 5] = ["failed", "interrupted", "not_started", "succeeded", "fresh"];

#[derive(Serialize)]
pub(super) struct IndexView {
    title: String,
    run: Option<RunView>,
    /// The later runs that had nothing to do.
    quiet: Option<QuietView>,
    statuses: Vec<String>,
    /// The status strip's colours, when a card has a strip.
    legend: Vec<String>,
    manifests: Vec<String>,
    /// Every `key=value` of the jobs' matrix cells, for the parameter filter.
    params: Vec<String>,
    jobs: Vec<Card>,
    version: &'static str,
    generated_at: String,
    nonce: String,
}

#[derive(Serialize)]
struct RunView {
    id: String,
    started_at: String,
    duration: String,
    exit_code: String,
    cost: String,
    tokens: String,
    counts: Vec<CountView>,
    /// Why the run ended before any job started (`run.json`'s `error`).
    error: Option<String>,
    /// Entries that gave no job on purpose (`run.json`'s `skipped[]`): folder and reason.
    skipped: Vec<(String, String)>,
}

#[derive(Serialize)]
struct QuietView {
    count: usize,
    /// When the newest of them started.
    last: String,
}

#[derive(Serialize)]
struct CountView {
    status: String,
    count: u64,
}

#[derive(Serialize)]
pub(super) struct Link {
    pub name: String,
    pub href: String,
}

#[derive(Serialize)]
struct FileLink {
    name: String,
    href: String,
    size: String,
}

/// An office file on a card, with what it shows of itself.
#[derive(Serialize)]
struct OfficeView {
    name: String,
    href: String,
    preview: Preview,
}

#[derive(Serialize)]
pub(super) struct ErrorView {
    pub kind: String,
    pub message: String,
}

#[derive(Serialize)]
struct Past {
    run: String,
    status: String,
}

#[derive(Serialize)]
struct Card {
    id: String,
    stem: String,
    manifest: String,
    status: String,
    model: String,
    /// The lead run's attempt, when it is not the result shown.
    attempt: Option<Attempt>,
    /// The result in the job's folder.
    made: Option<Made>,
    report_href: Option<String>,
    links: Vec<Link>,
    thumbs: Vec<Link>,
    previews: Vec<OfficeView>,
    files: Vec<FileLink>,
    /// The tool errors its code hit, in a sentence (job.json `tool_errors`).
    tool_errors: Option<String>,
    changed: bool,
    history: Vec<Past>,
    /// Its matrix cell as `key=value`, sorted by key (docs/manifest.md "Matrices").
    params: Vec<String>,
    /// The messages of the `alert:` thresholds this night crossed (`jobs[].alerts`).
    alerts: Vec<String>,
    /// Each metric over the kept runs.
    trends: Vec<TrendView>,
}

pub(super) fn view(snapshot: &Snapshot, generated_at: jiff::Timestamp, nonce: &str) -> IndexView {
    let mut jobs: Vec<Card> = snapshot
        .jobs
        .iter()
        .map(|job| card(snapshot, job))
        .collect();
    // Stable: by id within each rank, as the jobs come.
    jobs.sort_by_key(rank);
    let statuses = STATUSES
        .iter()
        .filter(|s| jobs.iter().any(|j| j.status == **s))
        .map(|s| (*s).to_owned())
        .chain(
            // Words a newer runner may write are still filterable.
            jobs.iter()
                .map(|j| j.status.clone())
                .filter(|s| !STATUSES.contains(&s.as_str())),
        )
        .chain(
            // Not a status: the filter's `alert` shows the cards with one.
            jobs.iter()
                .any(|j| !j.alerts.is_empty())
                .then(|| "alert".to_owned()),
        )
        .fold(Vec::new(), dedup);
    let manifests = jobs.iter().map(|j| j.stem.clone()).fold(Vec::new(), dedup);
    let mut params: Vec<String> = jobs.iter().flat_map(|j| j.params.clone()).collect();
    params.sort();
    params.dedup();
    let legend = if jobs.iter().any(|j| !j.history.is_empty()) {
        STATUSES.map(str::to_owned).to_vec()
    } else {
        Vec::new()
    };
    IndexView {
        title: format!("runner · {}", snapshot.out),
        run: snapshot.run.as_ref().map(run_view),
        quiet: snapshot.quiet.first().map(|last| QuietView {
            count: snapshot.quiet.len(),
            last: when(last),
        }),
        statuses,
        legend,
        manifests,
        params,
        jobs,
        version: env!("CARGO_PKG_VERSION"),
        generated_at: generated_at.strftime("%Y-%m-%d %H:%M:%S UTC").to_string(),
        nonce: nonce.to_owned(),
    }
}

/// Failures first, then alerts, then the runs that stopped, then the rest
/// (docs/output.md §14).
fn rank(card: &Card) -> u8 {
    match card.status.as_str() {
        "failed" => 0,
        _ if !card.alerts.is_empty() => 1,
        "interrupted" => 2,
        "not_started" => 3,
        _ => 4,
    }
}

fn dedup(mut v: Vec<String>, s: String) -> Vec<String> {
    if !v.contains(&s) {
        v.push(s);
    }
    v
}

fn run_view(run: &Value) -> RunView {
    let counts = run["counts"]
        .as_object()
        .into_iter()
        .flatten()
        .filter(|(k, _)| k.as_str() != "total")
        .filter_map(|(k, v)| {
            Some(CountView {
                status: k.clone(),
                count: v.as_u64()?,
            })
        })
        .collect();
    RunView {
        id: text(&run["run_id"]),
        started_at: when(&run["started_at"]),
        duration: duration(seconds_between(&run["started_at"], &run["finished_at"])),
        exit_code: run["exit_code"]
            .as_u64()
            .map_or_else(|| NONE.to_owned(), |c| c.to_string()),
        cost: usd(run["cost"]["usd"].as_f64()),
        tokens: tokens(&run["usage"]),
        counts,
        error: run["error"]["message"].as_str().map(str::to_owned),
        skipped: run["skipped"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|s| (text(&s["dir"]), text(&s["reason"])))
            .collect(),
    }
}

/// A timestamp to the second, for people: `2026-11-30 01:00:02 UTC`.
pub(super) fn when(v: &Value) -> String {
    match v.as_str().and_then(|s| s.parse::<jiff::Timestamp>().ok()) {
        Some(t) => t.strftime("%Y-%m-%d %H:%M:%S UTC").to_string(),
        None => text(v),
    }
}

/// Input counts every input token however it was billed (plain, cache write, cache read).
pub(super) fn tokens(usage: &Value) -> String {
    let cached = |key: &str| usage[key].as_u64().unwrap_or(0);
    match (
        usage["input_tokens"].as_u64(),
        usage["output_tokens"].as_u64(),
    ) {
        (Some(i), Some(o)) => {
            let i = i
                .saturating_add(cached("cache_creation_input_tokens"))
                .saturating_add(cached("cache_read_input_tokens"));
            format!("{i} in / {o} out")
        }
        _ => NONE.to_owned(),
    }
}

fn card(snapshot: &Snapshot, job: &JobOnDisk) -> Card {
    let null = Value::Null;
    let record = job.record.as_ref().unwrap_or(&null);
    let line = job.line.as_ref().unwrap_or(&null);
    let tonight::Story {
        status,
        mut attempt,
        made,
    } = tonight::story(line, record);
    if let Some(a) = attempt.as_mut() {
        a.href = failed_attempt(snapshot, &job.dir, &line["attempt"]);
    }
    let (stem, name) = job.dir.split_once('/').unwrap_or((&job.dir, ""));
    let exists = |file: &str| job.folder.join(file).is_file();
    let doc = |file: &str| href([stem, name, file]);
    let links: Vec<Link> = ["report.html", "report.md", "transcript.md", "job.json"]
        .into_iter()
        .filter(|f| exists(f))
        .map(|f| Link {
            name: f.to_owned(),
            href: doc(f),
        })
        .collect();
    let Shown {
        thumbs,
        previews,
        files,
    } = files(job, record, stem, name);
    Card {
        id: job.dir.clone(),
        stem: job.stem.clone(),
        manifest: line["manifest"]
            .as_str()
            .or_else(|| record["manifest"].as_str())
            .unwrap_or(NONE)
            .to_owned(),
        status: status.clone(),
        model: text(&record["model"]),
        attempt,
        made,
        report_href: exists("report.html").then(|| doc("report.html")),
        links,
        thumbs,
        previews,
        files,
        tool_errors: crate::output::tool_errors::warning_of_record(record),
        changed: status == "succeeded" && outputs_changed(job),
        history: strip(snapshot, job, &status),
        params: params(&line["params"], &record["params"]),
        alerts: alerts(line),
        trends: trend::views(&series(snapshot, job, line)),
    }
}

/// A job's matrix cell, from its run.json line or else its job.json, as `key=value`.
fn params(line: &Value, record: &Value) -> Vec<String> {
    let cell = line.as_object().or_else(|| record.as_object());
    cell.into_iter()
        .flatten()
        .map(|(k, v)| format!("{k}={}", v.as_str().unwrap_or_default()))
        .collect()
}

/// The messages of a line's `alerts`, bounded like the metrics they come from.
fn alerts(line: &Value) -> Vec<String> {
    line["alerts"]
        .as_array()
        .into_iter()
        .flatten()
        .take(crate::manifest::alert_rules::MAX_METRICS)
        .map(|a| text(&a["message"]))
        .collect()
}

/// Each metric's values over the history (oldest first); without a history, the latest
/// line's (or the kept result's) values alone.
fn series(snapshot: &Snapshot, job: &JobOnDisk, line: &Value) -> BTreeMap<String, Vec<f64>> {
    let mut out: BTreeMap<String, Vec<f64>> = BTreeMap::new();
    for h in &snapshot.history {
        if let Some(m) = h.metrics.get(&job.dir) {
            for (name, v) in trend::numbers(m) {
                out.entry(name).or_default().push(v);
            }
        }
    }
    if out.is_empty() {
        let record = job.record.as_ref().map_or(&Value::Null, |r| &r["metrics"]);
        let latest = if line["metrics"].is_object() {
            &line["metrics"]
        } else {
            record
        };
        for (name, v) in trend::numbers(latest) {
            out.entry(name).or_default().push(v);
        }
    }
    out
}

/// A card's files: every one linked, the first images as thumbnails, the first office
/// files previewed.
#[derive(Default)]
struct Shown {
    thumbs: Vec<Link>,
    previews: Vec<OfficeView>,
    files: Vec<FileLink>,
}

fn files(job: &JobOnDisk, record: &Value, stem: &str, name: &str) -> Shown {
    let mut shown = Shown::default();
    let mut tried = 0;
    for output in &super::disk::outputs_deliverables_first(record) {
        let Some(file) = output["name"].as_str() else {
            continue;
        };
        // Only a plain name that is really there: the page never links outside the job.
        if file.contains(['/', '\\']) || file.starts_with('.') {
            continue;
        }
        let path = job.folder.join("files").join(file);
        if !path.is_file() {
            continue;
        }
        let target = href([stem, name, "files", file]);
        if is_image(file, output["mime_type"].as_str()) && shown.thumbs.len() < THUMBS {
            shown.thumbs.push(Link {
                name: file.to_owned(),
                href: target.clone(),
            });
        } else if office::Format::of(file).is_some() && tried < PREVIEWS {
            tried += 1;
            if let Some(preview) = office::preview(&path, &Bounds::CARD) {
                shown.previews.push(OfficeView {
                    name: file.to_owned(),
                    href: target.clone(),
                    preview,
                });
            }
        }
        shown.files.push(FileLink {
            name: file.to_owned(),
            href: target,
            size: output["size"]
                .as_u64()
                .map_or_else(|| NONE.to_owned(), units::bytes),
        });
    }
    shown
}

/// Images a browser shows: by MIME type or extension, never SVG (it can carry script,
/// and an `<img>` would not run it, but a click on the link would open it as a page).
pub(super) fn is_image(name: &str, mime: Option<&str>) -> bool {
    const EXTENSIONS: [&str; 5] = ["png", "jpg", "jpeg", "gif", "webp"];
    let lower = name.to_ascii_lowercase();
    let by_ext = lower
        .rsplit_once('.')
        .is_some_and(|(_, ext)| EXTENSIONS.contains(&ext));
    let by_mime = mime.is_some_and(|m| m.starts_with("image/") && !m.contains("svg"));
    (by_ext || by_mime) && !lower.ends_with(".svg")
}

/// The failed attempt of this job that its line names (`runs/<run-id>/<stem>/<job>`,
/// docs/output.md §6.1), when the history keeps it: the page never links an older
/// night's attempt as tonight's.
fn failed_attempt(snapshot: &Snapshot, dir: &str, attempt: &Value) -> Option<String> {
    let (stem, name) = dir.split_once('/')?;
    let run = attempt.as_str()?.strip_prefix("runs/")?.split('/').next()?;
    let h = snapshot.history.iter().find(|h| h.id == run)?;
    let file = h.attempts.get(dir)?;
    Some(href(["runs", run, stem, name, file]))
}

/// Whether this run's outputs differ from those of the job's previous successful run: the
/// `changed` the run wrote in the job's `run.json` line (docs/output.md §6.1).
fn outputs_changed(job: &JobOnDisk) -> bool {
    job.line
        .as_ref()
        .and_then(|l| l["changed"].as_bool())
        .unwrap_or(false)
}

/// The job's status in each of the last runs of the history that selected it, oldest
/// first; without a history, just the latest run's.
fn strip(snapshot: &Snapshot, job: &JobOnDisk, status: &str) -> Vec<Past> {
    if snapshot.history.is_empty() {
        return job
            .line
            .as_ref()
            .map(|_| Past {
                run: "latest run".to_owned(),
                status: status.to_owned(),
            })
            .into_iter()
            .collect();
    }
    let runs: Vec<(&HistoryRun, &String)> = snapshot
        .history
        .iter()
        .filter_map(|h| Some((h, h.statuses.get(&job.dir)?)))
        .collect();
    runs[runs.len().saturating_sub(STRIP)..]
        .iter()
        .map(|(h, status)| Past {
            run: h.id.clone(),
            status: (*status).clone(),
        })
        .collect()
}

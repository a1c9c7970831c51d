//! A job folder's `report.html`: its `report.md` and `transcript.md` rendered through
//! `markdown.rs`, with the provenance from its `job.json` (inputs with hashes, model,
//! request ids, cost).

use serde::Serialize;
use serde_json::Value;

use super::disk::{JobOnDisk, read_text};
use super::index::{ErrorView, seconds_between, text, tokens, when};
use super::{NONE, duration, href, markdown, usd};
use crate::manifest::alert_rules::{MAX_METRIC_NAME, show};
use crate::output::office::{self, Bounds, Preview};
use crate::output::tool_errors;
use crate::units;

/// Office files previewed on one page at most (docs/output.md §14.1); the rest are links.
const PREVIEWS: usize = 12;

#[derive(Serialize)]
pub(super) struct JobPage {
    id: String,
    status: String,
    error: Option<ErrorView>,
    /// The tool errors its code hit, in a sentence (job.json `tool_errors`).
    tool_errors: Option<String>,
    manifest: String,
    model: String,
    tool: String,
    started_at: String,
    finished_at: String,
    duration: String,
    cost: String,
    tokens: String,
    fingerprint: String,
    container_id: String,
    inputs: Vec<InputRow>,
    /// job.json `skills[]`, each as `id (resolved version)` (docs/output.md §2.11).
    skills: Vec<String>,
    outputs: Vec<OutputRow>,
    requests: Vec<RequestRow>,
    /// Its `metrics`, each with the previous night's value and the change.
    metrics: Vec<MetricRow>,
    report: String,
    transcript: String,
    index_href: String,
    version: &'static str,
    generated_at: String,
}

#[derive(Serialize)]
struct InputRow {
    name: String,
    path: String,
    size: String,
    blake3: String,
    short: String,
    file_id: String,
}

#[derive(Serialize)]
struct OutputRow {
    name: String,
    href: String,
    turn: String,
    size: String,
    blake3: String,
    short: String,
    original_name: String,
    /// What the file shows of itself, for an office file that could be read.
    preview: Option<Preview>,
}

#[derive(Serialize)]
struct MetricRow {
    name: String,
    value: String,
    previous: String,
    delta: String,
}

#[derive(Serialize)]
struct RequestRow {
    turn: String,
    continuation: String,
    request_id: String,
    stop_reason: String,
    tokens: String,
}

/// `index_href`: the index relative to the folder (`../../index.html` for `OUT/<stem>/<job>`).
pub(super) fn view(job: &JobOnDisk, generated_at: jiff::Timestamp, index_href: String) -> JobPage {
    let null = Value::Null;
    let r = job.record.as_ref().unwrap_or(&null);
    let items = |key: &str| r[key].as_array().cloned().unwrap_or_default();
    let report = read_text(&job.folder.join("report.md")).unwrap_or_default();
    let transcript = read_text(&job.folder.join("transcript.md")).unwrap_or_default();
    JobPage {
        id: job.dir.clone(),
        status: r["status"].as_str().unwrap_or("unknown").to_owned(),
        error: r["error"].as_object().map(|e| ErrorView {
            kind: e.get("kind").map_or_else(|| NONE.to_owned(), text),
            message: e.get("message").map_or_else(|| NONE.to_owned(), text),
        }),
        tool_errors: tool_errors::warning_of_record(r),
        manifest: text(&r["manifest"]),
        model: text(&r["model"]),
        tool: text(&r["tool"]),
        started_at: when(&r["started_at"]),
        finished_at: when(&r["finished_at"]),
        duration: duration(seconds_between(&r["started_at"], &r["finished_at"])),
        cost: usd(r["cost"]["usd"].as_f64()),
        tokens: tokens(&r["usage"]),
        fingerprint: text(&r["fingerprint"]),
        container_id: text(&r["container_id"]),
        inputs: items("inputs").iter().map(input_row).collect(),
        skills: items("skills").iter().map(skill_text).collect(),
        outputs: output_rows(job, r),
        requests: items("requests").iter().map(request_row).collect(),
        metrics: metric_rows(job, r),
        report: markdown::to_html(without_header(&report)),
        transcript: markdown::to_html(&transcript),
        index_href,
        version: env!("CARGO_PKG_VERSION"),
        // The time its result was recorded, so rebuilding the pages after another run
        // leaves an untouched job's page byte-identical.
        generated_at: r["finished_at"]
            .as_str()
            .and_then(|t| t.parse::<jiff::Timestamp>().ok())
            .unwrap_or(generated_at)
            .strftime("%Y-%m-%d %H:%M:%S UTC")
            .to_string(),
    }
}

/// The job's metrics with the previous successful night's values (the newest recorded run
/// that finished before this result did), and the change from them.
fn metric_rows(job: &JobOnDisk, r: &Value) -> Vec<MetricRow> {
    let now = super::trend::numbers(&r["metrics"]);
    if now.is_empty() {
        return Vec::new();
    }
    let out = job.folder.parent().and_then(camino::Utf8Path::parent);
    let before = out
        .and_then(|out| super::disk::previous_metrics(out, &job.dir, &r["finished_at"]))
        .map(|m| super::trend::numbers(&m))
        .unwrap_or_default();
    now.into_iter()
        .map(|(name, v)| {
            let prev = before.get(&name).copied();
            let delta = match prev {
                Some(p) if p != 0.0 => {
                    format!("{} ({:+.1}%)", signed(v - p), (v - p) / p.abs() * 100.0)
                }
                Some(p) => signed(v - p),
                None => NONE.to_owned(),
            };
            MetricRow {
                name: name.chars().take(MAX_METRIC_NAME).collect(),
                value: show(v),
                previous: prev.map_or_else(|| NONE.to_owned(), show),
                delta,
            }
        })
        .collect()
}

/// A change with its sign: `+3`, `-0.25`, `0`.
fn signed(d: f64) -> String {
    if d > 0.0 {
        format!("+{}", show(d))
    } else {
        show(d)
    }
}

/// `report.md` from its first `## ` section: its title and header lines say what the page
/// already shows above it, from `job.json`.
fn without_header(report: &str) -> &str {
    if !report.starts_with("# ") {
        return report;
    }
    match report.find("\n## ") {
        Some(at) => &report[at + 1..],
        None => report,
    }
}

fn short(hash: &Value) -> String {
    hash.as_str()
        .map_or_else(|| NONE.to_owned(), |h| h.chars().take(12).collect())
}

fn size(v: &Value) -> String {
    v.as_u64().map_or_else(|| NONE.to_owned(), units::bytes)
}

fn number(v: &Value) -> String {
    v.as_u64()
        .map_or_else(|| NONE.to_owned(), |n| n.to_string())
}

fn input_row(i: &Value) -> InputRow {
    InputRow {
        name: text(&i["name"]),
        path: text(&i["path"]),
        size: size(&i["size"]),
        blake3: text(&i["blake3"]),
        short: short(&i["blake3"]),
        file_id: text(&i["file_id"]),
    }
}

/// The rows of the files table, deliverables first, with a preview under each of the first
/// [`PREVIEWS`] office files.
fn output_rows(job: &JobOnDisk, record: &Value) -> Vec<OutputRow> {
    let mut tried = 0;
    let mut rows: Vec<OutputRow> = super::disk::outputs_deliverables_first(record)
        .iter()
        .map(output_row)
        .collect();
    for row in &mut rows {
        let plain = !row.href.is_empty();
        if plain && office::Format::on_page(&row.name).is_some() && tried < PREVIEWS {
            tried += 1;
            let path = job.folder.join("files").join(&row.name);
            row.preview = office::preview(&path, &Bounds::PAGE);
        }
    }
    rows
}

fn output_row(o: &Value) -> OutputRow {
    let name = text(&o["name"]);
    let plain = !name.contains(['/', '\\']) && !name.starts_with('.');
    OutputRow {
        preview: None,
        href: if plain {
            href(["files", name.as_str()])
        } else {
            String::new()
        },
        // job.json counts turns from 0, the pages from 1, like report.md.
        turn: o["turn"]
            .as_u64()
            .map_or_else(|| NONE.to_owned(), |t| (t + 1).to_string()),
        size: size(&o["size"]),
        blake3: text(&o["blake3"]),
        short: short(&o["blake3"]),
        original_name: o["original_name"]
            .as_str()
            .map_or_else(String::new, str::to_owned),
        name,
    }
}

fn request_row(q: &Value) -> RequestRow {
    RequestRow {
        turn: q["turn"]
            .as_u64()
            .map_or_else(|| NONE.to_owned(), |t| (t + 1).to_string()),
        continuation: number(&q["continuation"]),
        request_id: text(&q["request_id"]),
        stop_reason: text(&q["stop_reason"]),
        tokens: tokens(&q["usage"]),
    }
}

/// `xlsx 20251013`, or for a folder `house-style (skills/house-style) skill_… skver_…`.
fn skill_text(s: &Value) -> String {
    let version = s["resolved_version"]
        .as_str()
        .or(s["version"].as_str())
        .unwrap_or_default();
    match (s["name"].as_str(), s["folder"].as_str()) {
        (Some(name), Some(folder)) => {
            format!("{name} ({folder}) {} {version}", text(&s["skill_id"]))
        }
        _ => format!("{} {version}", text(&s["skill_id"])),
    }
}

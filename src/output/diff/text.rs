//! `runner diff` for people: the changed jobs first, each with what changed and its report
//! diff indented, then one line counting the unchanged ones.

use std::fmt::Write as _;

use super::{Change, Delta, JobDiff, MetricDelta, RunDiff};
use crate::status::JobStatus;
use crate::units;

/// The whole text, ending with a newline.
pub(crate) fn render_text(diff: &RunDiff) -> String {
    let mut text = format!(
        "runner diff {} ({}) → {} ({})\n",
        diff.from.run_id,
        diff.from.started_at.strftime("%Y-%m-%d %H:%M:%SZ"),
        diff.to.run_id,
        diff.to.started_at.strftime("%Y-%m-%d %H:%M:%SZ"),
    );
    for job in diff.jobs.iter().filter(|j| j.change != Change::Unchanged) {
        text.push('\n');
        job_text(&mut text, job);
    }
    let c = &diff.counts;
    let _ = writeln!(
        text,
        "\n{} changed, {} added, {} removed; {} unchanged",
        units::count(c.changed, "job"),
        c.added,
        c.removed,
        units::count(c.unchanged, "job")
    );
    text
}

fn job_text(text: &mut String, job: &JobDiff) {
    let word = match job.change {
        Change::Added => "added",
        Change::Removed => "removed",
        Change::Changed | Change::Unchanged => "changed",
    };
    let status = |s: Option<JobStatus>| s.map_or("—", JobStatus::as_str);
    let _ = writeln!(text, "{}: {word}", job.id);
    if job.status.from == job.status.to {
        let _ = writeln!(text, "  status: {}", status(job.status.to));
    } else {
        let _ = writeln!(
            text,
            "  status: {} → {}",
            status(job.status.from),
            status(job.status.to)
        );
    }
    if let Some(d) = &job.duration_secs {
        let secs = |x: f64| format!("{x:.1}s");
        let _ = writeln!(text, "  duration: {}", delta(d, secs));
    }
    if let Some(d) = &job.cost_usd {
        let _ = writeln!(text, "  cost: {}", delta(d, units::usd));
    }
    for (label, paths) in [
        ("changed", &job.files.changed),
        ("added", &job.files.added),
        ("removed", &job.files.removed),
    ] {
        for path in paths {
            let _ = writeln!(text, "  file {label}: {path}");
        }
    }
    for m in job.metrics.iter().filter(|m| m.delta != Some(0.0)) {
        let _ = writeln!(text, "  metric {}", metric(m));
    }
    if job.alerts.from != job.alerts.to {
        let list = |v: &[serde_json::Value]| {
            let items: Vec<String> = v.iter().map(alert).collect();
            if items.is_empty() {
                "none".to_owned()
            } else {
                items.join(", ")
            }
        };
        let _ = writeln!(
            text,
            "  alerts: {} → {}",
            list(&job.alerts.from),
            list(&job.alerts.to)
        );
    }
    for run in &job.report.not_kept {
        let _ = writeln!(text, "  report text of run {run} not kept");
    }
    if let Some(diff) = &job.report.diff {
        text.push_str("  report.md:\n");
        for line in diff.lines() {
            let _ = writeln!(text, "    {line}");
        }
    }
}

/// `12.3s → 10.1s (-2.2s)`.
fn delta(d: &Delta, show: impl Fn(f64) -> String) -> String {
    // Shown as it prints: a difference too small to show is no difference.
    if show(d.delta.abs()) == show(0.0) {
        return format!("{} → {} (unchanged)", show(d.from), show(d.to));
    }
    let sign = if d.delta < 0.0 { "-" } else { "+" };
    format!(
        "{} → {} ({sign}{})",
        show(d.from),
        show(d.to),
        show(d.delta.abs())
    )
}

/// `rows: 100 → 120 (+20, +20.0%)`, or `rows: → 120 (new)`.
fn metric(m: &MetricDelta) -> String {
    let num = |x: Option<f64>| x.map_or("—".to_owned(), |x| x.to_string());
    let change = match (m.delta, m.percent) {
        (Some(d), Some(p)) => format!(" ({d:+}, {p:+.1}%)"),
        (Some(d), None) => format!(" ({d:+})"),
        (None, _) if m.from.is_none() => " (new)".to_owned(),
        (None, _) => " (gone)".to_owned(),
    };
    format!("{}: {} → {}{change}", m.name, num(m.from), num(m.to))
}

/// An alert by its `message` (run.json `jobs[].alerts`); a string as itself; anything else
/// as compact JSON.
fn alert(v: &serde_json::Value) -> String {
    v["message"]
        .as_str()
        .or_else(|| v.as_str())
        .map_or_else(|| v.to_string(), str::to_owned)
}

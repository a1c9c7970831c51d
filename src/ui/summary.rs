//! The closing lines of `runner run` on stderr: the failed jobs (when they were not already
//! shown as they happened) and one summary line. With `-q` they are printed only when a job
//! failed or was interrupted, so cron's "mail only when something is printed" fires on a
//! failed night and stays silent on a good one. Each line has a level and, for
//! `--log-format json`, its facts as fields (docs/unattended.md "Logs for a log shipper").

use tracing::Level;

use super::events::Failure;
use super::{Display, Note};
use crate::units;

/// What a run did, as the closing lines tell it.
#[derive(Clone, Debug, Default)]
pub(crate) struct Summary {
    pub total: usize,
    pub succeeded: usize,
    pub failed: usize,
    pub fresh: usize,
    pub interrupted: usize,
    pub not_started: usize,
    /// Why the run stopped starting jobs, when it did.
    pub stopped: Option<String>,
    pub uploaded: usize,
    pub bytes_uploaded: u64,
    pub reused: usize,
    pub input_tokens: u64,
    pub output_tokens: u64,
    /// What the run's requests cost.
    pub cost_usd: f64,
    /// `Some((limit, spent))` when `--budget-usd` stopped the run.
    pub budget_stop: Option<(f64, f64)>,
    /// `(job id, message)` of each threshold a job's metrics crossed.
    pub alerts: Vec<(String, String)>,
    /// `(job id, why)` of each failed job.
    pub failures: Vec<(String, Failure)>,
    /// Where the run's record is (`OUT/run.json`).
    pub record: String,
    /// The run record's `counts` object, as `run.json` holds it.
    pub counts: serde_json::Value,
    pub exit_code: u8,
}

/// The lines to print: each failure unless the live display already showed it, then the
/// summary line; nothing at all for a `-q` run where everything went well.
pub(crate) fn lines(summary: &Summary, display: &Display) -> Vec<Note> {
    // An alert is news too: `-q` prints the lines, so cron mails them.
    let trouble = summary.failed > 0
        || summary.interrupted > 0
        || summary.not_started > 0
        || !summary.alerts.is_empty();
    if display.quiet && !trouble {
        return Vec::new();
    }
    let mut out = news(summary, display);
    out.push(closing(summary));
    out
}

/// The lines before the summary line: failures (unless shown live), alerts, and why the
/// run stopped starting jobs.
fn news(summary: &Summary, display: &Display) -> Vec<Note> {
    let mut out = Vec::new();
    if !display.shows_failures_live() {
        for (id, f) in &summary.failures {
            let text = format!("failed {id} ({}): {}", f.kind, f.message);
            out.push(
                Note::new(Level::ERROR, text)
                    .with("job", id.as_str())
                    .with("kind", f.kind.as_str())
                    .with("request_id", f.request_id.as_deref())
                    .with("attempts", f.attempts),
            );
        }
    }
    for (id, message) in &summary.alerts {
        let text = format!("alert {id}: {message}");
        out.push(Note::new(Level::WARN, text).with("job", id.as_str()));
    }
    if let Some((limit, spent)) = summary.budget_stop {
        let text = format!(
            "the budget stopped the run: {} spent of --budget-usd {}; {} not started",
            units::usd(spent),
            units::usd(limit),
            units::count(summary.not_started, "job"),
        );
        out.push(Note::new(Level::WARN, text));
    } else if let Some(why) = &summary.stopped {
        let text = format!(
            "stopped starting jobs ({} not started): {why}",
            summary.not_started
        );
        out.push(Note::new(Level::WARN, text));
    }
    out
}

/// The summary line, with the run's counts, cost and exit code as its fields.
fn closing(summary: &Summary) -> Note {
    let mut interrupted = if summary.interrupted > 0 {
        format!(", {} interrupted", summary.interrupted)
    } else {
        String::new()
    };
    if summary.not_started > 0 {
        interrupted.push_str(&format!(", {} not started", summary.not_started));
    }
    if !summary.alerts.is_empty() {
        interrupted.push_str(&format!(
            ", {}",
            units::count(summary.alerts.len(), "alert")
        ));
    }
    let text = format!(
        "{}: {} succeeded, {} failed, {} fresh{interrupted}; uploads: {} new ({}), {} reused; \
         tokens in/out: {}/{}; cost {}; summary in {}",
        units::count(summary.total, "job"),
        summary.succeeded,
        summary.failed,
        summary.fresh,
        summary.uploaded,
        units::bytes(summary.bytes_uploaded),
        summary.reused,
        summary.input_tokens,
        summary.output_tokens,
        units::usd(summary.cost_usd),
        summary.record,
    );
    // A night with failures is an error for a log shipper's alert, an interruption or an
    // alert a warning.
    let level = if summary.failed > 0 || summary.not_started > 0 {
        Level::ERROR
    } else if summary.interrupted > 0 || !summary.alerts.is_empty() {
        Level::WARN
    } else {
        Level::INFO
    };
    Note::new(level, text)
        .with("counts", summary.counts.clone())
        .with("cost_usd", summary.cost_usd)
        .with("exit_code", summary.exit_code)
        .with("record", summary.record.as_str())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::status::ErrorKind;

    fn failure(kind: ErrorKind, message: &str) -> Failure {
        Failure {
            kind,
            message: message.into(),
            request_id: Some("req_1".into()),
            attempts: Some(3),
        }
    }

    fn texts(notes: &[Note]) -> Vec<&str> {
        notes.iter().map(|n| n.text.as_str()).collect()
    }

    #[test]
    fn each_failure_once_with_its_json_kind() {
        let summary = Summary {
            total: 2,
            failed: 1,
            succeeded: 1,
            failures: vec![("m/a".into(), failure(ErrorKind::Api, "HTTP 400"))],
            record: "out/run.json".into(),
            ..Summary::default()
        };
        let quiet = Display {
            quiet: true,
            ..Display::default()
        };
        let lines_quiet = lines(&summary, &quiet);
        assert_eq!(lines_quiet[0].text, "failed m/a (api): HTTP 400");
        assert_eq!(lines_quiet[0].level, Level::ERROR);
        assert_eq!(
            serde_json::Value::Object(lines_quiet[0].fields.clone()),
            serde_json::json!({"job": "m/a", "kind": "api", "request_id": "req_1", "attempts": 3})
        );
        assert_eq!(lines_quiet.len(), 2);
        assert!(
            lines_quiet[1]
                .text
                .starts_with("2 jobs: 1 succeeded, 1 failed, 0 fresh; ")
        );
        assert_eq!(lines_quiet[1].level, Level::ERROR);
        // Shown live already: only the summary line.
        assert_eq!(lines(&summary, &Display::default()).len(), 1);
    }

    #[test]
    fn quiet_says_nothing_when_all_went_well() {
        let good = Summary {
            total: 2,
            succeeded: 1,
            fresh: 1,
            record: "out/run.json".into(),
            ..Summary::default()
        };
        let quiet = Display {
            quiet: true,
            ..Display::default()
        };
        assert!(lines(&good, &quiet).is_empty());
        assert_eq!(lines(&good, &Display::default()).len(), 1);
        let stopped = Summary {
            interrupted: 1,
            ..good
        };
        assert_eq!(lines(&stopped, &quiet).len(), 1);
    }

    #[test]
    fn a_budget_stop_says_so_and_how_much_was_spent() {
        let summary = Summary {
            total: 5,
            succeeded: 1,
            failed: 1,
            not_started: 3,
            cost_usd: 0.1834,
            budget_stop: Some((0.2, 0.1834)),
            failures: vec![("m/b".into(), failure(ErrorKind::Budget, "not sent"))],
            record: "out/run.json".into(),
            ..Summary::default()
        };
        let notes = lines(&summary, &Display::default());
        let lines = texts(&notes);
        assert_eq!(
            lines[0],
            "the budget stopped the run: $0.1834 spent of --budget-usd $0.2000; 3 jobs not started"
        );
        assert!(lines[1].contains(", 3 not started;"), "{}", lines[1]);
        assert!(lines[1].contains("; cost $0.1834; "), "{}", lines[1]);
    }
}

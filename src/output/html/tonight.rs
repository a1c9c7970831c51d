//! What a card says (docs/output.md §14): the attempt of the run the page leads with,
//! when it is not the result in the job's folder, and that result, labelled with when it
//! was made. A failed, interrupted or not started job whose folder keeps an earlier
//! success shows that success as its *last good result*, and tonight's attempt apart.

use serde::Serialize;
use serde_json::Value;

use super::loose::{seconds_between, text};
use super::{NONE, duration, usd};

/// A card's attempt: tonight's (the lead run's line), or the folder's own failure when the
/// lead run did not select the job.
#[derive(Debug, Serialize)]
pub(super) struct Attempt {
    /// `tonight`, or when the failure on disk was made.
    pub when: String,
    pub status: String,
    /// The status for people: `not started`.
    pub words: String,
    pub duration: Option<String>,
    pub cost: Option<String>,
    pub error: Option<Failure>,
    /// Tonight's failed attempt in the run history (set by the index).
    pub href: Option<String>,
}

#[derive(Debug, Serialize)]
pub(super) struct Failure {
    pub kind: String,
    pub message: String,
    pub request_id: Option<String>,
}

/// The result in the job's folder: what the card's files, plots, metrics and links are.
#[derive(Debug, Serialize)]
pub(super) struct Made {
    /// `last good result from 2026-12-05 02:00 UTC`, `result from …`, `no good result yet …`.
    pub label: String,
    /// Its `finished_at`, as written.
    pub at: String,
    pub good: bool,
    pub duration: String,
    pub cost: String,
}

#[derive(Debug)]
pub(super) struct Story {
    /// The card's status word: the lead run's line, else the folder's `job.json`.
    pub status: String,
    pub attempt: Option<Attempt>,
    pub made: Option<Made>,
}

/// The line's statuses that are an attempt which did not leave a result.
const UNFINISHED: [&str; 3] = ["failed", "interrupted", "not_started"];

/// The story of one card from its lead-run `line` and its folder's `record` (either may be
/// `null`).
pub(super) fn story(line: &Value, record: &Value) -> Story {
    let on_line = line["status"].as_str();
    let status = on_line
        .or_else(|| record["status"].as_str())
        .unwrap_or("unknown")
        .to_owned();
    let good = record["status"] == "succeeded";
    let attempt = match on_line {
        Some(s) if UNFINISHED.contains(&s) => {
            // A line without its error (an older runner's) has the folder's, if it failed.
            let source = if line["error"].is_object() {
                line
            } else {
                record
            };
            Some(attempt("tonight".to_owned(), s, line, source))
        }
        // Not selected by the lead run: a failure on disk is its own attempt.
        None if record["status"] == "failed" => Some(attempt(
            minute(&record["finished_at"]),
            "failed",
            &Value::Null,
            record,
        )),
        _ => None,
    };
    let made = record.is_object().then(|| {
        let at = minute(&record["finished_at"]);
        let label = match (good, &attempt) {
            (true, Some(_)) => format!("last good result from {at}"),
            (true, None) => format!("result from {at}"),
            (false, _) => {
                format!("no good result yet: the files are from the failed attempt of {at}")
            }
        };
        Made {
            label,
            at: text(&record["finished_at"]),
            good,
            duration: duration(seconds_between(
                &record["started_at"],
                &record["finished_at"],
            )),
            cost: usd(record["cost"]["usd"].as_f64()),
        }
    });
    Story {
        status,
        attempt,
        made,
    }
}

/// `line` gives the attempt's time and cost (none for a failure read from disk), `source`
/// its error.
fn attempt(when: String, status: &str, line: &Value, source: &Value) -> Attempt {
    let known = |s: String| (s != NONE).then_some(s);
    Attempt {
        when,
        status: status.to_owned(),
        words: status.replace('_', " "),
        duration: known(duration(line["duration_secs"].as_f64())),
        cost: known(usd(line["cost_usd"].as_f64())),
        error: source["error"].as_object().map(|e| Failure {
            kind: e.get("kind").map_or_else(|| NONE.to_owned(), text),
            message: e.get("message").map_or_else(|| NONE.to_owned(), text),
            request_id: e
                .get("request_id")
                .and_then(Value::as_str)
                .map(str::to_owned),
        }),
        href: None,
    }
}

/// A timestamp to the minute, for labels: `2026-12-05 02:00 UTC`.
fn minute(v: &Value) -> String {
    match v.as_str().and_then(|s| s.parse::<jiff::Timestamp>().ok()) {
        Some(t) => t.strftime("%Y-%m-%d %H:%M UTC").to_string(),
        None => text(v),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn record(status: &str) -> Value {
        json!({"status": status, "started_at": "2026-12-05T02:00:00Z",
            "finished_at": "2026-12-05T02:01:30Z", "cost": {"usd": 0.25},
            "error": (status == "failed").then(|| json!({"kind": "api", "message": "old"}))})
    }

    #[test]
    fn a_failure_tonight_keeps_the_last_good_result_apart() {
        let line = json!({"status": "failed", "duration_secs": 4.0, "cost_usd": 0.01,
            "error": {"kind": "api", "message": "400 invalid_request_error", "request_id": "req_7"}});
        let s = story(&line, &record("succeeded"));
        assert_eq!(s.status, "failed");
        let a = s.attempt.unwrap();
        assert_eq!(
            (
                a.when.as_str(),
                a.words.as_str(),
                a.duration.as_deref(),
                a.cost.as_deref()
            ),
            ("tonight", "failed", Some("4.0s"), Some("$0.0100"))
        );
        let e = a.error.unwrap();
        assert_eq!(
            (e.kind.as_str(), e.request_id.as_deref()),
            ("api", Some("req_7"))
        );
        let m = s.made.unwrap();
        assert!(m.good);
        assert_eq!(m.label, "last good result from 2026-12-05 02:01 UTC");
        assert_eq!(
            (m.duration.as_str(), m.cost.as_str()),
            ("1m 30s", "$0.2500")
        );
    }

    #[test]
    fn an_interrupted_job_with_an_intact_result_says_so_and_a_success_is_one_result() {
        let line = json!({"status": "not_started", "reason": "max_fail",
            "error": {"kind": "not_started", "message": "--max-fail 1 reached"}});
        let s = story(&line, &record("succeeded"));
        assert_eq!(s.attempt.unwrap().words, "not started");
        assert!(s.made.unwrap().label.starts_with("last good result from"));

        let s = story(&json!({"status": "fresh"}), &record("succeeded"));
        assert!(s.attempt.is_none());
        assert_eq!(s.made.unwrap().label, "result from 2026-12-05 02:01 UTC");
    }

    #[test]
    fn without_a_success_there_is_no_good_result_and_the_failure_on_disk_is_the_attempt() {
        let s = story(&Value::Null, &record("failed"));
        assert_eq!(s.status, "failed");
        let a = s.attempt.unwrap();
        assert_eq!(a.when, "2026-12-05 02:01 UTC");
        assert_eq!(a.error.unwrap().message, "old");
        let m = s.made.unwrap();
        assert!(!m.good);
        assert!(m.label.starts_with("no good result yet"), "{}", m.label);
        let s = story(&json!({"status": "failed"}), &Value::Null);
        assert!(s.made.is_none() && s.attempt.is_some());
    }
}

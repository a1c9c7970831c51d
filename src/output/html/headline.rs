//! Which run `OUT/index.html` leads with (docs/output.md §14): the latest run that did
//! something, so a rerun that found every job fresh never hides the night before; the
//! later runs that had nothing to do are one line under it.

use serde_json::Value;

/// What the page needs of each run of the history to pick its headline.
#[derive(Debug)]
pub(super) struct RunBrief {
    pub id: String,
    pub started_at: Value,
    pub no_op: bool,
}

impl RunBrief {
    pub(super) fn of(id: String, run: &Value) -> RunBrief {
        RunBrief {
            id,
            started_at: run["started_at"].clone(),
            no_op: is_no_op(run),
        }
    }
}

/// Where the headline run is.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Lead {
    /// `OUT/run.json` itself (or there is none).
    Latest,
    /// A run of the history, by id.
    Kept(String),
    /// Every kept run had nothing to do: the one that did is pruned (`--keep-runs`).
    Gone,
}

#[derive(Debug, PartialEq)]
pub(super) struct Pick {
    pub lead: Lead,
    /// When the runs after the lead started, newest first: each had nothing to do.
    pub quiet: Vec<Value>,
}

/// A run that did nothing: no setup failure, and every job it selected was fresh.
pub(super) fn is_no_op(run: &Value) -> bool {
    run.get("error").is_none_or(Value::is_null)
        && run["jobs"]
            .as_array()
            .is_some_and(|jobs| jobs.iter().all(|j| j["status"] == "fresh"))
}

/// The run to lead with: `latest` (`OUT/run.json`) unless it had nothing to do, else the
/// newest run of `history` (oldest first) before it that did something.
pub(super) fn pick<'a>(
    latest: Option<&Value>,
    history: impl DoubleEndedIterator<Item = &'a RunBrief>,
) -> Pick {
    let Some(latest) = latest.filter(|r| is_no_op(r)) else {
        return Pick {
            lead: Lead::Latest,
            quiet: Vec::new(),
        };
    };
    let latest_id = latest["run_id"].as_str().unwrap_or_default();
    let mut quiet = vec![latest["started_at"].clone()];
    // Run ids sort by start time (docs/output.md §12): only the runs before the latest.
    for run in history.rev().filter(|r| r.id.as_str() < latest_id) {
        if !run.no_op {
            return Pick {
                lead: Lead::Kept(run.id.clone()),
                quiet,
            };
        }
        quiet.push(run.started_at.clone());
    }
    Pick {
        lead: Lead::Gone,
        quiet,
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn run(id: &str, statuses: &[&str]) -> Value {
        let jobs: Vec<Value> = statuses.iter().map(|s| json!({"status": s})).collect();
        json!({"run_id": id, "started_at": format!("at {id}"), "jobs": jobs})
    }

    fn briefs(runs: &[Value]) -> Vec<RunBrief> {
        runs.iter()
            .map(|r| RunBrief::of(r["run_id"].as_str().unwrap().to_owned(), r))
            .collect()
    }

    #[test]
    fn a_run_that_did_something_leads() {
        let runs = [run("1", &["succeeded"]), run("2", &["fresh", "failed"])];
        let pick = pick(Some(&runs[1]), briefs(&runs).iter());
        assert_eq!(pick.lead, Lead::Latest);
        assert!(pick.quiet.is_empty());
    }

    #[test]
    fn later_runs_with_nothing_to_do_are_quiet_and_the_night_before_leads() {
        let runs = [
            run("1", &["succeeded"]),
            run("2", &["interrupted", "not_started"]),
            run("3", &["fresh", "fresh"]),
            run("4", &["fresh", "fresh"]),
        ];
        let pick = pick(Some(&runs[3]), briefs(&runs).iter());
        assert_eq!(pick.lead, Lead::Kept("2".to_owned()));
        assert_eq!(pick.quiet, [json!("at 4"), json!("at 3")]);
    }

    #[test]
    fn a_setup_failure_did_something_and_a_pruned_lead_is_gone() {
        let mut setup = run("2", &[]);
        setup["error"] = json!({"message": "cannot reach the API"});
        assert!(!is_no_op(&setup));
        let runs = [run("1", &["fresh"]), run("2", &["fresh"])];
        let pick = pick(Some(&runs[1]), briefs(&runs).iter());
        assert_eq!(pick.lead, Lead::Gone);
        assert_eq!(pick.quiet, [json!("at 2"), json!("at 1")]);
        // A run.json of unknown shape is shown as it is.
        assert!(!is_no_op(&json!({"started_at": "x"})));
    }
}

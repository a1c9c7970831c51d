//! `runner explain`: manifest → plan → each selected job's last run (the run history under
//! `--out`) and its comparison with its `job.json`. No network; prints text or JSON on stdout.

use crate::config::ExplainConfig;
use crate::error::{Error, Exit};
use crate::output::explain::{self, Explanation};
use crate::output::history;
use crate::output::last_run::{LastRun, last_run};
use crate::output::outcome::RunSummary;
use crate::output::records::parse_job_json;
use crate::plan::PlannedJob;
use crate::status::JobStatus;
use crate::ui;

use super::plan::make_plan;

pub(super) async fn explain(config: &ExplainConfig) -> Result<Exit, Error> {
    let (plan, _state) = make_plan(&config.manifests, &config.state_dir, &config.known).await?;
    let selected = config.only.select(&plan);
    if selected.is_empty() {
        return Err(Error::NoJobMatches(config.only.patterns().to_vec()));
    }
    // A history that cannot be read leaves only the job folders to go by.
    let runs: Vec<RunSummary> = history::list(&config.out).unwrap_or_else(|e| {
        tracing::warn!("cannot read the run history under {}: {e}", config.out);
        Vec::new()
    });
    let explanations: Vec<Explanation> = selected
        .into_iter()
        .map(|job| explain_one(config, job, last_run(&runs, &job.id).as_ref()))
        .collect();
    let text = if config.json {
        serde_json::to_string_pretty(&explanations).map_err(Error::Json)? + "\n"
    } else {
        explanations.iter().map(render).collect()
    };
    ui::stdout(&text);
    Ok(Exit::Success)
}

fn explain_one(config: &ExplainConfig, job: &PlannedJob, last: Option<&LastRun>) -> Explanation {
    let path = config.out.join(&job.id).join("job.json");
    match fs_err::read(&path) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            explain::explain_record(job, None, last)
        }
        Err(e) => explain::unreadable(job, e.to_string(), last),
        Ok(bytes) => match parse_job_json(&bytes) {
            Ok(previous) => explain::explain_record(job, Some(&previous), last),
            Err(e) if e.is_data() => {
                explain::unreadable(job, format!("{path} is not a job record: {e}"), last)
            }
            Err(e) => explain::unreadable(job, format!("{path} is not JSON: {e}"), last),
        },
    }
}

/// The first line when the last run went wrong: that outcome first, then what the job
/// folder holds (docs/output.md §4.1).
fn went_wrong_head(e: &Explanation, last: &LastRun) -> String {
    let what = match last.status {
        JobStatus::Interrupted => "interrupted",
        JobStatus::NotStarted => "not started",
        _ => "failed",
    };
    let why = last
        .error
        .as_deref()
        .map(|error| format!(": {error}"))
        .unwrap_or_default();
    let status = if e.status == "fresh" {
        "fresh"
    } else {
        "to run"
    };
    let folder = match (e.kept_success, e.status) {
        (true, "fresh") => "; the success before it is kept, with the same fingerprint",
        (true, _) => "; the success before it is kept, and changed since",
        (false, _) if e.reason == "failed-last-time" && last.status == JobStatus::Failed => "",
        (false, _) => "; no result kept",
    };
    format!(
        "{status}: {what} last time (run {}{why}){folder}",
        last.run_id
    )
}

fn render(e: &Explanation) -> String {
    let wrong = e.last_run.as_ref().filter(|l| l.went_wrong());
    let head = match (wrong, e.reason) {
        (_, "unreadable") => format!(
            "to run: its job.json cannot be read ({})",
            e.detail.as_deref().unwrap_or("")
        ),
        (Some(last), _) => went_wrong_head(e, last),
        (None, reason) => record_head(e, reason),
    };
    let mut out = format!("{}  {head}\n", e.job);
    for change in &e.changes {
        out.push_str(&format!("    {}\n", explain::describe(change)));
    }
    out
}

/// The first line when the last run succeeded, or no run history names the job.
fn record_head(e: &Explanation, reason: &str) -> String {
    match reason {
        "fresh" => "fresh: succeeded last time with the same fingerprint".to_owned(),
        "never-ran" => "to run: never ran (no job.json)".to_owned(),
        "failed-last-time" => match &e.detail {
            Some(error) => format!("to run: failed last time ({error})"),
            None => "to run: failed last time".to_owned(),
        },
        _ => "to run: changed since it last succeeded".to_owned(),
    }
}

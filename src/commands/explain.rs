//! `runner explain`: manifest → plan → each selected job compared with its last `job.json`
//! under `--out`. No network; prints text or JSON on stdout.

use crate::config::ExplainConfig;
use crate::error::{Error, Exit};
use crate::output::explain::{self, Explanation};
use crate::output::records::parse_job_json;
use crate::plan::PlannedJob;
use crate::ui;

use super::plan::make_plan;

pub(super) async fn explain(config: &ExplainConfig) -> Result<Exit, Error> {
    let (plan, _state) = make_plan(&config.manifests, &config.state_dir, &config.known).await?;
    let selected = config.only.select(&plan);
    if selected.is_empty() {
        return Err(Error::NoJobMatches(config.only.patterns().to_vec()));
    }
    let explanations: Vec<Explanation> = selected
        .into_iter()
        .map(|job| explain_one(config, job))
        .collect();
    let text = if config.json {
        serde_json::to_string_pretty(&explanations).map_err(Error::Json)? + "\n"
    } else {
        explanations.iter().map(render).collect()
    };
    ui::stdout(&text);
    Ok(Exit::Success)
}

fn explain_one(config: &ExplainConfig, job: &PlannedJob) -> Explanation {
    let path = config.out.join(&job.id).join("job.json");
    match fs_err::read(&path) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => explain::explain_record(job, None),
        Err(e) => explain::unreadable(job, e.to_string()),
        Ok(bytes) => match parse_job_json(&bytes) {
            Ok(previous) => explain::explain_record(job, Some(&previous)),
            Err(e) if e.is_data() => {
                explain::unreadable(job, format!("{path} is not a job record: {e}"))
            }
            Err(e) => explain::unreadable(job, format!("{path} is not JSON: {e}")),
        },
    }
}

fn render(e: &Explanation) -> String {
    let head = match e.reason {
        "fresh" => "fresh: succeeded last time with the same fingerprint".to_owned(),
        "never-ran" => "to run: never ran (no job.json)".to_owned(),
        "failed-last-time" => match &e.detail {
            Some(error) => format!("to run: failed last time ({error})"),
            None => "to run: failed last time".to_owned(),
        },
        "unreadable" => format!(
            "to run: its job.json cannot be read ({})",
            e.detail.as_deref().unwrap_or("")
        ),
        _ => "to run: changed since it last succeeded".to_owned(),
    };
    let mut out = format!("{}  {head}\n", e.job);
    for change in &e.changes {
        out.push_str(&format!("    {}\n", explain::describe(change)));
    }
    out
}

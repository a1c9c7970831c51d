//! `runner diff`: two runs of the history under `OUT/runs/` compared job by job, as text or
//! as JSON (docs/output.md §12.1); exit 0 when nothing changed, 1 when something did.

use crate::config::DiffConfig;
use crate::error::{Error, Exit};
use crate::output::diff::{self, locate, select};
use crate::output::history;
use crate::ui;

pub(super) fn diff(config: &DiffConfig) -> Result<Exit, Error> {
    let out = &config.out;
    let runs = history::list_records(out).map_err(|source| Error::History {
        path: out.join(history::RUNS),
        source,
    })?;
    let candidates: Vec<select::Candidate> = runs
        .iter()
        .map(|(run, _)| select::Candidate {
            run_id: run.run_id.clone(),
            did_work: locate::did_work(run),
        })
        .collect();
    let (from, to) = select::pick(&candidates, config.from.as_deref(), config.to.as_deref())
        .map_err(|why| Error::DiffRuns {
            out: out.clone(),
            why,
        })?;
    let compared = diff::compare(
        &locate::view(out, &runs, from),
        &locate::view(out, &runs, to),
    );
    let text = if config.json {
        serde_json::to_string_pretty(&compared).map_err(Error::Json)? + "\n"
    } else {
        diff::render_text(&compared)
    };
    ui::stdout(&text);
    Ok(if compared.changed {
        Exit::Changed
    } else {
        Exit::Success
    })
}

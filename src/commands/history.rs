//! `runner history`: the recorded runs under `OUT/runs/`, newest first, as one line each
//! (run id, start, duration, counts, exit code) or as a JSON array.

use crate::cli::HistoryArgs;
use crate::error::{Error, Exit};
use crate::output::history;
use crate::output::outcome::RunSummary;
use crate::ui;

pub(super) fn history(args: &HistoryArgs) -> Result<Exit, Error> {
    let runs = history::list(&args.out).map_err(|source| Error::History {
        path: args.out.join(history::RUNS),
        source,
    })?;
    let text = if args.json {
        serde_json::to_string_pretty(&runs).map_err(Error::Json)? + "\n"
    } else if runs.is_empty() {
        ui::note(&format!(
            "no run recorded in {}",
            args.out.join(history::RUNS)
        ));
        String::new()
    } else {
        runs.iter().map(|r| line(r) + "\n").collect()
    };
    ui::stdout(&text);
    Ok(Exit::Success)
}

/// `20261130T020000Z-3f9c  2026-11-30 02:00:00Z  12.3s  8 jobs: 7 succeeded, 1 failed, …  exit 1`
fn line(run: &RunSummary) -> String {
    let c = &run.counts;
    let duration = run
        .finished_at
        .duration_since(run.started_at)
        .unsigned_abs();
    let mut counts = format!(
        "{}: {} succeeded, {} failed, {} fresh",
        crate::units::count(c.total, "job"),
        c.succeeded,
        c.failed,
        c.fresh
    );
    if c.interrupted > 0 {
        counts.push_str(&format!(", {} interrupted", c.interrupted));
    }
    if c.not_started > 0 {
        counts.push_str(&format!(", {} not started", c.not_started));
    }
    let error = run
        .error
        .as_ref()
        .map(|e| format!("  ({})", e.message))
        .unwrap_or_default();
    format!(
        "{}  {}  {:>8}  {counts}  exit {}{error}",
        run.run_id,
        run.started_at.strftime("%Y-%m-%d %H:%M:%SZ"),
        crate::units::seconds(duration),
        run.exit_code
    )
}

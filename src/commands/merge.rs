//! `runner merge`, and the merge at the end of a shard's run (docs/output.md §6.5): the
//! shards' records of one night become its `run.json`, its one history entry, its JUnit
//! file and its morning page, with the night's exit code. Merging again (a retried shard
//! replaced its record) rewrites the same history entry.

use camino::Utf8Path;

use super::output_lock;
use crate::config::MergeConfig;
use crate::error::{Error, Exit};
use crate::output::merge::{self, Night};
use crate::output::outcome::RunSummary;
use crate::output::{history, junit};
use crate::ui::{self, Display};

/// `runner merge`: the night as it is now, missing shards and all; exit with its code.
pub(super) fn merge(config: &MergeConfig, display: &Display) -> Result<Exit, Error> {
    let out = &config.out;
    let _lock = output_lock::merge_lock(out, true)?;
    let night = pick(out, config.night.as_deref())?;
    let summary = write_night(out, &night, config.junit.as_deref())?;
    if config.json
        && let Ok(text) = serde_json::to_string_pretty(&summary)
    {
        ui::stdout(&format!("{text}\n"));
    }
    if let Some(error) = &summary.error {
        ui::note(&format!("error: {}", error.message));
    }
    if !display.quiet {
        ui::note(&closing_line(out, &night, &summary));
    }
    Ok(exit_of(summary.exit_code))
}

/// After a shard has written its record: when every shard of its night has one, the
/// night's record is written. Never changes the shard's exit code: a merge that fails is
/// a warning (`runner merge` makes it again).
pub(super) fn after_shard(out: &Utf8Path, night: &str, junit: Option<&Utf8Path>) {
    let merged = output_lock::merge_lock(out, false).and_then(|_lock| {
        let night = pick(out, Some(night))?;
        if !night.missing.is_empty() {
            tracing::info!(
                "night `{}`: {}; the last shard to finish merges it",
                night.id,
                merge::missing_list(&night.night_missing())
            );
            return Ok(None);
        }
        Ok(Some((write_night(out, &night, junit)?, night)))
    });
    match merged {
        Ok(Some((summary, night))) => tracing::info!("{}", closing_line(out, &night, &summary)),
        Ok(None) => {}
        Err(e) => tracing::warn!(
            "cannot merge the night's shards in {out}: {}; `runner merge -o {out}` tries again",
            crate::error_chain::chain(&e)
        ),
    }
}

fn pick(out: &Utf8Path, night: Option<&str>) -> Result<Night, Error> {
    let records = merge::read_records(out).map_err(|source| Error::ReadRecord {
        path: out.to_owned(),
        source,
    })?;
    merge::pick(records, night).map_err(|why| Error::Merge {
        out: out.to_owned(),
        why,
    })
}

/// The night's record as `run.json` and its history entry (the entry an earlier merge of
/// this night made, if any), its JUnit file, its pages.
fn write_night(
    out: &Utf8Path,
    night: &Night,
    junit: Option<&Utf8Path>,
) -> Result<RunSummary, Error> {
    let earlier = history::list(out).unwrap_or_default();
    let run_id = earlier
        .into_iter()
        .find(|r| r.night.night.as_deref() == Some(night.id.as_str()) && !r.night.shards.is_empty())
        .map(|r| r.run_id);
    let started_at = night.present.iter().map(|r| r.summary.started_at).min();
    let run_id = run_id.unwrap_or_else(|| history::new_run_id(started_at.unwrap_or_default()));
    let summary = merge::merge(night, run_id);
    history::write_run(out, "run.json", &summary).map_err(|source| Error::WriteRecord {
        path: out.join("run.json"),
        source,
    })?;
    if let Some(path) = junit {
        junit::write(path, &summary).map_err(|source| Error::Junit {
            path: path.to_owned(),
            source,
        })?;
    }
    super::pages::write_pages(out);
    Ok(summary)
}

/// `night `ID`: 12 jobs from 3 of 3 shards: …; cost $…; exit 1; summary in OUT/run.json`.
fn closing_line(out: &Utf8Path, night: &Night, summary: &RunSummary) -> String {
    let c = &summary.counts;
    format!(
        "night `{}`: {} from {} of {} shards: {} succeeded, {} failed, {} fresh, {} interrupted, \
         {} not started; cost {}; exit {}; summary in {}",
        night.id,
        crate::units::count(c.total, "job"),
        night.present.len(),
        night.n,
        c.succeeded,
        c.failed,
        c.fresh,
        c.interrupted,
        c.not_started,
        crate::units::usd(summary.cost.usd),
        summary.exit_code,
        out.join("run.json")
    )
}

fn exit_of(code: u8) -> Exit {
    match code {
        0 => Exit::Success,
        1 => Exit::JobsFailed,
        130 => Exit::Interrupted,
        _ => Exit::Setup,
    }
}

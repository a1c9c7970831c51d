//! The one line a notification says of what changed (docs/unattended.md "Notifications"):
//! run `run_id` against the newest earlier run that did work, as `runner diff` compares them.

use camino::Utf8Path;

use super::{Change, compare, locate};
use crate::output::history;

/// At most this many job ids are named; the rest are counted.
const NAMED: usize = 5;

/// "since run R: 3 jobs changed (a, b, c), 1 added"; `None` without an earlier run that
/// did work, or when the history cannot be read.
pub(crate) fn since_previous(out: &Utf8Path, run_id: &str) -> Option<String> {
    let runs = history::list_records(out).ok()?;
    let at = runs.iter().position(|(run, _)| run.run_id == run_id)?;
    let before = (at + 1..runs.len()).find(|&i| locate::did_work(&runs[i].0))?;
    let diff = compare(
        &locate::view(out, &runs, before),
        &locate::view(out, &runs, at),
    );
    let since = &runs[before].0.run_id;
    if !diff.changed {
        return Some(format!("since run {since}: no job changed"));
    }
    let changed: Vec<&str> = diff
        .jobs
        .iter()
        .filter(|j| j.change == Change::Changed)
        .map(|j| j.id.as_str())
        .collect();
    let mut line = format!(
        "since run {since}: {} changed",
        crate::units::count(changed.len(), "job")
    );
    if !changed.is_empty() {
        let more = changed.len().saturating_sub(NAMED);
        let named = changed[..changed.len().min(NAMED)].join(", ");
        line.push_str(&if more > 0 {
            format!(" ({named}, and {more} more)")
        } else {
            format!(" ({named})")
        });
    }
    for (n, what) in [
        (diff.counts.added, "added"),
        (diff.counts.removed, "removed"),
    ] {
        if n > 0 {
            line.push_str(&format!(", {n} {what}"));
        }
    }
    Some(line)
}

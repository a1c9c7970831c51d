//! The morning page at the end of a run or a merged night.

use camino::Utf8Path;

/// The morning page, also when jobs failed (each job's page landed with its folder). It is
/// derived from the files just written (`runner report` makes it again), so a failure here
/// is a warning and leaves the exit code to the jobs.
pub(super) fn write_pages(out: &Utf8Path) {
    match crate::output::html::write_index(out) {
        Ok(site) => {
            for e in &site.failed {
                tracing::warn!("{}", crate::error_chain::chain(e));
            }
        }
        Err(e) => tracing::warn!("{}", crate::error_chain::chain(&e)),
    }
}

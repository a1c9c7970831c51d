//! `runner report`: the pages (`OUT/index.html`, each job's `report.html`) again, from what
//! is on disk; no network. Holds the output folder's lock like `runner run`, so it never
//! writes beside a run in progress.

use camino::Utf8Path;

use super::output_lock;
use crate::error::{Error, Exit};
use crate::output::html;
use crate::ui;

pub(super) fn report(out: &Utf8Path) -> Result<Exit, Error> {
    if !out.join("run.json").is_file() && !has_job_folders(out) {
        return Err(Error::NothingToReport(out.to_owned()));
    }
    let _lock = output_lock::lock(out, None)?;
    let site = html::write_site(out)?;
    for e in &site.failed {
        ui::note(&format!("warning: {e}"));
    }
    ui::note(&format!(
        "{} job page{} written; open {}",
        site.job_pages,
        crate::units::plural(site.job_pages),
        site.index
    ));
    Ok(if site.failed.is_empty() {
        Exit::Success
    } else {
        Exit::JobsFailed
    })
}

fn has_job_folders(out: &Utf8Path) -> bool {
    let Ok(stems) = fs_err::read_dir(out) else {
        return false;
    };
    stems.filter_map(Result::ok).any(|stem| {
        fs_err::read_dir(stem.path())
            .map(|jobs| {
                jobs.filter_map(Result::ok)
                    .any(|job| job.path().join("job.json").is_file())
            })
            .unwrap_or(false)
    })
}

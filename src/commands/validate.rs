//! `runner validate`: manifests and inputs, no hashing, no network.

use std::collections::BTreeSet;

use camino::Utf8PathBuf;

use crate::error::{Error, Exit};
use crate::ui::{self, Display};
use crate::{manifest, units};

pub fn validate(
    manifests: &[Utf8PathBuf],
    known: &manifest::Known,
    display: &Display,
) -> Result<Exit, Error> {
    let jobs = manifest::load(manifests, known)?;
    let inputs: BTreeSet<_> = jobs
        .iter()
        .flat_map(|j| j.inputs.iter().map(|f| &f.abs))
        .collect();
    if !display.quiet {
        ui::note(&format!(
            "ok: {}, {}, {}",
            units::count(manifests.len(), "manifest"),
            units::count(jobs.len(), "job"),
            units::count(inputs.len(), "input file"),
        ));
    }
    Ok(Exit::Success)
}

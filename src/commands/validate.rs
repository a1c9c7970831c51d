//! `runner validate`: manifests and inputs, and the jobs' models against the cached model
//! catalogue; no hashing, no network, nothing written.

use std::collections::BTreeSet;

use crate::config::ValidateConfig;
use crate::error::{Error, Exit};
use crate::plan::models::ModelUse;
use crate::store::StateDir;
use crate::ui::{self, Display};
use crate::{manifest, units};

use super::model_check;

pub(super) fn validate(config: &ValidateConfig, display: &Display) -> Result<Exit, Error> {
    let (jobs, empty) = manifest::load(&config.manifests, &config.known)?;
    // Not an error: the files may be there by the time the run starts.
    for e in &empty {
        let what = if e.allow_empty {
            "it will be skipped (allow_empty)"
        } else {
            "`runner run` fails it (kind no_inputs) unless files appear"
        };
        ui::note(&format!(
            "warning: {}: entry `{}`: {}; {what}",
            e.manifest,
            e.job,
            e.message()
        ));
    }
    if let Some(dir) = &config.state_dir {
        let uses: Vec<ModelUse<'_>> = jobs.iter().map(ModelUse::from).collect();
        model_check::offline(&StateDir::read_only(dir), &config.base_url, &uses, display)?;
    }
    let inputs: BTreeSet<_> = jobs
        .iter()
        .flat_map(|j| j.inputs.iter().map(|f| &f.abs))
        .collect();
    if !display.quiet {
        ui::note(&format!(
            "ok: {}, {}, {}",
            units::count(config.manifests.len(), "manifest"),
            units::count(jobs.len(), "job"),
            units::count(inputs.len(), "input file"),
        ));
    }
    Ok(Exit::Success)
}

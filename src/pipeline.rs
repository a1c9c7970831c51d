//! The only module that knows the order of the stages:
//! manifest → resolve (inputs) → hash → plan → upload → run → collect → write.
//! It turns the outcome into an exit code.

use std::collections::BTreeMap;

use camino::Utf8PathBuf;

use crate::cli::{PlanArgs, StateArgs};
use crate::error::{Error, exit};
use crate::hashing;
use crate::plan::{self, Plan};
use crate::resolve::{self, Job};
use crate::state::{self, StateDir};

/// Reads and checks the manifests; fails with every diagnostic of every manifest.
fn load(manifests: &[Utf8PathBuf]) -> Result<Vec<Job>, Error> {
    let (sources, result) = resolve::resolve(manifests);
    result.map_err(|diagnostics| Error::Invalid {
        diagnostics,
        sources: sources.into_iter().map(|s| (s.path, s.text)).collect(),
    })
}

/// `runner validate`: manifests and inputs, no hashing, no network.
pub fn validate(manifests: &[Utf8PathBuf]) -> Result<(Vec<Job>, u8), Error> {
    let jobs = load(manifests)?;
    Ok((jobs, exit::SUCCESS))
}

/// Resolves, hashes (with the cache in the state dir) and plans.
pub async fn make_plan(
    manifests: &[Utf8PathBuf],
    state: &StateArgs,
) -> Result<(Plan, StateDir), Error> {
    let jobs = load(manifests)?;
    let state = StateDir::open(&state::resolve(state.state_dir.as_deref())?)?;
    let paths: Vec<Utf8PathBuf> = jobs
        .iter()
        .flat_map(|j| j.inputs.iter().map(|f| f.abs.clone()))
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect();
    let hashes: BTreeMap<_, _> = hashing::hash_all(Some(&state), paths).await?;
    Ok((plan::build(&jobs, &hashes), state))
}

/// `runner plan`: the plan as text or JSON on stdout.
pub async fn plan(args: &PlanArgs) -> Result<(String, u8), Error> {
    let (plan, _state) = make_plan(&args.manifests, &args.state).await?;
    let text = if args.json {
        serde_json::to_string_pretty(&plan).map_err(|e| Error::Setup(e.to_string()))? + "\n"
    } else {
        crate::plan_text::render(&plan)
    };
    Ok((text, exit::SUCCESS))
}

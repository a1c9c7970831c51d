//! `runner plan`: manifest → hashes → plan, printed as text or JSON on stdout. No network.

use std::collections::BTreeSet;

use camino::{Utf8Path, Utf8PathBuf};

use crate::config::PlanConfig;
use crate::error::{Error, Exit};
use crate::output::outcome::{JobError, JobLine, LineHistory};
use crate::output::records::is_fresh;
use crate::plan::{self, Plan, hashing, text};
use crate::status::{ErrorKind, JobStatus};
use crate::store::StateDir;
use crate::store::upload_cache::UploadCache;
use crate::{manifest, ui};

/// Loads, hashes (with the cache in the state dir) and plans.
pub async fn make_plan(
    manifests: &[Utf8PathBuf],
    state_dir: &Utf8Path,
) -> Result<(Plan, StateDir), Error> {
    let jobs = manifest::load(manifests)?;
    let state = StateDir::open(state_dir)?;
    let paths: BTreeSet<Utf8PathBuf> = jobs
        .iter()
        .flat_map(|j| j.inputs.iter().map(|f| f.abs.clone()))
        .collect();
    let hashes = hashing::hash_all(Some(&state), paths.into_iter().collect()).await?;
    Ok((plan::build(&jobs, &hashes), state))
}

/// Like [`make_plan`] for `--keep-going`: jobs whose manifest entry (or manifest) is
/// invalid come back as failed lines (kind `invalid`, with the diagnostics); every
/// diagnostic is printed as for `validate`.
pub async fn make_plan_keep_going(
    manifests: &[Utf8PathBuf],
    state_dir: &Utf8Path,
) -> Result<(Plan, StateDir, Vec<JobLine>), Error> {
    let (jobs, rejected, invalid) = manifest::lenient::load_keep_going(manifests);
    if let Some(invalid) = &invalid {
        for d in &invalid.diagnostics {
            let source = invalid.sources.get(&d.file).map(String::as_str);
            ui::note(d.render(source).trim_end());
        }
        ui::note(&format!(
            "warning: --keep-going: {} will not run; the others will",
            crate::units::count(rejected.len(), "invalid manifest entry")
        ));
    }
    let state = StateDir::open(state_dir)?;
    let paths: BTreeSet<Utf8PathBuf> = jobs
        .iter()
        .flat_map(|j| j.inputs.iter().map(|f| f.abs.clone()))
        .collect();
    let hashes = hashing::hash_all(Some(&state), paths.into_iter().collect()).await?;
    let lines = rejected
        .iter()
        .map(|r| {
            let job = r.job.clone().unwrap_or_else(|| "*".to_owned());
            JobLine {
                manifest: r.manifest.to_string(),
                dir: format!("{}/{job}", r.stem),
                job,
                status: JobStatus::Failed,
                fingerprint: String::new(),
                error: Some(JobError {
                    kind: ErrorKind::Invalid,
                    message: r.message(),
                    request_id: None,
                }),
                reason: None,
                history: LineHistory::default(),
            }
        })
        .collect();
    Ok((plan::build(&jobs, &hashes), state, lines))
}

/// Each job is marked fresh or to-run (from its `job.json` under `--out`), and each upload
/// cached or to-upload (from the upload cache of this API base URL and key; a cached id is
/// verified only by `run`, since `plan` makes no network call).
pub async fn plan(config: &PlanConfig) -> Result<Exit, Error> {
    let (plan, state) = make_plan(&config.manifests, &config.state_dir).await?;
    let plan = match config.shard {
        Some(shard) => shard.restrict(plan),
        None => plan,
    };
    let fresh: BTreeSet<String> = plan
        .jobs
        .iter()
        .filter(|j| is_fresh(&config.out, &j.id, &j.fingerprint))
        .map(|j| j.id.clone())
        .collect();
    let cached: BTreeSet<(String, String)> = match &config.api.key {
        Some(key) => {
            let cache = UploadCache::for_api(&state, &config.api.base_url, key.fingerprint());
            let contents: Vec<_> = plan.uploads.iter().map(|u| u.content()).collect();
            cache.lookup(&contents).into_keys().collect()
        }
        None => BTreeSet::new(),
    };
    let status = text::Status { fresh, cached };
    let out = if config.json {
        let value = text::to_json(&plan, &status);
        serde_json::to_string_pretty(&value).map_err(Error::Json)? + "\n"
    } else {
        text::render(&plan, &status)
    };
    ui::stdout(&out);
    Ok(Exit::Success)
}

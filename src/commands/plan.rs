//! `runner plan`: manifest → hashes → plan, printed as text or JSON on stdout. No network:
//! the models of the jobs to run are checked against the cached catalogue. With
//! `--estimate`, they are checked with the Models API instead, then token-counted.

use std::collections::{BTreeMap, BTreeSet};

use camino::{Utf8Path, Utf8PathBuf};

use crate::api::ApiClient;
use crate::api::messages::{CacheTtl, count_tokens_body};
use crate::api::retry::{RetryPolicy, retry};
use crate::config::{Config, PlanConfig};
use crate::error::{Error, Exit};
use crate::output::outcome::{JobError, JobLine, LineHistory};
use crate::output::records::{is_fresh, last_cost};
use crate::output::{history, last_run};
use crate::plan::models::ModelUse;
use crate::plan::request::{files_api_version, request_params};
use crate::plan::text::JobCost;
use crate::plan::{self, Plan, PlannedJob, estimate, hashing, price, text};
use crate::status::{ErrorKind, JobStatus};
use crate::store::StateDir;
use crate::store::upload_cache::UploadCache;
use crate::ui::Display;
use crate::{manifest, ui};

use super::model_check;

/// Loads, hashes (with the cache in the state dir) and plans.
pub(super) async fn make_plan(
    manifests: &[Utf8PathBuf],
    state_dir: &Utf8Path,
    known: &manifest::Known,
) -> Result<(Plan, StateDir), Error> {
    let (jobs, empty) = manifest::load(manifests, known)?;
    let state = StateDir::open(state_dir)?;
    let mut plan = hash_and_build(&jobs, &state, known).await?;
    plan.empty = empty;
    Ok((plan, state))
}

/// Hashes every input of `jobs` (with the state dir's hash cache), then plans.
async fn hash_and_build(
    jobs: &[manifest::Job],
    state: &StateDir,
    known: &manifest::Known,
) -> Result<Plan, Error> {
    let paths: BTreeSet<Utf8PathBuf> = jobs
        .iter()
        .flat_map(|j| j.inputs.iter().map(|f| f.abs.clone()))
        .collect();
    let hashes = hashing::hash_all(Some(state), paths.into_iter().collect()).await?;
    Ok(plan::build(
        jobs,
        &hashes,
        known.today,
        std::time::SystemTime::now(),
    ))
}

/// Like [`make_plan`] for `--keep-going`: jobs whose manifest entry (or manifest) is
/// invalid come back as failed lines (kind `invalid`, with the diagnostics); every
/// diagnostic is printed as for `validate`.
pub(super) async fn make_plan_keep_going(
    manifests: &[Utf8PathBuf],
    state_dir: &Utf8Path,
    known: &manifest::Known,
) -> Result<(Plan, StateDir, Vec<JobLine>), Error> {
    let manifest::lenient::Lenient {
        jobs,
        empty,
        rejected,
        invalid,
    } = manifest::lenient::load_keep_going(manifests, known);
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
    let mut plan = hash_and_build(&jobs, &state, known).await?;
    plan.empty = empty;
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
                    attempts: None,
                }),
                reason: None,
                params: Default::default(),
                history: LineHistory::default(),
            }
        })
        .collect();
    Ok((plan, state, lines))
}

/// Each job is marked fresh or to-run (from its `job.json` under `--out`), and each upload
/// cached or to-upload (from the upload cache of this API base URL and key; a cached id is
/// verified only by `run`, since `plan` makes no network call).
pub(super) async fn plan(config: &PlanConfig, display: &Display) -> Result<Exit, Error> {
    let (plan, state) = make_plan(&config.manifests, &config.state_dir, &config.known).await?;
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
    let mut costs = BTreeMap::new();
    // A job folder without a cost (an interrupted job's) leaves the run history to say it.
    let runs = history::list(&config.out).unwrap_or_default();
    for job in plan.jobs.iter().filter(|j| !fresh.contains(&j.id)) {
        let last = last_cost(&config.out, &job.id).or_else(|| last_run::last_cost(&runs, &job.id));
        if let Some(usd) = last {
            costs.insert(job.id.clone(), JobCost::Last { usd });
        }
    }
    let to_run: Vec<&PlannedJob> = plan
        .jobs
        .iter()
        .filter(|j| !fresh.contains(&j.id))
        .collect();
    let uses: Vec<ModelUse<'_>> = to_run.iter().map(|j| ModelUse::from(*j)).collect();
    if !config.estimate {
        model_check::offline(&state, &config.api.base_url, &uses, display)?;
    } else if !to_run.is_empty() {
        let client = config.api.connect(Config::pacing_for_estimates())?;
        let version = files_api_version(&to_run);
        let policy = RetryPolicy::default();
        model_check::online(&client, &state, &uses, &version, &policy, display).await?;
        estimate(&client, &plan, &fresh, &mut costs).await?;
    }
    let status = text::Status {
        fresh,
        cached,
        costs,
    };
    let out = if config.json {
        let value = text::to_json(&plan, &status);
        serde_json::to_string_pretty(&value).map_err(Error::Json)? + "\n"
    } else {
        text::render(&plan, &status)
    };
    ui::stdout(&out);
    Ok(Exit::Success)
}

/// `--estimate`: asks the token-counting endpoint about the first request of each job to
/// run that has no earlier cost, and models its whole conversation from that.
async fn estimate(
    client: &ApiClient,
    plan: &Plan,
    fresh: &BTreeSet<String>,
    costs: &mut BTreeMap<String, JobCost>,
) -> Result<(), Error> {
    let jobs: Vec<_> = plan
        .jobs
        .iter()
        .filter(|j| !fresh.contains(&j.id) && !costs.contains_key(&j.id))
        .collect();
    if jobs.is_empty() {
        return Ok(());
    }
    let policy = RetryPolicy::default();
    for job in jobs {
        let first = job.turns.first().map_or("", String::as_str);
        let note = crate::plan::request::first_turn_note(job);
        let body = count_tokens_body(&request_params(job), &note, first);
        let version = job.settings.api_version.as_str();
        let counted = retry(&policy, |attempt| {
            client.count_tokens(version, &body, attempt)
        })
        .await;
        // An estimate is a courtesy: a job the endpoint cannot count is shown without one,
        // and the plan goes on (docs/api.md §3.12).
        let tokens = match counted {
            Ok(tokens) => tokens,
            Err(gave_up) => {
                ui::note(&format!(
                    "warning: cannot estimate the cost of {}: {gave_up}",
                    job.id
                ));
                costs.insert(
                    job.id.clone(),
                    JobCost::Uncounted {
                        reason: gave_up.to_string(),
                    },
                );
                continue;
            }
        };
        // The first request writes the cache when caching is on.
        let rate = match job.cache {
            CacheTtl::Off => job.rates.input,
            CacheTtl::FiveMinutes => job.rates.cache_write_5m,
            CacheTtl::OneHour => job.rates.cache_write_1h,
        };
        #[expect(
            clippy::cast_precision_loss,
            reason = "token counts are far below 2^53"
        )]
        let first_request_usd = tokens as f64 * rate / 1e6;
        let conversation = estimate::conversation(job, tokens);
        costs.insert(
            job.id.clone(),
            JobCost::Estimate {
                input_tokens: tokens,
                first_request_usd,
                conversation_usd: conversation.usd,
                turns: conversation.turns,
                model_calls: conversation.model_calls,
                worst_case_usd: price::worst_case(
                    &price::Bound {
                        input_tokens: tokens,
                        max_tokens: job.settings.max_tokens,
                        model_calls: price::DEFAULT_MODEL_CALLS,
                    },
                    &job.price,
                    job.cache,
                ),
            },
        );
    }
    Ok(())
}

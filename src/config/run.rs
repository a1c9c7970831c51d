//! `runner run`'s options: the engine's settings, and the flags with rules of their own
//! (`--batch-poll`, `--budget-usd`, `--upload-ttl`).

use std::time::Duration;

use camino::Utf8PathBuf;

use super::env::{retry_policy, state_dir};
use super::{ApiConfig, Config, Env, api, subcommands};
use crate::api::Pacing;
use crate::cli::RunArgs;
use crate::engine::{BatchSettings, OutputLimits};
use crate::error::Error;
use crate::manifest::Known;
use crate::plan::select::Only;
use crate::plan::shard::Shard;
use crate::units;

#[derive(Debug)]
pub(crate) struct RunConfig {
    pub manifests: Vec<Utf8PathBuf>,
    pub out: Utf8PathBuf,
    pub only: Only,
    pub force: bool,
    pub json: bool,
    pub state_dir: Utf8PathBuf,
    pub api: ApiConfig,
    pub engine: crate::engine::Settings,
    /// Run folders kept under `OUT/runs/`.
    pub keep_runs: usize,
    pub keep_going: bool,
    /// `--fail-on-alert`: a run with an alert exits 1.
    pub fail_on_alert: bool,
    pub junit: Option<Utf8PathBuf>,
    pub shard: Option<Shard>,
    /// `--night` / `RUNNER_NIGHT`: the night a shard's record belongs to; `None`: derived
    /// from the plan (docs/output.md §6.5).
    pub night: Option<String>,
    /// The price table and the day the jobs are checked on.
    pub known: Known,
    /// runner.toml's notification targets (none without a file).
    pub notify: crate::notify::Settings,
}

pub(super) fn run(args: RunArgs, env: &Env, known: Known) -> Result<RunConfig, Error> {
    if args.manifests.is_empty() {
        return Err(Error::NoManifests);
    }
    let upload_ttl = args.upload_ttl.as_deref().map(upload_ttl).transpose()?;
    let policy = retry_policy(args.max_attempts, env);
    let batch = (args.batch && !args.no_batch)
        .then(|| batch_settings(&args))
        .transpose()?;
    Ok(RunConfig {
        known,
        notify: crate::notify::Settings::default(),
        shard: subcommands::shard(&args.shard, env)?,
        night: subcommands::night(args.night.clone(), env)?,
        state_dir: state_dir(&args.state, env)?,
        only: Only::new(&args.only)?,
        manifests: args.manifests,
        out: args.out,
        force: args.force,
        json: args.json,
        api: api(env)?,
        keep_runs: args.keep_runs as usize,
        keep_going: args.keep_going,
        fail_on_alert: args.fail_on_alert,
        junit: args.junit,
        engine: crate::engine::Settings {
            jobs: usize::from(args.jobs),
            uploads: usize::from(args.uploads),
            upload_ttl,
            limits: OutputLimits {
                max_file_bytes: args.max_file_size,
                max_job_bytes: args.max_job_output,
                max_files: args.max_files,
            },
            policy,
            max_fail: args.max_fail.map(|n| n as usize),
            budget_usd: args.budget_usd.as_deref().map(budget_usd).transpose()?,
            budget_model_calls: args.budget_model_calls,
            batch,
        },
    })
}

/// `--batch`'s options.
fn batch_settings(args: &RunArgs) -> Result<BatchSettings, Error> {
    let (poll_first, poll_max) = batch_poll(&args.batch_poll).map_err(|reason| Error::Option {
        option: "--batch-poll",
        value: args.batch_poll.clone(),
        reason,
    })?;
    Ok(BatchSettings {
        cancel_on_interrupt: args.cancel_on_interrupt,
        deadline: args.batch_deadline,
        poll_first,
        poll_max,
    })
}

/// `FIRST[..MAX]`: `30s`, `10s..2m`. Without MAX, polls back off to 5 minutes (or FIRST if
/// longer).
fn batch_poll(text: &str) -> Result<(Duration, Duration), String> {
    let expected = "expected FIRST[..MAX], e.g. `5s..5m` or `30s`";
    let parse = |t: &str| units::parse_duration(t).map_err(|_| expected.to_owned());
    let (first, max) = match text.split_once("..") {
        Some((first, max)) => (parse(first)?, Some(parse(max)?)),
        None => (parse(text)?, None),
    };
    if first.is_zero() {
        return Err("the first wait must be longer than zero".to_owned());
    }
    let max = max.unwrap_or(Duration::from_secs(300).max(first));
    if max < first {
        return Err("MAX is shorter than FIRST".to_owned());
    }
    Ok((first, max))
}

/// `--budget-usd`: a finite amount of dollars above zero.
fn budget_usd(text: &str) -> Result<f64, Error> {
    text.trim()
        .trim_start_matches('$')
        .parse::<f64>()
        .ok()
        .filter(|x| x.is_finite() && *x > 0.0)
        .ok_or_else(|| Error::Option {
            option: "--budget-usd",
            value: text.to_owned(),
            reason: "expected an amount of US dollars above 0, e.g. `25` or `2.50`".to_owned(),
        })
}

/// `--upload-ttl`: within what the Files API accepts, 1 hour to 90 days (docs/api.md
/// §2.3), in seconds.
pub(super) fn upload_ttl(text: &str) -> Result<u64, Error> {
    let bad = || Error::Option {
        option: "--upload-ttl",
        value: text.to_owned(),
        reason: "expected a duration from 1h to 90d, e.g. `12h` or `7d`".to_owned(),
    };
    let ttl = units::parse_duration(text).map_err(|_| bad())?;
    if !(3600..=7_776_000).contains(&ttl.as_secs()) || ttl.subsec_nanos() != 0 {
        return Err(bad());
    }
    Ok(ttl.as_secs())
}

impl Config {
    /// The pacing of a run's client: `-j` conversations, and the uploads plus the
    /// downloads and metadata calls of running jobs.
    pub(crate) fn pacing(settings: &crate::engine::Settings) -> Pacing {
        Pacing {
            messages: settings.jobs,
            files: settings.uploads + settings.jobs,
            scale: settings.policy.scale,
        }
    }

    /// The pacing of `plan --estimate`: one token count at a time.
    pub(crate) fn pacing_for_estimates() -> Pacing {
        Pacing {
            messages: 1,
            files: 1,
            scale: 1.0,
        }
    }
}

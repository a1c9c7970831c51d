//! The options of `diff`, `explain`, `files`, `skills`, `models` and `batches`, and `--shard K/N` with its
//! environment variables, validated once like every other option.

use std::time::Duration;

use camino::Utf8PathBuf;

use super::env::retry_policy;
use super::{ApiConfig, Env, api, state_dir};
use crate::api::Pacing;
use crate::api::facts::API_VERSIONS;
use crate::api::retry::RetryPolicy;
use crate::cli::{
    BatchesArgs, DiffArgs, ExplainArgs, FilesApiArgs, FilesCommand, ModelsArgs, ShardArgs,
    SkillsCommand,
};
use crate::error::Error;
use crate::plan::select::Only;
use crate::plan::shard::Shard;
use crate::units;

/// `runner diff`: which runs of `out`'s history to compare, and how to print it.
#[derive(Debug)]
pub(crate) struct DiffConfig {
    pub out: Utf8PathBuf,
    /// RUN_A: a run id or a unique beginning of one; `None`: the default pair.
    pub from: Option<String>,
    /// RUN_B; `None` with `from`: the newest run.
    pub to: Option<String>,
    pub json: bool,
}

pub(super) fn diff(args: DiffArgs) -> DiffConfig {
    DiffConfig {
        out: args.out,
        from: args.run_a,
        to: args.run_b,
        json: args.json,
    }
}

#[derive(Debug)]
pub(crate) struct ExplainConfig {
    pub manifests: Vec<Utf8PathBuf>,
    pub out: Utf8PathBuf,
    pub only: Only,
    pub json: bool,
    pub state_dir: Utf8PathBuf,
    pub known: crate::manifest::Known,
}

#[derive(Debug)]
pub(crate) struct FilesConfig {
    pub api: ApiConfig,
    /// `anthropic-version` of every Files request.
    pub api_version: String,
    pub policy: RetryPolicy,
    pub state_dir: Utf8PathBuf,
    pub action: FilesAction,
}

#[derive(Debug)]
pub(crate) enum FilesAction {
    List { out: Vec<Utf8PathBuf>, json: bool },
    Prune(PruneConfig),
    Rm { ids: Vec<String> },
}

/// `runner files prune`'s options.
#[derive(Debug)]
pub(crate) struct PruneConfig {
    pub out: Vec<Utf8PathBuf>,
    pub older_than: Option<Duration>,
    pub dry_run: bool,
    /// `--generated`: also the generated files the trees' `job.json` files name.
    pub generated: bool,
}

impl FilesConfig {
    /// Files calls only, a few at a time: the Files API's rate limit is shared by the
    /// whole organisation (docs/api.md §2.8).
    pub(crate) fn pacing(&self) -> Pacing {
        Pacing {
            messages: 1,
            files: 4,
            scale: self.policy.scale,
        }
    }
}

#[derive(Debug)]
pub(crate) struct SkillsConfig {
    pub api: ApiConfig,
    /// `anthropic-version` of every Skills request (docs/api.md §14.2).
    pub api_version: String,
    pub policy: RetryPolicy,
    pub state_dir: Utf8PathBuf,
    pub action: SkillsAction,
}

#[derive(Debug)]
pub(crate) enum SkillsAction {
    List {
        out: Vec<Utf8PathBuf>,
        json: bool,
    },
    Prune {
        out: Vec<Utf8PathBuf>,
        dry_run: bool,
    },
}

impl SkillsConfig {
    /// Skills calls only, a few at a time, through the Files gate like every non-Messages
    /// call.
    pub(crate) fn pacing(&self) -> Pacing {
        Pacing {
            messages: 1,
            files: 4,
            scale: self.policy.scale,
        }
    }
}

pub(super) fn skills(command: SkillsCommand, env: &Env) -> Result<SkillsConfig, Error> {
    let (action, common) = match command {
        SkillsCommand::List { out, json, api } => (SkillsAction::List { out, json }, api),
        SkillsCommand::Prune { out, dry_run, api } => (SkillsAction::Prune { out, dry_run }, api),
    };
    let FilesApiArgs {
        api_version,
        max_attempts,
        state,
    } = common;
    Ok(SkillsConfig {
        api: api(env)?,
        api_version: known_version(api_version)?,
        policy: retry_policy(max_attempts, env),
        state_dir: state_dir(&state, env)?,
        action,
    })
}

#[derive(Debug)]
pub(crate) struct ModelsConfig {
    pub api: ApiConfig,
    /// `anthropic-version` of every Models request.
    pub api_version: String,
    pub policy: RetryPolicy,
    /// Where the listing is saved as the model cache.
    pub state_dir: Utf8PathBuf,
    pub json: bool,
    /// `--all`: retired models too.
    pub all: bool,
    /// The price table each model is priced from, and the day.
    pub known: crate::manifest::Known,
}

impl ModelsConfig {
    /// A few pages, one at a time, through the Files gate like every non-Messages call.
    pub(crate) fn pacing(&self) -> Pacing {
        Pacing {
            messages: 1,
            files: 1,
            scale: self.policy.scale,
        }
    }
}

pub(super) fn models(
    args: ModelsArgs,
    env: &Env,
    known: crate::manifest::Known,
) -> Result<ModelsConfig, Error> {
    Ok(ModelsConfig {
        known,
        api: api(env)?,
        api_version: known_version(args.api_version)?,
        policy: retry_policy(args.max_attempts, env),
        state_dir: state_dir(&args.state, env)?,
        json: args.json,
        all: args.all,
    })
}

/// `--api-version`: one the runner speaks.
fn known_version(version: String) -> Result<String, Error> {
    if API_VERSIONS.contains(&version.as_str()) {
        return Ok(version);
    }
    Err(Error::Option {
        option: "--api-version",
        value: version,
        reason: format!("expected one of {}", API_VERSIONS.join(", ")),
    })
}

#[derive(Debug)]
pub(crate) struct BatchesConfig {
    pub out: Utf8PathBuf,
    pub json: bool,
    pub all: bool,
    /// `None` with `--offline`: no API call, and no key needed (nor read).
    pub api: Option<ApiConfig>,
    pub policy: RetryPolicy,
}

impl BatchesConfig {
    /// A few batch retrievals at once, through the Messages gate like a run's polls.
    pub(crate) fn pacing(&self) -> Pacing {
        Pacing {
            messages: 4,
            files: 1,
            scale: self.policy.scale,
        }
    }
}

pub(super) fn batches(args: BatchesArgs, env: &Env) -> Result<BatchesConfig, Error> {
    Ok(BatchesConfig {
        api: (!args.offline).then(|| api(env)).transpose()?,
        policy: retry_policy(args.max_attempts, env),
        out: args.out,
        json: args.json,
        all: args.all,
    })
}

pub(super) fn explain(
    args: ExplainArgs,
    env: &Env,
    known: crate::manifest::Known,
) -> Result<ExplainConfig, Error> {
    Ok(ExplainConfig {
        known,
        state_dir: state_dir(&args.state, env)?,
        only: Only::new(&args.only)?,
        manifests: args.manifests,
        out: args.out,
        json: args.json,
    })
}

pub(super) fn files(command: FilesCommand, env: &Env) -> Result<FilesConfig, Error> {
    let (action, common) = match command {
        FilesCommand::List { out, json, api } => (FilesAction::List { out, json }, api),
        FilesCommand::Prune {
            out,
            older_than,
            dry_run,
            generated,
            api,
        } => {
            let older_than = older_than
                .map(|text| {
                    units::parse_duration(&text).map_err(|_| Error::Option {
                        option: "--older-than",
                        value: text.clone(),
                        reason: "expected a duration, e.g. `12h` or `7d`".to_owned(),
                    })
                })
                .transpose()?;
            let action = FilesAction::Prune(PruneConfig {
                out,
                older_than,
                dry_run,
                generated,
            });
            (action, api)
        }
        FilesCommand::Rm { ids, api } => (FilesAction::Rm { ids }, api),
    };
    let FilesApiArgs {
        api_version,
        max_attempts,
        state,
    } = common;
    Ok(FilesConfig {
        api: api(env)?,
        api_version: known_version(api_version)?,
        policy: retry_policy(max_attempts, env),
        state_dir: state_dir(&state, env)?,
        action,
    })
}

/// `--shard K/N`, else `RUNNER_SHARD=K/N`, else `JOB_COMPLETION_INDEX` (0-based, as a
/// Kubernetes Indexed Job sets it) with `RUNNER_SHARD_COUNT`; else no sharding.
pub(super) fn shard(args: &ShardArgs, env: &Env) -> Result<Option<Shard>, Error> {
    let bad = |option: &'static str, value: &str, reason: &str| Error::Option {
        option,
        value: value.to_owned(),
        reason: reason.to_owned(),
    };
    const K_OF_N: &str = "expected K/N with 1 ≤ K ≤ N, e.g. `2/3`";
    if let Some(text) = &args.shard {
        return Shard::parse(text)
            .map(Some)
            .ok_or_else(|| bad("--shard", text, K_OF_N));
    }
    if let Some(text) = env.var("RUNNER_SHARD") {
        return Shard::parse(text)
            .map(Some)
            .ok_or_else(|| bad("RUNNER_SHARD", text, K_OF_N));
    }
    match (
        env.var("JOB_COMPLETION_INDEX"),
        env.var("RUNNER_SHARD_COUNT"),
    ) {
        (None, None) => Ok(None),
        (Some(index), None) => Err(bad(
            "JOB_COMPLETION_INDEX",
            index,
            "is set but RUNNER_SHARD_COUNT is not; set it to the Job's `completions`",
        )),
        (None, Some(count)) => Err(bad(
            "RUNNER_SHARD_COUNT",
            count,
            "is set but JOB_COMPLETION_INDEX is not; set it to the 0-based shard index",
        )),
        (Some(index), Some(count)) => {
            let n: u64 = count
                .trim()
                .parse()
                .map_err(|_| bad("RUNNER_SHARD_COUNT", count, "expected a whole number ≥ 1"))?;
            let k = index
                .trim()
                .parse::<u64>()
                .ok()
                .and_then(|i| i.checked_add(1))
                .and_then(|k| Shard::new(k, n));
            k.map(Some).ok_or_else(|| {
                bad(
                    "JOB_COMPLETION_INDEX",
                    index,
                    &format!("expected a 0-based index below RUNNER_SHARD_COUNT ({count})"),
                )
            })
        }
    }
}

/// `--night ID`, else `RUNNER_NIGHT`: a night id, at most 128 characters, no control
/// character; `None` when neither is set.
pub(super) fn night(flag: Option<String>, env: &Env) -> Result<Option<String>, Error> {
    let (option, text) = match (flag, env.var("RUNNER_NIGHT")) {
        (Some(text), _) => ("--night", text),
        (None, Some(text)) => ("RUNNER_NIGHT", text.to_owned()),
        (None, None) => return Ok(None),
    };
    let trimmed = text.trim();
    if trimmed.is_empty() || trimmed.chars().count() > 128 || trimmed.chars().any(char::is_control)
    {
        return Err(Error::Option {
            option,
            value: text.clone(),
            reason: "expected an id of 1 to 128 characters without control characters, \
                     the same for every shard of the night"
                .to_owned(),
        });
    }
    Ok(Some(trimmed.to_owned()))
}

/// `runner merge`: which night of which output tree, and where its JUnit goes.
#[derive(Debug)]
pub(crate) struct MergeConfig {
    pub out: Utf8PathBuf,
    pub night: Option<String>,
    pub junit: Option<Utf8PathBuf>,
    pub json: bool,
}

pub(super) fn merge(args: crate::cli::MergeArgs, env: &Env) -> Result<MergeConfig, Error> {
    Ok(MergeConfig {
        night: night(args.night, env)?,
        out: args.out,
        junit: args.junit,
        json: args.json,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shard_from(flag: Option<&str>, vars: &[(&str, &str)]) -> Result<Option<Shard>, Error> {
        let args = ShardArgs {
            shard: flag.map(str::to_owned),
        };
        shard(&args, &Env::default().with(vars))
    }

    #[test]
    fn shard_comes_from_the_flag_then_the_environment() {
        let k_n = |r: Result<Option<Shard>, Error>| r.unwrap().map(|s| (s.k(), s.n()));
        assert_eq!(k_n(shard_from(None, &[])), None);
        assert_eq!(
            k_n(shard_from(Some("1/2"), &[("RUNNER_SHARD", "2/2")])),
            Some((1, 2))
        );
        assert_eq!(
            k_n(shard_from(None, &[("RUNNER_SHARD", "2/2")])),
            Some((2, 2))
        );
        let indexed = [("JOB_COMPLETION_INDEX", "0"), ("RUNNER_SHARD_COUNT", "3")];
        assert_eq!(k_n(shard_from(None, &indexed)), Some((1, 3)));
    }

    #[test]
    fn bad_shards_are_refused_before_any_work() {
        let e = shard_from(Some("4/3"), &[]).unwrap_err();
        assert_eq!(
            e.to_string(),
            "--shard `4/3`: expected K/N with 1 ≤ K ≤ N, e.g. `2/3`"
        );
        let past_the_end = [("JOB_COMPLETION_INDEX", "3"), ("RUNNER_SHARD_COUNT", "3")];
        assert!(shard_from(None, &past_the_end).is_err());
        assert!(shard_from(None, &[("JOB_COMPLETION_INDEX", "0")]).is_err());
    }

    #[test]
    fn night_comes_from_the_flag_then_the_environment() {
        let env = Env::default().with(&[("RUNNER_NIGHT", "ci-42")]);
        assert_eq!(night(None, &Env::default()).unwrap(), None);
        assert_eq!(night(None, &env).unwrap().as_deref(), Some("ci-42"));
        assert_eq!(night(Some("x".into()), &env).unwrap().as_deref(), Some("x"));
        let e = night(Some("a\nb".into()), &env).unwrap_err();
        assert!(
            e.to_string().starts_with("--night `a\nb`: expected an id"),
            "{e}"
        );
    }
}

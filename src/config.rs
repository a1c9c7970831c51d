//! Every option and environment variable, validated once into one [`Config`] before any
//! work (ripgrep's `HiArgs` pattern). The only module that reads the environment; a bad
//! value is reported here, before a manifest is read or an input hashed.

mod file;

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::time::Duration;

use camino::{Utf8Path, Utf8PathBuf};

use crate::api::facts::DEFAULT_BASE_URL;
use crate::api::prices::PriceTable;
use crate::api::retry::RetryPolicy;
use crate::api::{ApiClient, ApiKey, Pacing, Timeouts};
use crate::cli::{Cli, Command, HistoryArgs, LogFormat, PlanArgs, RunArgs, StateArgs};
use crate::engine::batcher::BatchSettings;
use crate::engine::downloads::OutputLimits;
use crate::error::Error;
use crate::manifest::Known;
use crate::plan::select::Only;
use crate::plan::shard::Shard;
use crate::ui::Display;
use crate::units;

mod subcommands;

pub use subcommands::{BatchesConfig, ExplainConfig, FilesAction, FilesConfig, ModelsConfig};

/// The environment the runner reads: variables, and whether stderr is a terminal.
#[derive(Clone, Debug, Default)]
pub struct Env {
    vars: BTreeMap<String, String>,
    /// Variables whose value is not UTF-8: an error when the runner reads one.
    not_utf8: BTreeMap<String, String>,
    stderr_is_terminal: bool,
}

impl Env {
    /// This process's environment.
    pub fn from_process() -> Env {
        let mut env = Env {
            stderr_is_terminal: std::io::IsTerminal::is_terminal(&std::io::stderr()),
            ..Env::default()
        };
        for (name, value) in std::env::vars_os() {
            let Ok(name) = name.into_string() else {
                continue;
            };
            match value.into_string() {
                Ok(value) => env.vars.insert(name, value),
                Err(value) => env
                    .not_utf8
                    .insert(name, value.to_string_lossy().into_owned()),
            };
        }
        env
    }

    /// This process's environment with `vars` set on top (the demo points the runner at
    /// its bundled fake API this way).
    pub fn with(mut self, vars: &[(&str, &str)]) -> Env {
        for (k, v) in vars {
            self.vars.insert((*k).to_owned(), (*v).to_owned());
        }
        self
    }

    /// A variable that is set and not blank.
    fn var(&self, name: &str) -> Option<&str> {
        self.vars
            .get(name)
            .map(String::as_str)
            .filter(|v| !v.trim().is_empty())
    }
}

/// Every environment variable the runner reads.
const READ: &[&str] = &[
    "ANTHROPIC_API_KEY",
    "ANTHROPIC_API_KEY_FILE",
    "ANTHROPIC_BASE_URL",
    "RUNNER_STATE_DIR",
    "XDG_STATE_HOME",
    "HOME",
    "NO_COLOR",
    "RUST_LOG",
    "RUNNER_TEST_DELAY_SCALE",
    "RUNNER_SHARD",
    "JOB_COMPLETION_INDEX",
    "RUNNER_SHARD_COUNT",
];

/// Where the API is and how to authenticate.
#[derive(Clone, Debug)]
pub struct ApiConfig {
    pub base_url: String,
    pub key: Option<ApiKey>,
}

impl ApiConfig {
    /// The client for a run; only a run that sends something needs the key.
    pub fn connect(&self, pacing: Pacing) -> Result<ApiClient, Error> {
        let key = self.key.clone().ok_or(Error::NoApiKey)?;
        Ok(ApiClient::new(
            &self.base_url,
            key,
            Timeouts::default(),
            pacing,
        )?)
    }
}

#[derive(Debug)]
pub struct Config {
    pub display: Display,
    /// `RUST_LOG`, which overrides `-v`/`-q` for log lines.
    pub rust_log: Option<String>,
    pub log_format: LogFormat,
    pub command: CommandConfig,
}

#[derive(Debug)]
pub enum CommandConfig {
    Validate(ValidateConfig),
    Plan(PlanConfig),
    Run(Box<RunConfig>),
    History(HistoryArgs),
    Batches(BatchesConfig),
    Explain(ExplainConfig),
    Init { dir: Utf8PathBuf },
    Files(FilesConfig),
    Models(ModelsConfig),
    Schema,
    Completions(crate::cli::Shell),
    Man,
    Report { out: Utf8PathBuf },
}

#[derive(Debug)]
pub struct ValidateConfig {
    pub manifests: Vec<Utf8PathBuf>,
    pub known: Known,
    /// Where the model cache is read from; `None` when no state dir can be found (then
    /// models are not checked: `validate` never fails for want of a state dir).
    pub state_dir: Option<Utf8PathBuf>,
    /// `ANTHROPIC_BASE_URL`: whose cached catalogue to check against.
    pub base_url: String,
}

#[derive(Debug)]
pub struct PlanConfig {
    pub manifests: Vec<Utf8PathBuf>,
    pub json: bool,
    pub out: Utf8PathBuf,
    pub state_dir: Utf8PathBuf,
    pub api: ApiConfig,
    pub shard: Option<Shard>,
    /// `--estimate`: ask the token-counting endpoint (the only network call of `plan`).
    pub estimate: bool,
    pub known: Known,
}

#[derive(Debug)]
pub struct RunConfig {
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
    pub junit: Option<Utf8PathBuf>,
    pub shard: Option<Shard>,
    /// The price table and the day the jobs are checked on.
    pub known: Known,
}

impl Config {
    /// Parses `args` (clap exits on `--help` and on usage errors) and validates them with
    /// `env`.
    pub fn parse(args: impl IntoIterator<Item = OsString>, env: &Env) -> Result<Config, Error> {
        use clap::{CommandFactory, FromArgMatches};
        let matches = Cli::command().get_matches_from(args);
        let mut cli = Cli::from_arg_matches(&matches).unwrap_or_else(|e| e.exit());
        let cwd = std::env::current_dir()
            .ok()
            .and_then(|d| Utf8PathBuf::from_path_buf(d).ok());
        // Only the commands that take something from it read it, so a broken runner.toml
        // does not stop `validate`, `plan` or `schema` (an explicit --config always is read).
        let reads_file = matches!(
            cli.command,
            Command::Run(_)
                | Command::History(_)
                | Command::Batches(_)
                | Command::Report(_)
                | Command::Explain(_)
        );
        let loaded = if reads_file || cli.config.is_some() {
            file::load(cli.config.as_deref(), cwd.as_deref())?
        } else {
            None
        };
        // The price file: the flag, else the config file's, else (for the commands that do
        // not read the config file) the `prices` key of ./runner.toml.
        if cli.prices.is_none() {
            cli.prices = match &loaded {
                Some(l) => l.prices(),
                None => file::prices_only(cwd.as_deref()),
            };
        }
        if let (Some(loaded), Some((_, sub))) = (&loaded, matches.subcommand()) {
            // The output root, for the commands that read one.
            let out = match &mut cli.command {
                Command::Run(args) => {
                    loaded.apply(args, sub)?;
                    None
                }
                Command::History(args) => Some(&mut args.out),
                Command::Batches(args) => Some(&mut args.out),
                Command::Report(args) => Some(&mut args.out),
                Command::Explain(args) => Some(&mut args.out),
                _ => None,
            };
            if let (Some(slot), Some(from_file)) = (out, loaded.out(sub)) {
                *slot = from_file;
            }
        }
        Config::new(cli, env)
    }

    pub fn new(cli: Cli, env: &Env) -> Result<Config, Error> {
        for name in READ {
            if let Some(lossy) = env.not_utf8.get(*name) {
                return Err(Error::Option {
                    option: name,
                    value: lossy.clone(),
                    reason: "is not valid UTF-8".to_owned(),
                });
            }
        }
        let terminal = env.stderr_is_terminal;
        let display = Display {
            quiet: cli.quiet,
            verbose: cli.verbose,
            // JSON log lines are for machines: no bars between them.
            bars: terminal && !cli.quiet && cli.verbose == 0 && cli.log_format == LogFormat::Text,
            // https://no-color.org: any non-empty value turns colour off.
            color: terminal && env.var("NO_COLOR").is_none(),
        };
        let known = || known(cli.prices.as_deref());
        let command = match cli.command {
            Command::Validate { manifests, state } => CommandConfig::Validate(ValidateConfig {
                manifests,
                known: known()?,
                state_dir: state_dir(&state, env).ok(),
                base_url: base_url(env),
            }),
            Command::Plan(args) => CommandConfig::Plan(plan(args, env, known()?)?),
            Command::Run(args) => CommandConfig::Run(Box::new(run(args, env, known()?)?)),
            Command::History(args) => CommandConfig::History(args),
            Command::Batches(args) => CommandConfig::Batches(subcommands::batches(args, env)?),
            Command::Explain(args) => {
                CommandConfig::Explain(subcommands::explain(args, env, known()?)?)
            }
            Command::Init { dir } => CommandConfig::Init { dir },
            Command::Files(files) => CommandConfig::Files(subcommands::files(files, env)?),
            Command::Models(args) => {
                CommandConfig::Models(subcommands::models(args, env, known()?)?)
            }
            Command::Schema => CommandConfig::Schema,
            Command::Completions { shell } => CommandConfig::Completions(shell),
            Command::Man => CommandConfig::Man,
            Command::Report(args) => CommandConfig::Report { out: args.out },
        };
        Ok(Config {
            display,
            rust_log: env.var("RUST_LOG").map(str::to_owned),
            log_format: cli.log_format,
            command,
        })
    }
}

fn api(env: &Env) -> Result<ApiConfig, Error> {
    Ok(ApiConfig {
        base_url: base_url(env),
        key: key(env)?,
    })
}

/// `ANTHROPIC_BASE_URL`, else the real API.
fn base_url(env: &Env) -> String {
    env.var("ANTHROPIC_BASE_URL")
        .unwrap_or(DEFAULT_BASE_URL)
        .to_owned()
}

/// `ANTHROPIC_API_KEY`, else the trimmed content of the file `ANTHROPIC_API_KEY_FILE`
/// names (secret mounts); both set is ambiguous, so an error. The key is never echoed.
fn key(env: &Env) -> Result<Option<ApiKey>, Error> {
    let direct = env.var("ANTHROPIC_API_KEY");
    let Some(path) = env.var("ANTHROPIC_API_KEY_FILE") else {
        return Ok(direct.map(|k| ApiKey::new(k.to_owned())));
    };
    let bad = |reason: String| Error::Option {
        option: "ANTHROPIC_API_KEY_FILE",
        value: path.to_owned(),
        reason,
    };
    if direct.is_some() {
        return Err(bad(
            "is set, and so is ANTHROPIC_API_KEY; unset one of the two".to_owned(),
        ));
    }
    let text = fs_err::read(path)
        .map_err(|e| bad(format!("cannot be read: {}", e.kind())))
        .and_then(|b| {
            String::from_utf8(b).map_err(|_| bad("does not hold UTF-8 text".to_owned()))
        })?;
    let trimmed = text.trim();
    if trimmed.is_empty() {
        return Err(bad("is empty".to_owned()));
    }
    if trimmed.contains(char::is_whitespace) {
        return Err(bad(
            "holds more than one word; it must hold only the key".to_owned()
        ));
    }
    Ok(Some(ApiKey::new(trimmed.to_owned())))
}

/// The flag, else `RUNNER_STATE_DIR`, else `$XDG_STATE_HOME/runner`, else
/// `~/.local/state/runner`.
fn state_dir(args: &StateArgs, env: &Env) -> Result<Utf8PathBuf, Error> {
    if let Some(dir) = &args.state_dir {
        return Ok(dir.clone());
    }
    if let Some(dir) = env.var("RUNNER_STATE_DIR") {
        return Ok(Utf8PathBuf::from(dir));
    }
    if let Some(xdg) = env.var("XDG_STATE_HOME") {
        return Ok(Utf8Path::new(xdg).join("runner"));
    }
    if let Some(home) = env.var("HOME") {
        return Ok(Utf8Path::new(home).join(".local/state/runner"));
    }
    Err(Error::NoStateDir)
}

/// The price table (built-in, with the user's file over it) and today's date.
fn known(prices: Option<&Utf8Path>) -> Result<Known, Error> {
    let table = match prices {
        Some(path) => PriceTable::with_file(path).map_err(Error::Prices)?,
        None => PriceTable::builtin(),
    };
    Ok(Known {
        prices: table,
        today: crate::api::prices::today(),
    })
}

fn plan(args: PlanArgs, env: &Env, known: Known) -> Result<PlanConfig, Error> {
    Ok(PlanConfig {
        known,
        state_dir: state_dir(&args.state, env)?,
        manifests: args.manifests,
        json: args.json,
        out: args.out,
        api: api(env)?,
        shard: subcommands::shard(&args.shard, env)?,
        estimate: args.estimate,
    })
}

fn run(args: RunArgs, env: &Env, known: Known) -> Result<RunConfig, Error> {
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
        shard: subcommands::shard(&args.shard, env)?,
        state_dir: state_dir(&args.state, env)?,
        only: Only::new(&args.only)?,
        manifests: args.manifests,
        out: args.out,
        force: args.force,
        json: args.json,
        api: api(env)?,
        keep_runs: args.keep_runs as usize,
        keep_going: args.keep_going,
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

fn retry_policy(max_attempts: u16, env: &Env) -> RetryPolicy {
    RetryPolicy {
        max_attempts: u32::from(max_attempts),
        // Tests shrink every wait; never set in real use (not documented to users).
        scale: env
            .var("RUNNER_TEST_DELAY_SCALE")
            .and_then(|v| v.parse::<f64>().ok())
            .filter(|s| s.is_finite() && *s >= 0.0)
            .unwrap_or(1.0),
        ..RetryPolicy::default()
    }
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
fn upload_ttl(text: &str) -> Result<u64, Error> {
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
    pub fn pacing(settings: &crate::engine::Settings) -> Pacing {
        Pacing {
            messages: settings.jobs,
            files: settings.uploads + settings.jobs,
            scale: settings.policy.scale,
        }
    }

    /// The pacing of `plan --estimate`: one token count at a time.
    pub fn pacing_for_estimates() -> Pacing {
        Pacing {
            messages: 1,
            files: 1,
            scale: 1.0,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(args: &[&str], vars: &[(&str, &str)]) -> Result<Config, Error> {
        let env = Env::default().with(vars);
        let args = std::iter::once("runner")
            .chain(args.iter().copied())
            .map(OsString::from);
        Config::parse(args, &env)
    }

    #[test]
    fn bad_options_fail_before_any_work() {
        let e = config(&["run", "m.yaml", "--upload-ttl", "30m"], &[("HOME", "/h")]).unwrap_err();
        assert_eq!(
            e.to_string(),
            "--upload-ttl `30m`: expected a duration from 1h to 90d, e.g. `12h` or `7d`"
        );
        let e = config(&["run", "m.yaml", "--only", "a[b"], &[("HOME", "/h")]).unwrap_err();
        assert!(
            e.to_string()
                .starts_with("--only `a[b` is not a valid glob"),
            "{e}"
        );
    }

    #[test]
    fn state_dir_and_colour_come_from_the_environment() {
        let Ok(Config {
            command: CommandConfig::Run(run),
            display,
            ..
        }) = config(
            &["run", "m.yaml"],
            &[("XDG_STATE_HOME", "/x"), ("HOME", "/h")],
        )
        else {
            panic!("run config");
        };
        assert_eq!(run.state_dir, "/x/runner");
        assert!(!display.color, "not a terminal");
        let mut env = Env::default().with(&[("HOME", "/h"), ("NO_COLOR", "1")]);
        env.stderr_is_terminal = true;
        let args = ["runner", "-v", "plan", "m.yaml"].map(OsString::from);
        let c = Config::parse(args, &env).unwrap();
        assert!(!c.display.color, "NO_COLOR is honoured");
        assert!(!c.display.bars, "-v means log lines, not bars");
        assert_eq!(
            upload_ttl("7d").unwrap(),
            7 * 86_400,
            "a week is within the Files API's range"
        );
    }
}

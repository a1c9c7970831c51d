//! Every option and environment variable, validated once into one [`Config`] before any
//! work (ripgrep's `HiArgs` pattern). The only module that reads the environment; a bad
//! value is reported here, before a manifest is read or an input hashed.

use std::collections::BTreeMap;
use std::ffi::OsString;

use camino::{Utf8Path, Utf8PathBuf};

use crate::api::facts::DEFAULT_BASE_URL;
use crate::api::retry::RetryPolicy;
use crate::api::{ApiClient, ApiKey, Pacing, Timeouts};
use crate::cli::{Cli, Command, PlanArgs, RunArgs, StateArgs};
use crate::engine::downloads::OutputLimits;
use crate::error::Error;
use crate::plan::select::Only;
use crate::ui::Display;
use crate::units;

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
    "ANTHROPIC_BASE_URL",
    "RUNNER_STATE_DIR",
    "XDG_STATE_HOME",
    "HOME",
    "NO_COLOR",
    "RUST_LOG",
    "RUNNER_TEST_DELAY_SCALE",
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
    pub command: CommandConfig,
}

#[derive(Debug)]
pub enum CommandConfig {
    Validate { manifests: Vec<Utf8PathBuf> },
    Plan(PlanConfig),
    Run(RunConfig),
    Report { out: Utf8PathBuf },
}

#[derive(Debug)]
pub struct PlanConfig {
    pub manifests: Vec<Utf8PathBuf>,
    pub json: bool,
    pub out: Utf8PathBuf,
    pub state_dir: Utf8PathBuf,
    pub api: ApiConfig,
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
}

impl Config {
    /// Parses `args` (clap exits on `--help` and on usage errors) and validates them with
    /// `env`.
    pub fn parse(args: impl IntoIterator<Item = OsString>, env: &Env) -> Result<Config, Error> {
        use clap::Parser;
        Config::new(Cli::parse_from(args), env)
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
            bars: terminal && !cli.quiet && cli.verbose == 0,
            // https://no-color.org: any non-empty value turns colour off.
            color: terminal && env.var("NO_COLOR").is_none(),
        };
        let command = match cli.command {
            Command::Validate { manifests } => CommandConfig::Validate { manifests },
            Command::Plan(args) => CommandConfig::Plan(plan(args, env)?),
            Command::Run(args) => CommandConfig::Run(run(args, env)?),
            Command::Report(args) => CommandConfig::Report { out: args.out },
        };
        Ok(Config {
            display,
            rust_log: env.var("RUST_LOG").map(str::to_owned),
            command,
        })
    }
}

fn api(env: &Env) -> ApiConfig {
    ApiConfig {
        base_url: env
            .var("ANTHROPIC_BASE_URL")
            .unwrap_or(DEFAULT_BASE_URL)
            .to_owned(),
        key: env
            .var("ANTHROPIC_API_KEY")
            .map(|k| ApiKey::new(k.to_owned())),
    }
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

fn plan(args: PlanArgs, env: &Env) -> Result<PlanConfig, Error> {
    Ok(PlanConfig {
        state_dir: state_dir(&args.state, env)?,
        manifests: args.manifests,
        json: args.json,
        out: args.out,
        api: api(env),
    })
}

fn run(args: RunArgs, env: &Env) -> Result<RunConfig, Error> {
    let upload_ttl = args.upload_ttl.as_deref().map(upload_ttl).transpose()?;
    let policy = RetryPolicy {
        max_attempts: u32::from(args.max_attempts),
        // Tests shrink every wait; never set in real use (not documented to users).
        scale: env
            .var("RUNNER_TEST_DELAY_SCALE")
            .and_then(|v| v.parse::<f64>().ok())
            .filter(|s| s.is_finite() && *s >= 0.0)
            .unwrap_or(1.0),
        ..RetryPolicy::default()
    };
    Ok(RunConfig {
        state_dir: state_dir(&args.state, env)?,
        only: Only::new(&args.only)?,
        manifests: args.manifests,
        out: args.out,
        force: args.force,
        json: args.json,
        api: api(env),
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
        },
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

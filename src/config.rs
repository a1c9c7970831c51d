//! Every option and environment variable, validated once into one [`Config`] before any
//! work (ripgrep's `HiArgs` pattern). The only module that reads options and the
//! environment (`env.rs` reads the variables); a bad value is reported here, before a
//! manifest is read or an input hashed.

mod api;
mod env;
mod file;
mod notify;
mod run;
mod subcommands;

use std::ffi::OsString;

use camino::{Utf8Path, Utf8PathBuf};

use crate::api::prices::PriceTable;
use crate::cli::{Cli, Command, HistoryArgs, LogFormat, PlanArgs};
use crate::error::Error;
use crate::manifest::Known;
use crate::plan::shard::Shard;
use crate::ui::Display;

pub(crate) use api::ApiConfig;
use api::{api, base_url};
pub use env::Env;
use env::state_dir;
pub(crate) use run::RunConfig;
pub(crate) use subcommands::{
    BatchesConfig, DiffConfig, ExplainConfig, FilesAction, FilesConfig, MergeConfig, ModelsConfig,
    PruneConfig, SkillsAction, SkillsConfig,
};

#[derive(Debug)]
pub(crate) struct Config {
    pub display: Display,
    /// `RUST_LOG`, which overrides `-v`/`-q` for log lines.
    pub rust_log: Option<String>,
    pub log_format: LogFormat,
    pub command: CommandConfig,
}

#[derive(Debug)]
pub(crate) enum CommandConfig {
    Validate(ValidateConfig),
    Plan(PlanConfig),
    Run(Box<RunConfig>),
    History(HistoryArgs),
    Diff(DiffConfig),
    Merge(MergeConfig),
    Batches(BatchesConfig),
    Explain(ExplainConfig),
    Init {
        dir: Utf8PathBuf,
    },
    Files(FilesConfig),
    Skills(SkillsConfig),
    Models(ModelsConfig),
    Schema,
    Completions(crate::cli::Shell),
    /// `--all DIR`: a page per subcommand into DIR; else one page on stdout.
    Man(Option<Utf8PathBuf>),
    Report {
        out: Utf8PathBuf,
    },
    /// `runner notify --test`: runner.toml's targets (none when there is no file).
    Notify(crate::notify::Settings),
}

#[derive(Debug)]
pub(crate) struct ValidateConfig {
    pub manifests: Vec<Utf8PathBuf>,
    pub known: Known,
    /// Where the model cache is read from; `None` when no state dir can be found (then
    /// models are not checked: `validate` never fails for want of a state dir).
    pub state_dir: Option<Utf8PathBuf>,
    /// `ANTHROPIC_BASE_URL`: whose cached catalogue to check against.
    pub base_url: String,
}

#[derive(Debug)]
pub(crate) struct PlanConfig {
    pub manifests: Vec<Utf8PathBuf>,
    pub json: bool,
    pub out: Utf8PathBuf,
    pub state_dir: Utf8PathBuf,
    pub api: ApiConfig,
    pub shard: Option<Shard>,
    /// `--shards N`: the N shards as a list, instead of the plan.
    pub shards: Option<u64>,
    /// `--estimate`: ask the token-counting endpoint (the only network call of `plan`).
    pub estimate: bool,
    pub known: Known,
}

impl Config {
    /// Parses `args` (clap exits on `--help` and on usage errors) and validates them with
    /// `env`.
    pub(crate) fn parse(
        args: impl IntoIterator<Item = OsString>,
        env: &Env,
    ) -> Result<Config, Error> {
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
                | Command::Notify(_)
                | Command::History(_)
                | Command::Diff(_)
                | Command::Batches(_)
                | Command::Report(_)
                | Command::Explain(_)
                | Command::Merge(_)
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
                Command::Diff(args) => Some(&mut args.out),
                Command::Batches(args) => Some(&mut args.out),
                Command::Report(args) => Some(&mut args.out),
                Command::Explain(args) => Some(&mut args.out),
                Command::Merge(args) => Some(&mut args.out),
                _ => None,
            };
            // Only a command with `-o` is asked about it (clap panics on an unknown id).
            if let Some(slot) = out
                && let Some(from_file) = loaded.out(sub)
            {
                *slot = from_file;
            }
        }
        let mut config = Config::new(cli, env)?;
        // The notification targets: runner.toml's only (no flag or variable sets them).
        if let Some(loaded) = &loaded {
            match &mut config.command {
                CommandConfig::Run(run) => run.notify = loaded.notify()?,
                CommandConfig::Notify(slot) => *slot = loaded.notify()?,
                _ => {}
            }
        }
        Ok(config)
    }

    pub(crate) fn new(cli: Cli, env: &Env) -> Result<Config, Error> {
        env.check_utf8()?;
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
                base_url: base_url(env)?,
            }),
            Command::Plan(args) => CommandConfig::Plan(plan(args, env, known()?)?),
            Command::Run(args) => CommandConfig::Run(Box::new(run::run(args, env, known()?)?)),
            Command::History(args) => CommandConfig::History(args),
            Command::Diff(args) => CommandConfig::Diff(subcommands::diff(args)),
            Command::Merge(args) => CommandConfig::Merge(subcommands::merge(args, env)?),
            Command::Batches(args) => CommandConfig::Batches(subcommands::batches(args, env)?),
            Command::Explain(args) => {
                CommandConfig::Explain(subcommands::explain(args, env, known()?)?)
            }
            Command::Init { dir } => CommandConfig::Init { dir },
            Command::Files(files) => CommandConfig::Files(subcommands::files(files, env)?),
            Command::Skills(skills) => CommandConfig::Skills(subcommands::skills(skills, env)?),
            Command::Models(args) => {
                CommandConfig::Models(subcommands::models(args, env, known()?)?)
            }
            Command::Schema => CommandConfig::Schema,
            Command::Completions { shell } => CommandConfig::Completions(shell),
            Command::Man { all } => CommandConfig::Man(all),
            Command::Report(args) => CommandConfig::Report { out: args.out },
            Command::Notify(_) => CommandConfig::Notify(crate::notify::Settings::default()),
        };
        Ok(Config {
            display,
            rust_log: env.var("RUST_LOG").map(str::to_owned),
            log_format: cli.log_format,
            command,
        })
    }
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
        shards: args.shards,
        estimate: args.estimate,
    })
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
            run::upload_ttl("7d").unwrap(),
            7 * 86_400,
            "a week is within the Files API's range"
        );
    }
}

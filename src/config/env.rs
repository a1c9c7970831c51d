//! The environment the runner reads, and the options that fall back to it: the state
//! dir and the retry policy's test scale. The only place a variable is read.

use std::collections::BTreeMap;

use camino::{Utf8Path, Utf8PathBuf};

use crate::api::retry::RetryPolicy;
use crate::cli::StateArgs;
use crate::error::Error;

/// The environment the runner reads: variables, and whether stderr is a terminal.
#[derive(Clone, Debug, Default)]
pub struct Env {
    vars: BTreeMap<String, String>,
    /// Variables whose value is not UTF-8: an error when the runner reads one.
    not_utf8: BTreeMap<String, String>,
    pub(super) stderr_is_terminal: bool,
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
    pub(super) fn var(&self, name: &str) -> Option<&str> {
        self.vars
            .get(name)
            .map(String::as_str)
            .filter(|v| !v.trim().is_empty())
    }

    /// A variable the runner reads whose value is not UTF-8 is an error, reported before
    /// any work.
    pub(super) fn check_utf8(&self) -> Result<(), Error> {
        for name in READ {
            if let Some(lossy) = self.not_utf8.get(*name) {
                return Err(Error::Option {
                    option: name,
                    value: lossy.clone(),
                    reason: "is not valid UTF-8".to_owned(),
                });
            }
        }
        Ok(())
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
    "RUNNER_NIGHT",
];

/// The flag, else `RUNNER_STATE_DIR`, else `$XDG_STATE_HOME/runner`, else
/// `~/.local/state/runner`.
pub(super) fn state_dir(args: &StateArgs, env: &Env) -> Result<Utf8PathBuf, Error> {
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

pub(super) fn retry_policy(max_attempts: u16, env: &Env) -> RetryPolicy {
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

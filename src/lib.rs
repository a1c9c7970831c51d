//! `runner`: run data-analysis jobs as Claude conversations with server-side code execution.
//!
//! The pipeline reads one way; each stage hands plain data to the next, and the plan is a
//! value decided before any network call:
//!
//! ```text
//!  main.rs ─► lib.rs ─► cli.rs ─► config.rs (options + environment, validated once)
//!                                     │
//!                       commands/ (validate, plan, run, report: the order of stages)
//!                                     │
//!  manifest/ ─► plan/ ─────────► engine/ ─────────────────────────────► output/
//!  (YAML → checked   (hashes,      (uploads ─► conversation ─► downloads,   (job folders,
//!   jobs, with        fingerprint,  one task per job, -j permits,            run.json,
//!   diagnostics)      Plan)         halt: stop starting jobs)                runs/ history,
//!                                           │                                JUnit, pages)
//!                                           ▼
//!  edges:  api/ (HTTP, wire JSON, retry, gates) · store/ (state dir, upload cache)
//!          ui/ (events, progress bars, logs, summary)
//!  leaves: status (job results' words) · units (sizes, durations) · atomic (file writes)
//!          · error_chain (an error and its causes on one line)
//! ```
//!
//! Imports point down only: commands → config → error → cli → stages (engine → output →
//! plan → manifest) → edges (store → api → ui) → leaves; an edge never imports a stage, and
//! no two files import each other in a cycle. `tests/it/architecture.rs` enforces both.
//! A failed job is a value in the run's record; only fatal setup errors are `error::Error`s.

pub(crate) mod api;
pub(crate) mod atomic;
pub(crate) mod cli;
pub(crate) mod commands;
pub(crate) mod config;
pub(crate) mod engine;
pub(crate) mod error;
pub(crate) mod error_chain;
pub(crate) mod manifest;
pub(crate) mod notify;
pub(crate) mod output;
pub(crate) mod plan;
pub(crate) mod status;
pub(crate) mod store;
#[cfg(test)]
pub(crate) mod testing;
pub(crate) mod ui;
pub(crate) mod units;

use std::ffi::OsString;
use std::process::ExitCode;

pub use config::Env;

/// The `runner` command: arguments and environment of this process.
pub fn main() -> ExitCode {
    run(std::env::args_os(), &Env::from_process())
}

/// The `runner` command with these arguments (the first is the program name) and this
/// environment.
pub fn run(args: impl IntoIterator<Item = OsString>, env: &Env) -> ExitCode {
    let config = match config::Config::parse(args, env) {
        Ok(config) => config,
        Err(e) => {
            commands::report(&e);
            return e.exit().into();
        }
    };
    ui::logging::init(
        &config.display,
        config.rust_log.as_deref(),
        config.log_format == cli::LogFormat::Json,
    );
    commands::execute(config).into()
}

#[cfg(test)]
mod tests {
    /// An `Error` is `Send + Sync + 'static`, so it can cross tasks.
    #[test]
    fn errors_are_send_and_sync() {
        fn check<T: Send + Sync + 'static>() {}
        check::<super::error::Error>();
    }
}

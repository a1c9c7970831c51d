//! Fatal errors (nothing was started, or the run cannot go on) and the exit-code table.
//!
//! A job that fails is not an `Error`: it is a value in the run's outcome, and only turns
//! into exit code 1 at the very end.

use crate::diagnostic::Diagnostic;

/// Exit codes, as documented in README.md and CONTRACT.md.
pub mod exit {
    /// Every selected job succeeded or was already fresh.
    pub const SUCCESS: u8 = 0;
    /// The run finished and at least one job failed.
    pub const JOBS_FAILED: u8 = 1;
    /// Bad usage, an invalid manifest or input, or a setup error: no job was started.
    pub const SETUP: u8 = 2;
    /// Interrupted by SIGINT or SIGTERM; finished jobs are kept and a re-run continues.
    pub const INTERRUPTED: u8 = 130;
}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Manifests or inputs are invalid; each diagnostic names its file, line and column.
    #[error("{} invalid: {count} error{s}", manifests_label(.diagnostics), count = .diagnostics.len(), s = if .diagnostics.len() == 1 { "" } else { "s" })]
    Invalid {
        diagnostics: Vec<Diagnostic>,
        /// Manifest texts by path, to show the offending lines.
        sources: std::collections::BTreeMap<camino::Utf8PathBuf, String>,
    },

    /// Anything else that stops a command before or outside the jobs: config, state dir,
    /// output dir.
    #[error("{0}")]
    Setup(String),
}

impl Error {
    pub fn exit_code(&self) -> u8 {
        match self {
            Error::Invalid { .. } | Error::Setup(_) => exit::SETUP,
        }
    }
}

fn manifests_label(diagnostics: &[Diagnostic]) -> String {
    let mut files: Vec<_> = diagnostics.iter().map(|d| d.file.as_str()).collect();
    files.dedup();
    match files.as_slice() {
        [one] => format!("manifest {one} is"),
        _ => "manifests are".to_owned(),
    }
}

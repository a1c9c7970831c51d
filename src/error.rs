//! Fatal errors (nothing was started, or the run cannot go on) and the exit-code table
//! (docs/exit-codes.md).
//!
//! A job that fails is not an `Error`: it is a value in the run's record (its `JobLine`),
//! and only turns into exit code 1 at the very end. Each variant names what it concerns (a
//! path, an option, a URL) and keeps its cause as `source()`, which `commands::report`
//! prints as `caused by:` lines.

use camino::Utf8PathBuf;

use crate::api::client::ClientError;
use crate::engine::VerifyError;
use crate::manifest::Invalid;
use crate::plan::hashing::HashError;
use crate::plan::select::BadGlob;
use crate::store::StoreError;

/// The exit codes, as documented in docs/exit-codes.md.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Exit {
    /// Every selected job succeeded or was already fresh.
    Success,
    /// The run finished and at least one job failed.
    JobsFailed,
    /// Bad usage, an invalid manifest or input, or a setup error: no job was started.
    Setup,
    /// Interrupted by SIGINT or SIGTERM; finished jobs are kept and a re-run continues.
    Interrupted,
    /// `runner diff`: the two runs differ.
    Changed,
}

impl Exit {
    pub fn code(self) -> u8 {
        match self {
            Exit::Success => 0,
            Exit::JobsFailed | Exit::Changed => 1,
            Exit::Setup => 2,
            Exit::Interrupted => 130,
        }
    }
}

impl From<Exit> for std::process::ExitCode {
    fn from(exit: Exit) -> std::process::ExitCode {
        std::process::ExitCode::from(exit.code())
    }
}

#[derive(Debug, thiserror::Error)]
pub(crate) enum Error {
    /// Manifests or inputs are invalid; each diagnostic names its file, line and column.
    #[error("{}", invalid_summary(.0))]
    Invalid(Invalid),

    /// An option's value is not usable.
    #[error("{option} `{value}`: {reason}")]
    Option {
        option: &'static str,
        value: String,
        reason: String,
    },
    #[error(transparent)]
    BadGlob(#[from] BadGlob),
    #[error(
        "no manifest given: name them on the command line or as `manifests` in the config file"
    )]
    NoManifests,
    #[error("cannot read config file {path}")]
    ConfigRead {
        path: Utf8PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{0}")]
    Prices(crate::api::prices::PriceFileError),
    #[error("config file {path}: {reason}")]
    ConfigFile { path: Utf8PathBuf, reason: String },
    #[error("cannot read the run history in {path}")]
    History {
        path: Utf8PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// `runner diff`: no two runs to compare, or a run id that names none.
    #[error("{why} ({out}/runs)")]
    DiffRuns {
        out: Utf8PathBuf,
        why: crate::output::diff::select::PickError,
    },
    #[error("cannot write the JUnit report {path}")]
    Junit {
        path: Utf8PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// `runner merge`: no shard record to merge.
    #[error("{why} ({out})")]
    Merge {
        out: Utf8PathBuf,
        why: crate::output::merge::PickError,
    },
    #[error("--only {} matches no job", .0.join(", "))]
    NoJobMatches(Vec<String>),

    #[error(
        "ANTHROPIC_API_KEY is not set; `runner run`, `runner files`, `runner skills` and `runner models` need an \
         API key (so does `runner plan --estimate`; to try the runner without one: `cargo run -p runner-demo`)"
    )]
    NoApiKey,
    #[error("cannot find a state dir: set --state-dir, RUNNER_STATE_DIR, XDG_STATE_HOME or HOME")]
    NoStateDir,

    #[error(transparent)]
    Client(#[from] ClientError),
    /// The check before the run: the API cannot be used as configured.
    #[error(transparent)]
    Preflight(#[from] crate::api::preflight::PreflightError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Hash(#[from] HashError),
    #[error(transparent)]
    Verify(#[from] VerifyError),

    #[error("cannot create output folder {path}")]
    CreateOut {
        path: Utf8PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot tidy output folder {path}")]
    TidyOut {
        path: Utf8PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("another `runner run` is writing to {0}; wait for it to finish or use another --out")]
    OutLocked(Utf8PathBuf),
    #[error("cannot lock {path}")]
    LockOut {
        path: Utf8PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot write {path}")]
    WriteRecord {
        path: Utf8PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{0} has no job folders or run.json to report on; run `runner run -o {0}` first")]
    NothingToReport(Utf8PathBuf),
    #[error(transparent)]
    Site(#[from] crate::output::html::SiteError),
    #[error("cannot print the plan as JSON")]
    Json(#[source] serde_json::Error),
    #[error("cannot render the {what}")]
    Render {
        what: &'static str,
        #[source]
        source: std::io::Error,
    },
    #[error("{0} already exists; `runner init` never overwrites a file (choose another folder)")]
    InitExists(Utf8PathBuf),
    #[error("cannot write {path}")]
    Init {
        path: Utf8PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot read {path}")]
    ReadRecord {
        path: Utf8PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot list the workspace's files")]
    Files(#[source] Box<crate::api::retry::GaveUp>),
    #[error(
        "cannot list the workspace's skills; check ANTHROPIC_BASE_URL and the key, or try again"
    )]
    Skills(#[source] Box<crate::api::retry::GaveUp>),
    #[error("cannot list the API's models; check ANTHROPIC_BASE_URL and the key, or try again")]
    Models(#[source] Box<crate::api::retry::GaveUp>),
    #[error("cannot start the async runtime")]
    Runtime(#[source] std::io::Error),
}

impl Error {
    pub(crate) fn exit(&self) -> Exit {
        Exit::Setup
    }
}

impl From<Invalid> for Error {
    fn from(invalid: Invalid) -> Error {
        Error::Invalid(invalid)
    }
}

fn invalid_summary(invalid: &Invalid) -> String {
    let diagnostics = &invalid.diagnostics;
    let mut files: Vec<_> = diagnostics.iter().map(|d| d.file.as_str()).collect();
    files.dedup();
    let what = match files.as_slice() {
        [one] => format!("manifest {one} is"),
        _ => "manifests are".to_owned(),
    };
    format!(
        "{what} invalid: {}",
        crate::units::count(diagnostics.len(), "error")
    )
}

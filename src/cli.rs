//! Command-line types (clap derive). No logic lives here: `config.rs` validates these
//! values, with the environment, into the one configuration the commands read.

use camino::Utf8PathBuf;
use clap::{Args, Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(
    name = "runner",
    version,
    about = "Run data-analysis jobs as Claude conversations with server-side code execution",
    long_about = "Run data-analysis jobs as Claude conversations with server-side code execution.\n\n\
        Each YAML manifest lists input files and prompts. `runner run` uploads the inputs once \
        per content hash, runs every job in its own code-execution container, and writes each \
        job's report, generated files, transcript and provenance under the output folder.\n\n\
        Exit codes: 0 all jobs succeeded or were fresh, 1 a job failed, 2 bad usage or invalid \
        manifest (nothing started), 130 interrupted."
)]
pub struct Cli {
    /// More log output on stderr (-v info, -vv debug, -vvv trace); RUST_LOG overrides.
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    pub verbose: u8,
    /// Only errors on stderr; no progress display.
    #[arg(short, long, global = true, conflicts_with = "verbose")]
    pub quiet: bool,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Check manifests and inputs; no network.
    Validate {
        /// Manifest files (YAML).
        #[arg(required = true, value_name = "MANIFEST")]
        manifests: Vec<Utf8PathBuf>,
    },
    /// Show what a run would do: jobs, inputs with BLAKE3 hashes, unique uploads; no network.
    Plan(PlanArgs),
    /// Run the jobs.
    Run(RunArgs),
    /// Rewrite OUT/index.html and every job's report.html from what is on disk; no network.
    Report(ReportArgs),
}

#[derive(Debug, Args)]
pub struct ReportArgs {
    /// Output root, as given to `runner run`.
    #[arg(short, long, default_value = "out", value_name = "DIR")]
    pub out: Utf8PathBuf,
}

#[derive(Debug, Args)]
pub struct PlanArgs {
    /// Manifest files (YAML); paths inside are relative to each manifest's folder.
    #[arg(required = true, value_name = "MANIFEST")]
    pub manifests: Vec<Utf8PathBuf>,
    /// Print the plan as JSON on stdout.
    #[arg(long)]
    pub json: bool,
    /// The output root a run would use: jobs whose outputs there are fresh are shown as such.
    #[arg(short, long, default_value = "out", value_name = "DIR")]
    pub out: Utf8PathBuf,
    #[command(flatten)]
    pub state: StateArgs,
}

#[derive(Debug, Args)]
pub struct StateArgs {
    /// Where the hash and upload caches live [env: RUNNER_STATE_DIR] [default:
    /// $XDG_STATE_HOME/runner, else ~/.local/state/runner].
    #[arg(long, value_name = "DIR")]
    pub state_dir: Option<Utf8PathBuf>,
}

#[derive(Debug, Args)]
pub struct RunArgs {
    /// Manifest files (YAML); paths inside are relative to each manifest's folder.
    #[arg(required = true, value_name = "MANIFEST")]
    pub manifests: Vec<Utf8PathBuf>,
    /// Output root.
    #[arg(short, long, default_value = "out", value_name = "DIR")]
    pub out: Utf8PathBuf,
    /// Jobs (conversations) in flight at once.
    #[arg(short, long, default_value_t = 4, value_name = "N", value_parser = clap::value_parser!(u16).range(1..))]
    pub jobs: u16,
    /// Uploads in flight at once.
    #[arg(long, default_value_t = 8, value_name = "N", value_parser = clap::value_parser!(u16).range(1..))]
    pub uploads: u16,
    /// Run only jobs whose name (or `<manifest-stem>/<name>`) matches this glob; repeatable.
    #[arg(long, value_name = "GLOB")]
    pub only: Vec<String>,
    /// Attempts per API call before a transient failure (429, 5xx, 529, connection error)
    /// fails the job.
    #[arg(long, default_value_t = 8, value_name = "N", value_parser = clap::value_parser!(u16).range(1..))]
    pub max_attempts: u16,
    /// Re-run jobs even when their outputs are fresh.
    #[arg(long)]
    pub force: bool,
    /// Print the run summary (the content of run.json) on stdout.
    #[arg(long)]
    pub json: bool,
    /// Ask the Files API to delete uploads after this long (e.g. `2h`, `7d`; 1h to 90d).
    #[arg(long, value_name = "DURATION")]
    pub upload_ttl: Option<String>,
    /// Largest generated file a job may save (`500M`, `2G`; K/M/G/T are powers of 1024).
    #[arg(long, default_value = "1G", value_name = "SIZE", value_parser = crate::units::parse_size)]
    pub max_file_size: u64,
    /// Most bytes of generated files one job may save, all files together.
    #[arg(long, default_value = "4G", value_name = "SIZE", value_parser = crate::units::parse_size)]
    pub max_job_output: u64,
    /// Most generated files one job may save.
    #[arg(long, default_value_t = 1000, value_name = "N")]
    pub max_files: usize,
    #[command(flatten)]
    pub state: StateArgs,
}

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
        manifest (nothing started), 130 interrupted.",
    after_help = ENVIRONMENT
)]
pub(crate) struct Cli {
    /// More log output on stderr (-v info, -vv debug, -vvv trace); RUST_LOG overrides.
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    pub verbose: u8,
    /// Only errors on stderr; no progress display.
    #[arg(short, long, global = true, conflicts_with = "verbose")]
    pub quiet: bool,
    /// Log lines on stderr as human text, or one JSON object per line for log shippers.
    #[arg(long, global = true, value_enum, default_value_t = LogFormat::Text, value_name = "FORMAT")]
    pub log_format: LogFormat,
    /// A TOML file of `run` options (default: `runner.toml` in the current folder, when
    /// present); relative paths in it are relative to its folder; flags override it.
    #[arg(long, global = true, value_name = "PATH")]
    pub config: Option<Utf8PathBuf>,
    /// A price file (TOML `[[price]]` rows, docs/api.md §11.2) over the built-in prices, for
    /// models or price changes this release does not know (default: `prices` in the config
    /// file).
    #[arg(long, global = true, value_name = "FILE")]
    pub prices: Option<Utf8PathBuf>,
    #[command(subcommand)]
    pub command: Command,
}

/// The environment variables the runner reads, for `--help` (config.rs reads them).
const ENVIRONMENT: &str = "Environment:
  ANTHROPIC_API_KEY       API key (`run`, `files`, `skills`, `models`; live counts in `batches`); never printed or stored
  ANTHROPIC_API_KEY_FILE  a file holding the key (a secret mount); not with ANTHROPIC_API_KEY
  ANTHROPIC_BASE_URL      API base URL [default: https://api.anthropic.com]
  RUNNER_STATE_DIR        hash, upload, skill and model caches [default: $XDG_STATE_HOME/runner]
  XDG_STATE_HOME          base of the default state dir [default: ~/.local/state]
  RUNNER_SHARD            `K/N`: run and plan only shard K of N (like --shard)
  JOB_COMPLETION_INDEX    0-based shard index (Kubernetes Indexed Job), with RUNNER_SHARD_COUNT
  RUNNER_SHARD_COUNT      number of shards, with JOB_COMPLETION_INDEX
  RUNNER_NIGHT            the night a shard belongs to (like --night; `run`, `merge`)
  NO_COLOR                any non-empty value turns colour off
  RUST_LOG                log filter (e.g. `runner=debug`); overrides -v and -q";

#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Check manifests and inputs, and their models against the cached model catalogue; no
    /// network.
    Validate {
        /// Manifest files (YAML).
        #[arg(required = true, value_name = "MANIFEST")]
        manifests: Vec<Utf8PathBuf>,
        #[command(flatten)]
        state: StateArgs,
    },
    /// Show what a run would do: jobs, inputs with BLAKE3 hashes, unique uploads; no network
    /// (models are checked against the cached model catalogue).
    Plan(PlanArgs),
    /// Run the jobs.
    Run(RunArgs),
    /// List the recorded runs under the output folder, newest first.
    History(HistoryArgs),
    /// Make the shards' records of one night (`run-shard-K-of-N.json`) its one run.json,
    /// history entry, JUnit file and morning page; exit with the night's code (a missing
    /// shard is 1). A shard's run does this itself when it finishes last.
    Merge(MergeArgs),
    /// Compare two recorded runs job by job: status, duration and cost, generated files,
    /// metrics and report.md; exit 0 when nothing changed, 1 when something did.
    Diff(DiffArgs),
    /// List the batches of `run --batch` under the output folder: pending ones (with their
    /// live counts from the API when a key is set), then the recent ended ones.
    Batches(BatchesArgs),
    /// For each job: fresh or to-run, and which parts of its fingerprint changed since its
    /// last job.json; no network.
    Explain(ExplainArgs),
    /// Write a commented starter manifest, a prompt and a data/ folder into DIR; never
    /// overwrites.
    Init {
        /// The folder to write into (created if missing).
        #[arg(default_value = ".", value_name = "DIR")]
        dir: Utf8PathBuf,
    },
    /// The files in the API workspace: list them, prune what this runner uploaded, remove.
    #[command(subcommand)]
    Files(FilesCommand),
    /// The Agent Skills in the API workspace: list them, prune the versions this runner
    /// uploaded that no job uses.
    #[command(subcommand)]
    Skills(SkillsCommand),
    /// The API's model catalogue: each model's lifecycle, limits, thinking types, effort
    /// levels, code execution and price; also saved as the model cache that `validate` and
    /// `plan` check against.
    Models(ModelsArgs),
    /// Print the manifest's JSON Schema (draft 2020-12) on stdout, for editors and CI.
    Schema,
    /// Print shell completions on stdout, e.g. `source <(runner completions bash)`.
    Completions {
        #[arg(value_enum)]
        shell: Shell,
    },
    /// Print the man page (roff) on stdout, every subcommand and option in one page, e.g.
    /// `runner man > runner.1`; or with `--all DIR`, write runner.1 and a page per
    /// subcommand (runner-run.1, …) into DIR.
    Man {
        /// Write runner.1 and one page per subcommand into DIR (created if missing) instead.
        #[arg(long, value_name = "DIR")]
        all: Option<Utf8PathBuf>,
    },
    /// Rewrite OUT/index.html and every job's report.html from what is on disk; no network.
    Report(ReportArgs),
    /// Send a sample message to every `notify` target of the config file and report each
    /// result (exit 0 all delivered, 1 any failed, 2 no target).
    Notify(NotifyArgs),
}

#[derive(Debug, Args)]
pub(crate) struct NotifyArgs {
    /// Send a sample message (the only thing `notify` does).
    #[arg(long, required = true)]
    pub test: bool,
}

/// The shells `runner completions` writes for.
#[derive(Clone, Copy, Debug, clap::ValueEnum)]
pub(crate) enum Shell {
    Bash,
    Zsh,
    Fish,
    Powershell,
}

#[derive(Debug, Args)]
pub(crate) struct ShardArgs {
    /// Run (or plan) only shard K of N (1 ≤ K ≤ N): a stable hash of
    /// `<manifest-stem>/<job-name>` picks each job's shard [env: RUNNER_SHARD, or
    /// JOB_COMPLETION_INDEX (0-based) with RUNNER_SHARD_COUNT].
    #[arg(long, value_name = "K/N")]
    pub shard: Option<String>,
}

#[derive(Debug, Args)]
pub(crate) struct ExplainArgs {
    /// Manifest files (YAML).
    #[arg(required = true, value_name = "MANIFEST")]
    pub manifests: Vec<Utf8PathBuf>,
    /// The output root whose job.json files are compared.
    #[arg(short, long, default_value = "out", value_name = "DIR")]
    pub out: Utf8PathBuf,
    /// Only jobs whose name (or `<manifest-stem>/<name>`) matches this glob; repeatable.
    #[arg(long, value_name = "GLOB")]
    pub only: Vec<String>,
    /// Print the explanations as JSON on stdout.
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub state: StateArgs,
}

#[derive(Debug, Subcommand)]
pub(crate) enum FilesCommand {
    /// List the workspace's files, marked when this runner uploaded them (its upload cache)
    /// and which jobs of the given output trees use them.
    List {
        /// Output trees whose job.json files are searched for each file's users; repeatable.
        #[arg(short, long, value_name = "DIR")]
        out: Vec<Utf8PathBuf>,
        /// Print the list as JSON on stdout.
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        api: FilesApiArgs,
    },
    /// Delete files this runner uploaded (per its upload cache for this API base URL and
    /// key) that no job.json in the given output trees references; with --generated, also
    /// the generated files their job.json files record as downloaded. Never another file.
    Prune {
        /// Output trees whose job.json files keep their files; repeatable.
        #[arg(short, long, default_value = "out", value_name = "DIR")]
        out: Vec<Utf8PathBuf>,
        /// Only files uploaded longer ago than this (`12h`, `7d`).
        #[arg(long, value_name = "DURATION")]
        older_than: Option<String>,
        /// List what would be deleted; delete nothing.
        #[arg(long)]
        dry_run: bool,
        /// Also delete the files jobs generated that the runner downloaded and saved, as the
        /// trees' job.json `outputs` (failed attempts under runs/ too) name them; the saved
        /// copies in files/ stay. Never one that a job.json names as an input.
        #[arg(long)]
        generated: bool,
        #[command(flatten)]
        api: FilesApiArgs,
    },
    /// Delete these files. An unknown id is reported; the others are still deleted.
    Rm {
        /// File ids (`file_…`).
        #[arg(required = true, value_name = "ID")]
        ids: Vec<String>,
        #[command(flatten)]
        api: FilesApiArgs,
    },
}

#[derive(Debug, Subcommand)]
pub(crate) enum SkillsCommand {
    /// List the workspace's skills (custom and Anthropic's), marked when this runner uploaded
    /// them (its skill cache), with the versions it uploaded and which jobs of the given
    /// output trees use them.
    List {
        /// Output trees whose job.json files are searched for each skill's users; repeatable.
        #[arg(short, long, value_name = "DIR")]
        out: Vec<Utf8PathBuf>,
        /// Print the list as JSON on stdout.
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        api: FilesApiArgs,
    },
    /// Delete skill versions this runner uploaded (per its skill cache for this API base URL
    /// and key) that no job.json in the given output trees references, and a skill of its
    /// own once no version of it is left. Never another skill.
    Prune {
        /// Output trees whose job.json files keep their skill versions; repeatable.
        #[arg(short, long, default_value = "out", value_name = "DIR")]
        out: Vec<Utf8PathBuf>,
        /// List what would be deleted; delete nothing.
        #[arg(long)]
        dry_run: bool,
        #[command(flatten)]
        api: FilesApiArgs,
    },
}

#[derive(Debug, Args)]
pub(crate) struct FilesApiArgs {
    /// `anthropic-version` of the API requests (`2026-10-21` or `2023-06-01`).
    #[arg(long, default_value = crate::api::facts::DEFAULT_API_VERSION, value_name = "VERSION")]
    pub api_version: String,
    /// Attempts per API call before a transient failure gives up.
    #[arg(long, default_value_t = 8, value_name = "N", value_parser = clap::value_parser!(u16).range(1..))]
    pub max_attempts: u16,
    #[command(flatten)]
    pub state: StateArgs,
}

#[derive(Debug, Args)]
pub(crate) struct ModelsArgs {
    /// Print the catalogue as a JSON array on stdout.
    #[arg(long)]
    pub json: bool,
    /// Also list retired models (by default: active and deprecated ones).
    #[arg(long)]
    pub all: bool,
    /// `anthropic-version` of the Models requests (`2026-10-21` or `2023-06-01`).
    #[arg(long, default_value = crate::api::facts::DEFAULT_API_VERSION, value_name = "VERSION")]
    pub api_version: String,
    /// Attempts per API call before a transient failure gives up.
    #[arg(long, default_value_t = 8, value_name = "N", value_parser = clap::value_parser!(u16).range(1..))]
    pub max_attempts: u16,
    #[command(flatten)]
    pub state: StateArgs,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum LogFormat {
    Text,
    Json,
}

#[derive(Debug, Args)]
pub(crate) struct HistoryArgs {
    /// Output root whose `runs/` to list.
    #[arg(short, long, default_value = "out", value_name = "DIR")]
    pub out: Utf8PathBuf,
    /// Print the runs as a JSON array on stdout.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub(crate) struct MergeArgs {
    /// The output root the shards share.
    #[arg(short, long, default_value = "out", value_name = "DIR")]
    pub out: Utf8PathBuf,
    /// The night to merge [env: RUNNER_NIGHT] [default: the night of the newest shard record].
    #[arg(long, value_name = "ID")]
    pub night: Option<String>,
    /// Also write the night as JUnit XML to PATH.
    #[arg(long, value_name = "PATH")]
    pub junit: Option<Utf8PathBuf>,
    /// Print the night's record (the content of run.json) on stdout.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub(crate) struct DiffArgs {
    /// The older run: a run id as `runner history` shows it, or a unique beginning of one
    /// [default: the second newest run that did work].
    #[arg(value_name = "RUN_A")]
    pub run_a: Option<String>,
    /// The newer run [default: the newest run that did work; with RUN_A alone, the newest
    /// run].
    #[arg(value_name = "RUN_B", requires = "run_a")]
    pub run_b: Option<String>,
    /// Output root whose `runs/` to compare.
    #[arg(short, long, default_value = "out", value_name = "DIR")]
    pub out: Utf8PathBuf,
    /// Print the comparison as a JSON object on stdout.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub(crate) struct BatchesArgs {
    /// Output root whose `.batches/` to list.
    #[arg(short, long, default_value = "out", value_name = "DIR")]
    pub out: Utf8PathBuf,
    /// Print the batches as a JSON array on stdout.
    #[arg(long)]
    pub json: bool,
    /// Every ended batch kept (up to 100), not only the 10 newest.
    #[arg(long)]
    pub all: bool,
    /// No API call: pending batches as recorded, without their live state and counts.
    #[arg(long)]
    pub offline: bool,
    /// Attempts per API call before a transient failure gives up (that batch shows as
    /// `unknown`).
    #[arg(long, default_value_t = 3, value_name = "N", value_parser = clap::value_parser!(u16).range(1..))]
    pub max_attempts: u16,
}

#[derive(Debug, Args)]
pub(crate) struct ReportArgs {
    /// Output root, as given to `runner run`.
    #[arg(short, long, default_value = "out", value_name = "DIR")]
    pub out: Utf8PathBuf,
}

#[derive(Debug, Args)]
pub(crate) struct PlanArgs {
    /// Manifest files (YAML); paths inside are relative to each manifest's folder.
    #[arg(required = true, value_name = "MANIFEST")]
    pub manifests: Vec<Utf8PathBuf>,
    /// Print the plan as JSON on stdout.
    #[arg(long)]
    pub json: bool,
    /// Ask the API's token-counting endpoint for the first-request cost of jobs with no
    /// earlier cost, after checking their models with the Models API (the only network
    /// calls `plan` makes; needs ANTHROPIC_API_KEY).
    #[arg(long)]
    pub estimate: bool,
    /// The output root a run would use: jobs whose outputs there are fresh are shown as such.
    #[arg(short, long, default_value = "out", value_name = "DIR")]
    pub out: Utf8PathBuf,
    #[command(flatten)]
    pub shard: ShardArgs,
    /// With --json: the N shards as a JSON list (index, shard, jobs, to_run, estimated_usd),
    /// for a CI matrix or an Argo `withParam` fan-out.
    #[arg(long, value_name = "N", requires = "json", conflicts_with = "shard", value_parser = clap::value_parser!(u64).range(1..=1000))]
    pub shards: Option<u64>,
    #[command(flatten)]
    pub state: StateArgs,
}

#[derive(Debug, Args)]
pub(crate) struct StateArgs {
    /// Where the hash, upload, skill and model caches live [env: RUNNER_STATE_DIR]
    /// [default: $XDG_STATE_HOME/runner, else ~/.local/state/runner].
    #[arg(long, value_name = "DIR")]
    pub state_dir: Option<Utf8PathBuf>,
}

#[derive(Debug, Args)]
pub(crate) struct RunArgs {
    /// Manifest files (YAML); paths inside are relative to each manifest's folder. May come
    /// from the config file's `manifests` instead.
    #[arg(value_name = "MANIFEST")]
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
    /// Spend at most this many US dollars on the run's requests: each request's worst case
    /// is reserved before it is sent, and one that could overshoot is not sent.
    #[arg(long, value_name = "USD")]
    pub budget_usd: Option<String>,
    /// With --budget-usd: the model calls one request is reserved for (each may write
    /// max_tokens; a request with server tools calls the model once per tool result).
    #[arg(long, default_value_t = crate::plan::price::DEFAULT_MODEL_CALLS, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=1000))]
    pub budget_model_calls: u32,
    /// Send every Messages request through the Message Batches API (half price, results
    /// within 24 h): the run waits for its batches, in rounds of one request per job.
    #[arg(long, overrides_with = "no_batch")]
    pub batch: bool,
    /// Online requests even when the config file says `batch = true`.
    #[arg(long, overrides_with = "batch")]
    pub no_batch: bool,
    /// With `--batch`: on SIGINT/SIGTERM, cancel the batches being waited on instead of
    /// leaving them running (the re-run takes what they had answered).
    #[arg(long)]
    pub cancel_on_interrupt: bool,
    /// With `--batch`: this long after the start (e.g. `6h`), cancel the batches still
    /// waiting and finish their requests online, so the reports are ready by then.
    #[arg(long, value_name = "DURATION", value_parser = crate::units::parse_duration)]
    pub batch_deadline: Option<std::time::Duration>,
    /// With `--batch`: the first wait between polls of a batch, growing by half each time up
    /// to MAX.
    #[arg(long, value_name = "FIRST[..MAX]", default_value = "5s..5m")]
    pub batch_poll: String,
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
    /// After N failed jobs, start no new one (the rest are recorded as not_started).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    pub max_fail: Option<u32>,
    /// Run folders to keep under OUT/runs/ (older ones are removed at the end of a run).
    #[arg(long, default_value_t = 30, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    pub keep_runs: u32,
    /// An invalid manifest or missing input fails only the jobs it concerns (error kind
    /// `invalid`); the other jobs run.
    #[arg(long)]
    pub keep_going: bool,
    /// Exit 1 when a job's metrics crossed an `alert:` threshold (the job still counts as
    /// succeeded).
    #[arg(long)]
    pub fail_on_alert: bool,
    /// Also write the run as JUnit XML to PATH (one testsuite per manifest); with --shard,
    /// the night's, written by the merge.
    #[arg(long, value_name = "PATH")]
    pub junit: Option<Utf8PathBuf>,
    #[command(flatten)]
    pub shard: ShardArgs,
    /// With --shard: the night this shard belongs to, the same for all N shards (e.g. the
    /// CI run's or the Kubernetes Job's id) [env: RUNNER_NIGHT] [default: derived from the
    /// plan and N].
    #[arg(long, value_name = "ID")]
    pub night: Option<String>,
    #[command(flatten)]
    pub state: StateArgs,
}

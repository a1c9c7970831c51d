//! The plain data the engine hands to the output writer: what happened to each job, with
//! every response kept raw so nothing received is ever lost, and the run's record.

use serde::{Deserialize, Serialize};

use crate::api::messages::Usage;
use crate::api::messages::billing;
use crate::plan::price::{Applied, Cost, applied, cost_at};
use crate::plan::{PlannedInput, PlannedJob};
use crate::status::{ErrorKind, JobStatus};
use crate::ui::events::Failure;

/// One Messages request and its response.
#[derive(Clone, Debug, Serialize)]
pub(crate) struct Exchange {
    /// 0 for the prompt, 1.. for each follow-up.
    pub turn: usize,
    /// 0 for the turn's first request, then 1.. for each `pause_turn` continuation.
    pub continuation: u32,
    pub request_id: Option<String>,
    pub stop_reason: Option<String>,
    pub usage: Usage,
    /// The response body exactly as received (parsed JSON).
    pub response: serde_json::Value,
    /// Batch mode: the Message Batch and `custom_id` the response came from.
    pub batch: Option<crate::api::batches::BatchRef>,
    /// The UTC day the response arrived: the day its price row is chosen by.
    pub received_on: jiff::civil::Date,
}

/// Why a job failed. `kind` is a stable word for scripts; `message` is for people.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct JobError {
    pub kind: ErrorKind,
    pub message: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
    /// The attempts of the API call that failed the job, when one did (`run.json` only,
    /// docs/output.md §6.1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attempts: Option<u32>,
}

/// How a job ended. Built once, where its conversation ends (or where it never started),
/// and turned into its line's status, `error` and `reason` in one place
/// ([`JobLine::ended`]). `error.kind` `interrupted` and `not_started` are only how those
/// two endings are written in `job.json` and `run.json` (docs/output.md §6).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum JobEnd {
    Succeeded,
    Failed(JobError),
    /// The run was interrupted before the job finished; or, in batch mode, the batch
    /// holding one of its later requests was canceled by someone else. The message says
    /// which, and what to do.
    Interrupted(String),
    /// The run stopped starting jobs before this one, or (batch mode) the batch holding its
    /// first request was canceled by someone else. No folder is written for it.
    NotStarted(HaltReason),
}

impl JobEnd {
    /// The interruption of the run, in the words a job's line gives it.
    pub(crate) fn run_interrupted() -> JobEnd {
        JobEnd::Interrupted(
            "the run was interrupted before this job finished; run again to continue".into(),
        )
    }

    /// `Failed` when there is an error, else `Succeeded`.
    pub(crate) fn from_error(error: Option<JobError>) -> JobEnd {
        error.map_or(JobEnd::Succeeded, JobEnd::Failed)
    }

    pub(crate) fn status(&self) -> JobStatus {
        match self {
            JobEnd::Succeeded => JobStatus::Succeeded,
            JobEnd::Failed(_) => JobStatus::Failed,
            JobEnd::Interrupted(_) => JobStatus::Interrupted,
            JobEnd::NotStarted(_) => JobStatus::NotStarted,
        }
    }

    /// The error a failed job's folder records; `None` for every other ending.
    pub(crate) fn failure(&self) -> Option<&JobError> {
        match self {
            JobEnd::Failed(e) => Some(e),
            _ => None,
        }
    }
}

/// What stopped a job from starting: the run stopped starting jobs, or its batch was
/// canceled. `as_str` spells the word of a `not_started` line's `reason` (docs/output.md §6).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum HaltKind {
    /// `--max-fail N` jobs failed.
    MaxFail,
    /// The API refused the key mid-run (401/403).
    Auth,
    /// The organisation's spend limit is reached.
    SpendLimit,
    /// The next request could not fit `--budget-usd`, even with nothing else in flight.
    Budget,
    /// Batch mode: the batch holding the job's first request was canceled by someone else.
    BatchCanceled,
}

impl HaltKind {
    /// The one place these words are spelled.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            HaltKind::MaxFail => "max_fail",
            HaltKind::Auth => "auth",
            HaltKind::SpendLimit => "spend_limit",
            HaltKind::Budget => "budget",
            HaltKind::BatchCanceled => "batch_canceled",
        }
    }
}

/// Why a job was not started, and the sentence that says so.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct HaltReason {
    pub kind: HaltKind,
    pub message: String,
}

/// A `not_started` line's `reason` as a record holds it: a word this runner knows, or one
/// it does not (written by a later runner), kept as read so `runner history` still reads
/// the record (docs/output.md §11).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub(crate) enum Reason {
    Known(HaltKind),
    Unknown(String),
}

impl Reason {
    pub(crate) fn as_str(&self) -> &str {
        match self {
            Reason::Known(kind) => kind.as_str(),
            Reason::Unknown(word) => word,
        }
    }
}

impl JobError {
    /// An error no request id belongs to.
    pub(crate) fn plain(kind: ErrorKind, message: impl Into<String>) -> JobError {
        JobError {
            kind,
            message: message.into(),
            request_id: None,
            attempts: None,
        }
    }

    /// The failure as the display and the log lines report it.
    pub(crate) fn failure(&self) -> Failure {
        Failure {
            kind: self.kind,
            message: self.message.clone(),
            request_id: self.request_id.clone(),
            attempts: self.attempts,
        }
    }
}

/// A file Claude generated, as downloaded into the job's `files/` folder.
#[derive(Clone, Debug, Serialize)]
pub(crate) struct OutputFile {
    /// The sanitised name it was saved under, inside `files/`.
    pub name: String,
    /// Path relative to the job folder, e.g. `files/plot.png`.
    pub path: String,
    pub file_id: String,
    pub size: u64,
    pub blake3: String,
    /// BLAKE3 without the C2PA manifest the API embeds in images on download
    /// (`content_hash.rs`); only when one was found, so it differs from `blake3`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub content_blake3: Option<String>,
    /// The name the API gave it, when different from `name`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub original_name: Option<String>,
    pub mime_type: Option<String>,
    /// The turn (0 for the prompt) whose response first named the file.
    pub turn: usize,
}

/// An input as attached to the job.
#[derive(Clone, Debug, Serialize)]
pub(crate) struct AttachedInput {
    #[serde(flatten)]
    pub input: PlannedInput,
    pub file_id: Option<String>,
}

/// Everything known about one job at the end of the run; the output writer lays it out.
#[derive(Clone, Debug)]
pub(crate) struct JobOutcome {
    pub job: PlannedJob,
    /// `None` when the job succeeded.
    pub error: Option<JobError>,
    pub started_at: jiff::Timestamp,
    pub finished_at: jiff::Timestamp,
    /// The request parameters sent with every request (everything but `messages` and
    /// `container`), for provenance.
    pub request: serde_json::Value,
    /// The conversation as last sent plus the final assistant content: user turns as sent,
    /// assistant content as received.
    pub messages: Vec<serde_json::Value>,
    pub exchanges: Vec<Exchange>,
    pub container_id: Option<String>,
    pub inputs: Vec<AttachedInput>,
    pub outputs: Vec<OutputFile>,
    /// The repair turns sent after the job's own turns, as sent (docs/output.md §2.10).
    pub repair_turns: Vec<String>,
    /// The values of its `metrics:` file, when it has one and it parsed.
    pub metrics: Option<super::metric_values::Metrics>,
}

impl JobOutcome {
    pub(crate) fn succeeded(&self) -> bool {
        self.error.is_none()
    }

    /// The text of user turn `turn` (0-based) as sent: the job's own, then repair turns.
    pub(crate) fn turn_text(&self, turn: usize) -> Option<&str> {
        match turn.checked_sub(self.job.turns.len()) {
            None => self.job.turns.get(turn).map(String::as_str),
            Some(repair) => self.repair_turns.get(repair).map(String::as_str),
        }
    }

    pub(crate) fn usage(&self) -> Usage {
        let mut total = Usage::default();
        for e in &self.exchanges {
            total.add(&e.usage);
        }
        total
    }

    /// What the job's requests cost, each priced from its own usage.
    pub(crate) fn cost(&self) -> Cost {
        let mut total = Cost::default();
        for e in &self.exchanges {
            total.add(&e.cost(&self.job));
        }
        total
    }
}

impl Exchange {
    /// The rates this request is billed at: its day's row, its tier and factors
    /// (docs/api.md §11).
    pub(crate) fn applied(&self, job: &PlannedJob) -> Applied {
        applied(
            &self.usage,
            billing(&self.response),
            job.prices.on(self.received_on),
        )
    }

    /// This request's price, from its own usage, day and service tier (docs/api.md §11).
    pub(crate) fn cost(&self, job: &PlannedJob) -> Cost {
        cost_at(&self.usage, &self.applied(job), job.cache)
    }
}

/// The content of `run.json`, and of `runner run --json`.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub(crate) struct RunSummary {
    /// The run's folder name under `OUT/runs/`; sorts by start time.
    #[serde(default)]
    pub run_id: String,
    pub runner_version: String,
    pub started_at: jiff::Timestamp,
    pub finished_at: jiff::Timestamp,
    pub exit_code: u8,
    pub counts: Counts,
    pub uploads: UploadStats,
    pub usage: Usage,
    /// What this run's requests cost (`cost.usd`).
    #[serde(default)]
    pub cost: RunCost,
    pub jobs: Vec<JobLine>,
    /// Why a run ended before any job started (a setup failure after the plan: a refused
    /// key, an unreachable host, a model the API refuses); absent otherwise.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<RunError>,
    /// `for_each` entries that matched no file and say `allow_empty: true`: no job, no
    /// failure (docs/output.md §6).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub skipped: Vec<Skipped>,
    /// What each `notify` target of runner.toml made of this run's message; absent when
    /// none was sent (docs/output.md §6).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notifications: Vec<Notified>,
    /// A shard's night, or a merged night's shards (docs/output.md §6.5).
    #[serde(flatten)]
    pub night: super::night::NightKeys,
}

/// `run.json`'s `skipped[]`: an entry that gave no job, on purpose.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub(crate) struct Skipped {
    pub manifest: String,
    /// The entry's name as written.
    pub job: String,
    pub dir: String,
    pub reason: String,
}

/// `run.json`'s `notifications[]`: one target's result.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub(crate) struct Notified {
    /// The target without its secrets: a URL's host, or `command`.
    pub target: String,
    /// What fired it: `failure`, `alert`, `budget` or `success`.
    pub trigger: String,
    pub ok: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// `run.json`'s `error`: what ended the run in setup (exit 2).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub(crate) struct RunError {
    /// For people: the error and its causes on one line, as stderr showed it.
    pub message: String,
}

impl RunSummary {
    /// The record of a run that ended in setup: no job ran, so there are no lines.
    pub(crate) fn setup_failed(
        run_id: String,
        started_at: jiff::Timestamp,
        cost: RunCost,
        exit_code: u8,
        message: String,
    ) -> RunSummary {
        RunSummary {
            run_id,
            runner_version: env!("CARGO_PKG_VERSION").to_owned(),
            started_at,
            finished_at: jiff::Timestamp::now(),
            exit_code,
            counts: Counts::default(),
            uploads: UploadStats::default(),
            usage: Usage::default(),
            cost,
            jobs: Vec::new(),
            error: Some(RunError { message }),
            skipped: Vec::new(),
            notifications: Vec::new(),
            night: super::night::NightKeys::default(),
        }
    }
}

/// `run.json`'s `cost`: the sum of this run's priced requests.
#[derive(Clone, Copy, Debug, Default, Serialize, Deserialize)]
pub(crate) struct RunCost {
    pub usd: f64,
    /// `--budget-usd`, when one was given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub budget_usd: Option<f64>,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub(crate) struct Counts {
    pub total: usize,
    pub succeeded: usize,
    pub failed: usize,
    pub fresh: usize,
    pub interrupted: usize,
    #[serde(default)]
    pub not_started: usize,
    /// Jobs whose metrics crossed an `alert:` threshold this night (they count as
    /// succeeded too).
    #[serde(default)]
    pub alert: usize,
    /// Jobs run this night whose code hit at least one tool error (they count as succeeded
    /// or failed too).
    #[serde(default)]
    pub tool_errors: usize,
}

impl Counts {
    /// The counts of these lines.
    pub(crate) fn of(lines: &[JobLine]) -> Counts {
        let mut c = Counts {
            total: lines.len(),
            ..Counts::default()
        };
        for l in lines {
            if !l.history.alerts.is_empty() {
                c.alert += 1;
            }
            if l.history.tool_errors > 0 {
                c.tool_errors += 1;
            }
            match l.status {
                JobStatus::Succeeded => c.succeeded += 1,
                JobStatus::Failed => c.failed += 1,
                JobStatus::Fresh => c.fresh += 1,
                JobStatus::Interrupted => c.interrupted += 1,
                JobStatus::NotStarted => c.not_started += 1,
            }
        }
        c
    }
}

#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub(crate) struct UploadStats {
    /// Files uploaded in this run.
    pub uploaded: usize,
    /// Files whose cached id was verified and reused.
    pub reused: usize,
    pub bytes_uploaded: u64,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub(crate) struct JobLine {
    pub manifest: String,
    pub job: String,
    pub status: JobStatus,
    /// The job's folder, relative to the output root (`<manifest-stem>/<job>`).
    pub dir: String,
    pub fingerprint: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<JobError>,
    /// Why a job was not started: `max_fail`, `auth`, `spend_limit`, `budget`,
    /// `batch_canceled` ([`HaltKind`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<Reason>,
    /// The job's matrix cell (docs/manifest.md "Matrices"); absent when none.
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub params: std::collections::BTreeMap<String, String>,
    /// What a reader needs to compare nights (docs/output.md, "Run history").
    #[serde(flatten)]
    pub history: LineHistory,
}

impl JobLine {
    /// A job's line with no history yet.
    pub(crate) fn of(job: &PlannedJob, status: JobStatus, error: Option<JobError>) -> JobLine {
        JobLine {
            manifest: job.manifest.to_string(),
            job: job.name.clone(),
            status,
            dir: job.id.clone(),
            fingerprint: job.fingerprint.clone(),
            error,
            reason: None,
            params: job.params.clone(),
            history: LineHistory::default(),
        }
    }

    /// The line of a job that ended so: the one place a [`JobEnd`] becomes a status, an
    /// error and a reason.
    pub(crate) fn ended(job: &PlannedJob, end: JobEnd) -> JobLine {
        let status = end.status();
        let (error, reason) = match end {
            JobEnd::Succeeded => (None, None),
            JobEnd::Failed(error) => (Some(error), None),
            JobEnd::Interrupted(message) => {
                (Some(JobError::plain(ErrorKind::Interrupted, message)), None)
            }
            JobEnd::NotStarted(halt) => (
                Some(JobError::plain(ErrorKind::NotStarted, halt.message)),
                Some(Reason::Known(halt.kind)),
            ),
        };
        JobLine {
            reason,
            ..JobLine::of(job, status, error)
        }
    }

    /// The line says the job was not started for this reason.
    pub(crate) fn not_started_by(&self, kind: HaltKind) -> bool {
        self.reason == Some(Reason::Known(kind))
    }
}

/// The parts of a job's line that compare one night with another.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub(crate) struct LineHistory {
    /// Seconds the job took in this run, from its start to its folder being written.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration_secs: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub usage: Option<Usage>,
    /// What the job's requests cost in this run (its `job.json`'s `cost.usd`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cost_usd: Option<f64>,
    /// The generated files of the result this line describes (for a fresh job, the kept
    /// result's).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub outputs: Vec<LineOutput>,
    /// Whether the outputs differ from the job's previous successful result (names or
    /// hashes); absent when there is none to compare with.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub changed: Option<bool>,
    /// Where this run's failed attempt was written, relative to the output root
    /// (`runs/<run-id>/<stem>/<job>`), when the job folder kept an earlier success.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attempt: Option<String>,
    /// The values of the job's `metrics:` file (for a fresh job, the kept result's);
    /// absent when none (docs/output.md §6.1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metrics: Option<super::metric_values::Metrics>,
    /// The `alert:` thresholds this night's metrics crossed; absent when none.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub alerts: Vec<super::metric_values::Alert>,
    /// How many of the job's code executions came back as a tool error this night
    /// (its `job.json`'s `tool_errors`); absent when none.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub tool_errors: usize,
}

fn is_zero(n: &usize) -> bool {
    *n == 0
}

/// A generated file as a run record names it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct LineOutput {
    /// Relative to the job folder, e.g. `files/plot.png`.
    pub path: String,
    pub size: u64,
    pub blake3: String,
    /// As in `job.json` (docs/output.md §2.6): present only for an image whose C2PA
    /// manifest was stripped.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content_blake3: Option<String>,
}

impl LineOutput {
    /// What "the same file" compares: the content hash when there is one, else the bytes'.
    pub(crate) fn content(&self) -> &str {
        self.content_blake3.as_deref().unwrap_or(&self.blake3)
    }
}

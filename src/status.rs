//! The vocabulary of job results, shared by the output records (`job.json`, `run.json`)
//! and the display. A leaf: it imports nothing from the crate, so the display can speak of
//! results without depending on any stage (docs/output.md §2.2 and §6.1 list the words).

use serde::{Deserialize, Serialize};

/// A job's line in `run.json`.
#[derive(Clone, Copy, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub(crate) enum JobStatus {
    Succeeded,
    Failed,
    Fresh,
    Interrupted,
    /// Not started: the run stopped starting jobs (`--max-fail`, a revoked key, the spend
    /// limit, the budget); the line's `reason` says which.
    NotStarted,
}

impl JobStatus {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            JobStatus::Succeeded => "succeeded",
            JobStatus::Failed => "failed",
            JobStatus::Fresh => "fresh",
            JobStatus::Interrupted => "interrupted",
            JobStatus::NotStarted => "not_started",
        }
    }
}

/// Why a job failed: a stable word for scripts (`error.kind` in `job.json`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum ErrorKind {
    /// The API answered with an error status (after any retries).
    Api,
    /// No usable answer: connection failures or timeouts (after any retries).
    Transport,
    /// The response could not be understood.
    InvalidResponse,
    /// The last turn ended with `max_tokens`.
    MaxTokens,
    /// The model refused (its `stop_details` are in the request's record).
    Refusal,
    /// A turn ended with `model_context_window_exceeded`: the conversation outgrew the
    /// model's context window, and the response was cut there (docs/api.md §3.7).
    ContextWindowExceeded,
    /// `pause_turn` continued up to the cap without the turn ending.
    PauseTurnCap,
    /// Any other stop reason a code-execution-only job cannot handle (e.g. `tool_use`).
    UnexpectedStop,
    /// An input could not be uploaded.
    Upload,
    /// A generated file could not be downloaded or verified.
    Download,
    /// The generated files went over `--max-files`, `--max-file-size` or `--max-job-output`.
    OutputLimit,
    /// A file the manifest's `expect` names was still not produced after the repair turns.
    MissingOutput,
    /// The job's `metrics` file was produced but is not a flat JSON object of finite
    /// numbers (or holds too many, or too long names).
    BadMetrics,
    /// Writing the job's output failed.
    Write,
    /// The run was interrupted before the job finished.
    Interrupted,
    /// The runner itself failed while running the job (a bug: its task panicked).
    Internal,
    /// The job's conversation ran past the manifest's `timeout`.
    Timeout,
    /// The job's manifest or inputs are invalid (`--keep-going`); it was not sent.
    Invalid,
    /// The run stopped starting jobs before this one (its line's `reason` says why).
    NotStarted,
    /// The next request could not fit `--budget-usd`, even with nothing else in flight; it
    /// was not sent.
    Budget,
    /// Batch mode: a request expired in Message Batches twice.
    BatchExpired,
    /// One of the job's Agent Skills could not be uploaded, or the API refused one
    /// (missing, undecryptable, a bad version, or skills in a batch).
    Skill,
    /// An input was older than the job's `max_input_age`; the job was not sent.
    StaleInput,
    /// A `for_each` glob matched no file (and the entry does not say `allow_empty: true`).
    NoInputs,
}

impl ErrorKind {
    /// The word as it appears in `job.json`.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            ErrorKind::Api => "api",
            ErrorKind::Transport => "transport",
            ErrorKind::InvalidResponse => "invalid_response",
            ErrorKind::MaxTokens => "max_tokens",
            ErrorKind::Refusal => "refusal",
            ErrorKind::ContextWindowExceeded => "context_window_exceeded",
            ErrorKind::PauseTurnCap => "pause_turn_cap",
            ErrorKind::UnexpectedStop => "unexpected_stop",
            ErrorKind::Upload => "upload",
            ErrorKind::Download => "download",
            ErrorKind::OutputLimit => "output_limit",
            ErrorKind::MissingOutput => "missing_output",
            ErrorKind::BadMetrics => "bad_metrics",
            ErrorKind::Write => "write",
            ErrorKind::Interrupted => "interrupted",
            ErrorKind::Internal => "internal",
            ErrorKind::Timeout => "timeout",
            ErrorKind::Invalid => "invalid",
            ErrorKind::NotStarted => "not_started",
            ErrorKind::Budget => "budget",
            ErrorKind::BatchExpired => "batch_expired",
            ErrorKind::Skill => "skill",
            ErrorKind::StaleInput => "stale_input",
            ErrorKind::NoInputs => "no_inputs",
        }
    }
}

impl std::fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_match_serde() {
        for kind in [
            ErrorKind::Api,
            ErrorKind::Transport,
            ErrorKind::InvalidResponse,
            ErrorKind::MaxTokens,
            ErrorKind::Refusal,
            ErrorKind::ContextWindowExceeded,
            ErrorKind::PauseTurnCap,
            ErrorKind::UnexpectedStop,
            ErrorKind::Upload,
            ErrorKind::Download,
            ErrorKind::OutputLimit,
            ErrorKind::MissingOutput,
            ErrorKind::BadMetrics,
            ErrorKind::Write,
            ErrorKind::Interrupted,
            ErrorKind::Internal,
            ErrorKind::Timeout,
            ErrorKind::Invalid,
            ErrorKind::NotStarted,
            ErrorKind::Budget,
            ErrorKind::BatchExpired,
            ErrorKind::Skill,
            ErrorKind::StaleInput,
            ErrorKind::NoInputs,
        ] {
            assert_eq!(serde_json::to_value(kind).unwrap(), kind.as_str());
        }
        for status in [
            JobStatus::Succeeded,
            JobStatus::Failed,
            JobStatus::Fresh,
            JobStatus::Interrupted,
            JobStatus::NotStarted,
        ] {
            assert_eq!(serde_json::to_value(status).unwrap(), status.as_str());
        }
    }
}

//! The plain data that flows from `run` through `collect` to `write`: what happened to each
//! job, with every response kept raw so nothing received is ever lost.

use serde::{Deserialize, Serialize};

use crate::plan::{PlannedInput, PlannedJob};

/// Token and tool counters, summed over requests. Every field is optional on the wire.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Usage {
    #[serde(default)]
    pub input_tokens: u64,
    #[serde(default)]
    pub output_tokens: u64,
    #[serde(default)]
    pub cache_creation_input_tokens: u64,
    #[serde(default)]
    pub cache_read_input_tokens: u64,
    #[serde(default)]
    pub code_execution_requests: u64,
}

impl Usage {
    /// Reads a raw `usage` object, tolerating nulls and missing keys (REFERENCE.md §3.8).
    pub fn from_wire(usage: &serde_json::Value) -> Usage {
        let n = |v: &serde_json::Value| v.as_u64().unwrap_or(0);
        Usage {
            input_tokens: n(&usage["input_tokens"]),
            output_tokens: n(&usage["output_tokens"]),
            cache_creation_input_tokens: n(&usage["cache_creation_input_tokens"]),
            cache_read_input_tokens: n(&usage["cache_read_input_tokens"]),
            code_execution_requests: n(&usage["server_tool_use"]["code_execution_requests"]),
        }
    }

    /// Saturating: the counts come from a server, and an absurd one must not panic a run.
    pub fn add(&mut self, other: &Usage) {
        let sum = |a: &mut u64, b: u64| *a = a.saturating_add(b);
        sum(&mut self.input_tokens, other.input_tokens);
        sum(&mut self.output_tokens, other.output_tokens);
        sum(
            &mut self.cache_creation_input_tokens,
            other.cache_creation_input_tokens,
        );
        sum(
            &mut self.cache_read_input_tokens,
            other.cache_read_input_tokens,
        );
        sum(
            &mut self.code_execution_requests,
            other.code_execution_requests,
        );
    }
}

/// One Messages request and its response.
#[derive(Clone, Debug, Serialize)]
pub struct Exchange {
    /// 0 for the prompt, 1.. for each follow-up.
    pub turn: usize,
    /// 0 for the turn's first request, then 1.. for each `pause_turn` continuation.
    pub continuation: u32,
    pub request_id: Option<String>,
    pub stop_reason: Option<String>,
    pub usage: Usage,
    /// The response body exactly as received (parsed JSON).
    pub response: serde_json::Value,
}

/// Why a job failed. `kind` is a stable word for scripts; `message` is for people.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct JobError {
    pub kind: ErrorKind,
    pub message: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorKind {
    /// The API answered with an error status (after any retries).
    Api,
    /// No usable answer: connection failures or timeouts (after any retries).
    Transport,
    /// The response could not be understood.
    InvalidResponse,
    /// The last turn ended with `max_tokens`.
    MaxTokens,
    /// The model refused.
    Refusal,
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
    /// Writing the job's output failed.
    Write,
    /// The run was interrupted before the job finished.
    Interrupted,
}

/// A file Claude generated, as downloaded into the job's `files/` folder.
#[derive(Clone, Debug, Serialize)]
pub struct OutputFile {
    /// The sanitised name it was saved under, inside `files/`.
    pub name: String,
    /// Path relative to the job folder, e.g. `files/plot.png`.
    pub path: String,
    pub file_id: String,
    pub size: u64,
    pub blake3: String,
    /// The name the API gave it, when different from `name`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub original_name: Option<String>,
    pub mime_type: Option<String>,
}

/// An input as attached to the job.
#[derive(Clone, Debug, Serialize)]
pub struct AttachedInput {
    #[serde(flatten)]
    pub input: PlannedInput,
    pub file_id: Option<String>,
}

/// Everything known about one job at the end of the run; `write.rs` lays it out.
#[derive(Clone, Debug)]
pub struct JobOutcome {
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
}

impl JobOutcome {
    pub fn succeeded(&self) -> bool {
        self.error.is_none()
    }

    pub fn usage(&self) -> Usage {
        let mut total = Usage::default();
        for e in &self.exchanges {
            total.add(&e.usage);
        }
        total
    }
}

/// A job's line in `run.json`.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum JobStatus {
    Succeeded,
    Failed,
    Fresh,
    Interrupted,
}

/// The content of `run.json`, and of `runner run --json`.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct RunSummary {
    pub runner_version: String,
    pub started_at: jiff::Timestamp,
    pub finished_at: jiff::Timestamp,
    pub exit_code: u8,
    pub counts: Counts,
    pub uploads: UploadStats,
    pub usage: Usage,
    pub jobs: Vec<JobLine>,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct Counts {
    pub total: usize,
    pub succeeded: usize,
    pub failed: usize,
    pub fresh: usize,
    pub interrupted: usize,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct UploadStats {
    /// Files uploaded in this run.
    pub uploaded: usize,
    /// Files whose cached id was verified and reused.
    pub reused: usize,
    pub bytes_uploaded: u64,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct JobLine {
    pub manifest: String,
    pub job: String,
    pub status: JobStatus,
    /// The job's folder, relative to the output root (`<manifest-stem>/<job>`).
    pub dir: String,
    pub fingerprint: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<JobError>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usage_from_a_server_saturates_instead_of_overflowing() {
        let huge = Usage::from_wire(&serde_json::json!({
            "input_tokens": u64::MAX, "output_tokens": -1, "server_tool_use": "x"
        }));
        assert_eq!(huge.output_tokens, 0);
        let mut total = huge;
        total.add(&huge);
        assert_eq!(total.input_tokens, u64::MAX);
    }
}

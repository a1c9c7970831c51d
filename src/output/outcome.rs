//! The plain data the engine hands to the output writer: what happened to each job, with
//! every response kept raw so nothing received is ever lost, and the run's record.

use serde::{Deserialize, Serialize};

use crate::api::messages::Usage;
use crate::plan::{PlannedInput, PlannedJob};
use crate::status::{ErrorKind, JobStatus};

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
    /// The turn (0 for the prompt) whose response first named the file.
    pub turn: usize,
}

/// An input as attached to the job.
#[derive(Clone, Debug, Serialize)]
pub struct AttachedInput {
    #[serde(flatten)]
    pub input: PlannedInput,
    pub file_id: Option<String>,
}

/// Everything known about one job at the end of the run; the output writer lays it out.
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
    /// From the job's first request to its folder written; omitted for a job that did not
    /// run (fresh, interrupted before it started).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration_seconds: Option<f64>,
    /// The job's usage in this run; omitted for a job that did not run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub usage: Option<Usage>,
    /// [`outputs_digest`] of what a succeeded job saved, so a later page can tell whether
    /// the outputs changed between runs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub outputs_blake3: Option<String>,
}

/// BLAKE3 over the saved files' names and hashes, in order (docs/output.md §6.1).
pub fn outputs_digest(outputs: &[OutputFile]) -> String {
    let mut h = blake3::Hasher::new();
    for f in outputs {
        h.update(f.name.as_bytes());
        h.update(b"\0");
        h.update(f.blake3.as_bytes());
        h.update(b"\n");
    }
    format!("blake3:{}", h.finalize().to_hex())
}

//! What every request of a job carries besides its messages: the request parameters, and
//! the `anthropic-version` a run's Files calls send. Pure, so `runner plan --estimate`
//! counts tokens of exactly the parameters `runner run` sends.

use serde_json::Value;

use super::PlannedJob;
use crate::api::facts::DEFAULT_API_VERSION;
use crate::api::messages::{self as wire, Params};

/// The request parameters of a job, for the wire.
pub(crate) fn request_params(job: &PlannedJob) -> Value {
    let s = &job.settings;
    wire::request_params(&Params {
        model: &s.model,
        max_tokens: s.max_tokens,
        system: &super::shared_system(s.system.as_deref()),
        tool: &s.tool,
        temperature: s.temperature,
        top_p: s.top_p,
        top_k: s.top_k,
        thinking: s.thinking_param(),
        effort: s.effort.as_deref(),
        cache: job.cache,
    })
}

/// What the job's first user message starts with: its attached files and deliverables,
/// after the shared prefix's cache breakpoint (docs/api.md §3.11).
pub(crate) fn first_turn_note(job: &PlannedJob) -> String {
    super::job_note(&job.inputs, job.deliverables.as_ref())
}

/// The `anthropic-version` a run's Files calls send: the one every job to run asks for, or
/// the default when they differ (uploads are shared between jobs; docs/api.md §0.3).
pub(crate) fn files_api_version(jobs: &[&PlannedJob]) -> String {
    let mut versions = jobs.iter().map(|j| j.settings.api_version.as_str());
    let first = versions.next().unwrap_or(DEFAULT_API_VERSION);
    if versions.all(|v| v == first) {
        first.to_owned()
    } else {
        DEFAULT_API_VERSION.to_owned()
    }
}

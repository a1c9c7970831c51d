//! One job, from waiting for its inputs to its output folder. Never fails: whatever
//! happens is the job's status, written to its folder and returned as its line.

use std::collections::BTreeMap;
use std::sync::Arc;

use camino::Utf8Path;
use tokio::sync::Semaphore;

use super::Ctx;
use super::batcher::Batcher;
use super::conversation::{self, Conversation};
use super::downloads::{self, OutputLimits};
use super::halt::{HaltKind, HaltReason};
use super::uploads::{UploadResult, Uploads};
use crate::api::FileMeta;
use crate::api::messages::Usage;
use crate::api::retry::retry;
use crate::output::attempts::{self, Kept};
use crate::output::outcome::{AttachedInput, JobError, JobLine, JobOutcome, LineHistory};
use crate::output::staging::Staging;
use crate::plan::PlannedJob;
use crate::status::{ErrorKind, JobStatus};
use crate::ui::events::{Event, Failure};

pub async fn run_one(
    ctx: &Ctx,
    uploads: &Arc<Uploads>,
    permits: &Semaphore,
    limits: OutputLimits,
    out: &Utf8Path,
    job: PlannedJob,
) -> (JobLine, Usage) {
    ctx.reporter
        .report(Event::JobWaiting { id: job.id.clone() });
    // Batch mode: rounds wait for this job until its conversation is over.
    let enrolled = ctx.batcher.as_ref().map(Batcher::enroll);
    let inputs: Vec<_> = job
        .inputs
        .iter()
        .filter_map(|i| uploads.handle(&i.content()))
        .collect();
    let ready = tokio::select! {
        r = futures_util::future::join_all(inputs) => Some(r),
        () = ctx.cancel.cancelled() => None,
    };
    let Some(uploaded) = ready else {
        return interrupted(ctx, &job);
    };
    // A `-j` slot is one conversation in flight; it is released when the conversation
    // ends, so downloading and writing this job overlap the next job's conversation.
    let permit = tokio::select! {
        p = permits.acquire() => p.ok(),
        () = ctx.cancel.cancelled() => None,
    };
    if ctx.cancel.is_cancelled() {
        return interrupted(ctx, &job);
    }
    if let Some(reason) = ctx.halt.reason() {
        return not_started(ctx, &job, reason);
    }
    let started_at = jiff::Timestamp::now();
    // A batch takes as long as the API's queue does (up to 24 h): the manifest's
    // `timeout` bounds online conversations only (docs/output.md §15).
    let deadline = job
        .settings
        .timeout
        .filter(|_| ctx.batcher.is_none())
        .map(|t| tokio::time::Instant::now() + t);
    // The output folder must be writable before the conversation is paid for.
    let staging = match Staging::new(out, &job.id) {
        Ok(staging) => staging,
        Err(e) => {
            let error = JobError {
                kind: ErrorKind::Write,
                message: format!("cannot write the output of {}: {e}", job.id),
                request_id: None,
            };
            return finished(ctx, &job, Some(error), Usage::default());
        }
    };
    let mut file_ids = Vec::new();
    let mut upload_error = None;
    for (input, result) in job.inputs.iter().zip(&uploaded) {
        match result {
            Ok(ready) => file_ids.push(ready.file_id.clone()),
            Err(e) => upload_error = Some(format!("input {}: {e}", input.path)),
        }
    }
    let conversation = match upload_error {
        Some(message) => Conversation {
            request: conversation::request_params(&job),
            error: Some(JobError {
                kind: ErrorKind::Upload,
                message,
                request_id: None,
            }),
            ..Conversation::default()
        },
        None => {
            let first =
                conversation::converse(ctx, &job, &file_ids, limits.max_files, deadline).await;
            if first.first_request_not_found()
                && refresh_lost_inputs(ctx, uploads, &job, &mut file_ids).await
            {
                tracing::warn!(
                    job = job.id,
                    "an attached file was gone; uploaded it again, retrying the job once"
                );
                conversation::converse(ctx, &job, &file_ids, limits.max_files, deadline).await
            } else {
                first
            }
        }
    };
    match &conversation.error {
        Some(e) if e.kind == ErrorKind::Interrupted && !ctx.cancel.is_cancelled() => {
            return interrupted_with(ctx, &job, e.message.clone());
        }
        Some(e) if e.kind == ErrorKind::Interrupted => return interrupted(ctx, &job),
        Some(e) if e.kind == ErrorKind::NotStarted => {
            let reason = HaltReason {
                kind: conversation.not_started.unwrap_or(HaltKind::BatchCanceled),
                message: e.message.clone(),
            };
            return not_started(ctx, &job, &reason);
        }
        _ => {}
    }
    // Counted before the permit is released, so `--max-fail` stops the next job in line.
    let counted = conversation.error.is_some();
    if counted {
        ctx.failures.failed(&ctx.halt, ctx.max_fail);
    }
    drop(permit);
    drop(enrolled);
    let mut outcome = JobOutcome {
        inputs: attached(&job, &file_ids, &uploaded),
        job,
        error: conversation.error,
        started_at,
        finished_at: started_at,
        request: conversation.request,
        messages: conversation.messages,
        exchanges: conversation.exchanges,
        container_id: conversation.container_id,
        outputs: Vec::new(),
        repair_turns: conversation.deliverables.repair_turns,
    };
    let metas = conversation.deliverables.metas;
    let kept = match write_outcome(ctx, limits, out, &mut outcome, staging, &metas).await {
        Ok(kept) => kept,
        Err(e) => {
            outcome.error.get_or_insert(e);
            Kept::default()
        }
    };
    if outcome.error.is_some() && !counted {
        ctx.failures.failed(&ctx.halt, ctx.max_fail);
    }
    let usage = outcome.usage();
    let (mut line, usage) = finished(ctx, &outcome.job, outcome.error.clone(), usage);
    line.history = LineHistory {
        duration_secs: Some(
            outcome
                .finished_at
                .duration_since(outcome.started_at)
                .as_secs_f64(),
        ),
        usage: Some(usage),
        outputs: kept.outputs,
        changed: kept.changed,
        attempt: kept.attempt,
    };
    (line, usage)
}

/// The ids the conversation used: after a re-upload, the new ones.
fn attached(
    job: &PlannedJob,
    file_ids: &[String],
    uploaded: &[UploadResult],
) -> Vec<AttachedInput> {
    if file_ids.len() == job.inputs.len() {
        job.inputs
            .iter()
            .zip(file_ids)
            .map(|(i, id)| AttachedInput {
                input: i.clone(),
                file_id: Some(id.clone()),
            })
            .collect()
    } else {
        job.inputs
            .iter()
            .zip(uploaded)
            .map(|(i, r)| AttachedInput {
                input: i.clone(),
                file_id: r.as_ref().ok().map(|ready| ready.file_id.clone()),
            })
            .collect()
    }
}

/// After a 404 on a job's first request: asks the Files API which of the job's file ids are
/// gone and uploads those inputs again (once per content across all jobs of the run).
/// Returns whether anything was replaced, i.e. whether retrying the job can help.
async fn refresh_lost_inputs(
    ctx: &Ctx,
    uploads: &Uploads,
    job: &PlannedJob,
    file_ids: &mut [String],
) -> bool {
    let Ok(alive) = retry(&ctx.policy, |attempt| {
        ctx.client
            .files_by_ids(file_ids, &ctx.files_version, attempt)
    })
    .await
    else {
        return false;
    };
    let mut replaced = false;
    for (input, id) in job.inputs.iter().zip(file_ids.iter_mut()) {
        if alive.iter().any(|m| &m.id == id) {
            continue;
        }
        let Some(handle) = uploads.reupload(&input.content()) else {
            return false;
        };
        match handle.await {
            Ok(ready) => {
                *id = ready.file_id;
                replaced = true;
            }
            Err(e) => {
                tracing::warn!(job = job.id, "re-upload of {} failed: {e}", input.path);
                return false;
            }
        }
    }
    replaced
}

/// Downloads the generated files (even for a failed job: they are what it produced) and
/// writes the job folder. `metas`: metadata the deliverables check already fetched.
async fn write_outcome(
    ctx: &Ctx,
    limits: OutputLimits,
    out: &Utf8Path,
    outcome: &mut JobOutcome,
    staging: Staging,
    metas: &BTreeMap<String, FileMeta>,
) -> Result<Kept, JobError> {
    let (id, exchanges) = (&outcome.job.id, &outcome.exchanges);
    match downloads::collect(ctx, limits, id, exchanges, &staging, metas).await {
        Ok(outputs) => outcome.outputs = outputs,
        Err(e) => {
            outcome.error.get_or_insert(e);
        }
    }
    outcome.finished_at = jiff::Timestamp::now();
    let id = outcome.job.id.clone();
    // A failure never replaces a kept success: it goes to the run's history folder.
    attempts::write(staging, outcome, out, &ctx.attempts_root).map_err(|e| JobError {
        kind: ErrorKind::Write,
        message: format!("cannot write the output of {id}: {e}"),
        request_id: None,
    })
}

/// Reports the job's end and makes its line.
fn finished(
    ctx: &Ctx,
    job: &PlannedJob,
    error: Option<JobError>,
    usage: Usage,
) -> (JobLine, Usage) {
    let status = if error.is_some() {
        JobStatus::Failed
    } else {
        JobStatus::Succeeded
    };
    ctx.reporter.report(Event::JobFinished {
        id: job.id.clone(),
        status,
        failure: error.as_ref().map(|e| Failure {
            kind: e.kind,
            message: e.message.clone(),
        }),
    });
    (line(job, status, error), usage)
}

/// A job the run stopped starting (`--max-fail`, a refused key, the spend limit, the budget): no
/// folder is written for it.
fn not_started(ctx: &Ctx, job: &PlannedJob, reason: &HaltReason) -> (JobLine, Usage) {
    ctx.reporter.report(Event::JobFinished {
        id: job.id.clone(),
        status: JobStatus::NotStarted,
        failure: None,
    });
    let error = JobError {
        kind: ErrorKind::NotStarted,
        message: reason.message.clone(),
        request_id: None,
    };
    let mut line = line(job, JobStatus::NotStarted, Some(error));
    line.reason = Some(reason.kind.as_str().to_owned());
    (line, Usage::default())
}

fn interrupted(ctx: &Ctx, job: &PlannedJob) -> (JobLine, Usage) {
    interrupted_with(
        ctx,
        job,
        "the run was interrupted before this job finished; run again to continue".into(),
    )
}

fn interrupted_with(ctx: &Ctx, job: &PlannedJob, message: String) -> (JobLine, Usage) {
    ctx.reporter.report(Event::JobFinished {
        id: job.id.clone(),
        status: JobStatus::Interrupted,
        failure: None,
    });
    let error = JobError {
        kind: ErrorKind::Interrupted,
        message,
        request_id: None,
    };
    (
        line(job, JobStatus::Interrupted, Some(error)),
        Usage::default(),
    )
}

/// The job's line in `run.json`.
pub fn line(job: &PlannedJob, status: JobStatus, error: Option<JobError>) -> JobLine {
    JobLine {
        manifest: job.manifest.to_string(),
        job: job.name.clone(),
        status,
        dir: job.id.clone(),
        fingerprint: job.fingerprint.clone(),
        error,
        reason: None,
        history: LineHistory::default(),
    }
}

//! One job, from waiting for its inputs to its output folder. Never fails: whatever
//! happens is the job's [`JobEnd`], written to its folder and returned as its line.

use std::sync::Arc;

use camino::Utf8Path;
use tokio::sync::Semaphore;

use super::batcher::Batcher;
use super::conversation::{self, Attached, Conversation};
use super::ctx::Ctx;
use super::downloads;
use super::skills;
use super::uploads::{UploadResult, Uploads};
use crate::api::messages::Usage;
use crate::api::retry::retry;
use crate::output::attempts::{self, Kept};
use crate::output::outcome::{AttachedInput, JobEnd, JobError, JobLine, JobOutcome, LineHistory};
use crate::output::staging::Staging;
use crate::plan::PlannedJob;
use crate::status::ErrorKind;
use crate::ui::events::Event;

pub(super) async fn run_one(
    ctx: &Ctx,
    uploads: &Arc<Uploads>,
    permits: &Semaphore,
    out: &Utf8Path,
    job: PlannedJob,
) -> (JobLine, Usage) {
    ctx.reporter
        .report(Event::JobWaiting { id: job.id.clone() });
    // Batch mode: rounds wait for this job until its conversation is over.
    let enrolled = ctx.batcher.as_ref().map(Batcher::enroll);
    // A stale job waits for no upload: its inputs are not uploaded for it (`talk`).
    let inputs: Vec<_> = job
        .inputs
        .iter()
        .filter(|_| job.stale.is_none())
        .filter_map(|i| uploads.handle(&i.content()))
        .collect();
    // Batch mode: while this job waits for its uploads, rounds of the jobs whose uploads
    // are done go out without it, a slice at a time.
    let uploading = ctx.batcher.as_ref().map(Batcher::waiting_for_uploads);
    let ready = tokio::select! {
        r = futures_util::future::join_all(inputs) => Some(r),
        () = ctx.cancel.cancelled() => None,
    };
    drop(uploading);
    let Some(uploaded) = ready else {
        return ended(ctx, &job, JobEnd::run_interrupted());
    };
    // A `-j` slot is one conversation in flight; it is released when the conversation
    // ends, so downloading and writing this job overlap the next job's conversation.
    let permit = tokio::select! {
        p = permits.acquire() => p.ok(),
        () = ctx.cancel.cancelled() => None,
    };
    if ctx.cancel.is_cancelled() {
        return ended(ctx, &job, JobEnd::run_interrupted());
    }
    if let Some(reason) = ctx.halt.reason() {
        return ended(ctx, &job, JobEnd::NotStarted(reason.clone()));
    }
    let started_at = jiff::Timestamp::now();
    // The output folder must be writable before the conversation is paid for.
    let staging = match Staging::new(out, &job.id) {
        Ok(staging) => staging,
        Err(e) => return ended(ctx, &job, JobEnd::Failed(write_error(&job, &e))),
    };
    let (conversation, file_ids) = talk(ctx, uploads, &job, &uploaded).await;
    let error = match conversation.end {
        // The run's own interrupt says so in the run's words.
        JobEnd::Interrupted(_) if ctx.cancel.is_cancelled() => {
            return ended(ctx, &job, JobEnd::run_interrupted());
        }
        end @ (JobEnd::Interrupted(_) | JobEnd::NotStarted(_)) => return ended(ctx, &job, end),
        JobEnd::Failed(ref e) => Some(e.clone()),
        JobEnd::Succeeded => None,
    };
    // Counted before the permit is released, so `--max-fail` stops the next job in line.
    if error.is_some() {
        ctx.job_failed();
    }
    drop(permit);
    drop(enrolled);
    let inputs = attached(&job, &file_ids, &uploaded);
    let done = Done {
        job,
        conversation,
        inputs,
        started_at,
    };
    write_job(ctx, out, done, staging).await
}

/// The conversation, once every input has a file id: else the upload's failure, sent
/// nothing. A 404 on the first request may be a file the API lost: it is uploaded again
/// and the conversation retried once. Returns the file ids the conversation used.
async fn talk(
    ctx: &Ctx,
    uploads: &Uploads,
    job: &PlannedJob,
    uploaded: &[UploadResult],
) -> (Conversation, Vec<String>) {
    let mut file_ids = Vec::new();
    if let Some(message) = &job.stale {
        let error = JobError::plain(ErrorKind::StaleInput, message.clone());
        return (Conversation::unsent(job, JobEnd::Failed(error)), file_ids);
    }
    let mut upload_error = None;
    for (input, result) in job.inputs.iter().zip(uploaded) {
        match result {
            Ok(ready) => file_ids.push(ready.file_id.clone()),
            Err(e) => {
                let message = format!("input {}: {e}", input.path);
                upload_error = Some(JobError::plain(ErrorKind::Upload, message));
            }
        }
    }
    if let Some(error) = upload_error {
        return (Conversation::unsent(job, JobEnd::Failed(error)), file_ids);
    }
    // A batch takes as long as the API's queue does (up to 24 h): the manifest's
    // `timeout` bounds online conversations only (docs/output.md §15).
    let deadline = job
        .settings
        .timeout
        .filter(|_| ctx.batcher.is_none())
        .map(|t| tokio::time::Instant::now() + t);
    let api = skills::Api {
        client: &ctx.client,
        version: &ctx.files_version,
        policy: &ctx.settings.policy,
    };
    let skills = match ctx.skills.wire(api, job).await {
        Ok(skills) => skills,
        Err(error) => return (Conversation::unsent(job, JobEnd::Failed(error)), file_ids),
    };
    let max_files = ctx.settings.limits.max_files;
    let attached = Attached {
        file_ids: &file_ids,
        skills: &skills,
    };
    let first = conversation::converse(ctx, job, attached, max_files, deadline).await;
    if first.first_request_not_found()
        && refresh_lost_inputs(ctx, uploads, job, &mut file_ids).await
    {
        tracing::warn!(
            job = job.id,
            "an attached file was gone; uploaded it again, retrying the job once"
        );
        let attached = Attached {
            file_ids: &file_ids,
            skills: &skills,
        };
        let again = conversation::converse(ctx, job, attached, max_files, deadline).await;
        return (again, file_ids);
    }
    (first, file_ids)
}

/// A job whose conversation is over (succeeded or failed), to be written.
struct Done {
    job: PlannedJob,
    conversation: Conversation,
    inputs: Vec<AttachedInput>,
    started_at: jiff::Timestamp,
}

/// Downloads the generated files (even for a failed job: they are what it produced),
/// writes the job folder and makes the line. A failure here fails the job too, unless its
/// conversation had failed it already.
async fn write_job(ctx: &Ctx, out: &Utf8Path, done: Done, staging: Staging) -> (JobLine, Usage) {
    let Done {
        job,
        conversation: conv,
        inputs,
        started_at,
    } = done;
    let counted = conv.end.failure().is_some();
    let metas = &conv.deliverables.metas;
    let limits = ctx.settings.limits;
    let collected = downloads::collect(ctx, limits, &job.id, &conv.exchanges, &staging, metas);
    let (outputs, download_error) = match collected.await {
        Ok(outputs) => (outputs, None),
        Err(e) => (Vec::new(), Some(e)),
    };
    let mut error = conv.end.failure().cloned().or(download_error);
    let metrics = match (
        &error,
        job.deliverables.as_ref().and_then(|d| d.metrics.as_deref()),
    ) {
        (None, Some(name)) => read_metrics(&staging, &outputs, name)
            .map_err(|e| error = Some(e))
            .ok(),
        _ => None,
    };
    let outcome = JobOutcome {
        error,
        finished_at: jiff::Timestamp::now(),
        inputs,
        outputs,
        job,
        started_at,
        request: conv.request,
        messages: conv.messages,
        exchanges: conv.exchanges,
        container_id: conv.container_id,
        repair_turns: conv.deliverables.repair_turns,
        metrics,
    };
    // A failure never replaces a kept success: it goes to the run's history folder.
    let written = attempts::write(staging, &outcome, out, &ctx.attempts_root);
    let mut error = outcome.error.clone();
    let kept = written.unwrap_or_else(|e| {
        error.get_or_insert(write_error(&outcome.job, &e));
        Kept::default()
    });
    if error.is_some() && !counted {
        ctx.job_failed();
    }
    let usage = outcome.usage();
    let (mut line, usage) = ended_with(ctx, &outcome.job, JobEnd::from_error(error), usage);
    line.history = LineHistory {
        duration_secs: Some(
            outcome
                .finished_at
                .duration_since(outcome.started_at)
                .as_secs_f64(),
        ),
        usage: Some(usage),
        cost_usd: Some(outcome.cost().usd),
        outputs: kept.outputs,
        changed: kept.changed,
        attempt: kept.attempt,
        metrics: outcome.metrics.clone(),
        alerts: Vec::new(),
        tool_errors: crate::output::tool_errors::of(&outcome.exchanges).len(),
    };
    (line, usage)
}

/// The job's `metrics:` file among its downloaded outputs, parsed (docs/output.md §2.12).
/// The deliverables check made sure it was produced; one that does not parse fails the job
/// with kind `bad_metrics` (its files are kept, as for any failure).
fn read_metrics(
    staging: &Staging,
    outputs: &[crate::output::outcome::OutputFile],
    name: &str,
) -> Result<crate::output::metrics::Metrics, JobError> {
    let bad = |why: String| JobError::plain(ErrorKind::BadMetrics, format!("`{name}`: {why}"));
    let file = outputs
        .iter()
        .find(|f| {
            let given = f.original_name.as_deref().unwrap_or(&f.name);
            given.rsplit(['/', '\\']).next() == Some(name)
        })
        .ok_or_else(|| bad("not among the downloaded files".into()))?;
    if file.size > crate::output::metrics::MAX_METRICS_BYTES {
        return Err(bad(format!(
            "it is over {} bytes",
            crate::output::metrics::MAX_METRICS_BYTES
        )));
    }
    let bytes = fs_err::read(staging.path(&file.path)).map_err(|e| bad(e.to_string()))?;
    crate::output::metrics::parse(&bytes).map_err(bad)
}

fn write_error(job: &PlannedJob, e: &dyn std::fmt::Display) -> JobError {
    JobError::plain(
        ErrorKind::Write,
        format!("cannot write the output of {}: {e}", job.id),
    )
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
/// gone or expired (an expired file stays listed) and uploads those inputs again (once per content across all jobs of the run).
/// Returns whether anything was replaced, i.e. whether retrying the job can help.
async fn refresh_lost_inputs(
    ctx: &Ctx,
    uploads: &Uploads,
    job: &PlannedJob,
    file_ids: &mut [String],
) -> bool {
    let Ok(alive) = retry(&ctx.settings.policy, |attempt| {
        ctx.client
            .files_by_ids(file_ids, &ctx.files_version, attempt)
    })
    .await
    else {
        return false;
    };
    let mut replaced = false;
    let now = jiff::Timestamp::now();
    for (input, id) in job.inputs.iter().zip(file_ids.iter_mut()) {
        if alive
            .iter()
            .any(|m| &m.id == id && super::uploads::usable_until(m, now))
        {
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

/// The line of a job that ended without using anything.
fn ended(ctx: &Ctx, job: &PlannedJob, end: JobEnd) -> (JobLine, Usage) {
    ended_with(ctx, job, end, Usage::default())
}

/// Reports the job's end and makes its line.
fn ended_with(ctx: &Ctx, job: &PlannedJob, end: JobEnd, usage: Usage) -> (JobLine, Usage) {
    ctx.reporter.report(Event::JobFinished {
        id: job.id.clone(),
        status: end.status(),
        failure: end.failure().map(JobError::failure),
    });
    (JobLine::ended(job, end), usage)
}

//! Stage 6: download every file the code generated into the job's staging `files/`
//! folder, under a sanitised unique name, verified against the size the metadata gives
//! (a short body is retried like any transient failure).

use camino::Utf8Path;

use crate::api::{ApiClient, ApiError, ApiErrorKind};
use crate::events::Event;
use crate::outcome::{ErrorKind, Exchange, JobError, OutputFile};
use crate::outdir::Staging;
use crate::run::RunCtx;
use crate::safe_name::NameSet;
use crate::wire;

pub async fn collect(
    ctx: &RunCtx<'_>,
    job_id: &str,
    exchanges: &[Exchange],
    staging: &Staging,
) -> Result<Vec<OutputFile>, JobError> {
    let mut ids: Vec<String> = Vec::new();
    for e in exchanges {
        for id in wire::generated_file_ids(&e.response["content"]) {
            if !ids.contains(&id) {
                ids.push(id);
            }
        }
    }
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    ctx.reporter.report(Event::JobState {
        id: job_id.to_owned(),
        state: format!(
            "downloading {} file{}",
            ids.len(),
            if ids.len() == 1 { "" } else { "s" }
        ),
    });
    let mut names = NameSet::new();
    let mut outputs = Vec::with_capacity(ids.len());
    for id in ids {
        let fail = |e: &dyn std::fmt::Display, request_id: Option<String>| JobError {
            kind: ErrorKind::Download,
            message: format!("generated file {id}: {e}"),
            request_id,
        };
        let meta = crate::retry::retry(ctx.policy, ctx.files_gate, |attempt| {
            ctx.client.file_meta(&id, attempt)
        })
        .await
        .map_err(|e| fail(&e, e.error.request_id.clone()))?;
        let name = names.claim(&meta.filename);
        let dest = staging.files_dir().join(&name);
        let (size, blake3) = crate::retry::retry(ctx.policy, ctx.files_gate, |attempt| {
            download_verified(ctx.client, &id, meta.size_bytes, &dest, attempt)
        })
        .await
        .map_err(|e| fail(&e, e.error.request_id.clone()))?;
        outputs.push(OutputFile {
            path: format!("files/{name}"),
            original_name: (name != meta.filename).then(|| meta.filename.clone()),
            name,
            file_id: id.clone(),
            size,
            blake3,
            mime_type: meta.mime_type.clone(),
        });
    }
    Ok(outputs)
}

/// One download attempt into a temporary file beside `dest`, renamed into place only when
/// the byte count matches the metadata.
async fn download_verified(
    client: &ApiClient,
    id: &str,
    expected: u64,
    dest: &Utf8Path,
    attempt: u32,
) -> Result<(u64, String), ApiError> {
    let local = |m: String| ApiError {
        endpoint: "GET /v1/files/{id}/content".into(),
        kind: ApiErrorKind::Local(m),
        request_id: None,
        retry_after: None,
        should_retry: Some(false),
    };
    let dir = dest.parent().unwrap_or(Utf8Path::new("."));
    let mut tmp = tempfile::Builder::new()
        .prefix(".download-")
        .tempfile_in(dir)
        .map_err(|e| local(format!("cannot create a file in {dir}: {e}")))?;
    let (size, blake3) = client.download(id, tmp.as_file_mut(), attempt).await?;
    if size != expected {
        return Err(ApiError {
            endpoint: "GET /v1/files/{id}/content".into(),
            kind: ApiErrorKind::Transport(format!("short download: {size} of {expected} bytes")),
            request_id: None,
            retry_after: None,
            should_retry: Some(true),
        });
    }
    tmp.as_file()
        .sync_all()
        .map_err(|e| local(format!("cannot write {dest}: {e}")))?;
    tmp.persist(dest)
        .map_err(|e| local(format!("cannot write {dest}: {}", e.error)))?;
    Ok((size, blake3))
}

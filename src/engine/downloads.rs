//! Download every file the code generated into the job's staging `files/`
//! folder, under a sanitised unique name, verified against the size the metadata gives
//! (a short body is retried like any transient failure).
//!
//! Media are the exception (`download_size.rs`).
//!
//! Names, sizes and counts all come from the server, so none is trusted: every size is
//! checked against [`OutputLimits`] before the first byte is written, and a body longer
//! than its metadata announced is cut off there.

use std::collections::BTreeMap;
use std::io::{self, Write};

use camino::Utf8Path;

use super::ctx::Ctx;
use super::download_size::{Expected, SIGNING_ALLOWANCE};
use super::file_metas;
use crate::api::messages as wire;
use crate::api::retry::retry;
use crate::api::{ApiError, ApiErrorKind, FileMeta};
use crate::output::content_hash;
use crate::output::outcome::{Exchange, JobError, OutputFile};
use crate::output::safe_name::{NameSet, sanitise};
use crate::output::staging::Staging;
use crate::status::ErrorKind;
use crate::ui::events::{Event, Step};
use crate::units::bytes as human;

use super::ctx::OutputLimits;

/// Downloads the files the job's code generated into `staging/files/`, all or nothing.
/// `known` holds metadata already fetched (by the deliverables check), used as is.
pub(crate) async fn collect(
    ctx: &Ctx,
    limits: OutputLimits,
    job_id: &str,
    exchanges: &[Exchange],
    staging: &Staging,
    known: &BTreeMap<String, FileMeta>,
) -> Result<Vec<OutputFile>, JobError> {
    let ids = generated(exchanges);
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    if ids.len() > limits.max_files {
        return Err(over_limit(format!(
            "the job generated {}, over the limit of {} (--max-files); none was saved",
            crate::units::count(ids.len(), "file"),
            limits.max_files
        )));
    }
    ctx.reporter.report(Event::JobStep {
        id: job_id.to_owned(),
        step: Step::Downloading { files: ids.len() },
    });
    let metas = sized(ctx, &limits, ids, known).await?;
    download_all(ctx, &limits, metas, staging).await
}

/// Each generated file's id with the turn whose response first named it, in the order of
/// the exchanges.
fn generated(exchanges: &[Exchange]) -> Vec<(String, usize)> {
    let mut ids: Vec<(String, usize)> = Vec::new();
    for e in exchanges {
        for id in wire::generated_file_ids(&e.response["content"]) {
            if !ids.iter().any(|(known, _)| *known == id) {
                ids.push((id, e.turn));
            }
        }
    }
    ids
}

/// The metadata of every file (docs/api.md §2.5: listed by id, a page per 100 files),
/// each size checked against the limits: every size is known before the first download, so
/// a job over a limit writes nothing.
async fn sized(
    ctx: &Ctx,
    limits: &OutputLimits,
    ids: Vec<(String, usize)>,
    known: &BTreeMap<String, FileMeta>,
) -> Result<Vec<(String, usize, FileMeta)>, JobError> {
    let mut metas_by_id = known.clone();
    let wanted: Vec<String> = ids.iter().map(|(id, _)| id.clone()).collect();
    file_metas::fetch_missing(ctx, &wanted, &mut metas_by_id).await?;
    let mut metas: Vec<(String, usize, FileMeta)> = Vec::with_capacity(ids.len());
    let mut total = 0u64;
    for (id, turn) in ids {
        let Some(meta) = metas_by_id.remove(&id) else {
            return Err(download_error(&id, &"no metadata", None));
        };
        check_size(limits, &id, &meta, &mut total)?;
        metas.push((id, turn, meta));
    }
    Ok(metas)
}

/// Downloads each file under its safe name, verified; on a failure, removes those saved.
async fn download_all(
    ctx: &Ctx,
    limits: &OutputLimits,
    metas: Vec<(String, usize, FileMeta)>,
    staging: &Staging,
) -> Result<Vec<OutputFile>, JobError> {
    // A file saved again under the same name by a later turn is the one a reader should
    // find under that name: the newest claims names first.
    let raw: Vec<&str> = metas.iter().map(|(_, _, m)| m.filename.as_str()).collect();
    let names = NameSet::new().claim_newest_first(&raw);
    let mut outputs: Vec<OutputFile> = Vec::with_capacity(metas.len());
    for ((id, turn, meta), name) in metas.into_iter().zip(names) {
        let dest = staging.files_dir().join(&name);
        let expected = Expected::of(&meta, limits.max_file_bytes);
        let downloaded = retry(&ctx.settings.policy, |attempt| {
            download_verified(ctx, &id, expected, &dest, attempt)
        })
        .await;
        let (size, blake3) = match downloaded {
            Ok(done) => done,
            Err(e) => {
                // All or nothing: files already saved would be missing from job.json.
                for saved in &outputs {
                    let _ = fs_err::remove_file(staging.files_dir().join(&saved.name));
                }
                return Err(download_error(&id, &e, e.error.request_id.clone()));
            }
        };
        // Read back from disk: the download itself streams, never holding a file whole.
        let content_blake3 = content_hash::of_saved_file(dest).await;
        outputs.push(OutputFile {
            path: format!("files/{name}"),
            original_name: (name != meta.filename).then(|| meta.filename.clone()),
            name,
            file_id: id.clone(),
            size,
            blake3,
            content_blake3,
            mime_type: meta.mime_type.clone(),
            turn,
        });
    }
    Ok(outputs)
}

fn download_error(id: &str, e: &dyn std::fmt::Display, request_id: Option<String>) -> JobError {
    JobError {
        kind: ErrorKind::Download,
        message: format!("generated file {id}: {e}"),
        request_id,
        attempts: None,
    }
}

fn over_limit(message: String) -> JobError {
    JobError {
        kind: ErrorKind::OutputLimit,
        message,
        request_id: None,
        attempts: None,
    }
}

/// Checks one file's announced size against the per-file cap and adds it to the job's
/// running `total`, checked against the per-job cap.
fn check_size(
    limits: &OutputLimits,
    id: &str,
    meta: &FileMeta,
    total: &mut u64,
) -> Result<(), JobError> {
    // The name is the server's: shown sanitised, so it cannot mess up a terminal or log.
    let what = format!("generated file {id} (`{}`)", sanitise(&meta.filename));
    if meta.size_bytes > limits.max_file_bytes {
        return Err(over_limit(format!(
            "{what} is {} bytes, over the per-file limit of {} (--max-file-size); none was saved",
            meta.size_bytes,
            human(limits.max_file_bytes)
        )));
    }
    *total = total.saturating_add(meta.size_bytes);
    if *total > limits.max_job_bytes {
        return Err(over_limit(format!(
            "the generated files add up to more than the per-job limit of {} \
             (--max-job-output), reached at {what}; none was saved",
            human(limits.max_job_bytes)
        )));
    }
    Ok(())
}

/// Passes bytes through to `inner` until `left` runs out, then refuses: a body longer
/// than its metadata announced is cut off there instead of filling the disk.
struct Capped<W> {
    inner: W,
    left: u64,
    over: bool,
}

impl<W: Write> Write for Capped<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if buf.len() as u64 > self.left {
            self.over = true;
            return Err(io::Error::other(
                "more bytes than the file's metadata announced",
            ));
        }
        let n = self.inner.write(buf)?;
        self.left -= n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// One download attempt into a temporary file beside `dest`, renamed into place only when
/// the byte count is as expected.
async fn download_verified(
    ctx: &Ctx,
    id: &str,
    expected: Expected,
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
    let mut tmp = crate::atomic::temp_file_in(dir, ".download-")
        .map_err(|e| local(format!("cannot create a file in {dir}: {e}")))?;
    let mut sink = Capped {
        inner: tmp.as_file_mut(),
        left: expected.cap,
        over: false,
    };
    let downloaded = ctx
        .client
        .download(id, &mut sink, &ctx.files_version, attempt)
        .await;
    if sink.over {
        let announced = expected.announced;
        return Err(local(if expected.exact {
            format!(
                "the server sent more than the {announced} bytes the file's metadata announced; \
                 the download was stopped there"
            )
        } else {
            format!(
                "the server sent more than {} bytes for a file whose metadata announced \
                 {announced} (a signed medium may grow by {}); the download was stopped there",
                expected.cap,
                human(SIGNING_ALLOWANCE)
            )
        }));
    }
    let (size, blake3) = downloaded?;
    if expected.exact && size != expected.announced {
        return Err(ApiError {
            endpoint: "GET /v1/files/{id}/content".into(),
            kind: ApiErrorKind::Transport(format!(
                "short download: {size} of {} bytes",
                expected.announced
            )),
            request_id: None,
            retry_after: None,
            should_retry: Some(true),
        });
    }
    if size != expected.announced {
        tracing::debug!(
            file_id = id,
            size,
            announced = expected.announced,
            "a signed medium's size differs from its metadata"
        );
    }
    tmp.as_file()
        .sync_all()
        .map_err(|e| local(format!("cannot write {dest}: {e}")))?;
    tmp.persist(dest)
        .map_err(|e| local(format!("cannot write {dest}: {}", e.error)))?;
    Ok((size, blake3))
}

#[cfg(test)]
mod tests {
    use super::super::download_size::meta;
    use super::*;

    #[test]
    fn sizes_are_checked_per_file_and_per_job() {
        let limits = OutputLimits {
            max_file_bytes: 100,
            max_job_bytes: 150,
            max_files: 10,
        };
        let mut total = 0;
        assert!(check_size(&limits, "f1", &meta("a", 100), &mut total).is_ok());
        let e = check_size(&limits, "f2", &meta("../b\u{1b}[2J", 101), &mut total).unwrap_err();
        assert_eq!(e.kind, ErrorKind::OutputLimit);
        assert!(e.message.contains("--max-file-size"), "{}", e.message);
        assert!(
            !e.message.contains('\u{1b}'),
            "server names are shown sanitised"
        );
        assert!(check_size(&limits, "f3", &meta("c", 50), &mut total).is_ok());
        let e = check_size(&limits, "f4", &meta("d", 1), &mut total).unwrap_err();
        assert!(e.message.contains("--max-job-output"), "{}", e.message);
        let mut total = u64::MAX - 1;
        let huge = OutputLimits {
            max_file_bytes: u64::MAX,
            max_job_bytes: u64::MAX,
            max_files: 1,
        };
        assert!(check_size(&huge, "f5", &meta("e", u64::MAX), &mut total).is_ok());
    }

    #[test]
    fn capped_writer_refuses_the_first_byte_too_many() {
        let mut out = Vec::new();
        let mut w = Capped {
            inner: &mut out,
            left: 5,
            over: false,
        };
        w.write_all(b"abc").unwrap();
        w.write_all(b"de").unwrap();
        assert!(!w.over);
        assert!(w.write_all(b"f").is_err());
        assert!(w.over);
        assert_eq!(out, b"abcde");
    }
}

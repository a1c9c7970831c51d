//! Every needed input as a Files API file id, each (BLAKE3, name) uploaded at most once:
//! across jobs and manifests in a run, and across runs through the upload cache. Cached ids
//! are verified in bulk first; the rest go through one driver task (see the engine's
//! concurrency design), which also takes the re-uploads of inputs the API lost mid-run.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, PoisonError};

use camino::Utf8PathBuf;
use futures_util::future::{BoxFuture, Shared};
use futures_util::{FutureExt, StreamExt};
use tokio::sync::{mpsc, oneshot};

use super::ctx::Ctx;
use crate::api::facts::MAX_IDS_PER_LIST;
use crate::api::retry::{GaveUp, retry};
use crate::api::{FileMeta, OnBytes, UploadSpec};
use crate::output::outcome::UploadStats;
use crate::plan::PlannedUpload;
use crate::store::upload_cache::{Content, UploadCache, Uploaded};
use crate::ui::events::Event;

/// A cached file that expires sooner than this is uploaded again rather than trusted
/// for a conversation that may run for a long time.
const EXPIRY_MARGIN: jiff::SignedDuration = jiff::SignedDuration::from_hours(6);

/// A content's file id, and whether it was reused from the cache.
#[derive(Clone, Debug)]
pub(crate) struct Ready {
    pub file_id: String,
    pub reused: bool,
    /// Bytes sent (0 when reused).
    pub bytes: u64,
}

/// Why an input has no file id for the run's conversations.
#[derive(Clone, Debug, thiserror::Error)]
pub(crate) enum UploadError {
    #[error("upload of {path} failed: {gave_up}")]
    Failed { path: Utf8PathBuf, gave_up: GaveUp },
    /// Uploaded, but the upload cache could not record it (`cause`: its error chain).
    #[error("uploaded {path} as {file_id}, but {cause}")]
    NotRecorded {
        path: Utf8PathBuf,
        file_id: String,
        cause: String,
    },
    #[error("interrupted before upload")]
    Interrupted,
    #[error("the upload driver has stopped")]
    DriverStopped,
    #[error("the upload was abandoned")]
    Abandoned,
}

pub(crate) type UploadResult = Result<Ready, UploadError>;
pub(crate) type UploadHandle = Shared<BoxFuture<'static, UploadResult>>;

/// One upload for the driver.
struct Request {
    upload: PlannedUpload,
    /// Re-uploads do not move the progress bar: it counted the first upload already.
    report_progress: bool,
    done: oneshot::Sender<UploadResult>,
}

/// The uploads of a run: a handle per needed content, and the way to ask for more.
pub(crate) struct Uploads {
    handles: BTreeMap<Content, UploadHandle>,
    sources: BTreeMap<Content, PlannedUpload>,
    reuploads: Mutex<BTreeMap<Content, UploadHandle>>,
    queue: mpsc::UnboundedSender<Request>,
}

impl Uploads {
    /// Queues every needed upload not `verified` in the cache, in job order, and starts
    /// the driver.
    pub(crate) fn start(
        ctx: &Arc<Ctx>,
        cache: &Arc<UploadCache>,
        needed: &[&PlannedUpload],
        verified: &BTreeMap<Content, String>,
        job_order: &BTreeMap<String, usize>,
    ) -> Uploads {
        let (queue, requests) = mpsc::unbounded_channel();
        spawn_driver(
            Arc::clone(ctx),
            Arc::clone(cache),
            requests,
            ctx.settings.uploads,
            ctx.settings.upload_ttl,
        );
        let mut ordered = needed.to_vec();
        ordered.sort_by_cached_key(|u| {
            let first_job = u.jobs.iter().filter_map(|id| job_order.get(id)).min();
            (first_job.copied(), std::cmp::Reverse(u.size), u.content())
        });
        let mut uploads = Uploads {
            handles: BTreeMap::new(),
            sources: needed.iter().map(|u| (u.content(), (*u).clone())).collect(),
            reuploads: Mutex::default(),
            queue,
        };
        for u in ordered {
            let handle = match verified.get(&u.content()) {
                Some(id) => {
                    ctx.reporter.report(Event::UploadFinished {
                        name: u.name.clone(),
                        size: u.size,
                        reused: true,
                    });
                    let ready = Ready {
                        file_id: id.clone(),
                        reused: true,
                        bytes: 0,
                    };
                    futures_util::future::ready(Ok(ready)).boxed().shared()
                }
                None => uploads.request(u.clone(), true),
            };
            uploads.handles.insert(u.content(), handle);
        }
        uploads
    }

    fn request(&self, upload: PlannedUpload, report_progress: bool) -> UploadHandle {
        let (done, result) = oneshot::channel();
        let sent = self.queue.send(Request {
            upload,
            report_progress,
            done,
        });
        async move {
            if sent.is_err() {
                return Err(UploadError::DriverStopped);
            }
            result.await.unwrap_or(Err(UploadError::Abandoned))
        }
        .boxed()
        .shared()
    }

    /// The upload of a content, shared by every job that attaches it.
    pub(crate) fn handle(&self, content: &Content) -> Option<UploadHandle> {
        self.handles.get(content).cloned()
    }

    /// Uploads a content again (the API lost it): once per content for the whole run,
    /// through the same driver.
    pub(crate) fn reupload(&self, content: &Content) -> Option<UploadHandle> {
        let source = self.sources.get(content)?;
        let mut reuploads = self
            .reuploads
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        Some(
            reuploads
                .entry(content.clone())
                .or_insert_with(|| self.request(source.clone(), false))
                .clone(),
        )
    }

    /// What was uploaded and reused, from the handles that finished.
    pub(crate) fn stats(&self) -> UploadStats {
        let mut stats = UploadStats::default();
        for handle in self.handles.values() {
            if let Some(Ok(ready)) = handle.peek() {
                if ready.reused {
                    stats.reused += 1;
                } else {
                    stats.uploaded += 1;
                    stats.bytes_uploaded += ready.bytes;
                }
            }
        }
        stats
    }
}

/// Runs requests as they come, at most `limit` at once, until every sender is gone.
fn spawn_driver(
    ctx: Arc<Ctx>,
    cache: Arc<UploadCache>,
    requests: mpsc::UnboundedReceiver<Request>,
    limit: usize,
    ttl: Option<u64>,
) {
    let requests = futures_util::stream::unfold(requests, |mut rx| async move {
        rx.recv().await.map(|r| (r, rx))
    });
    tokio::spawn(requests.for_each_concurrent(limit.max(1), move |request| {
        let (ctx, cache) = (Arc::clone(&ctx), Arc::clone(&cache));
        async move {
            let u = &request.upload;
            let result = if ctx.cancel.is_cancelled() {
                Err(UploadError::Interrupted)
            } else {
                let on_bytes: Option<OnBytes> = request.report_progress.then(|| {
                    ctx.reporter.report(Event::UploadStarted {
                        name: u.name.clone(),
                        size: u.size,
                    });
                    let reporter = Arc::clone(&ctx.reporter);
                    Arc::new(move |bytes| reporter.report(Event::UploadProgress { bytes }))
                        as OnBytes
                });
                let result = upload_one(&ctx, &cache, u, ttl, on_bytes).await;
                if result.is_ok() && request.report_progress {
                    ctx.reporter.report(Event::UploadFinished {
                        name: u.name.clone(),
                        size: u.size,
                        reused: false,
                    });
                }
                result.map(|meta| Ready {
                    file_id: meta.id,
                    reused: false,
                    bytes: u.size,
                })
            };
            let _ = request.done.send(result);
        }
    }));
}

/// Uploads one file (streamed from disk, re-opened on every attempt) and records it.
async fn upload_one(
    ctx: &Ctx,
    cache: &UploadCache,
    u: &PlannedUpload,
    ttl_seconds: Option<u64>,
    on_bytes: Option<OnBytes>,
) -> Result<FileMeta, UploadError> {
    let spec = UploadSpec {
        path: &u.source,
        name: &u.name,
        blake3: &u.blake3,
        size: u.size,
        expires_in_seconds: ttl_seconds,
    };
    let meta = retry(&ctx.settings.policy, |attempt| {
        ctx.client
            .upload(&spec, on_bytes.clone(), &ctx.files_version, attempt)
    })
    .await
    .map_err(|e| {
        // A key revoked or the spend limit reached while uploading stops new jobs too.
        super::halt::check(&ctx.halt, &e.error);
        UploadError::Failed {
            path: u.source.clone(),
            gave_up: e,
        }
    })?;
    let uploaded = Uploaded {
        file_id: meta.id.clone(),
        size: meta.size_bytes,
        expires_at: meta.expires_at,
    };
    cache
        .record(&u.content(), &uploaded)
        .map_err(|e| UploadError::NotRecorded {
            path: u.source.clone(),
            file_id: meta.id.clone(),
            cause: crate::error_chain::chain(&e),
        })?;
    Ok(meta)
}

/// The cached ids of `needed` that the API still has and that are not about to expire.
pub(crate) async fn verify_cached(
    ctx: &Ctx,
    cache: &UploadCache,
    needed: &[&PlannedUpload],
) -> Result<BTreeMap<Content, String>, GaveUp> {
    let contents: Vec<Content> = needed.iter().map(|u| u.content()).collect();
    let cached = cache.lookup(&contents);
    if cached.is_empty() {
        return Ok(cached);
    }
    let ids: Vec<String> = cached.values().cloned().collect();
    let mut alive: BTreeMap<String, FileMeta> = BTreeMap::new();
    for chunk in ids.chunks(MAX_IDS_PER_LIST) {
        let found = retry(&ctx.settings.policy, |attempt| {
            ctx.client.files_by_ids(chunk, &ctx.files_version, attempt)
        })
        .await?;
        alive.extend(found.into_iter().map(|m| (m.id.clone(), m)));
    }
    let horizon = jiff::Timestamp::now() + EXPIRY_MARGIN;
    Ok(cached
        .into_iter()
        .filter(|(_, id)| alive.get(id).is_some_and(|m| usable_until(m, horizon)))
        .collect())
}

/// Whether a listed file can still be attached at `when`: an expired file stays listed,
/// with `expires_at` in the past, for up to 30 days (docs/api.md §2.8).
pub(crate) fn usable_until(meta: &FileMeta, when: jiff::Timestamp) -> bool {
    meta.expires_at.is_none_or(|t| t > when)
}

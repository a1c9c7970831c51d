//! Stage 4: make every needed input available as a Files API file id, uploading each
//! (BLAKE3, name) at most once: across jobs and manifests in a run, and across runs through
//! the upload cache in the state dir.
//!
//! The cache maps (API base URL, key fingerprint, BLAKE3, name) → file id. It is saved as
//! soon as each upload finishes (atomically, under the state lock, merged with what other
//! runners wrote), so a killed run loses no upload. Cached ids are verified in bulk before
//! use, and anything gone or about to expire is uploaded again.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::api::{ApiClient, FileMeta, OnBytes, UploadSpec};
use crate::error::Error;
use crate::plan::PlannedUpload;
use crate::retry::{GaveUp, RetryPolicy, retry};
use crate::state::{StateDir, write_private};

const CACHE_FILE: &str = "uploads.json";
/// A cached file that expires sooner than this is uploaded again rather than trusted
/// for a conversation that may run for a long time.
const EXPIRY_MARGIN: jiff::SignedDuration = jiff::SignedDuration::from_hours(6);
/// `ids[]` takes at most 100 ids per call (REFERENCE.md §2.5).
const VERIFY_BATCH: usize = 100;

#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
struct CacheKey {
    base_url: String,
    key: String,
    blake3: String,
    name: String,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
struct CacheEntry {
    #[serde(flatten)]
    key: CacheKey,
    file_id: String,
    size: u64,
    uploaded_at: jiff::Timestamp,
    #[serde(default)]
    expires_at: Option<jiff::Timestamp>,
}

#[derive(Default, Serialize, Deserialize)]
struct CacheFile {
    version: u32,
    entries: Vec<CacheEntry>,
}

/// The upload cache of one API base URL and key.
pub struct UploadCache {
    state: StateDir,
    base_url: String,
    key: String,
}

impl UploadCache {
    pub fn new(state: &StateDir, client: &ApiClient) -> UploadCache {
        UploadCache::for_api(state, client.base_url(), client.key_fingerprint())
    }

    /// The cache of an API base URL and key fingerprint, without a client (for `plan`).
    pub fn for_api(state: &StateDir, base_url: &str, key_fingerprint: String) -> UploadCache {
        UploadCache {
            state: state.clone(),
            base_url: base_url.trim_end_matches('/').to_owned(),
            key: key_fingerprint,
        }
    }

    fn key(&self, u: &PlannedUpload) -> CacheKey {
        CacheKey {
            base_url: self.base_url.clone(),
            key: self.key.clone(),
            blake3: u.blake3.clone(),
            name: u.name.clone(),
        }
    }

    fn load(&self) -> BTreeMap<CacheKey, CacheEntry> {
        // An unreadable cache only costs re-uploads; never fail a run over it.
        let file: CacheFile = fs_err::read(self.state.path(CACHE_FILE))
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok())
            .unwrap_or_default();
        file.entries
            .into_iter()
            .map(|e| (e.key.clone(), e))
            .collect()
    }

    /// Cached file ids for these uploads, as the cache has them (not yet verified).
    pub fn lookup(&self, uploads: &[&PlannedUpload]) -> BTreeMap<(String, String), String> {
        let all = self.load();
        uploads
            .iter()
            .filter_map(|u| {
                all.get(&self.key(u))
                    .map(|e| ((u.blake3.clone(), u.name.clone()), e.file_id.clone()))
            })
            .collect()
    }

    /// Records one finished upload (blocking; small file).
    pub fn record(&self, u: &PlannedUpload, meta: &FileMeta) -> Result<(), Error> {
        let _lock = self.state.lock()?;
        let mut all = self.load();
        let key = self.key(u);
        all.insert(
            key.clone(),
            CacheEntry {
                key,
                file_id: meta.id.clone(),
                size: meta.size_bytes,
                uploaded_at: jiff::Timestamp::now(),
                expires_at: meta.expires_at,
            },
        );
        let file = CacheFile {
            version: 1,
            entries: all.into_values().collect(),
        };
        let bytes = serde_json::to_vec_pretty(&file).map_err(|e| Error::Setup(e.to_string()))?;
        write_private(&self.state.path(CACHE_FILE), &bytes)
            .map_err(|e| Error::Setup(format!("cannot save the upload cache: {e}")))
    }
}

/// Asks the API which cached ids still exist and are not about to expire; returns those.
pub async fn verify(
    client: &ApiClient,
    policy: &RetryPolicy,
    cached: &BTreeMap<(String, String), String>,
) -> Result<BTreeMap<(String, String), String>, GaveUp> {
    let ids: Vec<String> = cached.values().cloned().collect();
    let mut alive: BTreeMap<String, FileMeta> = BTreeMap::new();
    for chunk in ids.chunks(VERIFY_BATCH) {
        let found = retry(policy, |attempt| client.files_by_ids(chunk, attempt)).await?;
        alive.extend(found.into_iter().map(|m| (m.id.clone(), m)));
    }
    let horizon = jiff::Timestamp::now() + EXPIRY_MARGIN;
    Ok(cached
        .iter()
        .filter(|(_, id)| {
            alive
                .get(*id)
                .is_some_and(|m| m.expires_at.is_none_or(|t| t > horizon))
        })
        .map(|(k, id)| (k.clone(), id.clone()))
        .collect())
}

/// Uploads one file (streamed from disk, re-opened on every attempt) and records it.
pub async fn upload_one(
    client: &ApiClient,
    policy: &RetryPolicy,
    cache: &UploadCache,
    u: &PlannedUpload,
    ttl_seconds: Option<u64>,
    on_bytes: Option<OnBytes>,
) -> Result<FileMeta, String> {
    let spec = UploadSpec {
        path: &u.source,
        name: &u.name,
        blake3: &u.blake3,
        size: u.size,
        expires_in_seconds: ttl_seconds,
    };
    let meta = retry(policy, |attempt| {
        client.upload(&spec, on_bytes.clone(), attempt)
    })
    .await
    .map_err(|e| format!("upload of {} failed: {e}", u.source))?;
    cache
        .record(u, &meta)
        .map_err(|e| format!("uploaded {} as {}, but {e}", u.source, meta.id))?;
    Ok(meta)
}

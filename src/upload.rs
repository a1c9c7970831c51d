//! Stage 4: make every needed input available as a Files API file id, uploading each
//! (BLAKE3, name) at most once: across jobs and manifests in a run, and across runs through
//! the upload cache in the state dir.
//!
//! The cache maps (API base URL, key fingerprint, BLAKE3, name) → file id. Each finished
//! upload is appended at once to a journal (`uploads.journal`, one JSON line, synced, under
//! the state lock), so a killed run loses no upload and recording stays O(1) however many
//! uploads a run makes. The journal is folded into the snapshot (`uploads.json`, written
//! atomically) at the start and end of each run; a line torn by a crash is skipped.
//! Cached ids are verified in bulk before use, and anything gone or about to expire is
//! uploaded again.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::api::{ApiClient, FileMeta, OnBytes, UploadSpec};
use crate::error::Error;
use crate::plan::PlannedUpload;
use crate::retry::{GaveUp, RetryPolicy, retry};
use crate::state::{StateDir, write_private};

const CACHE_FILE: &str = "uploads.json";
const JOURNAL_FILE: &str = "uploads.journal";
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

    /// The snapshot with the journal applied on top (later lines win).
    fn load(&self) -> BTreeMap<CacheKey, CacheEntry> {
        // An unreadable cache only costs re-uploads; never fail a run over it.
        let file: CacheFile = fs_err::read(self.state.path(CACHE_FILE))
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok())
            .unwrap_or_default();
        let journal = fs_err::read(self.state.path(JOURNAL_FILE)).unwrap_or_default();
        let appended = journal
            .split(|b| *b == b'\n')
            .filter_map(|line| serde_json::from_slice::<CacheEntry>(line).ok());
        file.entries
            .into_iter()
            .chain(appended)
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

    /// Records one finished upload: one appended, synced journal line (blocking; small).
    pub fn record(&self, u: &PlannedUpload, meta: &FileMeta) -> Result<(), Error> {
        let entry = CacheEntry {
            key: self.key(u),
            file_id: meta.id.clone(),
            size: meta.size_bytes,
            uploaded_at: jiff::Timestamp::now(),
            expires_at: meta.expires_at,
        };
        let mut line = serde_json::to_vec(&entry).map_err(|e| Error::Setup(e.to_string()))?;
        line.push(b'\n');
        let path = self.state.path(JOURNAL_FILE);
        let fail = |e: std::io::Error| Error::Setup(format!("cannot save the upload cache: {e}"));
        let _lock = self.state.lock()?;
        let mut options = fs_err::OpenOptions::new();
        options.create(true).append(true);
        #[cfg(unix)]
        fs_err::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let mut journal = options.open(&path).map_err(fail)?;
        // A line torn by a crash mid-append must not glue onto the next one.
        let torn = journal.metadata().map_err(fail)?.len() > 0 && !ends_with_newline(&path);
        if torn {
            std::io::Write::write_all(&mut journal, b"\n").map_err(fail)?;
        }
        std::io::Write::write_all(&mut journal, &line).map_err(fail)?;
        journal.sync_data().map_err(fail)
    }

    /// Folds the journal into the snapshot and empties it. Idempotent: a crash between the
    /// two steps only replays lines the snapshot already has.
    pub fn compact(&self) -> Result<(), Error> {
        let fail = |e: std::io::Error| Error::Setup(format!("cannot save the upload cache: {e}"));
        let _lock = self.state.lock()?;
        let journal = self.state.path(JOURNAL_FILE);
        if !journal.exists() {
            return Ok(());
        }
        let file = CacheFile {
            version: 1,
            entries: self.load().into_values().collect(),
        };
        let bytes = serde_json::to_vec_pretty(&file).map_err(|e| Error::Setup(e.to_string()))?;
        write_private(&self.state.path(CACHE_FILE), &bytes).map_err(fail)?;
        fs_err::remove_file(&journal).map_err(fail)
    }
}

fn ends_with_newline(path: &camino::Utf8Path) -> bool {
    use std::io::{Read, Seek, SeekFrom};
    let Ok(mut f) = fs_err::File::open(path) else {
        return true;
    };
    let mut last = [0u8; 1];
    f.seek(SeekFrom::End(-1)).is_ok() && f.read_exact(&mut last).is_ok() && last[0] == b'\n'
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

#[cfg(test)]
mod tests {
    use super::*;

    fn planned(name: &str) -> PlannedUpload {
        PlannedUpload {
            blake3: format!("hash-of-{name}"),
            name: name.to_owned(),
            size: 1,
            source: camino::Utf8PathBuf::from(name),
            jobs: Vec::new(),
        }
    }

    fn meta(id: &str) -> FileMeta {
        serde_json::from_value(serde_json::json!({"id": id, "filename": "x", "size_bytes": 1}))
            .unwrap()
    }

    #[test]
    fn journal_survives_a_torn_line_and_compacts_idempotently() {
        let dir = tempfile::tempdir().unwrap();
        let state = StateDir::open(camino::Utf8Path::from_path(dir.path()).unwrap()).unwrap();
        let cache = UploadCache::for_api(&state, "http://api", "key".into());
        let (a, b) = (planned("a.csv"), planned("b.csv"));
        cache.record(&a, &meta("file_a")).unwrap();
        // A crash mid-append leaves half a line.
        let journal = state.path(JOURNAL_FILE);
        let mut torn = fs_err::read(&journal).unwrap();
        torn.extend_from_slice(b"{\"base_url\":\"http://ap");
        fs_err::write(&journal, torn).unwrap();
        cache.record(&b, &meta("file_b")).unwrap();
        let found = cache.lookup(&[&a, &b]);
        assert_eq!(found.values().collect::<Vec<_>>(), ["file_a", "file_b"]);

        cache.compact().unwrap();
        assert!(!journal.exists());
        cache.compact().unwrap();
        assert_eq!(cache.lookup(&[&a, &b]), found);
        // Another API or key sees nothing.
        let other = UploadCache::for_api(&state, "http://other", "key".into());
        assert!(other.lookup(&[&a, &b]).is_empty());
    }
}

//! The upload cache: which file id the Files API gave each (BLAKE3, name), so that no
//! content is uploaded twice across runs (docs/output.md §5 has the file formats).
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

use super::{StateDir, StoreError, damaged, write_private};

const CACHE_FILE: &str = "uploads.json";
const JOURNAL_FILE: &str = "uploads.journal";
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

#[derive(Serialize)]
struct CacheFile {
    version: u32,
    entries: Vec<CacheEntry>,
}

/// A content: (BLAKE3, file name). The container keeps files by name, so the same bytes
/// under two names are two uploads.
pub(crate) type Content = (String, String);

/// What the Files API said of a finished upload.
#[derive(Clone, Debug)]
pub(crate) struct Uploaded {
    pub file_id: String,
    pub size: u64,
    pub expires_at: Option<jiff::Timestamp>,
}

/// The upload cache of one API base URL and key.
pub(crate) struct UploadCache {
    state: StateDir,
    base_url: String,
    key: String,
}

impl UploadCache {
    /// The cache of an API base URL and key fingerprint.
    pub(crate) fn for_api(
        state: &StateDir,
        base_url: &str,
        key_fingerprint: String,
    ) -> UploadCache {
        UploadCache {
            state: state.clone(),
            base_url: base_url.trim_end_matches('/').to_owned(),
            key: key_fingerprint,
        }
    }

    fn key(&self, (blake3, name): &Content) -> CacheKey {
        CacheKey {
            base_url: self.base_url.clone(),
            key: self.key.clone(),
            blake3: blake3.clone(),
            name: name.clone(),
        }
    }

    /// The snapshot with the journal applied on top (later lines win).
    fn load(&self) -> BTreeMap<CacheKey, CacheEntry> {
        // A damaged cache only costs re-uploads of what it lost; never fail a run over it.
        let file = self.state.path(CACHE_FILE);
        let snapshot: Vec<CacheEntry> = damaged::read_entries(&file);
        let journal = fs_err::read(self.state.path(JOURNAL_FILE)).unwrap_or_default();
        let appended = journal
            .split(|b| *b == b'\n')
            .filter_map(|line| serde_json::from_slice::<CacheEntry>(line).ok());
        snapshot
            .into_iter()
            .chain(appended)
            .map(|e| (e.key.clone(), e))
            .collect()
    }

    /// Cached file ids for these contents, as the cache has them (not yet verified).
    pub(crate) fn lookup<'c>(
        &self,
        contents: impl IntoIterator<Item = &'c Content>,
    ) -> BTreeMap<Content, String> {
        let all = self.load();
        contents
            .into_iter()
            .filter_map(|c| {
                all.get(&self.key(c))
                    .map(|e| (c.clone(), e.file_id.clone()))
            })
            .collect()
    }

    /// Records one finished upload: one appended, synced journal line (blocking; small).
    pub(crate) fn record(&self, content: &Content, uploaded: &Uploaded) -> Result<(), StoreError> {
        let entry = CacheEntry {
            key: self.key(content),
            file_id: uploaded.file_id.clone(),
            size: uploaded.size,
            uploaded_at: jiff::Timestamp::now(),
            expires_at: uploaded.expires_at,
        };
        let path = self.state.path(JOURNAL_FILE);
        let fail = |source| StoreError::Save {
            path: path.clone(),
            source,
        };
        let mut line = serde_json::to_vec(&entry).map_err(|e| fail(e.into()))?;
        line.push(b'\n');
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
    pub(crate) fn compact(&self) -> Result<(), StoreError> {
        let journal = self.state.path(JOURNAL_FILE);
        let fail = |source| StoreError::Save {
            path: journal.clone(),
            source,
        };
        let _lock = self.state.lock()?;
        if !journal.exists() {
            return Ok(());
        }
        let file = CacheFile {
            version: 1,
            entries: self.load().into_values().collect(),
        };
        let bytes = serde_json::to_vec_pretty(&file).map_err(|e| fail(e.into()))?;
        write_private(&self.state.path(CACHE_FILE), &bytes).map_err(fail)?;
        fs_err::remove_file(&journal).map_err(fail)
    }
}

/// One upload this runner recorded, for `runner files`.
#[derive(Clone, Debug)]
pub(crate) struct CachedUpload {
    pub file_id: String,
    pub name: String,
    pub size: u64,
    pub uploaded_at: jiff::Timestamp,
}

impl UploadCache {
    /// Every upload recorded for this API base URL and key.
    pub(crate) fn entries(&self) -> Vec<CachedUpload> {
        self.load()
            .into_values()
            .filter(|e| e.key.base_url == self.base_url && e.key.key == self.key)
            .map(|e| CachedUpload {
                file_id: e.file_id,
                name: e.key.name,
                size: e.size,
                uploaded_at: e.uploaded_at,
            })
            .collect()
    }

    /// Drops the entries of these file ids (deleted from the API) for this base URL and key,
    /// so no run trusts them again: the snapshot is rewritten and the journal folded in.
    pub(crate) fn forget(
        &self,
        file_ids: &std::collections::BTreeSet<String>,
    ) -> Result<(), StoreError> {
        let snapshot = self.state.path(CACHE_FILE);
        let fail = |source| StoreError::Save {
            path: snapshot.clone(),
            source,
        };
        let _lock = self.state.lock()?;
        let file = CacheFile {
            version: 1,
            entries: self
                .load()
                .into_values()
                .filter(|e| {
                    !(e.key.base_url == self.base_url
                        && e.key.key == self.key
                        && file_ids.contains(&e.file_id))
                })
                .collect(),
        };
        let bytes = serde_json::to_vec_pretty(&file).map_err(|e| fail(e.into()))?;
        write_private(&snapshot, &bytes).map_err(fail)?;
        let journal = self.state.path(JOURNAL_FILE);
        match fs_err::remove_file(&journal) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(fail(e)),
            _ => Ok(()),
        }
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

#[cfg(test)]
mod tests {
    use super::*;

    fn planned(name: &str) -> Content {
        (format!("hash-of-{name}"), name.to_owned())
    }

    fn meta(id: &str) -> Uploaded {
        Uploaded {
            file_id: id.to_owned(),
            size: 1,
            expires_at: None,
        }
    }

    #[test]
    fn forget_drops_only_the_given_ids_of_this_api() {
        let dir = tempfile::tempdir().unwrap();
        let state = StateDir::open(camino::Utf8Path::from_path(dir.path()).unwrap()).unwrap();
        let cache = UploadCache::for_api(&state, "http://api", "key".into());
        let other = UploadCache::for_api(&state, "http://other", "key".into());
        let (a, b) = (planned("a.csv"), planned("b.csv"));
        cache.record(&a, &meta("file_a")).unwrap();
        cache.compact().unwrap();
        cache.record(&b, &meta("file_b")).unwrap();
        other.record(&a, &meta("file_a")).unwrap();
        cache.forget(&["file_a".to_owned()].into()).unwrap();
        let ids: Vec<String> = cache.entries().into_iter().map(|e| e.file_id).collect();
        assert_eq!(ids, ["file_b"]);
        assert_eq!(
            other.entries().len(),
            1,
            "another API's cache keeps its entry"
        );
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
        let found = cache.lookup([&a, &b]);
        assert_eq!(found.values().collect::<Vec<_>>(), ["file_a", "file_b"]);

        cache.compact().unwrap();
        assert!(!journal.exists());
        cache.compact().unwrap();
        assert_eq!(cache.lookup([&a, &b]), found);
        // Another API or key sees nothing.
        let other = UploadCache::for_api(&state, "http://other", "key".into());
        assert!(other.lookup([&a, &b]).is_empty());
    }
}

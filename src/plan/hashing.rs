//! BLAKE3 content hashes of input files: streamed, off the async threads, and cached in the
//! state dir by (path, size, mtime, ctime, inode) so an unchanged tree is not read again.
//!
//! The hash is the upload dedup key and part of every job's fingerprint.

use std::collections::BTreeMap;
use std::sync::Arc;

use camino::{Utf8Path, Utf8PathBuf};
use futures_util::{StreamExt, TryStreamExt, stream};
use serde::{Deserialize, Serialize};

use crate::store::{StateDir, StoreError, damaged, write_private};

/// An input could not be hashed, or the hash cache not saved.
#[derive(Debug, thiserror::Error)]
pub(crate) enum HashError {
    #[error("cannot hash input")]
    Read(#[source] std::io::Error),
    #[error("a hashing task failed")]
    Task(#[source] tokio::task::JoinError),
    #[error("cannot save the hash cache")]
    Save(#[source] StoreError),
}

/// What identifies an unchanged file without reading it. The ctime is there because the
/// mtime can be set back (`cp -p`, `rsync -t`, `touch -r`) after a same-size edit in place;
/// the ctime cannot be set, and changes with every write (as git's index relies on).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
struct Stamp {
    size: u64,
    mtime_ns: i64,
    /// Absent from caches written before it was kept: such an entry never matches.
    #[serde(default)]
    ctime_ns: i64,
    inode: u64,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
struct Entry {
    stamp: Stamp,
    blake3: String,
}

/// The file's hash and the size it had when hashed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Hashed {
    pub blake3: String,
    pub size: u64,
}

const CACHE_FILE: &str = "hashes.json";

/// Files from this size on are hashed memory-mapped on every core, as `b3sum` does; smaller
/// ones are streamed on one, where threads and a mapping cost more than they save. Measured
/// in BENCHMARKS.md, scenario 3.
const PARALLEL_FROM: u64 = 16 * 1024 * 1024;

/// Hashes a file with BLAKE3. Blocking: call from `spawn_blocking`.
pub(crate) fn hash_file(path: &Utf8Path) -> std::io::Result<Hashed> {
    hash_file_with(path, PARALLEL_FROM)
}

/// [`hash_file`] with the size from which a file is hashed in parallel.
///
/// A mapped file that another process truncates while it is read can end the process
/// (SIGBUS), a risk `b3sum` takes too; it is why small files, the many, are streamed. A
/// file that changes while it is read gets a hash of neither version: the upload checks
/// the bytes it sends against this hash and size (`api/files.rs`), so such a file is
/// never uploaded under it.
fn hash_file_with(path: &Utf8Path, parallel_from: u64) -> std::io::Result<Hashed> {
    let mut file = fs_err::File::open(path)?;
    let mut hasher = blake3::Hasher::new();
    if file.metadata()?.len() >= parallel_from {
        hasher
            .update_mmap_rayon(path)
            .map_err(|e| std::io::Error::new(e.kind(), format!("cannot read {path}: {e}")))?;
    } else {
        hasher.update_reader(&mut file)?;
    }
    Ok(Hashed {
        blake3: hasher.finalize().to_hex().to_string(),
        // The bytes hashed, not the size now: the two agree even if the file changed.
        size: hasher.count(),
    })
}

fn stamp(path: &Utf8Path) -> std::io::Result<Stamp> {
    let meta = fs_err::metadata(path)?;
    // Checked before every read: a path swapped for a FIFO since `validate` would block
    // the read forever.
    if !meta.is_file() {
        return Err(std::io::Error::other(format!(
            "{path} is no longer a regular file"
        )));
    }
    let mtime_ns = meta
        .modified()
        .ok()
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .map_or(0, |d| i64::try_from(d.as_nanos()).unwrap_or(i64::MAX));
    #[cfg(unix)]
    let (inode, ctime_ns) = {
        use std::os::unix::fs::MetadataExt;
        let ns = i128::from(meta.ctime()) * 1_000_000_000 + i128::from(meta.ctime_nsec());
        (meta.ino(), i64::try_from(ns).unwrap_or(i64::MAX))
    };
    #[cfg(not(unix))]
    let (inode, ctime_ns) = (0, 0);
    Ok(Stamp {
        size: meta.len(),
        mtime_ns,
        ctime_ns,
        inode,
    })
}

/// Hashes every path (in parallel, on the blocking pool), reusing cached hashes for files
/// whose stamp is unchanged, and saves the cache. Returns hashes keyed by path.
pub(crate) async fn hash_all(
    state: Option<&StateDir>,
    paths: Vec<Utf8PathBuf>,
) -> Result<BTreeMap<Utf8PathBuf, Hashed>, HashError> {
    let cached: Arc<BTreeMap<Utf8PathBuf, Entry>> = Arc::new(state.map(load).unwrap_or_default());
    let workers = std::thread::available_parallelism().map_or(2, std::num::NonZero::get);
    let results: Vec<(Utf8PathBuf, Entry, bool)> = stream::iter(paths)
        .map(|path| {
            let cached = Arc::clone(&cached);
            async move {
                let task = tokio::task::spawn_blocking(move || {
                    let before = stamp(&path)?;
                    if let Some(hit) = cached.get(&path).filter(|e| e.stamp == before) {
                        return Ok((path, hit.clone(), false));
                    }
                    let hashed = hash_file(&path)?;
                    // A file that changed while being read gets the stamp it has now, so a
                    // stale hash is never cached under a fresh stamp.
                    let after = stamp(&path)?;
                    let entry = Entry {
                        stamp: Stamp {
                            size: hashed.size,
                            ..after
                        },
                        blake3: hashed.blake3,
                    };
                    Ok::<_, std::io::Error>((path, entry, true))
                });
                match task.await {
                    Ok(result) => result.map_err(HashError::Read),
                    Err(join) => Err(HashError::Task(join)),
                }
            }
        })
        .buffer_unordered(workers)
        .try_collect()
        .await?;

    let changed = results.iter().any(|(_, _, fresh)| *fresh);
    let hashes = results
        .iter()
        .map(|(p, e, _)| {
            (
                p.clone(),
                Hashed {
                    blake3: e.blake3.clone(),
                    size: e.stamp.size,
                },
            )
        })
        .collect();
    if let (Some(state), true) = (state, changed) {
        save(state, results.into_iter().map(|(p, e, _)| (p, e))).map_err(HashError::Save)?;
    }
    Ok(hashes)
}

fn load(state: &StateDir) -> BTreeMap<Utf8PathBuf, Entry> {
    // A damaged cache only costs re-hashing what it lost; it is never an error.
    let path = state.path(CACHE_FILE);
    match damaged::read_json(&path) {
        None => BTreeMap::new(),
        Some(serde_json::Value::Object(map)) => {
            let pairs = map.into_iter().map(|(k, v)| serde_json::json!([k, v]));
            damaged::entries::<(Utf8PathBuf, Entry)>(&path, pairs)
                .into_iter()
                .collect()
        }
        Some(_) => {
            damaged::report_shape(&path);
            BTreeMap::new()
        }
    }
}

fn save(
    state: &StateDir,
    fresh: impl Iterator<Item = (Utf8PathBuf, Entry)>,
) -> Result<(), StoreError> {
    let _lock = state.lock()?;
    // Merge with what is on disk now: another runner may have added entries meanwhile.
    let mut all = load(state);
    all.extend(fresh);
    let path = state.path(CACHE_FILE);
    let fail = |source| StoreError::Save {
        path: path.clone(),
        source,
    };
    let bytes = serde_json::to_vec(&all).map_err(|e| fail(e.into()))?;
    write_private(&path, &bytes).map_err(fail)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_parallel_path_and_the_streaming_path_agree() {
        let dir = tempfile::tempdir().unwrap();
        let file = Utf8PathBuf::try_from(dir.path().join("big.bin")).unwrap();
        // Just above a 1 MiB threshold: large enough to be mapped and split across threads.
        let from = 1 << 20;
        let bytes: Vec<u8> = (0..from + 1).map(|i| (i % 251) as u8).collect();
        fs_err::write(&file, &bytes).unwrap();
        let parallel = hash_file_with(&file, from).unwrap();
        let streamed = hash_file_with(&file, u64::MAX).unwrap();
        assert_eq!(parallel, streamed);
        assert_eq!(parallel.blake3, blake3::hash(&bytes).to_hex().to_string());
        assert_eq!(parallel.size, from + 1);
    }

    #[tokio::test]
    async fn caches_by_stamp_and_rehashes_changed_files() {
        let dir = tempfile::tempdir().unwrap();
        let root = Utf8PathBuf::try_from(dir.path().to_path_buf()).unwrap();
        let state = StateDir::open(&root.join("state")).unwrap();
        let file = root.join("a.csv");
        fs_err::write(&file, "a,b\n1,2\n").unwrap();

        let first = hash_all(Some(&state), vec![file.clone()]).await.unwrap();
        assert_eq!(
            first[&file].blake3,
            blake3::hash(b"a,b\n1,2\n").to_hex().to_string()
        );
        assert!(state.path(CACHE_FILE).exists());

        // Poison the cached hash: an unchanged stamp must be trusted (not re-read).
        let mut cache = load(&state);
        cache.get_mut(&file).unwrap().blake3 = "cached".into();
        fs_err::write(state.path(CACHE_FILE), serde_json::to_vec(&cache).unwrap()).unwrap();
        let second = hash_all(Some(&state), vec![file.clone()]).await.unwrap();
        assert_eq!(second[&file].blake3, "cached");

        // A changed size changes the stamp: the file is read again.
        fs_err::write(&file, "a,b\n1,2\n3,4\n").unwrap();
        let third = hash_all(Some(&state), vec![file.clone()]).await.unwrap();
        assert_eq!(
            third[&file].blake3,
            blake3::hash(b"a,b\n1,2\n3,4\n").to_hex().to_string()
        );
    }
}

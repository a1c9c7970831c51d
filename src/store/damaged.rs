//! Cache files read entry by entry: a damaged file costs only the entries that cannot be
//! read, and says so once (docs/output.md §5). The caches only save work, so damage is a
//! warning, never a failure; but it is never silent, because a lost upload entry means
//! the bytes are uploaded again while the old copy stays on the API.

use std::collections::BTreeSet;
use std::sync::{Mutex, PoisonError};

use camino::{Utf8Path, Utf8PathBuf};
use serde::de::DeserializeOwned;

/// The files already reported by this process: a run reads each cache more than once.
static REPORTED: Mutex<BTreeSet<Utf8PathBuf>> = Mutex::new(BTreeSet::new());

/// The file as JSON; `None` when it is missing (quietly) or unreadable or not JSON
/// (reported).
pub(crate) fn read_json(path: &Utf8Path) -> Option<serde_json::Value> {
    let bytes = match fs_err::read(path) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return None,
        Err(e) => {
            report(path, &format!("cannot be read ({e})"));
            return None;
        }
    };
    match serde_json::from_slice(&bytes) {
        Ok(value) => Some(value),
        Err(e) => {
            report(path, &format!("is not valid JSON ({e})"));
            None
        }
    }
}

/// Each value that parses as a `T`; the others are counted and reported.
pub(crate) fn entries<T: DeserializeOwned>(
    path: &Utf8Path,
    values: impl IntoIterator<Item = serde_json::Value>,
) -> Vec<T> {
    let mut skipped = 0usize;
    let kept = values
        .into_iter()
        .filter_map(|v| serde_json::from_value(v).inspect_err(|_| skipped += 1).ok())
        .collect();
    if skipped > 0 {
        let count = crate::units::count(skipped, "entry");
        report(path, &format!("has {count} that cannot be read"));
    }
    kept
}

/// The readable `entries` of a cache file shaped `{"entries": [...]}`: none when it is
/// missing, and a warning (once) for a file or entries of another shape.
pub(crate) fn read_entries<T: DeserializeOwned>(path: &Utf8Path) -> Vec<T> {
    match read_json(path) {
        None => Vec::new(),
        Some(serde_json::Value::Object(mut top)) => match top.remove("entries") {
            Some(serde_json::Value::Array(values)) => entries(path, values),
            _ => {
                report_shape(path);
                Vec::new()
            }
        },
        Some(_) => {
            report_shape(path);
            Vec::new()
        }
    }
}

/// A file whose shape is wrong as a whole (not the object the cache writes).
pub(crate) fn report_shape(path: &Utf8Path) {
    report(path, "does not have the shape this runner writes");
}

fn report(path: &Utf8Path, what: &str) {
    let first = REPORTED
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .insert(path.to_owned());
    if first {
        tracing::warn!(
            "the cache file {path} {what}; the rest of it is used, and what it no longer \
             knows is hashed or uploaded again"
        );
    }
}

//! The model cache: what the Models API said of each model, per API base URL, so that a
//! run asks `GET /v1/models/{id}` at most once a day per model, and `validate` and `plan`
//! can check models without the network (docs/output.md §5.3).
//!
//! One file, `models.json`, rewritten atomically under the state lock (merged with what
//! is on disk, so two runners sharing the dir keep each other's entries). An entry is
//! keyed by (base URL, the id as asked): an alias and the id it resolves to are two
//! entries. Entries are replaced, never piled up.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::{StateDir, StoreError, write_private};
use crate::api::models::ModelInfo;

const CACHE_FILE: &str = "models.json";

/// How long a run trusts an entry before asking again. `retires_at` may be revised and a
/// model may retire, but not without weeks of notice (docs/api.md §12.2).
pub(crate) const FRESH_FOR: jiff::SignedDuration = jiff::SignedDuration::from_hours(24);

#[derive(Clone, Debug, Serialize, Deserialize)]
struct Entry {
    base_url: String,
    /// The id as the manifest (or the listing) named it.
    id: String,
    fetched_at: jiff::Timestamp,
    model: ModelInfo,
}

#[derive(Default, Serialize, Deserialize)]
struct CacheFile {
    version: u32,
    entries: Vec<Entry>,
}

/// A cached answer and when it was fetched.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Cached {
    pub model: ModelInfo,
    pub fetched_at: jiff::Timestamp,
}

impl Cached {
    /// Fetched less than [`FRESH_FOR`] before `now`.
    pub(crate) fn is_fresh(&self, now: jiff::Timestamp) -> bool {
        now.duration_since(self.fetched_at) < FRESH_FOR
    }
}

/// The model cache of one API base URL.
pub(crate) struct ModelCache {
    state: StateDir,
    base_url: String,
}

impl ModelCache {
    pub(crate) fn for_api(state: &StateDir, base_url: &str) -> ModelCache {
        ModelCache {
            state: state.clone(),
            base_url: base_url.trim_end_matches('/').to_owned(),
        }
    }

    /// Every entry on disk, by (base URL, id). An unreadable or malformed file reads as
    /// empty: it only costs a request.
    fn load(&self) -> BTreeMap<(String, String), Entry> {
        let file: CacheFile = fs_err::read(self.state.path(CACHE_FILE))
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok())
            .unwrap_or_default();
        file.entries
            .into_iter()
            .map(|e| ((e.base_url.clone(), e.id.clone()), e))
            .collect()
    }

    /// What the cache has for `id` under this base URL, however old.
    pub(crate) fn get(&self, id: &str) -> Option<Cached> {
        self.load()
            .remove(&(self.base_url.clone(), id.to_owned()))
            .map(|e| Cached {
                model: e.model,
                fetched_at: e.fetched_at,
            })
    }

    /// Every model cached for this base URL (one per model id, the newest answer), sorted
    /// by id. Empty: this base URL has no cached catalogue.
    pub(crate) fn all(&self) -> Vec<Cached> {
        let mut by_id: BTreeMap<String, Cached> = BTreeMap::new();
        for e in self
            .load()
            .into_values()
            .filter(|e| e.base_url == self.base_url)
        {
            let newer = by_id
                .get(&e.model.id)
                .is_none_or(|c| c.fetched_at < e.fetched_at);
            if newer {
                let cached = Cached {
                    model: e.model,
                    fetched_at: e.fetched_at,
                };
                by_id.insert(cached.model.id.clone(), cached);
            }
        }
        by_id.into_values().collect()
    }

    /// Records answers fetched now: each `(id as asked, model)` replaces its entry.
    pub(crate) fn record(&self, answers: &[(String, ModelInfo)]) -> Result<(), StoreError> {
        let path = self.state.path(CACHE_FILE);
        let fail = |source| StoreError::Save {
            path: path.clone(),
            source,
        };
        let _lock = self.state.lock()?;
        let mut all = self.load();
        let now = jiff::Timestamp::now();
        for (id, model) in answers {
            let entry = Entry {
                base_url: self.base_url.clone(),
                id: id.clone(),
                fetched_at: now,
                model: model.clone(),
            };
            all.insert((entry.base_url.clone(), entry.id.clone()), entry);
        }
        let file = CacheFile {
            version: 1,
            entries: all.into_values().collect(),
        };
        let bytes = serde_json::to_vec_pretty(&file).map_err(|e| fail(e.into()))?;
        write_private(&path, &bytes).map_err(fail)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::models::Lifecycle;

    fn model(id: &str, lifecycle: Lifecycle) -> ModelInfo {
        serde_json::from_value(serde_json::json!({
            "id": id, "lifecycle": lifecycle.as_str(), "line": "sonnet"
        }))
        .unwrap()
    }

    #[test]
    fn entries_are_per_base_url_replaced_and_dated() {
        let dir = tempfile::tempdir().unwrap();
        let state = StateDir::open(camino::Utf8Path::from_path(dir.path()).unwrap()).unwrap();
        let cache = ModelCache::for_api(&state, "http://api/");
        let other = ModelCache::for_api(&state, "http://other");
        assert!(cache.all().is_empty());
        let a = model("claude-a", Lifecycle::Active);
        cache
            .record(&[
                ("claude-a".into(), a.clone()),
                ("alias-a".into(), a.clone()),
            ])
            .unwrap();
        other
            .record(&[("claude-b".into(), model("claude-b", Lifecycle::Active))])
            .unwrap();
        let got = cache.get("alias-a").unwrap();
        assert_eq!(got.model, a);
        assert!(got.is_fresh(jiff::Timestamp::now()));
        let tomorrow = jiff::Timestamp::now() + FRESH_FOR;
        assert!(!got.is_fresh(tomorrow));
        assert_eq!(cache.all().len(), 1, "an alias and its id are one model");
        assert!(cache.get("claude-b").is_none(), "another base URL's entry");

        let retired = model("claude-a", Lifecycle::Retired);
        cache.record(&[("claude-a".into(), retired)]).unwrap();
        let ids: Vec<Lifecycle> = cache.all().iter().map(|c| c.model.lifecycle).collect();
        assert_eq!(ids, [Lifecycle::Retired], "the newest answer wins");
        assert_eq!(
            cache.get("alias-a").unwrap().model.lifecycle,
            Lifecycle::Active
        );
    }

    #[test]
    fn a_broken_file_reads_as_empty_and_is_replaced() {
        let dir = tempfile::tempdir().unwrap();
        let state = StateDir::open(camino::Utf8Path::from_path(dir.path()).unwrap()).unwrap();
        fs_err::write(state.path(CACHE_FILE), b"{\"version\": 1, \"entr").unwrap();
        let cache = ModelCache::for_api(&state, "http://api");
        assert!(cache.get("claude-a").is_none());
        cache
            .record(&[("claude-a".into(), model("claude-a", Lifecycle::Active))])
            .unwrap();
        assert!(cache.get("claude-a").is_some());
    }
}

//! The skill cache: which skill and version the Skills API made of each skill folder's
//! content, so that no folder is uploaded twice across runs (docs/output.md §5.4 has the
//! file format, docs/api.md §14.2 the API).
//!
//! It maps (API base URL, key fingerprint, folder BLAKE3) → (skill id, version id), and
//! keeps the frontmatter `name` of each, so that a changed folder becomes a new version
//! of the skill this runner made for that name. A run uploads a few skills at most, so
//! the cache is one file (`skills.json`), rewritten atomically under the state lock on
//! every change (read, merge, write): runners sharing the state dir never lose each
//! other's entries. A damaged file costs only the entries that cannot be read (a folder
//! uploaded again), said once (`damaged.rs`).

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use super::{StateDir, StoreError, damaged, write_private};

const CACHE_FILE: &str = "skills.json";

/// One skill version this runner uploaded: the folder's frontmatter `name` and content
/// hash, and what the Skills API made of it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct CachedSkill {
    pub name: String,
    pub blake3: String,
    pub skill_id: String,
    pub version_id: String,
    /// The folder's bytes, all files together.
    pub size: u64,
    pub uploaded_at: jiff::Timestamp,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
struct CacheEntry {
    base_url: String,
    key: String,
    #[serde(flatten)]
    skill: CachedSkill,
}

#[derive(Serialize)]
struct CacheFile<'a> {
    version: u32,
    entries: Vec<&'a CacheEntry>,
}

/// The skill cache of one API base URL and key.
pub(crate) struct SkillCache {
    state: StateDir,
    base_url: String,
    key: String,
}

impl SkillCache {
    /// The cache of an API base URL and key fingerprint.
    pub(crate) fn for_api(state: &StateDir, base_url: &str, key_fingerprint: String) -> SkillCache {
        SkillCache {
            state: state.clone(),
            base_url: base_url.trim_end_matches('/').to_owned(),
            key: key_fingerprint,
        }
    }

    /// Every readable entry of the file, of every API and key. Never fails: a damaged
    /// cache only costs uploads again.
    fn load_all(&self) -> Vec<CacheEntry> {
        let file = self.state.path(CACHE_FILE);
        damaged::read_entries(&file)
    }

    fn ours(&self, e: &CacheEntry) -> bool {
        e.base_url == self.base_url && e.key == self.key
    }

    /// The version recorded for this folder content, if any (not yet verified with the
    /// API: the caller asks `GET /v1/skills/{id}/versions/{version}` before using it).
    pub(crate) fn by_content(&self, blake3: &str) -> Option<CachedSkill> {
        self.entries().into_iter().find(|e| e.blake3 == blake3)
    }

    /// The skill id this runner made for a frontmatter `name` (its newest entry), to which
    /// a changed folder of that name is added as a new version.
    pub(crate) fn skill_of(&self, name: &str) -> Option<String> {
        self.entries()
            .into_iter()
            .filter(|e| e.name == name)
            .max_by_key(|e| e.uploaded_at)
            .map(|e| e.skill_id)
    }

    /// Every skill version recorded for this API base URL and key, oldest first.
    pub(crate) fn entries(&self) -> Vec<CachedSkill> {
        let mut entries: Vec<CachedSkill> = self
            .load_all()
            .into_iter()
            .filter(|e| self.ours(e))
            .map(|e| e.skill)
            .collect();
        entries.sort_by(|a, b| (a.uploaded_at, &a.version_id).cmp(&(b.uploaded_at, &b.version_id)));
        entries
    }

    /// Records one finished upload. An entry of the same content (uploaded again after
    /// its version was lost) is replaced.
    pub(crate) fn record(&self, entry: &CachedSkill) -> Result<(), StoreError> {
        self.rewrite(|entries| {
            entries.retain(|e| e.skill.blake3 != entry.blake3);
            entries.push(CacheEntry {
                base_url: String::new(),
                key: String::new(),
                skill: entry.clone(),
            });
        })
    }

    /// Drops the entries of these `(skill_id, version_id)` pairs (deleted from the API),
    /// so that no run trusts them again.
    pub(crate) fn forget(&self, versions: &BTreeSet<(String, String)>) -> Result<(), StoreError> {
        self.rewrite(|entries| {
            entries.retain(|e| {
                !versions.contains(&(e.skill.skill_id.clone(), e.skill.version_id.clone()))
            });
        })
    }

    /// Under the state lock: reads the file, lets `change` edit this API's entries (a new
    /// entry's `base_url` and `key` are filled in), and writes the file atomically.
    fn rewrite(&self, change: impl FnOnce(&mut Vec<CacheEntry>)) -> Result<(), StoreError> {
        let path = self.state.path(CACHE_FILE);
        let fail = |source| StoreError::Save {
            path: path.clone(),
            source,
        };
        let _lock = self.state.lock()?;
        let (mut ours, others): (Vec<CacheEntry>, Vec<CacheEntry>) =
            self.load_all().into_iter().partition(|e| self.ours(e));
        change(&mut ours);
        for e in &mut ours {
            e.base_url.clone_from(&self.base_url);
            e.key.clone_from(&self.key);
        }
        // One entry per (API, key, content): the last one written wins.
        let merged: BTreeMap<(&str, &str, &str), &CacheEntry> = others
            .iter()
            .chain(&ours)
            .map(|e| {
                (
                    (e.base_url.as_str(), e.key.as_str(), e.skill.blake3.as_str()),
                    e,
                )
            })
            .collect();
        let file = CacheFile {
            version: 1,
            entries: merged.into_values().collect(),
        };
        let bytes = serde_json::to_vec_pretty(&file).map_err(|e| fail(e.into()))?;
        write_private(&path, &bytes).map_err(fail)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn skill(name: &str, blake3: &str, skill_id: &str, version_id: &str, at: i64) -> CachedSkill {
        CachedSkill {
            name: name.to_owned(),
            blake3: blake3.to_owned(),
            skill_id: skill_id.to_owned(),
            version_id: version_id.to_owned(),
            size: 10,
            uploaded_at: jiff::Timestamp::from_second(at).unwrap(),
        }
    }

    fn state() -> (tempfile::TempDir, StateDir) {
        let dir = tempfile::tempdir().unwrap();
        let state = StateDir::open(camino::Utf8Path::from_path(dir.path()).unwrap()).unwrap();
        (dir, state)
    }

    #[test]
    fn records_by_content_and_finds_the_skill_of_a_name() {
        let (_dir, state) = state();
        let cache = SkillCache::for_api(&state, "http://api/", "key".into());
        let other = SkillCache::for_api(&state, "http://other", "key".into());
        assert_eq!(cache.by_content("h1"), None);
        cache
            .record(&skill("style", "h1", "skill_a", "skver_1", 100))
            .unwrap();
        cache
            .record(&skill("style", "h2", "skill_a", "skver_2", 200))
            .unwrap();
        cache
            .record(&skill("charts", "h3", "skill_b", "skver_3", 150))
            .unwrap();
        other
            .record(&skill("style", "h1", "skill_z", "skver_9", 300))
            .unwrap();

        assert_eq!(cache.by_content("h2").unwrap().version_id, "skver_2");
        assert_eq!(cache.skill_of("style").as_deref(), Some("skill_a"));
        assert_eq!(cache.skill_of("charts").as_deref(), Some("skill_b"));
        assert_eq!(cache.skill_of("nothing"), None);
        assert_eq!(other.by_content("h1").unwrap().skill_id, "skill_z");
        let order: Vec<String> = cache.entries().into_iter().map(|e| e.version_id).collect();
        assert_eq!(order, ["skver_1", "skver_3", "skver_2"], "oldest first");

        // The same content uploaded again (its version was lost) replaces its entry.
        cache
            .record(&skill("style", "h1", "skill_a", "skver_4", 400))
            .unwrap();
        assert_eq!(cache.by_content("h1").unwrap().version_id, "skver_4");
        assert_eq!(cache.entries().len(), 3);

        let gone: BTreeSet<(String, String)> =
            [("skill_a".to_owned(), "skver_4".to_owned())].into();
        cache.forget(&gone).unwrap();
        assert_eq!(cache.by_content("h1"), None);
        assert_eq!(cache.entries().len(), 2);
        assert_eq!(other.entries().len(), 1, "another API's entries are kept");
    }

    #[test]
    fn a_damaged_file_keeps_what_is_readable() {
        let (_dir, state) = state();
        let cache = SkillCache::for_api(&state, "http://api", "key".into());
        cache
            .record(&skill("style", "h1", "skill_a", "skver_1", 100))
            .unwrap();
        let path = state.path(CACHE_FILE);
        let mut file: serde_json::Value =
            serde_json::from_slice(&fs_err::read(&path).unwrap()).unwrap();
        file["entries"]
            .as_array_mut()
            .unwrap()
            .push(serde_json::json!({"base_url": "http://api", "blake3": 7}));
        fs_err::write(&path, serde_json::to_vec(&file).unwrap()).unwrap();
        assert_eq!(cache.entries().len(), 1);
        // The next save rewrites it from what was read.
        cache
            .record(&skill("charts", "h2", "skill_b", "skver_2", 200))
            .unwrap();
        assert_eq!(cache.entries().len(), 2);

        fs_err::write(&path, b"{not json").unwrap();
        assert!(cache.entries().is_empty());
        fs_err::write(&path, b"[1, 2]").unwrap();
        assert!(cache.entries().is_empty());
        cache
            .record(&skill("style", "h1", "skill_a", "skver_1", 100))
            .unwrap();
        assert_eq!(cache.entries().len(), 1);
    }
}

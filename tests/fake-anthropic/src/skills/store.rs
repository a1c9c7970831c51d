//! The workspace's skills (docs/api.md §8.16): custom skills with their versions, the
//! Anthropic catalogue, which custom skills are blocked, and what each container mounted.

use std::collections::{BTreeMap, HashMap, HashSet};

use jiff::Timestamp;
use serde_json::{Value, json};

use crate::state::rfc3339;

/// The Anthropic skills: id, description, versions oldest first (`latest` is the last).
/// `20251013` is the documented version (docs/api.md §8.16); the later one is the fake's.
pub(crate) const ANTHROPIC: &[(&str, &str, &[&str])] = &[
    (
        "xlsx",
        "Spreadsheet creation, editing and analysis, with formulas, formatting and charts.",
        &["20251013", "20261104"],
    ),
    (
        "pptx",
        "Presentation creation, editing and analysis: layouts, slides, speaker notes.",
        &["20251013", "20261104"],
    ),
    (
        "docx",
        "Document creation and editing, with tracked changes, comments and formatting.",
        &["20251013", "20261104"],
    ),
    (
        "pdf",
        "PDF toolkit: extract text and tables, create, merge and split documents, fill forms.",
        &["20251013", "20261104"],
    ),
];

/// One version of a custom skill.
pub(crate) struct Version {
    pub id: String,
    /// Orders the skill's versions (newest first in listings).
    pub seq: u64,
    /// The skill's slug: the top-level directory the files mount under.
    pub name: String,
    pub description: String,
    pub created_at: Timestamp,
    /// (path, size, blake3 hex) of every file uploaded.
    pub files: Vec<(String, u64, String)>,
}

pub(crate) struct Skill {
    pub id: String,
    pub display_name: String,
    pub name: String,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    /// seq → version; never empty.
    pub versions: BTreeMap<u64, Version>,
}

impl Skill {
    pub(crate) fn latest(&self) -> Option<&Version> {
        self.versions.values().next_back()
    }

    /// A version by id, or `latest`.
    pub(crate) fn version(&self, v: &str) -> Option<&Version> {
        if v == "latest" {
            return self.latest();
        }
        self.versions.values().find(|x| x.id == v)
    }

    pub(crate) fn object(&self) -> Value {
        skill_object(
            &self.id,
            &self.display_name,
            self.latest().map_or("", |v| v.id.as_str()),
            "custom",
            &rfc3339(self.created_at),
            &rfc3339(self.updated_at),
        )
    }
}

impl Version {
    pub(crate) fn object(&self, skill_id: &str) -> Value {
        version_object(
            &self.id,
            skill_id,
            &self.name,
            &self.description,
            &rfc3339(self.created_at),
        )
    }
}

/// Skill (SDK 2.17 `types/skill.py`): `source` is an object.
pub(crate) fn skill_object(
    id: &str,
    display_name: &str,
    latest: &str,
    source: &str,
    created_at: &str,
    updated_at: &str,
) -> Value {
    json!({
        "type": "skill",
        "id": id,
        "display_name": display_name,
        "latest_version_id": latest,
        "source": {"type": source},
        "created_at": created_at,
        "updated_at": updated_at,
    })
}

/// SkillVersion (SDK 2.17 `types/skills/skill_version.py`).
pub(crate) fn version_object(
    id: &str,
    skill_id: &str,
    name: &str,
    description: &str,
    created_at: &str,
) -> Value {
    json!({
        "type": "skill_version",
        "id": id,
        "skill_id": skill_id,
        "name": name,
        "description": description,
        "created_at": created_at,
    })
}

/// An Anthropic catalogue date (`20251013`) as a timestamp at midnight UTC.
fn date_time(version: &str) -> String {
    match (version.get(..4), version.get(4..6), version.get(6..8)) {
        (Some(y), Some(m), Some(d)) => format!("{y}-{m}-{d}T00:00:00.000000Z"),
        _ => "2025-10-13T00:00:00.000000Z".to_owned(),
    }
}

/// An Anthropic skill by id: (index, description, versions).
pub(crate) fn anthropic(id: &str) -> Option<(usize, &'static str, &'static [&'static str])> {
    ANTHROPIC
        .iter()
        .enumerate()
        .find(|(_, (sid, ..))| *sid == id)
        .map(|(i, (_, desc, versions))| (i, *desc, *versions))
}

/// The Skill object of an Anthropic skill.
pub(crate) fn anthropic_object(id: &str) -> Option<Value> {
    let (_, _, versions) = anthropic(id)?;
    let first = versions.first()?;
    let last = versions.last()?;
    Some(skill_object(
        id,
        id,
        last,
        "anthropic",
        &date_time(first),
        &date_time(last),
    ))
}

/// An Anthropic skill's versions, newest first, with their listing keys.
pub(crate) fn anthropic_versions(id: &str) -> Vec<(u64, Value)> {
    let Some((_, desc, versions)) = anthropic(id) else {
        return Vec::new();
    };
    versions
        .iter()
        .enumerate()
        .rev()
        .map(|(i, v)| {
            let key = u64::try_from(i).unwrap_or(0) + 1;
            (key, version_object(v, id, id, desc, &date_time(v)))
        })
        .collect()
}

/// What a container mounted when it was created (docs/api.md §8.16).
#[derive(Clone, Debug, Default)]
pub(crate) struct Mounted {
    /// `container.skills` as requested (version defaulted to `latest`).
    pub requested: Vec<crate::skills::container::SkillRef>,
    /// `container.skills` of the response: versions resolved.
    pub resolved: Vec<Value>,
    /// What the scripted model sees.
    pub loaded: Vec<crate::skills::Loaded>,
}

#[derive(Default)]
pub(crate) struct Store {
    next_seq: u64,
    /// seq → skill.
    pub skills: BTreeMap<u64, Skill>,
    /// Custom skills whose reads fail with 409 `skill_read_blocked_undecryptable`.
    pub blocked: HashSet<String>,
    /// Container id → its skills; a container missing here has none.
    pub mounted: HashMap<String, Mounted>,
    /// Batch items with `container.skills` come back `errored`.
    pub refused_in_batches: bool,
}

impl Store {
    /// A fresh listing key, above every Anthropic skill's.
    pub(crate) fn next_seq(&mut self) -> u64 {
        self.next_seq += 1;
        self.next_seq + 100
    }

    pub(crate) fn skill(&self, id: &str) -> Option<&Skill> {
        self.skills.values().find(|s| s.id == id)
    }

    pub(crate) fn skill_mut(&mut self, id: &str) -> Option<&mut Skill> {
        self.skills.values_mut().find(|s| s.id == id)
    }

    /// Removes a skill with all its versions; whether it existed.
    pub(crate) fn remove(&mut self, id: &str) -> bool {
        let seq = self
            .skills
            .iter()
            .find(|(_, s)| s.id == id)
            .map(|(k, _)| *k);
        seq.is_some_and(|k| self.skills.remove(&k).is_some())
    }

    /// Every skill (custom and Anthropic) as (listing key, object), newest first.
    pub(crate) fn listing(&self, source: Option<&str>) -> Vec<(u64, Value)> {
        let mut out: Vec<(u64, Value)> = Vec::new();
        if source.is_none_or(|s| s == "custom") {
            out.extend(self.skills.iter().rev().map(|(k, s)| (*k, s.object())));
        }
        if source.is_none_or(|s| s == "anthropic") {
            // In the table's order, keyed below every custom skill.
            let n = ANTHROPIC.len();
            for (i, (id, ..)) in ANTHROPIC.iter().enumerate() {
                if let Some(object) = anthropic_object(id) {
                    out.push((u64::try_from(n - i).unwrap_or(0), object));
                }
            }
        }
        out
    }
}

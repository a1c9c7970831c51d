//! A job's Agent Skills, resolved (docs/manifest.md "Skills"): each an Anthropic skill, a
//! custom skill already in the workspace, or a folder the runner uploads. The checks that
//! make them are in `skill_checks.rs`.

use std::collections::BTreeMap;

use camino::Utf8PathBuf;
use serde::Serialize;

pub(crate) use super::skill_folder::SkillFolder;

/// The version a skill written without one gets.
pub(crate) const LATEST: &str = "latest";

/// One skill of a job, resolved.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "source", rename_all = "snake_case")]
pub(crate) enum Skill {
    /// One of Anthropic's skills; `version` as written (`latest` or a date).
    Anthropic { skill_id: String, version: String },
    /// A custom skill already in the workspace; `version` as written.
    Custom { skill_id: String, version: String },
    /// A folder the runner uploads as a custom skill (once per content).
    Folder(SkillFolder),
}

impl Skill {
    /// What the fingerprint keeps of it: the source, the id (a folder's name) and the
    /// version as written (a folder's content hash), never a server id, so a job stays
    /// fresh across machines until a skill's content changes.
    pub(crate) fn key(&self) -> (&str, &str, &str) {
        match self {
            Skill::Anthropic { skill_id, version } => ("anthropic", skill_id, version),
            Skill::Custom { skill_id, version } => ("custom", skill_id, version),
            Skill::Folder(f) => ("folder", &f.name, &f.blake3),
        }
    }

    /// How `plan` and the reports name it: `xlsx`, `xlsx@20251013`, `house-style (folder
    /// skills/house-style)`.
    pub(crate) fn label(&self) -> String {
        match self {
            Skill::Anthropic { skill_id, version } | Skill::Custom { skill_id, version } => {
                if version == LATEST {
                    skill_id.clone()
                } else {
                    format!("{skill_id}@{version}")
                }
            }
            Skill::Folder(f) => format!("{} (folder {})", f.name, f.folder),
        }
    }
}

/// Folders read so far in this run, by path: each is read and hashed once.
pub(super) type Folders = BTreeMap<Utf8PathBuf, Result<SkillFolder, String>>;

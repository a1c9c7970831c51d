//! `job.json`'s `skills[]` (docs/output.md §2.11): one record per skill the job's requests
//! used, as requested and as the API resolved it (the response's `container.skills`,
//! docs/api.md §14.1). Written by the engine's outcome, read back by `runner skills`
//! (`references.rs`) to tell which skill versions an output tree still uses.

use serde::{Deserialize, Serialize};

/// One skill a job's requests named.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub(crate) struct SkillRecord {
    /// `anthropic` (an Anthropic skill), `custom` (a workspace skill named by id in the
    /// manifest) or `folder` (a skill folder this runner uploaded).
    pub source: String,
    pub skill_id: String,
    /// As requested: `latest`, a date (`20251013`) or a `skver_…` id.
    pub version: String,
    /// The version the API resolved it to, from the response's `container.skills`;
    /// absent when no response named it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resolved_version: Option<String>,
    /// Folder skills: the SKILL.md frontmatter `name`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Folder skills: the folder as the manifest wrote it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub folder: Option<String>,
    /// Folder skills: the BLAKE3 of the folder's content (docs/output.md §2.11).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub blake3: Option<String>,
}

impl SkillRecord {
    /// The `"{skill_id}/{version}"` keys this record references: the requested version,
    /// and the resolved one when the API named one (`references.rs`).
    pub(crate) fn reference_keys(&self) -> impl Iterator<Item = String> + '_ {
        let requested = Some(self.version.as_str());
        let resolved = self
            .resolved_version
            .as_deref()
            .filter(|r| *r != self.version);
        requested
            .into_iter()
            .chain(resolved)
            .filter(|v| !v.is_empty() && !self.skill_id.is_empty())
            .map(|v| format!("{}/{v}", self.skill_id))
    }
}

/// job.json `skills[]` of an outcome: one per skill of the job, with the id and version
/// its requests sent (for a folder, the custom skill and version it was uploaded as) and
/// the version the API resolved, from the last response that named its container's
/// skills (docs/output.md §2.11).
pub(crate) fn of(outcome: &crate::output::outcome::JobOutcome) -> Vec<SkillRecord> {
    use crate::api::container::{WireSkill, loaded_skills};
    use crate::manifest::Skill;
    // Request and response name the container's skills in the same shape.
    let sent: Vec<WireSkill> = loaded_skills(&outcome.request);
    let loaded = outcome
        .exchanges
        .iter()
        .rev()
        .map(|e| loaded_skills(&e.response))
        .find(|l| !l.is_empty())
        .unwrap_or_default();
    outcome
        .job
        .skills
        .iter()
        .enumerate()
        .map(|(i, skill)| {
            let (source, id, version) = skill.key();
            let wire = sent.get(i);
            let skill_id = wire.map_or(id, |w| w.skill_id.as_str()).to_owned();
            let resolved_version = loaded
                .iter()
                .find(|l| l.skill_id == skill_id)
                .map(|l| l.version.clone());
            let folder = match skill {
                Skill::Folder(f) => Some(f),
                _ => None,
            };
            SkillRecord {
                source: source.to_owned(),
                version: match (folder, wire) {
                    (Some(_), Some(w)) => w.version.clone(),
                    (Some(_), None) => String::new(),
                    (None, _) => version.to_owned(),
                },
                skill_id,
                resolved_version,
                name: folder.map(|f| f.name.clone()),
                folder: folder.map(|f| f.folder.clone()),
                blake3: folder.map(|f| f.blake3.clone()),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn optional_fields_are_left_out_and_read_back() {
        let anthropic = SkillRecord {
            source: "anthropic".into(),
            skill_id: "xlsx".into(),
            version: "latest".into(),
            resolved_version: Some("20251013".into()),
            ..SkillRecord::default()
        };
        let json = serde_json::to_value(&anthropic).unwrap();
        assert_eq!(
            json,
            serde_json::json!({"source": "anthropic", "skill_id": "xlsx", "version": "latest",
                               "resolved_version": "20251013"})
        );
        assert_eq!(
            serde_json::from_value::<SkillRecord>(json).unwrap(),
            anthropic
        );
        let keys: Vec<String> = anthropic.reference_keys().collect();
        assert_eq!(keys, ["xlsx/latest", "xlsx/20251013"]);

        let folder = SkillRecord {
            source: "folder".into(),
            skill_id: "skill_01".into(),
            version: "skver_01".into(),
            resolved_version: Some("skver_01".into()),
            name: Some("house-style".into()),
            folder: Some("skills/house-style".into()),
            blake3: Some("ab12".into()),
        };
        let keys: Vec<String> = folder.reference_keys().collect();
        assert_eq!(keys, ["skill_01/skver_01"], "the same version once");
        // A record an older or odder runner wrote still reads.
        let odd: SkillRecord = serde_json::from_str(r#"{"skill_id": "s"}"#).unwrap();
        assert_eq!(odd.reference_keys().count(), 0);
    }
}

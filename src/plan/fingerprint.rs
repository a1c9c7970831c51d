//! The fingerprint: a hash of everything that determines a job's result
//! (docs/output.md §4). A later run skips a job whose `job.json` says it succeeded with the
//! same fingerprint.

use std::collections::BTreeMap;

use serde::Serialize;

use super::PlannedInput;
use crate::manifest::{Deliverables, RequestSettings, Skill};

/// Bumped whenever what the runner sends for the same manifest changes (e.g. the system
/// prompt addition), so old results are not mistaken for fresh.
const FINGERPRINT_SCHEME: u32 = 1;

/// A hash of everything that determines the job's result (docs/output.md §4).
/// Serialised from a struct, whose field order is fixed by this code, so the hash does not
/// depend on how a JSON map happens to order its keys.
pub(crate) fn fingerprint(
    settings: &RequestSettings,
    system: &str,
    turns: &[String],
    inputs: &[PlannedInput],
    deliverables: Option<&Deliverables>,
    skills: &[Skill],
    params: &BTreeMap<String, String>,
) -> String {
    #[derive(Serialize)]
    struct Canonical<'a> {
        scheme: u32,
        settings: &'a RequestSettings,
        system: &'a str,
        turns: &'a [String],
        inputs: Vec<(&'a str, &'a str)>,
        // Absent, not null, without `expect`: such jobs keep the fingerprint they had
        // before deliverables existed, so they are not re-run.
        #[serde(skip_serializing_if = "Option::is_none")]
        deliverables: Option<&'a Deliverables>,
        // Absent without skills, for the same reason. Each is (source, id or folder
        // name, version as written or the folder's content hash): never a server id.
        #[serde(skip_serializing_if = "Vec::is_empty")]
        skills: Vec<(&'a str, &'a str, &'a str)>,
        // A matrix cell's parameters, sorted by key; absent without `matrix`, so jobs
        // without one keep their fingerprint (docs/output.md §4).
        #[serde(skip_serializing_if = "BTreeMap::is_empty")]
        params: &'a BTreeMap<String, String>,
    }
    let canonical = Canonical {
        scheme: FINGERPRINT_SCHEME,
        settings,
        system,
        turns,
        inputs: inputs
            .iter()
            .map(|i| (i.name.as_str(), i.blake3.as_str()))
            .collect(),
        deliverables,
        skills: skills.iter().map(Skill::key).collect(),
        params,
    };
    // Serialising plain structs, strings and numbers cannot fail.
    let bytes = serde_json::to_vec(&canonical).unwrap_or_default();
    format!("blake3:{}", blake3::hash(&bytes).to_hex())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings() -> RequestSettings {
        RequestSettings {
            model: "m".into(),
            max_tokens: 16_000,
            system: None,
            api_version: "2026-10-21".into(),
            temperature: None,
            top_p: None,
            top_k: None,
            thinking_budget_tokens: None,
            thinking: None,
            thinking_display: None,
            effort: None,
            tool: "code_execution_20250825".into(),
            max_continuations: 20,
            timeout: None,
            max_input_age: None,
        }
    }

    /// The fingerprint of a job without `expect`, pinned: it must not change, or every
    /// existing result would be re-run (and re-paid).
    #[test]
    fn a_job_without_expect_keeps_its_fingerprint() {
        let turns = ["hi".to_owned()];
        let got = fingerprint(&settings(), "sys", &turns, &[], None, &[], &BTreeMap::new());
        let old = serde_json::json!({
            "scheme": 1, "settings": settings(), "system": "sys", "turns": turns, "inputs": []
        });
        let want = format!(
            "blake3:{}",
            blake3::hash(&serde_json::to_vec(&old).unwrap()).to_hex()
        );
        assert_eq!(got, want);
    }

    #[test]
    fn expect_and_repair_turns_change_the_fingerprint() {
        let turns = ["hi".to_owned()];
        let d = |name: &str, repair_turns| Deliverables {
            expect: vec![crate::manifest::Expectation {
                name: name.into(),
                min: 1,
                min_size: None,
            }],
            repair_turns,
            metrics: None,
        };
        let f = |d: Option<&Deliverables>| {
            fingerprint(&settings(), "sys", &turns, &[], d, &[], &BTreeMap::new())
        };
        let all = [
            f(None),
            f(Some(&d("a.md", 1))),
            f(Some(&d("b.md", 1))),
            f(Some(&d("a.md", 2))),
            f(Some(&Deliverables {
                metrics: Some("a.md".into()),
                ..d("a.md", 1)
            })),
        ];
        for (i, a) in all.iter().enumerate() {
            for b in &all[i + 1..] {
                assert_ne!(a, b);
            }
        }
    }

    #[test]
    fn each_skill_changes_the_fingerprint_and_a_folder_counts_by_content() {
        let turns = ["hi".to_owned()];
        let folder = |blake3: &str, shown: &str| {
            Skill::Folder(crate::manifest::SkillFolder {
                folder: shown.into(),
                dir: "/x".into(),
                name: "house".into(),
                description: "d".into(),
                blake3: blake3.into(),
                size: 1,
                files: vec![],
            })
        };
        let xlsx = |v: &str| Skill::Anthropic {
            skill_id: "xlsx".into(),
            version: v.into(),
        };
        let f = |skills: &[Skill]| {
            fingerprint(
                &settings(),
                "sys",
                &turns,
                &[],
                None,
                skills,
                &BTreeMap::new(),
            )
        };
        assert_eq!(
            f(&[]),
            fingerprint(&settings(), "sys", &turns, &[], None, &[], &BTreeMap::new())
        );
        let all = [
            f(&[]),
            f(&[xlsx("latest")]),
            f(&[xlsx("20251013")]),
            f(&[folder("aa", "skills/house")]),
            f(&[folder("ab", "skills/house")]),
        ];
        for (i, a) in all.iter().enumerate() {
            for b in &all[i + 1..] {
                assert_ne!(a, b);
            }
        }
        assert_eq!(
            f(&[folder("aa", "skills/house")]),
            f(&[folder("aa", "../elsewhere/house")]),
            "moving a folder does not make its jobs stale"
        );
    }

    #[test]
    fn each_param_value_changes_the_fingerprint_and_none_is_the_old_one() {
        let turns = ["hi".to_owned()];
        let f = |p: &[(&str, &str)]| {
            let params = p
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect();
            fingerprint(&settings(), "sys", &turns, &[], None, &[], &params)
        };
        assert_eq!(
            f(&[]),
            fingerprint(&settings(), "sys", &turns, &[], None, &[], &BTreeMap::new())
        );
        let all = [
            f(&[]),
            f(&[("region", "emea")]),
            f(&[("region", "amer")]),
            f(&[("region", "emea"), ("note", "x")]),
        ];
        for (i, a) in all.iter().enumerate() {
            for b in &all[i + 1..] {
                assert_ne!(a, b);
            }
        }
    }
}

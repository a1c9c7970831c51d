//! `runner explain`'s comparison against the `job.json` this crate writes.

use serde_json::Value;

use super::fixtures;
use crate::output::explain::{Change, explain};
use crate::output::records::job_json;

#[test]
fn the_record_of_the_same_job_is_fresh() {
    let outcome = fixtures::succeeded();
    let e = explain(&outcome.job, Some(&job_json(&outcome)));
    assert_eq!((e.status, e.reason), ("fresh", "fresh"));
    assert!(e.changes.is_empty());
}

#[test]
fn equal_parts_with_another_fingerprint_blame_the_scheme() {
    let outcome = fixtures::succeeded();
    let mut record = job_json(&outcome);
    record["fingerprint"] = "blake3:older-scheme".into();
    let e = explain(&outcome.job, Some(&record));
    assert_eq!(e.reason, "changed");
    assert_eq!(
        e.changes,
        [Change::FingerprintScheme {
            was_runner: record["runner_version"].clone()
        }]
    );
}

#[test]
fn an_input_removed_and_a_follow_up_added_are_named() {
    let outcome = fixtures::succeeded();
    let record = job_json(&outcome);
    let mut job = outcome.job.clone();
    let removed = job.inputs.remove(0);
    job.turns.push("One more thing.".to_owned());
    job.fingerprint = "blake3:new".to_owned();
    let e = explain(&job, Some(&record));
    let turn = job.turns.len();
    assert!(
        e.changes.contains(&Change::Turn { turn }),
        "{:?}",
        e.changes
    );
    assert!(e.changes.contains(&Change::Input {
        name: removed.name.clone(),
        was: Some(removed.blake3.clone()),
        now: None,
    }));
}

#[test]
fn a_failed_record_runs_again_with_its_error_as_detail() {
    let outcome = fixtures::failed();
    let record = job_json(&outcome);
    let e = explain(&outcome.job, Some(&record));
    assert_eq!((e.status, e.reason), ("to-run", "failed-last-time"));
    let kind = record["error"]["kind"].as_str().unwrap_or_default();
    assert!(e.detail.unwrap_or_default().starts_with(kind));
    let none = explain(&outcome.job, None::<&Value>);
    assert_eq!(none.reason, "never-ran");
}

#[test]
fn a_skill_folder_whose_content_changed_is_named_and_an_added_skill_too() {
    use crate::manifest::{Skill, SkillFolder};
    let folder = |blake3: &str| {
        Skill::Folder(SkillFolder {
            folder: "skills/house".into(),
            dir: "/x".into(),
            name: "house-style".into(),
            description: "d".into(),
            blake3: blake3.into(),
            size: 1,
            files: vec![],
        })
    };
    let mut outcome = fixtures::succeeded();
    outcome.job.skills = vec![folder("aaaa")];
    let record = job_json(&outcome);
    assert_eq!(record["skills"][0]["blake3"], "aaaa", "{record}");
    assert!(explain(&outcome.job, Some(&record)).changes.is_empty());
    let mut job = outcome.job.clone();
    job.skills = vec![
        folder("bbbb"),
        Skill::Anthropic {
            skill_id: "xlsx".into(),
            version: "latest".into(),
        },
    ];
    job.fingerprint = "blake3:new".to_owned();
    let e = explain(&job, Some(&record));
    assert_eq!(
        e.changes,
        [
            Change::Skill {
                name: "house-style".into(),
                was: Some("aaaa".into()),
                now: Some("bbbb".into()),
            },
            Change::Skill {
                name: "xlsx".into(),
                was: None,
                now: Some("latest".into()),
            },
        ]
    );
    let text: Vec<String> = e
        .changes
        .iter()
        .map(crate::output::explain::describe)
        .collect();
    assert_eq!(
        text,
        ["skill house-style changed: aaaa → bbbb", "skill xlsx added"]
    );
}

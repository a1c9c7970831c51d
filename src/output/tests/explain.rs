//! `runner explain`'s comparison against the `job.json` this crate writes.

use serde_json::Value;

use super::fixtures;
use crate::output::explain::{Change, explain, explain_record};
use crate::output::last_run::LastRun;
use crate::output::records::{JobRecord, job_json};
use crate::status::JobStatus;

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

/// Issue 23, item 9: the system text as sent lists each input's name and size, so it
/// changes with an input; only the input is named.
#[test]
fn a_changed_input_is_named_and_the_system_text_listing_it_is_not() {
    let outcome = fixtures::succeeded();
    let record = job_json(&outcome);
    let mut job = outcome.job.clone();
    job.inputs[0].blake3 = "blake3:0123456789abcdef".into();
    job.inputs[0].size += 100;
    job.system = crate::plan::system_prompt(job.settings.system.as_deref(), &job.inputs);
    job.fingerprint = "blake3:new".to_owned();
    let e = explain(&job, Some(&record));
    assert_eq!(
        e.changes,
        [Change::Input {
            name: job.inputs[0].name.clone(),
            was: Some(outcome.job.inputs[0].blake3.clone()),
            now: Some(job.inputs[0].blake3.clone()),
        }]
    );
}

/// The manifest's own `system` is the system part, once (not also a setting).
#[test]
fn the_manifests_own_system_text_is_the_system_part_once() {
    let outcome = fixtures::succeeded();
    let record = job_json(&outcome);
    let mut job = outcome.job.clone();
    job.settings.system = Some("You are a careful analyst.".into());
    job.system = crate::plan::system_prompt(job.settings.system.as_deref(), &job.inputs);
    job.fingerprint = "blake3:new".to_owned();
    let e = explain(&job, Some(&record));
    assert_eq!(e.changes, [Change::System]);
}

#[test]
fn a_changed_expect_entry_is_named() {
    let mut outcome = fixtures::succeeded();
    let expect = |min| crate::manifest::Deliverables {
        expect: vec![crate::manifest::Expectation {
            name: "*.png".into(),
            min,
            min_size: None,
        }],
        repair_turns: 1,
        metrics: None,
    };
    outcome.job.deliverables = Some(expect(1));
    let record = job_json(&outcome);
    let mut job = outcome.job.clone();
    job.deliverables = Some(expect(2));
    job.fingerprint = "blake3:new".to_owned();
    let e = explain(&job, Some(&record));
    let change = Change::Expect {
        name: "*.png".into(),
        was: Some("min 1".into()),
        now: Some("min 2".into()),
    };
    assert_eq!(e.changes, std::slice::from_ref(&change));
    assert_eq!(
        crate::output::explain::describe(&change),
        "expect *.png: min 1 → min 2"
    );
}

fn last_run(status: JobStatus, error: &str, finished_at: &str) -> LastRun {
    LastRun {
        run_id: "20261207T020000Z-0001".into(),
        started_at: "2026-12-07T02:00:00Z".parse().unwrap(),
        finished_at: finished_at.parse().unwrap(),
        status,
        error: Some(error.into()),
        attempt: None,
    }
}

fn record_of(value: &Value) -> JobRecord<'static> {
    serde::Deserialize::deserialize(value.clone()).unwrap()
}

/// Issue 23, item 8: a failed attempt kept beside the last success is said first.
#[test]
fn a_failure_kept_beside_a_success_is_the_last_outcome() {
    let outcome = fixtures::succeeded();
    let record = record_of(&job_json(&outcome));
    let mut job = outcome.job.clone();
    job.turns[0] = "Another prompt.".into();
    job.fingerprint = "blake3:new".to_owned();
    let failed = last_run(JobStatus::Failed, "api: overloaded", "2099-01-01T00:00:00Z");
    let e = explain_record(&job, Some(&record), Some(&failed));
    assert_eq!((e.status, e.reason), ("to-run", "failed-last-time"));
    assert_eq!(e.detail.as_deref(), Some("api: overloaded"));
    assert_eq!(e.last_run.as_ref(), Some(&failed));
    assert!(e.kept_success);
    assert_eq!(
        e.changes,
        [Change::Turn { turn: 1 }],
        "changes since the success"
    );

    // The same fingerprint: fresh, and still said.
    let e = explain_record(&outcome.job, Some(&record), Some(&failed));
    assert_eq!((e.status, e.reason), ("fresh", "fresh"));
    assert_eq!(e.detail.as_deref(), Some("api: overloaded"));

    // A line older than the record (a later run killed before writing its run.json).
    let older = last_run(JobStatus::Failed, "api: overloaded", "2000-01-01T00:00:00Z");
    let e = explain_record(&outcome.job, Some(&record), Some(&older));
    assert_eq!((e.reason, e.last_run), ("fresh", None));
}

#[test]
fn an_interrupted_job_without_a_record_did_run() {
    let outcome = fixtures::succeeded();
    let stopped = last_run(
        JobStatus::Interrupted,
        "interrupted: SIGTERM",
        "2026-12-07T02:10:00Z",
    );
    let e = explain_record(&outcome.job, None, Some(&stopped));
    assert_eq!((e.status, e.reason), ("to-run", "interrupted-last-time"));
    assert_eq!(e.detail.as_deref(), Some("interrupted: SIGTERM"));
    let halted = last_run(
        JobStatus::NotStarted,
        "not_started: budget",
        "2026-12-07T02:10:00Z",
    );
    let e = explain_record(&outcome.job, None, Some(&halted));
    assert_eq!(e.reason, "not-started-last-time");
}

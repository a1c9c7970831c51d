//! A job's ending as its line records it: status, error and reason, and the reason's words.

use super::fixtures::succeeded;
use crate::output::outcome::{HaltKind, HaltReason, JobEnd, JobError, JobLine, Reason};
use crate::plan::PlannedJob;
use crate::status::{ErrorKind, JobStatus};

fn job() -> PlannedJob {
    succeeded().job
}

#[test]
fn each_ending_has_its_status_error_and_reason() {
    let failed = JobError::plain(ErrorKind::Api, "refused");
    let halted = HaltReason {
        kind: HaltKind::Budget,
        message: "the budget stopped the run".into(),
    };
    let cases = [
        (JobEnd::Succeeded, JobStatus::Succeeded, None, None),
        (
            JobEnd::Failed(failed.clone()),
            JobStatus::Failed,
            Some(failed),
            None,
        ),
        (
            JobEnd::run_interrupted(),
            JobStatus::Interrupted,
            Some(JobError::plain(
                ErrorKind::Interrupted,
                "the run was interrupted before this job finished; run again to continue",
            )),
            None,
        ),
        (
            JobEnd::NotStarted(halted),
            JobStatus::NotStarted,
            Some(JobError::plain(
                ErrorKind::NotStarted,
                "the budget stopped the run",
            )),
            Some(Reason::Known(HaltKind::Budget)),
        ),
    ];
    for (end, status, error, reason) in cases {
        let line = JobLine::ended(&job(), end);
        assert_eq!(
            (line.status, line.error, line.reason),
            (status, error, reason)
        );
    }
}

#[test]
fn a_reason_word_is_written_as_is_and_an_unknown_one_is_kept() {
    let known = Reason::Known(HaltKind::SpendLimit);
    assert_eq!(serde_json::to_value(&known).unwrap(), "spend_limit");
    let read: Reason = serde_json::from_value("max_fail".into()).unwrap();
    assert_eq!(read, Reason::Known(HaltKind::MaxFail));
    let later: Reason = serde_json::from_value("quota_of_the_future".into()).unwrap();
    assert_eq!(later.as_str(), "quota_of_the_future");
    assert_eq!(serde_json::to_value(&later).unwrap(), "quota_of_the_future");
}

#[test]
fn each_halt_kind_serializes_as_its_word() {
    for kind in [
        HaltKind::MaxFail,
        HaltKind::Auth,
        HaltKind::SpendLimit,
        HaltKind::Budget,
        HaltKind::BatchCanceled,
    ] {
        assert_eq!(serde_json::to_value(kind).unwrap(), kind.as_str());
    }
}

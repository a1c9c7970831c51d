//! The run's "stop starting jobs" switch: set once (first reason wins) by whatever makes
//! further jobs pointless (`--max-fail` reached, the key refused, the spend limit, the budget), read
//! by each job right after it gets its `-j` permit. Jobs already running finish.

use std::sync::OnceLock;
use std::sync::atomic::{AtomicUsize, Ordering};

use crate::api::ApiError;

// The kinds are the words of a job's line, so they live with the line.
pub(crate) use crate::output::outcome::{HaltKind, HaltReason};

#[derive(Debug, Default)]
pub(crate) struct Halt {
    reason: OnceLock<HaltReason>,
}

impl Halt {
    /// Stops new jobs from starting; the first reason given is the one kept.
    pub(crate) fn halt(&self, kind: HaltKind, message: String) {
        let first = self.reason.set(HaltReason { kind, message }).is_ok();
        if first && let Some(r) = self.reason.get() {
            // Info, not warn: the closing summary says it once for everyone (also with -q).
            tracing::info!(
                reason = r.kind.as_str(),
                "starting no new job: {}",
                r.message
            );
        }
    }

    pub(crate) fn reason(&self) -> Option<&HaltReason> {
        self.reason.get()
    }
}

/// Stops new jobs when `error` is one that every later job would hit too: the key refused
/// (401/403, e.g. revoked mid-run) or the spend limit reached (docs/api.md §4.2).
pub(crate) fn check(halt: &Halt, error: &ApiError) {
    if let Some((kind, message)) = fatal_for_all(error) {
        halt.halt(kind, message);
    }
}

fn fatal_for_all(error: &ApiError) -> Option<(HaltKind, String)> {
    if crate::api::facts::is_spend_limit(error.error_code()) {
        return Some((
            HaltKind::SpendLimit,
            format!(
                "the organisation's spend limit is reached ({error}); raise it in the \
                 Anthropic Console, then run again"
            ),
        ));
    }
    match error.status() {
        Some(401 | 403) => Some((
            HaltKind::Auth,
            format!(
                "the API no longer accepts the key ({error}); check ANTHROPIC_API_KEY, then \
                 run again"
            ),
        )),
        _ => None,
    }
}

/// Counts failed jobs for `--max-fail`: the Nth failure stops new jobs.
#[derive(Debug, Default)]
pub(crate) struct FailCount {
    failed: AtomicUsize,
}

impl FailCount {
    pub(crate) fn failed(&self, halt: &Halt, max_fail: Option<usize>) {
        let n = self.failed.fetch_add(1, Ordering::SeqCst) + 1;
        if let Some(max) = max_fail
            && n >= max
        {
            halt.halt(
                HaltKind::MaxFail,
                format!(
                    "{} failed (--max-fail {max})",
                    crate::units::count(n, "job")
                ),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_reason_wins() {
        let halt = Halt::default();
        assert!(halt.reason().is_none());
        halt.halt(HaltKind::Auth, "key refused".into());
        halt.halt(HaltKind::MaxFail, "2 jobs failed".into());
        let r = halt.reason().unwrap();
        assert_eq!(
            (r.kind, r.message.as_str()),
            (HaltKind::Auth, "key refused")
        );
    }

    #[test]
    fn each_kind_has_its_documented_word() {
        let kinds = [
            HaltKind::MaxFail,
            HaltKind::Auth,
            HaltKind::SpendLimit,
            HaltKind::Budget,
            HaltKind::BatchCanceled,
        ];
        let words = [
            "max_fail",
            "auth",
            "spend_limit",
            "budget",
            "batch_canceled",
        ];
        assert_eq!(kinds.map(HaltKind::as_str), words);
    }

    #[test]
    fn max_fail_halts_at_the_nth_failure() {
        let (halt, count) = (Halt::default(), FailCount::default());
        count.failed(&halt, Some(2));
        assert!(halt.reason().is_none());
        count.failed(&halt, Some(2));
        assert_eq!(halt.reason().unwrap().kind, HaltKind::MaxFail);
        let (halt, count) = (Halt::default(), FailCount::default());
        count.failed(&halt, None);
        assert!(halt.reason().is_none(), "no --max-fail, no halt");
    }
}

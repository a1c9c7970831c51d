//! "Stop starting jobs": the first reason to stop (the budget is spent, …) is kept, and
//! every job that has not started yet sees it after its `-j` permit and is recorded
//! `not_started` with that reason, instead of starting.

use std::sync::OnceLock;

/// Set once; read by every job before it starts.
#[derive(Debug, Default)]
pub struct Halt {
    reason: OnceLock<HaltReason>,
}

/// Why the run stops starting jobs: `kind` is the `reason` word in `run.json`
/// (`budget`, …); `message` is for people.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HaltReason {
    pub kind: &'static str,
    pub message: String,
}

impl Halt {
    /// Stops starting jobs; the first reason wins.
    pub fn halt(&self, kind: &'static str, message: String) {
        let _ = self.reason.set(HaltReason { kind, message });
    }

    pub fn reason(&self) -> Option<&HaltReason> {
        self.reason.get()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_reason_wins() {
        let halt = Halt::default();
        assert!(halt.reason().is_none());
        halt.halt("budget", "spent".into());
        halt.halt("auth", "bad key".into());
        assert_eq!(halt.reason().unwrap().kind, "budget");
    }
}

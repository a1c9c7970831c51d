//! Handing out a batch's results: once it has ended, its results are read line by line,
//! each matched to its request by `custom_id` (in any order; a line read again by a
//! retried call finds nothing left), and each request is told how it ended or kept to be
//! submitted again ([`verdict`]). A request whose result is missing fails (an error, not
//! a hang). At the end of the run, the journal learns which items were used up.

use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};

use super::state::{Batcher, Pending, Tries, lock};
use super::wait::{self, Poll};
use crate::api::ApiError;
use crate::api::batches::{self as wire, BatchInfo, BatchRef, ItemOutcome};
use crate::api::messages::MessageResponse;
use crate::api::retry::{GaveUp, retry};
use crate::engine::answer::Answer;
use crate::output::outcome::JobLine;
use crate::status::JobStatus;

/// What one item's result means for its request.
#[derive(Debug)]
enum Verdict {
    /// It ended so.
    Ended(Answer),
    /// Not answered for good: submit it again (in the next round, or online past the
    /// deadline).
    Again,
}

/// What decides a result's verdict besides the result itself.
#[derive(Clone, Copy, Debug)]
struct Rules {
    /// The batch was created by an earlier run.
    resumed: bool,
    past_deadline: bool,
    /// `--max-attempts`: submissions of a request with a transient error.
    max_attempts: u32,
}

/// The verdict on one item's `outcome` (`None`: the batch's results lacked it); `tries`
/// counts this submission already, and learns of an expiry.
fn verdict(outcome: Option<ItemOutcome>, tries: &mut Tries, at: BatchRef, rules: Rules) -> Verdict {
    Verdict::Ended(match outcome {
        Some(ItemOutcome::Succeeded(message)) => Answer::Replied(MessageResponse {
            request_id: None,
            body: message,
            batch: Some(at),
            received_on: crate::api::prices::today(),
        }),
        Some(ItemOutcome::Errored {
            error_type,
            message,
        }) => {
            if wire::is_transient_item(&error_type) && tries.submissions < rules.max_attempts {
                return Verdict::Again;
            }
            Answer::Failed(GaveUp {
                error: wire::item_error(&at, &error_type, &message),
                attempts: tries.submissions,
            })
        }
        Some(ItemOutcome::Expired) if tries.expirations == 0 => {
            tries.expirations += 1;
            return Verdict::Again;
        }
        Some(ItemOutcome::Expired) => Answer::Expired(format!(
            "the request expired twice in Message Batches (last: batch {}, custom_id {})",
            at.batch_id, at.custom_id
        )),
        // Never processed, so never paid: an earlier run's canceled batch, or ours at the
        // deadline, is no reason to give the job up.
        Some(ItemOutcome::Canceled) if rules.resumed || rules.past_deadline => {
            return Verdict::Again;
        }
        Some(ItemOutcome::Canceled) => Answer::Canceled(at.batch_id),
        None => Answer::Failed(GaveUp {
            error: ApiError::local(
                "GET {results_url}",
                format!(
                    "batch {} ended without a result for custom_id {}",
                    at.batch_id, at.custom_id
                ),
            ),
            attempts: tries.submissions,
        }),
    })
}

impl Batcher {
    /// Waits for a batch and hands its results out as they are read; returns the requests
    /// to submit again. `ids` are the items' `custom_id`s; `resumed`: the batch was
    /// created by an earlier run.
    pub(super) async fn finish(
        &self,
        version: &str,
        batch_id: &str,
        ids: Vec<String>,
        items: Vec<Pending>,
        resumed: bool,
    ) -> Vec<Pending> {
        let late = self.with(|i| {
            if !i.waiting.iter().any(|(w, _)| w == batch_id) {
                i.waiting.push((batch_id.to_owned(), version.to_owned()));
            }
            i.past_deadline
        });
        // Created while the deadline passed: nobody else cancels it.
        if late {
            self.cancel(batch_id, version).await;
        }
        let poll = Poll {
            first: self.settings.poll_first,
            max: self.settings.poll_max,
            wake: &self.deadline_passed,
        };
        let ended = match wait::until_ended(&self.link, version, batch_id, &poll).await {
            Ok(info) => info,
            Err(gave_up) => {
                fail_all(items, &gave_up);
                return Vec::new();
            }
        };
        lock(&self.used)
            .entry(batch_id.to_owned())
            .or_default()
            .request_counts = Some(ended.request_counts);
        let waiting = ids.into_iter().zip(items).collect();
        let again = self.read_results(version, &ended, waiting, resumed).await;
        tracing::debug!(batch_id, "results handed out");
        self.with(|i| i.waiting.retain(|(w, _)| w != batch_id));
        again
    }

    /// Reads an ended batch's results, handing each to its request by `custom_id`; the
    /// requests left without one fail, or, when reading failed, share its error.
    async fn read_results(
        &self,
        version: &str,
        ended: &BatchInfo,
        waiting: HashMap<String, Pending>,
        resumed: bool,
    ) -> Vec<Pending> {
        let batch_id = ended.id.as_str();
        let waiting = Mutex::new(waiting);
        let again = Mutex::new(Vec::new());
        let named = AtomicBool::new(false);
        let hand = |custom_id: String, outcome: Option<ItemOutcome>, p: Pending| {
            let at = BatchRef {
                batch_id: batch_id.to_owned(),
                custom_id,
            };
            lock(&again).extend(self.hand_out(at, outcome, p, resumed));
        };
        let fetched = match ended.results_url.as_deref() {
            Some(url) => {
                retry(&self.link.policy, |attempt| {
                    let (waiting, hand, named) = (&waiting, &hand, &named);
                    async move {
                        self.link
                            .client
                            .batch_results(url, version, attempt, &mut |r| {
                                // A retried call reads some lines again; they were handed out.
                                let found = lock(waiting).remove(&r.custom_id);
                                if let Some(p) = found {
                                    named.store(true, Ordering::Relaxed);
                                    hand(r.custom_id, Some(r.outcome), p);
                                }
                            })
                            .await
                    }
                })
                .await
            }
            None => Err(GaveUp {
                error: ApiError::local(
                    "GET /v1/messages/batches/{id}",
                    format!("batch {batch_id} ended without a results_url"),
                ),
                attempts: 1,
            }),
        };
        let left = waiting
            .into_inner()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let unconfirmed = lock(&self.unconfirmed).remove(batch_id);
        if unconfirmed && fetched.is_ok() && !named.into_inner() {
            return self.disown(batch_id, left);
        }
        match fetched {
            Err(gave_up) => fail_all(left.into_values(), &gave_up),
            Ok(()) => {
                for (custom_id, p) in left {
                    hand(custom_id, None, p);
                }
            }
        }
        again
            .into_inner()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// A batch adopted unconfirmed (`recover.rs`) whose results name none of its items was
    /// not created from them: it is forgotten, and they are submitted again.
    fn disown(&self, batch_id: &str, left: HashMap<String, Pending>) -> Vec<Pending> {
        tracing::warn!(
            batch_id,
            requests = left.len(),
            "this batch, taken for the one a lost create had made, holds none of its requests:              submitting them"
        );
        self.journal.forget(batch_id);
        lock(&self.used).remove(batch_id);
        left.into_values().collect()
    }

    /// Acts on one item's result (`None`: the batch's results lacked it); returns the
    /// request when it is to be submitted again in the next round.
    fn hand_out(
        &self,
        at: BatchRef,
        outcome: Option<ItemOutcome>,
        mut p: Pending,
        resumed: bool,
    ) -> Option<Pending> {
        p.tries.submissions += 1;
        lock(&self.handed)
            .entry(p.origin.job.clone())
            .or_default()
            .push((at.batch_id.clone(), at.custom_id.clone()));
        let rules = Rules {
            resumed,
            past_deadline: self.past_deadline(),
            max_attempts: self.link.policy.max_attempts,
        };
        match verdict(outcome, &mut p.tries, at, rules) {
            Verdict::Ended(answer) => p.answer(Some(answer)),
            // Not answered, and the deadline passed: online instead of another round.
            Verdict::Again if self.past_deadline() => p.answer(None),
            Verdict::Again => return Some(p),
        }
        None
    }

    /// Tells the journal which items went to jobs whose folders were written (any final
    /// status but interrupted): those are never resumed. Called once, at the end of the
    /// run; then drops records the API no longer keeps results for.
    pub(crate) fn fold_into_journal(&self, lines: &[JobLine]) {
        let mut handed = std::mem::take(&mut *lock(&self.handed));
        let mut used = std::mem::take(&mut *lock(&self.used));
        for line in lines {
            if matches!(line.status, JobStatus::Interrupted | JobStatus::NotStarted) {
                continue;
            }
            for (batch_id, custom_id) in handed.remove(&line.dir).unwrap_or_default() {
                used.entry(batch_id).or_default().consumed.insert(custom_id);
            }
        }
        let at = jiff::Timestamp::now();
        for (batch_id, use_) in &used {
            if let Err(e) = self.journal.fold(batch_id, use_, at) {
                tracing::warn!(batch_id, "cannot update the batch record: {e}");
            }
        }
        self.journal.prune();
    }
}

/// Every request shares the error that left them all without a result.
fn fail_all(items: impl IntoIterator<Item = Pending>, gave_up: &GaveUp) {
    for p in items {
        p.answer(Some(Answer::Failed(gave_up.clone())));
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    const OURS: Rules = Rules {
        resumed: false,
        past_deadline: false,
        max_attempts: 3,
    };

    fn at() -> BatchRef {
        BatchRef {
            batch_id: "batch_1".into(),
            custom_id: "req-4".into(),
        }
    }

    fn once() -> Tries {
        Tries {
            submissions: 1,
            expirations: 0,
        }
    }

    fn errored(error_type: &str) -> Option<ItemOutcome> {
        Some(ItemOutcome::Errored {
            error_type: error_type.into(),
            message: "no".into(),
        })
    }

    #[test]
    fn a_succeeded_item_is_the_reply_with_where_it_came_from() {
        let message = json!({"type": "message", "content": []});
        let outcome = Some(ItemOutcome::Succeeded(message.clone()));
        let Verdict::Ended(Answer::Replied(r)) = verdict(outcome, &mut once(), at(), OURS) else {
            panic!("a reply")
        };
        assert_eq!((r.body, r.batch, r.request_id), (message, Some(at()), None));
    }

    #[test]
    fn a_transient_error_is_submitted_again_up_to_max_attempts() {
        let mut tries = once();
        assert!(matches!(
            verdict(errored("overloaded_error"), &mut tries, at(), OURS),
            Verdict::Again
        ));
        tries.submissions = 3;
        let Verdict::Ended(Answer::Failed(g)) =
            verdict(errored("overloaded_error"), &mut tries, at(), OURS)
        else {
            panic!("out of attempts")
        };
        assert_eq!(g.attempts, 3);
        let lasting = verdict(errored("invalid_request_error"), &mut once(), at(), OURS);
        assert!(
            matches!(lasting, Verdict::Ended(Answer::Failed(g)) if g.error.status() == Some(400))
        );
    }

    #[test]
    fn an_item_expires_once_then_ends_the_request() {
        let mut tries = once();
        let expired = || Some(ItemOutcome::Expired);
        assert!(matches!(
            verdict(expired(), &mut tries, at(), OURS),
            Verdict::Again
        ));
        assert_eq!(tries.expirations, 1);
        let Verdict::Ended(Answer::Expired(m)) = verdict(expired(), &mut tries, at(), OURS) else {
            panic!("expired twice")
        };
        assert!(m.contains("batch batch_1, custom_id req-4"), "{m}");
    }

    #[test]
    fn a_canceled_item_ends_the_request_only_when_someone_else_canceled_our_batch() {
        let canceled = || Some(ItemOutcome::Canceled);
        let ended = verdict(canceled(), &mut once(), at(), OURS);
        assert!(matches!(ended, Verdict::Ended(Answer::Canceled(id)) if id == "batch_1"));
        let resumed = Rules {
            resumed: true,
            ..OURS
        };
        assert!(matches!(
            verdict(canceled(), &mut once(), at(), resumed),
            Verdict::Again
        ));
        let late = Rules {
            past_deadline: true,
            ..OURS
        };
        assert!(matches!(
            verdict(canceled(), &mut once(), at(), late),
            Verdict::Again
        ));
    }

    #[test]
    fn a_result_missing_from_the_batch_fails_its_request() {
        let Verdict::Ended(Answer::Failed(g)) = verdict(None, &mut once(), at(), OURS) else {
            panic!("a missing result is an error, not a hang")
        };
        assert!(
            g.to_string()
                .contains("batch batch_1 ended without a result for custom_id req-4"),
            "{g}"
        );
    }
}

//! Submitting: a job's request queued for the next round ([`Batcher::submit`]), and one
//! batch of a round created: its intent written before the create, its record once the
//! create answers (or the batch is found, `recover.rs`), before it is polled, so a killed
//! runner resumes it instead of paying for it twice.

use std::sync::atomic::{AtomicBool, Ordering};

use serde_json::Value;
use tokio::sync::oneshot;

use super::recover::{Found, ambiguous};
use super::state::{Batcher, Origin, Pending, Reply, Tries};
use crate::api::batches::{self as wire, BatchInfo, BatchRequest};
use crate::api::retry::{GaveUp, retry};
use crate::api::{ApiError, ApiErrorKind};
use crate::engine::answer::Answer;
use crate::output::batch_intent::{self, Intent};
use crate::output::batch_journal::Item;

impl Batcher {
    /// Queues one request for the next round and waits for its result. `hash` and `size`
    /// are [`crate::output::batch_journal::body_hash`] and the length of `body`'s JSON,
    /// computed by the caller, which serializes it anyway.
    pub(crate) async fn submit(
        &self,
        body: &Value,
        hash: String,
        size: usize,
        api_version: &str,
        origin: Origin,
    ) -> Reply {
        let (tx, rx) = oneshot::channel();
        let queued = self.update(|i| {
            if i.past_deadline {
                return false;
            }
            i.queue.push(Pending {
                body: body.clone(),
                hash,
                size,
                api_version: api_version.to_owned(),
                origin,
                tries: Tries::default(),
                reply: tx,
            });
            true
        });
        if !queued {
            return None;
        }
        // The driver dropped the request: it stopped, interrupted.
        rx.await.unwrap_or(Some(Answer::Interrupted))
    }

    /// Creates one batch of `items` (its intent written first, its record once it is
    /// known), waits for it and hands out its results; returns the requests to submit
    /// again.
    pub(super) async fn run_batch(&self, version: &str, items: Vec<Pending>) -> Vec<Pending> {
        if self.past_deadline() {
            for p in items {
                p.answer(None);
            }
            return Vec::new();
        }
        let nonce = batch_intent::nonce();
        let ids = batch_intent::custom_ids(&nonce, items.len());
        let intent = intent_of(nonce, version, &ids, &items);
        // Before the create: a runner killed from here on finds the batch again.
        if let Err(e) = self.journal.intend(&intent) {
            let why = format!(
                "cannot write the batch intent under OUT/.batches/intents ({e}); not creating                  a batch that a killed run could not find again"
            );
            fail_all(items, ApiError::local(CREATE, why));
            return Vec::new();
        }
        let requests: Vec<BatchRequest<'_>> = ids
            .iter()
            .zip(&items)
            .map(|(id, p)| BatchRequest {
                custom_id: id,
                params: &p.body,
            })
            .collect();
        let body = wire::CreateBody {
            requests: &requests,
        };
        let created = self.create(version, &body, &intent).await;
        drop(requests);
        match created {
            Created::Batch { info, unconfirmed } => {
                self.adopt(&intent, &info, unconfirmed);
                drop(intent);
                self.finish(version, &info.id, ids, items, false).await
            }
            Created::Refused(gave_up) => {
                self.journal.settle(&intent);
                for p in items {
                    p.answer(Some(Answer::Failed(gave_up.clone())));
                }
                Vec::new()
            }
            Created::Unknown(why) => {
                let why = format!(
                    "{why}; not submitting these requests again, since that could pay for                      them twice: the next run looks for the batch first                      (OUT/.batches/intents/{}.json)",
                    intent.nonce
                );
                tracing::error!("{why}");
                fail_all(items, ApiError::local(CREATE, why));
                Vec::new()
            }
        }
    }

    /// `POST /v1/messages/batches`, retried only when no batch can have come of an earlier
    /// attempt: an answer that says it was not processed (429, 529) is retried; one that
    /// may have reached the API (a dropped connection, a timeout, a 5xx, an unreadable
    /// 200) is first looked for by listing (`recover.rs`) and retried only when the API
    /// has no batch from it; any other answer is final.
    async fn create(&self, version: &str, body: &wire::CreateBody<'_>, intent: &Intent) -> Created {
        let reached = AtomicBool::new(false);
        let tried = retry(&self.link.policy, |attempt| {
            let reached = &reached;
            async move {
                if reached.load(Ordering::Relaxed)
                    && let Some(known) = self.look_for(intent).await
                {
                    return Ok(known);
                }
                let call = self.link.client.create_batch(version, body, attempt).await;
                call.map(|info| Created::Batch {
                    info,
                    unconfirmed: false,
                })
                .map_err(|mut e| {
                    if may_have_reached(&e) {
                        reached.store(true, Ordering::Relaxed);
                        e.should_retry = Some(true);
                    } else if !matches!(e.status(), Some(429 | 529)) {
                        e.should_retry = Some(false);
                    }
                    e
                })
            }
        })
        .await;
        match tried {
            Ok(created) => created,
            Err(gave_up) if reached.load(Ordering::Relaxed) => self
                .look_for(intent)
                .await
                .unwrap_or(Created::Refused(gave_up)),
            Err(gave_up) => Created::Refused(gave_up),
        }
    }

    /// After a create that may have reached the API: the batch it made, or why that cannot
    /// be told; `None` when the API made none.
    async fn look_for(&self, intent: &Intent) -> Option<Created> {
        match self.find_created(intent).await {
            Ok(Found::Batch { info, unconfirmed }) => {
                tracing::warn!(
                    batch_id = info.id,
                    requests = intent.items.len(),
                    "the batch create's answer was lost, but the API had created the batch:                      using it, not creating another"
                );
                Some(Created::Batch { info, unconfirmed })
            }
            Ok(Found::Nothing) => None,
            Ok(Found::Ambiguous(ids)) => Some(Created::Unknown(ambiguous(&intent.nonce, &ids))),
            Err(e) => Some(Created::Unknown(format!(
                "the batch create may have reached the API, and listing the batches to find                  out failed ({e})"
            ))),
        }
    }
}

const CREATE: &str = "POST /v1/messages/batches";

/// How a batch create ended.
enum Created {
    /// Created (or found, `unconfirmed` as in [`Found::Batch`]).
    Batch { info: BatchInfo, unconfirmed: bool },
    /// Refused, or never reached the API: no batch exists.
    Refused(GaveUp),
    /// A batch may exist and the API could not say (why).
    Unknown(String),
}

/// Whether a failed create may still have made a batch: anything but an answer that says
/// it was refused or not processed.
fn may_have_reached(e: &ApiError) -> bool {
    match &e.kind {
        ApiErrorKind::Transport(_) | ApiErrorKind::Decode { .. } => true,
        ApiErrorKind::Status { status, .. } => *status == 408 || (*status >= 500 && *status != 529),
        ApiErrorKind::Local(_) => false,
    }
}

fn fail_all(items: Vec<Pending>, error: ApiError) {
    let gave_up = GaveUp { error, attempts: 1 };
    for p in items {
        p.answer(Some(Answer::Failed(gave_up.clone())));
    }
}

/// The intent of a batch about to be created: each `custom_id` with the hash of its
/// request and the job, turn and continuation it belongs to.
fn intent_of(nonce: String, version: &str, ids: &[String], items: &[Pending]) -> Intent {
    Intent {
        nonce,
        api_version: version.to_owned(),
        at: jiff::Timestamp::now(),
        items: ids
            .iter()
            .zip(items)
            .map(|(id, p)| Item {
                custom_id: id.clone(),
                hash: p.hash.clone(),
                job: p.origin.job.clone(),
                turn: p.origin.turn,
                continuation: p.origin.continuation,
            })
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn an_intent_names_each_item_with_its_request_and_origin() {
        let pending = |job: &str, turn, hash: &str| Pending {
            body: json!({}),
            hash: hash.into(),
            size: 2,
            api_version: "2023-06-01".into(),
            origin: Origin {
                job: job.into(),
                turn,
                continuation: 1,
            },
            tries: Tries::default(),
            reply: oneshot::channel().0,
        };
        let items = [pending("m/a", 1, "h-a"), pending("m/b", 2, "h-b")];
        let ids = batch_intent::custom_ids("n1", 2);
        let intent = intent_of("n1".into(), "2023-06-01", &ids, &items);
        assert_eq!(
            (intent.nonce.as_str(), intent.api_version.as_str()),
            ("n1", "2023-06-01")
        );
        let want = [("n1-1", "h-a", "m/a", 1), ("n1-2", "h-b", "m/b", 2)];
        let got: Vec<_> = intent
            .items
            .iter()
            .map(|i| {
                (
                    i.custom_id.as_str(),
                    i.hash.as_str(),
                    i.job.as_str(),
                    i.turn,
                )
            })
            .collect();
        assert_eq!(got, want);
        assert!(intent.items.iter().all(|i| i.continuation == 1));
        let record = intent.record("batch_1", None);
        assert_eq!(record.batch_id, "batch_1");
        assert_eq!(record.items, intent.items);
        assert!(record.consumed.is_empty() && record.ended.is_none());
    }

    fn status(status: u16) -> ApiError {
        ApiError {
            endpoint: CREATE.into(),
            kind: ApiErrorKind::Status {
                status,
                error_type: None,
                error_code: None,
                message: String::new(),
            },
            request_id: None,
            retry_after: None,
            should_retry: None,
        }
    }

    #[test]
    fn a_create_may_have_made_a_batch_unless_the_answer_says_it_did_not() {
        let reached: Vec<u16> = [400, 401, 403, 404, 408, 413, 429, 500, 502, 503, 504, 529]
            .into_iter()
            .filter(|s| may_have_reached(&status(*s)))
            .collect();
        assert_eq!(reached, [408, 500, 502, 503, 504]);
        let dropped = ApiError {
            kind: ApiErrorKind::Transport("connection closed".into()),
            ..status(0)
        };
        assert!(may_have_reached(&dropped));
        assert!(!may_have_reached(&ApiError::local(CREATE, "x".into())));
    }
}

//! Submitting: a job's request queued for the next round ([`Batcher::submit`]), and one
//! batch of a round created and recorded in the journal before it is polled, so a killed
//! runner resumes it instead of paying for it twice.

use std::collections::BTreeSet;

use serde_json::Value;
use tokio::sync::oneshot;

use super::state::{Batcher, Origin, Pending, Reply, Tries};
use crate::api::batches::{self as wire, BatchRequest};
use crate::api::retry::retry;
use crate::engine::answer::Answer;
use crate::output::batch_journal::{Item, Record};

impl Batcher {
    /// Queues one request for the next round and waits for its result. `hash` and `size`
    /// are [`crate::output::batch_journal::body_hash`] and the length of `body`'s JSON,
    /// computed by the caller, which serializes it anyway.
    pub async fn submit(
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

    /// Creates one batch of `items`, records it, waits for it and hands out its results;
    /// returns the requests to submit again.
    pub(super) async fn run_batch(&self, version: &str, items: Vec<Pending>) -> Vec<Pending> {
        if self.past_deadline() {
            for p in items {
                p.answer(None);
            }
            return Vec::new();
        }
        let ids = self.with(|i| i.custom_ids(items.len()));
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
        // A create that may have reached the API is not sent again: it could make a second
        // batch of the same requests, paid twice. Only answers that say "not processed"
        // (429, 529) are retried.
        let created = retry(&self.link.policy, |attempt| {
            let call = self.link.client.create_batch(version, &body, attempt);
            async move {
                call.await.map_err(|mut e| {
                    if !matches!(e.status(), Some(429 | 529)) {
                        e.should_retry = Some(false);
                    }
                    e
                })
            }
        })
        .await;
        drop(requests);
        let batch = match created {
            Ok(b) => b,
            Err(gave_up) => {
                for p in items {
                    p.answer(Some(Answer::Failed(gave_up.clone())));
                }
                return Vec::new();
            }
        };
        // Before anything else: a runner killed from here on resumes this batch.
        let record = record_of(&batch.id, version, &ids, &items);
        if let Err(e) = self.journal.record(&record) {
            tracing::error!(
                batch_id = batch.id,
                "cannot record the batch under OUT/.batches ({e}); a re-run would submit its requests again"
            );
        }
        drop(record);
        self.finish(version, &batch.id, ids, items, false).await
    }
}

/// The journal's record of a batch just created: each `custom_id` with the hash of its
/// request and the job, turn and continuation it belongs to.
fn record_of(batch_id: &str, version: &str, ids: &[String], items: &[Pending]) -> Record {
    Record {
        batch_id: batch_id.to_owned(),
        api_version: version.to_owned(),
        created_at: Some(jiff::Timestamp::now()),
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
        consumed: BTreeSet::new(),
        ended: None,
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn a_batch_is_recorded_item_by_item_with_its_request_and_origin() {
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
        let ids = ["req-1".to_owned(), "req-2".to_owned()];
        let record = record_of("batch_1", "2023-06-01", &ids, &items);
        assert_eq!(
            (record.batch_id.as_str(), record.api_version.as_str()),
            ("batch_1", "2023-06-01")
        );
        let want = [("req-1", "h-a", "m/a", 1), ("req-2", "h-b", "m/b", 2)];
        let got: Vec<_> = record
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
        assert!(record.items.iter().all(|i| i.continuation == 1));
        assert!(record.consumed.is_empty() && record.ended.is_none());
    }
}

//! The round driver: waits until every job still conversing has queued a request, then
//! submits them as one round: requests an earlier run already submitted are picked up
//! from their recorded batch, the rest go into new batches, one per API version, split
//! only where the batch limits require (docs/api.md §5).

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use super::state::{Batcher, Inner, Pending, Round, lock};
use crate::api::batches as wire;
use crate::api::retry::GaveUp;
use crate::engine::answer::Answer;
use crate::output::batch_journal::Recorded;

/// A round's requests by where they go: recorded ones by (batch id, API version), each
/// with its `custom_id` there; new ones by API version.
type Sorted<T> = (
    BTreeMap<(String, String), Vec<(String, T)>>,
    BTreeMap<String, Vec<T>>,
);

impl Batcher {
    /// Runs rounds until no job is left; returns when the run is interrupted too (the
    /// batches then stay with the API).
    pub(crate) async fn drive(self: Arc<Batcher>) {
        tokio::select! {
            () = self.recover_intents() => {}
            () = self.link.cancel.cancelled() => return self.interrupted().await,
        }
        if let Some(at) = self.deadline {
            let me = Arc::clone(&self);
            tokio::spawn(async move {
                tokio::select! {
                    () = tokio::time::sleep_until(at) => me.deadline_reached().await,
                    () = me.link.cancel.cancelled() => {}
                }
            });
        }
        // Rounds run side by side: while uploads go on, a slice goes out before the one
        // before it has ended (`Inner::take_round`).
        let mut rounds = tokio::task::JoinSet::new();
        loop {
            // Looked at without notifying: the driver must not wake itself.
            match self.with(Inner::take_round) {
                Round::Ready(round) => {
                    let me = Arc::clone(&self);
                    rounds.spawn(async move { me.run_round_then_requeue(round).await });
                }
                Round::Done => return,
                Round::Wait => tokio::select! {
                    () = self.changed.notified() => {}
                    Some(_) = rounds.join_next() => {}
                    () = self.link.cancel.cancelled() => {
                        // The rounds stop where they are, as one awaited here would.
                        rounds.abort_all();
                        return self.interrupted().await;
                    }
                },
            }
        }
    }

    /// One round, then its requests to submit again queued for the next (or, past the
    /// deadline, sent online).
    async fn run_round_then_requeue(&self, round: Vec<Pending>) {
        let again = self.run_round(round).await;
        if !again.is_empty() {
            let online = self.with(|i| i.requeue(again));
            self.changed.notify_one();
            for p in online {
                p.answer(None);
            }
        }
    }

    /// Submits one round and hands out its results; returns the requests to submit again.
    async fn run_round(&self, round: Vec<Pending>) -> Vec<Pending> {
        let mut requeue = Vec::new();
        let round = self.refuse_blocked(round);
        let (resumed, by_version) = sort_round(round, &mut lock(&self.recorded), |p| {
            (p.hash.as_str(), p.api_version.as_str())
        });
        let picked_up = resumed
            .into_iter()
            .map(|((batch_id, version), items)| async move {
                tracing::info!(batch_id, items = items.len(), "resuming a recorded batch");
                let (ids, items): (Vec<String>, Vec<Pending>) = items.into_iter().unzip();
                self.finish(&version, &batch_id, ids, items, true).await
            });
        for r in futures_util::future::join_all(picked_up).await {
            requeue.extend(r);
        }
        // Every batch of the round is created and polled at once.
        let batches = by_version.into_iter().flat_map(|(version, items)| {
            split(
                items,
                |p: &Pending| p.size,
                wire::MAX_REQUESTS,
                wire::MAX_BYTES,
            )
            .into_iter()
            .map(move |chunk| (version.clone(), chunk))
        });
        let runs =
            batches.map(|(version, chunk)| async move { self.run_batch(&version, chunk).await });
        for r in futures_util::future::join_all(runs).await {
            requeue.extend(r);
        }
        requeue
    }
}

impl Batcher {
    /// Fails the requests an unresolved intent holds (`recover.rs`); returns the rest.
    fn refuse_blocked(&self, round: Vec<Pending>) -> Vec<Pending> {
        let blocked = lock(&self.blocked);
        let (refused, rest): (Vec<Pending>, Vec<Pending>) = round
            .into_iter()
            .partition(|p| blocked.contains_key(&p.hash));
        for p in refused {
            let why = blocked.get(&p.hash).cloned().unwrap_or_default();
            let error = crate::api::ApiError::local("POST /v1/messages/batches", why);
            p.answer(Some(Answer::Failed(GaveUp { error, attempts: 0 })));
        }
        rest
    }
}

/// Sorts a round: a request whose body hash an earlier run recorded, under the same API
/// version, is taken from that batch (and its record used up); every other one goes into
/// a new batch of its version. `key` gives a request's (body hash, API version).
fn sort_round<T>(
    round: Vec<T>,
    recorded: &mut HashMap<String, (Recorded, String)>,
    key: impl Fn(&T) -> (&str, &str),
) -> Sorted<T> {
    let (mut resumed, mut new): Sorted<T> = Default::default();
    for p in round {
        let (hash, version) = key(&p);
        let version = version.to_owned();
        match recorded.remove(hash) {
            Some((at, was)) if was == version => resumed
                .entry((at.batch_id, version))
                .or_default()
                .push((at.custom_id, p)),
            _ => new.entry(version).or_default().push(p),
        }
    }
    (resumed, new)
}

/// Splits a round where the batch limits require it: at most `max_requests` items and
/// `max_bytes` of request JSON per batch. `size` gives each item's request JSON length.
fn split<T>(
    items: Vec<T>,
    size: impl Fn(&T) -> usize,
    max_requests: usize,
    max_bytes: usize,
) -> Vec<Vec<T>> {
    let mut out: Vec<Vec<T>> = Vec::new();
    let mut bytes = 0usize;
    for p in items {
        // The envelope's `{"custom_id": …, "params": …}` is well under 128 bytes.
        let size = size(&p) + 128;
        let full = out
            .last()
            .is_none_or(|last| last.len() >= max_requests || bytes + size > max_bytes);
        if full {
            out.push(Vec::new());
            bytes = 0;
        }
        bytes += size;
        if let Some(last) = out.last_mut() {
            last.push(p);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use serde_json::{Value, json};

    use super::{sort_round, split};
    use crate::api::batches::{MAX_BYTES, MAX_REQUESTS};
    use crate::output::batch_journal::Recorded;

    fn sizes(chunks: &[Vec<Value>]) -> Vec<usize> {
        chunks.iter().map(Vec::len).collect()
    }

    fn len(v: &Value) -> usize {
        v.to_string().len()
    }

    #[test]
    fn a_round_is_split_at_the_request_limit_and_never_otherwise() {
        let items: Vec<Value> = (0..MAX_REQUESTS + 1).map(|n| json!(n)).collect();
        let chunks = split(items, len, MAX_REQUESTS, MAX_BYTES);
        assert_eq!(sizes(&chunks), [MAX_REQUESTS, 1]);
        // Order is kept: the second batch holds the last item.
        assert_eq!(chunks[1][0], json!(MAX_REQUESTS));
        let few: Vec<Value> = (0..3).map(|n| json!(n)).collect();
        assert_eq!(sizes(&split(few, len, MAX_REQUESTS, MAX_BYTES)), [3]);
        assert!(split(Vec::<Value>::new(), len, MAX_REQUESTS, MAX_BYTES).is_empty());
    }

    #[test]
    fn a_round_is_split_before_a_batch_would_pass_the_byte_limit() {
        // Each item is 1,000 bytes of JSON plus the envelope allowance.
        let body = json!("x".repeat(998));
        let items: Vec<Value> = (0..10).map(|_| body.clone()).collect();
        let per_item = 1_000 + 128;
        let chunks = split(items, len, MAX_REQUESTS, 3 * per_item);
        assert_eq!(sizes(&chunks), [3, 3, 3, 1]);
        // An item larger than the limit still goes, alone (the API then refuses it).
        let big = vec![json!("y".repeat(5_000)), json!(1)];
        assert_eq!(sizes(&split(big, len, MAX_REQUESTS, 1_000)), [1, 1]);
    }

    #[test]
    fn a_recorded_request_is_picked_up_from_its_batch_under_the_same_version_only() {
        let recorded = |custom_id: &str| Recorded {
            batch_id: "batch_old".into(),
            custom_id: custom_id.into(),
        };
        let mut journal = HashMap::from([
            ("h1".to_owned(), (recorded("req-7"), "v1".to_owned())),
            ("h2".to_owned(), (recorded("req-8"), "v1".to_owned())),
        ]);
        // (body hash, API version)
        let round = vec![("h1", "v1"), ("h2", "v2"), ("h3", "v1")];
        let (resumed, new) = sort_round(round, &mut journal, |&(h, v)| (h, v));
        let old = ("batch_old".to_owned(), "v1".to_owned());
        assert_eq!(resumed[&old], [("req-7".to_owned(), ("h1", "v1"))]);
        assert_eq!(resumed.len(), 1);
        assert_eq!(new["v2"], [("h2", "v2")], "another version: submitted anew");
        assert_eq!(new["v1"], [("h3", "v1")]);
        assert!(journal.is_empty(), "each record is used once");
    }
}

//! One job first for each shared prefix (docs/api.md §3.11): the jobs of a manifest send
//! the same tools and system before the cache breakpoint, and a cache entry is read only
//! once the request that writes it has been answered. So the first job with a prefix sends
//! its first request alone; the others with that prefix wait for its answer (or its
//! failure), then read what it wrote instead of each writing it again.

use std::collections::HashMap;
use std::sync::Mutex;

use tokio::sync::watch;

/// The prefixes of a run, each with whether its first request has been answered.
#[derive(Default)]
pub(crate) struct Leaders(Mutex<HashMap<String, watch::Receiver<bool>>>);

/// What a job's first request does: lead (send, then tell the rest) or follow (wait).
pub(crate) enum Join {
    /// Send it; dropping the sender, or sending, lets the followers go.
    Lead(watch::Sender<bool>),
    Follow(watch::Receiver<bool>),
}

impl Leaders {
    /// Whether the first request with prefix `key` leads or follows.
    pub(crate) fn join(&self, key: &str) -> Join {
        let mut map = self
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        match map.get(key) {
            Some(rx) => Join::Follow(rx.clone()),
            None => {
                let (tx, rx) = watch::channel(false);
                map.insert(key.to_owned(), rx);
                Join::Lead(tx)
            }
        }
    }
}

/// Waits until the leader's first request has been answered, failed or given up.
pub(crate) async fn follow(mut rx: watch::Receiver<bool>) {
    // An error is a leader gone without sending: nothing to wait for.
    let _ = rx.wait_for(|answered| *answered).await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_second_job_with_a_prefix_waits_for_the_firsts_answer_and_others_do_not() {
        let leaders = Leaders::default();
        let Join::Lead(tx) = leaders.join("a") else {
            panic!("the first leads")
        };
        assert!(matches!(leaders.join("b"), Join::Lead(_)), "another prefix");
        let Join::Follow(rx) = leaders.join("a") else {
            panic!("the second follows")
        };
        let waiting = tokio::spawn(follow(rx));
        tokio::task::yield_now().await;
        assert!(!waiting.is_finished(), "it waits for the leader");
        tx.send(true).unwrap();
        waiting.await.unwrap();
        // A leader that fails before answering (dropped) lets its followers go too.
        let Join::Lead(tx) = leaders.join("c") else {
            panic!()
        };
        let Join::Follow(rx) = leaders.join("c") else {
            panic!()
        };
        drop(tx);
        follow(rx).await;
    }
}

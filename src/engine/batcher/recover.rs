//! Finding the batch the API created from an intent (`output/batch_intent.rs`) whose
//! create never answered: a runner killed between the create and its record, or a create
//! whose answer was lost (a dropped connection, a timeout, a 5xx after the body was sent).
//! There is no idempotency key, so the only way to know is to ask: list the batches
//! created since the intent (less [`SKEW`]) with as many requests, newest first
//! (docs/api.md §5), and read the results of those that have ended: results naming one of
//! the intent's `custom_id`s (which carry its nonce) are from its batch, for certain. A
//! single candidate still in progress is adopted unconfirmed, its results checked when it
//! ends; several are not guessed between.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use super::state::{Batcher, lock};
use crate::api::batches::{BatchInfo, BatchStatus};
use crate::api::retry::{GaveUp, retry};
use crate::output::batch_intent::Intent;
use crate::output::batch_journal::Recorded;

/// How far the API's clock may run behind ours: a batch created from an intent is no older
/// than the intent less this.
pub(super) const SKEW: Duration = Duration::from_secs(120);

/// What the API holds of an intent.
#[derive(Debug)]
pub(super) enum Found {
    /// The batch created from it; `unconfirmed`: the only candidate, still in progress, so
    /// its results are checked when it ends.
    Batch { info: BatchInfo, unconfirmed: bool },
    /// No batch was created from it.
    Nothing,
    /// These batches, none ended, could each be it: no way to tell yet.
    Ambiguous(Vec<String>),
}

impl Batcher {
    /// Looks for the batch the API created from `intent`.
    pub(super) async fn find_created(&self, intent: &Intent) -> Result<Found, GaveUp> {
        let candidates = self.candidates(intent).await?;
        let (ended, open): (Vec<BatchInfo>, Vec<BatchInfo>) = candidates
            .into_iter()
            .partition(|b| b.processing_status == BatchStatus::Ended);
        for info in ended {
            if self.names_intent(&info, intent).await? {
                return Ok(Found::Batch {
                    info,
                    unconfirmed: false,
                });
            }
        }
        Ok(decide(open))
    }

    /// The batches listed since the intent (less [`SKEW`]) with as many requests.
    async fn candidates(&self, intent: &Intent) -> Result<Vec<BatchInfo>, GaveUp> {
        let since = intent.at - jiff::SignedDuration::try_from(SKEW).unwrap_or_default();
        let n = u64::try_from(intent.items.len()).unwrap_or(u64::MAX);
        let mut found = Vec::new();
        let mut after: Option<String> = None;
        loop {
            let page = retry(&self.link.policy, |attempt| {
                self.link
                    .client
                    .list_batches(&intent.api_version, after.as_deref(), attempt)
            })
            .await?;
            let (kept, reached_older) = sift(page.data, since, n);
            found.extend(kept);
            match page.last_id {
                Some(last) if page.has_more && !reached_older => after = Some(last),
                _ => return Ok(found),
            }
        }
    }

    /// Whether an ended batch's results name one of the intent's items.
    async fn names_intent(&self, info: &BatchInfo, intent: &Intent) -> Result<bool, GaveUp> {
        let Some(url) = info.results_url.as_deref() else {
            return Ok(false);
        };
        let named = AtomicBool::new(false);
        retry(&self.link.policy, |attempt| {
            let named = &named;
            async move {
                self.link
                    .client
                    .batch_results(url, &intent.api_version, attempt, &mut |r| {
                        if intent.holds(&r.custom_id) {
                            named.store(true, Ordering::Relaxed);
                        }
                    })
                    .await
            }
        })
        .await?;
        Ok(named.into_inner())
    }

    /// Resolves every intent an earlier run left, before this run submits anything: a
    /// batch created from one answers its requests as a recorded batch would; an intent the
    /// API made nothing of is dropped; one that cannot be resolved keeps its requests from
    /// being submitted (they fail, and the intent waits for the next run).
    pub(super) async fn recover_intents(&self) {
        for intent in self.journal.intents() {
            if self.journal.recorded(&intent) {
                self.journal.settle(&intent);
                continue;
            }
            let n = intent.items.len();
            let nonce = intent.nonce.as_str();
            match self.find_created(&intent).await {
                Ok(Found::Batch { info, unconfirmed }) => {
                    tracing::warn!(
                        batch_id = info.id,
                        requests = n,
                        "an earlier run created this batch (intent {nonce}) and was stopped \
                         before recording it: its results answer those requests, none is \
                         submitted again"
                    );
                    self.adopt(&intent, &info, unconfirmed);
                    let mut recorded = lock(&self.recorded);
                    for item in &intent.items {
                        let at = Recorded {
                            batch_id: info.id.clone(),
                            custom_id: item.custom_id.clone(),
                        };
                        recorded.insert(item.hash.clone(), (at, intent.api_version.clone()));
                    }
                }
                Ok(Found::Nothing) => {
                    tracing::warn!(
                        requests = n,
                        "an earlier run was stopped while creating a batch (intent {nonce}); \
                         the API created none, so its requests are submitted normally"
                    );
                    self.journal.settle(&intent);
                }
                Ok(Found::Ambiguous(ids)) => self.block(&intent, &ambiguous(nonce, &ids)),
                Err(e) => self.block(
                    &intent,
                    &format!(
                        "cannot tell whether the API created a batch from intent {nonce} of an \
                         earlier run ({e})"
                    ),
                ),
            }
        }
    }

    /// Records the batch found for `intent` (replacing the intent), to be confirmed by its
    /// results when `unconfirmed`.
    pub(super) fn adopt(&self, intent: &Intent, info: &BatchInfo, unconfirmed: bool) {
        if unconfirmed {
            lock(&self.unconfirmed).insert(info.id.clone());
        }
        if let Err(e) = self.journal.created(intent, &info.id, info.created_at) {
            tracing::error!(
                batch_id = info.id,
                "cannot record the batch under OUT/.batches ({e}); its intent is kept, so a \
                 re-run looks for it again"
            );
        }
    }

    /// Keeps the intent's requests from being submitted this run: a batch holding them
    /// may exist.
    fn block(&self, intent: &Intent, why: &str) {
        let why = format!(
            "{why}; not submitting its requests again, since that could pay for them twice: \
             re-run later (OUT/.batches/intents/{}.json is kept until then)",
            intent.nonce
        );
        tracing::error!("{why}");
        let mut blocked = lock(&self.blocked);
        for item in &intent.items {
            blocked.insert(item.hash.clone(), why.clone());
        }
    }
}

/// Why an intent is not resolved when several batches could be its.
pub(super) fn ambiguous(nonce: &str, ids: &[String]) -> String {
    format!(
        "batches {} could each hold the requests of intent {nonce} and none has ended",
        ids.join(", ")
    )
}

/// Of one list page (newest first), the batches created since `since` with `n` requests;
/// and whether the page reached batches older than that (no later page can hold one).
fn sift(page: Vec<BatchInfo>, since: jiff::Timestamp, n: u64) -> (Vec<BatchInfo>, bool) {
    let reached_older = page
        .iter()
        .any(|b| b.created_at.is_some_and(|at| at < since));
    let kept = page
        .into_iter()
        // A batch without `created_at` cannot be ruled out by its age.
        .filter(|b| b.created_at.is_none_or(|at| at >= since))
        .filter(|b| b.request_counts.total() == n)
        .collect();
    (kept, reached_older)
}

/// The verdict on the candidates still open once no ended one named the intent.
fn decide(mut open: Vec<BatchInfo>) -> Found {
    match open.len() {
        0 => Found::Nothing,
        1 => Found::Batch {
            info: open.remove(0),
            unconfirmed: true,
        },
        _ => Found::Ambiguous(open.into_iter().map(|b| b.id).collect()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::batches::RequestCounts;

    fn batch(id: &str, minutes_ago: i64, n: u64, status: BatchStatus) -> BatchInfo {
        BatchInfo {
            id: id.into(),
            processing_status: status,
            request_counts: RequestCounts {
                processing: n,
                ..RequestCounts::default()
            },
            results_url: None,
            created_at: Some(jiff::Timestamp::now() - jiff::SignedDuration::from_mins(minutes_ago)),
        }
    }

    fn ids(found: &[BatchInfo]) -> Vec<&str> {
        found.iter().map(|b| b.id.as_str()).collect()
    }

    #[test]
    fn candidates_are_the_batches_since_the_intent_with_as_many_requests() {
        let since = jiff::Timestamp::now() - jiff::SignedDuration::from_mins(10);
        let open = BatchStatus::InProgress;
        let page = vec![
            batch("b_new", 1, 3, open),
            batch("b_other_size", 2, 4, open),
            batch("b_near", 9, 3, BatchStatus::Ended),
        ];
        let (kept, older) = sift(page, since, 3);
        assert_eq!(ids(&kept), ["b_new", "b_near"]);
        assert!(!older, "the next page may still hold one");
        let page = vec![batch("b_near", 9, 3, open), batch("b_old", 11, 3, open)];
        let (kept, older) = sift(page, since, 3);
        assert_eq!(ids(&kept), ["b_near"]);
        assert!(older, "the list is newest first: nothing later can match");
        let mut undated = batch("b_undated", 0, 3, open);
        undated.created_at = None;
        assert_eq!(ids(&sift(vec![undated], since, 3).0), ["b_undated"]);
    }

    #[test]
    fn one_open_candidate_is_adopted_unconfirmed_and_several_are_not_guessed_between() {
        assert!(matches!(decide(Vec::new()), Found::Nothing));
        let one = decide(vec![batch("b1", 1, 3, BatchStatus::InProgress)]);
        assert!(matches!(one, Found::Batch { info, unconfirmed: true } if info.id == "b1"));
        let two = decide(vec![
            batch("b1", 1, 3, BatchStatus::InProgress),
            batch("b2", 1, 3, BatchStatus::Canceling),
        ]);
        assert!(matches!(two, Found::Ambiguous(ids) if ids == ["b1", "b2"]));
    }
}

//! Batch mode's intents (docs/output.md §15): `OUT/.batches/intents/<nonce>.json` is
//! written (atomically, and synced with its folder) *before* `POST /v1/messages/batches`,
//! naming every item of the batch about to be created. Once the create answers, the
//! record of the created batch (`batch_journal.rs`) replaces it. An intent left behind
//! means a runner was killed, or lost the create's answer, while the API may have created
//! the batch: the next run looks for that batch (`engine/batcher/recover.rs`) before it
//! submits anything again, so no request is paid twice.
//!
//! Every `custom_id` of the batch carries the intent's nonce (`<nonce>-<n>`), so a batch
//! whose results name one of them was created from this intent, for certain.

use camino::Utf8PathBuf;
use serde::{Deserialize, Serialize};

use super::batch_journal::{Item, Journal, Record};

/// A batch about to be created.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Intent {
    /// In every `custom_id` of the batch, and the file's name.
    pub nonce: String,
    pub api_version: String,
    /// When the runner was about to create it (the batch's `created_at` is no earlier,
    /// give or take the two clocks' skew).
    pub at: jiff::Timestamp,
    pub items: Vec<Item>,
}

impl Intent {
    /// The record of the batch created from this intent.
    pub(crate) fn record(&self, batch_id: &str, created_at: Option<jiff::Timestamp>) -> Record {
        Record {
            batch_id: batch_id.to_owned(),
            api_version: self.api_version.clone(),
            created_at: Some(created_at.unwrap_or(self.at)),
            items: self.items.clone(),
            consumed: std::collections::BTreeSet::new(),
            ended: None,
        }
    }

    /// Whether `custom_id` is one of this intent's items.
    pub(crate) fn holds(&self, custom_id: &str) -> bool {
        custom_id
            .strip_prefix(self.nonce.as_str())
            .is_some_and(|rest| rest.starts_with('-'))
            && self.items.iter().any(|i| i.custom_id == custom_id)
    }
}

/// A fresh nonce: 12 hex digits of BLAKE3 over the time, the process and a counter, so two
/// intents never share one (a `custom_id` may be 64 characters long).
pub(crate) fn nonce() -> String {
    static COUNTER: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let seed = format!(
        "{}/{}/{n}",
        jiff::Timestamp::now().as_nanosecond(),
        std::process::id()
    );
    blake3::hash(seed.as_bytes()).to_hex()[..12].to_owned()
}

/// The `custom_id`s of an intent's `n` items: `<nonce>-1` … `<nonce>-n`.
pub(crate) fn custom_ids(nonce: &str, n: usize) -> Vec<String> {
    (1..=n).map(|k| format!("{nonce}-{k}")).collect()
}

impl Journal {
    fn intents_dir(&self) -> Utf8PathBuf {
        self.dir().join("intents")
    }

    fn intent_path(&self, nonce: &str) -> Utf8PathBuf {
        self.intents_dir().join(Journal::file_name(nonce))
    }

    /// Writes an intent; must succeed before the batch is created.
    pub(crate) fn intend(&self, intent: &Intent) -> std::io::Result<()> {
        let bytes = serde_json::to_vec(intent).map_err(std::io::Error::other)?;
        crate::atomic::write_durable(&self.intent_path(&intent.nonce), &bytes)
    }

    /// The intents left behind, oldest first (unreadable ones are skipped with a warning).
    pub(crate) fn intents(&self) -> Vec<Intent> {
        let mut intents: Vec<Intent> = super::batch_journal::json_in(&self.intents_dir());
        intents.sort_by(|a, b| (a.at, &a.nonce).cmp(&(b.at, &b.nonce)));
        intents
    }

    /// The batch created from `intent` is known: its record replaces the intent.
    pub(crate) fn created(
        &self,
        intent: &Intent,
        batch_id: &str,
        created_at: Option<jiff::Timestamp>,
    ) -> std::io::Result<()> {
        self.record(&intent.record(batch_id, created_at))?;
        self.settle(intent);
        Ok(())
    }

    /// The intent is resolved (its batch recorded, or known never to have been created).
    pub(crate) fn settle(&self, intent: &Intent) {
        if let Err(e) = fs_err::remove_file(self.intent_path(&intent.nonce)) {
            tracing::warn!("cannot remove the batch intent: {e}");
        }
    }

    /// Whether a record already holds the intent's items: a runner killed after recording
    /// the batch and before removing the intent.
    pub(crate) fn recorded(&self, intent: &Intent) -> bool {
        let Some(first) = intent.items.first() else {
            return true;
        };
        self.pending_records()
            .iter()
            .chain(&self.ended_records())
            .any(|r| r.items.iter().any(|i| i.custom_id == first.custom_id))
    }
}

#[cfg(test)]
mod tests {
    use camino::Utf8Path;

    use super::*;

    fn intent(nonce: &str) -> Intent {
        let ids = custom_ids(nonce, 2);
        Intent {
            nonce: nonce.into(),
            api_version: "2023-06-01".into(),
            at: jiff::Timestamp::now(),
            items: ids
                .iter()
                .enumerate()
                .map(|(k, id)| Item {
                    custom_id: id.clone(),
                    hash: format!("h{k}"),
                    job: "m/a".into(),
                    turn: 1,
                    continuation: 0,
                })
                .collect(),
        }
    }

    #[test]
    fn custom_ids_carry_the_nonce_and_nonces_differ() {
        let a = nonce();
        assert_eq!(a.len(), 12);
        assert_ne!(a, nonce());
        assert_eq!(
            custom_ids("abc", 3),
            ["abc-1".to_owned(), "abc-2".into(), "abc-3".into()]
        );
        let i = intent("abc");
        assert!(i.holds("abc-2"));
        assert!(!i.holds("abc-3"), "not one of its items");
        assert!(!i.holds("abcd-1") && !i.holds("req-1"));
    }

    #[test]
    fn an_intent_is_kept_until_the_record_of_its_batch_replaces_it() {
        let dir = tempfile::tempdir().unwrap();
        let out = Utf8Path::from_path(dir.path()).unwrap();
        let journal = Journal::new(out);
        let i = intent("n1");
        journal.intend(&i).unwrap();
        let left = journal.intents();
        assert_eq!(left.len(), 1);
        assert_eq!(left[0].items, i.items);
        assert!(!journal.recorded(&i));
        // Intents are not records: nothing to resume from them.
        assert!(journal.pending().is_empty());

        journal.created(&i, "msgbatch_1", None).unwrap();
        assert!(journal.intents().is_empty());
        assert!(journal.recorded(&i));
        let pending = journal.pending();
        assert_eq!(pending["h1"].0.batch_id, "msgbatch_1");
        assert_eq!(pending["h1"].0.custom_id, "n1-2");
    }
}

//! Batch mode's durable record (docs/output.md §15): `OUT/.batches/<batch-id>.json`
//! is written (atomically) the moment a batch is created, before it is polled, naming for
//! each `custom_id` the BLAKE3 of the request it stands for and the job, turn and
//! continuation it belongs to. A re-run of the same command computes the same requests (a
//! conversation's next request depends only on the job and the answers so far, which the
//! re-run reads back from the same batches), so a request whose hash is recorded is not
//! submitted again: its result is taken from the recorded batch. What a run is about to
//! create is written first, as an intent (`batch_intent.rs`), which the record replaces.
//!
//! An item is *consumed* once its job's folder was written with a final status; a record
//! whose items are all consumed moves to `OUT/.batches/ended/`, where `runner batches`
//! shows it among the recent ones. Records are updated once, when the run ends (not per
//! job), so a runner killed with SIGKILL leaves some items unconsumed: harmless, as their
//! jobs are then fresh and never ask for them again. Pending records older than the API
//! keeps results (29 days, docs/api.md §5) are dropped, and the newest
//! [`KEEP_ENDED`] ended ones kept.

use std::collections::{BTreeSet, HashMap};

use camino::{Utf8Path, Utf8PathBuf};
use serde::{Deserialize, Serialize};

use crate::api::batches::RequestCounts;

/// Ended records kept for `runner batches`.
pub(crate) const KEEP_ENDED: usize = 100;
/// docs/api.md §5: results are downloadable for 29 days.
const RESULTS_KEPT: std::time::Duration = std::time::Duration::from_secs(29 * 24 * 3600);

/// One created batch, as recorded.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Record {
    pub batch_id: String,
    pub api_version: String,
    /// When the batch was created (absent in records written before it was recorded).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_at: Option<jiff::Timestamp>,
    pub items: Vec<Item>,
    /// `custom_id`s whose jobs were written: nothing left to resume for them.
    #[serde(default, skip_serializing_if = "BTreeSet::is_empty")]
    pub consumed: BTreeSet<String>,
    /// Set when the record moved to `ended/`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ended: Option<Ended>,
}

/// One item of a recorded batch.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(from = "ItemOnDisk")]
pub(crate) struct Item {
    pub custom_id: String,
    /// BLAKE3 of the request body ([`body_hash`]).
    pub hash: String,
    /// The job's id (`<manifest-stem>/<job>`); empty in records from before it was kept.
    #[serde(default)]
    pub job: String,
    /// 1-based turn, and the `pause_turn` continuation within it.
    #[serde(default)]
    pub turn: u32,
    #[serde(default)]
    pub continuation: u32,
}

/// Records written by the first batch-mode build hold `[custom_id, hash]` pairs; they are
/// still read, so a batch they name is resumed instead of paid for again.
#[derive(Deserialize)]
#[serde(untagged)]
enum ItemOnDisk {
    Full {
        custom_id: String,
        hash: String,
        #[serde(default)]
        job: String,
        #[serde(default)]
        turn: u32,
        #[serde(default)]
        continuation: u32,
    },
    Pair(String, String),
}

impl From<ItemOnDisk> for Item {
    fn from(item: ItemOnDisk) -> Item {
        match item {
            ItemOnDisk::Full {
                custom_id,
                hash,
                job,
                turn,
                continuation,
            } => Item {
                custom_id,
                hash,
                job,
                turn,
                continuation,
            },
            ItemOnDisk::Pair(custom_id, hash) => Item {
                custom_id,
                hash,
                job: String::new(),
                turn: 0,
                continuation: 0,
            },
        }
    }
}

/// How a record ended.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Ended {
    pub at: jiff::Timestamp,
    /// The batch's last `request_counts` the runner saw (`None`: this run did not look).
    pub request_counts: Option<RequestCounts>,
    /// The runner canceled it (`--batch-deadline`, `--cancel-on-interrupt`).
    #[serde(default)]
    pub canceled: bool,
}

/// Where a recorded request can be picked up again.
#[derive(Debug, Clone)]
pub(crate) struct Recorded {
    pub batch_id: String,
    pub custom_id: String,
}

/// The folder of records under the output root.
#[derive(Debug, Clone)]
pub(crate) struct Journal {
    dir: Utf8PathBuf,
}

/// The request's identity: BLAKE3 of its JSON (`serde_json::Value::to_string`, whose key
/// order is stable).
pub(crate) fn body_hash(json: &str) -> String {
    blake3::hash(json.as_bytes()).to_hex().to_string()
}

/// What one run did with a batch, folded into its record when the run ends.
#[derive(Debug, Default, Clone)]
pub(crate) struct Use {
    pub consumed: BTreeSet<String>,
    pub request_counts: Option<RequestCounts>,
    pub canceled: bool,
}

impl Journal {
    pub(crate) fn new(out: &Utf8Path) -> Journal {
        Journal {
            dir: out.join(".batches"),
        }
    }

    /// `OUT/.batches`.
    pub(super) fn dir(&self) -> &Utf8Path {
        &self.dir
    }

    fn ended_dir(&self) -> Utf8PathBuf {
        self.dir.join("ended")
    }

    pub(super) fn file_name(batch_id: &str) -> String {
        // Batch ids are the API's; keep only id characters in the file name.
        let safe: String = batch_id
            .chars()
            .filter(|c| c.is_ascii_alphanumeric() || *c == '_' || *c == '-')
            .collect();
        format!("{safe}.json")
    }

    fn path(&self, batch_id: &str) -> Utf8PathBuf {
        self.dir.join(Self::file_name(batch_id))
    }

    /// Records a created batch; must succeed before the batch is waited on. Synced with
    /// its folder: the record is what keeps a re-run from paying for the batch again.
    pub(crate) fn record(&self, record: &Record) -> std::io::Result<()> {
        let bytes = serde_json::to_vec_pretty(record).map_err(std::io::Error::other)?;
        crate::atomic::write_durable(&self.path(&record.batch_id), &bytes)
    }

    /// Forgets the record of a batch that turned out not to hold its items (one adopted
    /// from an intent whose results named none of them).
    pub(crate) fn forget(&self, batch_id: &str) {
        remove(&self.path(batch_id));
    }

    /// Folds one run's use of a batch into its record; a record with every item consumed
    /// moves to `ended/`, ended `at` (one time for all of a run's records, so that
    /// `runner batches` lists them by creation, not by the order they were folded in).
    pub(crate) fn fold(
        &self,
        batch_id: &str,
        used: &Use,
        at: jiff::Timestamp,
    ) -> std::io::Result<()> {
        let path = self.path(batch_id);
        let Some(mut record) = read::<Record>(&path) else {
            return Ok(());
        };
        record.consumed.extend(used.consumed.iter().cloned());
        let all = record
            .items
            .iter()
            .all(|i| record.consumed.contains(&i.custom_id));
        if !all {
            return write(&path, &record);
        }
        record.ended = Some(Ended {
            at,
            request_counts: used.request_counts,
            canceled: used.canceled,
        });
        write(&self.ended_dir().join(Self::file_name(batch_id)), &record)?;
        fs_err::remove_file(&path)
    }

    /// Items of `jobs` (jobs found fresh by a run, so written by an earlier one) are
    /// consumed: a runner killed after writing a job but before recording that leaves them.
    pub(crate) fn consume_jobs(&self, jobs: &std::collections::HashSet<&str>) {
        let now = jiff::Timestamp::now();
        for record in self.pending_records() {
            let used = Use {
                consumed: record
                    .items
                    .iter()
                    .filter(|i| jobs.contains(i.job.as_str()))
                    .map(|i| i.custom_id.clone())
                    .filter(|id| !record.consumed.contains(id))
                    .collect(),
                ..Use::default()
            };
            if used.consumed.is_empty() {
                continue;
            }
            if let Err(e) = self.fold(&record.batch_id, &used, now) {
                tracing::warn!(
                    batch_id = record.batch_id,
                    "cannot update the batch record: {e}"
                );
            }
        }
    }

    /// Every recorded request not yet consumed, by body hash (unreadable records are
    /// skipped with a warning).
    pub(crate) fn pending(&self) -> HashMap<String, (Recorded, String)> {
        let mut map = HashMap::new();
        for record in self.pending_records() {
            for item in record.items {
                if record.consumed.contains(&item.custom_id) {
                    continue;
                }
                map.insert(
                    item.hash,
                    (
                        Recorded {
                            batch_id: record.batch_id.clone(),
                            custom_id: item.custom_id,
                        },
                        record.api_version.clone(),
                    ),
                );
            }
        }
        map
    }

    /// Whether both record folders can be listed (a missing one holds no record): the
    /// listings below skip what they cannot read, which `runner batches` must not do
    /// silently for the whole folder.
    pub(crate) fn check_readable(&self) -> std::io::Result<()> {
        for dir in [self.dir.clone(), self.ended_dir(), self.dir.join("intents")] {
            match fs_err::read_dir(&dir) {
                Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(e),
                _ => {}
            }
        }
        Ok(())
    }

    /// The records of batches with items not yet consumed, oldest first.
    pub(crate) fn pending_records(&self) -> Vec<Record> {
        records_in(&self.dir)
    }

    /// The newest ended records first.
    pub(crate) fn ended_records(&self) -> Vec<Record> {
        let mut records = records_in(&self.ended_dir());
        records.reverse();
        records
    }

    /// Drops pending records whose results the API no longer keeps, and all but the newest
    /// [`KEEP_ENDED`] ended ones.
    pub(crate) fn prune(&self) {
        let now = jiff::Timestamp::now();
        for record in self.pending_records() {
            let stale = record
                .created_at
                .and_then(|at| now.duration_since(at).try_into().ok())
                .is_some_and(|age: std::time::Duration| age > RESULTS_KEPT);
            if stale {
                tracing::warn!(
                    batch_id = record.batch_id,
                    "dropping the record of a batch whose results the API no longer keeps"
                );
                remove(&self.path(&record.batch_id));
            }
        }
        for record in self.ended_records().iter().skip(KEEP_ENDED) {
            remove(&self.ended_dir().join(Self::file_name(&record.batch_id)));
        }
    }
}

fn write(path: &Utf8Path, record: &Record) -> std::io::Result<()> {
    let bytes = serde_json::to_vec_pretty(record).map_err(std::io::Error::other)?;
    crate::atomic::write(path, &bytes)
}

fn read<T: serde::de::DeserializeOwned>(path: &Utf8Path) -> Option<T> {
    let record = fs_err::read(path)
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok());
    if record.is_none() {
        tracing::warn!("skipping unreadable batch record {path}");
    }
    record
}

fn remove(path: &Utf8Path) {
    if let Err(e) = fs_err::remove_file(path) {
        tracing::warn!("cannot remove the batch record: {e}");
    }
}

/// The readable `*.json` files directly in `dir`, in no particular order.
pub(super) fn json_in<T: serde::de::DeserializeOwned>(dir: &Utf8Path) -> Vec<T> {
    let Ok(entries) = fs_err::read_dir(dir) else {
        return Vec::new();
    };
    entries
        .flatten()
        .filter(|e| e.file_type().is_ok_and(|t| t.is_file()))
        .filter_map(|e| Utf8PathBuf::from_path_buf(e.path()).ok())
        .filter(|p| p.extension() == Some("json"))
        .filter_map(|p| read(&p))
        .collect()
}

/// The `*.json` records in `dir`, oldest first (by creation, then id).
fn records_in(dir: &Utf8Path) -> Vec<Record> {
    let mut records: Vec<Record> = json_in(dir);
    records.sort_by(|a, b| {
        (a.ended.as_ref().map(|e| e.at), a.created_at, &a.batch_id).cmp(&(
            b.ended.as_ref().map(|e| e.at),
            b.created_at,
            &b.batch_id,
        ))
    });
    records
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item(id: &str, hash: &str) -> Item {
        Item {
            custom_id: id.into(),
            hash: hash.into(),
            job: "m/a".into(),
            turn: 1,
            continuation: 0,
        }
    }

    fn record(id: &str, items: Vec<Item>) -> Record {
        Record {
            batch_id: id.into(),
            api_version: "2023-06-01".into(),
            created_at: Some(jiff::Timestamp::now()),
            items,
            consumed: BTreeSet::new(),
            ended: None,
        }
    }

    #[test]
    fn a_record_moves_to_ended_once_every_item_is_consumed() {
        let dir = tempfile::tempdir().unwrap();
        let out = Utf8Path::from_path(dir.path()).unwrap();
        let journal = Journal::new(out);
        journal
            .record(&record(
                "msgbatch_1",
                vec![item("r1", "h1"), item("r2", "h2")],
            ))
            .unwrap();
        assert_eq!(journal.pending().len(), 2);

        let mut used = Use::default();
        used.consumed.insert("r1".into());
        journal
            .fold("msgbatch_1", &used, jiff::Timestamp::now())
            .unwrap();
        let pending = journal.pending();
        assert_eq!(pending.len(), 1);
        assert_eq!(pending["h2"].0.custom_id, "r2");
        assert!(journal.ended_records().is_empty());

        used.consumed.insert("r2".into());
        used.request_counts = Some(RequestCounts {
            succeeded: 2,
            ..RequestCounts::default()
        });
        journal
            .fold("msgbatch_1", &used, jiff::Timestamp::now())
            .unwrap();
        assert!(journal.pending().is_empty());
        assert!(journal.pending_records().is_empty());
        let ended = journal.ended_records();
        assert_eq!(ended.len(), 1);
        assert_eq!(
            ended[0]
                .ended
                .as_ref()
                .unwrap()
                .request_counts
                .unwrap()
                .succeeded,
            2
        );
    }

    #[test]
    fn records_of_the_first_build_are_still_resumed() {
        let dir = tempfile::tempdir().unwrap();
        let out = Utf8Path::from_path(dir.path()).unwrap();
        fs_err::create_dir_all(out.join(".batches")).unwrap();
        fs_err::write(
            out.join(".batches/msgbatch_old.json"),
            r#"{"batch_id":"msgbatch_old","api_version":"2023-06-01","items":[["req-1","abc"]]}"#,
        )
        .unwrap();
        let pending = Journal::new(out).pending();
        assert_eq!(pending["abc"].0.batch_id, "msgbatch_old");
        assert_eq!(pending["abc"].0.custom_id, "req-1");
    }

    #[test]
    fn stale_pending_records_and_old_ended_ones_are_pruned() {
        let dir = tempfile::tempdir().unwrap();
        let out = Utf8Path::from_path(dir.path()).unwrap();
        let journal = Journal::new(out);
        let mut old = record("msgbatch_old", vec![item("r1", "h1")]);
        old.created_at = Some(jiff::Timestamp::now() - jiff::SignedDuration::from_hours(30 * 24));
        journal.record(&old).unwrap();
        journal
            .record(&record("msgbatch_new", vec![item("r1", "h2")]))
            .unwrap();
        for n in 0..KEEP_ENDED + 3 {
            let id = format!("msgbatch_e{n}");
            journal.record(&record(&id, vec![item("r", "h")])).unwrap();
            let mut used = Use::default();
            used.consumed.insert("r".into());
            journal.fold(&id, &used, jiff::Timestamp::now()).unwrap();
        }
        journal.prune();
        let pending: Vec<String> = journal
            .pending_records()
            .into_iter()
            .map(|r| r.batch_id)
            .collect();
        assert_eq!(pending, ["msgbatch_new"]);
        assert_eq!(journal.ended_records().len(), KEEP_ENDED);
    }
}

//! Batch mode's durable record (docs/output.md, "Batch mode"): `OUT/.batches/<batch-id>.json`
//! is written (atomically) the moment a batch is created, before it is polled, naming each
//! `custom_id` with the BLAKE3 of the request it stands for. A re-run of the same command
//! computes the same requests (a conversation's next request depends only on the job and
//! the answers so far, which the re-run reads back from the same batches), so a request
//! whose hash is recorded is not submitted again: its result is taken from the recorded
//! batch. A record is removed once its results were handed to their jobs.

use std::collections::HashMap;

use camino::{Utf8Path, Utf8PathBuf};
use serde::{Deserialize, Serialize};

/// One created batch, as recorded.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Record {
    pub batch_id: String,
    pub api_version: String,
    /// (custom_id, BLAKE3 of the request body) for every item.
    pub items: Vec<(String, String)>,
}

/// Where a recorded request can be picked up again.
#[derive(Debug, Clone)]
pub struct Recorded {
    pub batch_id: String,
    pub custom_id: String,
}

/// The folder of records under the output root.
#[derive(Debug, Clone)]
pub struct Journal {
    dir: Utf8PathBuf,
}

/// The request's identity: BLAKE3 of its JSON.
pub fn body_hash(body: &serde_json::Value) -> String {
    blake3::hash(body.to_string().as_bytes())
        .to_hex()
        .to_string()
}

impl Journal {
    pub fn new(out: &Utf8Path) -> Journal {
        Journal {
            dir: out.join(".batches"),
        }
    }

    fn path(&self, batch_id: &str) -> Utf8PathBuf {
        // Batch ids are the API's; keep only id characters in the file name.
        let safe: String = batch_id
            .chars()
            .filter(|c| c.is_ascii_alphanumeric() || *c == '_' || *c == '-')
            .collect();
        self.dir.join(format!("{safe}.json"))
    }

    /// Records a created batch; must succeed before the batch is waited on.
    pub fn record(&self, record: &Record) -> std::io::Result<()> {
        fs_err::create_dir_all(&self.dir)?;
        let bytes = serde_json::to_vec_pretty(record).map_err(std::io::Error::other)?;
        crate::atomic::write(&self.path(&record.batch_id), &bytes)
    }

    /// The batch's results were all handed out: nothing left to resume.
    pub fn done(&self, batch_id: &str) {
        if let Err(e) = fs_err::remove_file(self.path(batch_id)) {
            tracing::warn!("cannot remove the batch record: {e}");
        }
    }

    /// Every recorded request, by body hash (unreadable records are skipped with a warning).
    pub fn pending(&self) -> HashMap<String, (Recorded, String)> {
        let mut map = HashMap::new();
        let Ok(entries) = fs_err::read_dir(&self.dir) else {
            return map;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            let record: Option<Record> = fs_err::read(&path)
                .ok()
                .and_then(|b| serde_json::from_slice(&b).ok());
            let Some(record) = record else {
                tracing::warn!("skipping unreadable batch record {}", path.display());
                continue;
            };
            for (custom_id, hash) in record.items {
                map.insert(
                    hash,
                    (
                        Recorded {
                            batch_id: record.batch_id.clone(),
                            custom_id,
                        },
                        record.api_version.clone(),
                    ),
                );
            }
        }
        map
    }
}

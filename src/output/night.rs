//! `run.json`'s keys for a night run as N shards (docs/output.md §6.5): the night id every
//! shard's record carries, and in the merged record, which shards it was made of and which
//! were missing. A small file of its own so the run record and the merge share it.

use serde::{Deserialize, Serialize};

/// The night keys of a run record; all absent for an unsharded run.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
pub(crate) struct NightKeys {
    /// The night a shard's record belongs to (`--night`, `RUNNER_NIGHT`, or derived from the
    /// plan), and in a merged record the night it merges.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub night: Option<String>,
    /// A merged record only: the shards' records it was made of, by shard.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub shards: Vec<ShardPart>,
    /// A merged record only: the shards of the night with no record of it (`K/N`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub missing_shards: Vec<String>,
}

impl NightKeys {
    /// A shard's record: its night (`None` for an unsharded run).
    pub(crate) fn of_shard(night: Option<String>) -> NightKeys {
        NightKeys {
            night,
            ..NightKeys::default()
        }
    }
}

/// One shard's part of a merged night.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub(crate) struct ShardPart {
    /// `K/N`.
    pub shard: String,
    /// The shard's own run (its folder under `OUT/runs/` holds its record and attempts).
    pub run_id: String,
    pub exit_code: u8,
    pub started_at: jiff::Timestamp,
    pub finished_at: jiff::Timestamp,
}

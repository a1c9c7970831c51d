//! A job's metrics and alerts as the records hold them (`job.json`'s `metrics`, `run.json`'s
//! `jobs[].metrics` and `jobs[].alerts`, docs/output.md §2.12, §6.1): plain data, so the
//! records can hold them without reaching the code that parses and judges them
//! (`metrics.rs`).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// A job's metrics: name → value.
pub(crate) type Metrics = BTreeMap<String, f64>;

/// One threshold crossed, as `run.json`'s `jobs[].alerts` holds it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub(crate) struct Alert {
    pub metric: String,
    pub value: f64,
    /// The value of the previous successful night, when there was one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub previous: Option<f64>,
    /// The rule as the manifest wrote it, e.g. `±10%`.
    pub rule: String,
    pub message: String,
}

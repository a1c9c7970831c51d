//! The fingerprint: a hash of everything that determines a job's result
//! (docs/output.md §4). A later run skips a job whose `job.json` says it succeeded with the
//! same fingerprint.

use serde::Serialize;

use super::PlannedInput;
use crate::manifest::RequestSettings;

/// Bumped whenever what the runner sends for the same manifest changes (e.g. the system
/// prompt addition), so old results are not mistaken for fresh.
const FINGERPRINT_SCHEME: u32 = 1;

/// A hash of everything that determines the job's result (docs/output.md §4).
/// Serialised from a struct, whose field order is fixed by this code, so the hash does not
/// depend on how a JSON map happens to order its keys.
pub fn fingerprint(
    settings: &RequestSettings,
    system: &str,
    turns: &[String],
    inputs: &[PlannedInput],
) -> String {
    #[derive(Serialize)]
    struct Canonical<'a> {
        scheme: u32,
        settings: &'a RequestSettings,
        system: &'a str,
        turns: &'a [String],
        inputs: Vec<(&'a str, &'a str)>,
    }
    let canonical = Canonical {
        scheme: FINGERPRINT_SCHEME,
        settings,
        system,
        turns,
        inputs: inputs
            .iter()
            .map(|i| (i.name.as_str(), i.blake3.as_str()))
            .collect(),
    };
    // Serialising plain structs, strings and numbers cannot fail.
    let bytes = serde_json::to_vec(&canonical).unwrap_or_default();
    format!("blake3:{}", blake3::hash(&bytes).to_hex())
}

//! Why a job would run: its planned fingerprint's parts compared, one by one, with the
//! `job.json` its last run left (docs/output.md §2, §4). Pure: the caller reads the file.
//!
//! `job.json` holds every part the fingerprint hashes (settings, system, turns, inputs'
//! names and BLAKE3), so a difference in the fingerprint is always one of these parts, or,
//! when every part is equal, the runner's fingerprint scheme.

use serde::Serialize;
use serde_json::Value;

use super::records::JobRecord;
use crate::plan::PlannedJob;

/// The verdict on one job.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub(crate) struct Explanation {
    /// `<manifest-stem>/<job-name>`.
    pub job: String,
    /// `fresh` or `to-run`.
    pub status: &'static str,
    /// `fresh`, `never-ran`, `failed-last-time`, `changed` or `unreadable`.
    pub reason: &'static str,
    /// What differs from the last run, in fingerprint order (also for a failed job).
    pub changes: Vec<Change>,
    /// The last run's error (failed) or why `job.json` could not be read (unreadable).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

/// One part of the fingerprint that differs.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(tag = "part", rename_all = "snake_case")]
pub(crate) enum Change {
    /// An input's content: `was` or `now` is absent for an input added or removed.
    Input {
        name: String,
        was: Option<String>,
        now: Option<String>,
    },
    Model {
        was: Value,
        now: Value,
    },
    /// A request setting other than the model (`max_tokens`, `api_version`, `tool`, …).
    Setting {
        name: String,
        was: Value,
        now: Value,
    },
    /// The system prompt as sent (the manifest's `system` and the attached files' list).
    System,
    /// Turn `turn` (1 is the prompt, 2… the follow-ups) was added, removed or edited.
    Turn {
        turn: usize,
    },
    /// A skill added, removed, or loaded at another version: `was` and `now` are its
    /// version as written, or for a folder its content hash; absent when not loaded.
    Skill {
        name: String,
        was: Option<String>,
        now: Option<String>,
    },
    /// A matrix parameter added, removed or given another value (docs/manifest.md
    /// "Matrices"): `was` or `now` is absent for a key added or removed.
    Param {
        name: String,
        was: Option<String>,
        now: Option<String>,
    },
    /// Every part is equal, yet the fingerprint differs: the runner hashes differently now.
    FingerprintScheme {
        was_runner: Value,
    },
}

/// Compares `job` with its previous `job.json` as JSON, read back through the record the
/// writer writes (the tests' way in).
#[cfg(test)]
pub(crate) fn explain(job: &PlannedJob, previous: Option<&Value>) -> Explanation {
    use serde::Deserialize;
    let record = previous.map(|v| JobRecord::deserialize(v).unwrap());
    explain_record(job, record.as_ref())
}

/// Compares `job` with its previous `job.json` (`None`: there is none).
pub(crate) fn explain_record(job: &PlannedJob, previous: Option<&JobRecord<'_>>) -> Explanation {
    let verdict = |status, reason, changes, detail| Explanation {
        job: job.id.clone(),
        status,
        reason,
        changes,
        detail,
    };
    let Some(prev) = previous else {
        return verdict("to-run", "never-ran", Vec::new(), None);
    };
    let changes = changes(job, prev);
    let same = prev.fingerprint.as_deref() == Some(job.fingerprint.as_str());
    if !prev.succeeded() {
        let error = prev.error.as_ref();
        let detail = match (
            error.and_then(|e| e.kind),
            error.and_then(|e| e.message.as_deref()),
        ) {
            (Some(kind), Some(message)) => Some(format!("{}: {message}", kind.as_str())),
            _ => None,
        };
        return verdict("to-run", "failed-last-time", changes, detail);
    }
    if same {
        return verdict("fresh", "fresh", Vec::new(), None);
    }
    let changes = if changes.is_empty() {
        vec![Change::FingerprintScheme {
            was_runner: prev
                .runner_version
                .as_deref()
                .map_or(Value::Null, Value::from),
        }]
    } else {
        changes
    };
    verdict("to-run", "changed", changes, None)
}

/// A `job.json` that exists but does not parse: the job runs again.
pub(crate) fn unreadable(job: &PlannedJob, why: String) -> Explanation {
    Explanation {
        job: job.id.clone(),
        status: "to-run",
        reason: "unreadable",
        changes: Vec::new(),
        detail: Some(why),
    }
}

fn changes(job: &PlannedJob, prev: &JobRecord<'_>) -> Vec<Change> {
    let mut changes = setting_changes(job, &prev.settings.to_json());
    if prev.system.as_deref() != Some(job.system.as_str()) {
        changes.push(Change::System);
    }
    let was_turns = prev.turns.as_deref().unwrap_or_default();
    for turn in 0..was_turns.len().max(job.turns.len()) {
        if was_turns.get(turn) != job.turns.get(turn) {
            changes.push(Change::Turn { turn: turn + 1 });
        }
    }
    changes.extend(input_changes(job, prev));
    changes.extend(skill_changes(job, prev));
    changes.extend(param_changes(job, prev));
    changes
}

/// Matrix parameters key by key.
fn param_changes(job: &PlannedJob, prev: &JobRecord<'_>) -> Vec<Change> {
    let keys: std::collections::BTreeSet<&String> =
        job.params.keys().chain(prev.params.keys()).collect();
    keys.into_iter()
        .filter(|k| job.params.get(*k) != prev.params.get(*k))
        .map(|k| Change::Param {
            name: k.clone(),
            was: prev.params.get(k).cloned(),
            now: job.params.get(k).cloned(),
        })
        .collect()
}

/// Skills by (source, id or folder name), each with its version or content hash, so a
/// folder whose content changed shows as that skill changed.
fn skill_changes(job: &PlannedJob, prev: &JobRecord<'_>) -> Vec<Change> {
    let was: Vec<(String, String, String)> = prev
        .skills
        .iter()
        .map(|s| match (&s.name, &s.blake3) {
            (Some(name), Some(hash)) => (s.source.clone(), name.clone(), hash.clone()),
            _ => (s.source.clone(), s.skill_id.clone(), s.version.clone()),
        })
        .collect();
    let now: Vec<(String, String, String)> = job
        .skills
        .iter()
        .map(|s| {
            let (source, id, version) = s.key();
            (source.to_owned(), id.to_owned(), version.to_owned())
        })
        .collect();
    let find = |list: &[(String, String, String)], source: &str, id: &str| {
        list.iter()
            .find(|(s, i, _)| s == source && i == id)
            .map(|(_, _, v)| v.clone())
    };
    let mut changes = Vec::new();
    for (source, id, version) in &now {
        let before = find(&was, source, id);
        if before.as_ref() != Some(version) {
            changes.push(Change::Skill {
                name: id.clone(),
                was: before,
                now: Some(version.clone()),
            });
        }
    }
    for (source, id, version) in &was {
        if find(&now, source, id).is_none() {
            changes.push(Change::Skill {
                name: id.clone(),
                was: Some(version.clone()),
                now: None,
            });
        }
    }
    changes
}

/// The settings as recorded against the planned ones, key by key, so a key only an older
/// runner wrote shows as set then and unset now.
fn setting_changes(job: &PlannedJob, was: &Value) -> Vec<Change> {
    // Serialising the settings struct cannot fail.
    let now = serde_json::to_value(&job.settings).unwrap_or_default();
    let empty = serde_json::Map::new();
    let (now, was) = (
        now.as_object().unwrap_or(&empty),
        was.as_object().unwrap_or(&empty),
    );
    let mut names: Vec<&String> = now.keys().chain(was.keys()).collect();
    names.sort();
    names.dedup();
    let mut changes = Vec::new();
    for name in names {
        let (w, n) = (field(was, name), field(now, name));
        if w == n {
            continue;
        }
        changes.push(if name == "model" {
            Change::Model { was: w, now: n }
        } else {
            Change::Setting {
                name: name.clone(),
                was: w,
                now: n,
            }
        });
    }
    changes
}

fn field(map: &serde_json::Map<String, Value>, name: &str) -> Value {
    map.get(name).cloned().unwrap_or(Value::Null)
}

/// Inputs by name (names are unique within a job).
fn input_changes(job: &PlannedJob, prev: &JobRecord<'_>) -> Vec<Change> {
    let was: Vec<(&str, &str)> = prev
        .inputs
        .iter()
        .flatten()
        .filter_map(|i| Some((i.name.as_deref()?, i.blake3.as_deref()?)))
        .collect();
    let hash_was = |name: &str| was.iter().find(|(n, _)| *n == name).map(|(_, h)| *h);
    let mut changes = Vec::new();
    for input in &job.inputs {
        let before = hash_was(&input.name);
        if before != Some(input.blake3.as_str()) {
            changes.push(Change::Input {
                name: input.name.clone(),
                was: before.map(str::to_owned),
                now: Some(input.blake3.clone()),
            });
        }
    }
    for (name, hash) in &was {
        if !job.inputs.iter().any(|i| i.name == *name) {
            changes.push(Change::Input {
                name: (*name).to_owned(),
                was: Some((*hash).to_owned()),
                now: None,
            });
        }
    }
    changes
}

/// One line per change, for `runner explain`'s text output.
pub(crate) fn describe(change: &Change) -> String {
    let short = |h: &Option<String>| match h {
        Some(h) => h.get(..12).unwrap_or(h).to_owned(),
        None => "absent".to_owned(),
    };
    // Strings without their JSON quotes; an absent setting as `unset`.
    let plain = |v: &Value| match v {
        Value::String(s) => s.clone(),
        Value::Null => "unset".to_owned(),
        other => other.to_string(),
    };
    match change {
        Change::Input { name, was, now } => match (was, now) {
            (None, _) => format!("input {name} added (blake3 {})", short(now)),
            (_, None) => format!("input {name} removed"),
            _ => format!(
                "input {name} changed: blake3 {} → {}",
                short(was),
                short(now)
            ),
        },
        Change::Model { was, now } => format!("model: {} → {}", plain(was), plain(now)),
        Change::Setting { name, was, now } => {
            format!("setting {name}: {} → {}", plain(was), plain(now))
        }
        Change::Skill { name, was, now } => match (was, now) {
            (None, _) => format!("skill {name} added"),
            (_, None) => format!("skill {name} removed"),
            _ => format!("skill {name} changed: {} → {}", short(was), short(now)),
        },
        Change::Param { name, was, now } => match (was, now) {
            (None, Some(v)) => format!("param {name} added: {v}"),
            (Some(_), None) => format!("param {name} removed"),
            (Some(w), Some(v)) => format!("param {name}: {w} → {v}"),
            (None, None) => format!("param {name}"),
        },
        Change::System => "system prompt changed".to_owned(),
        Change::Turn { turn: 1 } => "prompt text changed".to_owned(),
        Change::Turn { turn } => format!("follow-up turn {turn} changed"),
        Change::FingerprintScheme { was_runner } => {
            format!("the runner's fingerprint scheme changed (last run by runner {was_runner})")
        }
    }
}

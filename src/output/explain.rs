//! Why a job would run: how it ended the last time it ran (its line in the run history),
//! then its planned fingerprint's parts compared, one by one, with the `job.json` its job
//! folder holds (docs/output.md §2, §4, §4.1). Pure: the caller reads the files.
//!
//! `job.json` holds every part the fingerprint hashes (settings, system, turns, inputs'
//! names and BLAKE3, expect), so a difference in the fingerprint is always one of these
//! parts, or, when every part is equal, the runner's fingerprint scheme. The system text as
//! sent is derived from parts compared on their own (the manifest's `system`, the inputs'
//! names and sizes, the expect entries), so only the manifest's own text counts as the
//! system prompt changing.

use serde::Serialize;
use serde_json::Value;

use super::last_run::LastRun;
use super::records::JobRecord;
use crate::plan::PlannedJob;
use crate::status::JobStatus;

/// The verdict on one job.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub(crate) struct Explanation {
    /// `<manifest-stem>/<job-name>`.
    pub job: String,
    /// `fresh` or `to-run`.
    pub status: &'static str,
    /// `fresh`, `never-ran`, `failed-last-time`, `interrupted-last-time`,
    /// `not-started-last-time`, `changed` or `unreadable`.
    pub reason: &'static str,
    /// The job's line in the newest recorded run that did not skip it as fresh.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_run: Option<LastRun>,
    /// The job folder holds a success (kept when a later attempt went wrong).
    #[serde(skip)]
    pub kept_success: bool,
    /// What differs from the last run, in fingerprint order (also for a failed job).
    pub changes: Vec<Change>,
    /// The last run's error (when it went wrong) or why `job.json` could not be read.
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
    /// The manifest's own `system` text (the runner's addition, derived from the inputs and
    /// the expect entries, is compared through those parts).
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
    /// An `expect` entry added, removed or given another `min` or `min_size`: `was` and
    /// `now` are `min N[, min_size B]`, absent for an entry added or removed.
    Expect {
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
    explain_record(job, record.as_ref(), None)
}

/// Compares `job` with its previous `job.json` (`None`: there is none), after `last`, its
/// line in the newest run that did not skip it: a line that went wrong (failed,
/// interrupted, not started) comes first, since the job folder may still hold the success
/// before it, or nothing.
pub(crate) fn explain_record(
    job: &PlannedJob,
    previous: Option<&JobRecord<'_>>,
    last: Option<&LastRun>,
) -> Explanation {
    // A line older than the record (its run's end before the job's: a later run that was
    // killed before writing its record) says nothing about the record.
    let last = last.filter(|l| {
        previous
            .and_then(|p| p.finished_at)
            .is_none_or(|f| f <= l.finished_at)
    });
    let kept_success = previous.is_some_and(JobRecord::succeeded);
    let verdict = |status, reason, changes, detail| Explanation {
        job: job.id.clone(),
        status,
        reason,
        last_run: last.cloned(),
        kept_success,
        changes,
        detail,
    };
    let wrong = last.filter(|l| l.went_wrong());
    let Some(prev) = previous else {
        return match wrong {
            Some(l) => verdict("to-run", went_wrong(l), Vec::new(), l.error.clone()),
            None => verdict("to-run", "never-ran", Vec::new(), None),
        };
    };
    let changes = changes(job, prev);
    let same = prev.fingerprint.as_deref() == Some(job.fingerprint.as_str());
    if !prev.succeeded() {
        let detail = wrong
            .and_then(|l| l.error.clone())
            .or_else(|| error_of(prev));
        let reason = wrong.map_or("failed-last-time", went_wrong);
        return verdict("to-run", reason, changes, detail);
    }
    let detail = wrong.and_then(|l| l.error.clone());
    if same {
        return verdict("fresh", "fresh", Vec::new(), detail);
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
    verdict(
        "to-run",
        wrong.map_or("changed", went_wrong),
        changes,
        detail,
    )
}

/// The reason for a last run that went wrong.
fn went_wrong(last: &LastRun) -> &'static str {
    match last.status {
        JobStatus::Interrupted => "interrupted-last-time",
        JobStatus::NotStarted => "not-started-last-time",
        _ => "failed-last-time",
    }
}

/// `<kind>: <message>` of a record's error.
fn error_of(prev: &JobRecord<'_>) -> Option<String> {
    let error = prev.error.as_ref()?;
    Some(format!(
        "{}: {}",
        error.kind?.as_str(),
        error.message.as_deref()?
    ))
}

/// A `job.json` that exists but does not parse: the job runs again.
pub(crate) fn unreadable(job: &PlannedJob, why: String, last: Option<&LastRun>) -> Explanation {
    Explanation {
        job: job.id.clone(),
        status: "to-run",
        reason: "unreadable",
        last_run: last.cloned(),
        kept_success: false,
        changes: Vec::new(),
        detail: Some(why),
    }
}

fn changes(job: &PlannedJob, prev: &JobRecord<'_>) -> Vec<Change> {
    let mut was_settings = prev.settings.to_json();
    // The manifest's own system text: its own part below, not a setting.
    let was_system = was_settings
        .as_object_mut()
        .and_then(|s| s.remove("system"))
        .unwrap_or(Value::Null);
    let mut changes = setting_changes(job, &was_settings);
    if was_system.as_str() != job.settings.system.as_deref() {
        changes.push(Change::System);
    }
    let was_turns = prev.turns.as_deref().unwrap_or_default();
    for turn in 0..was_turns.len().max(job.turns.len()) {
        if was_turns.get(turn) != job.turns.get(turn) {
            changes.push(Change::Turn { turn: turn + 1 });
        }
    }
    changes.extend(input_changes(job, prev));
    changes.extend(expect_changes(job, prev));
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
    let was: Vec<((String, String), String)> = prev
        .skills
        .iter()
        .map(|s| match (&s.name, &s.blake3) {
            (Some(name), Some(hash)) => ((s.source.clone(), name.clone()), hash.clone()),
            _ => ((s.source.clone(), s.skill_id.clone()), s.version.clone()),
        })
        .collect();
    let now: Vec<((String, String), String)> = job
        .skills
        .iter()
        .map(|s| {
            let (source, id, version) = s.key();
            ((source.to_owned(), id.to_owned()), version.to_owned())
        })
        .collect();
    keyed(&was, &now)
        .into_iter()
        .map(|((_, name), was, now)| Change::Skill { name, was, now })
        .collect()
}

/// (key, was, now): `was` or `now` absent for a key added or removed.
type Keyed<K> = (K, Option<String>, Option<String>);

/// Two lists of (key, value) compared by key: each key now whose value differs (or that is
/// new), in order, then each key gone.
fn keyed<K: PartialEq + Clone>(was: &[(K, String)], now: &[(K, String)]) -> Vec<Keyed<K>> {
    let find =
        |list: &[(K, String)], key: &K| list.iter().find(|(k, _)| k == key).map(|(_, v)| v.clone());
    let mut changes = Vec::new();
    for (key, value) in now {
        let before = find(was, key);
        if before.as_ref() != Some(value) {
            changes.push((key.clone(), before, Some(value.clone())));
        }
    }
    for (key, value) in was {
        if find(now, key).is_none() {
            changes.push((key.clone(), Some(value.clone()), None));
        }
    }
    changes
}

/// The settings as recorded against the planned ones, key by key, so a key only an older
/// runner wrote shows as set then and unset now.
fn setting_changes(job: &PlannedJob, was: &Value) -> Vec<Change> {
    // Serialising the settings struct cannot fail.
    let mut now = serde_json::to_value(&job.settings).unwrap_or_default();
    if let Some(now) = now.as_object_mut() {
        now.remove("system");
    }
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

/// `expect` entries by name, each as `min N[, min_size B]`.
fn expect_changes(job: &PlannedJob, prev: &JobRecord<'_>) -> Vec<Change> {
    let words = |min: u32, min_size: Option<u64>| match min_size {
        Some(b) => format!("min {min}, min_size {b}"),
        None => format!("min {min}"),
    };
    let was: Vec<(String, String)> = prev
        .expect
        .iter()
        .flatten()
        .map(|e| (e.name.to_string(), words(e.min, e.min_size)))
        .collect();
    let now: Vec<(String, String)> = job
        .deliverables
        .iter()
        .flat_map(|d| &d.expect)
        .map(|e| (e.name.clone(), words(e.min, e.min_size)))
        .collect();
    keyed(&was, &now)
        .into_iter()
        .map(|(name, was, now)| Change::Expect { name, was, now })
        .collect()
}

/// Inputs by name (names are unique within a job).
fn input_changes(job: &PlannedJob, prev: &JobRecord<'_>) -> Vec<Change> {
    let was: Vec<(String, String)> = prev
        .inputs
        .iter()
        .flatten()
        .filter_map(|i| {
            Some((
                i.name.as_deref()?.to_owned(),
                i.blake3.as_deref()?.to_owned(),
            ))
        })
        .collect();
    let now: Vec<(String, String)> = job
        .inputs
        .iter()
        .map(|i| (i.name.clone(), i.blake3.clone()))
        .collect();
    keyed(&was, &now)
        .into_iter()
        .map(|(name, was, now)| Change::Input { name, was, now })
        .collect()
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
        Change::Expect { name, was, now } => match (was, now) {
            (None, _) => format!("expect {name} added"),
            (_, None) => format!("expect {name} removed"),
            (Some(w), Some(n)) => format!("expect {name}: {w} → {n}"),
        },
        Change::Param { name, was, now } => match (was, now) {
            (None, Some(v)) => format!("param {name} added: {v}"),
            (Some(_), None) => format!("param {name} removed"),
            (Some(w), Some(v)) => format!("param {name}: {w} → {v}"),
            (None, None) => format!("param {name}"),
        },
        Change::System => "system text changed (the manifest's `system`)".to_owned(),
        Change::Turn { turn: 1 } => "prompt text changed".to_owned(),
        Change::Turn { turn } => format!("follow-up turn {turn} changed"),
        Change::FingerprintScheme { was_runner } => {
            format!("the runner's fingerprint scheme changed (last run by runner {was_runner})")
        }
    }
}

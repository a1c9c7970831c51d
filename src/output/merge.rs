//! Many machines, one night (docs/output.md §6.5): the records `run-shard-K-of-N.json` the
//! shards of one night left in a shared output tree, made into the night's one record. Pure
//! but for reading the records; `commands/merge.rs` locks, writes and decides when.

use std::collections::{BTreeMap, BTreeSet};
use std::io;

use camino::Utf8Path;

use super::night::{NightKeys, ShardPart};
use super::outcome::{Counts, JobLine, RunCost, RunError, RunSummary, UploadStats};

/// A night id the runner derived from the plan (no `--night`) starts so; such a night is
/// also bounded in time ([`DERIVED_WINDOW`]), since the same manifests and inputs give the
/// same id every night.
pub(crate) const DERIVED_PREFIX: &str = "plan-";

/// How long before the newest record of a derived night another shard's record of it may
/// have started and still count as the same night.
pub(crate) const DERIVED_WINDOW: jiff::SignedDuration = jiff::SignedDuration::from_hours(12);

/// One shard's record as found in the output tree.
#[derive(Clone, Debug)]
pub(crate) struct ShardRecord {
    pub k: u64,
    pub n: u64,
    pub summary: RunSummary,
}

/// The records of one night: which shards have one, and which do not.
#[derive(Debug)]
pub(crate) struct Night {
    pub id: String,
    pub n: u64,
    /// By K.
    pub present: Vec<ShardRecord>,
    /// K of each shard with no record of this night.
    pub missing: Vec<u64>,
}

#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub(crate) enum PickError {
    #[error(
        "no shard record (run-shard-K-of-N.json) names a night; run `runner run --shard K/N` first"
    )]
    NoRecords,
    #[error("no shard record is of night `{0}`")]
    NoSuchNight(String),
}

impl Night {
    /// The missing shards as `K/N`.
    pub(crate) fn night_missing(&self) -> Vec<String> {
        self.missing
            .iter()
            .map(|k| format!("{k}/{}", self.n))
            .collect()
    }
}

/// `K` and `N` of a record named `run-shard-K-of-N.json`.
pub(crate) fn parse_record_name(name: &str) -> Option<(u64, u64)> {
    let (k, n) = name
        .strip_prefix("run-shard-")?
        .strip_suffix(".json")?
        .split_once("-of-")?;
    let (k, n) = (k.parse().ok()?, n.parse().ok()?);
    (1..=n).contains(&k).then_some((k, n))
}

/// Every shard record in `out`. One that cannot be read or parsed is skipped with a
/// warning: its shard then counts as missing, never as done.
pub(crate) fn read_records(out: &Utf8Path) -> io::Result<Vec<ShardRecord>> {
    let mut records = Vec::new();
    for entry in fs_err::read_dir(out)? {
        let entry = entry?;
        let Some((k, n)) = entry.file_name().to_str().and_then(parse_record_name) else {
            continue;
        };
        let path = out.join(entry.file_name().to_string_lossy().as_ref());
        let parsed = fs_err::read(&path)
            .map_err(|e| e.to_string())
            .and_then(|b| serde_json::from_slice::<RunSummary>(&b).map_err(|e| e.to_string()));
        match parsed {
            Ok(summary) => records.push(ShardRecord { k, n, summary }),
            Err(e) => tracing::warn!("skipping {path}: {e}"),
        }
    }
    Ok(records)
}

/// The night `night` names (by default the night of the newest record), with its N from
/// that night's newest record, and the records of it, one per shard.
pub(crate) fn pick(records: Vec<ShardRecord>, night: Option<&str>) -> Result<Night, PickError> {
    let newest = records
        .iter()
        .filter(|r| match (&r.summary.night.night, night) {
            (Some(id), Some(wanted)) => id == wanted,
            (Some(_), None) => true,
            (None, _) => false,
        })
        .max_by_key(|r| r.summary.started_at)
        .ok_or_else(|| match night {
            Some(id) => PickError::NoSuchNight(id.to_owned()),
            None => PickError::NoRecords,
        })?;
    let id = newest.summary.night.night.clone().unwrap_or_default();
    let (n, anchor) = (newest.n, newest.summary.started_at);
    let derived = id.starts_with(DERIVED_PREFIX);
    let mut present: BTreeMap<u64, ShardRecord> = BTreeMap::new();
    for r in records {
        let same = r.n == n
            && r.summary.night.night.as_deref() == Some(id.as_str())
            && (!derived || anchor.duration_since(r.summary.started_at) <= DERIVED_WINDOW);
        if same {
            present.insert(r.k, r);
        }
    }
    let missing = (1..=n).filter(|k| !present.contains_key(k)).collect();
    Ok(Night {
        id,
        n,
        present: present.into_values().collect(),
        missing,
    })
}

/// The night's record: every shard's lines once (a line every shard writes, such as a
/// `for_each` entry that matched nothing, counted once), counts of those lines, usage,
/// uploads and cost summed, from the first start to the last finish, and the worst exit
/// code of its shards (docs/exit-codes.md §1.3); a missing shard makes it at least 1.
pub(crate) fn merge(night: &Night, run_id: String) -> RunSummary {
    let parts = || night.present.iter().map(|r| &r.summary);
    let mut lines: BTreeMap<(String, String, String), JobLine> = BTreeMap::new();
    let mut skipped = BTreeMap::new();
    let (mut uploads, mut usage) = (
        UploadStats::default(),
        crate::api::messages::Usage::default(),
    );
    let mut cost = RunCost::default();
    for s in parts() {
        for line in &s.jobs {
            let key = (line.manifest.clone(), line.job.clone(), line.dir.clone());
            lines.entry(key).or_insert_with(|| line.clone());
        }
        for entry in &s.skipped {
            skipped
                .entry(entry.dir.clone())
                .or_insert_with(|| entry.clone());
        }
        uploads.uploaded += s.uploads.uploaded;
        uploads.reused += s.uploads.reused;
        uploads.bytes_uploaded += s.uploads.bytes_uploaded;
        usage.add(&s.usage);
        cost.usd += s.cost.usd;
        if let Some(b) = s.cost.budget_usd {
            cost.budget_usd = Some(cost.budget_usd.unwrap_or(0.0) + b);
        }
    }
    let jobs: Vec<JobLine> = lines.into_values().collect();
    let missing = night.night_missing();
    let worst = parts().map(|s| s.exit_code).max_by_key(|c| severity(*c));
    let exit_code = match worst {
        Some(c) if night.missing.is_empty() || severity(c) >= severity(1) => c,
        _ => 1,
    };
    RunSummary {
        run_id,
        runner_version: env!("CARGO_PKG_VERSION").to_owned(),
        started_at: parts().map(|s| s.started_at).min().unwrap_or_default(),
        finished_at: parts().map(|s| s.finished_at).max().unwrap_or_default(),
        exit_code,
        counts: Counts::of(&jobs),
        uploads,
        usage,
        cost,
        jobs,
        error: night_error(night, &missing),
        skipped: skipped.into_values().collect(),
        notifications: parts().flat_map(|s| s.notifications.clone()).collect(),
        night: NightKeys {
            night: Some(night.id.clone()),
            shards: night
                .present
                .iter()
                .map(|r| ShardPart {
                    shard: format!("{}/{}", r.k, r.n),
                    run_id: r.summary.run_id.clone(),
                    exit_code: r.summary.exit_code,
                    started_at: r.summary.started_at,
                    finished_at: r.summary.finished_at,
                })
                .collect(),
            missing_shards: missing,
        },
    }
}

/// Which of two exit codes is worse for a night (docs/exit-codes.md §1.3): a shard that
/// ended in setup (2) ran none of its jobs, worse than an interrupted one (130), worse than
/// a failed job (1), worse than success; a code the runner does not make is worst.
pub(crate) fn severity(code: u8) -> u8 {
    match code {
        0 => 0,
        1 => 1,
        130 => 2,
        2 => 3,
        _ => 4,
    }
}

/// What the night's record says went wrong beyond its jobs: the missing shards, and the
/// error of each shard that ended in setup.
fn night_error(night: &Night, missing: &[String]) -> Option<RunError> {
    let mut parts = Vec::new();
    if !missing.is_empty() {
        parts.push(format!(
            "night `{}`: {} (no {} of this night): its jobs did not run or are not recorded",
            night.id,
            missing_list(missing),
            night
                .missing
                .iter()
                .map(|k| format!("run-shard-{k}-of-{}.json", night.n))
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    for r in &night.present {
        if let Some(e) = &r.summary.error {
            parts.push(format!("shard {}/{}: {}", r.k, r.n, e.message));
        }
    }
    (!parts.is_empty()).then(|| RunError {
        message: parts.join("; "),
    })
}

/// `shard 2/3 is missing` or `shards 1/3, 3/3 are missing`.
pub(crate) fn missing_list(missing: &[String]) -> String {
    match missing {
        [one] => format!("shard {one} is missing"),
        many => format!("shards {} are missing", many.join(", ")),
    }
}

/// The derived night id (no `--night`): the plan's jobs (id and fingerprint, in id order),
/// the `--only` patterns and N, hashed. Shards of one command line over the same manifests
/// and inputs agree on it without talking to each other.
pub(crate) fn derived_night<'a>(
    jobs: impl Iterator<Item = (&'a str, &'a str)>,
    only: &[String],
    n: u64,
) -> String {
    let jobs: BTreeSet<(&str, &str)> = jobs.collect();
    let mut h = blake3::Hasher::new();
    h.update(&n.to_le_bytes());
    for (id, fingerprint) in jobs {
        h.update(id.as_bytes())
            .update(b"\0")
            .update(fingerprint.as_bytes())
            .update(b"\n");
    }
    for pattern in only {
        h.update(b"only\0").update(pattern.as_bytes()).update(b"\n");
    }
    format!("{DERIVED_PREFIX}{}", &h.finalize().to_hex()[..16])
}

#[cfg(test)]
mod tests;

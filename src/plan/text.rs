//! The human-readable form of a [`Plan`], as `runner plan` prints it.

use std::fmt::Write;

use std::collections::BTreeSet;

use super::Plan;
use crate::units::{bytes, plural};

/// What local state says about a plan: which jobs are fresh, which uploads are cached.
#[derive(Debug, Default)]
pub struct Status {
    pub fresh: BTreeSet<String>,
    /// (BLAKE3, name) of uploads the cache has an id for.
    pub cached: BTreeSet<(String, String)>,
}

impl Status {
    fn job(&self, id: &str) -> &'static str {
        if self.fresh.contains(id) {
            "fresh"
        } else {
            "to-run"
        }
    }

    fn upload(&self, blake3: &str, name: &str) -> &'static str {
        if self.cached.contains(&(blake3.to_owned(), name.to_owned())) {
            "cached"
        } else {
            "to-upload"
        }
    }
}

/// The plan as JSON, each job and upload with its `status`.
pub fn to_json(plan: &Plan, status: &Status) -> serde_json::Value {
    let mut value = serde_json::to_value(plan).unwrap_or_default();
    for (job, planned) in value["jobs"]
        .as_array_mut()
        .into_iter()
        .flatten()
        .zip(&plan.jobs)
    {
        job["status"] = status.job(&planned.id).into();
    }
    for (upload, planned) in value["uploads"]
        .as_array_mut()
        .into_iter()
        .flatten()
        .zip(&plan.uploads)
    {
        upload["status"] = status.upload(&planned.blake3, &planned.name).into();
    }
    value
}

pub fn render(plan: &Plan, status: &Status) -> String {
    let mut s = String::new();
    let mut manifest = None;
    for job in &plan.jobs {
        if manifest != Some(&job.manifest) {
            manifest = Some(&job.manifest);
            let _ = writeln!(s, "{}", job.manifest);
        }
        let _ = writeln!(
            s,
            "  job {}  {}  ({}, {}, api {}, {} turn{})",
            job.id,
            status.job(&job.id),
            job.settings.model,
            job.settings.tool,
            job.settings.api_version,
            job.turns.len(),
            plural(job.turns.len())
        );
        let _ = writeln!(s, "    fingerprint {}", short(&job.fingerprint));
        if let Some(d) = &job.deliverables {
            let entries: Vec<String> = d.expect.iter().map(expect_entry).collect();
            let _ = writeln!(
                s,
                "    expect {}  (repair turns: {})",
                entries.join(", "),
                d.repair_turns
            );
        }
        for input in &job.inputs {
            let _ = writeln!(
                s,
                "    input {}  {}  blake3 {}",
                input.path,
                bytes(input.size),
                short(&input.blake3)
            );
        }
    }
    let _ = writeln!(
        s,
        "\n{} job{} ({} fresh, {} to run), {} unique upload{} ({}; {} cached)",
        plan.jobs.len(),
        plural(plan.jobs.len()),
        status.fresh.len(),
        plan.jobs.len() - status.fresh.len(),
        plan.uploads.len(),
        plural(plan.uploads.len()),
        bytes(plan.upload_bytes()),
        status.cached.len(),
    );
    for u in &plan.uploads {
        let _ = writeln!(
            s,
            "  upload {}  {}  {}  blake3 {}  used by {} job{}",
            u.name,
            status.upload(&u.blake3, &u.name),
            bytes(u.size),
            short(&u.blake3),
            u.jobs.len(),
            plural(u.jobs.len())
        );
    }
    s
}

/// `*.png` (min 2, each ≥ 1.0 KiB), as `runner plan` shows an `expect` entry.
fn expect_entry(e: &crate::manifest::Expectation) -> String {
    let mut terms = Vec::new();
    if e.is_glob() && e.min > 1 {
        terms.push(format!("min {}", e.min));
    }
    if let Some(size) = e.min_size {
        terms.push(format!("each ≥ {}", bytes(size)));
    }
    if terms.is_empty() {
        e.name.clone()
    } else {
        format!("{} ({})", e.name, terms.join(", "))
    }
}

/// The first 16 hex digits are plenty to tell hashes apart on screen; `--json` has all.
fn short(hash: &str) -> &str {
    let hex = hash.strip_prefix("blake3:").unwrap_or(hash);
    &hex[..hex.len().min(16)]
}

//! The human-readable form of a [`Plan`], as `runner plan` prints it.

use std::fmt::Write;

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use super::{Plan, PlannedJob};
use crate::units::{bytes, plural, usd as usd_text};

/// What local state says about a plan: which jobs are fresh, which uploads are cached,
/// and what each job to run is expected to cost.
#[derive(Debug, Default)]
pub(crate) struct Status {
    pub fresh: BTreeSet<String>,
    /// (BLAKE3, name) of uploads the cache has an id for.
    pub cached: BTreeSet<(String, String)>,
    /// Job id → what is known of its cost (jobs to run only).
    pub costs: BTreeMap<String, JobCost>,
}

/// What `runner plan` knows of a job's cost.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum JobCost {
    /// `cost.usd` of its previous `job.json`.
    Last { usd: f64 },
    /// From the token-counting endpoint (`--estimate`): the first request's input, and
    /// that request's worst case (every input token at the dearest input price plus
    /// `max_tokens` of output per model call, docs/api.md §11.1). Continuations and
    /// follow-ups come on top.
    Estimate {
        input_tokens: u64,
        first_request_usd: f64,
        worst_case_usd: f64,
    },
    /// `--estimate` asked, and the token-counting endpoint could not count it: why.
    Uncounted { reason: String },
}

impl Status {
    /// The cost expected of the jobs to run: last known costs, and the estimated first
    /// requests; with how many jobs to run have neither.
    pub(crate) fn expected(&self, plan: &Plan) -> (f64, usize) {
        let mut total = 0.0;
        let mut unknown = 0;
        for job in plan.jobs.iter().filter(|j| !self.fresh.contains(&j.id)) {
            match self.costs.get(&job.id) {
                Some(JobCost::Last { usd }) => total += usd,
                Some(JobCost::Estimate {
                    first_request_usd, ..
                }) => total += first_request_usd,
                Some(JobCost::Uncounted { .. }) | None => unknown += 1,
            }
        }
        (total, unknown)
    }
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
pub(crate) fn to_json(plan: &Plan, status: &Status) -> serde_json::Value {
    let mut value = serde_json::to_value(plan).unwrap_or_default();
    for (job, planned) in value["jobs"]
        .as_array_mut()
        .into_iter()
        .flatten()
        .zip(&plan.jobs)
    {
        job["status"] = status.job(&planned.id).into();
        if let Some(cost) = status.costs.get(&planned.id) {
            job["cost"] = serde_json::to_value(cost).unwrap_or_default();
        }
    }
    // Only when an entry has a matrix (docs/manifest.md "Matrices"): other plans are
    // as they were.
    let counts = matrices(plan, status);
    if !counts.is_empty() {
        value["matrices"] = serde_json::to_value(counts).unwrap_or_default();
    }
    let (expected, unknown) = status.expected(plan);
    value["cost"] = serde_json::json!({
        "expected_usd": expected,
        "jobs_without_estimate": unknown,
    });
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

pub(crate) fn render(plan: &Plan, status: &Status) -> String {
    let mut s = String::new();
    let mut manifest = None;
    for job in &plan.jobs {
        if manifest != Some(&job.manifest) {
            manifest = Some(&job.manifest);
            let _ = writeln!(s, "{}", job.manifest);
        }
        render_job(&mut s, job, status);
    }
    for e in &plan.empty {
        let then = if e.allow_empty {
            "skipped (allow_empty)"
        } else {
            "`run` fails it (no_inputs)"
        };
        let _ = writeln!(
            s,
            "{}\n  entry {}  0 jobs: for_each `{}` matches no file; {then}",
            e.manifest,
            e.dir(),
            e.for_each
        );
    }
    let counts = matrices(plan, status);
    if !counts.is_empty() {
        s.push('\n');
    }
    for m in &counts {
        let _ = writeln!(
            s,
            "matrix {} `{}`: {} cell{}, {} job{} ({} to run), expected {}{}",
            m.manifest,
            m.entry,
            m.cells,
            plural(m.cells),
            m.jobs,
            plural(m.jobs),
            m.to_run,
            usd_text(m.expected_usd),
            match m.jobs_without_estimate {
                0 => String::new(),
                n => format!(" and {n} without an estimate"),
            }
        );
    }
    render_totals(&mut s, plan, status);
    s
}

/// A job's lines: its settings, fingerprint, deliverables, cost, skills and inputs.
fn render_job(s: &mut String, job: &PlannedJob, status: &Status) {
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
    if let Some(stale) = &job.stale {
        let _ = writeln!(s, "    stale: {stale}; `run` fails it before sending");
    }
    let _ = writeln!(s, "    fingerprint {}", short(&job.fingerprint));
    if !job.params.is_empty() {
        let params: Vec<String> = job.params.iter().map(|(k, v)| format!("{k}={v}")).collect();
        let _ = writeln!(s, "    params {}", params.join(", "));
    }
    if let Some(d) = &job.deliverables {
        let entries: Vec<String> = d.expect.iter().map(expect_entry).collect();
        let _ = writeln!(
            s,
            "    expect {}  (repair turns: {})",
            entries.join(", "),
            d.repair_turns
        );
    }
    if !status.fresh.contains(&job.id) {
        let _ = writeln!(s, "    cost {}", cost_text(status.costs.get(&job.id)));
    }
    for skill in &job.skills {
        let _ = match skill {
            crate::manifest::Skill::Folder(f) => writeln!(
                s,
                "    skill {}  folder {}  {}  blake3 {}",
                f.name,
                f.folder,
                bytes(f.size),
                short(&f.blake3)
            ),
            other => writeln!(s, "    skill {}", other.label()),
        };
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

/// One matrix entry of the plan: its cells, its jobs (cells × `for_each` matches) and what
/// those to run are expected to cost (docs/manifest.md "Matrices").
#[derive(Debug, Serialize)]
pub(crate) struct MatrixCount {
    pub manifest: String,
    pub entry: String,
    pub cells: usize,
    pub jobs: usize,
    pub to_run: usize,
    pub expected_usd: f64,
    pub jobs_without_estimate: usize,
}

/// Every matrix entry of the plan, in plan order.
pub(crate) fn matrices(plan: &Plan, status: &Status) -> Vec<MatrixCount> {
    let mut out: Vec<(MatrixCount, BTreeSet<&BTreeMap<String, String>>)> = Vec::new();
    for job in &plan.jobs {
        let Some(entry) = &job.entry else { continue };
        let manifest = job.manifest.to_string();
        let i = match out
            .iter()
            .position(|(m, _)| m.manifest == manifest && &m.entry == entry)
        {
            Some(i) => i,
            None => {
                out.push((
                    MatrixCount {
                        manifest,
                        entry: entry.clone(),
                        cells: 0,
                        jobs: 0,
                        to_run: 0,
                        expected_usd: 0.0,
                        jobs_without_estimate: 0,
                    },
                    BTreeSet::new(),
                ));
                out.len() - 1
            }
        };
        let (m, cells) = &mut out[i];
        cells.insert(&job.params);
        m.cells = cells.len();
        m.jobs += 1;
        if status.fresh.contains(&job.id) {
            continue;
        }
        m.to_run += 1;
        match status.costs.get(&job.id) {
            Some(JobCost::Last { usd }) => m.expected_usd += usd,
            Some(JobCost::Estimate {
                first_request_usd, ..
            }) => m.expected_usd += first_request_usd,
            Some(JobCost::Uncounted { .. }) | None => m.jobs_without_estimate += 1,
        }
    }
    out.into_iter().map(|(m, _)| m).collect()
}

/// What a job that would run may cost, as far as the plan knows.
fn cost_text(cost: Option<&JobCost>) -> String {
    match cost {
        Some(JobCost::Last { usd }) => format!("{} (last run)", usd_text(*usd)),
        Some(JobCost::Estimate {
            input_tokens,
            first_request_usd,
            worst_case_usd,
        }) => format!(
            "{} for the first request ({input_tokens} input tokens, not counting the input files); worst case of that request {}",
            usd_text(*first_request_usd),
            usd_text(*worst_case_usd),
        ),
        Some(JobCost::Uncounted { reason }) => {
            format!("unknown (the token count failed: {reason})")
        }
        None => "unknown (no earlier run; `--estimate` asks the API)".to_owned(),
    }
}

/// The counts, the expected cost, and each unique upload.
fn render_totals(s: &mut String, plan: &Plan, status: &Status) {
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
    let (expected, unknown) = status.expected(plan);
    let _ = write!(s, "expected cost {}", usd_text(expected));
    let _ = if unknown > 0 {
        writeln!(
            s,
            " (+ {} of unknown cost)",
            crate::units::count(unknown, "job")
        )
    } else {
        writeln!(s)
    };
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

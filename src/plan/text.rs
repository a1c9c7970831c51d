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
    /// From the token-counting endpoint (`--estimate`): the first request's input, the
    /// whole conversation modelled from it (`estimate.rs`), and the first request's worst
    /// case (every input token at the dearest input price plus `max_tokens` of output per
    /// model call, docs/api.md §11.1).
    Estimate {
        input_tokens: u64,
        first_request_usd: f64,
        conversation_usd: f64,
        turns: u32,
        model_calls: u32,
        worst_case_usd: f64,
    },
    /// `--estimate` asked, and the token-counting endpoint could not count it: why.
    Uncounted { reason: String },
}

/// What the jobs to run are expected to cost, whole conversations each: the sum, and how
/// many jobs it takes from their last cost, how many it models, how many it lacks.
#[derive(Debug, Default, PartialEq, Serialize)]
pub(crate) struct Expected {
    pub expected_usd: f64,
    pub from_last_cost: usize,
    pub modelled: usize,
    pub jobs_without_estimate: usize,
}

impl Expected {
    fn add(&mut self, cost: Option<&JobCost>) {
        match cost {
            Some(JobCost::Last { usd }) => {
                self.expected_usd += usd;
                self.from_last_cost += 1;
            }
            Some(JobCost::Estimate {
                conversation_usd, ..
            }) => {
                self.expected_usd += conversation_usd;
                self.modelled += 1;
            }
            Some(JobCost::Uncounted { .. }) | None => self.jobs_without_estimate += 1,
        }
    }

    /// What the figure covers, in words (docs/exit-codes.md §2.2).
    fn covers(&self) -> String {
        let jobs = self.from_last_cost + self.modelled;
        let mut s = format!(
            "{} for {}: whole conversations, from last costs for {}, modelled for {}",
            usd_text(self.expected_usd),
            crate::units::count(jobs, "job"),
            self.from_last_cost,
            self.modelled
        );
        if self.jobs_without_estimate > 0 {
            let _ = write!(
                s,
                " (+ {} of unknown cost)",
                crate::units::count(self.jobs_without_estimate, "job")
            );
        }
        s
    }
}

impl Status {
    /// The cost expected of the jobs to run.
    pub(crate) fn expected(&self, plan: &Plan) -> Expected {
        let mut e = Expected::default();
        for job in plan.jobs.iter().filter(|j| !self.fresh.contains(&j.id)) {
            e.add(self.costs.get(&job.id));
        }
        e
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
    let expected = status.expected(plan);
    value["cost"] = serde_json::to_value(&expected).unwrap_or_default();
    value["cost"]["covers"] = "whole_conversations".into();
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
        let mut e = Expected::default();
        e.add(status.costs.get(&job.id));
        m.expected_usd += e.expected_usd;
        m.jobs_without_estimate += e.jobs_without_estimate;
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
            conversation_usd,
            turns,
            model_calls,
            worst_case_usd,
        }) => format!(
            "{} for the whole conversation (modelled: {}, {}), {} for the first request ({input_tokens} input tokens, not counting the input files); worst case of that request {}",
            usd_text(*conversation_usd),
            crate::units::count(*turns as usize, "turn"),
            crate::units::count(*model_calls as usize, "model call"),
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
    let _ = writeln!(s, "expected cost {}", status.expected(plan).covers());
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

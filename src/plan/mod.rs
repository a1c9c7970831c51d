//! Pure: resolved jobs + content hashes → [`Plan`]. Decides everything before any network
//! call: the unique upload set, each job's system prompt and turns as they will be sent,
//! its output folder, and its fingerprint. `runner plan` prints this value (`text.rs`).
//!
//! `hashing.rs` computes the content hashes (cached in the state dir); `fingerprint.rs`
//! decides when a job's earlier result still holds; `select.rs` applies `--only`;
//! `expect.rs` judges generated files against a job's deliverables.
//! `shard.rs` applies `--shard K/N`.
//! `price.rs` turns a request's `usage` into dollars; `estimate.rs` models a whole
//! conversation's cost for `plan --estimate`. `models.rs` checks the jobs' models
//! against what the Models API said of them. `request.rs` gives the parameters every
//! request of a job carries.

use std::collections::BTreeMap;

use camino::Utf8PathBuf;
use serde::Serialize;

pub(crate) mod estimate;
pub(crate) mod expect;
pub(crate) mod fingerprint;
pub(crate) mod hashing;
pub(crate) mod models;
pub(crate) mod price;
pub(crate) mod request;
pub(crate) mod select;
pub(crate) mod shard;
pub(crate) mod text;

use hashing::Hashed;

use crate::api::messages::CacheTtl;
use crate::api::prices::{ModelPrices, PriceRow, Rates};
use crate::manifest::{
    AlertRule, Deliverables, EmptyEntry, Job, RequestSettings, SettingSpans, Skill,
};

#[derive(Clone, Debug, Serialize)]
pub(crate) struct Plan {
    pub jobs: Vec<PlannedJob>,
    /// Unique by (BLAKE3, file name), sorted by name then hash.
    pub uploads: Vec<PlannedUpload>,
    /// The `for_each` entries that matched no file: no job (docs/manifest.md `allow_empty`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub empty: Vec<EmptyEntry>,
}

#[derive(Clone, Debug, Serialize)]
pub(crate) struct PlannedJob {
    /// `<manifest-stem>/<job-name>`: unique in a run, and the job's output folder.
    pub id: String,
    pub manifest: Utf8PathBuf,
    pub name: String,
    pub settings: RequestSettings,
    /// Where its settings were written in the manifest, for the model check before a run
    /// (`models.rs`); not part of the plan's output.
    #[serde(skip)]
    pub at: SettingSpans,
    /// The system prompt as sent: the manifest's `system`, then the runner's addition.
    pub system: String,
    pub turns: Vec<String>,
    pub inputs: Vec<PlannedInput>,
    pub fingerprint: String,
    /// What the job must produce (`expect`, `repair_turns`); absent when nothing.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub deliverables: Option<Deliverables>,
    /// The `alert:` thresholds on its metrics; absent when none. Not in the fingerprint.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub alerts: Vec<AlertRule>,
    /// USD per million tokens of the job's model on the day of the plan (the row of the
    /// price table in force, or the manifest's `pricing:`): `price.rates`.
    pub rates: Rates,
    /// That row in full: its period, price tier, batch factor and source.
    pub price: PriceRow,
    /// Every row the job's requests may be billed at: each is priced by the day it is sent.
    #[serde(skip)]
    pub prices: ModelPrices,
    /// Prompt caching (`cache:`); not in the fingerprint: it changes the bill, not the
    /// result (docs/output.md §4).
    pub cache: CacheTtl,
    /// The Agent Skills its container loads; absent when none.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub skills: Vec<Skill>,
    /// Set when an input is older than the job's `max_input_age` at plan time: the job
    /// fails with kind `stale_input` before anything is uploaded or sent; the message
    /// names the file and its age. Not in the fingerprint.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stale: Option<String>,
    /// Its matrix cell (docs/manifest.md "Matrices"); absent when none.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub params: BTreeMap<String, String>,
    /// The matrix entry's name as written; counted in the plan's `matrices`.
    #[serde(skip)]
    pub entry: Option<String>,
}

#[derive(Clone, Debug, Serialize)]
pub(crate) struct PlannedInput {
    pub path: String,
    pub name: String,
    pub size: u64,
    pub blake3: String,
}

#[derive(Clone, Debug, Serialize)]
pub(crate) struct PlannedUpload {
    pub blake3: String,
    pub name: String,
    pub size: u64,
    /// Where to read the bytes from (the first of possibly several identical files).
    pub source: Utf8PathBuf,
    /// Ids of the jobs that attach it.
    pub jobs: Vec<String>,
}

impl PlannedUpload {
    /// The upload's content: (BLAKE3, name).
    pub(crate) fn content(&self) -> (String, String) {
        (self.blake3.clone(), self.name.clone())
    }
}

impl PlannedInput {
    /// The input's content: (BLAKE3, name), as its upload has it.
    pub(crate) fn content(&self) -> (String, String) {
        (self.blake3.clone(), self.name.clone())
    }
}

/// Builds the plan. `hashes` must hold every input's path (`commands/plan.rs` hashes them
/// all); `today` picks the price rows shown (each request is priced by its own day); `now`
/// judges the inputs' ages against `max_input_age`.
pub(crate) fn build(
    jobs: &[Job],
    hashes: &BTreeMap<Utf8PathBuf, Hashed>,
    today: jiff::civil::Date,
    now: std::time::SystemTime,
) -> Plan {
    let mut uploads: BTreeMap<(String, String), PlannedUpload> = BTreeMap::new();
    let mut planned = Vec::with_capacity(jobs.len());
    for job in jobs {
        let id = format!("{}/{}", job.manifest_stem, job.name);
        let inputs: Vec<PlannedInput> = job
            .inputs
            .iter()
            .map(|f| {
                let h = hashes.get(&f.abs);
                PlannedInput {
                    path: f.rel.clone(),
                    name: f.name.clone(),
                    size: h.map_or(f.size, |h| h.size),
                    blake3: h.map(|h| h.blake3.clone()).unwrap_or_default(),
                }
            })
            .collect();
        for (input, file) in inputs.iter().zip(&job.inputs) {
            let entry = uploads
                .entry((input.name.clone(), input.blake3.clone()))
                .or_insert_with(|| PlannedUpload {
                    blake3: input.blake3.clone(),
                    name: input.name.clone(),
                    size: input.size,
                    source: file.abs.clone(),
                    jobs: Vec::new(),
                });
            entry.jobs.push(id.clone());
        }
        let mut system = system_prompt(job.settings.system.as_deref(), &inputs);
        if let Some(d) = &job.deliverables {
            system.push_str(&expect::prompt_addition(d));
        }
        let fingerprint = fingerprint::fingerprint(
            &job.settings,
            &system,
            &job.turns,
            &inputs,
            job.deliverables.as_ref(),
            &job.skills,
            &job.params,
        );
        planned.push(PlannedJob {
            id,
            manifest: job.manifest.clone(),
            name: job.name.clone(),
            settings: job.settings.clone(),
            at: job.at.clone(),
            system,
            turns: job.turns.clone(),
            inputs,
            fingerprint,
            deliverables: job.deliverables.clone(),
            alerts: job.alerts.clone(),
            rates: job.prices.on(today).rates,
            price: job.prices.on(today).clone(),
            prices: job.prices.clone(),
            cache: job.cache,
            skills: job.skills.clone(),
            stale: stale_input(job, now),
            params: job.params.clone(),
            entry: job.entry.clone(),
        });
    }
    Plan {
        jobs: planned,
        uploads: uploads.into_values().collect(),
        empty: Vec::new(),
    }
}

/// The first input older than the job's `max_input_age` at `now`, in words: which file,
/// how old, and the limit. A file the clock says is from the future is not stale.
fn stale_input(job: &Job, now: std::time::SystemTime) -> Option<String> {
    let limit = job.settings.max_input_age?;
    job.inputs.iter().find_map(|f| {
        let age = now.duration_since(f.modified?).ok()?;
        (age > limit).then(|| {
            format!(
                "input `{}` is {} old, older than max_input_age {}",
                f.rel,
                crate::units::age(age),
                crate::units::age(limit)
            )
        })
    })
}

/// The runner's rule every job shares: deliverables go at the top level of `$OUTPUT_DIR`,
/// the only place from which the API returns files (docs/api.md §0.4, §3.5).
const DELIVERABLES_RULE: &str = "Save every deliverable (plots, tables, reports) as a file at \
     the top level of $OUTPUT_DIR from a bash command, e.g. `cp plot.png \"$OUTPUT_DIR/\"`: \
     only files there are returned to the user; files saved anywhere else are lost.";

/// The system text the fingerprint covers and `job.json` records: the manifest's `system`,
/// which files are attached, and the deliverables rule, in the order runners before 0.2
/// sent them as one system prompt. Its wording is kept so results made then stay fresh;
/// requests send the same text split at the cache breakpoint ([`shared_system`],
/// [`job_note`]; docs/api.md §3.11, docs/output.md §4).
pub(crate) fn system_prompt(user: Option<&str>, inputs: &[PlannedInput]) -> String {
    let mut s = String::new();
    if let Some(user) = user.filter(|u| !u.trim().is_empty()) {
        s.push_str(user.trim_end());
        s.push_str("\n\n");
    }
    s.push_str(&attached_list(inputs));
    s.push('\n');
    s.push_str(DELIVERABLES_RULE);
    s
}

fn attached_list(inputs: &[PlannedInput]) -> String {
    if inputs.is_empty() {
        return "No files are attached to this conversation.\n".to_owned();
    }
    let mut s =
        String::from("These files are attached and available in your code execution container:\n");
    for i in inputs {
        s.push_str(&format!("- {} ({} bytes)\n", i.name, i.size));
    }
    s
}

/// What a request sends as `system`: the manifest's `system` and the deliverables rule,
/// byte-identical for every job with the same `system`, so one job's cache write is read by
/// the others (the breakpoint after it, docs/api.md §3.11).
pub(crate) fn shared_system(user: Option<&str>) -> String {
    match user.filter(|u| !u.trim().is_empty()) {
        Some(user) => format!("{}\n\n{DELIVERABLES_RULE}", user.trim_end()),
        None => DELIVERABLES_RULE.to_owned(),
    }
}

/// What is the job's own, sent first in its first user message, after the breakpoint:
/// which files are attached, and the deliverables it must save (`expect`).
pub(crate) fn job_note(inputs: &[PlannedInput], deliverables: Option<&Deliverables>) -> String {
    let mut s = attached_list(inputs);
    if let Some(d) = deliverables {
        s.push_str(expect::prompt_addition(d).trim_start_matches('\n'));
    }
    s.trim_end().to_owned()
}

impl Plan {
    pub(crate) fn upload_bytes(&self) -> u64 {
        self.uploads.iter().map(|u| u.size).sum()
    }

    /// The uploads that `jobs` attach.
    pub(crate) fn uploads_for(&self, jobs: &[&PlannedJob]) -> Vec<&PlannedUpload> {
        let ids: std::collections::BTreeSet<&str> = jobs.iter().map(|j| j.id.as_str()).collect();
        self.uploads
            .iter()
            .filter(|u| u.jobs.iter().any(|id| ids.contains(id.as_str())))
            .collect()
    }
}

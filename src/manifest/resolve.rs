//! From parsed manifests to concrete jobs: reads each manifest and its prompt files,
//! applies `defaults`, expands `for_each` (with `inputs.rs` for globs and `template.rs` for
//! placeholders) and checks the meaning of every entry, collecting all problems of all
//! manifests as [`Diagnostic`]s. Request settings are checked in `settings.rs`, names and
//! inputs in `job_inputs.rs`.
//!
//! The result holds no YAML types: after this, nothing looks at the manifest again.

use std::collections::BTreeMap;

use camino::{Utf8Path, Utf8PathBuf};
use serde::Serialize;
use serde_saphyr::Spanned;

use super::alert_rules::AlertRule;
use super::deliverables::Deliverables;
use super::diagnostic::{Diagnostic, Pos};
use super::inputs::{self, Expander, InputFile};
use super::schema::{self, JobSpec, Manifest, Settings};
use super::template::{self, CellVars, FileVars, Vars};
use crate::api::messages::{CacheTtl, ThinkingDisplay, ThinkingMode, ThinkingParam};

/// `OUT/runs/`: the run history (docs/output.md §12), so no manifest may have this stem.
pub(crate) const RUN_HISTORY: &str = "runs";
use crate::api::prices::ModelPrices;

pub(crate) const DEFAULT_MAX_TOKENS: u32 = 16_000;
pub(crate) const DEFAULT_MAX_CONTINUATIONS: u32 = 20;

/// Request settings of one job after `defaults` are applied.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub(crate) struct RequestSettings {
    pub model: String,
    pub max_tokens: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub system: Option<String>,
    pub api_version: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub temperature: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub top_p: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub top_k: Option<u32>,
    /// `thinking: {budget_tokens}`; kept under its old name so jobs that had it keep their
    /// fingerprint.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub thinking_budget_tokens: Option<u32>,
    /// `thinking: adaptive | disabled | between_tools` (never with a budget).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub thinking: Option<ThinkingMode>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub thinking_display: Option<ThinkingDisplay>,
    /// `output_config.effort`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub effort: Option<String>,
    pub tool: String,
    pub max_continuations: u32,
    /// The manifest's `timeout`: the longest the whole conversation may take. Not sent and
    /// not part of the fingerprint: it bounds the run, it does not shape the result.
    #[serde(skip)]
    pub timeout: Option<std::time::Duration>,
    /// The manifest's `max_input_age`: an input modified longer ago fails the job before
    /// anything is sent (kind `stale_input`). Not in the fingerprint, like `timeout`.
    #[serde(skip)]
    pub max_input_age: Option<std::time::Duration>,
}

impl RequestSettings {
    /// The `thinking` field its requests send.
    pub(crate) fn thinking_param(&self) -> Option<ThinkingParam> {
        match (self.thinking_budget_tokens, self.thinking) {
            (Some(n), _) => Some(ThinkingParam::Budget(n, self.thinking_display)),
            (None, Some(m)) => Some(ThinkingParam::Mode(m, self.thinking_display)),
            (None, None) => None,
        }
    }
}

/// Where a job's request settings were written, so checks made later (against the Models
/// API, before a run) can point at them.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct SettingSpans {
    pub model: Pos,
    pub max_tokens: Option<Pos>,
    pub thinking: Option<Pos>,
    pub effort: Option<Pos>,
    pub tool: Option<Pos>,
}

/// One job, fully resolved.
#[derive(Clone, Debug)]
pub(crate) struct Job {
    pub manifest: Utf8PathBuf,
    pub manifest_stem: String,
    pub name: String,
    pub settings: RequestSettings,
    /// Where its request settings were written, for checks against the Models API.
    pub at: SettingSpans,
    /// The prompt, then each follow-up turn.
    pub turns: Vec<String>,
    pub inputs: Vec<InputFile>,
    /// `expect` and `repair_turns`; `None` when the job expects no file.
    pub deliverables: Option<Deliverables>,
    /// Its `alert:` thresholds on the metrics (not fingerprinted).
    pub alerts: Vec<AlertRule>,
    /// Its model's prices, and its prompt caching: neither changes what the job computes,
    /// so neither is in `settings` (which the fingerprint hashes).
    pub prices: ModelPrices,
    pub cache: CacheTtl,
    /// The Agent Skills its container loads (docs/manifest.md "Skills").
    pub skills: Vec<super::skills::Skill>,
    /// Its matrix cell: key → value, sorted; empty without `matrix` (docs/manifest.md
    /// "Matrices").
    pub params: BTreeMap<String, String>,
    /// The `jobs:` entry's name as written, for a matrix entry (its jobs counted together
    /// in `runner plan`); `None` without `matrix`.
    pub entry: Option<String>,
}

/// A `for_each` entry whose glob matched no file: no job, and not a validation error (the
/// files may be there tomorrow). `runner run` fails it with kind `no_inputs`, or skips it
/// with a warning when it says `allow_empty: true`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub(crate) struct EmptyEntry {
    #[serde(serialize_with = "path_str")]
    pub manifest: Utf8PathBuf,
    #[serde(skip)]
    pub manifest_stem: String,
    /// The entry's name as written (placeholders and all).
    pub job: String,
    pub for_each: String,
    pub allow_empty: bool,
}

fn path_str<S: serde::Serializer>(p: &Utf8PathBuf, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(p.as_str())
}

impl EmptyEntry {
    /// `<manifest-stem>/<entry name>`, as a job's folder would be.
    pub(crate) fn dir(&self) -> String {
        format!("{}/{}", self.manifest_stem, self.job)
    }

    /// What happened, for people.
    pub(crate) fn message(&self) -> String {
        format!(
            "for_each `{}` matches no file, so the entry has no job",
            self.for_each
        )
    }
}

/// A manifest file read from disk (its text kept for rendering diagnostics).
pub(crate) struct Source {
    pub path: Utf8PathBuf,
    pub text: String,
}

/// Reads and checks every manifest. Returns all jobs, or every problem found.
#[cfg(test)]
pub(crate) fn resolve(
    paths: &[Utf8PathBuf],
    known: &super::Known,
) -> (Vec<Source>, Result<Vec<Job>, Vec<Diagnostic>>) {
    let (sources, result) = resolve_with_empty(paths, known);
    (sources, result.map(|(jobs, _)| jobs))
}

/// Like [`resolve`], with the `for_each` entries that matched no file.
pub(crate) fn resolve_with_empty(
    paths: &[Utf8PathBuf],
    known: &super::Known,
) -> (Vec<Source>, Result<Resolved, Vec<Diagnostic>>) {
    let all = resolve_all(paths, known);
    let result = if all.diags.is_empty() {
        Ok((all.jobs, all.empty))
    } else {
        Err(all.diags)
    };
    (all.sources, result)
}

/// The jobs, and the entries that matched no file.
pub(crate) type Resolved = (Vec<Job>, Vec<EmptyEntry>);

/// The diagnostics `diags[from..to]` belong to the `jobs:` entry named `job` of `file`.
#[derive(Debug)]
pub(super) struct EntrySpan {
    pub file: Utf8PathBuf,
    pub job: String,
    pub from: usize,
    pub to: usize,
}

/// Everything [`resolve`] found: the jobs of valid entries (an entry with a problem gives
/// no job), every diagnostic, and which entry each entry-level diagnostic belongs to.
pub(super) struct All {
    pub sources: Vec<Source>,
    pub jobs: Vec<Job>,
    pub diags: Vec<Diagnostic>,
    pub entries: Vec<EntrySpan>,
    /// Valid `for_each` entries that matched no file.
    pub empty: Vec<EmptyEntry>,
}

pub(super) fn resolve_all(paths: &[Utf8PathBuf], known: &super::Known) -> All {
    let mut entries = Vec::new();
    let mut empty = Vec::new();
    let mut sources = Vec::new();
    let mut jobs = Vec::new();
    let mut diags = Vec::new();
    let mut expander = Expander::default();
    let mut folders = super::skills::Folders::new();
    let mut stems: BTreeMap<String, Utf8PathBuf> = BTreeMap::new();

    for path in paths {
        let text = match inputs::read_text(path) {
            Ok(t) => t,
            Err(e) => {
                diags.push(Diagnostic::new(
                    path,
                    Pos::start(),
                    format!("cannot read manifest: {}", io_reason(&e)),
                ));
                continue;
            }
        };
        let stem = path.file_stem().unwrap_or_default().to_owned();
        if stem == RUN_HISTORY || stem.starts_with('.') {
            diags.push(
                Diagnostic::new(
                    path,
                    Pos::start(),
                    format!("manifest stem `{stem}` names a folder the runner keeps for itself"),
                )
                .with_help(
                    "outputs go to OUT/<manifest-stem>/<job>, and OUT/runs/ (the run history) \
                     and OUT/.* (locks, batch records) are the runner's; rename the manifest",
                ),
            );
        }
        if let Some(other) = stems.get(&stem) {
            diags.push(
                Diagnostic::new(
                    path,
                    Pos::start(),
                    format!("manifest stem `{stem}` is also used by {other}"),
                )
                .with_help("outputs go to OUT/<manifest-stem>/<job>; rename one of the manifests"),
            );
        } else {
            stems.insert(stem.clone(), path.clone());
        }
        match schema::parse(path, &text) {
            Ok(m) => {
                let mut ctx = Ctx {
                    known,
                    file: path,
                    base: manifest_dir(path),
                    expander: &mut expander,
                    folders: &mut folders,
                    diags: &mut diags,
                    entries: &mut entries,
                    empty: &mut empty,
                };
                jobs.extend(ctx.manifest(&m, &stem));
            }
            Err(ds) => diags.extend(ds),
        }
        sources.push(Source {
            path: path.clone(),
            text,
        });
    }
    All {
        sources,
        jobs,
        diags,
        entries,
        empty,
    }
}

fn manifest_dir(path: &Utf8Path) -> Utf8PathBuf {
    match path.parent() {
        Some(p) if !p.as_str().is_empty() => p.to_owned(),
        _ => Utf8PathBuf::from("."),
    }
}

fn io_reason(e: &std::io::Error) -> String {
    match e.kind() {
        std::io::ErrorKind::NotFound => "no such file".to_owned(),
        _ => e.to_string(),
    }
}

pub(super) fn pos<T>(s: &Spanned<T>) -> Pos {
    Pos::from_location(s.referenced)
}

pub(super) struct Ctx<'a> {
    pub(super) known: &'a super::Known,
    pub(super) file: &'a Utf8Path,
    pub(super) base: Utf8PathBuf,
    pub(super) expander: &'a mut Expander,
    pub(super) folders: &'a mut super::skills::Folders,
    pub(super) diags: &'a mut Vec<Diagnostic>,
    pub(super) entries: &'a mut Vec<EntrySpan>,
    pub(super) empty: &'a mut Vec<EmptyEntry>,
}

impl Ctx<'_> {
    pub(super) fn err(&mut self, pos: Pos, message: impl Into<String>) -> &mut Diagnostic {
        self.diags.push(Diagnostic::new(self.file, pos, message));
        let last = self.diags.len() - 1;
        &mut self.diags[last]
    }

    fn manifest(&mut self, m: &Manifest, stem: &str) -> Vec<Job> {
        if m.version.value != schema::VERSION {
            self.err(
                pos(&m.version),
                format!(
                    "unsupported manifest version {}, expected 1",
                    m.version.value
                ),
            );
            return Vec::new();
        }
        if m.jobs.value.is_empty() {
            self.err(pos(&m.jobs), "`jobs` is empty, expected at least one job");
        }
        let mut jobs = Vec::new();
        let mut seen: BTreeMap<String, (u64, BTreeMap<String, String>)> = BTreeMap::new();
        for spec in &m.jobs.value {
            let (diags_before, jobs_before) = (self.diags.len(), jobs.len());
            let entries_before = self.entries.len();
            self.entry(spec, m, stem, &mut jobs, &mut seen);
            // Matrix jobs that failed alone have their own spans; anything else wrong
            // rejects the whole entry.
            let by_cell = self.entries[entries_before..]
                .iter()
                .map(|e| e.to)
                .max()
                .unwrap_or(diags_before);
            if self.diags.len() > by_cell {
                self.entries.truncate(entries_before);
                jobs.truncate(jobs_before);
                self.entries.push(EntrySpan {
                    file: self.file.to_owned(),
                    job: spec.name.value.clone(),
                    from: diags_before,
                    to: self.diags.len(),
                });
            }
        }
        jobs
    }

    /// One `jobs:` entry's jobs into `jobs`, checking names against `seen`.
    fn entry(
        &mut self,
        spec: &JobSpec,
        m: &Manifest,
        stem: &str,
        jobs: &mut Vec<Job>,
        seen: &mut BTreeMap<String, (u64, BTreeMap<String, String>)>,
    ) {
        for job in self.job(spec, m.defaults.as_ref(), stem) {
            let at = pos(&spec.name);
            if let Some((line, params)) = seen.get(&job.name) {
                let line = *line;
                if line == at.line && spec.matrix.is_some() {
                    self.err(
                        at,
                        format!(
                            "cells {} and {} both give the name `{}`",
                            template::show_cell(params),
                            template::show_cell(&job.params),
                            job.name
                        ),
                    )
                    .help = Some(
                        "use the keys that tell the cells apart in the name, e.g. `name: \"sales-{{ matrix.region }}\"`"
                            .into(),
                    );
                    continue;
                }
                if line == at.line && spec.for_each.is_some() {
                    self.err(
                        at,
                        format!("for_each gives several jobs the name `{}`", job.name),
                    )
                    .help = Some(
                        "use a placeholder in the name, e.g. `name: \"report-{{ stem }}\"`".into(),
                    );
                    break;
                }
                let help = if spec.for_each.is_some() {
                    "give each for_each job its own name, e.g. with `{{ stem }}`".to_owned()
                } else {
                    "job names must be unique in a manifest".to_owned()
                };
                self.err(
                    at,
                    format!(
                        "duplicate job name `{}` (first defined at line {line})",
                        job.name
                    ),
                )
                .help = Some(help);
                continue;
            }
            seen.insert(job.name.clone(), (at.line, job.params.clone()));
            jobs.push(job);
        }
    }

    /// Checks one `jobs:` entry and expands it into one job, or one per `for_each` match
    /// per matrix cell.
    fn job(&mut self, spec: &JobSpec, defaults: Option<&Settings>, stem: &str) -> Vec<Job> {
        let before = self.diags.len();
        let settings = self.settings(spec, defaults);
        let money = self.money(spec, defaults);
        let at = self.spans(spec, defaults);
        let skills = self.skills(spec, defaults);
        let alerts = self.alerts(spec, defaults);
        self.one_prompt(spec);
        if let (Some(a), None) = (&spec.allow_empty, &spec.for_each) {
            self.err(pos(a), "`allow_empty` is only for an entry with `for_each`");
        }
        let matches = self.for_each(spec);
        let cells = self.matrix_cells(spec.matrix.as_ref());
        if self.diags.len() > before {
            return Vec::new();
        }
        if let (Some(pattern), true) = (&spec.for_each, matches.is_empty()) {
            self.empty.push(EmptyEntry {
                manifest: self.file.to_owned(),
                manifest_stem: stem.to_owned(),
                job: spec.name.value.clone(),
                for_each: pattern.value.clone(),
                allow_empty: spec.allow_empty.as_ref().is_some_and(|a| a.value),
            });
        }
        let (Some(settings), Some(money)) = (settings, money) else {
            return Vec::new();
        };
        let template = Job {
            manifest: self.file.to_owned(),
            manifest_stem: stem.to_owned(),
            name: String::new(),
            settings,
            turns: Vec::new(),
            inputs: Vec::new(),
            deliverables: None,
            prices: money.prices,
            cache: money.cache,
            at,
            skills,
            alerts,
            params: BTreeMap::new(),
            entry: spec.matrix.as_ref().map(|_| spec.name.value.clone()),
        };
        let keys: std::collections::BTreeSet<String> =
            cells.iter().flat_map(|c| c.keys().cloned()).collect();
        let mut jobs = Vec::new();
        let mut failed: Option<(usize, usize)> = None;
        for cell in &cells {
            let matrix = spec.matrix.as_ref().map(|_| CellVars { cell, keys: &keys });
            for m in &matches {
                let before = self.diags.len();
                let job = self.one_job(spec, defaults, &template, m.as_ref(), matrix);
                if self.diags.len() == before {
                    jobs.push(Job {
                        params: cell.clone(),
                        ..job
                    });
                } else if spec.matrix.is_none() {
                    // One bad expansion usually means all are bad: report it once.
                    return jobs;
                } else {
                    failed = Some(self.cell_failed(spec, &job.name, before, failed));
                }
            }
        }
        jobs
    }

    /// A matrix job with a problem fails alone with `--keep-going` (docs/manifest.md
    /// "Matrices"): its diagnostics get their own [`EntrySpan`], named by the job's name
    /// when it rendered. The same diagnostics as the last failed job's are not repeated.
    fn cell_failed(
        &mut self,
        spec: &JobSpec,
        name: &str,
        before: usize,
        last: Option<(usize, usize)>,
    ) -> (usize, usize) {
        let same = |a: &Diagnostic, b: &Diagnostic| a.pos == b.pos && a.message == b.message;
        let span = match last {
            Some((from, to))
                if to - from == self.diags.len() - before
                    && self.diags[from..to]
                        .iter()
                        .zip(&self.diags[before..])
                        .all(|(a, b)| same(a, b)) =>
            {
                self.diags.truncate(before);
                (from, to)
            }
            _ => (before, self.diags.len()),
        };
        let job = if name.is_empty() {
            spec.name.value.clone()
        } else {
            name.to_owned()
        };
        let entry = EntrySpan {
            file: self.file.to_owned(),
            job,
            from: span.0,
            to: span.1,
        };
        // Cells whose name did not render share the entry's name: one failed job for them.
        let repeated = self.entries.last().is_some_and(|e| {
            (&e.file, &e.job, e.from, e.to) == (&entry.file, &entry.job, entry.from, entry.to)
        });
        if !repeated {
            self.entries.push(entry);
        }
        span
    }

    /// One job of an entry: `template` with the name, turns, inputs and deliverables its
    /// `for_each` match and matrix cell give.
    fn one_job(
        &mut self,
        spec: &JobSpec,
        defaults: Option<&Settings>,
        template: &Job,
        file: Option<&InputFile>,
        matrix: Option<CellVars<'_>>,
    ) -> Job {
        let stem_of = file.map(|f| {
            Utf8Path::new(&f.name)
                .file_stem()
                .unwrap_or_default()
                .to_owned()
        });
        let vars = Vars {
            file: file.map(|f| FileVars {
                path: &f.rel,
                name: &f.name,
                stem: stem_of.as_deref().unwrap_or_default(),
            }),
            matrix,
        };
        let name = self.render(&spec.name, Some(&vars));
        if let Some(n) = &name {
            self.check_name(n, pos(&spec.name));
        }
        Job {
            name: name.unwrap_or_default(),
            turns: self.turns(spec, defaults, &vars),
            inputs: self.inputs(&spec.inputs, Some(&vars)),
            deliverables: self.deliverables(spec, defaults, Some(&vars)),
            ..template.clone()
        }
    }

    /// Exactly one of `prompt` and `prompt_file`.
    fn one_prompt(&mut self, spec: &JobSpec) {
        match (&spec.prompt, &spec.prompt_file) {
            (Some(_), Some(pf)) => {
                self.err(
                    pos(pf),
                    format!(
                        "job `{}` has both `prompt` and `prompt_file`, expected exactly one",
                        spec.name.value
                    ),
                );
            }
            (None, None) => {
                self.err(
                    pos(&spec.name),
                    format!(
                        "job `{}` has neither `prompt` nor `prompt_file`, expected exactly one",
                        spec.name.value
                    ),
                );
            }
            _ => {}
        }
    }

    /// The files `for_each` matches, each a job; one job without files when unset.
    fn for_each(&mut self, spec: &JobSpec) -> Vec<Option<InputFile>> {
        let Some(pattern) = &spec.for_each else {
            return vec![None];
        };
        match self.expander.expand(&self.base, &pattern.value) {
            Ok(files) => files.into_iter().map(Some).collect(),
            // Not an error of the manifest: today's files may not be there yet (`job`
            // records the entry as empty).
            Err(inputs::ExpandError::NoMatch) => Vec::new(),
            Err(e) => {
                self.expand_error(pos(pattern), "for_each", &pattern.value, &e);
                Vec::new()
            }
        }
    }

    /// The turns as sent: the prompt (or the prompt file's text), then the follow-ups.
    fn turns(
        &mut self,
        spec: &JobSpec,
        defaults: Option<&Settings>,
        vars: &Vars<'_>,
    ) -> Vec<String> {
        let vars = Some(vars);
        let mut turns = Vec::new();
        if let Some(p) = &spec.prompt {
            turns.extend(self.render(p, vars));
        }
        if let Some(pf) = &spec.prompt_file
            && let Some(rel) = self.render(pf, vars)
        {
            match inputs::read_text(&self.base.join(&rel)) {
                Ok(text) if self.template(spec, defaults) => {
                    self.prompt_file_text(pf, &rel, &text, vars, &mut turns);
                }
                Ok(text) => turns.push(text),
                Err(e) => {
                    self.err(
                        pos(pf),
                        format!("prompt_file `{rel}` cannot be read: {}", io_reason(&e)),
                    );
                }
            }
        }
        let follow_up = spec
            .follow_up
            .as_ref()
            .or_else(|| defaults.and_then(|d| d.follow_up.as_ref()));
        for f in follow_up.into_iter().flatten() {
            turns.extend(self.render(f, vars));
        }
        turns
    }

    /// `template: true` (the job's, else the defaults'): the prompt file's text gets its
    /// placeholders filled (docs/manifest.md "Matrices").
    fn template(&self, spec: &JobSpec, defaults: Option<&Settings>) -> bool {
        spec.template
            .as_ref()
            .or_else(|| defaults.and_then(|d| d.template.as_ref()))
            .is_some_and(|t| t.value)
    }

    /// A templated prompt file's text, rendered; an error points at `prompt_file` and
    /// names the file.
    fn prompt_file_text(
        &mut self,
        pf: &Spanned<String>,
        rel: &str,
        text: &str,
        vars: Option<&Vars<'_>>,
        turns: &mut Vec<String>,
    ) {
        match template::render(text, vars) {
            Ok(t) => turns.push(t),
            Err(e) => {
                self.err(pos(pf), format!("prompt_file `{rel}`: {e}")).help = Some(
                    "with `template: true` the file's placeholders are filled; write a literal `{{` as `{{ \"{{\" }}`"
                        .into(),
                );
            }
        }
    }

    pub(super) fn render(
        &mut self,
        s: &Spanned<String>,
        vars: Option<&Vars<'_>>,
    ) -> Option<String> {
        match template::render(&s.value, vars) {
            Ok(v) => Some(v),
            Err(e) => {
                self.err(pos(s), e.to_string());
                None
            }
        }
    }
}

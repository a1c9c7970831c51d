//! Stage 2: from parsed manifests to concrete jobs. Applies `defaults`, expands `for_each`
//! and the input globs, fills placeholders, reads prompt files, and checks every rule of
//! the manifest format, collecting all problems of all manifests as [`Diagnostic`]s.
//!
//! The result holds no YAML types: after this, nothing looks at the manifest again.

use std::collections::BTreeMap;

use camino::{Utf8Path, Utf8PathBuf};
use serde::Serialize;
use serde_saphyr::Spanned;

use crate::diagnostic::{Diagnostic, Pos, did_you_mean};
use crate::inputs::{ExpandError, Expander, InputFile};
use crate::manifest::{self, JobSpec, Manifest, Settings};
use crate::template::{self, Vars};

/// API versions the runner can speak (REFERENCE.md §0.3).
pub const API_VERSIONS: [&str; 2] = ["2026-10-21", "2023-06-01"];
pub const DEFAULT_API_VERSION: &str = "2026-10-21";
/// The real code-execution tool versions (REFERENCE.md §3.1).
pub const TOOLS: [&str; 4] = [
    "code_execution_20250825",
    "code_execution_20260120",
    "code_execution_20260521",
    "code_execution_20250522",
];
pub const DEFAULT_TOOL: &str = "code_execution_20250825";
pub const DEFAULT_MAX_TOKENS: u32 = 16_000;
pub const DEFAULT_MAX_CONTINUATIONS: u32 = 20;
/// Files API per-file limit (REFERENCE.md §2.8).
pub const MAX_INPUT_BYTES: u64 = 500 * 1000 * 1000;

/// Request settings of one job after `defaults` are applied.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct RequestSettings {
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
    #[serde(skip_serializing_if = "Option::is_none")]
    pub thinking_budget_tokens: Option<u32>,
    pub tool: String,
    pub max_continuations: u32,
}

/// One job, fully resolved.
#[derive(Clone, Debug)]
pub struct Job {
    pub manifest: Utf8PathBuf,
    pub manifest_stem: String,
    pub name: String,
    pub settings: RequestSettings,
    /// The prompt, then each follow-up turn.
    pub turns: Vec<String>,
    pub inputs: Vec<InputFile>,
}

/// A manifest file read from disk (its text kept for rendering diagnostics).
pub struct Source {
    pub path: Utf8PathBuf,
    pub text: String,
}

/// Reads and checks every manifest. Returns all jobs, or every problem found.
pub fn resolve(paths: &[Utf8PathBuf]) -> (Vec<Source>, Result<Vec<Job>, Vec<Diagnostic>>) {
    let mut sources = Vec::new();
    let mut jobs = Vec::new();
    let mut diags = Vec::new();
    let mut expander = Expander::default();
    let mut stems: BTreeMap<String, Utf8PathBuf> = BTreeMap::new();

    for path in paths {
        let text = match crate::inputs::read_text(path) {
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
        match manifest::parse(path, &text) {
            Ok(m) => {
                let mut ctx = Ctx {
                    file: path,
                    base: manifest_dir(path),
                    expander: &mut expander,
                    diags: &mut diags,
                };
                jobs.extend(ctx.manifest(&m, &stem));
            }
            Err(d) => diags.push(d),
        }
        sources.push(Source {
            path: path.clone(),
            text,
        });
    }
    let result = if diags.is_empty() {
        Ok(jobs)
    } else {
        Err(diags)
    };
    (sources, result)
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

fn pos<T>(s: &Spanned<T>) -> Pos {
    Pos::from_location(s.referenced)
}

struct Ctx<'a> {
    file: &'a Utf8Path,
    base: Utf8PathBuf,
    expander: &'a mut Expander,
    diags: &'a mut Vec<Diagnostic>,
}

/// Picks a job's own setting, else the default.
fn pick<'s, T>(
    job: &'s Option<Spanned<T>>,
    default: Option<&'s Option<Spanned<T>>>,
) -> Option<&'s Spanned<T>> {
    job.as_ref().or_else(|| default.and_then(Option::as_ref))
}

impl Ctx<'_> {
    fn err(&mut self, pos: Pos, message: impl Into<String>) -> &mut Diagnostic {
        self.diags.push(Diagnostic::new(self.file, pos, message));
        let last = self.diags.len() - 1;
        &mut self.diags[last]
    }

    fn manifest(&mut self, m: &Manifest, stem: &str) -> Vec<Job> {
        if m.version.value != manifest::VERSION {
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
        let mut seen: BTreeMap<String, u64> = BTreeMap::new();
        for spec in &m.jobs.value {
            for job in self.job(spec, m.defaults.as_ref(), stem) {
                let at = pos(&spec.name);
                if let Some(&line) = seen.get(&job.name) {
                    if line == at.line && spec.for_each.is_some() {
                        self.err(
                            at,
                            format!("for_each gives several jobs the name `{}`", job.name),
                        )
                        .help = Some(
                            "use a placeholder in the name, e.g. `name: \"report-{{ stem }}\"`"
                                .into(),
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
                seen.insert(job.name.clone(), at.line);
                jobs.push(job);
            }
        }
        jobs
    }

    /// Checks one `jobs:` entry and expands it into one job, or one per `for_each` match.
    fn job(&mut self, spec: &JobSpec, defaults: Option<&Settings>, stem: &str) -> Vec<Job> {
        let before = self.diags.len();
        let settings = self.settings(spec, defaults);
        let name_pos = pos(&spec.name);
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
                    name_pos,
                    format!(
                        "job `{}` has neither `prompt` nor `prompt_file`, expected exactly one",
                        spec.name.value
                    ),
                );
            }
            _ => {}
        }
        let follow_up = spec
            .follow_up
            .as_ref()
            .or_else(|| defaults.and_then(|d| d.follow_up.as_ref()));

        let matches: Vec<Option<InputFile>> = match &spec.for_each {
            None => vec![None],
            Some(pattern) => match self.expander.expand(&self.base, &pattern.value) {
                Ok(files) => files.into_iter().map(Some).collect(),
                Err(e) => {
                    self.expand_error(pos(pattern), "for_each", &pattern.value, &e);
                    Vec::new()
                }
            },
        };
        if self.diags.len() > before {
            return Vec::new();
        }
        let Some(settings) = settings else {
            return Vec::new();
        };

        let mut jobs = Vec::new();
        for m in &matches {
            let stem_of = m.as_ref().map(|f| {
                Utf8Path::new(&f.name)
                    .file_stem()
                    .unwrap_or_default()
                    .to_owned()
            });
            let vars = m.as_ref().map(|f| Vars {
                path: &f.rel,
                name: &f.name,
                stem: stem_of.as_deref().unwrap_or_default(),
            });
            let before = self.diags.len();
            let name = self.render(&spec.name, vars.as_ref());
            if let Some(n) = &name {
                self.check_name(n, name_pos);
            }
            let mut turns = Vec::new();
            if let Some(p) = &spec.prompt {
                turns.extend(self.render(p, vars.as_ref()));
            }
            if let Some(pf) = &spec.prompt_file
                && let Some(rel) = self.render(pf, vars.as_ref())
            {
                match crate::inputs::read_text(&self.base.join(&rel)) {
                    Ok(text) => turns.push(text),
                    Err(e) => {
                        self.err(
                            pos(pf),
                            format!("prompt_file `{rel}` cannot be read: {}", io_reason(&e)),
                        );
                    }
                }
            }
            for f in follow_up.into_iter().flatten() {
                turns.extend(self.render(f, vars.as_ref()));
            }
            let inputs = self.inputs(&spec.inputs, vars.as_ref());
            if self.diags.len() > before {
                // One bad expansion usually means all are bad: report it once.
                break;
            }
            jobs.push(Job {
                manifest: self.file.to_owned(),
                manifest_stem: stem.to_owned(),
                name: name.unwrap_or_default(),
                settings: settings.clone(),
                turns,
                inputs,
            });
        }
        jobs
    }

    fn render(&mut self, s: &Spanned<String>, vars: Option<&Vars<'_>>) -> Option<String> {
        match template::render(&s.value, vars) {
            Ok(v) => Some(v),
            Err(e) => {
                self.err(pos(s), e.to_string());
                None
            }
        }
    }

    fn check_name(&mut self, name: &str, at: Pos) {
        let ok_chars = !name.is_empty()
            && name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'));
        if !ok_chars || name == "." || name == ".." {
            self.err(
                at,
                format!("invalid job name `{name}`, expected letters, digits, `.`, `_` or `-` (and not `.` or `..`)"),
            )
            .help = Some("the name is used as a folder name in the output tree".into());
        }
    }

    fn expand_error(&mut self, at: Pos, what: &str, pattern: &str, e: &ExpandError) {
        let d = self.err(at, format!("{what} `{pattern}` {e}"));
        if matches!(e, ExpandError::NoMatch | ExpandError::NotFound) {
            d.help = Some("paths and globs are relative to the manifest's folder".into());
        }
    }

    fn inputs(&mut self, specs: &[Spanned<String>], vars: Option<&Vars<'_>>) -> Vec<InputFile> {
        let mut files: Vec<InputFile> = Vec::new();
        let mut by_name: BTreeMap<String, String> = BTreeMap::new();
        for spec in specs {
            let Some(pattern) = self.render(spec, vars) else {
                continue;
            };
            let found = match self.expander.expand(&self.base, &pattern) {
                Ok(f) => f,
                Err(e) => {
                    self.expand_error(pos(spec), "input", &pattern, &e);
                    continue;
                }
            };
            for f in found {
                if files.iter().any(|g| g.abs == f.abs) {
                    continue;
                }
                if let Some(problem) = bad_file_name(&f.name) {
                    self.err(
                        pos(spec),
                        format!(
                            "input `{}` has a file name the Files API rejects: {problem}",
                            f.rel
                        ),
                    )
                    .help = Some("rename the file".into());
                    continue;
                }
                if f.size > MAX_INPUT_BYTES {
                    self.err(
                        pos(spec),
                        format!(
                            "input `{}` is {} bytes, over the Files API limit of 500 MB",
                            f.rel, f.size
                        ),
                    );
                    continue;
                }
                if let Some(other) = by_name.get(&f.name) {
                    self.err(
                        pos(spec),
                        format!(
                            "inputs `{other}` and `{}` have the same file name `{}`",
                            f.rel, f.name
                        ),
                    )
                    .help = Some(
                        "the container keeps files by name; rename one or split the job".into(),
                    );
                    continue;
                }
                by_name.insert(f.name.clone(), f.rel.clone());
                files.push(f);
            }
        }
        files
    }

    fn settings(&mut self, job: &JobSpec, d: Option<&Settings>) -> Option<RequestSettings> {
        let before = self.diags.len();
        let model = pick(&job.model, d.map(|d| &d.model));
        if model.is_none() {
            self.err(
                pos(&job.name),
                format!("job `{}` has no `model`", job.name.value),
            )
            .help = Some("set `model` on the job or in `defaults`".into());
        }
        let api_version = pick(&job.api_version, d.map(|d| &d.api_version));
        let version = api_version.map_or(DEFAULT_API_VERSION, |v| v.value.as_str());
        if let Some(v) = api_version
            && !API_VERSIONS.contains(&v.value.as_str())
        {
            let d = self.err(
                pos(v),
                format!(
                    "unknown api_version `{}`, expected one of `2026-10-21`, `2023-06-01`",
                    v.value
                ),
            );
            if let Some(near) = did_you_mean(&v.value, API_VERSIONS) {
                d.help = Some(format!("did you mean `{near}`?"));
            }
        }
        let temperature = pick(&job.temperature, d.map(|d| &d.temperature));
        let top_p = pick(&job.top_p, d.map(|d| &d.top_p));
        let top_k = pick(&job.top_k, d.map(|d| &d.top_k));
        if version == "2026-10-21" {
            let sampling = [
                ("temperature", temperature.map(pos)),
                ("top_p", top_p.map(pos)),
                ("top_k", top_k.map(pos)),
            ];
            for (key, at) in sampling {
                if let Some(at) = at {
                    self.err(at, format!("`{key}` is rejected by API version 2026-10-21"))
                        .help = Some(format!(
                        "remove `{key}`, or set `api_version: \"2023-06-01\"`, the version that accepts it"
                    ));
                }
            }
        }
        if let Some(t) = temperature
            && !(0.0..=1.0).contains(&t.value)
        {
            self.err(
                pos(t),
                format!(
                    "temperature {} is out of range, expected 0.0 to 1.0",
                    t.value
                ),
            );
        }
        if let Some(p) = top_p
            && !(0.0..=1.0).contains(&p.value)
        {
            self.err(
                pos(p),
                format!("top_p {} is out of range, expected 0.0 to 1.0", p.value),
            );
        }
        let tool = pick(&job.tool, d.map(|d| &d.tool));
        if let Some(t) = tool
            && !TOOLS.contains(&t.value.as_str())
        {
            let d = self.err(
                pos(t),
                format!("unknown tool `{}`, expected one of `code_execution_20250825`, `code_execution_20260120`, `code_execution_20260521`, `code_execution_20250522`", t.value),
            );
            if let Some(near) = did_you_mean(&t.value, TOOLS) {
                d.help = Some(format!("did you mean `{near}`?"));
            }
        }
        let max_tokens = pick(&job.max_tokens, d.map(|d| &d.max_tokens));
        let max_tokens_value = max_tokens.map_or(DEFAULT_MAX_TOKENS, |m| m.value);
        if let Some(m) = max_tokens
            && m.value == 0
        {
            self.err(pos(m), "max_tokens must be at least 1");
        }
        let thinking = pick(&job.thinking, d.map(|d| &d.thinking));
        if let Some(t) = thinking {
            let budget = t.value.budget_tokens;
            if budget < 1024 || budget >= max_tokens_value {
                self.err(pos(t), format!("thinking.budget_tokens {budget} is out of range, expected at least 1024 and less than max_tokens ({max_tokens_value})"));
            }
        }
        if self.diags.len() > before {
            return None;
        }
        Some(RequestSettings {
            model: model?.value.clone(),
            max_tokens: max_tokens_value,
            system: pick(&job.system, d.map(|d| &d.system)).map(|s| s.value.clone()),
            api_version: version.to_owned(),
            temperature: temperature.map(|t| t.value),
            top_p: top_p.map(|t| t.value),
            top_k: top_k.map(|t| t.value),
            thinking_budget_tokens: thinking.map(|t| t.value.budget_tokens),
            tool: tool.map_or(DEFAULT_TOOL, |t| t.value.as_str()).to_owned(),
            max_continuations: pick(&job.max_continuations, d.map(|d| &d.max_continuations))
                .map_or(DEFAULT_MAX_CONTINUATIONS, |m| m.value),
        })
    }
}

/// The Files API's file name rules (REFERENCE.md §2.8): 1–255 characters, none of
/// `< > : " | ? * \ /`, no control characters.
pub fn bad_file_name(name: &str) -> Option<String> {
    let len = name.chars().count();
    if len == 0 || len > 255 {
        return Some(format!("{len} characters, expected 1 to 255"));
    }
    if let Some(c) = name
        .chars()
        .find(|c| matches!(c, '<' | '>' | ':' | '"' | '|' | '?' | '*' | '\\' | '/'))
    {
        return Some(format!("it contains `{c}`"));
    }
    if name.chars().any(|c| (c as u32) < 32) {
        return Some("it contains a control character".to_owned());
    }
    None
}

#[cfg(test)]
mod fuzz;

//! Pure: the jobs' models against what the Models API said of them (docs/api.md §12). A
//! retired model, a model the API does not know, and a setting the model does not accept
//! are diagnostics at the manifest key that chose them (`file:line:column`, with the
//! allowed values or the current models of the same line as help); a deprecated model is
//! one warning. Where the answers come from (the API, or only the cache) is the caller's
//! business: `run` and `plan --estimate` ask, `validate` and `plan` read the cache.

use std::collections::{BTreeMap, BTreeSet};

use camino::{Utf8Path, Utf8PathBuf};

use super::PlannedJob;
use crate::api::capabilities::{self, Problem, Requested, Setting};
use crate::api::facts::LARGEST_MAX_TOKENS;
use crate::api::messages::ThinkingParam;
use crate::api::models::{Lifecycle, ModelInfo};
use crate::manifest::diagnostic::{Pos, did_you_mean};
use crate::manifest::{Diagnostic, Invalid, Job, RequestSettings, SettingSpans};

/// One job's use of a model: where it is declared and what its requests ask.
#[derive(Clone, Copy, Debug)]
pub(crate) struct ModelUse<'a> {
    pub manifest: &'a Utf8Path,
    pub settings: &'a RequestSettings,
    /// Where the settings were written.
    pub at: &'a SettingSpans,
}

impl<'a> From<&'a PlannedJob> for ModelUse<'a> {
    fn from(job: &'a PlannedJob) -> ModelUse<'a> {
        ModelUse {
            manifest: &job.manifest,
            settings: &job.settings,
            at: &job.at,
        }
    }
}

impl<'a> From<&'a Job> for ModelUse<'a> {
    fn from(job: &'a Job) -> ModelUse<'a> {
        ModelUse {
            manifest: &job.manifest,
            settings: &job.settings,
            at: &job.at,
        }
    }
}

/// What is known of a model. A model missing from the map handed to [`evaluate`] is not
/// checked (the API could not be asked and nothing is cached).
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Known {
    Info(ModelInfo),
    /// `GET /v1/models/{id}` answered 404: the API has no such model.
    NotFound,
}

/// What [`evaluate`] found.
#[derive(Debug, Default)]
pub(crate) struct Findings {
    /// Every diagnostic, with the manifests' texts; `None` when the jobs may run.
    pub invalid: Option<Invalid>,
    /// One line per deprecated model (without the `warning: ` prefix).
    pub warnings: Vec<String>,
}

/// The distinct models of `uses`, sorted.
pub(crate) fn distinct<'a>(uses: &[ModelUse<'a>]) -> BTreeSet<&'a str> {
    uses.iter().map(|u| u.settings.model.as_str()).collect()
}

/// What a job's requests ask of its model.
pub(crate) fn requested(settings: &RequestSettings) -> Requested<'_> {
    Requested {
        max_tokens: settings.max_tokens,
        // As sent: `{budget_tokens}` is type `enabled`; the default a thinking model gets
        // (`adaptive`) is checked like a written one.
        thinking: settings.thinking_param().map(ThinkingParam::wire_type),
        effort: settings.effort.as_deref(),
        // Every request of the runner carries the code execution tool.
        code_execution: true,
    }
}

/// Checks every job against what is known of its model. `catalogue` holds the models to
/// suggest from (the current listing, or the cached one), in the order to show them.
pub(crate) fn evaluate(
    uses: &[ModelUse<'_>],
    known: &BTreeMap<String, Known>,
    catalogue: &[ModelInfo],
    now: jiff::Timestamp,
) -> Findings {
    let mut sources = Sources::default();
    let mut diagnostics: Vec<Diagnostic> = Vec::new();
    let mut warned: BTreeSet<&str> = BTreeSet::new();
    let mut warnings = Vec::new();
    for u in uses {
        let model = u.settings.model.as_str();
        let described = matches!(known.get(model), Some(Known::Info(i)) if i.max_tokens.is_some());
        if !described && let Some(d) = beyond_every_model(u, catalogue) {
            sources.read(u.manifest);
            diagnostics.push(d);
        }
        let Some(found) = known.get(model) else {
            continue;
        };
        sources.read(u.manifest);
        let at = u.at.model;
        match found {
            Known::NotFound => diagnostics.push(
                Diagnostic::new(
                    u.manifest,
                    at,
                    format!(
                        "model `{model}` is not in the API's model catalogue \
                         (GET /v1/models/{model} answered 404)"
                    ),
                )
                .with_help(not_found_help(model, catalogue)),
            ),
            Known::Info(info) if info.lifecycle == Lifecycle::Retired => {
                let when = info
                    .retires_at
                    .map_or_else(String::new, |t| format!(" on {}", day(t)));
                diagnostics.push(
                    Diagnostic::new(u.manifest, at, format!("model `{model}` was retired{when}"))
                        .with_help(replacements(info, catalogue).map_or_else(
                            || "`runner models` lists the current models".to_owned(),
                            |r| format!("{r}; set `model` to one of them"),
                        )),
                );
            }
            Known::Info(info) => {
                if info.lifecycle == Lifecycle::Deprecated && warned.insert(model) {
                    warnings.push(deprecated(u.manifest, at, info, catalogue, now));
                }
                for problem in capabilities::check(info, &requested(u.settings)) {
                    let key = match problem.setting {
                        Setting::MaxTokens => u.at.max_tokens,
                        Setting::Thinking => u.at.thinking,
                        Setting::Effort => u.at.effort,
                        Setting::Tool => u.at.tool,
                    };
                    // A setting left at its default points at the model that refuses it.
                    let at = key.unwrap_or(at);
                    diagnostics.push(problem_diagnostic(u.manifest, at, &problem));
                }
            }
        }
    }
    let mut seen = BTreeSet::new();
    diagnostics
        .retain(|d| seen.insert((d.file.clone(), d.pos.line, d.pos.column, d.message.clone())));
    let invalid = (!diagnostics.is_empty()).then_some(Invalid {
        diagnostics,
        sources: sources.texts,
    });
    Findings { invalid, warnings }
}

/// A `max_tokens` above what any known model accepts (the largest of the catalogue and of
/// [`LARGEST_MAX_TOKENS`]), for a job whose own model's bound is not known.
fn beyond_every_model(u: &ModelUse<'_>, catalogue: &[ModelInfo]) -> Option<Diagnostic> {
    let largest = catalogue
        .iter()
        .filter_map(|m| m.max_tokens)
        .fold(LARGEST_MAX_TOKENS, u64::max);
    let asked = u.settings.max_tokens;
    (u64::from(asked) > largest).then(|| {
        Diagnostic::new(
            u.manifest,
            u.at.max_tokens.unwrap_or(u.at.model),
            format!("max_tokens {asked} is more than any known model accepts ({largest})"),
        )
        .with_help(format!(
            "allowed: 1 to {largest}, or less as the model says"
        ))
    })
}

fn problem_diagnostic(file: &Utf8Path, at: Pos, problem: &Problem) -> Diagnostic {
    let help = match (problem.setting, problem.allowed.is_empty()) {
        (Setting::Tool, _) => {
            "choose a model that supports it: `runner models` shows which do".to_owned()
        }
        (Setting::Effort, true) => "remove `effort`, or choose a model that accepts it".to_owned(),
        (Setting::MaxTokens, _) => format!("allowed: {}", problem.allowed.join(", ")),
        (_, true) => "remove the setting".to_owned(),
        (_, false) => format!("the model accepts: {}", problem.allowed.join(", ")),
    };
    Diagnostic::new(file, at, problem.message.clone()).with_help(help)
}

/// `current sonnet models: claude-sonnet-5-5, claude-sonnet-5`, when the model's line has
/// active models in the catalogue.
fn replacements(info: &ModelInfo, catalogue: &[ModelInfo]) -> Option<String> {
    let line = info.line.as_deref()?;
    let mut current: Vec<&ModelInfo> = catalogue
        .iter()
        .filter(|m| m.lifecycle == Lifecycle::Active && m.line.as_deref() == Some(line))
        .filter(|m| m.id != info.id)
        .collect();
    // Newest first, as the API lists them, whichever order the catalogue came in.
    current.sort_by(|a, b| {
        b.created_at
            .cmp(&a.created_at)
            .then_with(|| a.id.cmp(&b.id))
    });
    current.dedup_by(|a, b| a.id == b.id);
    let ids: Vec<&str> = current.iter().map(|m| m.id.as_str()).collect();
    (!ids.is_empty()).then(|| format!("current {line} models: {}", ids.join(", ")))
}

fn not_found_help(model: &str, catalogue: &[ModelInfo]) -> String {
    let active = catalogue
        .iter()
        .filter(|m| m.lifecycle == Lifecycle::Active)
        .map(|m| m.id.as_str());
    match did_you_mean(model, active) {
        Some(near) => format!("did you mean `{near}`? `runner models` lists the current models"),
        None => "check the id: `runner models` lists the current models".to_owned(),
    }
}

fn deprecated(
    file: &Utf8Path,
    at: Pos,
    info: &ModelInfo,
    catalogue: &[ModelInfo],
    now: jiff::Timestamp,
) -> String {
    let when = match info.retires_at {
        Some(t) if t <= now => format!(
            "its retirement date ({}) has passed, so it may stop working any day",
            day(t)
        ),
        Some(t) => format!("it retires on {}", day(t)),
        None => "no retirement date is set yet".to_owned(),
    };
    let next = replacements(info, catalogue)
        .unwrap_or_else(|| "`runner models` lists the current models".to_owned());
    format!(
        "{file}:{}:{}: model `{}` is deprecated: {when}; {next}",
        at.line, at.column, info.id
    )
}

fn day(t: jiff::Timestamp) -> String {
    t.strftime("%Y-%m-%d").to_string()
}

/// The manifests' texts, read again to show the lines the diagnostics point at.
#[derive(Default)]
struct Sources {
    texts: BTreeMap<Utf8PathBuf, String>,
}

impl Sources {
    fn read(&mut self, file: &Utf8Path) {
        if !self.texts.contains_key(file)
            && let Ok(text) = crate::manifest::inputs::read_text(file)
        {
            self.texts.insert(file.to_owned(), text);
        }
    }
}

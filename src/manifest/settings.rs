//! The request settings of a job: its own value of each key, else `defaults`, checked
//! against what the API accepts (docs/api.md §0.3, §3.1).

use std::time::Duration;

use serde_saphyr::Spanned;

use super::diagnostic::did_you_mean;
use super::resolve::{
    Ctx, DEFAULT_MAX_CONTINUATIONS, DEFAULT_MAX_TOKENS, RequestSettings, SettingSpans, pos,
};
use super::schema::ThinkingSpec;
use super::schema::{JobSpec, Settings};
use crate::api::facts::{API_VERSIONS, DEFAULT_API_VERSION, DEFAULT_TOOL, TOOLS};
use crate::api::messages::{ThinkingDisplay, ThinkingMode};
use crate::api::model_facts::{self, EFFORTS, ModelFacts, effort_above};

/// A job's thinking and effort, decided (docs/api.md §13).
#[derive(Default)]
struct Thinking {
    budget: Option<u32>,
    mode: Option<ThinkingMode>,
    display: Option<ThinkingDisplay>,
    effort: Option<String>,
}

/// Picks a job's own setting, else the default.
fn pick<'s, T>(
    job: &'s Option<Spanned<T>>,
    default: Option<&'s Option<Spanned<T>>>,
) -> Option<&'s Spanned<T>> {
    job.as_ref().or_else(|| default.and_then(Option::as_ref))
}

/// `temperature`, `top_p` and `top_k`, as picked.
struct Sampling<'s> {
    temperature: Option<&'s Spanned<f64>>,
    top_p: Option<&'s Spanned<f64>>,
    top_k: Option<&'s Spanned<u32>>,
}

impl Ctx<'_> {
    pub(super) fn settings(
        &mut self,
        job: &JobSpec,
        d: Option<&Settings>,
    ) -> Option<RequestSettings> {
        let before = self.diags.len();
        let model = pick(&job.model, d.map(|d| &d.model));
        if model.is_none() {
            self.err(
                pos(&job.name),
                format!("job `{}` has no `model`", job.name.value),
            )
            .help = Some("set `model` on the job or in `defaults`".into());
        }
        let version = self.api_version(job, d);
        let model_id = model.map(|m| m.value.as_str());
        let facts = model_id.map(model_facts::of).unwrap_or_default();
        let sampling = self.sampling(job, d, version, model_id, &facts);
        let tool = self.tool(job, d);
        let max_tokens = pick(&job.max_tokens, d.map(|d| &d.max_tokens));
        let max_tokens_value = max_tokens.map_or(DEFAULT_MAX_TOKENS, |m| m.value);
        if let Some(m) = max_tokens
            && m.value == 0
        {
            self.err(pos(m), "max_tokens must be at least 1");
        }
        let thinking = self.thinking(job, d, max_tokens_value, &facts);
        let timeout = self.timeout(job, d);
        let max_input_age = self.max_input_age(job, d);
        if self.diags.len() > before {
            return None;
        }
        Some(RequestSettings {
            model: model?.value.clone(),
            max_tokens: max_tokens_value,
            system: pick(&job.system, d.map(|d| &d.system)).map(|s| s.value.clone()),
            api_version: version.to_owned(),
            temperature: sampling.temperature.map(|t| t.value),
            top_p: sampling.top_p.map(|t| t.value),
            top_k: sampling.top_k.map(|t| t.value),
            thinking_budget_tokens: thinking.budget,
            thinking: thinking.mode,
            thinking_display: thinking.display,
            effort: thinking.effort,
            tool: tool.to_owned(),
            max_continuations: pick(&job.max_continuations, d.map(|d| &d.max_continuations))
                .map_or(DEFAULT_MAX_CONTINUATIONS, |m| m.value),
            timeout,
            max_input_age,
        })
    }

    /// `api_version`, one the runner speaks; the default when unset.
    fn api_version<'s>(&mut self, job: &'s JobSpec, d: Option<&'s Settings>) -> &'s str {
        let api_version = pick(&job.api_version, d.map(|d| &d.api_version));
        if let Some(v) = api_version
            && !API_VERSIONS.contains(&v.value.as_str())
        {
            let diag = self.err(
                pos(v),
                format!(
                    "unknown api_version `{}`, expected one of `2026-10-21`, `2023-06-01`",
                    v.value
                ),
            );
            if let Some(near) = did_you_mean(&v.value, API_VERSIONS) {
                diag.help = Some(format!("did you mean `{near}`?"));
            }
        }
        api_version.map_or(DEFAULT_API_VERSION, |v| v.value.as_str())
    }

    /// The sampling parameters, where the API version and the model take them, in range.
    fn sampling<'s>(
        &mut self,
        job: &'s JobSpec,
        d: Option<&'s Settings>,
        version: &str,
        model_id: Option<&str>,
        facts: &ModelFacts,
    ) -> Sampling<'s> {
        let sampling = Sampling {
            temperature: pick(&job.temperature, d.map(|d| &d.temperature)),
            top_p: pick(&job.top_p, d.map(|d| &d.top_p)),
            top_k: pick(&job.top_k, d.map(|d| &d.top_k)),
        };
        let given = [
            ("temperature", sampling.temperature.map(pos)),
            ("top_p", sampling.top_p.map(pos)),
            ("top_k", sampling.top_k.map(pos)),
        ];
        if version == "2026-10-21" {
            for (key, at) in given {
                if let Some(at) = at {
                    self.err(at, format!("`{key}` is rejected by API version 2026-10-21"))
                        .help = Some(format!(
                        "remove `{key}`, or set `api_version: \"2023-06-01\"`, the version that accepts it"
                    ));
                }
            }
        } else if facts.sampling == Some(false)
            && let Some(id) = model_id
        {
            for (key, at) in given {
                if let Some(at) = at {
                    self.err(at, format!("`{key}` is rejected by model `{id}`"))
                        .help = Some(format!(
                        "remove `{key}`: current models do not take sampling parameters (docs/api.md §13.3); steer them with `effort`"
                    ));
                }
            }
        }
        for (key, value) in [
            ("temperature", sampling.temperature),
            ("top_p", sampling.top_p),
        ] {
            if let Some(v) = value
                && !(0.0..=1.0).contains(&v.value)
            {
                self.err(
                    pos(v),
                    format!("{key} {} is out of range, expected 0.0 to 1.0", v.value),
                );
            }
        }
        sampling
    }

    /// `tool`, a code-execution tool version the runner knows; the default when unset.
    fn tool<'s>(&mut self, job: &'s JobSpec, d: Option<&'s Settings>) -> &'s str {
        let tool = pick(&job.tool, d.map(|d| &d.tool));
        if let Some(t) = tool
            && !TOOLS.contains(&t.value.as_str())
        {
            let diag = self.err(
                pos(t),
                format!("unknown tool `{}`, expected one of `code_execution_20250825`, `code_execution_20260120`, `code_execution_20260521`, `code_execution_20250522`", t.value),
            );
            if let Some(near) = did_you_mean(&t.value, TOOLS) {
                diag.help = Some(format!("did you mean `{near}`?"));
            }
        }
        tool.map_or(DEFAULT_TOOL, |t| t.value.as_str())
    }

    /// `max_input_age`, a duration above zero.
    fn max_input_age(&mut self, job: &JobSpec, d: Option<&Settings>) -> Option<Duration> {
        let t = pick(&job.max_input_age, d.map(|d| &d.max_input_age))?;
        match crate::units::parse_duration(&t.value) {
            Ok(value) if !value.is_zero() => Some(value),
            _ => {
                self.err(
                    pos(t),
                    format!("max_input_age `{}` is not a duration above zero", t.value),
                )
                .help = Some("write e.g. `36h`, `2d` or `90m`".into());
                None
            }
        }
    }

    /// `timeout`, a duration above zero.
    fn timeout(&mut self, job: &JobSpec, d: Option<&Settings>) -> Option<Duration> {
        let t = pick(&job.timeout, d.map(|d| &d.timeout))?;
        match crate::units::parse_duration(&t.value) {
            Ok(value) if !value.is_zero() => Some(value),
            _ => {
                self.err(
                    pos(t),
                    format!("timeout `{}` is not a duration above zero", t.value),
                )
                .help = Some("write e.g. `45m`, `2h` or `90s`".into());
                None
            }
        }
    }
}

impl Ctx<'_> {
    /// Where each request setting of `job` was written (its own key, else `defaults`'s).
    pub(super) fn spans(&self, job: &JobSpec, d: Option<&Settings>) -> SettingSpans {
        SettingSpans {
            model: pick(&job.model, d.map(|d| &d.model)).map_or_else(|| pos(&job.name), pos),
            max_tokens: pick(&job.max_tokens, d.map(|d| &d.max_tokens)).map(pos),
            thinking: pick(&job.thinking, d.map(|d| &d.thinking)).map(pos),
            effort: pick(&job.effort, d.map(|d| &d.effort)).map(pos),
            tool: pick(&job.tool, d.map(|d| &d.tool)).map(pos),
        }
    }

    /// `thinking`, `thinking_display` and `effort`, checked against each other and the
    /// model's facts; the model's capabilities are checked against the Models API later.
    fn thinking(
        &mut self,
        job: &JobSpec,
        d: Option<&Settings>,
        max_tokens: u32,
        facts: &ModelFacts,
    ) -> Thinking {
        let mut out = Thinking::default();
        let spec = pick(&job.thinking, d.map(|d| &d.thinking));
        if let Some(at) = spec {
            self.thinking_spec(at, max_tokens, &mut out);
        }
        let display = pick(&job.thinking_display, d.map(|d| &d.thinking_display));
        if let Some(at) = display {
            out.display = self.word(
                at,
                "thinking_display",
                &ThinkingDisplay::ALL,
                ThinkingDisplay::parse,
            );
        }
        let effort = pick(&job.effort, d.map(|d| &d.effort));
        if let Some(at) = effort {
            out.effort = self.word(at, "effort", &EFFORTS, |w| {
                Some(w.to_owned()).filter(|w| EFFORTS.contains(&w.as_str()))
            });
        }
        // A model that thinks anyway is asked to show its notes, so the report keeps them;
        // they are billed whether or not their text comes back (docs/api.md §13.1).
        if spec.is_none() && facts.thinks_by_default {
            out.mode = Some(ThinkingMode::Adaptive);
            out.display = Some(out.display.unwrap_or(ThinkingDisplay::Summarized));
        } else if out.mode == Some(ThinkingMode::Adaptive) && out.display.is_none() {
            out.display = Some(ThinkingDisplay::Summarized);
        }
        if let Some(at) = display {
            self.display_applies(at, &out);
        }
        if let Some(at) = effort {
            self.effort_within_caps(at, &out, facts);
        }
        out
    }

    /// `thinking: { budget_tokens: N }` in range, or a mode's word.
    fn thinking_spec(&mut self, at: &Spanned<ThinkingSpec>, max_tokens: u32, out: &mut Thinking) {
        match &at.value {
            ThinkingSpec::Budget(b) => {
                let budget = b.budget_tokens;
                if budget < 1024 || budget >= max_tokens {
                    self.err(pos(at), format!("thinking.budget_tokens {budget} is out of range, expected at least 1024 and less than max_tokens ({max_tokens})"));
                }
                out.budget = Some(budget);
            }
            ThinkingSpec::Mode(word) => match ThinkingMode::parse(word) {
                Some(m) => out.mode = Some(m),
                None => {
                    let diag = self.err(
                        pos(at),
                        format!("unknown thinking `{word}`, expected `adaptive`, `disabled`, `between_tools` or `{{ budget_tokens: N }}`"),
                    );
                    if let Some(near) = did_you_mean(word, ThinkingMode::ALL) {
                        diag.help = Some(format!("did you mean `{near}`?"));
                    }
                }
            },
        }
    }

    /// A key whose value is one of `words`: parsed, else an error naming them.
    fn word<T>(
        &mut self,
        at: &Spanned<String>,
        key: &str,
        words: &[&str],
        parse: impl Fn(&str) -> Option<T>,
    ) -> Option<T> {
        let parsed = parse(&at.value);
        if parsed.is_none() {
            let expected = match words {
                [a, b] => format!("`{a}` or `{b}`"),
                _ => format!(
                    "one of {}",
                    words
                        .iter()
                        .map(|w| format!("`{w}`"))
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            };
            let diag = self.err(
                pos(at),
                format!("unknown {key} `{}`, expected {expected}", at.value),
            );
            if let Some(near) = did_you_mean(&at.value, words.iter().copied()) {
                diag.help = Some(format!("did you mean `{near}`?"));
            }
        }
        parsed
    }

    /// `thinking_display` shows adaptive or budgeted thinking, nothing else.
    fn display_applies(&mut self, at: &Spanned<String>, out: &Thinking) {
        if out.display.is_none() || out.budget.is_some() || out.mode == Some(ThinkingMode::Adaptive)
        {
            return;
        }
        let msg = match out.mode {
            Some(m) => format!(
                "thinking_display does not apply to `thinking: {}`",
                m.wire()
            ),
            None => {
                "thinking_display needs thinking: this model does not think unless asked".to_owned()
            }
        };
        self.err(pos(at), msg).help =
            Some("set `thinking: adaptive` (or a budget), or remove `thinking_display`".into());
    }

    /// Effort caps of thinking modes the Models API does not describe (docs/api.md §13.2).
    fn effort_within_caps(&mut self, at: &Spanned<String>, out: &Thinking, facts: &ModelFacts) {
        let caps = [
            (ThinkingMode::Disabled, &facts.disabled_max_effort),
            (ThinkingMode::BetweenTools, &facts.between_tools_max_effort),
        ];
        for (mode, cap) in caps {
            if out.mode == Some(mode)
                && let (Some(cap), Some(e)) = (cap, &out.effort)
                && effort_above(e, cap)
            {
                self.err(
                    pos(at),
                    format!(
                        "effort `{e}` is not allowed with `thinking: {}` on this model, at most `{cap}`",
                        mode.wire()
                    ),
                )
                .help = Some(format!(
                    "lower `effort` to `{cap}` or below, or use `thinking: adaptive`"
                ));
            }
        }
    }
}

//! The request settings of a job: its own value of each key, else `defaults`, checked
//! against what the API accepts (docs/api.md §0.3, §3.1).

use serde_saphyr::Spanned;

use super::diagnostic::did_you_mean;
use super::resolve::{Ctx, DEFAULT_MAX_CONTINUATIONS, DEFAULT_MAX_TOKENS, RequestSettings, pos};
use super::schema::{JobSpec, Settings};
use crate::api::facts::{API_VERSIONS, DEFAULT_API_VERSION, DEFAULT_TOOL, TOOLS};

/// Picks a job's own setting, else the default.
fn pick<'s, T>(
    job: &'s Option<Spanned<T>>,
    default: Option<&'s Option<Spanned<T>>>,
) -> Option<&'s Spanned<T>> {
    job.as_ref().or_else(|| default.and_then(Option::as_ref))
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
        let timeout = pick(&job.timeout, d.map(|d| &d.timeout));
        let timeout_value = match timeout.map(|t| (t, crate::units::parse_duration(&t.value))) {
            None => None,
            Some((_, Ok(value))) if !value.is_zero() => Some(value),
            Some((t, _)) => {
                self.err(
                    pos(t),
                    format!("timeout `{}` is not a duration above zero", t.value),
                )
                .help = Some("write e.g. `45m`, `2h` or `90s`".into());
                None
            }
        };
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
            timeout: timeout_value,
        })
    }
}

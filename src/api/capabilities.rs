//! Does a request fit its model? A pure check of a job's request settings against the
//! model's `ModelInfo` (docs/api.md §12.4): the code execution tool, the `thinking` type,
//! the `effort` level, and `max_tokens` against the model's largest. Plain values in and
//! out, so the manifest stage can turn each problem into a diagnostic at its key.
//!
//! What the API does not say is not checked: `capabilities: null`, a capability key that
//! is missing, or a setting whose name the catalogue does not list. Rules between two
//! settings (`between_tools` only up to effort `high`, …) are not in the catalogue either;
//! the API's own 400 reports those.

use super::models::{ModelInfo, supported_names};

/// What a job's requests ask of the model.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Requested<'a> {
    pub max_tokens: u32,
    /// `thinking.type` as sent: `adaptive`, `enabled`, `disabled` or `between_tools`;
    /// `None` when the request sends no `thinking`.
    pub thinking: Option<&'a str>,
    /// `output_config.effort` as sent (`low` … `max`); `None` when not sent.
    pub effort: Option<&'a str>,
    /// The request carries the code execution tool (every request of the runner does).
    pub code_execution: bool,
}

/// The setting a problem is about, so the caller can point at its manifest key.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Setting {
    MaxTokens,
    Thinking,
    Effort,
    Tool,
}

/// One setting the model does not accept.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Problem {
    pub setting: Setting,
    /// What is wrong, naming the model and the value: a phrase without the allowed values.
    pub message: String,
    /// The values the model accepts for this setting (empty: none; the setting must go).
    pub allowed: Vec<String>,
}

/// Every setting of `req` that `info` says the model does not accept.
pub(crate) fn check(info: &ModelInfo, req: &Requested<'_>) -> Vec<Problem> {
    let model = &info.id;
    let mut problems = Vec::new();
    // The largest `max_tokens` is a fact of the model, not a capability: checked even
    // when `capabilities` is null.
    if let Some(max) = info.max_tokens
        && u64::from(req.max_tokens) > max
    {
        problems.push(Problem {
            setting: Setting::MaxTokens,
            message: format!(
                "max_tokens {} is more than `{model}` accepts ({max})",
                req.max_tokens
            ),
            allowed: vec![format!("1 to {max}")],
        });
    }
    let Some(caps) = &info.capabilities else {
        return problems;
    };
    if req.code_execution
        && let Some(tools) = &caps.server_tools
    {
        let tool = tools.code_execution.map(|s| s.supported);
        // With no word on the tool itself, "no server tools at all" still answers it.
        if tool == Some(false) || (tool.is_none() && tools.supported == Some(false)) {
            problems.push(Problem {
                setting: Setting::Tool,
                message: format!("`{model}` does not support the code execution tool"),
                allowed: Vec::new(),
            });
        }
    }
    if let Some(wanted) = req.thinking
        && let Some(types) = caps.thinking.as_ref().and_then(|t| t.types.as_ref())
    {
        let all = types.types();
        let said = all
            .iter()
            .find(|(name, _)| *name == wanted)
            .and_then(|(_, s)| *s);
        if said.is_some_and(|s| !s.supported) {
            problems.push(Problem {
                setting: Setting::Thinking,
                message: format!("`{model}` does not accept thinking `{wanted}`"),
                allowed: supported_names(&all),
            });
        }
    }
    if let Some(wanted) = req.effort
        && let Some(effort) = &caps.effort
    {
        let levels = effort.levels();
        let said = levels
            .iter()
            .find(|(name, _)| *name == wanted)
            .and_then(|(_, s)| *s);
        if effort.supported == Some(false) {
            problems.push(Problem {
                setting: Setting::Effort,
                message: format!("`{model}` does not accept `effort`"),
                allowed: Vec::new(),
            });
        } else if said.is_some_and(|s| !s.supported) {
            problems.push(Problem {
                setting: Setting::Effort,
                message: format!("`{model}` does not accept effort `{wanted}`"),
                allowed: supported_names(&levels),
            });
        }
    }
    problems
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::models::{
        Capabilities, EffortLevels, Lifecycle, ServerTools, Support, ThinkingCapability,
        ThinkingTypes,
    };

    const YES: Option<Support> = Some(Support { supported: true });
    const NO: Option<Support> = Some(Support { supported: false });

    /// Sonnet 5.5 as the catalogue describes it (docs/api.md §12.4): no `enabled` or
    /// `disabled` thinking, every effort level, the tool.
    fn sonnet() -> ModelInfo {
        ModelInfo {
            id: "claude-sonnet-5-5".into(),
            display_name: "Claude Sonnet 5.5".into(),
            created_at: None,
            lifecycle: Lifecycle::Active,
            deprecated_at: None,
            retires_at: None,
            line: Some("sonnet".into()),
            max_input_tokens: Some(1_000_000),
            max_tokens: Some(128_000),
            capabilities: Some(Capabilities {
                batch: YES,
                server_tools: Some(ServerTools {
                    supported: Some(true),
                    code_execution: YES,
                }),
                effort: Some(EffortLevels {
                    supported: Some(true),
                    low: YES,
                    medium: YES,
                    high: YES,
                    xhigh: YES,
                    max: YES,
                }),
                thinking: Some(ThinkingCapability {
                    supported: Some(true),
                    types: Some(ThinkingTypes {
                        adaptive: YES,
                        enabled: NO,
                        disabled: NO,
                        between_tools: YES,
                    }),
                }),
            }),
        }
    }

    fn req(max_tokens: u32) -> Requested<'static> {
        Requested {
            max_tokens,
            code_execution: true,
            ..Requested::default()
        }
    }

    #[test]
    fn a_request_the_model_accepts_has_no_problem() {
        let ok = Requested {
            thinking: Some("adaptive"),
            effort: Some("xhigh"),
            ..req(128_000)
        };
        assert_eq!(check(&sonnet(), &ok), []);
    }

    #[test]
    fn each_unsupported_setting_is_one_problem_with_the_allowed_values() {
        let bad = Requested {
            thinking: Some("enabled"),
            ..req(200_000)
        };
        let problems = check(&sonnet(), &bad);
        assert_eq!(
            problems,
            [
                Problem {
                    setting: Setting::MaxTokens,
                    message: "max_tokens 200000 is more than `claude-sonnet-5-5` accepts (128000)"
                        .into(),
                    allowed: vec!["1 to 128000".into()],
                },
                Problem {
                    setting: Setting::Thinking,
                    message: "`claude-sonnet-5-5` does not accept thinking `enabled`".into(),
                    allowed: vec!["adaptive".into(), "between_tools".into()],
                },
            ]
        );
    }

    #[test]
    fn effort_and_the_tool() {
        let mut old = sonnet();
        let caps = old.capabilities.as_mut().unwrap();
        caps.effort = Some(EffortLevels {
            supported: Some(true),
            low: YES,
            medium: YES,
            high: YES,
            xhigh: NO,
            max: NO,
        });
        caps.server_tools = Some(ServerTools {
            supported: Some(false),
            code_execution: None,
        });
        let asked = Requested {
            effort: Some("max"),
            ..req(1000)
        };
        let found: Vec<(Setting, Vec<String>)> = check(&old, &asked)
            .into_iter()
            .map(|p| (p.setting, p.allowed))
            .collect();
        assert_eq!(
            found,
            [
                (Setting::Tool, vec![]),
                (
                    Setting::Effort,
                    vec!["low".to_owned(), "medium".into(), "high".into()]
                )
            ]
        );
        old.capabilities.as_mut().unwrap().effort = Some(EffortLevels {
            supported: Some(false),
            ..EffortLevels::default()
        });
        let problems = check(&old, &asked);
        assert_eq!(
            problems[1].message,
            "`claude-sonnet-5-5` does not accept `effort`"
        );
    }

    #[test]
    fn what_the_catalogue_does_not_say_is_not_checked() {
        let mut quiet = sonnet();
        quiet.capabilities = None;
        let asked = Requested {
            thinking: Some("enabled"),
            effort: Some("max"),
            ..req(64_000)
        };
        assert_eq!(check(&quiet, &asked), [], "capabilities: null");
        quiet.max_tokens = None;
        assert_eq!(check(&quiet, &req(u32::MAX)), [], "no max_tokens either");
        let mut partial = sonnet();
        partial.capabilities = Some(Capabilities::default());
        assert_eq!(check(&partial, &asked), [], "keys missing");
        let future = Requested {
            thinking: Some("sometimes"),
            ..req(1000)
        };
        assert_eq!(
            check(&sonnet(), &future),
            [],
            "a type the catalogue does not name"
        );
    }
}

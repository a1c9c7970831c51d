//! Facts about models that the Models API does not expose (docs/api.md §13), as dated data
//! (`model_facts.toml`): which models think when a request has no `thinking` field, which
//! take sampling parameters, and the effort caps of their thinking modes.

use std::sync::LazyLock;

use serde::Deserialize;

/// What the runner knows of one model beyond the catalogue.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct ModelFacts {
    /// Thinks (adaptively) when the request sends no `thinking` field.
    pub thinks_by_default: bool,
    /// `Some(false)`: non-default `temperature`/`top_p`/`top_k` are a 400 under any API
    /// version; `None`: not known, left to the API.
    pub sampling: Option<bool>,
    /// The highest effort allowed with `thinking: disabled`.
    pub disabled_max_effort: Option<String>,
    /// The highest effort allowed with `thinking: between_tools`.
    pub between_tools_max_effort: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    model: Vec<Row>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Row {
    ids: Vec<String>,
    thinks_by_default: bool,
    sampling: bool,
    disabled_max_effort: Option<String>,
    between_tools_max_effort: Option<String>,
    #[expect(dead_code, reason = "documents the row; read by people")]
    source: String,
    #[expect(dead_code, reason = "documents the row; read by people")]
    as_of: toml::value::Datetime,
}

static ROWS: LazyLock<Vec<Row>> = LazyLock::new(|| {
    // Our own data, checked by a test: broken built-in facts are a bug of this release.
    toml::from_str::<File>(include_str!("model_facts.toml"))
        .map(|f| f.model)
        .unwrap_or_else(|e| panic!("the built-in model facts are broken: {e}"))
});

/// The facts of `model` (an id or alias); unknown models get the cautious default: no
/// thinking field sent, sampling left to the API.
pub(crate) fn of(model: &str) -> ModelFacts {
    ROWS.iter()
        .find(|r| r.ids.iter().any(|id| id == model))
        .map(|r| ModelFacts {
            thinks_by_default: r.thinks_by_default,
            sampling: Some(r.sampling),
            disabled_max_effort: r.disabled_max_effort.clone(),
            between_tools_max_effort: r.between_tools_max_effort.clone(),
        })
        .unwrap_or_default()
}

/// Effort levels, lowest first (docs/api.md §13.2).
pub(crate) const EFFORTS: [&str; 5] = ["low", "medium", "high", "xhigh", "max"];

/// Whether effort `a` is above effort `b` (unknown words are never above).
pub(crate) fn effort_above(a: &str, b: &str) -> bool {
    let rank = |e: &str| EFFORTS.iter().position(|x| *x == e);
    matches!((rank(a), rank(b)), (Some(a), Some(b)) if a > b)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_built_in_facts_parse_and_name_every_current_model() {
        for id in [
            "claude-opus-5-5",
            "claude-sonnet-5-5",
            "claude-haiku-5-5",
            "claude-fable-5-2",
        ] {
            assert!(of(id).thinks_by_default, "{id}");
            assert_eq!(of(id).sampling, Some(false), "{id}");
        }
        assert!(!of("claude-haiku-4-5").thinks_by_default);
        assert_eq!(of("claude-haiku-4-5").sampling, Some(true));
        assert_eq!(of("claude-next-9"), ModelFacts::default());
        assert_eq!(
            of("claude-sonnet-5-5").between_tools_max_effort.as_deref(),
            Some("high")
        );
    }

    #[test]
    fn efforts_are_ordered() {
        assert!(effort_above("xhigh", "high"));
        assert!(!effort_above("medium", "high"));
        assert!(!effort_above("extreme", "low"));
    }
}

//! The Models API (docs/api.md §12): `GET /v1/models/{id}` (one model, by id or alias) and
//! `GET /v1/models` (the catalogue, newest first, paged by `after_id`), and the wire types
//! of what they answer. Only the fields the runner reads are typed; any of them may be
//! missing from a server that predates it, and a missing one is "unknown", never "false".

use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::client::ApiClient;
use super::error::ApiError;
use super::files::path_segment;
use super::retry::{GaveUp, RetryPolicy, retry};

/// A catalogue call is small; a server that takes longer is treated as unreachable
/// (the run then goes on unchecked, docs/api.md §12.3).
const MODELS_TIMEOUT: Duration = Duration::from_secs(30);

/// Models per listed page: the API's maximum (docs/api.md §12.1).
const PAGE_LIMIT: u32 = 1000;

/// A model's place in its life (docs/api.md §12.2). A value this runner does not know
/// reads as [`Lifecycle::Unknown`] and is treated like `active`: nothing is refused on a
/// word the runner cannot read.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum Lifecycle {
    Active,
    /// Still callable (for organisations with access); `retires_at` says until when.
    Deprecated,
    /// Requests fail (404 on `POST /v1/messages`).
    Retired,
    #[default]
    #[serde(other)]
    Unknown,
}

impl Lifecycle {
    pub(crate) const ALL: [Lifecycle; 3] =
        [Lifecycle::Active, Lifecycle::Deprecated, Lifecycle::Retired];

    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Lifecycle::Active => "active",
            Lifecycle::Deprecated => "deprecated",
            Lifecycle::Retired => "retired",
            Lifecycle::Unknown => "unknown",
        }
    }
}

/// `ModelInfo` (docs/api.md §12.2): the runner's fields of it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub(crate) struct ModelInfo {
    pub id: String,
    #[serde(default)]
    pub display_name: String,
    #[serde(default)]
    pub created_at: Option<jiff::Timestamp>,
    #[serde(default)]
    pub lifecycle: Lifecycle,
    #[serde(default)]
    pub deprecated_at: Option<jiff::Timestamp>,
    /// When it retires (deprecated) or retired; may be revised until it happens.
    #[serde(default)]
    pub retires_at: Option<jiff::Timestamp>,
    /// `haiku`, `sonnet`, `opus`, …: its replacements are the active models of the same
    /// line. Never inferred from the id (docs/api.md §12.2).
    #[serde(default)]
    pub line: Option<String>,
    /// The context window.
    #[serde(default)]
    pub max_input_tokens: Option<u64>,
    /// The largest `max_tokens` a request may ask for.
    #[serde(default)]
    pub max_tokens: Option<u64>,
    /// `null` when the API does not say: then no capability is checked.
    #[serde(default)]
    pub capabilities: Option<Capabilities>,
}

/// `{"supported": bool}`, the shape of every capability.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Support {
    pub supported: bool,
}

/// `ModelCapabilities`: the parts a request of the runner depends on.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Capabilities {
    #[serde(default)]
    pub batch: Option<Support>,
    #[serde(default)]
    pub server_tools: Option<ServerTools>,
    #[serde(default)]
    pub effort: Option<EffortLevels>,
    #[serde(default)]
    pub thinking: Option<ThinkingCapability>,
}

/// `capabilities.server_tools`. Its `code_execution` is the tool the runner sends; the
/// top-level `capabilities.code_execution` is something else (programmatic tool calling).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct ServerTools {
    #[serde(default)]
    pub supported: Option<bool>,
    /// True when the model supports at least one version of the tool.
    #[serde(default)]
    pub code_execution: Option<Support>,
}

/// `capabilities.effort`: whether `output_config.effort` is accepted, and which levels.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct EffortLevels {
    #[serde(default)]
    pub supported: Option<bool>,
    #[serde(default)]
    pub low: Option<Support>,
    #[serde(default)]
    pub medium: Option<Support>,
    #[serde(default)]
    pub high: Option<Support>,
    #[serde(default)]
    pub xhigh: Option<Support>,
    #[serde(default)]
    pub max: Option<Support>,
}

impl EffortLevels {
    /// Each level the API names, in increasing order, with what it says of it.
    pub(crate) fn levels(&self) -> [(&'static str, Option<Support>); 5] {
        [
            ("low", self.low),
            ("medium", self.medium),
            ("high", self.high),
            ("xhigh", self.xhigh),
            ("max", self.max),
        ]
    }
}

/// `capabilities.thinking`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct ThinkingCapability {
    #[serde(default)]
    pub supported: Option<bool>,
    #[serde(default)]
    pub types: Option<ThinkingTypes>,
}

/// `capabilities.thinking.types`: each `thinking.type` a request may send. `disabled` is
/// true on a model that does not think at all.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct ThinkingTypes {
    #[serde(default)]
    pub adaptive: Option<Support>,
    #[serde(default)]
    pub enabled: Option<Support>,
    #[serde(default)]
    pub disabled: Option<Support>,
    #[serde(default)]
    pub between_tools: Option<Support>,
}

impl ThinkingTypes {
    /// Each type the API names, with what it says of it.
    pub(crate) fn types(&self) -> [(&'static str, Option<Support>); 4] {
        [
            ("adaptive", self.adaptive),
            ("enabled", self.enabled),
            ("disabled", self.disabled),
            ("between_tools", self.between_tools),
        ]
    }
}

/// The names in `[(name, support)]` that are supported.
pub(crate) fn supported_names(items: &[(&'static str, Option<Support>)]) -> Vec<String> {
    items
        .iter()
        .filter(|(_, s)| s.is_some_and(|s| s.supported))
        .map(|(name, _)| (*name).to_owned())
        .collect()
}

/// One page of `GET /v1/models`.
#[derive(Debug, Deserialize)]
pub(crate) struct ModelPage {
    pub data: Vec<ModelInfo>,
    #[serde(default)]
    pub has_more: bool,
    #[serde(default)]
    pub last_id: Option<String>,
}

impl ApiClient {
    /// `GET /v1/models/{id}`: one model, by id or alias. A 404 means the API does not know
    /// the id at all (retired models are still answered, with `lifecycle: "retired"`).
    pub(crate) async fn model(
        &self,
        id: &str,
        version: &str,
        attempt: u32,
    ) -> Result<ModelInfo, ApiError> {
        let endpoint = "GET /v1/models/{id}";
        let req = self
            .http
            .get(format!("{}/v1/models/{}", self.base, path_segment(id)))
            .headers(self.headers(version, attempt))
            .timeout(MODELS_TIMEOUT);
        self.send_json(&self.files_gate, endpoint, req).await
    }

    /// `GET /v1/models?limit=…[&after_id=…][&lifecycle[]=…]`: one page of the catalogue.
    /// No `lifecycle` asks for the API's default (active and deprecated).
    pub(crate) async fn models_page(
        &self,
        after_id: Option<&str>,
        lifecycles: &[Lifecycle],
        version: &str,
        attempt: u32,
    ) -> Result<ModelPage, ApiError> {
        let endpoint = "GET /v1/models";
        let mut url = reqwest::Url::parse(&format!("{}/v1/models", self.base))
            .map_err(|e| ApiError::local(endpoint, e.to_string()))?;
        {
            let mut q = url.query_pairs_mut();
            q.append_pair("limit", &PAGE_LIMIT.to_string());
            if let Some(after) = after_id {
                q.append_pair("after_id", after);
            }
            for l in lifecycles {
                q.append_pair("lifecycle[]", l.as_str());
            }
        }
        let req = self
            .http
            .get(url)
            .headers(self.headers(version, attempt))
            .timeout(MODELS_TIMEOUT);
        self.send_json(&self.files_gate, endpoint, req).await
    }

    /// Every page of the catalogue, each page with its own retries.
    pub(crate) async fn all_models(
        &self,
        lifecycles: &[Lifecycle],
        version: &str,
        policy: &RetryPolicy,
    ) -> Result<Vec<ModelInfo>, GaveUp> {
        let mut models = Vec::new();
        let mut after: Option<String> = None;
        loop {
            let page = retry(policy, |attempt| {
                self.models_page(after.as_deref(), lifecycles, version, attempt)
            })
            .await?;
            models.extend(page.data);
            match page.last_id {
                // A cursor that does not move would loop forever.
                Some(last) if page.has_more && after.as_deref() != Some(last.as_str()) => {
                    after = Some(last);
                }
                _ => break,
            }
        }
        Ok(models)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn model_info_reads_the_sdk_shape_and_tolerates_what_it_lacks() {
        let full = serde_json::json!({
            "type": "model", "id": "claude-opus-5-5", "display_name": "Claude Opus 5.5",
            "created_at": "2026-09-22T00:00:00Z", "lifecycle": "active",
            "deprecated_at": null, "retires_at": null, "line": "opus",
            "max_input_tokens": 1_000_000, "max_tokens": 128_000,
            "capabilities": {
                "batch": {"supported": true}, "citations": {"supported": true},
                "code_execution": {"supported": false},
                "server_tools": {"supported": true, "code_execution": {"supported": true}},
                "effort": {"supported": true, "low": {"supported": true}, "max": {"supported": false}},
                "thinking": {"supported": true, "types": {"adaptive": {"supported": true}, "disabled": {"supported": false}}}
            }
        });
        let info: ModelInfo = serde_json::from_value(full).unwrap();
        assert_eq!(info.lifecycle, Lifecycle::Active);
        assert_eq!(info.line.as_deref(), Some("opus"));
        let caps = info.capabilities.as_ref().unwrap();
        let tool = caps.server_tools.as_ref().unwrap().code_execution;
        assert_eq!(tool, Some(Support { supported: true }));
        let effort = caps.effort.as_ref().unwrap();
        assert_eq!(supported_names(&effort.levels()), ["low"]);
        // The cache writes what it read, and reads it back the same.
        let again: ModelInfo =
            serde_json::from_value(serde_json::to_value(&info).unwrap()).unwrap();
        assert_eq!(again, info);

        let bare: ModelInfo = serde_json::from_value(serde_json::json!({
            "id": "claude-x", "lifecycle": "sunsetting", "capabilities": null
        }))
        .unwrap();
        assert_eq!(
            bare.lifecycle,
            Lifecycle::Unknown,
            "an unknown word is not refused"
        );
        assert_eq!(bare.capabilities, None);
        assert_eq!(bare.max_tokens, None);
    }
}

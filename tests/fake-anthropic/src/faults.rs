//! Scripted failures: pushed per endpoint, served in order to the next
//! requests on that endpoint before any normal handling.

use std::time::Duration;

use serde::Deserialize;

/// An API endpoint of the fake (the control endpoints under `/_fake/` are not
/// endpoints: they are never logged, counted or faulted).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Endpoint {
    /// `POST /v1/files`
    Upload,
    /// `GET /v1/files`
    ListFiles,
    /// `GET /v1/files/{id}`
    GetFile,
    /// `GET /v1/files/{id}/content`
    Download,
    /// `DELETE /v1/files/{id}`
    DeleteFile,
    /// `POST /v1/messages`
    Messages,
    /// `POST /v1/messages/count_tokens` (rate-limited with the Files group here; the real
    /// API limits it on its own)
    CountTokens,
    /// `POST /v1/messages/batches`
    BatchCreate,
    /// `GET /v1/messages/batches/{id}`
    BatchGet,
    /// `GET /v1/messages/batches`
    BatchList,
    /// `GET /v1/messages/batches/{id}/results` (the absolute `results_url`)
    BatchResults,
    /// `POST /v1/messages/batches/{id}/cancel`
    BatchCancel,
    /// `DELETE /v1/messages/batches/{id}`
    BatchDelete,
    /// `GET /v1/models`
    ListModels,
    /// `GET /v1/models/{id}`
    GetModel,
    /// `POST /v1/skills`
    SkillCreate,
    /// `GET /v1/skills`
    SkillList,
    /// `GET /v1/skills/{id}`
    SkillGet,
    /// `DELETE /v1/skills/{id}`
    SkillDelete,
    /// `POST /v1/skills/{id}/versions`
    SkillVersionCreate,
    /// `GET /v1/skills/{id}/versions`
    SkillVersionList,
    /// `GET /v1/skills/{id}/versions/{version}`
    SkillVersionGet,
    /// `DELETE /v1/skills/{id}/versions/{version}`
    SkillVersionDelete,
}

impl Endpoint {
    /// The key used in [`crate::Stats::requests`].
    pub fn name(self) -> &'static str {
        match self {
            Endpoint::Upload => "upload",
            Endpoint::ListFiles => "list_files",
            Endpoint::GetFile => "get_file",
            Endpoint::Download => "download",
            Endpoint::DeleteFile => "delete_file",
            Endpoint::Messages => "messages",
            Endpoint::CountTokens => "count_tokens",
            Endpoint::BatchCreate => "batch_create",
            Endpoint::BatchGet => "batch_get",
            Endpoint::BatchList => "batch_list",
            Endpoint::BatchResults => "batch_results",
            Endpoint::BatchCancel => "batch_cancel",
            Endpoint::BatchDelete => "batch_delete",
            Endpoint::ListModels => "list_models",
            Endpoint::GetModel => "get_model",
            Endpoint::SkillCreate => "skill_create",
            Endpoint::SkillList => "skill_list",
            Endpoint::SkillGet => "skill_get",
            Endpoint::SkillDelete => "skill_delete",
            Endpoint::SkillVersionCreate => "skill_version_create",
            Endpoint::SkillVersionList => "skill_version_list",
            Endpoint::SkillVersionGet => "skill_version_get",
            Endpoint::SkillVersionDelete => "skill_version_delete",
        }
    }

    /// Rate limits are kept per group, as the real API limits Files and
    /// Messages separately.
    pub(crate) fn is_files(self) -> bool {
        self != Endpoint::Messages
    }
}

/// One scripted failure.
#[derive(Clone, Debug, PartialEq)]
pub enum Fault {
    /// Answer with this error (body of docs/api.md §4.1).
    Status {
        status: u16,
        error_type: String,
        error_code: Option<String>,
        /// Seconds; sent as `retry-after` and as `retry-after-ms`.
        retry_after: Option<f64>,
        /// Sent as `x-should-retry: true|false`.
        should_retry: Option<bool>,
    },
    /// Close the connection before any response byte is written.
    DropConnection,
    /// Serve the normal response with only half of its body (and a matching
    /// `Content-Length`), so the client sees a short file.
    ShortBody,
    /// Wait, then handle normally.
    Delay(Duration),
    /// Park until [`crate::FakeServer::release_held`], then handle normally.
    Hold,
    /// Handle normally (a batch is created, a file stored), then close the connection
    /// without writing the response: an answer lost on its way back, so the client
    /// cannot tell whether its request took effect.
    DropResponse,
    /// Handle normally, then park the response until [`crate::FakeServer::release_held`]
    /// (counted in `Stats::held`): the request took effect and the client has not heard.
    HoldResponse,
    /// Answer 200 with exactly this body (`content-type: application/json`,
    /// whatever it holds), as a broken proxy or a server bug would: for testing
    /// what a client does with malformed JSON, missing fields or a lying size.
    RawBody(String),
}

impl Fault {
    /// An error with the `error.type` that docs/api.md §4.2 pairs with `code`.
    pub fn status(code: u16) -> Fault {
        Fault::Status {
            status: code,
            error_type: crate::errors::default_error_type(code).to_owned(),
            error_code: None,
            retry_after: None,
            should_retry: None,
        }
    }

    /// 429 `rate_limit_error` with `retry-after` (+ `retry-after-ms`).
    pub fn rate_limited(retry_after_secs: f64) -> Fault {
        Fault::Status {
            status: 429,
            error_type: "rate_limit_error".to_owned(),
            error_code: None,
            retry_after: Some(retry_after_secs),
            should_retry: None,
        }
    }

    /// The monthly spend cap: 429 with `enforced_spend_limit_reached` and no
    /// `retry-after`; a client must not retry it.
    pub fn spend_cap() -> Fault {
        Fault::Status {
            status: 429,
            error_type: "rate_limit_error".to_owned(),
            error_code: Some("enforced_spend_limit_reached".to_owned()),
            retry_after: None,
            should_retry: None,
        }
    }

    /// 503 `api_error` with `storage_not_ready` (docs/api.md §8.15): the workspace is
    /// still being connected to its storage; the real API says to try again in a minute
    /// and sends no `retry-after`.
    pub fn storage_not_ready() -> Fault {
        Fault::Status {
            status: 503,
            error_type: "api_error".to_owned(),
            error_code: Some("storage_not_ready".to_owned()),
            retry_after: None,
            should_retry: None,
        }
    }

    /// 429 `rate_limit_error` with `ramp_limit_exceeded` and `retry-after` (docs/api.md
    /// §8.15): usage grew too fast; honour the header.
    pub fn ramp_limit_exceeded(retry_after_secs: f64) -> Fault {
        Fault::Status {
            status: 429,
            error_type: "rate_limit_error".to_owned(),
            error_code: Some("ramp_limit_exceeded".to_owned()),
            retry_after: Some(retry_after_secs),
            should_retry: None,
        }
    }

    /// 503 `api_error` with `cmek_context_unavailable` (docs/api.md §8.16): what
    /// `POST /v1/skills` answers while the workspace's encryption context is unavailable;
    /// retry in a few minutes.
    pub fn cmek_context_unavailable() -> Fault {
        Fault::Status {
            status: 503,
            error_type: "api_error".to_owned(),
            error_code: Some("cmek_context_unavailable".to_owned()),
            retry_after: None,
            should_retry: None,
        }
    }

    /// 429 `rate_limit_error` with `contract_spend_limit_reached` and no `retry-after`
    /// (docs/api.md §8.15): a client must not retry it.
    pub fn contract_spend_limit() -> Fault {
        Fault::Status {
            status: 429,
            error_type: "rate_limit_error".to_owned(),
            error_code: Some("contract_spend_limit_reached".to_owned()),
            retry_after: None,
            should_retry: None,
        }
    }
}

/// JSON form of a fault for `POST /_fake/faults`.
#[derive(Debug, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub(crate) enum FaultSpec {
    Status {
        status: u16,
        error_type: Option<String>,
        error_code: Option<String>,
        retry_after: Option<f64>,
        should_retry: Option<bool>,
    },
    RateLimited {
        retry_after: f64,
    },
    SpendCap,
    StorageNotReady,
    RampLimitExceeded {
        retry_after: f64,
    },
    ContractSpendLimit,
    CmekContextUnavailable,
    DropConnection,
    ShortBody,
    Delay {
        ms: u64,
    },
    Hold,
    DropResponse,
    HoldResponse,
    RawBody {
        body: String,
    },
}

impl From<FaultSpec> for Fault {
    fn from(spec: FaultSpec) -> Fault {
        match spec {
            FaultSpec::Status {
                status,
                error_type,
                error_code,
                retry_after,
                should_retry,
            } => Fault::Status {
                status,
                error_type: error_type
                    .unwrap_or_else(|| crate::errors::default_error_type(status).to_owned()),
                error_code,
                retry_after,
                should_retry,
            },
            FaultSpec::RateLimited { retry_after } => Fault::rate_limited(retry_after),
            FaultSpec::SpendCap => Fault::spend_cap(),
            FaultSpec::StorageNotReady => Fault::storage_not_ready(),
            FaultSpec::RampLimitExceeded { retry_after } => Fault::ramp_limit_exceeded(retry_after),
            FaultSpec::ContractSpendLimit => Fault::contract_spend_limit(),
            FaultSpec::CmekContextUnavailable => Fault::cmek_context_unavailable(),
            FaultSpec::DropConnection => Fault::DropConnection,
            FaultSpec::ShortBody => Fault::ShortBody,
            FaultSpec::Delay { ms } => Fault::Delay(Duration::from_millis(ms)),
            FaultSpec::Hold => Fault::Hold,
            FaultSpec::DropResponse => Fault::DropResponse,
            FaultSpec::HoldResponse => Fault::HoldResponse,
            FaultSpec::RawBody { body } => Fault::RawBody(body),
        }
    }
}

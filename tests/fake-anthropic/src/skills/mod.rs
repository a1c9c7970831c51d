//! Agent Skills (docs/api.md §8.16): the Skills API (`/v1/skills…`, GA shapes), the
//! container rules of Messages (`container.skills`), and what the scripted model does
//! with a loaded skill.
//!
//! * `store.rs`: the workspace's custom skills, the Anthropic catalogue, the JSON shapes.
//! * `upload.rs`: the multipart upload of a skill directory.
//! * `frontmatter.rs`: the SKILL.md frontmatter rules.
//! * `api.rs`: the endpoint handlers.
//! * `container.rs`: `container.skills` in Messages and batch items.
//! * `outputs.rs`: the office files and text of the scripted model.

mod api;
pub(crate) mod container;
mod frontmatter;
pub(crate) mod outputs;
pub(crate) mod store;
mod upload;

use hyper::{HeaderMap, Method};
use serde_json::Value;

use crate::errors::{ApiError, Reply};
use crate::faults::Endpoint;
use crate::server::{Ctx, ReqBody};

pub(crate) use container::Loaded;
pub(crate) use store::Store;

/// The `container.skills` one request carried, as recorded in
/// [`crate::Stats::skills_carried`] (docs/api.md §8.16).
#[derive(Clone, Debug, PartialEq)]
pub struct CarriedSkills {
    /// A Message Batch item (recorded at submission) rather than a `POST /v1/messages`
    /// (recorded on arrival, also when the request is then refused or faulted).
    pub batch: bool,
    /// `container` as a string, or `container.id`; `None` when the request named none.
    pub container_id: Option<String>,
    /// `container.skills` exactly as sent; `None` when absent or `null`.
    pub skills: Option<Value>,
}

impl CarriedSkills {
    /// What a Messages body (or batch item `params`) carried.
    pub(crate) fn of(body: &Value, batch: bool) -> CarriedSkills {
        let container = body.get("container");
        let container_id = match container {
            Some(Value::String(id)) => Some(id.clone()),
            Some(Value::Object(o)) => o.get("id").and_then(Value::as_str).map(str::to_owned),
            _ => None,
        };
        let skills = container
            .and_then(|c| c.get("skills"))
            .filter(|s| !s.is_null())
            .cloned();
        CarriedSkills {
            batch,
            container_id,
            skills,
        }
    }
}

/// A route under `/v1/skills`.
#[derive(Clone, Debug)]
pub(crate) enum Route {
    Create,
    List,
    Get(String),
    Delete(String),
    CreateVersion(String),
    ListVersions(String),
    GetVersion(String, String),
    DeleteVersion(String, String),
}

impl Route {
    /// `rest` is the path after `/v1/skills`.
    pub(crate) fn parse(method: &Method, rest: &[&str]) -> Option<Route> {
        let own = |s: &&str| (*s).to_owned();
        Some(match (method, rest) {
            (&Method::POST, []) => Route::Create,
            (&Method::GET, []) => Route::List,
            (&Method::GET, [id]) => Route::Get(own(id)),
            (&Method::DELETE, [id]) => Route::Delete(own(id)),
            (&Method::POST, [id, "versions"]) => Route::CreateVersion(own(id)),
            (&Method::GET, [id, "versions"]) => Route::ListVersions(own(id)),
            (&Method::GET, [id, "versions", v]) => Route::GetVersion(own(id), own(v)),
            (&Method::DELETE, [id, "versions", v]) => Route::DeleteVersion(own(id), own(v)),
            _ => return None,
        })
    }

    pub(crate) fn endpoint(&self) -> Endpoint {
        match self {
            Route::Create => Endpoint::SkillCreate,
            Route::List => Endpoint::SkillList,
            Route::Get(_) => Endpoint::SkillGet,
            Route::Delete(_) => Endpoint::SkillDelete,
            Route::CreateVersion(_) => Endpoint::SkillVersionCreate,
            Route::ListVersions(_) => Endpoint::SkillVersionList,
            Route::GetVersion(..) => Endpoint::SkillVersionGet,
            Route::DeleteVersion(..) => Endpoint::SkillVersionDelete,
        }
    }

    /// Uploads are streamed (a skill may be 30 MB), everything else is buffered.
    pub(crate) fn is_upload(&self) -> bool {
        matches!(self, Route::Create | Route::CreateVersion(_))
    }
}

pub(crate) async fn handle(
    ctx: &Ctx,
    headers: &HeaderMap,
    route: Route,
    query: &str,
    body: ReqBody,
) -> Result<Reply, ApiError> {
    // `anthropic-beta: skills-2025-10-02` would select the beta shapes on the real API
    // (docs/api.md §8.16); the fake answers in the GA shapes whatever the header.
    match route {
        Route::Create => api::create(ctx, headers, body).await,
        Route::CreateVersion(id) => api::create_version(ctx, headers, &id, body).await,
        Route::List => api::list(ctx, query),
        Route::Get(id) => api::get(ctx, &id),
        Route::Delete(id) => api::delete(ctx, &id),
        Route::ListVersions(id) => api::list_versions(ctx, &id, query),
        Route::GetVersion(id, v) => api::get_version(ctx, &id, &v),
        Route::DeleteVersion(id, v) => api::delete_version(ctx, &id, &v),
    }
}

//! The Skills API endpoints (docs/api.md §8.16), GA shapes: create, versions, list,
//! retrieve, delete. Listings are newest first with the opaque `page_…` cursors of the
//! Files list (`{data, next_page}`); Anthropic skills are listed after the custom ones.

use std::collections::BTreeMap;

use hyper::HeaderMap;
use jiff::Timestamp;
use serde_json::{Value, json};

use crate::errors::{ApiError, Reply};
use crate::files::{cursor, parse_cursor, parse_limit, query_pairs};
use crate::server::{Ctx, ReqBody};
use crate::skills::store::{self, Skill, Version};
use crate::skills::{frontmatter, upload};
use crate::state::IdKind;

fn not_found(id: &str) -> ApiError {
    ApiError::not_found(format!("Skill `{id}` not found."))
}

fn version_not_found(id: &str, version: &str) -> ApiError {
    ApiError::not_found(format!("Skill `{id}` has no version `{version}`."))
}

fn read_only(id: &str) -> ApiError {
    ApiError::invalid(format!(
        "Skill `{id}` is an Anthropic skill; Anthropic skills are read-only"
    ))
}

async fn read_upload(headers: &HeaderMap, body: ReqBody) -> Result<upload::Upload, ApiError> {
    match body {
        ReqBody::Streaming(incoming) => upload::read(headers, incoming).await,
        ReqBody::Buffered(_) => Err(ApiError::invalid("files: Field required")),
    }
}

/// `POST /v1/skills`.
pub(crate) async fn create(
    ctx: &Ctx,
    headers: &HeaderMap,
    body: ReqBody,
) -> Result<Reply, ApiError> {
    let up = read_upload(headers, body).await?;
    let meta = frontmatter::parse(&up.skill_md, &up.top)?;
    let skill_id = ctx.shared.new_id(IdKind::Skill);
    let version_id = ctx.shared.new_id(IdKind::SkillVersion);
    let now = Timestamp::now();
    let object = ctx.shared.update(|s| {
        let seq = s.skills.next_seq();
        let version = Version {
            id: version_id,
            seq,
            name: meta.name.clone(),
            description: meta.description,
            created_at: now,
            files: up.files,
        };
        let skill = Skill {
            id: skill_id,
            display_name: up.display_name.unwrap_or_else(|| meta.name.clone()),
            name: meta.name,
            created_at: now,
            updated_at: now,
            versions: BTreeMap::from([(seq, version)]),
        };
        let object = skill.object();
        s.skills.skills.insert(seq, skill);
        s.stats.skills_created += 1;
        object
    });
    Ok(Reply::ok_json(&object))
}

/// `POST /v1/skills/{id}/versions`: the frontmatter name must stay the skill's.
pub(crate) async fn create_version(
    ctx: &Ctx,
    headers: &HeaderMap,
    id: &str,
    body: ReqBody,
) -> Result<Reply, ApiError> {
    let exists = ctx.shared.read(|s| s.skills.skill(id).is_some());
    if !exists {
        body.drain().await;
        return Err(if store::anthropic(id).is_some() {
            read_only(id)
        } else {
            not_found(id)
        });
    }
    let up = read_upload(headers, body).await?;
    let meta = frontmatter::parse(&up.skill_md, &up.top)?;
    let version_id = ctx.shared.new_id(IdKind::SkillVersion);
    let now = Timestamp::now();
    ctx.shared.update(|s| {
        let seq = s.skills.next_seq();
        let skill = s.skills.skill_mut(id).ok_or_else(|| not_found(id))?;
        if meta.name != skill.name {
            return Err(ApiError::invalid(format!(
                "SKILL.md: frontmatter `name` `{}` differs from the skill's name `{}`; a skill's name cannot change",
                meta.name, skill.name
            )));
        }
        let version = Version {
            id: version_id,
            seq,
            name: meta.name,
            description: meta.description,
            created_at: now,
            files: up.files,
        };
        let object = version.object(id);
        skill.versions.insert(seq, version);
        skill.updated_at = now;
        s.stats.skill_versions_created += 1;
        Ok(Reply::ok_json(&object))
    })
}

/// `limit` (1–1000, 20) and `page` over items keyed newest first.
fn page(items: Vec<(u64, Value)>, query: &[(String, String)]) -> Result<Reply, ApiError> {
    let get = |key: &str| {
        query
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    };
    let limit = parse_limit(get("limit"))?;
    let below = match get("page") {
        None | Some("") => u64::MAX,
        Some(p) => parse_cursor(p).ok_or_else(|| ApiError::invalid("page: invalid page cursor"))?,
    };
    let mut rest = items.into_iter().filter(|(k, _)| *k < below);
    let taken: Vec<(u64, Value)> = rest.by_ref().take(limit).collect();
    let next_page = match (rest.next().is_some(), taken.last()) {
        (true, Some((k, _))) => Value::from(cursor(*k)),
        _ => Value::Null,
    };
    let data: Vec<Value> = taken.into_iter().map(|(_, v)| v).collect();
    Ok(Reply::ok_json(
        &json!({"data": data, "next_page": next_page}),
    ))
}

/// `GET /v1/skills?limit=&page=&source=`.
pub(crate) fn list(ctx: &Ctx, query: &str) -> Result<Reply, ApiError> {
    let pairs = query_pairs(query);
    let source = pairs
        .iter()
        .find(|(k, _)| k == "source")
        .map(|(_, v)| v.as_str())
        .filter(|v| !v.is_empty());
    if let Some(src) = source
        && !["custom", "anthropic", "anthropic_example", "plugin"].contains(&src)
    {
        return Err(ApiError::invalid(format!(
            "source: `{src}` is not a skill source; use `custom` or `anthropic`"
        )));
    }
    let items = ctx.shared.read(|s| s.skills.listing(source));
    page(items, &pairs)
}

/// `GET /v1/skills/{id}`.
pub(crate) fn get(ctx: &Ctx, id: &str) -> Result<Reply, ApiError> {
    let object = ctx.shared.read(|s| s.skills.skill(id).map(Skill::object));
    object
        .or_else(|| store::anthropic_object(id))
        .map(|o| Reply::ok_json(&o))
        .ok_or_else(|| not_found(id))
}

/// `DELETE /v1/skills/{id}`: the skill with every version (the GA semantics are
/// UNCONFIRMED; the beta namespace did so, docs/api.md §8.16).
pub(crate) fn delete(ctx: &Ctx, id: &str) -> Result<Reply, ApiError> {
    if store::anthropic(id).is_some() {
        return Err(read_only(id));
    }
    ctx.shared.update(|s| {
        if !s.skills.remove(id) {
            return Err(not_found(id));
        }
        s.skills.blocked.remove(id);
        s.stats.skills_deleted += 1;
        Ok(Reply::ok_json(&json!({"id": id, "type": "skill_deleted"})))
    })
}

/// `GET /v1/skills/{id}/versions`.
pub(crate) fn list_versions(ctx: &Ctx, id: &str, query: &str) -> Result<Reply, ApiError> {
    let items = if store::anthropic(id).is_some() {
        store::anthropic_versions(id)
    } else {
        ctx.shared
            .read(|s| {
                s.skills.skill(id).map(|skill| {
                    skill
                        .versions
                        .iter()
                        .rev()
                        .map(|(k, v)| (*k, v.object(id)))
                        .collect::<Vec<_>>()
                })
            })
            .ok_or_else(|| not_found(id))?
    };
    page(items, &query_pairs(query))
}

/// `GET /v1/skills/{id}/versions/{version}` (a version id or `latest`).
pub(crate) fn get_version(ctx: &Ctx, id: &str, version: &str) -> Result<Reply, ApiError> {
    if store::anthropic(id).is_some() {
        let versions = store::anthropic_versions(id);
        let found = if version == "latest" {
            versions.first()
        } else {
            versions.iter().find(|(_, v)| v["id"] == version)
        };
        return found
            .map(|(_, v)| Reply::ok_json(v))
            .ok_or_else(|| version_not_found(id, version));
    }
    ctx.shared.read(|s| {
        let skill = s.skills.skill(id).ok_or_else(|| not_found(id))?;
        let v = skill
            .version(version)
            .ok_or_else(|| version_not_found(id, version))?;
        Ok(Reply::ok_json(&v.object(id)))
    })
}

/// `DELETE /v1/skills/{id}/versions/{version}`: by version id (SDK 2.17: "by its version
/// ID"); the only version of a skill cannot be deleted (a skill holds at least one; delete
/// the skill instead).
pub(crate) fn delete_version(ctx: &Ctx, id: &str, version: &str) -> Result<Reply, ApiError> {
    if store::anthropic(id).is_some() {
        return Err(read_only(id));
    }
    ctx.shared.update(|s| {
        let skill = s.skills.skill_mut(id).ok_or_else(|| not_found(id))?;
        let Some(seq) = skill
            .versions
            .values()
            .find(|v| v.id == version)
            .map(|v| v.seq)
        else {
            return Err(if version == "latest" {
                ApiError::invalid("version: a version is deleted by its id, not `latest`")
            } else {
                version_not_found(id, version)
            });
        };
        if skill.versions.len() == 1 {
            return Err(ApiError::invalid(format!(
                "Version `{version}` is the only version of skill `{id}`; delete the skill instead"
            )));
        }
        skill.versions.remove(&seq);
        skill.updated_at = Timestamp::now();
        s.stats.skill_versions_deleted += 1;
        Ok(Reply::ok_json(
            &json!({"id": version, "type": "skill_version_deleted"}),
        ))
    })
}

//! `GET /v1/models` and `GET /v1/models/{model_id}` (docs/api.md §8.9): the catalogue
//! as of the fake's `today`.

use serde_json::{Value, json};

use crate::errors::{ApiError, Reply};
use crate::files::query_pairs;
use crate::server::Ctx;

const LIFECYCLES: &[&str] = &["active", "deprecated", "retired"];

/// `GET /v1/models`: `limit` 1..=1000 (20), `before_id` / `after_id`, `lifecycle[]` (or
/// `lifecycle`, repeated or comma-separated) up to 3 values, default active + deprecated;
/// newest first; `{data, has_more, first_id, last_id}`.
pub(crate) fn list(ctx: &Ctx, query: &str) -> Result<Reply, ApiError> {
    let mut limit = 20usize;
    let mut before = None;
    let mut after = None;
    let mut lifecycles: Vec<String> = Vec::new();
    for (k, v) in query_pairs(query) {
        match k.as_str() {
            "limit" => {
                limit = v
                    .parse()
                    .ok()
                    .filter(|n| (1..=1000).contains(n))
                    .ok_or_else(|| {
                        ApiError::invalid("limit: Input should be between 1 and 1000")
                    })?;
            }
            "before_id" => before = Some(v),
            "after_id" => after = Some(v),
            "lifecycle[]" | "lifecycle" => {
                for value in v.split(',').filter(|s| !s.is_empty()) {
                    if !LIFECYCLES.contains(&value) {
                        return Err(ApiError::invalid(format!(
                            "lifecycle: Input should be 'active', 'deprecated' or 'retired' (got {value:?})"
                        )));
                    }
                    lifecycles.push(value.to_owned());
                }
            }
            _ => {}
        }
    }
    if lifecycles.len() > 3 {
        return Err(ApiError::invalid(
            "lifecycle: List should have at most 3 items",
        ));
    }
    if before.is_some() && after.is_some() {
        return Err(ApiError::invalid(
            "before_id and after_id cannot be used together",
        ));
    }
    if lifecycles.is_empty() {
        lifecycles = vec!["active".to_owned(), "deprecated".to_owned()];
    }
    let today = ctx.shared.today();
    let all: Vec<Value> = ctx.shared.read(|s| s.catalogue.listed(today));
    let shown: Vec<Value> = all
        .into_iter()
        .filter(|m| {
            m["lifecycle"]
                .as_str()
                .is_some_and(|l| lifecycles.iter().any(|x| x == l))
        })
        .collect();
    let position = |key: &str, id: &str| {
        shown
            .iter()
            .position(|m| m["id"] == id)
            .ok_or_else(|| ApiError::invalid(format!("{key}: no model {id:?} in this listing")))
    };
    let page: &[Value] = match (&before, &after) {
        (Some(id), _) => {
            let end = position("before_id", id)?;
            &shown[end.saturating_sub(limit)..end]
        }
        (_, Some(id)) => {
            let start = position("after_id", id)? + 1;
            &shown[start..(start + limit).min(shown.len())]
        }
        _ => &shown[..limit.min(shown.len())],
    };
    // has_more: more in the direction of travel (older for after_id / none, newer for
    // before_id), as the SDK's pagination reads it.
    let has_more = match (&before, page.first()) {
        (Some(_), Some(first)) => shown.iter().position(|m| m == first).is_some_and(|i| i > 0),
        (Some(_), None) => false,
        _ => page
            .last()
            .and_then(|last| shown.iter().position(|m| m == last))
            .is_some_and(|i| i + 1 < shown.len()),
    };
    Ok(Reply::ok_json(&json!({
        "data": page,
        "has_more": has_more,
        "first_id": page.first().map(|m| m["id"].clone()),
        "last_id": page.last().map(|m| m["id"].clone()),
    })))
}

/// `GET /v1/models/{model_id}`: an id or an alias; retired models are still described.
pub(crate) fn get(ctx: &Ctx, id: &str) -> Result<Reply, ApiError> {
    let today = ctx.shared.today();
    ctx.shared
        .read(|s| s.catalogue.resolve(id, today))
        .map(|m| Reply::ok_json(&m.info))
        .ok_or_else(|| ApiError::not_found(format!("model: {id}")))
}

//! The metadata of a job's generated files in as few Files requests as the API allows
//! (docs/api.md §2.5): one `GET /v1/files?ids[]=…` per 100 ids, and `GET /v1/files/{id}`
//! only for an id that listing left out (to report the API's own answer for it, or to find
//! a file the listing did not show yet). What is known already is never asked again: the
//! deliverables check and the downloads share one map.

use std::collections::BTreeMap;

use super::ctx::Ctx;
use crate::api::FileMeta;
use crate::api::facts::MAX_IDS_PER_LIST;
use crate::api::retry::retry;
use crate::output::outcome::JobError;
use crate::status::ErrorKind;

/// Adds to `known` the metadata of every id in `ids` it does not hold yet.
pub(crate) async fn fetch_missing(
    ctx: &Ctx,
    ids: &[String],
    known: &mut BTreeMap<String, FileMeta>,
) -> Result<(), JobError> {
    let wanted: Vec<String> = ids
        .iter()
        .filter(|id| !known.contains_key(*id))
        .cloned()
        .collect();
    for chunk in wanted.chunks(MAX_IDS_PER_LIST) {
        let listed = retry(&ctx.settings.policy, |attempt| {
            ctx.client.files_by_ids(chunk, &ctx.files_version, attempt)
        })
        .await
        .map_err(|e| {
            let what = match chunk {
                [one] => format!("generated file {one}"),
                _ => format!("{} generated files", chunk.len()),
            };
            meta_error(what, &e, e.error.request_id.clone(), e.attempts)
        })?;
        // The answer is the server's: only the ids asked for are taken from it.
        for meta in listed {
            if chunk.contains(&meta.id) && !known.contains_key(&meta.id) {
                known.insert(meta.id.clone(), meta);
            }
        }
    }
    let unlisted: Vec<&String> = wanted
        .iter()
        .filter(|id| !known.contains_key(*id))
        .collect();
    for id in unlisted {
        let meta = retry(&ctx.settings.policy, |attempt| {
            ctx.client.file_meta(id, &ctx.files_version, attempt)
        })
        .await
        .map_err(|e| {
            meta_error(
                format!("generated file {id}"),
                &e,
                e.error.request_id.clone(),
                e.attempts,
            )
        })?;
        known.insert(id.clone(), meta);
    }
    Ok(())
}

fn meta_error(
    what: String,
    e: &dyn std::fmt::Display,
    request_id: Option<String>,
    attempts: u32,
) -> JobError {
    JobError {
        kind: ErrorKind::Download,
        message: format!("{what}: {e}"),
        request_id,
        attempts: Some(attempts),
    }
}

//! `runner files list|prune|rm`: the Files API's view of the workspace, this runner's upload
//! cache, and the `job.json` files of output trees. Every call goes through the same
//! retries and rate-limit gates as a run. Prune deletes only files the upload cache says
//! this runner uploaded (for this API base URL and key) and that no given tree references;
//! with `--generated`, also the generated files the trees record as downloaded.

use std::collections::{BTreeMap, BTreeSet};

use camino::{Utf8Path, Utf8PathBuf};
use futures_util::StreamExt;
use serde::Serialize;

use crate::api::retry::retry;
use crate::api::{ApiClient, FileMeta};
use crate::config::{FilesAction, FilesConfig, PruneConfig};
use crate::error::{Error, Exit};
use crate::output::references::{file_references, generated_references, input_references};
use crate::store::StateDir;
use crate::store::upload_cache::UploadCache;
use crate::ui::{self, Display};
use crate::units;

/// Deletions in flight at once.
const DELETES_IN_FLIGHT: usize = 4;

pub(super) async fn files(config: FilesConfig, display: &Display) -> Result<Exit, Error> {
    let state = StateDir::open(&config.state_dir)?;
    let key = config.api.key.clone().ok_or(Error::NoApiKey)?;
    let cache = UploadCache::for_api(&state, &config.api.base_url, key.fingerprint());
    match &config.action {
        FilesAction::List { out, json } => {
            let client = config.api.connect(config.pacing())?;
            list(&config, &client, &cache, out, *json).await
        }
        FilesAction::Prune(prune) => prune_files(&config, &cache, prune, display).await,
        FilesAction::Rm { ids } => {
            let client = config.api.connect(config.pacing())?;
            delete_all(&config, &client, &cache, ids, false, display).await
        }
    }
}

/// A file `files prune` deletes, with its line in the listing.
struct Doomed {
    file_id: String,
    line: String,
}

async fn prune_files(
    config: &FilesConfig,
    cache: &UploadCache,
    prune: &PruneConfig,
    display: &Display,
) -> Result<Exit, Error> {
    // A run writing to a tree may use an upload its job.json does not name yet: no pruning
    // beside it (and no run starts while the deletions go on).
    let _locks = if prune.dry_run {
        Vec::new()
    } else {
        lock_trees(&prune.out)?
    };
    let refs = references(&prune.out, file_references)?;
    let horizon = prune.older_than.and_then(|d| {
        let span = jiff::SignedDuration::try_from(d).ok()?;
        jiff::Timestamp::now().checked_sub(span).ok()
    });
    let mut doomed: Vec<Doomed> = cache
        .entries()
        .into_iter()
        .filter(|e| !refs.contains_key(&e.file_id))
        .filter(|e| horizon.is_none_or(|h| e.uploaded_at < h))
        .map(|e| Doomed {
            line: format!(
                "{}  {}  {}  uploaded {}",
                e.file_id,
                e.name,
                units::bytes(e.size),
                e.uploaded_at.strftime("%Y-%m-%d %H:%M")
            ),
            file_id: e.file_id,
        })
        .collect();
    let client = config.api.connect(config.pacing())?;
    if prune.generated {
        doomed.extend(generated(config, &client, cache, &prune.out, horizon).await?);
    }
    for d in &doomed {
        let would = if prune.dry_run { "would delete " } else { "" };
        ui::stdout(&format!("{would}{}\n", d.line));
    }
    if prune.dry_run {
        if !display.quiet {
            ui::note(&format!(
                "dry run: {} to delete, nothing deleted",
                units::count(doomed.len(), "file")
            ));
        }
        return Ok(Exit::Success);
    }
    let ids: Vec<String> = doomed.into_iter().map(|d| d.file_id).collect();
    delete_all(config, &client, cache, &ids, true, display).await
}

/// The generated files `--generated` deletes: named by the `outputs[]` of a `job.json` in
/// these trees (downloaded, checked against their announced size and saved by this
/// runner; docs/output.md §2.6), still in the workspace (a file pruned before is not
/// deleted again), older than the horizon, and neither a job's input nor one of this
/// runner's uploads (those follow the upload rules).
async fn generated(
    config: &FilesConfig,
    client: &ApiClient,
    cache: &UploadCache,
    out: &[Utf8PathBuf],
    horizon: Option<jiff::Timestamp>,
) -> Result<Vec<Doomed>, Error> {
    let generated = references(out, generated_references)?;
    let inputs = references(out, input_references)?;
    let ours: BTreeSet<String> = cache.entries().into_iter().map(|e| e.file_id).collect();
    let listed = workspace(config, client).await?;
    Ok(listed
        .into_iter()
        .filter(|f| !inputs.contains_key(&f.id) && !ours.contains(&f.id))
        .filter(|f| horizon.is_none_or(|h| f.created_at.is_some_and(|c| c < h)))
        .filter_map(|f| {
            let users = generated.get(&f.id)?;
            Some(Doomed {
                line: format!(
                    "{}  {}  {}  generated for {}",
                    f.id,
                    f.filename,
                    units::bytes(f.size_bytes),
                    users.join(", ")
                ),
                file_id: f.id,
            })
        })
        .collect())
}

/// Each output tree's lock, as an unsharded run takes it. A tree that does not exist is
/// left to [`references`] to refuse.
pub(super) fn lock_trees(out: &[Utf8PathBuf]) -> Result<Vec<fs_err::File>, Error> {
    let mut locks = Vec::new();
    for tree in out.iter().filter(|t| t.is_dir()) {
        locks.extend(super::output_lock::lock(tree, None)?);
    }
    Ok(locks)
}

/// File id → the job folders naming it.
type Refs = BTreeMap<String, Vec<String>>;

/// The file ids `find` finds in these output trees, with the job folders naming each.
fn references(
    out: &[Utf8PathBuf],
    find: fn(&Utf8Path) -> std::io::Result<Refs>,
) -> Result<Refs, Error> {
    let mut refs: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for tree in out {
        let found = find(tree).map_err(|source| Error::ReadRecord {
            path: tree.clone(),
            source,
        })?;
        for (id, users) in found {
            refs.entry(id).or_default().extend(users);
        }
    }
    Ok(refs)
}

#[derive(Serialize)]
struct Listed {
    id: String,
    filename: String,
    size_bytes: u64,
    created_at: Option<jiff::Timestamp>,
    expires_at: Option<jiff::Timestamp>,
    /// The upload cache (this base URL and key) recorded this file's upload.
    uploaded_by_runner: bool,
    /// Job folders of the given output trees whose job.json names the file.
    used_by: Vec<String>,
}

async fn list(
    config: &FilesConfig,
    client: &ApiClient,
    cache: &UploadCache,
    out: &[Utf8PathBuf],
    json: bool,
) -> Result<Exit, Error> {
    let refs = references(out, file_references)?;
    let ours: BTreeSet<String> = cache.entries().into_iter().map(|e| e.file_id).collect();
    let files = workspace(config, client).await?;
    let listed: Vec<Listed> = files
        .into_iter()
        .map(|f| Listed {
            uploaded_by_runner: ours.contains(&f.id),
            used_by: refs.get(&f.id).cloned().unwrap_or_default(),
            id: f.id,
            filename: f.filename,
            size_bytes: f.size_bytes,
            created_at: f.created_at,
            expires_at: f.expires_at,
        })
        .collect();
    let text = if json {
        serde_json::to_string_pretty(&listed).map_err(Error::Json)? + "\n"
    } else {
        listed.iter().map(render).collect()
    };
    ui::stdout(&text);
    Ok(Exit::Success)
}

/// Every file of the workspace, page after page.
async fn workspace(config: &FilesConfig, client: &ApiClient) -> Result<Vec<FileMeta>, Error> {
    let mut files: Vec<FileMeta> = Vec::new();
    let mut page: Option<String> = None;
    loop {
        let got = retry(&config.policy, |attempt| {
            client.files_page(page.as_deref(), &config.api_version, attempt)
        })
        .await
        .map_err(|e| Error::Files(Box::new(e)))?;
        files.extend(got.data);
        match got.next_page {
            // A cursor that does not move would loop forever.
            Some(next) if page.as_deref() != Some(next.as_str()) => page = Some(next),
            _ => break,
        }
    }
    Ok(files)
}

fn render(f: &Listed) -> String {
    let when = |t: Option<jiff::Timestamp>| {
        t.map_or_else(
            || "-".to_owned(),
            |t| t.strftime("%Y-%m-%d %H:%M").to_string(),
        )
    };
    let mut line = format!(
        "{}  {}  {}  created {}  expires {}",
        f.id,
        f.filename,
        units::bytes(f.size_bytes),
        when(f.created_at),
        when(f.expires_at)
    );
    if f.uploaded_by_runner {
        line.push_str("  [runner upload]");
    }
    if !f.used_by.is_empty() {
        line.push_str(&format!("  used by {}", f.used_by.join(", ")));
    }
    line + "\n"
}

/// Deletes each id (a few at a time), reports each failure on its own line, and forgets
/// the deleted ones in the upload cache. With `gone_is_done` (prune), an id the API no
/// longer has counts as deleted: the cache only still remembered it.
async fn delete_all(
    config: &FilesConfig,
    client: &ApiClient,
    cache: &UploadCache,
    ids: &[String],
    gone_is_done: bool,
    display: &Display,
) -> Result<Exit, Error> {
    let results: Vec<(String, Result<(), String>)> = futures_util::stream::iter(ids)
        .map(|id| async move {
            let deleted = retry(&config.policy, |attempt| {
                client.delete_file(id, &config.api_version, attempt)
            })
            .await;
            let result = match deleted {
                Ok(()) => Ok(()),
                Err(e) if e.error.status() == Some(404) && gone_is_done => Ok(()),
                Err(e) if e.error.status() == Some(404) => Err(format!(
                    "no such file in this workspace (deleted already, or a mistyped id){}",
                    e.error
                        .request_id
                        .as_deref()
                        .map(|r| format!("; request id {r}"))
                        .unwrap_or_default()
                )),
                Err(e) => Err(e.to_string()),
            };
            (id.clone(), result)
        })
        .buffered(DELETES_IN_FLIGHT)
        .collect()
        .await;
    let deleted: BTreeSet<String> = results
        .iter()
        .filter(|(_, r)| r.is_ok())
        .map(|(id, _)| id.clone())
        .collect();
    let mut failed = 0;
    for (id, result) in &results {
        match result {
            Ok(()) if !display.quiet => ui::note(&format!("deleted {id}")),
            Ok(()) => {}
            Err(message) => {
                failed += 1;
                ui::note(&format!("error: {id}: {message}"));
            }
        }
    }
    if !display.quiet {
        ui::note(&format!(
            "{} deleted, {} failed",
            units::count(deleted.len(), "file"),
            failed
        ));
    }
    // After the report: the deletions happened whether or not the cache can be saved.
    if !deleted.is_empty() {
        cache.forget(&deleted)?;
    }
    Ok(if failed > 0 {
        Exit::JobsFailed
    } else {
        Exit::Success
    })
}

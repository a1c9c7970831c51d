//! The model check (docs/api.md §12.3): before `run` uploads anything (and before `plan
//! --estimate` counts), each distinct model of the jobs is asked of the Models API once,
//! or taken from the model cache when it was asked within a day; `validate` and `plan`
//! check against the cache alone. What is wrong is judged by `plan/models.rs`; this file
//! only gathers the answers and says what it could not check.
//!
//! A 404 is an answer (no such model). Anything else that keeps failing (the network, a
//! 5xx, a server without the Models API) is not: the run goes on with one warning, using
//! the cached answer however old if there is one, so an unreachable catalogue is never
//! worse than no check at all.

use std::collections::BTreeMap;

use crate::api::ApiClient;
use crate::api::models::{Lifecycle, ModelInfo};
use crate::api::retry::{RetryPolicy, retry};
use crate::error::Error;
use crate::plan::models::{Findings, Known, ModelUse, distinct, evaluate};
use crate::store::StateDir;
use crate::store::model_cache::ModelCache;
use crate::ui::{self, Display};

/// Attempts per catalogue call at most: the check must not hold a run for minutes.
const MAX_ATTEMPTS: u32 = 3;

/// Asks the API about each distinct model of `uses` (through the cache), then checks them;
/// the first error ends the run before anything is uploaded.
pub(super) async fn online(
    client: &ApiClient,
    state: &StateDir,
    uses: &[ModelUse<'_>],
    version: &str,
    policy: &RetryPolicy,
    display: &Display,
) -> Result<(), Error> {
    let policy = RetryPolicy {
        max_attempts: policy.max_attempts.min(MAX_ATTEMPTS),
        ..*policy
    };
    let cache = ModelCache::for_api(state, client.base_url());
    let now = jiff::Timestamp::now();
    let mut known = BTreeMap::new();
    let mut fetched: Vec<(String, ModelInfo)> = Vec::new();
    for model in distinct(uses) {
        let cached = cache.get(model);
        if let Some(c) = cached.as_ref().filter(|c| c.is_fresh(now)) {
            known.insert(model.to_owned(), Known::Info(c.model.clone()));
            continue;
        }
        match retry(&policy, |attempt| client.model(model, version, attempt)).await {
            Ok(info) => {
                fetched.push((model.to_owned(), info.clone()));
                known.insert(model.to_owned(), Known::Info(info));
            }
            Err(e) if e.error.status() == Some(404) => {
                known.insert(model.to_owned(), Known::NotFound);
            }
            Err(e) => {
                let fallback = match &cached {
                    Some(c) => format!(
                        "using what it said on {}",
                        c.fetched_at.strftime("%Y-%m-%d %H:%MZ")
                    ),
                    None => "going on without checking it".to_owned(),
                };
                warn(
                    display,
                    &format!("cannot check model `{model}` with the API ({e}); {fallback}"),
                );
                if let Some(c) = cached {
                    known.insert(model.to_owned(), Known::Info(c.model));
                }
            }
        }
    }
    let refused = known.values().any(|k| match k {
        Known::NotFound => true,
        Known::Info(info) => info.lifecycle == Lifecycle::Retired,
    });
    // The replacements to suggest come from the current listing; only asked when a model
    // is refused, and the cached catalogue stands in when the listing fails.
    let mut catalogue: Vec<ModelInfo> = Vec::new();
    if refused {
        match client.all_models(&[], version, &policy).await {
            Ok(listed) => {
                fetched.extend(listed.iter().map(|m| (m.id.clone(), m.clone())));
                catalogue = listed;
            }
            Err(e) => tracing::info!("cannot list the current models for a suggestion: {e}"),
        }
    }
    if !fetched.is_empty()
        && let Err(e) = cache.record(&fetched)
    {
        warn(display, &crate::error_chain::chain(&e));
    }
    if catalogue.is_empty() {
        catalogue = cache.all().into_iter().map(|c| c.model).collect();
    }
    finish(evaluate(uses, &known, &catalogue, now), display)
}

/// Checks `uses` against the model cache alone, however old its entries (`validate`,
/// `plan`): no network. Says once when this base URL has no cached catalogue.
pub(super) fn offline(
    state: &StateDir,
    base_url: &str,
    uses: &[ModelUse<'_>],
    display: &Display,
) -> Result<(), Error> {
    let cache = ModelCache::for_api(state, base_url);
    let all = cache.all();
    if all.is_empty() {
        if !display.quiet {
            ui::note(&format!(
                "no cached model catalogue for {}; run `runner models` or `runner run` to fetch it",
                base_url.trim_end_matches('/')
            ));
        }
        // Still bounded by what any known model accepts.
        let none = BTreeMap::new();
        return finish(evaluate(uses, &none, &[], jiff::Timestamp::now()), display);
    }
    let mut known = BTreeMap::new();
    let mut unchecked = Vec::new();
    for model in distinct(uses) {
        let found = cache
            .get(model)
            .or_else(|| all.iter().find(|c| c.model.id == model).cloned());
        match found {
            Some(c) => {
                known.insert(model.to_owned(), Known::Info(c.model));
            }
            None => unchecked.push(model),
        }
    }
    if !unchecked.is_empty() && !display.quiet {
        ui::note(&format!(
            "not in the cached model catalogue for {}, so not checked: {}",
            base_url.trim_end_matches('/'),
            unchecked.join(", ")
        ));
    }
    let catalogue: Vec<ModelInfo> = all.into_iter().map(|c| c.model).collect();
    finish(
        evaluate(uses, &known, &catalogue, jiff::Timestamp::now()),
        display,
    )
}

fn finish(findings: Findings, display: &Display) -> Result<(), Error> {
    for w in &findings.warnings {
        warn(display, w);
    }
    match findings.invalid {
        Some(invalid) => Err(Error::Invalid(invalid)),
        None => Ok(()),
    }
}

/// A warning on stderr, unless `-q` (a deprecated model must not mail cron every night).
fn warn(display: &Display, line: &str) {
    if !display.quiet {
        ui::note(&format!("warning: {line}"));
    }
}

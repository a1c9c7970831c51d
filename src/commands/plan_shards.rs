//! `runner plan --shards N --json`: the N shards of the plan as one JSON list, each with its
//! job count and the last known cost of the jobs it would run (as `plan -o` shows them), in
//! the shape a fan-out reads: a GitHub Actions matrix (`fromJSON`) or an Argo `withParam`
//! (docs/unattended.md "Scaling out"). No network, like `plan`.

use serde::Serialize;

use super::plan::make_plan;
use crate::config::PlanConfig;
use crate::error::{Error, Exit};
use crate::output::records::{is_fresh, last_cost};
use crate::plan::shard::Shard;
use crate::ui;

/// One element of the list.
#[derive(Serialize)]
struct ShardEntry {
    /// 0-based, as `JOB_COMPLETION_INDEX`.
    index: u64,
    /// `K/N`, as `--shard` takes it.
    shard: String,
    jobs: usize,
    /// The jobs whose outputs under `-o` are not fresh.
    to_run: usize,
    /// The last known costs of the jobs to run, summed.
    estimated_usd: f64,
    /// Jobs to run with no known cost (not in `estimated_usd`).
    unknown_cost: usize,
}

pub(super) async fn shards(config: &PlanConfig, n: u64) -> Result<Exit, Error> {
    let (plan, _state) = make_plan(&config.manifests, &config.state_dir, &config.known).await?;
    let entries: Vec<ShardEntry> = (1..=n)
        .filter_map(|k| Shard::new(k, n))
        .map(|shard| {
            let jobs: Vec<_> = plan.jobs.iter().filter(|j| shard.holds(&j.id)).collect();
            let to_run: Vec<_> = jobs
                .iter()
                .filter(|j| !is_fresh(&config.out, &j.id, &j.fingerprint))
                .collect();
            let known: Vec<f64> = to_run
                .iter()
                .filter_map(|j| last_cost(&config.out, &j.id))
                .collect();
            ShardEntry {
                index: shard.k() - 1,
                shard: shard.to_string(),
                jobs: jobs.len(),
                to_run: to_run.len(),
                estimated_usd: known.iter().sum(),
                unknown_cost: to_run.len() - known.len(),
            }
        })
        .collect();
    let text = serde_json::to_string_pretty(&entries).map_err(Error::Json)?;
    ui::stdout(&format!("{text}\n"));
    Ok(Exit::Success)
}

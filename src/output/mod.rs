//! The output tree (docs/output.md): each job's folder from its [`JobOutcome`], and
//! `run.json`.
//!
//! A job's documents, `report.md` (`report.rs`), `transcript.md` (`transcript.rs`),
//! `messages.json` and `job.json` (`records.rs`), are written into a [`Staging`] folder
//! (`staging.rs`) beside the job's folder and swapped into place whole, with the
//! `report.html` rendered from them. The generated files are downloaded into the
//! staging `files/` by the engine before this runs, under names from `safe_name.rs`.
//!
//! A failed attempt never replaces a kept success (`attempts.rs`); every run's record also
//! goes to `OUT/runs/<run-id>/` and old runs are pruned (`history.rs`); `diff/` compares two
//! runs of that history (`runner diff`); `junit.rs` writes
//! `--junit`; `batch_journal.rs` keeps batch mode's record of the batches a run created
//! (`OUT/.batches/`), and `batch_intent.rs` what it was about to create.
//!
//! Everything rendered comes from a server: any field may be missing or of an odd type,
//! and rendering never panics on that; `markdown.rs` keeps server text from breaking the
//! documents.
//!
//! `html/` renders each job's `report.html` into its staging folder, from the documents
//! written there, and `OUT/index.html` from the finished tree on disk at the end of a run;
//! `runner report` renders both again.

pub(crate) mod attempts;
pub(crate) mod batch_intent;
pub(crate) mod batch_journal;
pub(crate) mod content_hash;
pub(crate) mod diff;
pub(crate) mod explain;
pub(crate) mod history;
pub(crate) mod html;
pub(crate) mod junit;
pub(crate) mod last_run;
pub(crate) mod markdown;
pub(crate) mod merge;
pub(crate) mod metric_values;
pub(crate) mod metrics;
pub(crate) mod night;
pub(crate) mod office;
pub(crate) mod outcome;
pub(crate) mod records;
pub(crate) mod references;
pub(crate) mod report;
pub(crate) mod safe_name;
pub(crate) mod skill_records;
pub(crate) mod staging;
#[cfg(test)]
pub(crate) mod tests;
pub(crate) mod tool_errors;
pub(crate) mod transcript;

use std::io::{self, BufWriter, Write};

use camino::{Utf8Path, Utf8PathBuf};
use serde::Serialize;
use serde_json::Value;

use outcome::{JobOutcome, RunSummary};
use staging::Staging;

/// Writes the job's documents into `staging`, then swaps it into place.
pub(crate) fn write_job(staging: Staging, outcome: &JobOutcome) -> io::Result<Utf8PathBuf> {
    write_documents(&staging, outcome, html::INDEX_FROM_JOB)?;
    staging.commit()
}

/// Like [`write_job`], but puts the folder at `root/<stem>/<job>` (a failed attempt in the
/// run's history folder, `OUT/runs/<run-id>`).
pub(crate) fn write_job_into(
    staging: Staging,
    outcome: &JobOutcome,
    root: &Utf8Path,
) -> io::Result<Utf8PathBuf> {
    write_documents(&staging, outcome, html::INDEX_FROM_ATTEMPT)?;
    staging.commit_under(root)
}

fn write_documents(staging: &Staging, outcome: &JobOutcome, index_href: &str) -> io::Result<()> {
    crate::atomic::write(
        &staging.path("report.md"),
        report::report_md(outcome).as_bytes(),
    )?;
    crate::atomic::write(
        &staging.path("transcript.md"),
        transcript::transcript_md(outcome).as_bytes(),
    )?;
    write_json(
        &staging.path("messages.json"),
        &records::messages_record(outcome),
    )?;
    write_json(&staging.path("job.json"), &records::job_record(outcome))?;
    // From the documents just written, so the page says exactly what the folder holds. A
    // page is derived (`runner report` makes it again): its failure costs no paid result.
    if let Err(e) = html::write_job_page(&staging.path(""), &outcome.job.id, index_href) {
        tracing::warn!(job = outcome.job.id, "{}", crate::error_chain::chain(&e));
    }
    Ok(())
}

/// Writes the run record `OUT/<name>`: `run.json`, or a shard's `run-shard-K-of-N.json`.
pub(crate) fn write_run_json(
    out_root: &Utf8Path,
    name: &str,
    summary: &RunSummary,
) -> io::Result<()> {
    write_json(&out_root.join(name), summary)
}

fn write_json(path: &Utf8Path, value: &impl Serialize) -> io::Result<()> {
    crate::atomic::write_with(path, |file| {
        let mut w = BufWriter::new(file);
        serde_json::to_writer_pretty(&mut w, value)?;
        w.write_all(b"\n")?;
        w.flush()
    })
}

// Reading raw responses, for the renderers.

pub(crate) fn content_blocks(response: &Value) -> impl Iterator<Item = &Value> {
    response["content"].as_array().into_iter().flatten()
}

pub(crate) fn block_type(block: &Value) -> &str {
    block["type"].as_str().unwrap_or("")
}

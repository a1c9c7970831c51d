//! The deliverables check after a job's last turn (docs/output.md §2.10): are the files its
//! `expect` names among those generated so far? If not, the text of a repair turn to send
//! in the same conversation, up to `repair_turns` times; after that, a `missing_output`
//! failure naming each missing deliverable.
//!
//! Generated files are judged by their metadata (listed by id: name and size,
//! docs/api.md §2.5), never by downloading them; the metadata fetched here is handed to
//! the downloads, so no file's metadata is fetched twice.

use std::collections::BTreeMap;

use super::ctx::Ctx;
use crate::api::FileMeta;
use crate::api::messages as wire;
use crate::manifest::Deliverables;
use crate::output::outcome::{Exchange, JobEnd, JobError};
use crate::plan::PlannedJob;
use crate::plan::expect::{self, Produced};
use crate::status::ErrorKind;

/// The check's state over one conversation.
#[derive(Debug, Default)]
pub(crate) struct Check {
    deliverables: Option<Deliverables>,
    /// Above this many generated files the job fails `--max-files` anyway; no metadata is
    /// fetched for a count the downloads will refuse.
    max_files: usize,
    /// Metadata of the generated files seen so far, by file id.
    pub metas: BTreeMap<String, FileMeta>,
    /// The repair turns sent, as sent.
    pub repair_turns: Vec<String>,
}

impl Check {
    pub(crate) fn new(job: &PlannedJob, max_files: usize) -> Check {
        Check {
            deliverables: job.deliverables.clone(),
            max_files,
            ..Check::default()
        }
    }

    /// Called when the conversation's turns are all done and the last ended normally:
    /// `Ok(Some(text))` is a repair turn to send, `Ok(None)` means nothing more to do,
    /// `Err` ends the job: failed (still missing after every repair turn, metadata
    /// unavailable) or interrupted.
    pub(crate) async fn after_last_turn(
        &mut self,
        ctx: &Ctx,
        exchanges: &[Exchange],
    ) -> Result<Option<String>, JobEnd> {
        let Some(d) = &self.deliverables else {
            return Ok(None);
        };
        let mut ids: Vec<String> = Vec::new();
        for e in exchanges {
            for id in wire::generated_file_ids(&e.response["content"]) {
                if !ids.contains(&id) {
                    ids.push(id);
                }
            }
        }
        if ids.len() > self.max_files {
            return Ok(None);
        }
        let fetch = super::file_metas::fetch_missing(ctx, &ids, &mut self.metas);
        tokio::select! {
            fetched = fetch => fetched.map_err(JobEnd::Failed)?,
            () = ctx.cancel.cancelled() => return Err(JobEnd::Interrupted(
                "the run was interrupted during this job".into(),
            )),
        }
        let files: Vec<Produced<'_>> = ids
            .iter()
            .filter_map(|id| self.metas.get(id))
            .map(|m| Produced {
                name: &m.filename,
                size: m.size_bytes,
            })
            .collect();
        let statuses = expect::evaluate(&d.expect, &files);
        let missing = expect::missing(&d.expect, &statuses);
        if missing.is_empty() {
            return Ok(None);
        }
        if self.repair_turns.len() < d.repair_turns as usize {
            let text = expect::repair_prompt(&missing);
            self.repair_turns.push(text.clone());
            return Ok(Some(text));
        }
        let after = match self.repair_turns.len() {
            0 => "no repair turn allowed (repair_turns: 0)".to_owned(),
            1 => "1 repair turn".to_owned(),
            n => format!("{n} repair turns"),
        };
        Err(JobEnd::Failed(JobError {
            kind: ErrorKind::MissingOutput,
            message: format!("deliverables missing after {after}: {}", missing.join("; ")),
            request_id: exchanges.last().and_then(|e| e.request_id.clone()),
            attempts: None,
        }))
    }
}

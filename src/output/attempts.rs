//! Keeping the last good result (docs/output.md, "Run history"): a failed attempt never
//! replaces a job folder that holds a success; it goes to the run's history folder
//! instead, whole and atomically. Also compares a result's outputs with the previous
//! success, for the run record's `changed`.

use std::borrow::Cow;
use std::io;

use super::outcome::{JobOutcome, LineOutput};
use super::records::read_job_json;
use super::staging::Staging;
use camino::Utf8Path;

/// Where a job's result went and how it compares with the previous success.
#[derive(Debug, Default)]
pub(crate) struct Kept {
    /// `runs/<run-id>/<stem>/<job>` when the failed attempt went to the history folder.
    pub attempt: Option<String>,
    pub outputs: Vec<LineOutput>,
    pub changed: Option<bool>,
}

/// The outputs of the success kept in `OUT/<job_id>/`, if that folder holds one.
pub(crate) fn previous_success(out: &Utf8Path, job_id: &str) -> Option<Vec<LineOutput>> {
    let record = read_job_json(&out.join(job_id).join("job.json"))?;
    if !record.succeeded() {
        return None;
    }
    Some(
        record
            .outputs?
            .into_iter()
            .filter_map(|o| {
                Some(LineOutput {
                    path: o.path?.into_owned(),
                    size: o.size?,
                    blake3: o.blake3?.into_owned(),
                    content_blake3: o.content_blake3.map(Cow::into_owned),
                })
            })
            .collect(),
    )
}

/// Writes `outcome` into `out/<job>` (a success, or a failure with no success to keep),
/// else into `attempts_root/<job>` (`out/runs/<run-id>`).
pub(crate) fn write(
    staging: Staging,
    outcome: &JobOutcome,
    out: &Utf8Path,
    attempts_root: &Utf8Path,
) -> io::Result<Kept> {
    let previous = previous_success(out, &outcome.job.id);
    let outputs: Vec<LineOutput> = outcome
        .outputs
        .iter()
        .map(|f| LineOutput {
            path: f.path.clone(),
            size: f.size,
            blake3: f.blake3.clone(),
            content_blake3: f.content_blake3.clone(),
        })
        .collect();
    let changed = previous.as_ref().map(|p| !same_files(p, &outputs));
    let attempt = if !outcome.succeeded() && previous.is_some() {
        super::write_job_into(staging, outcome, attempts_root)?;
        let rel = attempts_root
            .strip_prefix(out)
            .unwrap_or(attempts_root)
            .join(&outcome.job.id);
        Some(rel.to_string())
    } else {
        let folder = super::write_job(staging, outcome)?;
        keep_report(&folder, attempts_root, &outcome.job.id);
        None
    };
    Ok(Kept {
        attempt,
        outputs,
        changed,
    })
}

/// Copies the report just written into the run's history folder, so `runner diff` can
/// compare it after a later run replaced the job folder (docs/output.md §12). A copy that
/// cannot be written is a warning: it costs no result.
fn keep_report(folder: &Utf8Path, run_dir: &Utf8Path, job_id: &str) {
    let copy = super::history::report_copy(run_dir, job_id);
    let kept = fs_err::read(folder.join("report.md")).and_then(|text| {
        if let Some(parent) = copy.parent() {
            fs_err::create_dir_all(parent)?;
        }
        crate::atomic::write(&copy, &text)
    });
    if let Err(e) = kept {
        tracing::warn!(
            job = job_id,
            "cannot keep a copy of the report for `runner diff`: {e}"
        );
    }
}

/// The same files with the same content, whatever the order: `runner diff`'s comparison
/// of files ([`super::diff::compare_files`]) finds nothing.
fn same_files(a: &[LineOutput], b: &[LineOutput]) -> bool {
    super::diff::compare_files(a, b).is_empty()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn out(path: &str, hash: &str) -> LineOutput {
        LineOutput {
            path: path.into(),
            size: 1,
            blake3: hash.into(),
            content_blake3: None,
        }
    }

    #[test]
    fn outputs_compare_by_name_and_hash_in_any_order() {
        let a = [out("files/a.csv", "1"), out("files/b.png", "2")];
        let b = [out("files/b.png", "2"), out("files/a.csv", "1")];
        assert!(same_files(&a, &b));
        assert!(!same_files(
            &a,
            &[out("files/a.csv", "1"), out("files/b.png", "3")]
        ));
        assert!(!same_files(&a, &a[..1]));
    }

    #[test]
    fn an_image_compares_by_its_content_hash_when_it_has_one() {
        let signed = |bytes: &str, content: &str| LineOutput {
            content_blake3: Some(content.into()),
            ..out("files/plot.png", bytes)
        };
        // Two downloads of the same plot: other bytes, same content.
        assert!(same_files(&[signed("1", "c")], &[signed("2", "c")]));
        assert!(!same_files(&[signed("1", "c")], &[signed("2", "d")]));
        // A record from before content hashes compares by bytes.
        assert!(!same_files(
            &[out("files/plot.png", "1")],
            &[signed("2", "c")]
        ));
        assert!(same_files(
            &[out("files/plot.png", "c")],
            &[signed("2", "c")]
        ));
    }
}

//! `--keep-going`: an invalid manifest or a missing input fails only the jobs it concerns.
//! A problem inside one `jobs:` entry rejects that entry's jobs; a problem with the manifest
//! as a whole (unreadable, not YAML, wrong version, a clashing stem) rejects all of its
//! jobs. Every other job is returned to run.

use std::collections::BTreeSet;

use camino::Utf8PathBuf;

use super::resolve::{self, EmptyEntry, Job};
use super::{Diagnostic, Invalid};

/// Jobs that will not run, with the diagnostics that say why.
#[derive(Debug)]
pub(crate) struct Rejected {
    pub manifest: Utf8PathBuf,
    pub stem: String,
    /// The entry's name (as written, placeholders and all); `None` for the whole manifest.
    pub job: Option<String>,
    pub diagnostics: Vec<Diagnostic>,
}

impl Rejected {
    /// Every diagnostic on one line each, `file:line:column: message (help)`.
    pub(crate) fn message(&self) -> String {
        let lines: Vec<String> = self
            .diagnostics
            .iter()
            .map(|d| match &d.help {
                Some(help) => format!("{d} ({help})"),
                None => d.to_string(),
            })
            .collect();
        lines.join("; ")
    }
}

/// What `--keep-going` loads: the valid jobs, the `for_each` entries that matched no file,
/// the rejected entries, and the whole [`Invalid`] (for printing every diagnostic with its
/// source line).
pub(crate) struct Lenient {
    pub jobs: Vec<Job>,
    pub empty: Vec<EmptyEntry>,
    pub rejected: Vec<Rejected>,
    pub invalid: Option<Invalid>,
}

/// The valid jobs, the empty entries, the rejected ones, and every diagnostic.
pub(crate) fn load_keep_going(manifests: &[Utf8PathBuf], known: &super::Known) -> Lenient {
    let all = resolve::resolve_all(manifests, known);
    let mut in_entry = vec![false; all.diags.len()];
    for e in &all.entries {
        for flag in &mut in_entry[e.from..e.to] {
            *flag = true;
        }
    }
    let whole: BTreeSet<&Utf8PathBuf> = all
        .diags
        .iter()
        .zip(&in_entry)
        .filter(|(_, inside)| !**inside)
        .map(|(d, _)| &d.file)
        .collect();
    let stem = |p: &Utf8PathBuf| p.file_stem().unwrap_or_default().to_owned();
    let mut rejected: Vec<Rejected> = whole
        .iter()
        .map(|file| Rejected {
            manifest: (*file).clone(),
            stem: stem(file),
            job: None,
            diagnostics: all
                .diags
                .iter()
                .filter(|d| &d.file == *file)
                .cloned()
                .collect(),
        })
        .collect();
    rejected.extend(
        all.entries
            .iter()
            .filter(|e| !whole.contains(&e.file))
            .map(|e| Rejected {
                manifest: e.file.clone(),
                stem: stem(&e.file),
                job: Some(e.job.clone()),
                diagnostics: all.diags[e.from..e.to].to_vec(),
            }),
    );
    let jobs = all
        .jobs
        .into_iter()
        .filter(|j| !whole.contains(&j.manifest))
        .collect();
    let empty = all
        .empty
        .into_iter()
        .filter(|e| !whole.contains(&e.manifest))
        .collect();
    let invalid = (!all.diags.is_empty()).then(|| Invalid {
        diagnostics: all.diags,
        sources: all.sources.into_iter().map(|s| (s.path, s.text)).collect(),
    });
    Lenient {
        jobs,
        empty,
        rejected,
        invalid,
    }
}

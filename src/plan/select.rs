//! `--only GLOB`: which jobs of the plan a run takes. A glob matches the job name or
//! `<manifest-stem>/<name>`; `*` does not cross `/`.

use globset::{GlobBuilder, GlobSet, GlobSetBuilder};

use super::{Plan, PlannedJob};

/// A compiled `--only` set (checked before any work, by the configuration).
#[derive(Clone, Debug)]
pub(crate) struct Only {
    patterns: Vec<String>,
    set: GlobSet,
}

/// A `--only` value that is not a glob.
#[derive(Debug, thiserror::Error)]
#[error("--only `{pattern}` is not a valid glob: {reason}")]
pub(crate) struct BadGlob {
    pub pattern: String,
    pub reason: String,
}

impl Only {
    pub(crate) fn new(patterns: &[String]) -> Result<Only, BadGlob> {
        let mut builder = GlobSetBuilder::new();
        for pattern in patterns {
            let glob = GlobBuilder::new(pattern)
                .literal_separator(true)
                .build()
                .map_err(|e| BadGlob {
                    pattern: pattern.clone(),
                    reason: e.kind().to_string(),
                })?;
            builder.add(glob);
        }
        let set = builder.build().map_err(|e| BadGlob {
            pattern: patterns.join(", "),
            reason: e.to_string(),
        })?;
        Ok(Only {
            patterns: patterns.to_vec(),
            set,
        })
    }

    /// No pattern: every job.
    pub(crate) fn is_all(&self) -> bool {
        self.patterns.is_empty()
    }

    pub(crate) fn patterns(&self) -> &[String] {
        &self.patterns
    }

    /// Whether a job of this name and id (`<manifest-stem>/<name>`) is selected.
    pub(crate) fn matches(&self, name: &str, id: &str) -> bool {
        self.is_all() || self.set.is_match(name) || self.set.is_match(id)
    }

    /// The selected jobs in plan order; empty when the patterns match no job.
    pub(crate) fn select<'p>(&self, plan: &'p Plan) -> Vec<&'p PlannedJob> {
        plan.jobs
            .iter()
            .filter(|j| self.is_all() || self.set.is_match(&j.name) || self.set.is_match(&j.id))
            .collect()
    }
}

//! The resolved form of `expect` and `repair_turns`: what a job must produce (checked in
//! `expect.rs`, judged in `plan/expect.rs`).

use globset::{GlobBuilder, GlobMatcher};
use serde::Serialize;

/// Repair turns sent when a deliverable is missing after the last turn, unless set.
pub(crate) const DEFAULT_REPAIR_TURNS: u32 = 1;
/// The most repair turns a manifest may ask for: each one is a paid turn.
pub(crate) const MAX_REPAIR_TURNS: u32 = 3;

/// What a job must produce, and how many repair turns it gets to produce it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub(crate) struct Deliverables {
    pub expect: Vec<Expectation>,
    pub repair_turns: u32,
    /// The `metrics:` file, also one of `expect` (so it is checked and repaired like the
    /// others); absent without `metrics`, so such jobs keep their fingerprint.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub metrics: Option<String>,
}

/// One `expect` entry after placeholders were filled.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub(crate) struct Expectation {
    /// A file name, or a glob of file names (`*` does not cross `/`).
    pub name: String,
    /// Fewest files that must match: `min` for a glob, 1 for a plain name.
    pub min: u32,
    /// Smallest size in bytes a matching file must have to count.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub min_size: Option<u64>,
}

impl Expectation {
    pub(crate) fn is_glob(&self) -> bool {
        is_glob(&self.name)
    }

    /// The compiled glob; `None` for a plain name (compared as is). Entries were checked
    /// when the manifest was read, so a glob that fails here matches nothing.
    pub(crate) fn matcher(&self) -> Option<GlobMatcher> {
        self.is_glob().then(|| compile(&self.name).ok()).flatten()
    }

    /// Whether a file of this name matches the entry (sizes aside).
    pub(crate) fn matches(&self, matcher: Option<&GlobMatcher>, name: &str) -> bool {
        match matcher {
            Some(m) => m.is_match(name),
            None => !self.is_glob() && self.name == name,
        }
    }
}

pub(super) fn is_glob(s: &str) -> bool {
    s.contains(['*', '?', '[', '{'])
}

pub(super) fn compile(pattern: &str) -> Result<GlobMatcher, globset::Error> {
    Ok(GlobBuilder::new(pattern)
        .literal_separator(true)
        .backslash_escape(true)
        .build()?
        .compile_matcher())
}

//! Manifests → checked jobs. [`load`] reads every manifest, applies `defaults`, expands
//! `for_each` and the input globs, fills placeholders, reads prompt files and checks every
//! rule of the manifest format, collecting all problems of all manifests as
//! [`Diagnostic`]s with `file:line:column`.
//!
//! - `schema.rs`: the YAML mirrored as serde types, and parsing with spans; `json_schema.rs`:
//!   the JSON Schema generated from those types (`runner schema`);
//! - `resolve.rs` and `settings.rs`: meaning checks, jobs out;
//! - `expect.rs`: `expect`, `repair_turns`, `metrics` and `alert` checked, into
//!   `deliverables.rs`'s and `alert_rules.rs`'s types;
//! - `money.rs`: each job's prices (`pricing:`) and prompt caching (`cache:`);
//! - `skill_checks.rs`: `skills:` entries checked, into `skills.rs`'s types, with
//!   `skill_spec.rs` (as written) and `skill_folder.rs` (a custom skill folder read and
//!   checked);
//! - `inputs.rs`: paths and globs; `template.rs`: `{{ path }}`-style placeholders;
//!   `matrix.rs`: `matrix:` checked and expanded into cells;
//! - `diagnostic.rs`: the user-facing errors; `shape_errors.rs`: every unknown key and wrong
//!   type of a manifest in one pass.
//!
//! After this stage nothing looks at the manifest again.

pub(crate) mod alert_rules;
pub(crate) mod deliverables;
pub(crate) mod diagnostic;
mod expect;
pub(crate) mod inputs;
mod job_inputs;
pub(crate) mod json_schema;
pub(crate) mod lenient;
mod matrix;
mod money;
pub(crate) mod resolve;
pub(crate) mod schema;
mod settings;
mod shape_errors;
mod skill_checks;
mod skill_folder;
pub(crate) mod skill_spec;
pub(crate) mod skills;
pub(crate) mod template;
#[cfg(test)]
mod tests;

use std::collections::BTreeMap;

use camino::Utf8PathBuf;

pub(crate) use alert_rules::AlertRule;
pub(crate) use deliverables::{Deliverables, Expectation};
pub(crate) use diagnostic::Diagnostic;
pub(crate) use resolve::{EmptyEntry, Job, RequestSettings, Resolved, SettingSpans};
pub(crate) use skills::{Skill, SkillFolder};

/// Every problem of every manifest, with the manifests' texts to show the lines.
#[derive(Debug)]
pub(crate) struct Invalid {
    pub diagnostics: Vec<Diagnostic>,
    /// Manifest texts by path, to show the offending lines.
    pub sources: BTreeMap<Utf8PathBuf, String>,
}

/// What the checks need beyond the manifests: the price table (built-in and the user's)
/// and the day, which picks the price rows in force (docs/api.md §11).
#[derive(Clone, Debug)]
pub(crate) struct Known {
    pub prices: crate::api::prices::PriceTable,
    pub today: jiff::civil::Date,
}

impl Known {
    /// The built-in price table, on `today`.
    #[cfg(test)]
    pub(crate) fn builtin_on(today: jiff::civil::Date) -> Known {
        Known {
            prices: crate::api::prices::PriceTable::builtin(),
            today,
        }
    }
}

/// Reads and checks the manifests; all jobs (and the `for_each` entries that matched no
/// file), or every diagnostic of every manifest.
pub(crate) fn load(manifests: &[Utf8PathBuf], known: &Known) -> Result<Resolved, Invalid> {
    let (sources, result) = resolve::resolve_with_empty(manifests, known);
    result.map_err(|diagnostics| Invalid {
        diagnostics,
        sources: sources.into_iter().map(|s| (s.path, s.text)).collect(),
    })
}

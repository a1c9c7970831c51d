//! A job's name and input files: the checks `resolve.rs` runs on each `jobs:` entry's
//! `name` and `inputs` (globs expanded by `inputs.rs`), against the Files API's rules.

use std::collections::BTreeMap;

use serde_saphyr::Spanned;

use super::diagnostic::Pos;
use super::inputs::{ExpandError, InputFile};
use super::resolve::{Ctx, pos};
use super::template::Vars;
use crate::api::facts::{MAX_INPUT_BYTES, bad_file_name};

impl Ctx<'_> {
    pub(super) fn check_name(&mut self, name: &str, at: Pos) {
        let ok_chars = !name.is_empty()
            && name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'));
        if !ok_chars || name == "." || name == ".." {
            self.err(
                at,
                format!("invalid job name `{name}`, expected letters, digits, `.`, `_` or `-` (and not `.` or `..`)"),
            )
            .help = Some("the name is used as a folder name in the output tree".into());
        }
    }

    pub(super) fn expand_error(&mut self, at: Pos, what: &str, pattern: &str, e: &ExpandError) {
        let d = self.err(at, format!("{what} `{pattern}` {e}"));
        if matches!(e, ExpandError::NoMatch | ExpandError::NotFound) {
            d.help = Some("paths and globs are relative to the manifest's folder".into());
        }
    }

    pub(super) fn inputs(
        &mut self,
        specs: &[Spanned<String>],
        vars: Option<&Vars<'_>>,
    ) -> Vec<InputFile> {
        let mut files: Vec<InputFile> = Vec::new();
        let mut by_name: BTreeMap<String, String> = BTreeMap::new();
        for spec in specs {
            let Some(pattern) = self.render(spec, vars) else {
                continue;
            };
            let found = match self.expander.expand(&self.base, &pattern) {
                Ok(f) => f,
                Err(e) => {
                    self.expand_error(pos(spec), "input", &pattern, &e);
                    continue;
                }
            };
            for f in found {
                if files.iter().any(|g| g.abs == f.abs) {
                    continue;
                }
                if let Some(problem) = bad_file_name(&f.name) {
                    self.err(
                        pos(spec),
                        format!(
                            "input `{}` has a file name the Files API rejects: {problem}",
                            f.rel
                        ),
                    )
                    .help = Some("rename the file".into());
                    continue;
                }
                if f.size > MAX_INPUT_BYTES {
                    self.err(
                        pos(spec),
                        format!(
                            "input `{}` is {} bytes, over the Files API limit of 500 MB",
                            f.rel, f.size
                        ),
                    );
                    continue;
                }
                if let Some(other) = by_name.get(&f.name) {
                    self.err(
                        pos(spec),
                        format!(
                            "inputs `{other}` and `{}` have the same file name `{}`",
                            f.rel, f.name
                        ),
                    )
                    .help = Some(
                        "the container keeps files by name; rename one or split the job".into(),
                    );
                    continue;
                }
                by_name.insert(f.name.clone(), f.rel.clone());
                files.push(f);
            }
        }
        files
    }
}

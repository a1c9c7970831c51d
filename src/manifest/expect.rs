//! `expect` and `repair_turns` checked like every other key (placeholders, globs, sizes,
//! ranges) and resolved into [`Deliverables`].
//!
//! A deliverable is a file at the top level of `$OUTPUT_DIR`, the only place the API
//! returns files from (docs/api.md §0.4), so an entry is a file name or a glob of one, never
//! a path.

use serde_saphyr::Spanned;

use super::deliverables::{
    DEFAULT_REPAIR_TURNS, Deliverables, Expectation, MAX_REPAIR_TURNS, compile, is_glob,
};
use super::diagnostic::Pos;
use super::resolve::{Ctx, pos};
use super::schema::{ExpectSpec, JobSpec, Settings, SizeSpec};
use super::template::{self, Vars};
use crate::units::parse_size;

impl Ctx<'_> {
    /// A job's `expect` (its own, else `defaults`) and `repair_turns`; `None` when it
    /// expects nothing, so such a job is planned, prompted and fingerprinted as before.
    pub(super) fn deliverables(
        &mut self,
        job: &JobSpec,
        d: Option<&Settings>,
        vars: Option<&Vars<'_>>,
    ) -> Option<Deliverables> {
        let repair = job
            .repair_turns
            .as_ref()
            .or_else(|| d.and_then(|d| d.repair_turns.as_ref()));
        if let Some(r) = repair
            && r.value > MAX_REPAIR_TURNS
        {
            self.err(
                pos(r),
                format!(
                    "repair_turns {} is out of range, expected 0 to {MAX_REPAIR_TURNS}",
                    r.value
                ),
            );
        }
        let specs = job
            .expect
            .as_ref()
            .or_else(|| d.and_then(|d| d.expect.as_ref()))?;
        let expect: Vec<Expectation> = specs
            .iter()
            .filter_map(|spec| self.expectation(spec, vars))
            .collect();
        (!expect.is_empty()).then(|| Deliverables {
            expect,
            repair_turns: repair.map_or(DEFAULT_REPAIR_TURNS, |r| r.value),
        })
    }

    fn expectation(
        &mut self,
        spec: &Spanned<ExpectSpec>,
        vars: Option<&Vars<'_>>,
    ) -> Option<Expectation> {
        let (raw, at, min, min_size) = match &spec.value {
            ExpectSpec::Name(name) => (name.as_str(), pos(spec), None, None),
            ExpectSpec::Detailed(d) => (
                d.name.value.as_str(),
                pos(&d.name),
                d.min.as_ref(),
                d.min_size.as_ref(),
            ),
        };
        let before = self.diags.len();
        let name = match template::render(raw, vars) {
            Ok(name) => name,
            Err(e) => {
                self.err(at, e.to_string());
                return None;
            }
        };
        self.check_expect_name(&name, at);
        if let Some(m) = min {
            if !is_glob(&name) {
                self.err(
                    pos(m),
                    format!("`min` applies only to a glob, and `{name}` is one file name"),
                )
                .help = Some("remove `min`, or use a glob such as `*.png`".into());
            } else if m.value == 0 {
                self.err(pos(m), "`min` must be at least 1");
            }
        }
        let min_size = min_size.and_then(|s| match &s.value {
            SizeSpec::Bytes(n) => Some(*n),
            SizeSpec::Text(t) => match parse_size(t) {
                Ok(n) => Some(n),
                Err(why) => {
                    self.err(pos(s), format!("`min_size`: {why}"));
                    None
                }
            },
        });
        (self.diags.len() == before).then(|| Expectation {
            name,
            min: min.map_or(1, |m| m.value),
            min_size,
        })
    }

    fn check_expect_name(&mut self, name: &str, at: Pos) {
        if name.trim().is_empty() {
            self.err(at, "`expect` entry is empty, expected a file name or glob");
        } else if name.contains(['/', '\\']) {
            let last = name.rsplit(['/', '\\']).next().unwrap_or_default();
            self.err(
                at,
                format!("`expect` entry `{name}` is a path, expected a file name or glob"),
            )
            .help = Some(format!(
                "deliverables are files at the top level of $OUTPUT_DIR; write `{last}`"
            ));
        } else if is_glob(name)
            && let Err(e) = compile(name)
        {
            self.err(
                at,
                format!("`expect` entry `{name}` is not a valid glob: {}", e.kind()),
            );
        }
    }
}

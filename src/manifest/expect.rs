//! `expect`, `repair_turns` and `metrics` checked like every other key (placeholders,
//! globs, sizes, ranges) and resolved into [`Deliverables`]; `alert` into `alert_rules.rs`'s
//! types.
//!
//! A deliverable is a file at the top level of `$OUTPUT_DIR`, the only place the API
//! returns files from (docs/api.md §0.4), so an entry is a file name or a glob of one, never
//! a path.

use serde_saphyr::Spanned;

use super::alert_rules::{AlertRule, check_metric_name, parse_rule};
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
            .or_else(|| d.and_then(|d| d.expect.as_ref()));
        let mut expect: Vec<Expectation> = specs
            .into_iter()
            .flatten()
            .filter_map(|spec| self.expectation(spec, vars))
            .collect();
        let metrics = self.metrics_file(job, d, vars);
        if let Some(name) = &metrics
            && !expect.iter().any(|e| !e.is_glob() && e.name == *name)
        {
            expect.push(Expectation {
                name: name.clone(),
                min: 1,
                min_size: None,
            });
        }
        (!expect.is_empty()).then(|| Deliverables {
            expect,
            repair_turns: repair.map_or(DEFAULT_REPAIR_TURNS, |r| r.value),
            metrics,
        })
    }

    /// A job's `metrics:` file name (its own, else `defaults`), checked like a plain
    /// `expect` name: a file at the top level of `$OUTPUT_DIR`, no glob.
    fn metrics_file(
        &mut self,
        job: &JobSpec,
        d: Option<&Settings>,
        vars: Option<&Vars<'_>>,
    ) -> Option<String> {
        let spec = job
            .metrics
            .as_ref()
            .or_else(|| d.and_then(|d| d.metrics.as_ref()))?;
        let at = pos(spec);
        let name = match template::render(&spec.value, vars) {
            Ok(name) => name,
            Err(e) => {
                self.err(at, e.to_string());
                return None;
            }
        };
        let before = self.diags.len();
        if is_glob(&name) {
            self.err(
                at,
                format!("`metrics` `{name}` is a glob, expected one file name"),
            );
        } else {
            self.check_expect_name(&name, at);
        }
        (self.diags.len() == before).then_some(name)
    }

    /// A job's `alert:` rules (its own, else `defaults`), each checked where it is written.
    /// Rules are not part of the fingerprint: changing a threshold re-runs nothing.
    pub(super) fn alerts(&mut self, job: &JobSpec, d: Option<&Settings>) -> Vec<AlertRule> {
        let Some(rules) = job
            .alert
            .as_ref()
            .or_else(|| d.and_then(|d| d.alert.as_ref()))
        else {
            return Vec::new();
        };
        let has_metrics = job.metrics.is_some() || d.is_some_and(|d| d.metrics.is_some());
        let mut out = Vec::new();
        for (metric, text) in rules {
            if !has_metrics {
                self.err(
                    pos(text),
                    format!(
                        "`alert` on `{metric}` needs `metrics:`, the file the values come from"
                    ),
                )
                .help = Some("add `metrics: metrics.json` to the job or to `defaults`".into());
                continue;
            }
            if let Err(why) = check_metric_name(metric) {
                self.err(pos(text), format!("`alert` metric `{metric}`: {why}"));
                continue;
            }
            match parse_rule(&text.value) {
                Ok(test) => out.push(AlertRule {
                    metric: metric.clone(),
                    rule: text.value.trim().to_owned(),
                    test,
                }),
                Err(why) => {
                    self.err(pos(text), why);
                }
            }
        }
        out
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

//! The config file (`--config PATH`, else `runner.toml` in the current folder when
//! present): any `run` option as a TOML key, so crontab lines stay short. Relative paths in
//! it resolve against the file's folder, not cron's working directory; a flag given on the
//! command line wins over the file.

use camino::{Utf8Path, Utf8PathBuf};
use clap::ArgMatches;
use clap::parser::ValueSource;
use serde::Deserialize;

use crate::cli::RunArgs;
use crate::error::Error;

/// The default config file, looked for in the current folder.
pub(super) const DEFAULT_NAME: &str = "runner.toml";

/// The keys of a config file: `runner run`'s long options, with `_` for `-`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct FileOptions {
    /// Manifest paths or globs (`jobs/*.yaml`), used when none is given on the command line.
    manifests: Option<Vec<String>>,
    out: Option<Utf8PathBuf>,
    jobs: Option<u16>,
    uploads: Option<u16>,
    only: Option<Vec<String>>,
    max_attempts: Option<u16>,
    force: Option<bool>,
    /// `--batch`; `--no-batch` on the command line wins.
    batch: Option<bool>,
    cancel_on_interrupt: Option<bool>,
    /// `--batch-deadline`, e.g. `"6h"`.
    batch_deadline: Option<String>,
    /// `--batch-poll`, e.g. `"10s..2m"`.
    batch_poll: Option<String>,
    json: Option<bool>,
    state_dir: Option<Utf8PathBuf>,
    upload_ttl: Option<String>,
    max_file_size: Option<String>,
    max_job_output: Option<String>,
    max_files: Option<usize>,
    max_fail: Option<u32>,
    keep_runs: Option<u32>,
    keep_going: Option<bool>,
    fail_on_alert: Option<bool>,
    junit: Option<Utf8PathBuf>,
    /// `--budget-usd`, as a number of US dollars.
    budget_usd: Option<f64>,
    budget_model_calls: Option<u32>,
    /// `--prices`: a price file, relative to this file's folder.
    prices: Option<Utf8PathBuf>,
    /// Notification targets (`[[notify]]`), and the page their messages link to.
    notify: Option<Vec<super::notify::NotifyEntry>>,
    page_url: Option<String>,
    /// Each notification attempt's bound, e.g. `"3s"`.
    notify_timeout: Option<String>,
}

/// A config file that was read.
#[derive(Debug)]
pub(super) struct Loaded {
    pub path: Utf8PathBuf,
    /// The file's folder: relative paths in it start here.
    dir: Utf8PathBuf,
    options: FileOptions,
}

/// Reads `explicit`, else `cwd/runner.toml` when it exists; `None` when there is neither.
pub(super) fn load(
    explicit: Option<&Utf8Path>,
    cwd: Option<&Utf8Path>,
) -> Result<Option<Loaded>, Error> {
    let path = match (explicit, cwd) {
        (Some(p), _) => p.to_owned(),
        (None, Some(cwd)) if cwd.join(DEFAULT_NAME).is_file() => cwd.join(DEFAULT_NAME),
        (None, _) => return Ok(None),
    };
    let text = fs_err::read_to_string(&path).map_err(|source| Error::ConfigRead {
        path: path.clone(),
        source,
    })?;
    let options: FileOptions = toml::from_str(&text).map_err(|e| Error::ConfigFile {
        path: path.clone(),
        reason: e.to_string(),
    })?;
    let dir = match path.parent() {
        Some(p) if !p.as_str().is_empty() => p.to_owned(),
        _ => Utf8PathBuf::from("."),
    };
    Ok(Some(Loaded { path, dir, options }))
}

impl Loaded {
    fn path_in(&self, p: &Utf8Path) -> Utf8PathBuf {
        if p.is_absolute() {
            p.to_owned()
        } else {
            self.dir.join(p)
        }
    }

    fn bad(&self, key: &str, reason: impl std::fmt::Display) -> Error {
        Error::ConfigFile {
            path: self.path.clone(),
            reason: format!("`{key}`: {reason}"),
        }
    }

    /// The file's `notify` targets, `page_url` and `notify_timeout`, checked.
    pub(super) fn notify(&self) -> Result<crate::notify::Settings, Error> {
        let o = &self.options;
        super::notify::settings(
            o.notify.as_deref().unwrap_or_default(),
            o.page_url.as_deref(),
            o.notify_timeout.as_deref(),
        )
        .map_err(|reason| Error::ConfigFile {
            path: self.path.clone(),
            reason,
        })
    }

    /// The file's `prices`, resolved against its folder.
    pub(super) fn prices(&self) -> Option<Utf8PathBuf> {
        self.options.prices.as_deref().map(|p| self.path_in(p))
    }

    /// The file's `out`, for `runner history` and `runner batches` when `-o` is not given.
    pub(super) fn out(&self, matches: &ArgMatches) -> Option<Utf8PathBuf> {
        let given = matches.value_source("out") == Some(ValueSource::CommandLine);
        let out = self.options.out.as_deref().filter(|_| !given)?;
        Some(self.path_in(out))
    }

    /// Sets each option of `args` that the command line did not give from the file.
    pub(super) fn apply(&self, args: &mut RunArgs, matches: &ArgMatches) -> Result<(), Error> {
        let unset = |id: &str| matches.value_source(id) != Some(ValueSource::CommandLine);
        self.apply_manifests(args)?;
        self.apply_paths(args, &unset);
        self.apply_counts(args, &unset)?;
        self.apply_switches(args, &unset);
        self.apply_batch(args, &unset)?;
        self.apply_limits(args, &unset)
    }

    /// `manifests`, only when the command line names none.
    fn apply_manifests(&self, args: &mut RunArgs) -> Result<(), Error> {
        let Some(globs) = &self.options.manifests else {
            return Ok(());
        };
        if !args.manifests.is_empty() {
            return Ok(());
        }
        for g in globs {
            args.manifests.extend(
                expand(&self.path_in(Utf8Path::new(g))).map_err(|e| self.bad("manifests", e))?,
            );
        }
        Ok(())
    }

    /// The paths, each resolved against the file's folder.
    fn apply_paths(&self, args: &mut RunArgs, unset: &dyn Fn(&str) -> bool) {
        let o = &self.options;
        if unset("out")
            && let Some(v) = &o.out
        {
            args.out = self.path_in(v);
        }
        if unset("state_dir")
            && let Some(v) = &o.state_dir
        {
            args.state.state_dir = Some(self.path_in(v));
        }
        if unset("junit")
            && let Some(v) = &o.junit
        {
            args.junit = Some(self.path_in(v));
        }
    }

    /// How many at once, and how many tries.
    fn apply_counts(&self, args: &mut RunArgs, unset: &dyn Fn(&str) -> bool) -> Result<(), Error> {
        let o = &self.options;
        if unset("jobs")
            && let Some(v) = o.jobs
        {
            args.jobs = self.at_least_one("jobs", v)?;
        }
        if unset("uploads")
            && let Some(v) = o.uploads
        {
            args.uploads = self.at_least_one("uploads", v)?;
        }
        if unset("max_attempts")
            && let Some(v) = o.max_attempts
        {
            args.max_attempts = self.at_least_one("max_attempts", v)?;
        }
        Ok(())
    }

    /// A count the flag also refuses at zero.
    fn at_least_one<T: Default + PartialEq>(&self, key: &str, v: T) -> Result<T, Error> {
        if v == T::default() {
            Err(self.bad(key, "must be at least 1"))
        } else {
            Ok(v)
        }
    }

    /// The switches and lists taken as they are.
    fn apply_switches(&self, args: &mut RunArgs, unset: &dyn Fn(&str) -> bool) {
        let o = &self.options;
        if unset("only")
            && let Some(v) = &o.only
        {
            args.only.clone_from(v);
        }
        for (id, from_file, slot) in [
            ("force", o.force, &mut args.force),
            ("json", o.json, &mut args.json),
            ("keep_going", o.keep_going, &mut args.keep_going),
            ("fail_on_alert", o.fail_on_alert, &mut args.fail_on_alert),
        ] {
            if unset(id)
                && let Some(v) = from_file
            {
                *slot = v;
            }
        }
    }

    /// `batch` (`--no-batch` on the command line wins) and its timing.
    fn apply_batch(&self, args: &mut RunArgs, unset: &dyn Fn(&str) -> bool) -> Result<(), Error> {
        let o = &self.options;
        if unset("batch")
            && unset("no_batch")
            && let Some(v) = o.batch
        {
            args.batch = v;
        }
        if unset("cancel_on_interrupt")
            && let Some(v) = o.cancel_on_interrupt
        {
            args.cancel_on_interrupt = v;
        }
        if unset("batch_deadline")
            && let Some(v) = &o.batch_deadline
        {
            args.batch_deadline =
                Some(crate::units::parse_duration(v).map_err(|e| self.bad("batch_deadline", e))?);
        }
        if unset("batch_poll")
            && let Some(v) = &o.batch_poll
        {
            args.batch_poll.clone_from(v);
        }
        Ok(())
    }

    /// What a run may keep, fail and spend: uploads' lifetime, output sizes, failures,
    /// run folders, the budget.
    fn apply_limits(&self, args: &mut RunArgs, unset: &dyn Fn(&str) -> bool) -> Result<(), Error> {
        let o = &self.options;
        if unset("upload_ttl")
            && let Some(v) = &o.upload_ttl
        {
            args.upload_ttl = Some(v.clone());
        }
        let size = |key: &str, v: &str| crate::units::parse_size(v).map_err(|e| self.bad(key, e));
        if unset("max_file_size")
            && let Some(v) = &o.max_file_size
        {
            args.max_file_size = size("max_file_size", v)?;
        }
        if unset("max_job_output")
            && let Some(v) = &o.max_job_output
        {
            args.max_job_output = size("max_job_output", v)?;
        }
        if unset("max_files")
            && let Some(v) = o.max_files
        {
            args.max_files = v;
        }
        if unset("max_fail")
            && let Some(v) = o.max_fail
        {
            args.max_fail = Some(self.at_least_one("max_fail", v)?);
        }
        if unset("keep_runs")
            && let Some(v) = o.keep_runs
        {
            args.keep_runs = self.at_least_one("keep_runs", v)?;
        }
        if unset("budget_usd")
            && let Some(v) = o.budget_usd
        {
            // Checked with the flag's own rules by the configuration.
            args.budget_usd = Some(v.to_string());
        }
        if unset("budget_model_calls")
            && let Some(v) = o.budget_model_calls
        {
            if !(1..=1000).contains(&v) {
                return Err(self.bad("budget_model_calls", "must be from 1 to 1000"));
            }
            args.budget_model_calls = v;
        }
        Ok(())
    }
}

/// A manifest path, or a glob in its last component (`jobs/*.yaml`), sorted.
fn expand(pattern: &Utf8Path) -> Result<Vec<Utf8PathBuf>, String> {
    let name = pattern.file_name().unwrap_or_default();
    if !name.contains(['*', '?', '[', '{']) {
        return Ok(vec![pattern.to_owned()]);
    }
    let glob = globset::Glob::new(name)
        .map_err(|e| format!("`{pattern}` is not a valid glob: {e}"))?
        .compile_matcher();
    let dir = pattern.parent().unwrap_or(Utf8Path::new("."));
    let mut found: Vec<Utf8PathBuf> = fs_err::read_dir(dir)
        .map_err(|e| e.to_string())?
        .filter_map(Result::ok)
        .filter_map(|e| e.file_name().into_string().ok())
        .filter(|n| glob.is_match(n))
        .map(|n| dir.join(n))
        .collect();
    found.sort();
    if found.is_empty() {
        return Err(format!("`{pattern}` matches no file"));
    }
    Ok(found)
}

/// The `prices` key of `cwd/runner.toml`, for the commands that do not read the rest of the
/// file (`validate`, `plan`): a broken file is not theirs to judge, so it gives `None`.
pub(super) fn prices_only(cwd: Option<&Utf8Path>) -> Option<Utf8PathBuf> {
    let path = cwd?.join(DEFAULT_NAME);
    let text = fs_err::read_to_string(&path).ok()?;
    let table: toml::Table = toml::from_str(&text).ok()?;
    let prices = Utf8Path::new(table.get("prices")?.as_str()?);
    Some(if prices.is_absolute() {
        prices.to_owned()
    } else {
        path.parent()
            .map_or_else(|| prices.to_owned(), |d| d.join(prices))
    })
}

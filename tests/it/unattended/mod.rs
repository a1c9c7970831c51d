//! Unattended runs (issue 10) end to end against the fake API: the last good result
//! kept, the run history, failing fast, stopping new jobs, time limits, `--keep-going`,
//! and the formats schedulers read (JUnit, JSON logs, config file, key file).

mod failfast;
mod formats;
mod halt;
mod history;

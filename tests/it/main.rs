//! The one integration-test binary (one link, one place for shared helpers).

#![allow(
    clippy::unwrap_used,
    clippy::disallowed_methods,
    reason = "test helpers: a panic is the failure report, and std::fs is fine here"
)]

mod architecture;
mod batch;
mod batch_create;
mod batch_slices;
mod batches_cmd;
mod browser;
mod budget;
mod commands;
mod conversation;
mod crash;
mod deliverables;
mod diff;
#[cfg(unix)]
mod display;
mod docs;
mod downloads;
mod examples;
mod harness;
mod hostile;
mod inputs;
mod matrix;
mod metrics;
mod models;
mod money;
mod notify;
mod pages;
mod plan;
mod reliability;
mod run;
mod secrets;
mod shape;
mod shared_prefix;
mod skills;
mod snapshots_run;
mod stale;
mod stops;
mod today;
mod unattended;
mod validate;

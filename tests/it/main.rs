//! The one integration-test binary (one link, one place for shared helpers).

#![allow(
    clippy::unwrap_used,
    clippy::disallowed_methods,
    reason = "test helpers: a panic is the failure report, and std::fs is fine here"
)]

mod architecture;
mod crash;
#[cfg(unix)]
mod display;
mod examples;
mod harness;
mod hostile;
mod plan;
mod reliability;
mod run;
mod secrets;
mod snapshots_run;
mod validate;

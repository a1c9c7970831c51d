//! `runner`: run data-analysis jobs as Claude conversations with server-side code execution.
//!
//! The pipeline reads one way; each stage hands plain data to the next:
//!
//! ```text
//!  main.rs ─► cli.rs ─► pipeline.rs (the only module that knows the order)
//!                           │
//!  manifest.rs ─► resolve.rs ─► hashing.rs ─► plan.rs ─► upload ─► run ─► collect ─► write
//!  (YAML→Manifest) (checks, for_each,  (BLAKE3,   (pure →
//!                   globs via inputs.rs) cached)   Plan)
//! ```
//!
//! `diagnostic.rs` carries every user-facing manifest error; `atomic.rs` writes every file;
//! `state.rs` owns the private state dir and its lock.

pub mod api;
pub mod atomic;
pub mod cli;
pub mod collect;
pub mod diagnostic;
pub mod error;
pub mod events;
pub mod hashing;
pub mod inputs;
pub mod logging;
pub mod manifest;
pub mod outcome;
pub mod outdir;
pub mod pipeline;
pub mod plan;
pub mod plan_text;
pub mod progress;
pub mod rate_limit;
pub mod resolve;
pub mod retry;
pub mod run;
pub mod safe_name;
pub mod shutdown;
pub mod state;
pub mod template;
#[cfg(test)]
mod test_json;
pub mod upload;
pub mod wire;
pub mod write;

//! The HTTP edge: the only module that knows endpoints, headers and wire JSON
//! (docs/api.md). One call on [`ApiClient`] is one HTTP request; [`retry::retry`] wraps
//! calls, and every request, first attempts and retries alike, waits at its endpoint
//! group's [`gates::Gate`] first.
//!
//! Imports nothing from the stages: the stages hand it plain values
//! ([`messages::Params`], [`files::UploadSpec`]) and get typed results back.

pub(crate) mod batches;
pub(crate) mod capabilities;
pub(crate) mod client;
pub(crate) mod error;
pub(crate) mod facts;
pub(crate) mod files;
pub(crate) mod gates;
mod headers;
pub(crate) mod key;
pub(crate) mod messages;
pub(crate) mod model_facts;
pub(crate) mod models;
pub(crate) mod preflight;
pub(crate) mod prices;
pub(crate) mod retry;
pub(crate) mod skills;

pub(crate) use client::{ApiClient, Pacing, Timeouts};
pub(crate) use error::{ApiError, ApiErrorKind};
pub(crate) use files::{FileMeta, OnBytes, UploadSpec};
pub(crate) use key::ApiKey;

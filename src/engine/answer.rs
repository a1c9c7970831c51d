//! How one Messages request ended, online (`priced.rs`) or in a Message Batch
//! (`batcher/`): one enum for both transports, which `conversation.rs` turns into the
//! job's ending in one place.

use super::budget::Refused;
use crate::api::messages::MessageResponse;
use crate::api::retry::GaveUp;

/// How one request ended.
#[derive(Debug)]
pub(crate) enum Answer {
    /// The API answered (the response may still stop the job: its `stop_reason` decides).
    Replied(MessageResponse),
    /// The API refused it, or no usable answer came, after every retry.
    Failed(GaveUp),
    /// Not sent: it could not fit `--budget-usd`, even with nothing else in flight.
    OverBudget(Refused),
    /// Batch mode: the request expired in Message Batches twice (this says where).
    Expired(String),
    /// Batch mode: the batch holding the request (this id) was canceled before it answered.
    /// Never processed, so never paid.
    Canceled(String),
    /// The run was interrupted while the request was in flight.
    Interrupted,
}

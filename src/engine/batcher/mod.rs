//! Batch mode (`runner run --batch`, docs/output.md §15): every Messages request
//! of the run goes through the Message Batches API (docs/api.md §5) instead of
//! `POST /v1/messages`.
//!
//! The per-job logic is not duplicated: each job runs the same conversation as online
//! (`conversation.rs`: turns, `pause_turn`, follow-ups, deliverables repair), and only the
//! transport of one request differs: `priced.rs` hands the body to [`Batcher::submit`] and
//! awaits its `Reply`. The batcher gathers requests into **rounds** (`rounds.rs`): a
//! round is submitted when every job still conversing is waiting on a request, or on the
//! budget for one (`budget.rs`; so round 1 holds the first request of every job the budget
//! lets in), split across batches only where the limits
//! require (100,000 requests or 256 MB, docs/api.md §5). While jobs still wait for their
//! uploads, a round goes out once a slice of requests is queued (`state.rs`,
//! `Inner::take_round`), and rounds run side by side, so the first batches are created
//! while the rest of the inputs upload. Each batch is created and
//! recorded (`submit.rs`) and polled (`wait.rs`); when it ends, its results (matched by
//! `custom_id`, in any order) wake the jobs (`handout.rs`), whose next requests form the
//! next round. Before each create its intent is written (`output/batch_intent.rs`); a
//! create that may have reached the API without answering, and every intent an earlier
//! run left, is resolved by finding the batch the API made of it (`recover.rs`) before
//! anything is submitted again.
//!
//! Item results: `succeeded` → the job goes on; `errored` with a transient error type →
//! submitted again in the next round, up to `--max-attempts` submissions; any other
//! `errored` → the job fails with the API's message; `expired` → submitted once more, then
//! the job fails with kind `batch_expired`; `canceled` (a batch canceled by someone else,
//! or on interrupt) → the job is `not_started` if it was its first request, else
//! interrupted (an item of a batch an earlier run left behind is submitted again
//! instead). A result missing from a batch's results fails its job (an error, not a
//! hang). Results are handed to their jobs as their lines arrive, so a round's results are
//! never all held at once.
//!
//! `--batch-deadline` (`deadline.rs`): when it passes, the waiting batches are canceled;
//! what they had answered is used, and every request not answered by then (and every later
//! one) is sent online (a `None` reply), so a report needed by morning is ready by morning.
//!
//! The journal (`output/batch_journal.rs`) is told at the end of the run which items went
//! to jobs whose folders were written ([`Batcher::fold_into_journal`]); until then a
//! killed runner resumes them all.
//!
//! `state.rs` holds the shared state: the [`Batcher`], its queue and what it waits for.

mod deadline;
mod handout;
mod recover;
mod rounds;
mod state;
mod submit;
mod wait;

pub(crate) use state::{BatchSettings, Batcher, Origin};
pub(crate) use wait::Link;

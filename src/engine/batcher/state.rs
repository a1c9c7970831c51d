//! The batcher's shared state: the requests queued for the next round, the batches being
//! waited for, and what this run did with each batch. The decisions on it that need no API
//! ([`Inner::take_round`], [`Inner::requeue`], [`Inner::pass_deadline`]) are plain
//! methods, tested here.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use serde_json::Value;
use tokio::sync::{Notify, oneshot};
use tokio_util::sync::CancellationToken;

use super::wait::Link;
use crate::engine::answer::Answer;
use crate::output::batch_journal::{Journal, Recorded, Use};

/// How batch mode runs (`runner run --batch` and its options).
#[derive(Clone, Copy, Debug)]
pub(crate) struct BatchSettings {
    /// `--cancel-on-interrupt`.
    pub cancel_on_interrupt: bool,
    /// `--batch-deadline`, from the start of the run.
    pub deadline: Option<Duration>,
    /// `--batch-poll`: the first wait between polls of a batch, and the longest.
    pub poll_first: Duration,
    pub poll_max: Duration,
}

/// What the batcher hands back for a submitted request: how it ended, or `None` when it
/// was not answered in a batch (`--batch-deadline` passed first) and is to be sent online.
pub(super) type Reply = Option<Answer>;

/// Which request of which job an item stands for.
#[derive(Debug, Clone)]
pub(crate) struct Origin {
    /// The job's id (`<manifest-stem>/<job>`).
    pub job: String,
    /// 1-based turn, and the `pause_turn` continuation within it.
    pub turn: u32,
    pub continuation: u32,
}

/// A request waiting for its batch's result.
pub(super) struct Pending {
    pub(super) body: Value,
    /// [`crate::output::batch_journal::body_hash`] of `body`, and the length of its JSON:
    /// computed once.
    pub(super) hash: String,
    pub(super) size: usize,
    pub(super) api_version: String,
    pub(super) origin: Origin,
    pub(super) tries: Tries,
    pub(super) reply: oneshot::Sender<Reply>,
}

/// How often a request was submitted, and how often it expired.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub(super) struct Tries {
    pub(super) submissions: u32,
    pub(super) expirations: u32,
}

impl Pending {
    /// Hands the request its reply; a job that stopped waiting has nothing to be told.
    pub(super) fn answer(self, reply: Reply) {
        let _ = self.reply.send(reply);
    }
}

/// What the round driver finds when it looks.
#[derive(Debug)]
pub(super) enum Round<T> {
    /// Every job still conversing is waiting: submit these.
    Ready(Vec<T>),
    /// Some job is still working toward its next request.
    Wait,
    /// No job is left.
    Done,
}

#[derive(Debug)]
pub(super) struct Inner<T = Pending> {
    /// Jobs that may still submit a request.
    pub(super) active: usize,
    pub(super) queue: Vec<T>,
    /// Batches created and not yet handed out: (id, API version).
    pub(super) waiting: Vec<(String, String)>,
    /// `--batch-deadline` has passed: requests go online.
    pub(super) past_deadline: bool,
    /// Active jobs whose next request waits for budget (`budget.rs`): a round does not
    /// wait for them, since it is what frees the money they wait for.
    pub(super) budget_waiting: usize,
    /// Active jobs still waiting for their inputs' uploads. While any does, a round goes
    /// out as soon as `slice` requests are queued, so the first batches are created while
    /// the rest of the run's inputs upload (docs/batch.md, "Rounds").
    pub(super) upload_waiting: usize,
    /// How many queued requests make a round while uploads are still going on.
    pub(super) slice: usize,
}

/// Round one goes out in about this many slices while a run's uploads go on: enough to
/// start the first batch after an eighth of the uploads, few enough to keep the number of
/// batches (each created, recorded and polled on its own) small.
const SLICES: usize = 8;

/// No slice is smaller than this: a run of fewer jobs waits for its uploads and sends
/// round one as one batch, as a run without uploads does. A batch takes minutes to hours
/// (docs/api.md §5), so starting a handful of requests seconds earlier gains nothing.
const MIN_SLICE: usize = 100;

/// The slice for a run of `jobs` jobs: an eighth of them, at least [`MIN_SLICE`].
pub(super) fn slice_for(jobs: usize) -> usize {
    jobs.div_ceil(SLICES).max(MIN_SLICE)
}

impl<T> Inner<T> {
    pub(super) fn new(active: usize) -> Inner<T> {
        Inner {
            active,
            queue: Vec::new(),
            waiting: Vec::new(),
            past_deadline: false,
            budget_waiting: 0,
            upload_waiting: 0,
            slice: slice_for(active),
        }
    }

    /// A round is every queued request, once each job still conversing has queued one or
    /// waits for budget to; while some jobs still wait for their uploads, it is what is
    /// queued once that is a slice (the jobs in flight in earlier slices are not waited
    /// for: they are what the later slices overlap).
    pub(super) fn take_round(&mut self) -> Round<T> {
        let ready = if self.queue.is_empty() {
            false
        } else if self.upload_waiting > 0 {
            self.queue.len() >= self.slice
        } else {
            self.queue.len() + self.budget_waiting >= self.active
        };
        if self.active == 0 && self.queue.is_empty() {
            Round::Done
        } else if ready {
            Round::Ready(std::mem::take(&mut self.queue))
        } else {
            Round::Wait
        }
    }

    /// Requests to submit again: queued for the next round, or, past the deadline,
    /// returned to be sent online.
    pub(super) fn requeue(&mut self, again: Vec<T>) -> Vec<T> {
        if self.past_deadline {
            again
        } else {
            self.queue.extend(again);
            Vec::new()
        }
    }

    /// The deadline passed: from now on requests go online. Returns the queued requests
    /// (to send online) and the batches waited for (to cancel).
    pub(super) fn pass_deadline(&mut self) -> (Vec<T>, Vec<(String, String)>) {
        self.past_deadline = true;
        (std::mem::take(&mut self.queue), self.waiting.clone())
    }
}

/// The round driver's shared state; see the module docs.
pub(crate) struct Batcher {
    /// The client and what its calls need.
    pub(super) link: Link,
    pub(super) inner: Mutex<Inner>,
    pub(super) changed: Notify,
    pub(super) journal: Journal,
    /// Requests recorded by an earlier run, by body hash (`output/batch_journal.rs`), and
    /// those of batches found from its intents (`recover.rs`).
    pub(super) recorded: Mutex<HashMap<String, (Recorded, String)>>,
    /// Batches adopted from an intent before they ended: their results must name its
    /// items, or they were not created from it (`recover.rs`).
    pub(super) unconfirmed: Mutex<HashSet<String>>,
    /// Requests of an intent that could not be resolved, by body hash, with why: a batch
    /// holding them may exist, so they are not submitted.
    pub(super) blocked: Mutex<HashMap<String, String>>,
    pub(super) settings: BatchSettings,
    /// When `--batch-deadline` passes.
    pub(super) deadline: Option<tokio::time::Instant>,
    /// Cancelled when the deadline passes, to wake the pollers.
    pub(super) deadline_passed: CancellationToken,
    /// What this run did with each batch, folded into the journal at the end.
    pub(super) used: Mutex<HashMap<String, Use>>,
    /// The items handed to each job: (batch id, custom_id).
    pub(super) handed: Mutex<HashMap<String, Vec<(String, String)>>>,
}

/// Held by a job while it may still submit requests; dropping it lets rounds go on
/// without the job.
pub(crate) struct Enrolled(Arc<Batcher>);

impl Drop for Enrolled {
    fn drop(&mut self) {
        self.0.update(|i| i.active = i.active.saturating_sub(1));
    }
}

/// Held by a job while its next request waits for budget; see [`Inner::budget_waiting`].
pub(crate) struct BudgetWait(Arc<Batcher>);

impl Drop for BudgetWait {
    fn drop(&mut self) {
        self.0
            .update(|i| i.budget_waiting = i.budget_waiting.saturating_sub(1));
    }
}

/// Held by a job while it waits for its inputs' uploads; see [`Inner::upload_waiting`].
pub(crate) struct UploadWait(Arc<Batcher>);

impl Drop for UploadWait {
    fn drop(&mut self) {
        self.0
            .update(|i| i.upload_waiting = i.upload_waiting.saturating_sub(1));
    }
}

pub(super) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Batcher {
    /// A batcher for `jobs` jobs, each of which must be [`Batcher::enroll`]ed... by
    /// construction: the count starts at `jobs` and every [`Enrolled`] dropped lowers it.
    pub(crate) fn new(
        jobs: usize,
        out: &camino::Utf8Path,
        settings: BatchSettings,
        link: Link,
    ) -> Arc<Batcher> {
        let journal = Journal::new(out);
        let recorded = Mutex::new(journal.pending());
        Arc::new(Batcher {
            link,
            inner: Mutex::new(Inner::new(jobs)),
            changed: Notify::new(),
            journal,
            recorded,
            unconfirmed: Mutex::new(HashSet::new()),
            blocked: Mutex::new(HashMap::new()),
            settings,
            deadline: settings.deadline.map(|d| tokio::time::Instant::now() + d),
            deadline_passed: CancellationToken::new(),
            used: Mutex::new(HashMap::new()),
            handed: Mutex::new(HashMap::new()),
        })
    }

    /// The token one job holds (the count was set by [`Batcher::new`]).
    pub(crate) fn enroll(self: &Arc<Batcher>) -> Enrolled {
        Enrolled(Arc::clone(self))
    }

    /// Rounds go on without this job until the guard is dropped.
    pub(crate) fn waiting_for_budget(self: &Arc<Batcher>) -> BudgetWait {
        self.update(|i| i.budget_waiting += 1);
        BudgetWait(Arc::clone(self))
    }

    /// Rounds do not wait for this job until the guard is dropped, once a slice is queued.
    pub(crate) fn waiting_for_uploads(self: &Arc<Batcher>) -> UploadWait {
        self.update(|i| i.upload_waiting += 1);
        UploadWait(Arc::clone(self))
    }

    /// Whether requests now go online (`--batch-deadline` passed).
    pub(crate) fn past_deadline(&self) -> bool {
        self.with(|i| i.past_deadline)
    }

    pub(super) fn with<R>(&self, f: impl FnOnce(&mut Inner) -> R) -> R {
        f(&mut lock(&self.inner))
    }

    /// Changes the state and wakes the driver.
    pub(super) fn update<R>(&self, f: impl FnOnce(&mut Inner) -> R) -> R {
        let r = self.with(f);
        self.changed.notify_one();
        r
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_round_does_not_wait_for_jobs_waiting_for_budget() {
        let mut inner: Inner<&str> = Inner::new(3);
        inner.queue.push("a");
        inner.budget_waiting = 1;
        assert!(
            matches!(inner.take_round(), Round::Wait),
            "one job still works"
        );
        inner.budget_waiting = 2;
        assert!(
            matches!(inner.take_round(), Round::Ready(r) if r == ["a"]),
            "the round frees the money the other two wait for"
        );
    }

    #[test]
    fn a_round_forms_once_every_conversing_job_has_queued_a_request() {
        let mut inner: Inner<&str> = Inner::new(2);
        assert!(
            matches!(inner.take_round(), Round::Wait),
            "nothing queued yet"
        );
        inner.queue.push("a");
        assert!(
            matches!(inner.take_round(), Round::Wait),
            "one job still works"
        );
        inner.queue.push("b");
        let Round::Ready(round) = inner.take_round() else {
            panic!("both jobs wait: a round")
        };
        assert_eq!(round, ["a", "b"]);
        assert!(inner.queue.is_empty());
        // One job finished: the other's next request is a round by itself.
        inner.active = 1;
        inner.queue.push("c");
        assert!(matches!(inner.take_round(), Round::Ready(r) if r == ["c"]));
        inner.active = 0;
        assert!(matches!(inner.take_round(), Round::Done));
    }

    #[test]
    fn while_uploads_go_on_a_slice_is_a_round_without_waiting_for_the_rest() {
        let mut inner: Inner<u32> = Inner::new(1_000);
        assert_eq!(inner.slice, 125, "an eighth of the jobs");
        inner.upload_waiting = 876;
        inner.queue.extend(0..124);
        assert!(
            matches!(inner.take_round(), Round::Wait),
            "less than a slice"
        );
        inner.queue.push(124);
        inner.upload_waiting = 875;
        let Round::Ready(first) = inner.take_round() else {
            panic!("a slice is queued while uploads go on: a round")
        };
        assert_eq!(first.len(), 125);
        // The first slice is in flight (neither queued nor waiting): the second slice
        // does not wait for it.
        inner.queue.extend(0..125);
        inner.upload_waiting = 750;
        assert!(matches!(inner.take_round(), Round::Ready(r) if r.len() == 125));
        // The uploads are done: the rest waits for every conversing job, as before.
        inner.upload_waiting = 0;
        inner.queue.extend(0..50);
        assert!(
            matches!(inner.take_round(), Round::Wait),
            "slices still in flight"
        );
        inner.active = 50;
        assert!(matches!(inner.take_round(), Round::Ready(r) if r.len() == 50));
    }

    #[test]
    fn a_small_run_sends_round_one_as_one_batch_after_its_uploads() {
        assert_eq!(slice_for(3), MIN_SLICE);
        assert_eq!(slice_for(10_000), 1_250);
        let mut inner: Inner<u32> = Inner::new(3);
        inner.queue.extend([1, 2]);
        inner.upload_waiting = 1;
        assert!(
            matches!(inner.take_round(), Round::Wait),
            "one job still uploads"
        );
        inner.upload_waiting = 0;
        inner.queue.push(3);
        assert!(matches!(inner.take_round(), Round::Ready(r) if r == [1, 2, 3]));
    }

    #[test]
    fn requests_submitted_again_wait_for_the_next_round_until_the_deadline() {
        let mut inner: Inner<&str> = Inner::new(3);
        inner.queue.push("queued");
        assert!(inner.requeue(vec!["again"]).is_empty());
        assert_eq!(inner.queue, ["queued", "again"]);
        inner.waiting.push(("batch_1".into(), "2023-06-01".into()));
        let (online, to_cancel) = inner.pass_deadline();
        assert_eq!(online, ["queued", "again"], "the queue goes online");
        assert_eq!(to_cancel, [("batch_1".to_owned(), "2023-06-01".to_owned())]);
        assert!(inner.past_deadline && inner.queue.is_empty());
        assert_eq!(inner.requeue(vec!["late"]), ["late"], "past it, online too");
        assert!(inner.queue.is_empty());
    }
}

//! The limiter shared by every request to one endpoint group (Messages, or Files), awaited
//! by the client's `send` (`client.rs`) before *every* request, first attempts and
//! retries alike.
//!
//! It does four things, all driven by what the server says:
//! - **Pauses**: a 429 or 529 closes the gate for its `retry-after` (or a short pause when
//!   none is given) for every job, so parallel jobs do not stampede the API with retries
//!   that are bound to fail; `retry-after` is honoured as given.
//! - **Adaptive concurrency** (AIMD): the number of requests in flight is halved on a 429
//!   or 529, and grows back by one after each window of successes, never above the
//!   configured maximum (`-j` for Messages).
//! - **Pacing**: the `anthropic-ratelimit-{requests,input-tokens,output-tokens}-{limit,
//!   remaining,reset}` headers describe three continuously refilling buckets; `reset` is
//!   when one is *full* again, not when the next request fits (docs/api.md §4.3, §11). The
//!   gate keeps an estimate of each ([`bucket`]; units held by requests still in flight
//!   count as spent, since the last answer could not see them) and starts a request only
//!   when all three have room for it: one request, its estimated input tokens that are not
//!   cache reads, and the mean output of recent answers. A run at the limit so rides it
//!   instead of bouncing off it with 429s, and never waits for a bucket to fill up.
//! - **Learning**: until the first answer nothing is known about the buckets, so only one
//!   request is in flight (a burst of `-j` first requests could overflow a small bucket);
//!   the allowance a first request adds for the tool's definitions is replaced by what
//!   answers' `usage` showed ([`Gate::record_usage`]).
//! - **Reporting**: each pause is reported as [`Event::Backoff`] for the progress display.

mod bucket;

use std::sync::{Arc, Mutex, OnceLock, PoisonError};
use std::time::Duration;

use tokio::sync::Notify;
use tokio::time::Instant;

use crate::ui::events::{Event, Reporter};
use bucket::Bucket;
pub(crate) use bucket::Quota;

/// The pause after a 429/529 that carries no `retry-after`.
const DEFAULT_PAUSE: Duration = Duration::from_secs(1);
/// 429s that arrive within this of each other (or of the pause they caused) are one burst.
const BURST: Duration = Duration::from_millis(200);
/// Until answers show the output sizes, a request is expected to produce this many.
const FIRST_OUTPUT_GUESS: f64 = 1000.0;

#[derive(Debug)]
struct State {
    closed_until: Option<Instant>,
    /// Current allowed requests in flight (1..=max).
    limit: usize,
    max: usize,
    in_flight: usize,
    successes: usize,
    /// Several 429s from one burst of requests halve the limit once, not once each.
    last_decrease: Option<Instant>,
    requests: Option<Bucket>,
    input: Option<Bucket>,
    output: Option<Bucket>,
    /// Token estimates of the requests in flight.
    in_flight_input: f64,
    in_flight_output: f64,
    /// A running mean of answers' output tokens: the estimate for the next request.
    mean_output: f64,
    /// Whether any answer (of any status) has arrived: until one has, one request at a time.
    answered: bool,
    /// What answers to first requests showed of the tool allowance (their counted input
    /// beyond the estimate of their bytes), a running mean; `None` until one did.
    tools: Option<f64>,
}

/// What a request is expected to take from the input-token bucket: its input tokens that
/// are not cache reads (cache reads do not count toward the limit, docs/api.md §11).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct TokenEstimate {
    /// From the bytes the request adds.
    pub input: u64,
    /// A first guess at what the API adds for the tool's definitions and system prompt (on
    /// a first request; 0 otherwise), used until an answer shows the real amount.
    pub tools: u64,
}

/// What an admitted request was counted as taking from the token buckets.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub(crate) struct Charge {
    pub input: f64,
    pub output: f64,
}

pub(crate) struct Gate {
    name: &'static str,
    state: Mutex<State>,
    changed: Notify,
    /// Scales the pauses the gate decides itself (not server-given times); tests only.
    scale: f64,
    reporter: OnceLock<Arc<dyn Reporter>>,
}

impl std::fmt::Debug for Gate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Gate")
            .field("name", &self.name)
            .field("state", &self.state)
            .finish()
    }
}

/// What a response said about rate limits.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub(crate) struct Signal {
    /// HTTP status, or `None` for a transport failure.
    pub status: Option<u16>,
    /// `retry-after` (already scaled by the caller's policy).
    pub retry_after: Option<Duration>,
    /// The request quota (`anthropic-ratelimit-requests-*`), when reported.
    pub quota: Option<Quota>,
    /// `anthropic-ratelimit-input-tokens-*` and `…-output-tokens-*`, when reported.
    pub input_quota: Option<Quota>,
    pub output_quota: Option<Quota>,
    /// The answered request's own charge (already counted in what the server reports).
    pub own: Charge,
}

impl Gate {
    pub(crate) fn new(name: &'static str, max_in_flight: usize, scale: f64) -> Gate {
        let max = max_in_flight.max(1);
        Gate {
            name,
            state: Mutex::new(State {
                closed_until: None,
                limit: max,
                max,
                in_flight: 0,
                successes: 0,
                last_decrease: None,
                requests: None,
                input: None,
                output: None,
                in_flight_input: 0.0,
                in_flight_output: 0.0,
                mean_output: FIRST_OUTPUT_GUESS,
                answered: false,
                tools: None,
            }),
            changed: Notify::new(),
            scale,
            reporter: OnceLock::new(),
        }
    }

    pub(crate) fn set_reporter(&self, reporter: Arc<dyn Reporter>) {
        let _ = self.reporter.set(reporter);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Waits until the gate is open, a slot is free and every quota has room for the
    /// request (one request, its estimated input tokens, the expected output tokens), and
    /// takes the slot.
    pub(crate) async fn acquire(&self, estimate: TokenEstimate) -> Permit<'_> {
        loop {
            // Register for wake-ups before looking, so a change in between is not missed:
            // `notify_waiters` wakes only futures already enabled.
            let notified = self.changed.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            let wait_until = {
                let mut s = self.lock();
                let now = Instant::now();
                let input = s.charge(estimate);
                let output = s.mean_output;
                let wait = match s.closed_until {
                    Some(t) if t > now => Some(Some(t)),
                    _ if s.in_flight >= s.limit => Some(None),
                    // Learn the buckets from one answer before sending more.
                    _ if !s.answered && s.in_flight > 0 => Some(None),
                    _ => [
                        s.requests.and_then(|b| b.wait(1.0, now)),
                        s.input.and_then(|b| b.wait(input, now)),
                        s.output.and_then(|b| b.wait(output, now)),
                    ]
                    .into_iter()
                    .flatten()
                    .reduce(later)
                    // No known refill rate: wait for news from a request in flight; with
                    // none in flight no news can come, so go and learn.
                    .filter(|w| w.is_some() || s.in_flight > 0),
                };
                if wait.is_none() {
                    // Decided and taken under one lock: two callers cannot share a slot.
                    s.in_flight += 1;
                    s.in_flight_input += input;
                    s.in_flight_output += output;
                    if let Some(b) = &mut s.requests {
                        b.spent += 1.0;
                    }
                    if let Some(b) = &mut s.input {
                        b.spent += input;
                    }
                    if let Some(b) = &mut s.output {
                        b.spent += output;
                    }
                    tracing::debug!(
                        gate = self.name,
                        input,
                        tools_learned = s.tools,
                        in_flight = s.in_flight,
                        input_available = s.input.map(|b| b.available(now).round()),
                        "admitted"
                    );
                    return Permit {
                        gate: self,
                        charge: Charge { input, output },
                    };
                }
                tracing::trace!(gate = self.name, input, ?wait, "waiting");
                wait
            };
            match wait_until {
                None => {}
                Some(Some(t)) => {
                    tokio::select! {
                        () = tokio::time::sleep_until(t) => {}
                        () = notified => {}
                    }
                }
                Some(None) => notified.await,
            }
        }
    }

    /// An answer's `usage`: its input tokens that count toward the input limit (plain and
    /// cache writes) and its output tokens, for the estimates of the next requests.
    pub(crate) fn record_usage(&self, estimate: TokenEstimate, counted_input: u64, output: u64) {
        #[expect(
            clippy::cast_precision_loss,
            reason = "token counts are far below 2^53"
        )]
        let (bytes, counted, output) = (estimate.input as f64, counted_input as f64, output as f64);
        let mut s = self.lock();
        s.mean_output = 0.8 * s.mean_output + 0.2 * output;
        if estimate.tools > 0 {
            let shown = (counted - bytes).max(0.0);
            s.tools = Some(s.tools.map_or(shown, |t| 0.8 * t + 0.2 * shown));
            tracing::debug!(
                gate = self.name,
                counted,
                bytes,
                tools_learned = s.tools,
                "a first request's usage"
            );
            drop(s);
            // Requests waiting with the guess may fit with what was learned.
            self.changed.notify_waiters();
        }
    }

    /// Feeds back what a response said.
    pub(crate) fn observe(&self, signal: Signal) {
        let now = Instant::now();
        let mut pause = None;
        {
            let mut s = self.lock();
            match signal.status {
                Some(429 | 529) => {
                    let wait = signal
                        .retry_after
                        .unwrap_or(DEFAULT_PAUSE.mul_f64(self.scale));
                    pause = Some(wait);
                    close(&mut s, now + wait);
                    let cooled = s
                        .last_decrease
                        .is_none_or(|t| now.duration_since(t) >= wait.max(BURST));
                    if cooled {
                        s.limit = (s.limit / 2).max(1);
                        s.successes = 0;
                        s.last_decrease = Some(now);
                    }
                }
                Some(200..=299) => {
                    s.successes += 1;
                    if s.successes >= s.limit && s.limit < s.max {
                        s.limit += 1;
                        s.successes = 0;
                    }
                }
                _ => {}
            }
            if signal.status.is_some() {
                s.answered = true;
            }
            // The answered request still holds its slot until its permit drops; what the
            // others in flight take is not in the report yet.
            #[expect(clippy::cast_precision_loss, reason = "in-flight counts are small")]
            let others = s.in_flight.saturating_sub(1) as f64;
            let own = signal.own;
            if let Some(q) = signal.quota {
                s.requests = Some(Bucket::observed(q, s.requests, (others, 1.0), false, now));
            }
            if let Some(q) = signal.input_quota {
                let spent = (s.in_flight_input - own.input).max(0.0);
                s.input = Some(Bucket::observed(q, s.input, (spent, own.input), true, now));
            }
            if let Some(q) = signal.output_quota {
                let spent = (s.in_flight_output - own.output).max(0.0);
                s.output = Some(Bucket::observed(
                    q,
                    s.output,
                    (spent, own.output),
                    true,
                    now,
                ));
            }
            tracing::debug!(
                gate = self.name,
                status = signal.status,
                remaining = signal.input_quota.map(|q| q.remaining),
                reset_in = ?signal.input_quota.map(|q| q.reset_in),
                input_available = s.input.map(|b| b.available(now).round()),
                "answer"
            );
        }
        self.changed.notify_waiters();
        if let (Some(wait), Some(reporter)) = (pause, self.reporter.get()) {
            reporter.report(Event::Backoff {
                endpoint: self.name,
                wait,
            });
        }
    }

    /// The current concurrency limit.
    #[cfg(test)]
    pub(crate) fn limit(&self) -> usize {
        self.lock().limit
    }
}

impl State {
    /// What a request is counted as taking from the input bucket: its bytes' estimate, plus
    /// for a first request the tool allowance answers showed, or the caller's guess.
    fn charge(&self, estimate: TokenEstimate) -> f64 {
        #[expect(
            clippy::cast_precision_loss,
            reason = "token counts are far below 2^53"
        )]
        let (input, tools) = (estimate.input as f64, estimate.tools as f64);
        if estimate.tools == 0 {
            input
        } else {
            input + self.tools.unwrap_or(tools)
        }
    }
}

/// Closes the gate until `until`, never shortening an existing pause.
fn close(s: &mut State, until: Instant) {
    if s.closed_until.is_none_or(|t| t < until) {
        s.closed_until = Some(until);
    }
}

/// A request slot; released on drop.
pub(crate) struct Permit<'a> {
    gate: &'a Gate,
    charge: Charge,
}

impl Permit<'_> {
    /// What the request was counted as taking, for [`Signal::own`].
    pub(crate) fn charge(&self) -> Charge {
        self.charge
    }
}

impl Drop for Permit<'_> {
    fn drop(&mut self) {
        {
            let mut s = self.gate.lock();
            s.in_flight -= 1;
            s.in_flight_input -= self.charge.input;
            s.in_flight_output -= self.charge.output;
        }
        self.gate.changed.notify_waiters();
    }
}

/// The later of two waits; an unknown one (`None`) is later than any known time.
fn later(a: Option<Instant>, b: Option<Instant>) -> Option<Instant> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.max(b)),
        _ => None,
    }
}

#[cfg(test)]
mod tests;

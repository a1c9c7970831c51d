//! The limiter shared by every request to one endpoint group (Messages, or Files), awaited
//! by the client's `send` (`client.rs`) before *every* request, first attempts and
//! retries alike.
//!
//! It does four things, all driven by what the server says:
//! - **Pauses**: a 429 or 529 closes the gate for its `retry-after` (or a short pause when
//!   none is given) for every job, so parallel jobs do not stampede the API with retries
//!   that are bound to fail. When the `anthropic-ratelimit-*` headers say a quota is used
//!   up, the gate closes until its reset time, before a 429 is ever returned.
//! - **Adaptive concurrency** (AIMD): the number of requests in flight is halved on a 429
//!   or 529, and grows back by one after each window of successes, never above the
//!   configured maximum (`-j` for Messages).
//! - **Pacing**: the `anthropic-ratelimit-requests-{limit,remaining,reset}` headers describe
//!   a bucket that refills by `limit - remaining` requests until `reset`. The gate keeps an
//!   estimate of it (counting requests still in flight as spent, since the last answer
//!   could not see them) and starts a request only when the estimate has one to spare, so a
//!   run at the limit rides it instead of bouncing off it with 429s.
//! - **Reporting**: each pause is reported as [`Event::Backoff`] for the progress display.

use std::sync::{Arc, Mutex, OnceLock, PoisonError};
use std::time::Duration;

use tokio::sync::Notify;
use tokio::time::Instant;

use crate::ui::events::{Event, Reporter};

/// The pause after a 429/529 that carries no `retry-after`.
const DEFAULT_PAUSE: Duration = Duration::from_secs(1);
/// 429s that arrive within this of each other (or of the pause they caused) are one burst.
const BURST: Duration = Duration::from_millis(200);
/// Pace a little under the measured refill rate: the server's clock and window edges are
/// not ours.
const PACE: f64 = 0.97;
/// Header-driven pauses never exceed this (a skewed server clock must not stall a run).
const MAX_HEADER_PAUSE: Duration = Duration::from_secs(60);

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
    bucket: Option<Bucket>,
}

/// The server's request quota as last reported, refilled at the rate it implied.
#[derive(Debug, Clone, Copy)]
struct Bucket {
    limit: f64,
    /// Requests left when observed.
    tokens: f64,
    /// Refill per second (0 when the quota was full, i.e. the rate is unknown).
    rate: f64,
    observed: Instant,
    /// Requests started but not reflected in `tokens`: in flight when observed, and
    /// started since.
    spent: f64,
}

impl Bucket {
    fn available(&self, now: Instant) -> f64 {
        let refilled = self.rate * now.saturating_duration_since(self.observed).as_secs_f64();
        (self.tokens + refilled).min(self.limit) - self.spent
    }

    /// When one request will be available, if ever without news.
    fn next_at(&self, now: Instant) -> Option<Instant> {
        if self.rate <= 0.0 {
            return None;
        }
        let missing = 1.0 - self.available(now);
        Some(
            now + Duration::from_secs_f64(
                (missing / self.rate).clamp(0.0, MAX_HEADER_PAUSE.as_secs_f64()),
            ),
        )
    }
}

/// A request quota as a response reported it.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Quota {
    pub limit: u64,
    pub remaining: u64,
    /// Until the quota is fully replenished.
    pub reset_in: Duration,
}

pub struct Gate {
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
pub struct Signal {
    /// HTTP status, or `None` for a transport failure.
    pub status: Option<u16>,
    /// `retry-after` (already scaled by the caller's policy).
    pub retry_after: Option<Duration>,
    /// A token quota is used up until this long from now.
    pub exhausted_for: Option<Duration>,
    /// The request quota (`anthropic-ratelimit-requests-*`), when reported.
    pub quota: Option<Quota>,
}

impl Gate {
    pub fn new(name: &'static str, max_in_flight: usize, scale: f64) -> Gate {
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
                bucket: None,
            }),
            changed: Notify::new(),
            scale,
            reporter: OnceLock::new(),
        }
    }

    pub fn set_reporter(&self, reporter: Arc<dyn Reporter>) {
        let _ = self.reporter.set(reporter);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Waits until the gate is open, a slot is free and the quota allows one more request,
    /// and takes the slot.
    pub async fn acquire(&self) -> Permit<'_> {
        loop {
            // Register for wake-ups before looking, so a change in between is not missed:
            // `notify_waiters` wakes only futures already enabled.
            let notified = self.changed.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            let wait_until = {
                let mut s = self.lock();
                let now = Instant::now();
                let wait = match s.closed_until {
                    Some(t) if t > now => Some(Some(t)),
                    _ if s.in_flight >= s.limit => Some(None),
                    _ => match s.bucket {
                        Some(b) if b.available(now) < 1.0 => match b.next_at(now) {
                            Some(t) => Some(Some(t)),
                            // No known refill rate: wait for news from a request in flight;
                            // with none in flight no news can come, so go and learn.
                            None if s.in_flight > 0 => Some(None),
                            None => None,
                        },
                        _ => None,
                    },
                };
                if wait.is_none() {
                    // Decided and taken under one lock: two callers cannot share a slot.
                    s.in_flight += 1;
                    if let Some(b) = &mut s.bucket {
                        b.spent += 1.0;
                    }
                    return Permit { gate: self };
                }
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

    /// Feeds back what a response said.
    pub fn observe(&self, signal: Signal) {
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
            if let Some(q) = signal.quota {
                #[expect(clippy::cast_precision_loss, reason = "request counts are small")]
                let (limit, remaining) = (q.limit as f64, q.remaining as f64);
                let used = limit - remaining;
                // `remaining` is a whole number: with few tokens used, used / time-to-full
                // overstates the refill rate (0.3 spent reads as 1), so trust it only once a
                // quarter of the quota is in use, which is also when pacing starts to matter.
                let rate = if used >= (limit / 4.0).max(1.0) && !q.reset_in.is_zero() {
                    used / q.reset_in.as_secs_f64() * PACE
                } else {
                    s.bucket.map_or(0.0, |b| b.rate)
                };
                // The answered request still holds its slot until its permit drops.
                #[expect(clippy::cast_precision_loss, reason = "in-flight counts are small")]
                let spent = s.in_flight.saturating_sub(1) as f64;
                s.bucket = Some(Bucket {
                    limit,
                    tokens: remaining,
                    rate,
                    observed: now,
                    spent,
                });
            }
            if let Some(wait) = signal.exhausted_for {
                let wait = wait.min(MAX_HEADER_PAUSE);
                close(&mut s, now + wait);
                pause = Some(pause.map_or(wait, |p: Duration| p.max(wait)));
            }
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
    pub fn limit(&self) -> usize {
        self.lock().limit
    }
}

/// Closes the gate until `until`, never shortening an existing pause.
fn close(s: &mut State, until: Instant) {
    if s.closed_until.is_none_or(|t| t < until) {
        s.closed_until = Some(until);
    }
}

/// A request slot; released on drop.
pub struct Permit<'a> {
    gate: &'a Gate,
}

impl Drop for Permit<'_> {
    fn drop(&mut self) {
        self.gate.lock().in_flight -= 1;
        self.gate.changed.notify_waiters();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn status(code: u16) -> Signal {
        Signal {
            status: Some(code),
            ..Signal::default()
        }
    }

    #[tokio::test(start_paused = true)]
    async fn a_429_closes_the_gate_for_everyone_for_its_retry_after() {
        let gate = Gate::new("messages", 4, 1.0);
        gate.observe(Signal {
            status: Some(429),
            retry_after: Some(Duration::from_secs(3)),
            exhausted_for: None,
            quota: None,
        });
        let start = Instant::now();
        let _a = gate.acquire().await;
        assert_eq!(start.elapsed(), Duration::from_secs(3));
    }

    #[tokio::test(start_paused = true)]
    async fn an_exhausted_quota_closes_the_gate_until_reset() {
        let gate = Gate::new("messages", 4, 1.0);
        gate.observe(Signal {
            status: Some(200),
            retry_after: None,
            exhausted_for: Some(Duration::from_millis(700)),
            quota: None,
        });
        let start = Instant::now();
        let _a = gate.acquire().await;
        assert_eq!(start.elapsed(), Duration::from_millis(700));
    }

    #[tokio::test(start_paused = true)]
    async fn concurrency_halves_on_overload_and_recovers_slowly() {
        let gate = Gate::new("messages", 8, 0.0);
        gate.observe(status(529));
        assert_eq!(gate.limit(), 4);
        // A burst of 429s from requests already in flight halves once per pause.
        gate.observe(status(529));
        assert_eq!(gate.limit(), 4);
        tokio::time::advance(Duration::from_secs(2)).await;
        gate.observe(status(429));
        assert_eq!(gate.limit(), 2);
        for _ in 0..2 {
            gate.observe(status(200));
        }
        assert_eq!(gate.limit(), 3);
        for _ in 0..100 {
            gate.observe(status(200));
        }
        assert_eq!(gate.limit(), 8, "recovers, but never above the maximum");
    }

    /// An answer saying 10 of 10 requests are used, refilled over one second.
    fn used_up_quota() -> Signal {
        Signal {
            status: Some(200),
            quota: Some(Quota {
                limit: 10,
                remaining: 0,
                reset_in: Duration::from_secs(1),
            }),
            ..Signal::default()
        }
    }

    #[tokio::test(start_paused = true)]
    async fn requests_are_paced_by_the_reported_quota() {
        let gate = Gate::new("messages", 8, 1.0);
        let _first = gate.acquire().await;
        // 10 used of 10, refilled over one second: the next may go in ~0.1 s.
        gate.observe(used_up_quota());
        let start = Instant::now();
        let _second = gate.acquire().await;
        let waited = start.elapsed();
        assert!(
            waited >= Duration::from_millis(100) && waited <= Duration::from_millis(110),
            "{waited:?}"
        );
        // Two in flight, one token refilled since: the third waits for the next one.
        let start = Instant::now();
        let _third = gate.acquire().await;
        assert!(
            start.elapsed() >= Duration::from_millis(100),
            "{:?}",
            start.elapsed()
        );
    }

    #[tokio::test(start_paused = true)]
    async fn pacing_applies_even_with_nothing_in_flight() {
        let gate = Gate::new("files", 8, 1.0);
        let first = gate.acquire().await;
        gate.observe(used_up_quota());
        drop(first);
        let start = Instant::now();
        let _second = gate.acquire().await;
        assert!(
            start.elapsed() >= Duration::from_millis(100),
            "{:?}",
            start.elapsed()
        );
    }

    #[tokio::test(start_paused = true)]
    async fn the_limit_bounds_requests_in_flight() {
        let gate = Arc::new(Gate::new("files", 2, 1.0));
        let a = gate.acquire().await;
        let _b = gate.acquire().await;
        let waiter = {
            let gate = Arc::clone(&gate);
            tokio::spawn(async move {
                let _c = gate.acquire().await;
            })
        };
        tokio::task::yield_now().await;
        assert!(!waiter.is_finished());
        drop(a);
        waiter.await.unwrap();
    }
}

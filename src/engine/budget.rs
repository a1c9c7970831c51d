//! `--budget-usd`: the run's spend never exceeds it. Before each Messages request the
//! conversation reserves the most the request can bill (`plan::price::worst_case`,
//! docs/output.md §6.4) against what is left; the answer's priced usage then replaces the
//! reservation, and what the request did not use is free again.
//!
//! A request that does not fit **waits**, first come first served, until requests in
//! flight settle and free their unused reservations. It is refused only when it could not
//! fit even if every request in flight cost nothing: waiting cannot help then, since
//! settling only ever adds to what is spent. So no request waits forever (a waiter waits
//! only while something is reserved, and every reservation ends), and no waiter polls:
//! each one sleeps on its own [`Notify`], woken when the queue's head may have changed
//! or money was freed.
//!
//! Without a budget the ledger still runs: it is the run's cost total.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use tokio::sync::Notify;

use crate::ui::events::{Event, Reporter};
use crate::units;

/// The run's money: spent, reserved by requests in flight, and unknown.
pub(crate) struct Budget {
    limit: Option<f64>,
    ledger: Mutex<Ledger>,
    /// Model calls one request is reserved for (`--budget-model-calls`); raised when an
    /// answer shows more.
    model_calls: AtomicU32,
    reporter: Option<Arc<dyn Reporter>>,
}

#[derive(Debug, Default)]
struct Ledger {
    /// Priced usage of every answered request.
    spent: f64,
    /// Reservations of requests in flight.
    reserved: f64,
    in_flight: usize,
    /// Reservations of requests whose answer never arrived (cut off, interrupted): they
    /// may have been billed, so they stay counted against the budget.
    uncertain: f64,
    /// Requests waiting for money, oldest first.
    queue: VecDeque<Waiter>,
    next_ticket: u64,
}

#[derive(Debug, Clone)]
struct Waiter {
    ticket: u64,
    wake: Arc<Notify>,
}

/// A request may not be sent: it could cost more than the budget has left unspent.
#[derive(Debug, Clone, Copy, PartialEq, thiserror::Error)]
pub(crate) struct Refused {
    pub needed: f64,
    /// The budget less what was spent (and what may have been billed for answers lost).
    pub unspent: f64,
    pub limit: f64,
    pub spent: f64,
    /// Of `unspent`, what requests in flight hold: they may need all of it.
    pub reserved: f64,
    pub in_flight: usize,
}

impl std::fmt::Display for Refused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "not sent: this request could cost up to {}, more than the {} of the \
             --budget-usd {:.2} not yet spent ({} spent",
            units::usd(self.needed),
            units::usd(self.unspent),
            self.limit,
            units::usd(self.spent),
        )?;
        if self.in_flight == 0 {
            f.write_str("; nothing in flight")?;
        } else {
            write!(
                f,
                "; {} of the rest is held by {} in flight",
                units::usd(self.reserved),
                units::count(self.in_flight, "request"),
            )?;
        }
        f.write_str("); raise --budget-usd to finish it")
    }
}

/// What a request may do now.
#[derive(Debug, PartialEq)]
enum Admit {
    Reserved,
    Refused(Refused),
    Wait,
}

impl Ledger {
    fn waiter(&mut self) -> Waiter {
        self.next_ticket += 1;
        Waiter {
            ticket: self.next_ticket,
            wake: Arc::new(Notify::new()),
        }
    }

    /// Reserves `worst` for `waiter` if it is its turn and it fits; refuses it if it could
    /// never fit; else queues it (once).
    fn admit(&mut self, limit: Option<f64>, worst: f64, waiter: &Waiter) -> Admit {
        let turn = self.queue.front().is_none_or(|w| w.ticket == waiter.ticket);
        let admit = match limit {
            _ if !turn => Admit::Wait,
            None => Admit::Reserved,
            Some(limit) => {
                let unspent = limit - self.spent - self.uncertain;
                // A NaN is refused, never waited on.
                if worst.is_nan() || worst > unspent {
                    Admit::Refused(Refused {
                        needed: worst,
                        unspent: unspent.max(0.0),
                        limit,
                        spent: self.spent + self.uncertain,
                        reserved: self.reserved,
                        in_flight: self.in_flight,
                    })
                } else if self.reserved + worst <= unspent {
                    Admit::Reserved
                } else {
                    Admit::Wait
                }
            }
        };
        match admit {
            Admit::Wait => {
                if !self.queue.iter().any(|w| w.ticket == waiter.ticket) {
                    self.queue.push_back(waiter.clone());
                }
            }
            Admit::Reserved => {
                self.leave(waiter.ticket);
                self.reserved += worst;
                self.in_flight += 1;
            }
            Admit::Refused(_) => self.leave(waiter.ticket),
        }
        admit
    }

    /// Takes `ticket` out of the queue; a new head is told to look again.
    fn leave(&mut self, ticket: u64) {
        let was_head = self.queue.front().is_some_and(|w| w.ticket == ticket);
        self.queue.retain(|w| w.ticket != ticket);
        if was_head {
            self.wake_head();
        }
    }

    fn wake_head(&self) {
        if let Some(head) = self.queue.front() {
            // A stored permit if the head is not asleep yet: no wake-up is lost.
            head.wake.notify_one();
        }
    }

    /// A reservation of `amount` ended; `spent` and `uncertain` get what it became.
    fn end(&mut self, amount: f64, spent: f64, uncertain: f64) {
        self.in_flight = self.in_flight.saturating_sub(1);
        // Exactly zero with nothing in flight: rounding must never keep the queue's head
        // waiting for money no one holds.
        self.reserved = if self.in_flight == 0 {
            0.0
        } else {
            (self.reserved - amount).max(0.0)
        };
        self.spent += spent;
        self.uncertain += uncertain;
        self.wake_head();
    }
}

/// A request's reservation, held until its answer is priced. Dropped unsettled, it counts
/// as spent (an answer that never arrived may still have been billed).
#[must_use]
pub(crate) struct Reservation<'a> {
    budget: &'a Budget,
    amount: f64,
    done: bool,
}

/// A request's place in the queue while it waits; dropped (the wait abandoned, e.g. on
/// interrupt), it leaves the queue.
struct Queued<'a> {
    budget: &'a Budget,
    waiter: Waiter,
}

impl Drop for Queued<'_> {
    fn drop(&mut self) {
        self.budget.ledger().leave(self.waiter.ticket);
    }
}

impl Budget {
    /// A ledger for `limit` (none: only the cost total) that reserves `model_calls` model
    /// calls per request.
    pub(crate) fn new(limit: Option<f64>, model_calls: u32) -> Budget {
        Budget {
            limit,
            ledger: Mutex::default(),
            model_calls: AtomicU32::new(model_calls.max(1)),
            reporter: None,
        }
    }

    /// Reports every change of the spend (and, with a limit, of the reservations).
    pub(crate) fn reporting_to(mut self, reporter: Arc<dyn Reporter>) -> Budget {
        self.reporter = Some(reporter);
        self
    }

    fn ledger(&self) -> std::sync::MutexGuard<'_, Ledger> {
        self.ledger.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Priced usage so far (what `run.json` reports as `cost.usd`).
    pub(crate) fn spent(&self) -> f64 {
        self.ledger().spent
    }

    /// Model calls one request is reserved for.
    pub(crate) fn model_calls(&self) -> u32 {
        self.model_calls.load(Ordering::Relaxed)
    }

    /// An answer showed `calls` model calls' worth of output: later reservations count at
    /// least that many. Whether that raised the bound.
    pub(crate) fn saw_model_calls(&self, calls: u32) -> bool {
        self.model_calls.fetch_max(calls, Ordering::Relaxed) < calls
    }

    /// Reserves `worst` USD, waiting (first come, first served) while requests in flight
    /// hold what it needs; refuses it when it could not fit even if they cost nothing.
    /// `on_wait` runs once if the request has to wait; what it returns is held until the
    /// wait ends.
    pub(crate) async fn reserve<G>(
        &self,
        worst: f64,
        on_wait: impl FnOnce() -> G,
    ) -> Result<Reservation<'_>, Refused> {
        let queued = Queued {
            budget: self,
            waiter: self.ledger().waiter(),
        };
        let mut on_wait = Some(on_wait);
        let mut _waiting = None;
        loop {
            let admit = {
                let mut l = self.ledger();
                let admit = l.admit(self.limit, worst, &queued.waiter);
                if admit == Admit::Reserved {
                    self.report(&l, false);
                }
                admit
            };
            match admit {
                Admit::Reserved => {
                    return Ok(Reservation {
                        budget: self,
                        amount: worst,
                        done: false,
                    });
                }
                Admit::Refused(refused) => return Err(refused),
                Admit::Wait => {}
            }
            if let Some(f) = on_wait.take() {
                _waiting = Some(f());
            }
            queued.waiter.wake.notified().await;
        }
    }

    /// Tells the reporter where the money stands (called with the ledger locked, so the
    /// events arrive in the order of the changes).
    fn report(&self, l: &Ledger, settled: bool) {
        let Some(reporter) = &self.reporter else {
            return;
        };
        if self.limit.is_some() || settled {
            reporter.report(Event::Spent {
                micro_usd: micro(l.spent),
                reserved_micro_usd: if self.limit.is_some() {
                    micro(l.reserved)
                } else {
                    0
                },
            });
        }
    }

    fn end(&self, amount: f64, spent: f64, uncertain: f64) -> f64 {
        let mut l = self.ledger();
        l.end(amount, spent, uncertain);
        self.report(&l, spent > 0.0);
        l.spent
    }
}

impl Reservation<'_> {
    /// What is reserved.
    pub(crate) fn amount(&self) -> f64 {
        self.amount
    }

    /// The answer arrived: its priced usage replaces the reservation. Returns the total
    /// spent so far.
    pub(crate) fn settle(mut self, actual: f64) -> f64 {
        self.done = true;
        self.budget.end(self.amount, actual, 0.0)
    }

    /// The API refused the request (an error status): nothing was billed.
    pub(crate) fn release(mut self) {
        self.done = true;
        self.budget.end(self.amount, 0.0, 0.0);
    }
}

impl Drop for Reservation<'_> {
    fn drop(&mut self) {
        if !self.done {
            self.budget.end(self.amount, 0.0, self.amount);
        }
    }
}

/// USD in millionths, for events (which compare exactly).
pub(crate) fn micro(usd: f64) -> u64 {
    #[expect(
        clippy::cast_possible_truncation,
        clippy::cast_sign_loss,
        reason = "a non-negative dollar amount far below 2^64 millionths"
    )]
    let m = (usd.max(0.0) * 1e6).round() as u64;
    m
}

#[cfg(test)]
mod tests;

//! `--budget-usd`: the run's spend never exceeds it. Before each Messages request the
//! conversation reserves the request's worst case (`plan::price::worst_case`) against
//! what is left; the answer's priced usage then replaces the reservation. A request that
//! could overshoot is not sent. Unlike a cap checked between turns, this cannot overshoot
//! by a whole turn (docs/output.md §6).
//!
//! Without a budget the ledger still runs: it is the run's cost total.

use std::sync::{Mutex, PoisonError};

/// The run's money: spent, reserved by requests in flight, and unknown.
#[derive(Debug, Default)]
pub struct Budget {
    limit: Option<f64>,
    ledger: Mutex<Ledger>,
}

#[derive(Debug, Default, Clone, Copy)]
struct Ledger {
    /// Priced usage of every answered request.
    spent: f64,
    /// Worst cases of requests in flight.
    reserved: f64,
    /// Worst cases of requests whose answer never arrived (cut off, interrupted): they
    /// may have been billed, so they stay counted against the budget.
    uncertain: f64,
}

/// A request may not be sent: its worst case does not fit what is left.
#[derive(Debug, Clone, Copy, PartialEq, thiserror::Error)]
#[error(
    "not sent: this request could cost up to ${needed:.4}, and only ${left:.4} of the \
     --budget-usd ${limit:.2} is left (${spent:.4} spent); raise --budget-usd to finish it"
)]
pub struct Refused {
    pub needed: f64,
    pub left: f64,
    pub limit: f64,
    pub spent: f64,
}

/// A request's worst case, held until its answer is priced. Dropped unsettled, it counts
/// as spent (an answer that never arrived may still have been billed).
#[must_use]
pub struct Reservation<'a> {
    budget: &'a Budget,
    amount: f64,
    done: bool,
}

impl Budget {
    pub fn new(limit: Option<f64>) -> Budget {
        Budget {
            limit,
            ledger: Mutex::default(),
        }
    }

    fn ledger(&self) -> std::sync::MutexGuard<'_, Ledger> {
        self.ledger.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Priced usage so far (what `run.json` reports as `cost.usd`).
    pub fn spent(&self) -> f64 {
        self.ledger().spent
    }

    /// Attempts whose answer was lost and that were retried: they may have been billed,
    /// so their worst case stays counted against the budget.
    pub fn count_lost(&self, worst: f64) {
        if worst > 0.0 {
            self.ledger().uncertain += worst;
        }
    }

    /// Reserves `worst` USD, or refuses when it could take the run over the budget.
    pub fn reserve(&self, worst: f64) -> Result<Reservation<'_>, Refused> {
        let mut l = self.ledger();
        if let Some(limit) = self.limit {
            let committed = l.spent + l.reserved + l.uncertain;
            if committed + worst > limit {
                return Err(Refused {
                    needed: worst,
                    left: (limit - committed).max(0.0),
                    limit,
                    spent: l.spent + l.uncertain,
                });
            }
        }
        l.reserved += worst;
        Ok(Reservation {
            budget: self,
            amount: worst,
            done: false,
        })
    }
}

impl Reservation<'_> {
    /// The answer arrived: its priced usage replaces the reservation. Returns the total
    /// spent so far.
    pub fn settle(mut self, actual: f64) -> f64 {
        self.done = true;
        let mut l = self.budget.ledger();
        l.reserved -= self.amount;
        l.spent += actual;
        l.spent
    }

    /// The API refused the request (an error status): nothing was billed.
    pub fn release(mut self) {
        self.done = true;
        self.budget.ledger().reserved -= self.amount;
    }
}

impl Drop for Reservation<'_> {
    fn drop(&mut self) {
        if !self.done {
            let mut l = self.budget.ledger();
            l.reserved -= self.amount;
            l.uncertain += self.amount;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_request_that_could_overshoot_is_refused() {
        let budget = Budget::new(Some(1.0));
        let a = budget.reserve(0.6).unwrap();
        let refused = budget.reserve(0.5).err().unwrap();
        assert!((refused.left - 0.4).abs() < 1e-12);
        assert!((a.settle(0.1) - 0.1).abs() < 1e-12);
        // The worst case gave way to the real price: there is room again.
        budget.reserve(0.5).unwrap().release();
        assert!((budget.spent() - 0.1).abs() < 1e-12);
    }

    #[test]
    fn an_answer_that_never_arrived_stays_counted() {
        let budget = Budget::new(Some(1.0));
        drop(budget.reserve(0.7).unwrap());
        assert!(budget.reserve(0.4).is_err());
        assert_eq!(budget.spent(), 0.0, "not priced usage");
    }

    #[test]
    fn without_a_limit_everything_fits() {
        let budget = Budget::new(None);
        assert!((budget.reserve(1e9).unwrap().settle(2.5) - 2.5).abs() < 1e-12);
    }
}

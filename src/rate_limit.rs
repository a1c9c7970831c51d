//! A gate shared by every request to one endpoint group (Messages, or Files). When one
//! request is told to back off (429 with `retry-after`, or 529), the gate closes for that
//! long for everyone, so parallel jobs do not stampede the API with retries that are bound
//! to fail. Every attempt, first or retry, waits here.

use std::sync::Mutex;
use std::time::Duration;

use tokio::time::Instant;

#[derive(Debug, Default)]
pub struct Gate {
    closed_until: Mutex<Option<Instant>>,
}

impl Gate {
    /// Waits until the gate is open.
    pub async fn ready(&self) {
        loop {
            let until = *self
                .closed_until
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            match until {
                Some(t) if t > Instant::now() => tokio::time::sleep_until(t).await,
                _ => return,
            }
        }
    }

    /// Closes the gate for `wait`, never shortening an existing pause.
    pub fn pause_for(&self, wait: Duration) {
        let until = Instant::now() + wait;
        let mut slot = self
            .closed_until
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if slot.is_none_or(|t| t < until) {
            *slot = Some(until);
        }
    }

    pub fn on_success(&self) {}

    /// Whether requests are being held back now (for the progress display).
    pub fn is_paused(&self) -> bool {
        self.closed_until
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .is_some_and(|t| t > Instant::now())
    }
}

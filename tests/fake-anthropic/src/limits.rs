//! Configured load behaviour: a sliding-window request limit, and seeded
//! random overload.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

/// At most `requests` per `window`, kept separately for Messages and for the
/// Files endpoints (the real API limits them separately too).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RateLimit {
    pub requests: u32,
    pub window: Duration,
}

/// Values for the `anthropic-ratelimit-requests-*` headers.
#[derive(Clone, Copy, Debug)]
pub(crate) struct RateHeaders {
    pub limit: u32,
    pub remaining: u32,
    /// When the window will have a free slot again.
    pub reset_in: Duration,
}

#[derive(Default)]
pub(crate) struct RateWindow {
    admitted: VecDeque<Instant>,
}

impl RateWindow {
    /// Admits (and records) a request, or says how long until a slot frees.
    pub fn admit(&mut self, limit: RateLimit, now: Instant) -> (RateHeaders, Option<Duration>) {
        while self
            .admitted
            .front()
            .is_some_and(|t| *t + limit.window <= now)
        {
            self.admitted.pop_front();
        }
        let used = u32::try_from(self.admitted.len()).unwrap_or(u32::MAX);
        if used >= limit.requests {
            let wait = self.admitted.front().map_or(limit.window, |t| {
                (*t + limit.window).saturating_duration_since(now)
            });
            let headers = RateHeaders {
                limit: limit.requests,
                remaining: 0,
                reset_in: wait,
            };
            return (headers, Some(wait));
        }
        self.admitted.push_back(now);
        let oldest = self.admitted.front().copied().unwrap_or(now);
        let headers = RateHeaders {
            limit: limit.requests,
            remaining: limit.requests - used - 1,
            reset_in: (oldest + limit.window).saturating_duration_since(now),
        };
        (headers, None)
    }
}

/// Deterministic coin flips (splitmix64), one per admitted Messages request.
pub(crate) struct Overload {
    probability: f64,
    state: u64,
}

impl Overload {
    pub fn new(probability: f64, seed: u64) -> Overload {
        Overload {
            probability,
            state: seed,
        }
    }

    pub fn hit(&mut self) -> bool {
        self.state = self.state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^= z >> 31;
        // 53 random bits → [0, 1)
        #[expect(clippy::cast_precision_loss, reason = "53 bits fit an f64 mantissa")]
        let unit = (z >> 11) as f64 / (1u64 << 53) as f64;
        unit < self.probability
    }
}

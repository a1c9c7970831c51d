//! Configured load behaviour: a request limit, and seeded random overload.
//!
//! The limit is a token bucket, as the real API's is ("capacity is continuously
//! replenished up to your maximum limit, rather than being reset at fixed intervals",
//! Anthropic's rate-limit docs): `requests` tokens at most, refilled at `requests` per
//! `window`, one spent per admitted request.

use std::time::{Duration, Instant};

/// At most `requests` in a burst, refilled at `requests` per `window`; kept separately for
/// Messages and for the Files endpoints (the real API limits them separately too).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RateLimit {
    pub requests: u32,
    pub window: Duration,
}

/// Values for the `anthropic-ratelimit-requests-*` headers.
#[derive(Clone, Copy, Debug)]
pub(crate) struct RateHeaders {
    pub limit: u32,
    /// Whole tokens left.
    pub remaining: u32,
    /// When the bucket is full again, as the real `…-reset` header means.
    pub reset_in: Duration,
}

/// The bucket; starts full.
#[derive(Default)]
pub(crate) struct RateWindow {
    /// Tokens spent below the capacity, and when that was last brought up to date.
    deficit: f64,
    updated: Option<Instant>,
}

impl RateWindow {
    /// Admits a request (spending a token), or says how long until a token is there.
    pub(crate) fn admit(
        &mut self,
        limit: RateLimit,
        now: Instant,
    ) -> (RateHeaders, Option<Duration>) {
        let capacity = f64::from(limit.requests);
        let per_sec = capacity / limit.window.as_secs_f64().max(1e-9);
        let elapsed = self
            .updated
            .map_or(0.0, |t| now.saturating_duration_since(t).as_secs_f64());
        self.deficit = (self.deficit - elapsed * per_sec).max(0.0);
        self.updated = Some(now);
        let headers = |deficit: f64| RateHeaders {
            limit: limit.requests,
            remaining: (capacity - deficit).floor().max(0.0) as u32,
            reset_in: Duration::from_secs_f64(deficit / per_sec),
        };
        if capacity - self.deficit < 1.0 {
            let wait = Duration::from_secs_f64((1.0 - (capacity - self.deficit)) / per_sec);
            return (headers(self.deficit), Some(wait));
        }
        self.deficit += 1.0;
        (headers(self.deficit), None)
    }
}

/// Deterministic coin flips (splitmix64), one per admitted Messages request.
pub(crate) struct Overload {
    probability: f64,
    state: u64,
}

impl Overload {
    pub(crate) fn new(probability: f64, seed: u64) -> Overload {
        Overload {
            probability,
            state: seed,
        }
    }

    pub(crate) fn hit(&mut self) -> bool {
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

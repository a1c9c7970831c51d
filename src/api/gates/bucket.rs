//! A rate-limit bucket as the server describes it (docs/api.md §4.3, §11): `limit` units
//! at most, refilling continuously; `remaining` now; `reset` when it is full again (not
//! when the next request fits). Requests, input tokens and output tokens each have one.

use std::time::Duration;

use tokio::time::Instant;

/// Pace a little under the measured refill rate: the server's clock and window edges are
/// not ours.
const PACE: f64 = 0.97;
/// Clock noise between two reports of one bucket (header times have microseconds, and
/// answers take a moment to be read).
const STALE_SLACK: Duration = Duration::from_millis(2);
/// Waits computed from a bucket never exceed this (a skewed clock must not stall a run).
pub(super) const MAX_WAIT: Duration = Duration::from_secs(60);

/// A quota as a response reported it.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct Quota {
    pub limit: u64,
    pub remaining: u64,
    /// Until the quota is fully replenished.
    pub reset_in: Duration,
}

/// The server's quota as last reported, refilled at the rate it implied.
#[derive(Debug, Clone, Copy)]
pub(super) struct Bucket {
    pub limit: f64,
    /// Units left when observed.
    pub tokens: f64,
    /// Refill per second (0 when unknown).
    pub rate: f64,
    pub observed: Instant,
    /// When the bucket will be full again, as reported.
    pub full_at: Instant,
    /// Units taken but not reflected in `tokens`: by requests in flight when observed,
    /// and started since. The bucket refills them like any other use.
    pub spent: f64,
    /// Whether reports of this bucket have shown an exact `remaining` (one that is not a
    /// whole thousand of tokens).
    pub exact: bool,
}

/// Token `remaining` values are rounded to the nearest thousand (docs/api.md §4.3): the
/// truth is within half of that.
const ROUNDING: u64 = 1000;
const HALF_ROUNDING: f64 = 500.0;

impl Bucket {
    /// A bucket from a report. `spent`: units held by other requests in flight, and `own`:
    /// those the answered request took; `per_minute`: the limit is a per-minute rate, so
    /// its refill rate is known even when the report cannot show it.
    ///
    /// An answer that was on its way while a newer one arrived can carry an older report:
    /// a continuously refilling bucket's full time never moves earlier (refilling leaves it
    /// where it is, taking moves it later), so a report whose full time is earlier than the
    /// last one's is stale and the previous estimate stays. The answered request was
    /// taken before its own report was made, so the newer report shows it too: it is no
    /// longer spent beyond that report (left there, it would hold the bucket down long
    /// after the request ended).
    pub(super) fn observed(
        q: Quota,
        previous: Option<Bucket>,
        (spent, own): (f64, f64),
        per_minute: bool,
        now: Instant,
    ) -> Bucket {
        let full_at = now + q.reset_in;
        if let Some(p) = previous
            && full_at + STALE_SLACK < p.full_at
        {
            return Bucket {
                spent: (p.spent - own).max(0.0),
                ..p
            };
        }
        #[expect(clippy::cast_precision_loss, reason = "quotas are far below 2^53")]
        let (limit, remaining) = (q.limit as f64, q.remaining as f64);
        // A rounded token count is within half a thousand of the truth, which on a small
        // limit is a large part of the bucket: the estimate carried over from the last
        // report (refilled, less everything sent since, as the server has likely taken it)
        // stays when it is between the low end and the count itself (more would be a guess
        // on the wrong side), else the nearer of those; with none, the low end.
        let exact = !per_minute
            || !q.remaining.is_multiple_of(ROUNDING)
            || previous.is_some_and(|p| p.exact);
        let half = if exact { 0.0 } else { HALF_ROUNDING };
        let (low, high) = ((remaining - half).max(0.0), (remaining + half).min(limit));
        let tokens = match previous {
            Some(p) if !exact => p.available(now).clamp(low, remaining),
            _ => low,
        };
        // The least use the report allows for.
        let used = limit - high;
        // `remaining` is rounded (to whole requests, or to thousands of tokens): with
        // little used, used / time-to-full overstates the rate, so trust it only once a
        // quarter of the quota is in use, which is also when pacing starts to matter.
        let rate = if used >= (limit / 4.0).max(1.0) && !q.reset_in.is_zero() {
            // Between the least and the most use a rounded report allows for: a per-minute
            // limit's own rate when it is in that range.
            let secs = q.reset_in.as_secs_f64();
            let (least, most) = (used / secs, (limit - low) / secs);
            let rate = if per_minute {
                (limit / 60.0).clamp(least, most)
            } else {
                least
            };
            rate * PACE
        } else if per_minute {
            limit / 60.0 * PACE
        } else {
            previous.map_or(0.0, |b| b.rate)
        };
        Bucket {
            limit,
            tokens,
            rate,
            observed: now,
            full_at,
            spent,
            exact,
        }
    }

    pub(super) fn available(&self, now: Instant) -> f64 {
        let refilled = self.rate * now.saturating_duration_since(self.observed).as_secs_f64();
        (self.tokens - self.spent + refilled).min(self.limit)
    }

    /// What a request of `need` units must wait for: `None` when it fits now; `Some(None)`
    /// when the rate is unknown; else when it will fit. A request larger than the whole
    /// bucket waits for a full bucket (the server judges it then).
    pub(super) fn wait(&self, need: f64, now: Instant) -> Option<Option<Instant>> {
        let need = need.min(self.limit);
        let missing = need - self.available(now);
        if missing <= 0.0 {
            return None;
        }
        if self.rate <= 0.0 {
            return Some(None);
        }
        Some(Some(
            now + Duration::from_secs_f64((missing / self.rate).clamp(0.0, MAX_WAIT.as_secs_f64())),
        ))
    }
}

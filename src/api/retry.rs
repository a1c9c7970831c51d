//! Which failures are transient, and the retry loop around one API call.
//!
//! The loop, not backon's combinator, drives attempts so that it can honour `retry-after`
//! exactly and report how many attempts were made; backon supplies the jittered, capped
//! exponential delays. The shared pause after a 429 (for every job, not just this one)
//! lives in the client's gates (`gates.rs`), which every attempt passes through.

use std::future::Future;
use std::time::Duration;

use backon::BackoffBuilder;

use super::error::{ApiError, ApiErrorKind};

/// Attempts and delays. Tests shrink every delay with `scale` (set from
/// `RUNNER_TEST_DELAY_SCALE` by the configuration; delays are scaled, never skipped, so the
/// order of events stays real).
#[derive(Clone, Copy, Debug)]
pub(crate) struct RetryPolicy {
    pub max_attempts: u32,
    pub min_delay: Duration,
    pub max_delay: Duration,
    pub scale: f64,
}

impl Default for RetryPolicy {
    fn default() -> RetryPolicy {
        RetryPolicy {
            // A nightly batch can afford more patience than the SDK's 3 attempts.
            max_attempts: 8,
            min_delay: Duration::from_millis(500),
            max_delay: Duration::from_secs(60),
            scale: 1.0,
        }
    }
}

impl RetryPolicy {
    pub(crate) fn scaled(&self, d: Duration) -> Duration {
        d.mul_f64(self.scale)
    }
}

/// Whether an error is worth another attempt (docs/api.md §4.2–4.4).
pub(crate) fn is_transient(e: &ApiError) -> bool {
    if matches!(e.kind, ApiErrorKind::Local(_)) {
        return false;
    }
    // The server's own word wins over any status rule, as in the official SDKs.
    if let Some(should) = e.should_retry {
        return should;
    }
    match &e.kind {
        ApiErrorKind::Transport(_) => true,
        ApiErrorKind::Status { status, .. } => {
            // A spend-cap 429 keeps failing until the cap changes.
            if super::facts::is_spend_limit(e.error_code()) {
                return false;
            }
            matches!(status, 408 | 409 | 429 | 500..=599)
        }
        ApiErrorKind::Decode { .. } | ApiErrorKind::Local(_) => false,
    }
}

/// The shortest sensible wait before retrying `e` when it names none: a workspace whose
/// storage is not connected yet asks for a minute (docs/api.md §4.5), one whose encryption
/// settings cannot be read for a few (a skill create, docs/api.md §14.3).
fn least_wait(e: &ApiError) -> Duration {
    match e.error_code() {
        Some("storage_not_ready") => super::facts::STORAGE_NOT_READY_WAIT,
        Some("cmek_context_unavailable") => super::facts::CMEK_CONTEXT_UNAVAILABLE_WAIT,
        _ => Duration::ZERO,
    }
}

/// A call that failed for good.
#[derive(Debug, Clone)]
pub(crate) struct GaveUp {
    pub error: ApiError,
    pub attempts: u32,
}

/// Its `Display` already says what the last attempt's error was.
impl std::error::Error for GaveUp {}

impl std::fmt::Display for GaveUp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.attempts > 1 {
            write!(
                f,
                "{} (gave up after {} attempts)",
                self.error, self.attempts
            )
        } else {
            write!(f, "{}", self.error)
        }
    }
}

/// Runs `op(attempt)` until it succeeds, fails for good, or runs out of attempts.
pub(crate) async fn retry<T, F, Fut>(policy: &RetryPolicy, mut op: F) -> Result<T, GaveUp>
where
    F: FnMut(u32) -> Fut,
    Fut: Future<Output = Result<T, ApiError>>,
{
    let mut backoff = backon::ExponentialBuilder::default()
        .with_jitter()
        .with_min_delay(policy.min_delay)
        .with_max_delay(policy.max_delay)
        .without_max_times()
        .build();
    let mut attempt = 0;
    loop {
        let result = op(attempt).await;
        attempt += 1;
        let error = match result {
            Ok(v) => return Ok(v),
            Err(e) => e,
        };
        if !is_transient(&error) || attempt >= policy.max_attempts {
            return Err(GaveUp {
                error,
                attempts: attempt,
            });
        }
        let computed = backoff.next().unwrap_or(policy.max_delay);
        let wait = policy.scaled(
            error
                .retry_after
                .unwrap_or_else(|| least_wait(&error).max(computed)),
        );
        tracing::warn!(
            endpoint = %error.endpoint,
            attempt,
            wait_ms = u64::try_from(wait.as_millis()).unwrap_or(u64::MAX),
            "retrying after: {error}"
        );
        tokio::time::sleep(wait).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn status(status: u16, code: Option<&str>) -> ApiError {
        ApiError {
            endpoint: "POST /v1/messages".into(),
            kind: ApiErrorKind::Status {
                status,
                error_type: None,
                error_code: code.map(str::to_owned),
                message: String::new(),
            },
            request_id: None,
            retry_after: None,
            should_retry: None,
        }
    }

    #[test]
    fn transient_table() {
        let retried: Vec<u16> = (400..=599)
            .filter(|s| is_transient(&status(*s, None)))
            .filter(|s| {
                [
                    400, 401, 403, 404, 408, 409, 413, 429, 500, 502, 503, 504, 529,
                ]
                .contains(s)
            })
            .collect();
        assert_eq!(retried, [408, 409, 429, 500, 502, 503, 504, 529]);
        assert!(!is_transient(&status(
            429,
            Some("enforced_spend_limit_reached")
        )));
        assert!(!is_transient(&status(
            429,
            Some("contract_spend_limit_reached")
        )));
        assert!(is_transient(&status(429, Some("ramp_limit_exceeded"))));
        assert!(is_transient(&status(503, Some("storage_not_ready"))));
        assert_eq!(
            least_wait(&status(503, Some("storage_not_ready"))),
            Duration::from_secs(60)
        );
        assert_eq!(least_wait(&status(503, None)), Duration::ZERO);
        assert_eq!(
            least_wait(&status(503, Some("cmek_context_unavailable"))),
            Duration::from_secs(120)
        );
        let mut forced = status(400, None);
        forced.should_retry = Some(true);
        assert!(is_transient(&forced));
        let mut refused = status(529, None);
        refused.should_retry = Some(false);
        assert!(!is_transient(&refused));
        let transport = ApiError {
            kind: ApiErrorKind::Transport("reset".into()),
            ..status(0, None)
        };
        assert!(is_transient(&transport));
        let local = ApiError {
            kind: ApiErrorKind::Local("changed".into()),
            ..status(0, None)
        };
        assert!(!is_transient(&local));
    }

    #[tokio::test(start_paused = true)]
    async fn honours_retry_after_and_counts_attempts() {
        let policy = RetryPolicy {
            max_attempts: 3,
            min_delay: Duration::from_millis(10),
            max_delay: Duration::from_millis(20),
            scale: 1.0,
        };
        let start = tokio::time::Instant::now();
        let result: Result<(), GaveUp> = retry(&policy, |_| async {
            let mut e = status(429, None);
            e.retry_after = Some(Duration::from_secs(7));
            Err(e)
        })
        .await;
        let gave_up = result.unwrap_err();
        assert_eq!(gave_up.attempts, 3);
        // Two waits of exactly the server's retry-after.
        assert_eq!(start.elapsed(), Duration::from_secs(14));
        assert!(gave_up.to_string().ends_with("(gave up after 3 attempts)"));
    }

    #[tokio::test(start_paused = true)]
    async fn permanent_errors_are_not_retried() {
        let policy = RetryPolicy::default();
        let mut calls = 0;
        let result: Result<(), GaveUp> = retry(&policy, |_| {
            calls += 1;
            async { Err(status(400, None)) }
        })
        .await;
        assert_eq!(result.unwrap_err().attempts, 1);
        assert_eq!(calls, 1);
    }
}

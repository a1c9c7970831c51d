//! The gate's behaviour, on tokio's paused clock.

use super::*;

const NONE: TokenEstimate = TokenEstimate { input: 0 };

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
        ..Signal::default()
    });
    let start = Instant::now();
    let _a = gate.acquire(NONE).await;
    assert_eq!(start.elapsed(), Duration::from_secs(3));
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
    let _first = gate.acquire(NONE).await;
    // 10 used of 10, refilled over one second: the next may go in ~0.1 s.
    gate.observe(used_up_quota());
    let start = Instant::now();
    let _second = gate.acquire(NONE).await;
    let waited = start.elapsed();
    assert!(
        waited >= Duration::from_millis(100) && waited <= Duration::from_millis(110),
        "{waited:?}"
    );
    // Two in flight, one token refilled since: the third waits for the next one.
    let start = Instant::now();
    let _third = gate.acquire(NONE).await;
    assert!(
        start.elapsed() >= Duration::from_millis(100),
        "{:?}",
        start.elapsed()
    );
}

#[tokio::test(start_paused = true)]
async fn pacing_applies_even_with_nothing_in_flight() {
    let gate = Gate::new("files", 8, 1.0);
    let first = gate.acquire(NONE).await;
    gate.observe(used_up_quota());
    drop(first);
    let start = Instant::now();
    let _second = gate.acquire(NONE).await;
    assert!(
        start.elapsed() >= Duration::from_millis(100),
        "{:?}",
        start.elapsed()
    );
}

#[tokio::test(start_paused = true)]
async fn the_limit_bounds_requests_in_flight() {
    let gate = Arc::new(Gate::new("files", 2, 1.0));
    let a = gate.acquire(NONE).await;
    let _b = gate.acquire(NONE).await;
    let waiter = {
        let gate = Arc::clone(&gate);
        tokio::spawn(async move {
            let _c = gate.acquire(NONE).await;
        })
    };
    tokio::task::yield_now().await;
    assert!(!waiter.is_finished());
    drop(a);
    waiter.await.unwrap();
}

/// An answer saying `remaining` of 60,000 input tokens per minute are left.
fn input_left(remaining: u64) -> Signal {
    Signal {
        status: Some(200),
        input_quota: Some(Quota {
            limit: 60_000,
            remaining,
            // Refilled at 1,000 a second: full again after the used part.
            reset_in: Duration::from_secs((60_000 - remaining) / 1_000),
        }),
        ..Signal::default()
    }
}

#[tokio::test(start_paused = true)]
async fn a_request_starts_when_its_input_tokens_fit_not_when_the_bucket_is_full() {
    let gate = Gate::new("messages", 8, 1.0);
    let first = gate.acquire(NONE).await;
    gate.observe(input_left(0));
    drop(first);
    // 5,000 tokens at ~970/s: about 5 s, not the 60 s until the bucket is full.
    let start = Instant::now();
    let _second = gate.acquire(TokenEstimate { input: 5_000 }).await;
    let waited = start.elapsed();
    assert!(
        waited >= Duration::from_secs(5) && waited <= Duration::from_millis(5_300),
        "{waited:?}"
    );
}

#[tokio::test(start_paused = true)]
async fn input_tokens_in_flight_count_against_the_bucket() {
    let gate = Gate::new("messages", 8, 1.0);
    let first = gate.acquire(NONE).await;
    gate.observe(input_left(20_000));
    drop(first);
    let _a = gate.acquire(TokenEstimate { input: 15_000 }).await;
    // 5,000 left: a second request of 15,000 waits for about 10,000 more.
    let start = Instant::now();
    let _b = gate.acquire(TokenEstimate { input: 15_000 }).await;
    let waited = start.elapsed();
    assert!(
        waited >= Duration::from_secs(10) && waited <= Duration::from_millis(10_600),
        "{waited:?}"
    );
}

#[tokio::test(start_paused = true)]
async fn retry_after_is_honoured_as_given_even_when_a_bucket_resets_later() {
    let gate = Gate::new("messages", 8, 1.0);
    let mut signal = input_left(0);
    signal.status = Some(429);
    signal.retry_after = Some(Duration::from_secs(16));
    gate.observe(signal);
    let start = Instant::now();
    let _a = gate.acquire(TokenEstimate { input: 1_000 }).await;
    let waited = start.elapsed();
    assert!(
        waited >= Duration::from_secs(16) && waited <= Duration::from_secs(17),
        "waited {waited:?}, not the 60 s until the bucket is full"
    );
}

#[tokio::test(start_paused = true)]
async fn an_older_report_arriving_late_does_not_undo_a_newer_one() {
    let gate = Gate::new("messages", 8, 1.0);
    let first = gate.acquire(NONE).await;
    // The newer report: nothing left, full in 60 s.
    gate.observe(input_left(0));
    // An answer that was on its way carries the older report: 30,000 left, full in 30 s.
    gate.observe(input_left(30_000));
    drop(first);
    let start = Instant::now();
    let _next = gate.acquire(TokenEstimate { input: 5_000 }).await;
    assert!(
        start.elapsed() >= Duration::from_secs(5),
        "{:?}: the stale report was believed",
        start.elapsed()
    );
}

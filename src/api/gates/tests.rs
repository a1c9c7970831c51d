//! The gate's behaviour, on tokio's paused clock.

use super::*;

const NONE: TokenEstimate = TokenEstimate { input: 0, tools: 0 };

fn tokens(input: u64) -> TokenEstimate {
    TokenEstimate { input, tools: 0 }
}

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
    gate.observe(status(200));
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

/// An answer saying `remaining` of 60,000 input tokens per minute are left (one more, so
/// that it reads as an exact count: not a whole thousand).
fn input_left(remaining: u64) -> Signal {
    Signal {
        status: Some(200),
        input_quota: Some(Quota {
            limit: 60_000,
            remaining: remaining + 1,
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
    let _second = gate.acquire(tokens(5_000)).await;
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
    let _a = gate.acquire(tokens(15_000)).await;
    // 5,000 left: a second request of 15,000 waits for about 10,000 more.
    let start = Instant::now();
    let _b = gate.acquire(tokens(15_000)).await;
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
    let _a = gate.acquire(tokens(1_000)).await;
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
    let _next = gate.acquire(tokens(5_000)).await;
    assert!(
        start.elapsed() >= Duration::from_secs(5),
        "{:?}: the stale report was believed",
        start.elapsed()
    );
}

#[tokio::test(start_paused = true)]
async fn until_the_first_answer_one_request_is_in_flight() {
    let gate = Arc::new(Gate::new("messages", 8, 1.0));
    let first = gate.acquire(NONE).await;
    let second = {
        let gate = Arc::clone(&gate);
        tokio::spawn(async move {
            let _b = gate.acquire(NONE).await;
        })
    };
    tokio::time::advance(Duration::from_secs(600)).await;
    assert!(
        !second.is_finished(),
        "a second request went before any answer"
    );
    // An answer without rate-limit headers still says there is no bucket to learn.
    gate.observe(Signal {
        own: first.charge(),
        ..status(200)
    });
    second.await.unwrap();
}

/// A bucket of 4,499 input tokens a minute, as an answer reports it after `used` were
/// taken from a full one.
fn small_bucket(used: u64) -> Signal {
    small_bucket_rounded(4_499 - used, used)
}

#[tokio::test(start_paused = true)]
async fn the_tool_allowance_is_what_answers_to_first_requests_showed() {
    let gate = Gate::new("messages", 8, 1.0);
    // A first request of 675 tokens of bytes and the 4,300 guessed for the tool, whose
    // answer counted 680: the tool's definitions were cache reads.
    let first_request = TokenEstimate {
        input: 675,
        tools: 4_300,
    };
    let first = gate.acquire(first_request).await;
    assert_eq!(first.charge().input, 4_975.0);
    gate.observe(Signal {
        own: first.charge(),
        ..small_bucket(680)
    });
    gate.record_usage(first_request, 680, 10);
    drop(first);
    // 3,819 left: five more first requests of 680 fit at once, where 4,975 each would
    // have waited for a full bucket one after the other.
    let start = Instant::now();
    let mut permits = Vec::new();
    for _ in 0..5 {
        permits.push(gate.acquire(first_request).await);
    }
    assert_eq!(start.elapsed(), Duration::ZERO);
    assert!(permits.iter().all(|p| p.charge().input == 680.0));
    // The sixth waits for the 261 it lacks, at ~73/s.
    let _sixth = gate.acquire(first_request).await;
    let waited = start.elapsed();
    assert!(
        waited >= Duration::from_millis(3_500) && waited <= Duration::from_millis(3_700),
        "{waited:?}"
    );
}

#[tokio::test(start_paused = true)]
async fn requests_waiting_on_the_guess_go_once_an_answer_shows_the_allowance() {
    let gate = Arc::new(Gate::new("messages", 8, 1.0));
    let first_request = TokenEstimate {
        input: 675,
        tools: 4_300,
    };
    let first = gate.acquire(first_request).await;
    gate.observe(Signal {
        own: first.charge(),
        ..small_bucket(680)
    });
    // Charged with the guess, the next would wait for the whole bucket.
    let second = {
        let gate = Arc::clone(&gate);
        tokio::spawn(async move {
            let start = Instant::now();
            let _b = gate.acquire(first_request).await;
            start.elapsed()
        })
    };
    tokio::task::yield_now().await;
    gate.record_usage(first_request, 680, 10);
    assert_eq!(second.await.unwrap(), Duration::ZERO);
    drop(first);
}

#[tokio::test(start_paused = true)]
async fn what_requests_in_flight_took_refills_like_any_other_use() {
    let gate = Gate::new("messages", 8, 1.0);
    let first = gate.acquire(NONE).await;
    gate.observe(input_left(60_000));
    drop(first);
    // An answer lost on the way: its 50,000 stay counted until the bucket refills them.
    let lost = gate.acquire(tokens(50_000)).await;
    gate.observe(Signal {
        own: lost.charge(),
        ..Signal::default()
    });
    drop(lost);
    let start = Instant::now();
    let next = tokio::time::timeout(Duration::from_secs(120), gate.acquire(tokens(50_000))).await;
    assert!(next.is_ok(), "never fits: what was taken never refills");
    // 40,000 more at ~970/s.
    let waited = start.elapsed();
    assert!(
        waited >= Duration::from_secs(41) && waited <= Duration::from_secs(42),
        "{waited:?}"
    );
}

#[tokio::test(start_paused = true)]
async fn a_stale_report_still_shows_its_request_was_taken() {
    let gate = Gate::new("messages", 8, 1.0);
    let first = gate.acquire(NONE).await;
    gate.observe(input_left(60_000));
    drop(first);
    let a = gate.acquire(tokens(30_000)).await;
    let b = gate.acquire(tokens(30_000)).await;
    // b's answer: nothing left, full in 60 s, with a still in flight.
    gate.observe(Signal {
        own: b.charge(),
        ..input_left(0)
    });
    drop(b);
    // a's answer was made earlier (30,000 left): stale, but the newer report had a in it.
    gate.observe(Signal {
        own: a.charge(),
        ..input_left(30_000)
    });
    drop(a);
    let start = Instant::now();
    let _next = gate.acquire(tokens(30_000)).await;
    // 30,000 at ~970/s, not 60,000.
    let waited = start.elapsed();
    assert!(
        waited >= Duration::from_secs(30) && waited <= Duration::from_secs(32),
        "{waited:?}"
    );
}

/// A report of the small bucket saying `remaining` (rounded to thousands, or not) when
/// `true_used` were taken.
fn small_bucket_rounded(remaining: u64, true_used: u64) -> Signal {
    Signal {
        status: Some(200),
        input_quota: Some(Quota {
            limit: 4_499,
            remaining,
            reset_in: Duration::from_millis(true_used * 60_000 / 4_499),
        }),
        ..Signal::default()
    }
}

#[tokio::test(start_paused = true)]
async fn a_rounded_remaining_is_read_as_the_range_it_stands_for() {
    let gate = Gate::new("messages", 8, 1.0);
    // About 500 left, reported as 1,000: without a previous estimate, the low end.
    gate.observe(small_bucket_rounded(1_000, 3_999));
    tokio::time::advance(Duration::from_millis(1_400)).await;
    // Still 1,000 as rounded: the estimate carried over (~600) is within it and stays.
    gate.observe(small_bucket_rounded(1_000, 3_894));
    let start = Instant::now();
    let _next = gate.acquire(tokens(680)).await;
    // ~80 more at ~73/s; read as 1,000 it would have gone at once, into a 429.
    let waited = start.elapsed();
    assert!(
        waited >= Duration::from_millis(900) && waited <= Duration::from_millis(1_300),
        "{waited:?}"
    );
}

use std::time::Duration;

use proptest::prelude::*;

use super::*;

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() < 1e-12
}

/// `reserve` with no interest in the wait.
async fn take(budget: &Budget, worst: f64) -> Result<Reservation<'_>, Refused> {
    budget.reserve(worst, || ()).await
}

/// Whether `fut` is still pending after the runtime had every chance to make progress.
async fn still_waiting<F: Future>(fut: std::pin::Pin<&mut F>) -> bool {
    tokio::time::timeout(Duration::from_millis(50), fut)
        .await
        .is_err()
}

#[tokio::test]
async fn a_request_that_does_not_fit_waits_for_the_reservations_in_flight() {
    let budget = Budget::new(Some(1.0), 1);
    let a = take(&budget, 0.6).await.unwrap();
    let waited = std::sync::atomic::AtomicBool::new(false);
    let b = budget.reserve(0.5, || waited.store(true, Ordering::SeqCst));
    let mut b = std::pin::pin!(b);
    assert!(still_waiting(b.as_mut()).await, "0.6 + 0.5 > 1: it waits");
    assert!(waited.load(Ordering::SeqCst));
    // The answer cost less than its reservation: the rest is free again.
    assert!(close(a.settle(0.1), 0.1));
    let b = b.await.unwrap();
    assert!(close(b.amount(), 0.5));
    b.release();
    assert!(close(budget.spent(), 0.1));
}

#[tokio::test]
async fn a_request_is_refused_only_when_it_could_never_fit() {
    let budget = Budget::new(Some(1.0), 1);
    let a = take(&budget, 0.3).await.unwrap();
    assert!(close(a.settle(0.3), 0.3));
    let b = take(&budget, 0.4).await.unwrap();
    // 0.3 spent: 0.8 can never fit, whatever the request in flight costs.
    let refused = take(&budget, 0.8).await.err().unwrap();
    assert!(close(refused.unspent, 0.7) && close(refused.reserved, 0.4));
    assert_eq!(refused.in_flight, 1);
    assert_eq!(
        refused.to_string(),
        "not sent: this request could cost up to $0.8000, more than the $0.7000 of the \
         --budget-usd 1.00 not yet spent ($0.3000 spent; $0.4000 of the rest is held by 1 \
         request in flight); raise --budget-usd to finish it"
    );
    b.release();
    let alone = take(&budget, 0.71).await.err().unwrap();
    assert!(
        alone
            .to_string()
            .contains("($0.3000 spent; nothing in flight)")
    );
}

#[tokio::test]
async fn an_answer_that_never_arrived_stays_counted() {
    let budget = Budget::new(Some(1.0), 1);
    drop(take(&budget, 0.7).await.unwrap());
    assert!(
        take(&budget, 0.4).await.is_err(),
        "no wait: nothing in flight"
    );
    assert_eq!(budget.spent(), 0.0, "not priced usage");
}

#[tokio::test]
async fn waiters_are_served_in_order_and_one_that_gives_up_leaves_the_queue() {
    let budget = Budget::new(Some(1.0), 1);
    let a = take(&budget, 0.9).await.unwrap();
    let mut first = Box::pin(take(&budget, 0.5));
    assert!(still_waiting(first.as_mut()).await);
    let mut second = Box::pin(take(&budget, 0.05));
    // 0.05 would fit now, but an older request waits: no overtaking.
    assert!(still_waiting(second.as_mut()).await);
    let mut third = Box::pin(take(&budget, 0.05));
    assert!(still_waiting(third.as_mut()).await);
    // The head gives up (interrupted): the next one is served at once.
    drop(first);
    second.await.unwrap().release();
    third.await.unwrap().release();
    a.release();
}

#[test]
fn without_a_limit_everything_fits() {
    let budget = Budget::new(None, 1);
    let r = futures_util::FutureExt::now_or_never(take(&budget, 1e9))
        .unwrap()
        .unwrap();
    assert!(close(r.settle(2.5), 2.5));
}

#[test]
fn the_model_calls_bound_only_grows() {
    let budget = Budget::new(None, 10);
    assert!(!budget.saw_model_calls(4));
    assert!(budget.saw_model_calls(12));
    assert_eq!(budget.model_calls(), 12);
}

/// How one request of a simulated job ends.
#[derive(Clone, Copy, Debug)]
enum End {
    /// Answered, costing this share of its reservation.
    Settled(f64),
    Released,
    Lost,
}

fn request() -> impl Strategy<Value = (f64, End)> {
    let end = prop_oneof![
        6 => (0.0..=1.0f64).prop_map(End::Settled),
        1 => Just(End::Released),
        1 => Just(End::Lost),
    ];
    (0.001..0.5f64, end)
}

/// Each job's requests (reservation, end), the budget, the concurrency, and the choices of
/// which job moves next.
type Night = (Vec<Vec<(f64, End)>>, f64, usize, Vec<usize>);

fn night() -> impl Strategy<Value = Night> {
    (
        prop::collection::vec(prop::collection::vec(request(), 1..5), 1..12),
        0.05..3.0f64,
        1..8usize,
        prop::collection::vec(any::<usize>(), 200),
    )
}

/// One simulated job: its requests, the next one, and what it is doing.
#[derive(Default)]
struct Sim {
    next: usize,
    waiter: Option<Waiter>,
    in_flight: Option<(f64, End)>,
    refused: bool,
}

proptest! {
    /// The ledger alone, under random orders of requests and settlements: the money
    /// committed never exceeds the budget, and with nothing in flight the queue's head
    /// is never left waiting.
    #[test]
    fn the_ledger_never_commits_more_than_the_budget((jobs, limit, concurrency, picks) in night()) {
        let mut l = Ledger::default();
        let mut sims: Vec<Sim> = jobs.iter().map(|_| Sim::default()).collect();
        let mut picks = picks.into_iter().cycle();
        for _ in 0..10_000 {
            let live: Vec<usize> = (0..sims.len())
                .filter(|&i| !sims[i].refused && (sims[i].next < jobs[i].len() || sims[i].in_flight.is_some()))
                .take(concurrency)
                .collect();
            let Some(&i) = live.get(picks.next().unwrap_or(0) % live.len().max(1)) else { break };
            let sim = &mut sims[i];
            if let Some((worst, end)) = sim.in_flight.take() {
                match end {
                    End::Settled(share) => l.end(worst, worst * share, 0.0),
                    End::Released => l.end(worst, 0.0, 0.0),
                    End::Lost => l.end(worst, 0.0, worst),
                }
                sim.next += 1;
            } else {
                let (worst, end) = jobs[i][sim.next];
                let waiter = sim.waiter.take().unwrap_or_else(|| l.waiter());
                match l.admit(Some(limit), worst, &waiter) {
                    Admit::Reserved => sim.in_flight = Some((worst, end)),
                    Admit::Refused(_) => sim.refused = true,
                    Admit::Wait => {
                        prop_assert!(l.in_flight > 0 || l.queue.front().is_some_and(|w| w.ticket != waiter.ticket),
                            "the head waits with nothing in flight");
                        sim.waiter = Some(waiter);
                    }
                }
            }
            prop_assert!(l.spent + l.uncertain + l.reserved <= limit + 1e-9,
                "committed {} + {} + {} of {limit}", l.spent, l.uncertain, l.reserved);
        }
        prop_assert!(l.spent + l.uncertain <= limit + 1e-9);
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// The real `reserve`, with tasks: every job ends (no deadlock), and the spend stays
    /// within the budget.
    #[test]
    fn concurrent_jobs_finish_within_the_budget((jobs, limit, concurrency, picks) in night()) {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_time()
            .build()
            .unwrap();
        let budget = Arc::new(Budget::new(Some(limit), 1));
        let permits = Arc::new(tokio::sync::Semaphore::new(concurrency));
        let done = rt.block_on(async {
            let mut tasks = tokio::task::JoinSet::new();
            for (i, requests) in jobs.into_iter().enumerate() {
                let (budget, permits) = (Arc::clone(&budget), Arc::clone(&permits));
                let yields = picks[i % picks.len()] % 4;
                tasks.spawn(async move {
                    let _permit = permits.acquire().await;
                    for (worst, end) in requests {
                        let Ok(r) = budget.reserve(worst, || ()).await else { return };
                        for _ in 0..yields {
                            tokio::task::yield_now().await;
                        }
                        match end {
                            End::Settled(share) => { r.settle(worst * share); }
                            End::Released => r.release(),
                            End::Lost => drop(r),
                        }
                    }
                });
            }
            tokio::time::timeout(Duration::from_secs(20), async {
                while tasks.join_next().await.is_some() {}
            })
            .await
        });
        prop_assert!(done.is_ok(), "a job never finished");
        let l = budget.ledger();
        prop_assert!(l.spent + l.uncertain <= limit + 1e-9, "{} + {} of {limit}", l.spent, l.uncertain);
        prop_assert_eq!(l.in_flight, 0);
        prop_assert!(l.queue.is_empty());
    }
}

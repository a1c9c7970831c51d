//! Test support shared by the unit tests of several modules (compiled only for tests): the
//! proptest strategies that build hostile input, and the one configuration every property
//! test runs with.
//!
//! Property tests are deterministic: each runs a fixed number of cases from a fixed seed, so
//! a red CI run is a real failure and fails again on any machine, and proptest shrinks it to
//! a minimal input before reporting. To explore beyond the fixed cases, give another seed:
//! `PROPTEST_RNG_SEED=7 cargo test -p runner --lib property`. No regression files are
//! written: a case worth keeping becomes a named example test.

pub(crate) mod json;
pub(crate) mod yaml;

use proptest::strategy::{Strategy, ValueTree};
use proptest::test_runner::{Config, RngSeed, TestRunner};

/// The seed of every property test unless `PROPTEST_RNG_SEED` names another.
const SEED: u64 = 0x00C0_FFEE_D00D_F00D;

/// The configuration of a property test that runs `cases` cases.
pub(crate) fn config(cases: u32) -> Config {
    // `Config::default()` holds what proptest read from `PROPTEST_*`; only the seed is kept.
    let from_env = Config::default();
    Config {
        cases,
        failure_persistence: None,
        rng_seed: match from_env.rng_seed {
            RngSeed::Random => RngSeed::Fixed(SEED),
            fixed @ RngSeed::Fixed(_) => fixed,
        },
        // proptest's default is four shrink steps per case, too few for a small case count;
        // the time limit ends shrinking of slow cases (ones that read files).
        max_shrink_iters: 10_000,
        max_shrink_time: 60_000,
        ..from_env
    }
}

/// `n` values drawn from `strategy` with proptest's fixed deterministic seed: for tests that
/// count what a strategy reaches (both sides of a property), which a property test cannot.
pub(crate) fn sample<S: Strategy>(strategy: &S, n: usize) -> Vec<S::Value> {
    let mut runner = TestRunner::deterministic();
    (0..n)
        .map(|_| match strategy.new_tree(&mut runner) {
            Ok(tree) => tree.current(),
            Err(why) => panic!("the strategy gave no value: {why}"),
        })
        .collect()
}

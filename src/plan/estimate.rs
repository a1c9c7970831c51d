//! `runner plan --estimate` for a job with no cost of its own yet: its whole conversation
//! modelled from its first request's counted input tokens (docs/exit-codes.md §2.2). A job
//! that ran before is expected to cost what it cost last time instead.
//!
//! The model: every turn (the prompt, each follow-up, and one repair turn when the job
//! has `expect`) makes [`CALLS_PER_TURN`] model calls (code, its result, the answer); each
//! call writes [`OUTPUT_PER_CALL`] tokens (at most `max_tokens`) and its tool result adds
//! [`TOOL_RESULT_TOKENS`], and every call reads the whole conversation before it: from the
//! cache when caching is on (only what is new is written), else as plain input.

use serde::Serialize;

use super::PlannedJob;
use super::price::tokens;
use crate::api::messages::CacheTtl;
use crate::api::prices::Rates;

/// Model calls per turn: a code-execution turn writes code, reads its result and answers.
pub(crate) const CALLS_PER_TURN: u32 = 3;

/// Output tokens per model call, at most the job's `max_tokens`.
pub(crate) const OUTPUT_PER_CALL: u64 = 800;

/// What a code execution's result adds to the conversation, in tokens.
pub(crate) const TOOL_RESULT_TOKENS: u64 = 400;

/// A whole conversation, as modelled.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub(crate) struct Conversation {
    /// The prompt, the follow-ups and the repair allowance.
    pub turns: u32,
    /// Of those, repair turns (one when the job has `expect` and `repair_turns` > 0).
    pub repair_turns: u32,
    pub model_calls: u32,
    pub usd: f64,
}

/// The conversation of `job` whose first request reads `first_input_tokens`.
pub(crate) fn conversation(job: &PlannedJob, first_input_tokens: u64) -> Conversation {
    let repair_turns = job
        .deliverables
        .as_ref()
        .map_or(0, |d| u32::from(d.repair_turns > 0));
    let asked = u32::try_from(job.turns.len()).unwrap_or(u32::MAX);
    let shape = Shape {
        turns: asked.saturating_add(repair_turns),
        repair_turns,
        max_tokens: job.settings.max_tokens,
    };
    model(&shape, &job.rates, job.cache, first_input_tokens)
}

/// What the model needs of a job.
struct Shape {
    turns: u32,
    repair_turns: u32,
    max_tokens: u32,
}

fn model(shape: &Shape, r: &Rates, cache: CacheTtl, first_input_tokens: u64) -> Conversation {
    let model_calls = shape.turns.saturating_mul(CALLS_PER_TURN);
    let output = OUTPUT_PER_CALL.min(u64::from(shape.max_tokens));
    let growth = output + TOOL_RESULT_TOKENS;
    let (write, read) = match cache {
        CacheTtl::Off => (r.input, r.input),
        CacheTtl::FiveMinutes => (r.cache_write_5m, r.cache_read),
        CacheTtl::OneHour => (r.cache_write_1h, r.cache_read),
    };
    let mut usd = 0.0;
    for call in 0..u64::from(model_calls) {
        // What the calls before this one left in the conversation, and what it adds.
        let before = first_input_tokens + call.saturating_sub(1) * growth;
        let input = match call {
            0 => tokens(first_input_tokens) * write,
            _ => tokens(before) * read + tokens(growth) * write,
        };
        usd += (input + tokens(output) * r.output) / 1e6;
    }
    Conversation {
        turns: shape.turns,
        repair_turns: shape.repair_turns,
        model_calls,
        usd,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SONNET: Rates = Rates {
        input: 3.0,
        cache_write_5m: 3.75,
        cache_write_1h: 6.0,
        cache_read: 0.3,
        output: 15.0,
    };

    fn turns(turns: u32, cache: CacheTtl) -> Conversation {
        let shape = Shape {
            turns,
            repair_turns: 0,
            max_tokens: 16_000,
        };
        model(&shape, &SONNET, cache, 5_000)
    }

    #[test]
    fn each_later_turn_costs_more_than_the_one_before_and_the_first_request_is_a_small_part() {
        let one = turns(1, CacheTtl::FiveMinutes);
        let two = turns(2, CacheTtl::FiveMinutes);
        let three = turns(3, CacheTtl::FiveMinutes);
        assert_eq!((one.turns, one.model_calls), (1, CALLS_PER_TURN));
        // The first turn writes the whole first request to the cache; later turns read it.
        assert!(three.usd - two.usd > two.usd - one.usd, "{two:?} {three:?}");
        let first_request = 5_000.0 * SONNET.cache_write_5m / 1e6;
        assert!(one.usd > 3.0 * first_request, "{one:?} vs {first_request}");
        let off = turns(1, CacheTtl::Off);
        assert!(
            off.usd > one.usd,
            "without the cache every call reads at full price"
        );
    }

    #[test]
    fn max_tokens_caps_each_calls_output() {
        let shape = |max_tokens| Shape {
            turns: 1,
            repair_turns: 0,
            max_tokens,
        };
        let small = model(&shape(100), &SONNET, CacheTtl::Off, 0);
        let large = model(&shape(16_000), &SONNET, CacheTtl::Off, 0);
        assert!(small.usd < large.usd / 4.0, "{small:?} {large:?}");
    }
}

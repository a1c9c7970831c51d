//! Dollars from tokens (docs/api.md §11, docs/output.md §2): each request is priced from its
//! own `usage` (every input token is billed in exactly one category: plain input, cache
//! write by TTL, or cache read), and the worst case a request could cost before it is sent,
//! for `--budget-usd`.
//!
//! Code-execution container time is billed separately by the API and is not in `usage`, so
//! it is not here (docs/api.md §3.10).

use serde::{Deserialize, Serialize};

use crate::api::messages::{CacheTtl, Usage};
use crate::api::prices::{BATCH_SHARE, Rates};

const PER: f64 = 1_000_000.0;

/// USD by billing category.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Parts {
    pub input: f64,
    pub cache_write_5m: f64,
    pub cache_write_1h: f64,
    pub cache_read: f64,
    pub output: f64,
}

/// What some requests cost: `usd` is the sum of the parts.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Cost {
    pub usd: f64,
    pub parts: Parts,
}

impl Cost {
    pub fn add(&mut self, other: &Cost) {
        self.usd += other.usd;
        let (a, b) = (&mut self.parts, &other.parts);
        a.input += b.input;
        a.cache_write_5m += b.cache_write_5m;
        a.cache_write_1h += b.cache_write_1h;
        a.cache_read += b.cache_read;
        a.output += b.output;
    }
}

/// Token counts far beyond 2^53 are not real usage: priced, they would be off in the last
/// digits, never panic.
#[expect(
    clippy::cast_precision_loss,
    reason = "token counts are far below 2^53"
)]
fn tokens(n: u64) -> f64 {
    n as f64
}

/// The price of one response's `usage`. `service_tier` is the response's
/// (`batch` is half price); `asked` is the TTL the request asked for, which prices cache
/// writes the response did not split by TTL.
pub fn request_cost(
    usage: &Usage,
    service_tier: Option<&str>,
    rates: &Rates,
    asked: CacheTtl,
) -> Cost {
    let share = if service_tier == Some("batch") {
        BATCH_SHARE
    } else {
        1.0
    };
    let split = usage.cache_creation;
    let split_sum = split
        .ephemeral_5m_input_tokens
        .saturating_add(split.ephemeral_1h_input_tokens);
    // A total larger than its split: the rest was written at the TTL asked for.
    let unsplit = usage.cache_creation_input_tokens.saturating_sub(split_sum);
    let (mut w5, mut w1) = (
        split.ephemeral_5m_input_tokens,
        split.ephemeral_1h_input_tokens,
    );
    if asked == CacheTtl::OneHour {
        w1 = w1.saturating_add(unsplit);
    } else {
        w5 = w5.saturating_add(unsplit);
    }
    let price = |n: u64, rate: f64| tokens(n) * rate / PER * share;
    let parts = Parts {
        input: price(usage.input_tokens, rates.input),
        cache_write_5m: price(w5, rates.cache_write_5m),
        cache_write_1h: price(w1, rates.cache_write_1h),
        cache_read: price(usage.cache_read_input_tokens, rates.cache_read),
        output: price(usage.output_tokens, rates.output),
    };
    Cost {
        usd: parts.input
            + parts.cache_write_5m
            + parts.cache_write_1h
            + parts.cache_read
            + parts.output,
        parts,
    }
}

/// Tokens added to a request's own size in its worst case: what the API adds around the
/// code-execution tool. A real 423-byte request was billed 7,646 input tokens (docs/api.md
/// §11); this is twice that, rounded up.
pub const TOOL_OVERHEAD_TOKENS: u64 = 16_384;

/// The most one request could cost: every byte of its body an input token (a token is
/// never shorter than one byte of UTF-8 text) plus the tool overhead, all billed at the
/// dearest input price the job's caching can incur, and `max_tokens` of output.
pub fn worst_case(body_bytes: u64, max_tokens: u32, rates: &Rates, cache: CacheTtl) -> f64 {
    worst_case_of_tokens(
        body_bytes.saturating_add(TOOL_OVERHEAD_TOKENS),
        max_tokens,
        rates,
        cache,
    )
}

/// The most a request of `input` tokens could cost: all of them at the dearest input
/// price the job's caching can incur, and `max_tokens` of output.
pub fn worst_case_of_tokens(input: u64, max_tokens: u32, rates: &Rates, cache: CacheTtl) -> f64 {
    let dearest = match cache {
        CacheTtl::Off => rates.input,
        CacheTtl::FiveMinutes => rates.input.max(rates.cache_write_5m),
        CacheTtl::OneHour => rates.input.max(rates.cache_write_1h),
    };
    tokens(input) * dearest / PER + f64::from(max_tokens) * rates.output / PER
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::messages::CacheCreation;
    use crate::api::prices::builtin;

    #[test]
    fn a_request_is_priced_by_category_and_ttl() {
        let rates = builtin("claude-sonnet-4-5").unwrap();
        let usage = Usage {
            input_tokens: 4,
            output_tokens: 1_000,
            cache_creation_input_tokens: 500,
            cache_read_input_tokens: 8_934,
            cache_creation: CacheCreation {
                ephemeral_5m_input_tokens: 399,
                ephemeral_1h_input_tokens: 100,
            },
            ..Usage::default()
        };
        let c = request_cost(&usage, Some("standard"), &rates, CacheTtl::FiveMinutes);
        let by_hand = 4.0 * 3.0 / 1e6
            + 400.0 * 3.75 / 1e6 // 399 split + 1 unsplit at the asked TTL
            + 100.0 * 6.0 / 1e6
            + 8_934.0 * 0.3 / 1e6
            + 1_000.0 * 15.0 / 1e6;
        assert!((c.usd - by_hand).abs() < 1e-12, "{} vs {by_hand}", c.usd);
        let batch = request_cost(&usage, Some("batch"), &rates, CacheTtl::FiveMinutes);
        assert!((batch.usd - by_hand / 2.0).abs() < 1e-12);
    }

    #[test]
    fn the_worst_case_covers_any_usage_the_body_can_produce() {
        let rates = builtin("claude-haiku-4-5").unwrap();
        let w = worst_case(1_000, 2_000, &rates, CacheTtl::OneHour);
        assert!((w - ((1_000.0 + 16_384.0) * 2.0 + 2_000.0 * 5.0) / 1e6).abs() < 1e-12);
        let w = worst_case(1_000, 2_000, &rates, CacheTtl::Off);
        assert!((w - ((1_000.0 + 16_384.0) * 1.0 + 2_000.0 * 5.0) / 1e6).abs() < 1e-12);
    }
}

//! Dollars from tokens (docs/api.md §11, docs/output.md §2): each request is priced from its
//! own `usage` (every input token is billed in exactly one category: plain input, cache
//! write by TTL, or cache read), and the most a request could cost before it is sent, for
//! `--budget-usd` (docs/api.md §11.1).
//!
//! Code-execution container time is billed separately by the API and is not in `usage`, so
//! it is not here (docs/api.md §3.10).

use serde::{Deserialize, Serialize};

use crate::api::messages::{CacheTtl, Usage};
use crate::api::prices::{Billing, PriceRow, Rates};

const PER: f64 = 1_000_000.0;

/// USD by billing category.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub(crate) struct Parts {
    pub input: f64,
    pub cache_write_5m: f64,
    pub cache_write_1h: f64,
    pub cache_read: f64,
    pub output: f64,
}

/// What some requests cost: `usd` is the sum of the parts.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub(crate) struct Cost {
    pub usd: f64,
    pub parts: Parts,
}

impl Cost {
    pub(crate) fn add(&mut self, other: &Cost) {
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
pub(crate) fn tokens(n: u64) -> f64 {
    n as f64
}

/// Which rates of which row a request was billed at (recorded per request in job.json).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub(crate) struct Applied {
    pub model: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub effective_from: Option<jiff::civil::Date>,
    /// The request's prompt was above the row's whole-request tier.
    pub tier: bool,
    /// Batch and US-only factors, multiplied (1.0 for neither).
    pub factor: f64,
    pub rates: Rates,
    pub source: String,
}

/// Which rates and factor of `row` the response's `usage` is billed at.
pub(crate) fn applied(usage: &Usage, billing: Billing<'_>, row: &PriceRow) -> Applied {
    let prompt = usage
        .input_tokens
        .saturating_add(usage.cache_creation_input_tokens)
        .saturating_add(usage.cache_read_input_tokens);
    let tier = row.tier.filter(|t| prompt > t.prompt_gt);
    let mut factor = 1.0;
    if billing.service_tier == Some("batch") {
        factor *= row.batch_factor;
    }
    if billing.inference_geo == Some("us") {
        factor *= row.us_geo_factor.unwrap_or(1.0);
    }
    Applied {
        model: row.model.clone(),
        effective_from: row.effective_from,
        tier: tier.is_some(),
        factor,
        rates: tier.map_or(row.rates, |t| t.rates),
        source: row.source.clone(),
    }
}

/// The price of one response's `usage` at `row`. `asked` is the TTL the request asked
/// for, which prices cache writes the response did not split by TTL.
pub(crate) fn request_cost(
    usage: &Usage,
    billing: Billing<'_>,
    row: &PriceRow,
    asked: CacheTtl,
) -> Cost {
    cost_at(usage, &applied(usage, billing, row), asked)
}

/// The price of `usage` at the rates and factor already chosen.
pub(crate) fn cost_at(usage: &Usage, applied: &Applied, asked: CacheTtl) -> Cost {
    let rates = &applied.rates;
    let share = applied.factor;
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
/// §11); this is twice that, rounded up, which also covers the newer tokenizer's 30–35 %
/// more tokens for the same text (docs/api.md §11.1).
pub(crate) const TOOL_OVERHEAD_TOKENS: u64 = 16_384;

/// Model calls one request is reserved for unless `--budget-model-calls` says otherwise:
/// the server-tool loop's iteration limit (docs/api.md §11.1).
pub(crate) const DEFAULT_MODEL_CALLS: u32 = 10;

/// What one request can bill at most, in tokens.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Bound {
    /// Input tokens of every category together.
    pub input_tokens: u64,
    /// The request's `max_tokens`, which caps each model call's output.
    pub max_tokens: u32,
    /// Model calls the request can make (server tools call the model again after each
    /// tool result).
    pub model_calls: u32,
}

impl Bound {
    /// Output tokens at most: `max_tokens` per model call (docs/api.md §11.1).
    pub(crate) fn output_tokens(&self) -> u64 {
        u64::from(self.max_tokens).saturating_mul(u64::from(self.model_calls.max(1)))
    }
}

/// The input tokens a request body of `bytes` can bill at most: one per byte (no
/// tokenizer makes a token of less than one byte of UTF-8 text) plus the tool overhead.
pub(crate) fn input_of_bytes(bytes: u64) -> u64 {
    bytes.saturating_add(TOOL_OVERHEAD_TOKENS)
}

/// The most one request within `bound` could cost at `row`: all of its input at the
/// dearest input price the job's caching can incur, all of its output at the dearest
/// output price.
pub(crate) fn worst_case(bound: &Bound, row: &PriceRow, cache: CacheTtl) -> f64 {
    worst_case_at(bound, &dearest(row), cache)
}

/// The dearest rates `row` can bill at: its tier's when it has one, times the US-only factor
/// (a response may report it whatever was asked).
pub(crate) fn dearest(row: &PriceRow) -> Rates {
    let r = row.tier.map_or(row.rates, |t| t.rates);
    let f = row.us_geo_factor.unwrap_or(1.0).max(1.0);
    Rates {
        input: r.input * f,
        cache_write_5m: r.cache_write_5m * f,
        cache_write_1h: r.cache_write_1h * f,
        cache_read: r.cache_read * f,
        output: r.output * f,
    }
}

/// [`worst_case`] at rates already chosen.
pub(crate) fn worst_case_at(bound: &Bound, rates: &Rates, cache: CacheTtl) -> f64 {
    let dearest = match cache {
        CacheTtl::Off => rates.input,
        CacheTtl::FiveMinutes => rates.input.max(rates.cache_write_5m),
        CacheTtl::OneHour => rates.input.max(rates.cache_write_1h),
    };
    tokens(bound.input_tokens) * dearest / PER + tokens(bound.output_tokens()) * rates.output / PER
}

#[cfg(test)]
mod tests {
    use jiff::civil::date;

    use super::*;
    use crate::api::messages::CacheCreation;
    use crate::api::prices::PriceTable;

    fn row(model: &str) -> PriceRow {
        let day = date(2026, 12, 7);
        PriceTable::builtin()
            .for_model(model, day)
            .unwrap()
            .on(day)
            .clone()
    }

    const STANDARD: Billing<'static> = Billing {
        service_tier: Some("standard"),
        inference_geo: Some("global"),
    };

    #[test]
    fn a_request_is_priced_by_category_and_ttl() {
        let rates = row("claude-sonnet-4-6");
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
        let c = request_cost(&usage, STANDARD, &rates, CacheTtl::FiveMinutes);
        let by_hand = 4.0 * 3.0 / 1e6
            + 400.0 * 3.75 / 1e6 // 399 split + 1 unsplit at the asked TTL
            + 100.0 * 6.0 / 1e6
            + 8_934.0 * 0.3 / 1e6
            + 1_000.0 * 15.0 / 1e6;
        assert!((c.usd - by_hand).abs() < 1e-12, "{} vs {by_hand}", c.usd);
        let batch = Billing {
            service_tier: Some("batch"),
            ..STANDARD
        };
        let b = request_cost(&usage, batch, &rates, CacheTtl::FiveMinutes);
        assert!((b.usd - by_hand / 2.0).abs() < 1e-12);
        let us = Billing {
            inference_geo: Some("us"),
            ..STANDARD
        };
        let u = request_cost(&usage, us, &rates, CacheTtl::FiveMinutes);
        assert!((u.usd - by_hand * 1.1).abs() < 1e-12);
    }

    #[test]
    fn haiku_5_5_bills_the_whole_request_at_the_tier_above_100000_prompt_tokens() {
        let haiku = row("claude-haiku-5-5");
        let at = |input: u64, read: u64| Usage {
            input_tokens: input,
            cache_read_input_tokens: read,
            output_tokens: 10_000,
            ..Usage::default()
        };
        // 100,000 exactly is "up to 100,000": the low tier.
        let low = request_cost(&at(60_000, 40_000), STANDARD, &haiku, CacheTtl::Off);
        let by_hand = 60_000.0 * 0.10 / 1e6 + 40_000.0 * 0.01 / 1e6 + 10_000.0 * 0.50 / 1e6;
        assert!((low.usd - by_hand).abs() < 1e-12, "{}", low.usd);
        // One more prompt token (a cache read counts) moves every token, output included.
        let usage = at(60_000, 40_001);
        let high = request_cost(&usage, STANDARD, &haiku, CacheTtl::Off);
        let by_hand = 60_000.0 * 0.50 / 1e6 + 40_001.0 * 0.05 / 1e6 + 10_000.0 * 2.50 / 1e6;
        assert!((high.usd - by_hand).abs() < 1e-12, "{}", high.usd);
        assert!(applied(&usage, STANDARD, &haiku).tier);
    }

    #[test]
    fn the_worst_case_covers_any_usage_the_body_can_produce() {
        let haiku = row("claude-haiku-4-5");
        let bound = |bytes, model_calls| Bound {
            input_tokens: input_of_bytes(bytes),
            max_tokens: 2_000,
            model_calls,
        };
        let w = worst_case(&bound(1_000, 1), &haiku, CacheTtl::OneHour);
        assert!((w - ((1_000.0 + 16_384.0) * 2.0 + 2_000.0 * 5.0) / 1e6).abs() < 1e-12);
        let w = worst_case(&bound(1_000, 1), &haiku, CacheTtl::Off);
        assert!((w - ((1_000.0 + 16_384.0) * 1.0 + 2_000.0 * 5.0) / 1e6).abs() < 1e-12);
        // Each model call of a server-tool loop may write max_tokens.
        let w = worst_case(&bound(1_000, 10), &haiku, CacheTtl::Off);
        assert!((w - ((1_000.0 + 16_384.0) * 1.0 + 20_000.0 * 5.0) / 1e6).abs() < 1e-12);
        // With a tier and a US-only factor, at the dearest of them.
        let h55 = row("claude-haiku-5-5");
        let one = Bound {
            input_tokens: 16_384,
            max_tokens: 1_000,
            model_calls: 1,
        };
        let w = worst_case(&one, &h55, CacheTtl::Off);
        assert!((w - (16_384.0 * 0.5 + 1_000.0 * 2.5) * 1.1 / 1e6).abs() < 1e-12);
    }
}

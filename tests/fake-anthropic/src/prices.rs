//! The fake's own price table (docs/api.md §8.13), independent of the runner's code so
//! that a test can check the runner's bill against it: USD per million tokens of every
//! category, rows dated (`from` inclusive, `to` exclusive), Haiku 5.5's whole-request
//! tier, and the batch discount. Rates are kept in thousandths of a dollar per million
//! tokens, so a token count times a rate is an exact number of nanodollars.

use jiff::civil::Date;

/// Rates in milli-USD per million tokens: input, 5-minute write, 1-hour write, cache
/// read, output.
type Rates = [u64; 5];

struct Row {
    model: &'static str,
    aliases: &'static [&'static str],
    from: Option<&'static str>,
    to: Option<&'static str>,
    rates: Rates,
    /// Above this many prompt tokens (input + cache writes + cache reads), every token
    /// of the request is billed at the second rates.
    tier: Option<(u64, Rates)>,
}

/// Every rate is halved in Message Batches (docs/api.md §8.13).
const BATCH_DIVISOR: u64 = 2;

#[rustfmt::skip]
const TABLE: &[Row] = &[
    Row { model: "claude-fable-5-2", aliases: &["claude-mythos-5-2"], from: Some("2026-11-09"), to: None, rates: [8_000, 10_000, 16_000, 200, 40_000], tier: None },
    Row { model: "claude-fable-5-1", aliases: &["claude-mythos-5-1"], from: Some("2026-09-01"), to: None, rates: [10_000, 12_500, 20_000, 250, 50_000], tier: None },
    Row { model: "claude-fable-5", aliases: &["claude-mythos-5"], from: Some("2026-06-09"), to: None, rates: [10_000, 12_500, 20_000, 1_000, 50_000], tier: None },
    Row { model: "claude-opus-5-5", aliases: &[], from: Some("2026-09-22"), to: None, rates: [4_000, 5_000, 8_000, 200, 20_000], tier: None },
    Row { model: "claude-opus-5", aliases: &[], from: Some("2026-07-24"), to: None, rates: [5_000, 6_250, 10_000, 500, 25_000], tier: None },
    Row { model: "claude-opus-4-8", aliases: &["claude-opus-4-7", "claude-opus-4-6"], from: None, to: None, rates: [5_000, 6_250, 10_000, 500, 25_000], tier: None },
    Row { model: "claude-opus-4-5-20251101", aliases: &["claude-opus-4-5"], from: None, to: Some("2027-01-22"), rates: [5_000, 6_250, 10_000, 500, 25_000], tier: None },
    Row { model: "claude-sonnet-5-5", aliases: &[], from: Some("2026-09-28"), to: Some("2026-10-07"), rates: [2_000, 2_500, 4_000, 200, 10_000], tier: None },
    Row { model: "claude-sonnet-5-5", aliases: &[], from: Some("2026-10-07"), to: None, rates: [2_000, 2_500, 4_000, 100, 10_000], tier: None },
    Row { model: "claude-sonnet-5", aliases: &[], from: Some("2026-06-30"), to: None, rates: [2_000, 2_500, 4_000, 200, 10_000], tier: None },
    Row { model: "claude-sonnet-4-6", aliases: &[], from: None, to: None, rates: [3_000, 3_750, 6_000, 300, 15_000], tier: None },
    Row { model: "claude-haiku-5-5", aliases: &[], from: Some("2026-10-07"), to: None, rates: [100, 125, 200, 10, 500], tier: Some((100_000, [500, 625, 1_000, 50, 2_500])) },
    Row { model: "claude-haiku-4-5-20251001", aliases: &["claude-haiku-4-5"], from: None, to: None, rates: [1_000, 1_250, 2_000, 100, 5_000], tier: None },
];

/// Token counts of one request, by category.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Tokens {
    pub input: u64,
    pub cache_write_5m: u64,
    pub cache_write_1h: u64,
    pub cache_read: u64,
    pub output: u64,
}

impl Tokens {
    fn prompt(&self) -> u64 {
        self.input + self.cache_write_5m + self.cache_write_1h + self.cache_read
    }
}

/// What a request cost, and at which row.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Priced {
    /// e.g. `claude-sonnet-5-5 from 2026-10-07`.
    pub row: String,
    pub tier: bool,
    /// Exact cost in half-nanodollars (the batch discount halves odd nanodollars).
    pub half_nano: u64,
}

fn date(s: &str) -> Option<Date> {
    s.parse().ok()
}

/// Prices a request of `model` (a catalogue id or alias) made on `day`; `None` when the
/// table has no row for it then.
pub(crate) fn price(model: &str, day: Date, batch: bool, t: &Tokens) -> Option<Priced> {
    let row = TABLE.iter().find(|r| {
        (r.model == model || r.aliases.contains(&model))
            && r.from.and_then(date).is_none_or(|f| f <= day)
            && r.to.and_then(date).is_none_or(|to| day < to)
    })?;
    let (tier, rates) = match row.tier {
        Some((threshold, high)) if t.prompt() > threshold => (true, high),
        _ => (false, row.rates),
    };
    let counts = [
        t.input,
        t.cache_write_5m,
        t.cache_write_1h,
        t.cache_read,
        t.output,
    ];
    let nano: u64 = counts.iter().zip(rates).map(|(n, r)| n * r).sum();
    let half_nano = if batch {
        nano * 2 / BATCH_DIVISOR
    } else {
        nano * 2
    };
    let label = match (row.from, row.to) {
        (Some(f), Some(to)) => format!("{} from {f} until {to}", row.model),
        (Some(f), None) => format!("{} from {f}", row.model),
        (None, Some(to)) => format!("{} until {to}", row.model),
        (None, None) => row.model.to_owned(),
    };
    Some(Priced {
        row: label,
        tier,
        half_nano,
    })
}

/// Half-nanodollars as microdollars.
#[expect(
    clippy::cast_precision_loss,
    reason = "bills far below 2^53 half-nanodollars"
)]
pub(crate) fn micro(half_nano: u64) -> f64 {
    half_nano as f64 / 2_000.0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(s: &str) -> Date {
        s.parse().unwrap()
    }

    #[test]
    fn sonnet_cache_reads_halve_on_2026_10_07() {
        let t = Tokens {
            cache_read: 1_000_000,
            ..Tokens::default()
        };
        let before = price("claude-sonnet-5-5", day("2026-10-06"), false, &t).unwrap();
        let after = price("claude-sonnet-5-5", day("2026-10-07"), false, &t).unwrap();
        assert_eq!(micro(before.half_nano), 200_000.0);
        assert_eq!(micro(after.half_nano), 100_000.0);
        assert_eq!(after.row, "claude-sonnet-5-5 from 2026-10-07");
        assert!(price("claude-sonnet-5-5", day("2026-09-01"), false, &t).is_none());
    }

    #[test]
    fn haiku_5_5_bills_the_whole_request_high_above_100k_prompt_tokens() {
        let low = Tokens {
            input: 100_000,
            output: 1_000,
            ..Tokens::default()
        };
        let p = price("claude-haiku-5-5", day("2026-12-06"), false, &low).unwrap();
        assert!(!p.tier);
        assert_eq!(micro(p.half_nano), 100_000.0 * 0.1 + 1_000.0 * 0.5);
        let high = Tokens {
            input: 90_000,
            cache_read: 10_001,
            output: 1_000,
            ..Tokens::default()
        };
        let p = price("claude-haiku-5-5", day("2026-12-06"), true, &high).unwrap();
        assert!(p.tier);
        assert_eq!(
            micro(p.half_nano),
            (90_000.0 * 0.5 + 10_001.0 * 0.05 + 1_000.0 * 2.5) / 2.0
        );
        assert!(price("claude-opus-4-5", day("2027-01-22"), false, &low).is_none());
        assert!(price("claude-mystery-7", day("2026-12-06"), false, &low).is_none());
    }
}

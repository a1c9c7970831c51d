//! Token prices per model (docs/api.md §11): the built-in table, with its date and source,
//! and how a model id finds its row. Only facts live here; pricing a request from its
//! `usage` is the plan stage's business (`plan/price.rs`).

use serde::{Deserialize, Serialize};

/// When the built-in table was taken from Anthropic's pricing page,
/// platform.claude.com/docs/en/about-claude/pricing (docs/api.md §11).
pub const PRICES_AS_OF: &str = "2026-11-30";
/// Message Batches bill every token category at this share of its price (docs/api.md §11).
pub const BATCH_SHARE: f64 = 0.5;
/// A 5-minute cache write costs this much base input, a 1-hour write 2×, a read 0.1×
/// (docs/api.md §3.11); used to complete a manifest's `pricing:` that names only `input`.
pub const WRITE_5M_FACTOR: f64 = 1.25;
pub const WRITE_1H_FACTOR: f64 = 2.0;
pub const READ_FACTOR: f64 = 0.1;

/// USD per million tokens of each category a request is billed in.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Rates {
    pub input: f64,
    pub cache_write_5m: f64,
    pub cache_write_1h: f64,
    pub cache_read: f64,
    pub output: f64,
}

impl Rates {
    /// The standard multipliers applied to a base input price.
    pub fn from_base(input: f64, output: f64) -> Rates {
        Rates {
            input,
            cache_write_5m: input * WRITE_5M_FACTOR,
            cache_write_1h: input * WRITE_1H_FACTOR,
            cache_read: input * READ_FACTOR,
            output,
        }
    }
}

/// The table (docs/api.md §11), USD per million tokens, as the pricing page lists them:
/// aliases; a dated id (`…-YYYYMMDD`) resolves through the alias it is a snapshot of.
const TABLE: &[(&[&str], Rates)] = &[
    (
        &[
            "claude-sonnet-4-5",
            "claude-sonnet-4-6",
            "claude-sonnet-4",
            "claude-sonnet-4-0",
        ],
        rates(3.0, 3.75, 6.0, 0.30, 15.0),
    ),
    (
        &["claude-opus-4-5", "claude-opus-4-6"],
        rates(5.0, 6.25, 10.0, 0.50, 25.0),
    ),
    (
        &["claude-opus-4-1", "claude-opus-4", "claude-opus-4-0"],
        rates(15.0, 18.75, 30.0, 1.50, 75.0),
    ),
    (&["claude-haiku-4-5"], rates(1.0, 1.25, 2.0, 0.10, 5.0)),
];

const fn rates(input: f64, w5: f64, w1: f64, read: f64, output: f64) -> Rates {
    Rates {
        input,
        cache_write_5m: w5,
        cache_write_1h: w1,
        cache_read: read,
        output,
    }
}

/// The built-in price of `model`, by alias or dated id; `None` when the table does not
/// know it (the manifest must then price it).
pub fn builtin(model: &str) -> Option<Rates> {
    let alias = strip_date(model);
    TABLE
        .iter()
        .find(|(names, _)| names.contains(&alias))
        .map(|&(_, rates)| rates)
}

/// `claude-sonnet-4-5-20250929` → `claude-sonnet-4-5`; other ids unchanged.
fn strip_date(model: &str) -> &str {
    match model.rsplit_once('-') {
        Some((alias, date)) if date.len() == 8 && date.bytes().all(|b| b.is_ascii_digit()) => alias,
        _ => model,
    }
}

/// Every model id in the table, for help texts.
pub fn known() -> impl Iterator<Item = &'static str> {
    TABLE.iter().flat_map(|(names, _)| names.iter().copied())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aliases_and_dated_ids_resolve_to_the_same_row() {
        let sonnet = builtin("claude-sonnet-4-5").unwrap();
        assert_eq!(builtin("claude-sonnet-4-5-20250929"), Some(sonnet));
        assert_eq!(builtin("claude-sonnet-4-20250514"), Some(sonnet));
        assert_eq!(sonnet.input, 3.0);
        assert_eq!(sonnet.cache_write_5m, 3.75);
        assert_eq!(sonnet.cache_write_1h, 6.0);
        assert_eq!(sonnet.cache_read, 0.3);
        assert_eq!(sonnet.output, 15.0);
        assert_eq!(builtin("claude-opus-4-1-20250805").unwrap().output, 75.0);
        assert_eq!(builtin("claude-haiku-4-5-20251001").unwrap().input, 1.0);
        assert_eq!(builtin("claude-opus-4-5-20251101").unwrap().input, 5.0);
        assert_eq!(builtin("claude-mystery-9"), None);
        assert_eq!(builtin("claude-sonnet-4-5-2025"), None, "not a date");
    }
}

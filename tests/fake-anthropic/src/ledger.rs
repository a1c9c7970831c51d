//! The fake's bill: every Messages response and batch item priced by `prices.rs` as of
//! the fake's `today` ([`crate::FakeServer::ledger`], `GET /_fake/ledger`).

use serde::Serialize;

use crate::prices::Tokens;

/// One priced request.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct LedgerEntry {
    /// The response's `id` (`msg_…`).
    pub message_id: String,
    /// The model as the request named it.
    pub model: String,
    /// The date it was priced as of (`YYYY-MM-DD`).
    pub date: String,
    /// A Message Batch item (every rate halved).
    pub batch: bool,
    #[serde(flatten)]
    pub tokens: TokensJson,
    /// The price row, e.g. `claude-sonnet-5-5 from 2026-10-07`; `None`: no row (the
    /// fake cannot price this model on this date).
    pub row: Option<String>,
    /// Billed at Haiku 5.5's high tier.
    pub tier: bool,
    /// Cost in microdollars (USD × 10⁻⁶); `None` when unpriced.
    pub micro_usd: Option<f64>,
}

/// [`Tokens`] with serde names.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct TokensJson {
    pub input_tokens: u64,
    pub cache_write_5m_tokens: u64,
    pub cache_write_1h_tokens: u64,
    pub cache_read_tokens: u64,
    pub output_tokens: u64,
}

impl From<Tokens> for TokensJson {
    fn from(t: Tokens) -> TokensJson {
        TokensJson {
            input_tokens: t.input,
            cache_write_5m_tokens: t.cache_write_5m,
            cache_write_1h_tokens: t.cache_write_1h,
            cache_read_tokens: t.cache_read,
            output_tokens: t.output,
        }
    }
}

/// Every priced request and the total.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Ledger {
    pub entries: Vec<LedgerEntry>,
    /// Sum of the priced entries, in microdollars.
    pub total_micro_usd: f64,
    /// Entries the table could not price.
    pub unpriced: usize,
    #[serde(skip)]
    pub(crate) total_half_nano: u64,
}

impl Ledger {
    pub(crate) fn record(&mut self, mut entry: LedgerEntry, half_nano: Option<u64>) {
        match half_nano {
            Some(h) => {
                self.total_half_nano += h;
                self.total_micro_usd = crate::prices::micro(self.total_half_nano);
                entry.micro_usd = Some(crate::prices::micro(h));
            }
            None => {
                self.unpriced += 1;
                entry.micro_usd = None;
            }
        }
        self.entries.push(entry);
    }
}

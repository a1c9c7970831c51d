//! Token prices per model and period (docs/api.md §11): the built-in dated table
//! (`builtin.toml`), a user's own price file over it, and how a model id and a date find
//! their row. Only facts live here; pricing a request from its `usage` is the plan stage's
//! business (`plan/price.rs`).

mod file;

use std::sync::LazyLock;

use camino::Utf8Path;
use jiff::civil::Date;
use serde::{Deserialize, Serialize};

pub(crate) use file::PriceFileError;

/// A 5-minute cache write costs this much base input, a 1-hour write 2×, a read 0.1×
/// (docs/api.md §11); used to complete a price that names only `input` and `output`.
pub(crate) const WRITE_5M_FACTOR: f64 = 1.25;
pub(crate) const WRITE_1H_FACTOR: f64 = 2.0;
pub(crate) const READ_FACTOR: f64 = 0.1;
/// Message Batches bill every token category at half price unless a row says otherwise.
pub(crate) const DEFAULT_BATCH_FACTOR: f64 = 0.5;

/// USD per million tokens of each category a request is billed in.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub(crate) struct Rates {
    pub input: f64,
    pub cache_write_5m: f64,
    pub cache_write_1h: f64,
    pub cache_read: f64,
    pub output: f64,
}

impl Rates {
    /// The standard multipliers applied to a base input price.
    pub(crate) fn from_base(input: f64, output: f64) -> Rates {
        Rates {
            input,
            cache_write_5m: input * WRITE_5M_FACTOR,
            cache_write_1h: input * WRITE_1H_FACTOR,
            cache_read: input * READ_FACTOR,
            output,
        }
    }
}

/// A whole-request price tier: above `prompt_gt` prompt tokens (input + cache writes +
/// cache reads), every token of the request is billed at `rates` (docs/api.md §11.1).
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub(crate) struct Tier {
    pub prompt_gt: u64,
    pub rates: Rates,
}

/// One row of a price table: a model's rates over a period, with where they come from.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub(crate) struct PriceRow {
    pub model: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub aliases: Vec<String>,
    /// First UTC day the row applies to; `None`: since ever.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub effective_from: Option<Date>,
    /// First UTC day it no longer applies to; `None`: still in force.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub effective_to: Option<Date>,
    pub rates: Rates,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tier: Option<Tier>,
    pub batch_factor: f64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub us_geo_factor: Option<f64>,
    /// Where the numbers come from: a page, a file of the user's, a manifest line.
    pub source: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub as_of: Option<Date>,
}

impl PriceRow {
    /// Whether the row names `model`, by its id or an alias.
    pub(crate) fn names(&self, model: &str) -> bool {
        self.model == model || self.aliases.iter().any(|a| a == model)
    }

    /// Whether the row is in force on `date`.
    pub(crate) fn holds_on(&self, date: Date) -> bool {
        self.effective_from.is_none_or(|from| from <= date)
            && self.effective_to.is_none_or(|to| date < to)
    }
}

/// Models that no longer answer (docs/api.md §11): a request to one is a 404, so they are
/// refused with the model to use instead.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Retired {
    /// Ids; a trailing `*` matches any id that starts with the rest.
    pub models: Vec<String>,
    pub retired_on: Option<Date>,
    pub replacement: Option<String>,
    pub note: Option<String>,
    pub source: String,
}

impl Retired {
    pub(crate) fn names(&self, model: &str) -> bool {
        self.models.iter().any(|m| match m.strip_suffix('*') {
            Some(prefix) => model.starts_with(prefix),
            None => m == model,
        })
    }
}

/// The rows one model can be billed at, the user's first, then the built-in ones; never
/// empty (a model without a row on the day it was resolved is refused before any request).
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct ModelPrices {
    rows: Vec<PriceRow>,
}

impl ModelPrices {
    /// A single row that applies on every day (a manifest's `pricing:`, or a test's).
    pub(crate) fn always(row: PriceRow) -> ModelPrices {
        ModelPrices { rows: vec![row] }
    }

    /// The row a request sent on `date` is billed at: the first in force that day, else
    /// (a run that outlived its row) the latest one that started before it.
    pub(crate) fn on(&self, date: Date) -> &PriceRow {
        self.rows
            .iter()
            .find(|r| r.holds_on(date))
            .or_else(|| {
                self.rows
                    .iter()
                    .filter(|r| r.effective_from.is_none_or(|f| f <= date))
                    .max_by_key(|r| r.effective_from)
            })
            .unwrap_or(&self.rows[0])
    }
}

/// The price table a command uses: the user's rows (from `--prices` or `prices` in
/// runner.toml), consulted before the built-in ones.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct PriceTable {
    user: Vec<PriceRow>,
    user_retired: Vec<Retired>,
}

static BUILTIN: LazyLock<file::Parsed> = LazyLock::new(|| {
    // Our own data, checked by a test: a broken built-in table is a bug of this release.
    file::parse(include_str!("builtin.toml"), "built-in price table")
        .unwrap_or_else(|e| panic!("the built-in price table is broken: {e}"))
});

impl Default for PriceTable {
    fn default() -> Self {
        PriceTable::builtin()
    }
}

impl PriceTable {
    /// The built-in table only.
    pub(crate) fn builtin() -> PriceTable {
        PriceTable {
            user: Vec::new(),
            user_retired: Vec::new(),
        }
    }

    /// The built-in table with the rows of the user's price file `path` over it.
    pub(crate) fn with_file(path: &Utf8Path) -> Result<PriceTable, PriceFileError> {
        let text = fs_err::read_to_string(path).map_err(|e| PriceFileError::Read {
            path: path.to_owned(),
            reason: e.to_string(),
        })?;
        let parsed = file::parse(&text, path.as_str()).map_err(|e| e.in_file(path))?;
        Ok(PriceTable {
            user: parsed.rows,
            user_retired: parsed.retired,
        })
    }

    /// Every row, the user's first.
    pub(crate) fn rows(&self) -> impl Iterator<Item = &PriceRow> {
        self.user.iter().chain(BUILTIN.rows.iter())
    }

    /// Whether `model` is listed as retired, and how (the user's entries first).
    pub(crate) fn retired(&self, model: &str) -> Option<&Retired> {
        self.user_retired
            .iter()
            .chain(BUILTIN.retired.iter())
            .find(|r| r.names(model))
    }

    /// The rows of `model` (by id, alias, or the alias a dated `…-YYYYMMDD` id is a
    /// snapshot of), if one of them is in force on `date`.
    pub(crate) fn for_model(&self, model: &str, date: Date) -> Option<ModelPrices> {
        let rows = self.rows_naming(model);
        let rows = if rows.is_empty() {
            self.rows_naming(strip_date(model))
        } else {
            rows
        };
        rows.iter()
            .any(|r| r.holds_on(date))
            .then_some(ModelPrices { rows })
    }

    fn rows_naming(&self, model: &str) -> Vec<PriceRow> {
        self.rows().filter(|r| r.names(model)).cloned().collect()
    }

    /// Every model id and alias the table knows, for "did you mean" help.
    pub(crate) fn known(&self) -> Vec<&str> {
        let mut ids: Vec<&str> = self
            .rows()
            .flat_map(|r| {
                std::iter::once(r.model.as_str()).chain(r.aliases.iter().map(String::as_str))
            })
            .collect();
        ids.sort_unstable();
        ids.dedup();
        ids
    }
}

/// `claude-haiku-4-5-20251001` → `claude-haiku-4-5`; other ids unchanged.
fn strip_date(model: &str) -> &str {
    match model.rsplit_once('-') {
        Some((alias, date)) if date.len() == 8 && date.bytes().all(|b| b.is_ascii_digit()) => alias,
        _ => model,
    }
}

/// How a response says it was billed: its `usage.service_tier` (`batch`: the row's batch
/// factor) and `usage.inference_geo` (`us`: the row's US-only factor), docs/api.md §11.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Billing<'a> {
    pub service_tier: Option<&'a str>,
    pub inference_geo: Option<&'a str>,
}

/// Today's UTC date: the date a request sent now is priced by.
pub(crate) fn today() -> Date {
    jiff::Timestamp::now()
        .to_zoned(jiff::tz::TimeZone::UTC)
        .date()
}

#[cfg(test)]
mod tests;

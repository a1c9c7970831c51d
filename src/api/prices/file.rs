//! The price file format (docs/api.md §11.2), shared by the built-in table and a user's
//! `--prices FILE`: TOML, `[[price]]` rows with dated periods and per-category rates.

use camino::{Utf8Path, Utf8PathBuf};
use jiff::civil::Date;
use serde::Deserialize;

use super::{DEFAULT_BATCH_FACTOR, PriceRow, Rates, Retired, Tier};

/// The only schema this runner reads.
const SCHEMA: &str = "anthropic-prices/2";

#[derive(Debug, thiserror::Error)]
pub(crate) enum PriceFileError {
    #[error("cannot read the price file {path}: {reason}")]
    Read { path: Utf8PathBuf, reason: String },
    #[error("{origin}: {reason}")]
    Invalid { origin: String, reason: String },
}

impl PriceFileError {
    pub(super) fn in_file(self, path: &Utf8Path) -> PriceFileError {
        match self {
            PriceFileError::Invalid { reason, .. } => PriceFileError::Invalid {
                origin: format!("price file {path}"),
                reason,
            },
            other => other,
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Raw {
    schema: Option<String>,
    currency: Option<String>,
    unit: Option<String>,
    #[serde(default)]
    price: Vec<RawRow>,
    // Tables of the published table that are facts, not prices the runner applies
    // (docs/api.md §11): accepted so that table can be used as it is.
    #[serde(default)]
    retired: Vec<RawRetired>,
    #[serde(default)]
    container_time: Option<toml::Value>,
    #[serde(default)]
    fast_mode: Option<toml::Value>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRetired {
    models: Vec<String>,
    retired_on: Option<toml::value::Datetime>,
    replacement: Option<String>,
    note: Option<String>,
    source: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRow {
    model: String,
    #[serde(default)]
    aliases: Vec<String>,
    effective_from: Option<toml::value::Datetime>,
    effective_to: Option<toml::value::Datetime>,
    input: f64,
    output: f64,
    cache_write_5m: Option<f64>,
    cache_write_1h: Option<f64>,
    cache_read: Option<f64>,
    batch_factor: Option<f64>,
    us_geo_factor: Option<f64>,
    tier_prompt_gt: Option<u64>,
    tier_input: Option<f64>,
    tier_output: Option<f64>,
    tier_cache_write_5m: Option<f64>,
    tier_cache_write_1h: Option<f64>,
    tier_cache_read: Option<f64>,
    source: Option<String>,
    as_of: Option<toml::value::Datetime>,
    confidence: Option<String>,
}

/// A price file's rows and its retired models.
#[derive(Debug)]
pub(super) struct Parsed {
    pub rows: Vec<PriceRow>,
    pub retired: Vec<Retired>,
}

/// Parses a price file's text; `origin` names it in errors.
pub(super) fn parse(text: &str, origin: &str) -> Result<Parsed, PriceFileError> {
    let invalid = |reason: String| PriceFileError::Invalid {
        origin: origin.to_owned(),
        reason,
    };
    let raw: Raw = toml::from_str(text).map_err(|e| invalid(e.to_string()))?;
    let _ = (raw.container_time, raw.fast_mode);
    if let Some(schema) = raw.schema.as_deref()
        && schema != SCHEMA
    {
        return Err(invalid(format!(
            "schema `{schema}` is not one this runner reads, expected `{SCHEMA}`"
        )));
    }
    if let Some(currency) = raw.currency.as_deref()
        && currency != "USD"
    {
        return Err(invalid(format!(
            "currency `{currency}`: the runner counts in USD only"
        )));
    }
    if let Some(unit) = raw.unit.as_deref()
        && unit != "per_mtok"
    {
        return Err(invalid(format!(
            "unit `{unit}`: prices are USD per million tokens, `per_mtok`"
        )));
    }
    let rows = raw
        .price
        .into_iter()
        .enumerate()
        .map(|(i, row)| {
            let model = row.model.clone();
            row_of(row, origin)
                .map_err(|reason| invalid(format!("[[price]] #{} (`{model}`): {reason}", i + 1)))
        })
        .collect::<Result<_, _>>()?;
    let retired = raw
        .retired
        .into_iter()
        .enumerate()
        .map(|(i, r)| {
            Ok(Retired {
                models: r.models,
                retired_on: day(r.retired_on, "retired_on")
                    .map_err(|reason| invalid(format!("[[retired]] #{}: {reason}", i + 1)))?,
                replacement: r.replacement,
                note: r.note,
                source: r.source.unwrap_or_else(|| origin.to_owned()),
            })
        })
        .collect::<Result<_, _>>()?;
    Ok(Parsed { rows, retired })
}

/// A TOML local date (`2026-10-07`) as a civil date.
fn day(d: Option<toml::value::Datetime>, key: &str) -> Result<Option<Date>, String> {
    d.map(|d| match (d.date, d.time) {
        (Some(day), None) => Date::new(
            i16::try_from(day.year).map_err(|e| e.to_string())?,
            i8::try_from(day.month).map_err(|e| e.to_string())?,
            i8::try_from(day.day).map_err(|e| e.to_string())?,
        )
        .map_err(|e| format!("`{key}`: {e}")),
        _ => Err(format!("`{key}` must be a date such as 2026-10-07")),
    })
    .transpose()
}

fn row_of(raw: RawRow, origin: &str) -> Result<PriceRow, String> {
    let date = day;
    let effective_from = date(raw.effective_from, "effective_from")?;
    let effective_to = date(raw.effective_to, "effective_to")?;
    if let (Some(from), Some(to)) = (effective_from, effective_to)
        && from >= to
    {
        return Err(format!(
            "effective_from {from} is not before effective_to {to}"
        ));
    }
    let derived = Rates::from_base(raw.input, raw.output);
    let rates = Rates {
        cache_write_5m: raw.cache_write_5m.unwrap_or(derived.cache_write_5m),
        cache_write_1h: raw.cache_write_1h.unwrap_or(derived.cache_write_1h),
        cache_read: raw.cache_read.unwrap_or(derived.cache_read),
        ..derived
    };
    let tier = match (raw.tier_prompt_gt, raw.tier_input, raw.tier_output) {
        (None, None, None)
            if raw.tier_cache_write_5m.is_none()
                && raw.tier_cache_write_1h.is_none()
                && raw.tier_cache_read.is_none() =>
        {
            None
        }
        (Some(prompt_gt), Some(input), Some(output)) => {
            let d = Rates::from_base(input, output);
            Some(Tier {
                prompt_gt,
                rates: Rates {
                    cache_write_5m: raw.tier_cache_write_5m.unwrap_or(d.cache_write_5m),
                    cache_write_1h: raw.tier_cache_write_1h.unwrap_or(d.cache_write_1h),
                    cache_read: raw.tier_cache_read.unwrap_or(d.cache_read),
                    ..d
                },
            })
        }
        _ => {
            return Err(
                "a price tier needs `tier_prompt_gt`, `tier_input` and `tier_output`".to_owned(),
            );
        }
    };
    let row = PriceRow {
        model: raw.model,
        aliases: raw.aliases,
        effective_from,
        effective_to,
        rates,
        tier,
        batch_factor: raw.batch_factor.unwrap_or(DEFAULT_BATCH_FACTOR),
        us_geo_factor: raw.us_geo_factor,
        source: match (raw.source, raw.confidence) {
            (Some(s), Some(c)) => format!("{s} ({c})"),
            (Some(s), None) => s,
            (None, _) => origin.to_owned(),
        },
        as_of: date(raw.as_of, "as_of")?,
    };
    check_numbers(&row)?;
    Ok(row)
}

fn check_numbers(row: &PriceRow) -> Result<(), String> {
    let mut all = vec![
        ("batch_factor", row.batch_factor),
        ("us_geo_factor", row.us_geo_factor.unwrap_or(1.0)),
    ];
    let named = |prefix: &'static str, r: &Rates| {
        [
            (prefix, "input", r.input),
            (prefix, "output", r.output),
            (prefix, "cache_write_5m", r.cache_write_5m),
            (prefix, "cache_write_1h", r.cache_write_1h),
            (prefix, "cache_read", r.cache_read),
        ]
    };
    let mut rates: Vec<(&str, &str, f64)> = named("", &row.rates).to_vec();
    if let Some(t) = &row.tier {
        rates.extend(named("tier_", &t.rates));
    }
    for (prefix, key, value) in &rates {
        if !(value.is_finite() && *value >= 0.0) {
            return Err(format!(
                "`{prefix}{key}` {value} is not a price, expected a number ≥ 0 (USD per million tokens)"
            ));
        }
    }
    all.retain(|(_, v)| !(v.is_finite() && *v > 0.0));
    match all.first() {
        Some((key, value)) => Err(format!("`{key}` {value} must be a number above 0")),
        None => Ok(()),
    }
}

//! `runner models`: the API's model catalogue (`GET /v1/models`, every page; active and
//! deprecated models, retired ones too with `--all`), one row per model with what a
//! manifest needs to choose one, and its price today from the price table (built-in, or
//! `--prices`/`prices` over it). The listing is
//! saved as the model cache (docs/output.md §5.3), so `validate` and `plan` can check
//! against it without the network.

use serde::Serialize;

use crate::api::models::{Lifecycle, ModelInfo, supported_names};
use crate::api::prices::{PriceRow, Rates, Tier};
use crate::config::ModelsConfig;
use crate::error::{Error, Exit};
use crate::store::StateDir;
use crate::store::model_cache::ModelCache;
use crate::ui::{self, Display};

/// One model of the listing; with `--json`, one object (field names are stable,
/// docs/exit-codes.md §2.6).
#[derive(Debug, Serialize)]
struct Listed {
    id: String,
    display_name: String,
    lifecycle: &'static str,
    line: Option<String>,
    deprecated_at: Option<jiff::Timestamp>,
    retires_at: Option<jiff::Timestamp>,
    /// The context window.
    max_input_tokens: Option<u64>,
    /// The largest `max_tokens`.
    max_tokens: Option<u64>,
    /// The `thinking.type`s accepted; `null` when the catalogue does not say.
    thinking_types: Option<Vec<String>>,
    /// The `effort` levels accepted (empty: no `effort`); `null` when not said.
    effort_levels: Option<Vec<String>>,
    /// Whether the code execution tool is supported; `null` when not said.
    code_execution: Option<bool>,
    /// Its row of the price table in force today; `null`: unpriced (a job on it needs
    /// `pricing:` or a price file).
    price: Option<Price>,
}

/// A model's price today, USD per million tokens.
#[derive(Debug, Serialize)]
struct Price {
    rates: Rates,
    /// Above `prompt_gt` prompt tokens, every token of the request at these rates.
    tier: Option<Tier>,
    batch_factor: f64,
    effective_from: Option<jiff::civil::Date>,
    source: String,
}

impl From<&PriceRow> for Price {
    fn from(row: &PriceRow) -> Price {
        Price {
            rates: row.rates,
            tier: row.tier,
            batch_factor: row.batch_factor,
            effective_from: row.effective_from,
            source: row.source.clone(),
        }
    }
}

pub(super) async fn models(config: &ModelsConfig, display: &Display) -> Result<Exit, Error> {
    let client = config.api.connect(config.pacing())?;
    let lifecycles: &[Lifecycle] = if config.all { &Lifecycle::ALL } else { &[] };
    let mut models = client
        .all_models(lifecycles, &config.api_version, &config.policy)
        .await
        .map_err(|e| Error::Models(Box::new(e)))?;
    if !config.all {
        // The API lists active and deprecated ones by default; say nothing else either.
        models.retain(|m| m.lifecycle != Lifecycle::Retired);
    }
    save(config, client.base_url(), &models, display);
    let listed: Vec<Listed> = models.iter().map(|m| listed(m, config)).collect();
    let text = if config.json {
        serde_json::to_string_pretty(&listed).map_err(Error::Json)? + "\n"
    } else {
        render(&listed)
    };
    ui::stdout(&text);
    Ok(Exit::Success)
}

/// The listing as the model cache. A cache that cannot be written costs a request later,
/// never the listing: a warning.
fn save(config: &ModelsConfig, base_url: &str, models: &[ModelInfo], display: &Display) {
    let answers: Vec<(String, ModelInfo)> =
        models.iter().map(|m| (m.id.clone(), m.clone())).collect();
    let saved = StateDir::open(&config.state_dir)
        .and_then(|state| ModelCache::for_api(&state, base_url).record(&answers));
    if let Err(e) = saved
        && !display.quiet
    {
        ui::note(&format!(
            "warning: the model cache was not saved: {}",
            crate::error_chain::chain(&e)
        ));
    }
}

fn listed(m: &ModelInfo, config: &ModelsConfig) -> Listed {
    let today = config.known.today;
    let price = config
        .known
        .prices
        .for_model(&m.id, today)
        .map(|p| Price::from(p.on(today)));
    let caps = m.capabilities.as_ref();
    let thinking = caps
        .and_then(|c| c.thinking.as_ref())
        .and_then(|t| t.types.as_ref())
        .map(|t| supported_names(&t.types()));
    let effort = caps.and_then(|c| c.effort.as_ref()).map(|e| {
        if e.supported == Some(false) {
            Vec::new()
        } else {
            supported_names(&e.levels())
        }
    });
    let code_execution = caps.and_then(|c| c.server_tools.as_ref()).and_then(|t| {
        t.code_execution
            .map(|s| s.supported)
            .or(t.supported.filter(|s| !s))
    });
    Listed {
        id: m.id.clone(),
        display_name: m.display_name.clone(),
        lifecycle: m.lifecycle.as_str(),
        line: m.line.clone(),
        deprecated_at: m.deprecated_at,
        retires_at: m.retires_at,
        max_input_tokens: m.max_input_tokens,
        max_tokens: m.max_tokens,
        thinking_types: thinking,
        effort_levels: effort,
        code_execution,
        price,
    }
}

const HEADER: [&str; 10] = [
    "MODEL",
    "NAME",
    "LIFECYCLE",
    "RETIRES",
    "CONTEXT",
    "MAX OUT",
    "THINKING",
    "EFFORT",
    "CODE EXEC",
    "PRICE IN/OUT PER MTOK",
];

/// A header and one row per model, columns aligned; `-` where the catalogue is silent.
fn render(models: &[Listed]) -> String {
    if models.is_empty() {
        return "no models listed\n".to_owned();
    }
    let rows: Vec<[String; 10]> = std::iter::once(HEADER.map(str::to_owned))
        .chain(models.iter().map(columns))
        .collect();
    let mut widths = [0; 10];
    for row in &rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let mut text = String::new();
    for row in &rows {
        let mut line = String::new();
        for (cell, w) in row.iter().zip(widths) {
            line.push_str(&format!("{cell:<w$}  "));
        }
        text.push_str(line.trim_end());
        text.push('\n');
    }
    text
}

fn columns(m: &Listed) -> [String; 10] {
    let day = |t: Option<jiff::Timestamp>| {
        t.map_or_else(|| "-".to_owned(), |t| t.strftime("%Y-%m-%d").to_string())
    };
    let list = |l: &Option<Vec<String>>| match l {
        None => "-".to_owned(),
        Some(l) if l.is_empty() => "none".to_owned(),
        Some(l) => l.join(","),
    };
    let price = m.price.as_ref().map_or_else(
        || "unpriced".to_owned(),
        |p| {
            let r = p.rates;
            let base = format!("${}/${}", dollars(r.input), dollars(r.output));
            match p.tier {
                Some(t) => format!(
                    "{base} (above {}: ${}/${})",
                    tokens(Some(t.prompt_gt)),
                    dollars(t.rates.input),
                    dollars(t.rates.output)
                ),
                None => base,
            }
        },
    );
    [
        m.id.clone(),
        m.display_name.clone(),
        m.lifecycle.to_owned(),
        day(m.retires_at),
        tokens(m.max_input_tokens),
        tokens(m.max_tokens),
        list(&m.thinking_types),
        list(&m.effort_levels),
        match m.code_execution {
            Some(true) => "yes",
            Some(false) => "no",
            None => "-",
        }
        .to_owned(),
        price,
    ]
}

/// `1M`, `200K`, `1500`: token counts as the model pages write them.
fn tokens(n: Option<u64>) -> String {
    match n {
        None => "-".to_owned(),
        Some(n) if n >= 1_000_000 && n % 1_000_000 == 0 => format!("{}M", n / 1_000_000),
        Some(n) if n >= 1000 && n % 1000 == 0 => format!("{}K", n / 1000),
        Some(n) => n.to_string(),
    }
}

/// `3`, `0.8`, `1.25`: a price without trailing zeros.
fn dollars(x: f64) -> String {
    let text = format!("{x:.4}");
    text.trim_end_matches('0').trim_end_matches('.').to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_counts_and_prices_read_as_on_the_model_pages() {
        assert_eq!(tokens(Some(1_000_000)), "1M");
        assert_eq!(tokens(Some(128_000)), "128K");
        assert_eq!(tokens(Some(1500)), "1500");
        assert_eq!(tokens(None), "-");
        assert_eq!(dollars(3.0), "3");
        assert_eq!(dollars(0.8), "0.8");
        assert_eq!(dollars(1.25), "1.25");
    }
}

//! A job's price and caching: `pricing:` over the price table (docs/api.md §11), and
//! `cache:` (docs/api.md §3.11). A model without a price is an error here, so `validate`,
//! `plan` and `run` all refuse it before anything is sent: never a silent $0.

use serde_saphyr::Spanned;

use super::diagnostic::did_you_mean;
use super::resolve::{Ctx, pos};
use super::schema::{JobSpec, Pricing, Settings};
use crate::api::messages::CacheTtl;
use crate::api::prices::{ModelPrices, PriceRow, Rates};

/// What `money` decided for one job.
#[derive(Clone, Debug, PartialEq)]
pub(super) struct Money {
    pub prices: ModelPrices,
    pub cache: CacheTtl,
}

const CACHE_VALUES: [&str; 3] = ["5m", "1h", "off"];

impl Ctx<'_> {
    /// The job's rates and cache setting; `None` (with diagnostics) when either is wrong.
    pub(super) fn money(&mut self, job: &JobSpec, d: Option<&Settings>) -> Option<Money> {
        let before = self.diags.len();
        let cache = job
            .cache
            .as_ref()
            .or_else(|| d.and_then(|d| d.cache.as_ref()));
        let cache = match cache.map(|c| (c, c.value.as_str())) {
            None | Some((_, "5m")) => CacheTtl::FiveMinutes,
            Some((_, "1h")) => CacheTtl::OneHour,
            Some((_, "off")) => CacheTtl::Off,
            Some((c, other)) => {
                let diag = self.err(
                    pos(c),
                    format!("unknown cache `{other}`, expected one of `5m`, `1h`, `off`"),
                );
                if let Some(near) = did_you_mean(other, CACHE_VALUES) {
                    diag.help = Some(format!("did you mean `{near}`?"));
                }
                CacheTtl::FiveMinutes
            }
        };
        let model = job
            .model
            .as_ref()
            .or_else(|| d.and_then(|d| d.model.as_ref()));
        let pricing = job
            .pricing
            .as_ref()
            .or_else(|| d.and_then(|d| d.pricing.as_ref()));
        let prices = match model {
            // A missing model is reported by `settings`.
            None => None,
            Some(model) => self.prices(model, pricing),
        };
        if self.diags.len() > before {
            return None;
        }
        Some(Money {
            prices: prices?,
            cache,
        })
    }

    fn prices(
        &mut self,
        model: &Spanned<String>,
        pricing: Option<&Spanned<Pricing>>,
    ) -> Option<ModelPrices> {
        let table = self.known.prices.for_model(&model.value, self.known.today);
        match pricing {
            None => {
                if table.is_none() {
                    self.no_price(model);
                }
                table
            }
            Some(p) => {
                let builtin = table.as_ref().map(|t| t.on(self.known.today).clone());
                let rates = self.pricing_rates(model, p, builtin.as_ref())?;
                Some(self.pricing_row(model, p, rates, builtin.as_ref()))
            }
        }
    }

    /// A model the table has no row for on the day: retired, or unknown.
    fn no_price(&mut self, model: &Spanned<String>) {
        let today = self.known.today;
        if let Some(retired) = self.known.prices.retired(&model.value) {
            let when = retired
                .retired_on
                .map_or_else(String::new, |d| format!(" on {d}"));
            let help = match &retired.replacement {
                Some(r) => {
                    format!("use `{r}` or another current model (`runner models` lists them)")
                }
                None => "use a current model (`runner models` lists them)".to_owned(),
            };
            self.err(
                pos(model),
                format!(
                    "model `{}` was retired{when}: the API answers every request to it with 404",
                    model.value
                ),
            )
            .help = Some(help);
            return;
        }
        let near = did_you_mean(&model.value, self.known.prices.known());
        let diag = self.err(
            pos(model),
            format!(
                "no price is known for model `{}` on {today}, so its cost could not be counted",
                model.value
            ),
        );
        let how = "price it in a price file (`--prices FILE`, or `prices = \"FILE\"` in runner.toml: `[[price]]` rows, docs/api.md §11.2), or with `pricing: { input: 2, output: 10 }` (USD per million tokens) on the job or in `defaults`";
        diag.help = Some(match near {
            Some(near) => format!("did you mean `{near}`? Otherwise {how}"),
            None => how.to_owned(),
        });
    }

    /// `pricing:` over the table's rates: each given price a number ≥ 0; without a table
    /// row, both `input` and `output`.
    fn pricing_rates(
        &mut self,
        model: &Spanned<String>,
        p: &Spanned<Pricing>,
        builtin: Option<&PriceRow>,
    ) -> Option<Rates> {
        let v = &p.value;
        for (key, value) in [
            ("input", v.input),
            ("output", v.output),
            ("cache_write_5m", v.cache_write_5m),
            ("cache_write_1h", v.cache_write_1h),
            ("cache_read", v.cache_read),
        ] {
            if let Some(x) = value
                && !(x.is_finite() && x >= 0.0)
            {
                self.err(
                    pos(p),
                    format!("pricing.{key} {x} is not a price, expected a number ≥ 0 (USD per million tokens)"),
                );
                return None;
            }
        }
        let base = match (builtin.map(|b| b.rates), v.input, v.output) {
            (Some(b), input, output) => Rates {
                input: input.unwrap_or(b.input),
                output: output.unwrap_or(b.output),
                ..b
            },
            (None, Some(input), Some(output)) => Rates::from_base(input, output),
            (None, ..) => {
                self.err(
                    pos(p),
                    format!(
                        "model `{}` has no known price, so `pricing` needs both `input` and `output`",
                        model.value
                    ),
                )
                .help = Some("e.g. `pricing: { input: 2, output: 10 }` (USD per million tokens)".into());
                return None;
            }
        };
        // Cache prices not given follow the given input price with the API's multipliers.
        let derived = Rates::from_base(base.input, base.output);
        let keep = |given: Option<f64>, builtin: f64, derived: f64| {
            given.unwrap_or(if v.input.is_some() { derived } else { builtin })
        };
        Some(Rates {
            cache_write_5m: keep(
                v.cache_write_5m,
                base.cache_write_5m,
                derived.cache_write_5m,
            ),
            cache_write_1h: keep(
                v.cache_write_1h,
                base.cache_write_1h,
                derived.cache_write_1h,
            ),
            cache_read: keep(v.cache_read, base.cache_read, derived.cache_read),
            ..base
        })
    }

    /// The manifest's prices hold on every day; a price tier and the batch and region
    /// factors of the table's row still apply (`pricing:` sets the base rates only).
    fn pricing_row(
        &self,
        model: &Spanned<String>,
        p: &Spanned<Pricing>,
        rates: Rates,
        builtin: Option<&PriceRow>,
    ) -> ModelPrices {
        ModelPrices::always(PriceRow {
            model: model.value.clone(),
            aliases: Vec::new(),
            effective_from: None,
            effective_to: None,
            rates,
            tier: builtin.and_then(|b| b.tier),
            batch_factor: builtin
                .map_or(crate::api::prices::DEFAULT_BATCH_FACTOR, |b| b.batch_factor),
            us_geo_factor: builtin.and_then(|b| b.us_geo_factor),
            source: format!("pricing: in {} line {}", self.file, pos(p).line),
            as_of: None,
        })
    }
}

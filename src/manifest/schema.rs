//! The manifest YAML, mirrored exactly as serde types (`version: 1`, unknown keys
//! rejected), and `parse`, which turns serde-saphyr's errors into [`Diagnostic`]s.
//!
//! Nothing here checks meaning (required keys across `defaults`, globs, placeholders): that
//! is `resolve.rs`'s job, so this file stays a faithful picture of what the user wrote. Every
//! value a later check may complain about is `Spanned`, so its error can point at it.
//! No `#[serde(flatten)]` or `untagged`: both ruin error locations.

use std::collections::BTreeMap;

use camino::Utf8Path;
use schemars::JsonSchema;
use serde::Deserialize;
use serde_saphyr::{Error as YamlError, Spanned};

use super::diagnostic::{Diagnostic, Pos, did_you_mean};
use super::skill_spec::{SkillSchema, SkillSpec};

/// A manifest file as written.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct Manifest {
    /// The manifest format version: always 1.
    #[schemars(with = "u32", extend("const" = 1))]
    pub version: Spanned<u32>,
    /// Settings for every job; a job's own value wins.
    #[serde(default)]
    pub defaults: Option<Settings>,
    /// The jobs; each one is a conversation in its own code-execution container.
    #[schemars(with = "Vec<JobSpec>")]
    pub jobs: Spanned<Vec<JobSpec>>,
}

/// Settings that may stand in `defaults` or on a job; a job's own value wins.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct Settings {
    /// The Claude model, e.g. `claude-sonnet-5-5`; required here or in `defaults`.
    #[schemars(with = "Option<String>")]
    pub model: Option<Spanned<String>>,
    /// Most tokens per response (default 16000).
    #[schemars(with = "Option<u32>")]
    pub max_tokens: Option<Spanned<u32>>,
    /// System prompt; the runner appends which files are attached.
    #[schemars(with = "Option<String>")]
    pub system: Option<Spanned<String>>,
    /// `anthropic-version` of every request: `2026-10-21` (default) or `2023-06-01`.
    #[schemars(with = "Option<String>")]
    pub api_version: Option<Spanned<String>>,
    /// Sampling temperature; only with api_version `2023-06-01`.
    #[schemars(with = "Option<f64>")]
    pub temperature: Option<Spanned<f64>>,
    /// Nucleus sampling; only with api_version `2023-06-01`.
    #[schemars(with = "Option<f64>")]
    pub top_p: Option<Spanned<f64>>,
    /// Top-k sampling; only with api_version `2023-06-01`.
    #[schemars(with = "Option<u32>")]
    pub top_k: Option<Spanned<u32>>,
    /// Thinking: `adaptive`, `disabled`, `between_tools`, or `{ budget_tokens: N }`
    /// (N ≥ 1024 and < max_tokens), as the model allows; default: `adaptive` on a model
    /// that thinks by default, none elsewhere.
    #[schemars(with = "Option<ThinkingSchema>")]
    pub thinking: Option<Spanned<ThinkingSpec>>,
    /// Whether thinking text comes back: `summarized` (default when the runner turns
    /// thinking on, so the report keeps Claude's working notes) or `omitted`.
    #[schemars(with = "Option<String>")]
    pub thinking_display: Option<Spanned<String>>,
    /// How much effort the model spends (`output_config.effort`): `low`, `medium`, `high`,
    /// `xhigh` or `max`, as the model allows; default: the model's own.
    #[schemars(with = "Option<String>")]
    pub effort: Option<Spanned<String>>,
    /// Code-execution tool version (default `code_execution_20250825`).
    #[schemars(with = "Option<String>")]
    pub tool: Option<Spanned<String>>,
    /// `pause_turn` continuations allowed per turn (default 20).
    #[schemars(with = "Option<u32>")]
    pub max_continuations: Option<Spanned<u32>>,
    /// Longest the whole conversation may take (`45m`, `2h`); past it the job fails with
    /// kind `timeout`.
    #[schemars(with = "Option<String>")]
    pub timeout: Option<Spanned<String>>,
    /// Oldest an input may be (its modification time, e.g. `36h`, `2d`): an older input
    /// fails the job before anything is uploaded or sent, with kind `stale_input`.
    #[schemars(with = "Option<String>")]
    pub max_input_age: Option<Spanned<String>>,
    /// Further user turns, in the same conversation and container.
    #[schemars(with = "Option<Vec<String>>")]
    pub follow_up: Option<Vec<Spanned<String>>>,
    /// Deliverables the job must produce: file names or globs, or
    /// `{ name, min_size, min }`.
    #[schemars(with = "Option<Vec<ExpectSchema>>")]
    pub expect: Option<Vec<Spanned<ExpectSpec>>>,
    /// Repair turns when a deliverable is missing: 0 to 3 (default 1).
    #[schemars(with = "Option<u32>")]
    pub repair_turns: Option<Spanned<u32>>,
    /// A deliverable holding the job's metrics, a flat JSON object of numbers
    /// (e.g. `metrics.json`): recorded each night, drawn as trends, judged by `alert`.
    #[schemars(with = "Option<String>")]
    pub metrics: Option<Spanned<String>>,
    /// Thresholds on metrics, metric → rule: `"±10%"`, `"+5%"`, `"-5%"` (change from the
    /// previous successful night), `"<1000"`, `">0.5"`, `"<=…"`, `">=…"` (absolute).
    #[schemars(with = "Option<BTreeMap<String, String>>")]
    pub alert: Option<BTreeMap<String, Spanned<String>>>,
    /// USD per million tokens for the model, overriding or adding to the built-in table:
    /// `{ input, output, cache_write_5m, cache_write_1h, cache_read }`.
    #[schemars(with = "Option<Pricing>")]
    pub pricing: Option<Spanned<Pricing>>,
    /// Prompt caching: `5m` (default), `1h` or `off`.
    #[schemars(with = "Option<String>")]
    pub cache: Option<Spanned<String>>,
    /// Agent Skills loaded into the job's container, at most 8: `xlsx`, `pptx`, `docx`,
    /// `pdf`, a custom skill id `skill_…`, a folder with a `SKILL.md`, or
    /// `{ anthropic: xlsx, version: "20251013" }` / `{ id: skill_…, version: latest }`.
    #[schemars(with = "Option<Vec<SkillSchema>>")]
    pub skills: Option<Vec<Spanned<SkillSpec>>>,
    /// Fill placeholders in the `prompt_file`'s text too (default false: sent as written).
    #[schemars(with = "Option<bool>")]
    pub template: Option<Spanned<bool>>,
}

/// One `jobs:` entry. The settings keys repeat those of [`Settings`] rather than using
/// `flatten`, which would break `deny_unknown_fields` and spans.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct JobSpec {
    /// The job's name, `[A-Za-z0-9._-]+`, unique in the manifest; its output folder.
    #[schemars(with = "String")]
    pub name: Spanned<String>,
    /// Files to attach: paths and globs relative to the manifest's folder.
    #[serde(default)]
    #[schemars(with = "Vec<String>")]
    pub inputs: Vec<Spanned<String>>,
    /// The first user turn (or `prompt_file`; exactly one of the two).
    #[schemars(with = "Option<String>")]
    pub prompt: Option<Spanned<String>>,
    /// A file holding the first user turn, relative to the manifest's folder.
    #[schemars(with = "Option<String>")]
    pub prompt_file: Option<Spanned<String>>,
    /// A glob: one job per matching file, with `{{ path }}`, `{{ name }}`, `{{ stem }}`.
    #[schemars(with = "Option<String>")]
    pub for_each: Option<Spanned<String>>,
    /// When `for_each` matches no file: `false` (default) fails this entry with kind
    /// `no_inputs` (the rest of the run goes on); `true` skips it with a warning.
    #[schemars(with = "Option<bool>")]
    pub allow_empty: Option<Spanned<bool>>,
    /// Parameters: axis name → list of values, one job per combination, with
    /// `{{ matrix.KEY }}`; optional `include:` and `exclude:` lists of mappings, as in
    /// GitHub Actions (docs/manifest.md "Matrices").
    #[schemars(with = "Option<MatrixSchema>")]
    pub matrix: Option<Spanned<MatrixSpec>>,
    /// Further user turns, in the same conversation and container.
    #[schemars(with = "Option<Vec<String>>")]
    pub follow_up: Option<Vec<Spanned<String>>>,
    /// The Claude model, e.g. `claude-sonnet-5-5`; required here or in `defaults`.
    #[schemars(with = "Option<String>")]
    pub model: Option<Spanned<String>>,
    /// Most tokens per response (default 16000).
    #[schemars(with = "Option<u32>")]
    pub max_tokens: Option<Spanned<u32>>,
    /// System prompt; the runner appends which files are attached.
    #[schemars(with = "Option<String>")]
    pub system: Option<Spanned<String>>,
    /// `anthropic-version` of every request: `2026-10-21` (default) or `2023-06-01`.
    #[schemars(with = "Option<String>")]
    pub api_version: Option<Spanned<String>>,
    /// Sampling temperature; only with api_version `2023-06-01`.
    #[schemars(with = "Option<f64>")]
    pub temperature: Option<Spanned<f64>>,
    /// Nucleus sampling; only with api_version `2023-06-01`.
    #[schemars(with = "Option<f64>")]
    pub top_p: Option<Spanned<f64>>,
    /// Top-k sampling; only with api_version `2023-06-01`.
    #[schemars(with = "Option<u32>")]
    pub top_k: Option<Spanned<u32>>,
    /// Thinking: `adaptive`, `disabled`, `between_tools`, or `{ budget_tokens: N }`
    /// (N ≥ 1024 and < max_tokens), as the model allows; default: `adaptive` on a model
    /// that thinks by default, none elsewhere.
    #[schemars(with = "Option<ThinkingSchema>")]
    pub thinking: Option<Spanned<ThinkingSpec>>,
    /// Whether thinking text comes back: `summarized` (default when the runner turns
    /// thinking on, so the report keeps Claude's working notes) or `omitted`.
    #[schemars(with = "Option<String>")]
    pub thinking_display: Option<Spanned<String>>,
    /// How much effort the model spends (`output_config.effort`): `low`, `medium`, `high`,
    /// `xhigh` or `max`, as the model allows; default: the model's own.
    #[schemars(with = "Option<String>")]
    pub effort: Option<Spanned<String>>,
    /// Code-execution tool version (default `code_execution_20250825`).
    #[schemars(with = "Option<String>")]
    pub tool: Option<Spanned<String>>,
    /// `pause_turn` continuations allowed per turn (default 20).
    #[schemars(with = "Option<u32>")]
    pub max_continuations: Option<Spanned<u32>>,
    /// Longest the whole conversation may take (`45m`, `2h`); past it the job fails with
    /// kind `timeout`.
    #[schemars(with = "Option<String>")]
    pub timeout: Option<Spanned<String>>,
    /// Oldest an input may be (its modification time, e.g. `36h`, `2d`): an older input
    /// fails the job before anything is uploaded or sent, with kind `stale_input`.
    #[schemars(with = "Option<String>")]
    pub max_input_age: Option<Spanned<String>>,
    /// Deliverables the job must produce: file names or globs, or
    /// `{ name, min_size, min }`.
    #[schemars(with = "Option<Vec<ExpectSchema>>")]
    pub expect: Option<Vec<Spanned<ExpectSpec>>>,
    /// Repair turns when a deliverable is missing: 0 to 3 (default 1).
    #[schemars(with = "Option<u32>")]
    pub repair_turns: Option<Spanned<u32>>,
    /// A deliverable holding the job's metrics, a flat JSON object of numbers
    /// (e.g. `metrics.json`): recorded each night, drawn as trends, judged by `alert`.
    #[schemars(with = "Option<String>")]
    pub metrics: Option<Spanned<String>>,
    /// Thresholds on metrics, metric → rule: `"±10%"`, `"+5%"`, `"-5%"` (change from the
    /// previous successful night), `"<1000"`, `">0.5"`, `"<=…"`, `">=…"` (absolute).
    #[schemars(with = "Option<BTreeMap<String, String>>")]
    pub alert: Option<BTreeMap<String, Spanned<String>>>,
    /// USD per million tokens for the model, overriding or adding to the built-in table:
    /// `{ input, output, cache_write_5m, cache_write_1h, cache_read }`.
    #[schemars(with = "Option<Pricing>")]
    pub pricing: Option<Spanned<Pricing>>,
    /// Prompt caching: `5m` (default), `1h` or `off`.
    #[schemars(with = "Option<String>")]
    pub cache: Option<Spanned<String>>,
    /// Agent Skills loaded into the job's container, at most 8: `xlsx`, `pptx`, `docx`,
    /// `pdf`, a custom skill id `skill_…`, a folder with a `SKILL.md`, or
    /// `{ anthropic: xlsx, version: "20251013" }` / `{ id: skill_…, version: latest }`.
    #[schemars(with = "Option<Vec<SkillSchema>>")]
    pub skills: Option<Vec<Spanned<SkillSpec>>>,
    /// Fill placeholders in the `prompt_file`'s text too (default false: sent as written).
    #[schemars(with = "Option<bool>")]
    pub template: Option<Spanned<bool>>,
}

/// `matrix:` as written: its keys in order (axes, `include`, `exclude`), each value kept
/// whole with its position, so `matrix.rs` checks the shape and points at what is wrong
/// (docs/manifest.md "Matrices").
#[derive(Debug)]
pub(crate) struct MatrixSpec(pub Vec<(Spanned<String>, Spanned<MatrixValue>)>);

/// A YAML value inside `matrix:`: a scalar (as a string), a list, a mapping or null.
#[derive(Debug)]
pub(crate) enum MatrixValue {
    Scalar(String),
    List(Vec<Spanned<MatrixValue>>),
    Map(Vec<(Spanned<String>, Spanned<MatrixValue>)>),
    Null,
}

impl<'de> Deserialize<'de> for MatrixSpec {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        match MatrixValue::deserialize(d)? {
            MatrixValue::Map(m) => Ok(MatrixSpec(m)),
            _ => Err(serde::de::Error::custom(
                "`matrix`: expected a mapping of axis name → list of values",
            )),
        }
    }
}

impl<'de> Deserialize<'de> for MatrixValue {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Value;
        impl<'de> serde::de::Visitor<'de> for Value {
            type Value = MatrixValue;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a value, a list or a mapping")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<MatrixValue, E> {
                Ok(MatrixValue::Scalar(v.to_owned()))
            }
            fn visit_bool<E: serde::de::Error>(self, v: bool) -> Result<MatrixValue, E> {
                Ok(MatrixValue::Scalar(v.to_string()))
            }
            fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<MatrixValue, E> {
                Ok(MatrixValue::Scalar(v.to_string()))
            }
            fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<MatrixValue, E> {
                Ok(MatrixValue::Scalar(v.to_string()))
            }
            fn visit_f64<E: serde::de::Error>(self, v: f64) -> Result<MatrixValue, E> {
                Ok(MatrixValue::Scalar(v.to_string()))
            }
            fn visit_unit<E: serde::de::Error>(self) -> Result<MatrixValue, E> {
                Ok(MatrixValue::Null)
            }
            fn visit_none<E: serde::de::Error>(self) -> Result<MatrixValue, E> {
                Ok(MatrixValue::Null)
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(
                self,
                mut seq: A,
            ) -> Result<MatrixValue, A::Error> {
                let mut items = Vec::new();
                while let Some(v) = seq.next_element::<Spanned<MatrixValue>>()? {
                    items.push(v);
                }
                Ok(MatrixValue::List(items))
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut map: A,
            ) -> Result<MatrixValue, A::Error> {
                let mut entries = Vec::new();
                while let Some(k) = map.next_key::<Spanned<String>>()? {
                    entries.push((k, map.next_value::<Spanned<MatrixValue>>()?));
                }
                Ok(MatrixValue::Map(entries))
            }
        }
        d.deserialize_any(Value)
    }
}

/// How `matrix:` looks, for the JSON Schema only.
#[derive(JsonSchema)]
#[expect(dead_code, reason = "describes the schema; never built")]
struct MatrixSchema {
    /// Extra cells, or extra keys for the cells whose axis values they match.
    include: Option<Vec<std::collections::BTreeMap<String, ScalarSchema>>>,
    /// Cells to leave out: each removes the cells matching all its keys.
    exclude: Option<Vec<std::collections::BTreeMap<String, ScalarSchema>>>,
    /// The axes: name → non-empty list of values.
    #[serde(flatten)]
    axes: std::collections::BTreeMap<String, Vec<ScalarSchema>>,
}

/// A matrix value: rendered as a string in placeholders and `params`.
#[derive(JsonSchema)]
#[serde(untagged)]
#[expect(dead_code, reason = "describes the schema; never built")]
enum ScalarSchema {
    Text(String),
    Number(f64),
    Bool(bool),
}

/// How an `expect:` entry looks, for the JSON Schema only (the loader reads [`ExpectSpec`]
/// with a visitor, which keeps positions for its errors).
#[derive(JsonSchema)]
#[serde(untagged)]
#[expect(dead_code, reason = "describes the schema; never built")]
enum ExpectSchema {
    /// A file name or glob, e.g. `summary.md` or `"*.png"`.
    Name(String),
    Detailed(ExpectDetailSchema),
}

#[derive(JsonSchema)]
#[serde(deny_unknown_fields)]
#[expect(dead_code, reason = "describes the schema; never built")]
struct ExpectDetailSchema {
    /// A file name or glob.
    name: String,
    /// Smallest acceptable size: bytes, or with a unit (`1K`, `2M`).
    min_size: Option<SizeSchema>,
    /// For a glob: how many files must match (default 1).
    min: Option<u32>,
}

#[derive(JsonSchema)]
#[serde(untagged)]
#[expect(dead_code, reason = "describes the schema; never built")]
enum SizeSchema {
    Bytes(u64),
    Text(String),
}

/// One `expect:` entry as written: a file name or glob (`summary.md`, `"*.png"`), or a
/// mapping `{ name: "*.png", min_size: 1K, min: 2 }`. Read by a visitor rather than
/// `untagged`, so a bad key inside the mapping still gets its own position.
#[derive(Debug)]
pub(crate) enum ExpectSpec {
    Name(String),
    Detailed(ExpectDetail),
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ExpectDetail {
    pub name: Spanned<String>,
    pub min_size: Option<Spanned<SizeSpec>>,
    pub min: Option<Spanned<u32>>,
}

/// A size as written: a byte count (`1024`) or with a unit (`1K`), checked in `expect.rs`.
#[derive(Debug)]
pub(crate) enum SizeSpec {
    Bytes(u64),
    Text(String),
}

impl<'de> Deserialize<'de> for ExpectSpec {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Entry;
        impl<'de> serde::de::Visitor<'de> for Entry {
            type Value = ExpectSpec;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a file name or glob, or a mapping with `name`, `min_size`, `min`")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<ExpectSpec, E> {
                Ok(ExpectSpec::Name(v.to_owned()))
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                map: A,
            ) -> Result<ExpectSpec, A::Error> {
                ExpectDetail::deserialize(serde::de::value::MapAccessDeserializer::new(map))
                    .map(ExpectSpec::Detailed)
            }
        }
        d.deserialize_any(Entry)
    }
}

impl<'de> Deserialize<'de> for SizeSpec {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Size;
        impl serde::de::Visitor<'_> for Size {
            type Value = SizeSpec;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a size such as `1K`, `500K` or `2M`")
            }
            fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<SizeSpec, E> {
                Ok(SizeSpec::Bytes(v))
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<SizeSpec, E> {
                Ok(SizeSpec::Text(v.to_owned()))
            }
        }
        d.deserialize_any(Size)
    }
}

/// `pricing:`: USD per million tokens for the job's model, overriding or adding to the
/// built-in table (docs/output.md §6).
#[derive(Clone, Copy, Debug, Default, Deserialize, JsonSchema, PartialEq)]
#[serde(deny_unknown_fields)]
pub(crate) struct Pricing {
    pub input: Option<f64>,
    pub output: Option<f64>,
    pub cache_write_5m: Option<f64>,
    pub cache_write_1h: Option<f64>,
    pub cache_read: Option<f64>,
}

/// `thinking: { budget_tokens: 4000 }`: extended thinking with a budget, on the models that
/// still take it.
#[derive(Clone, Copy, Debug, Deserialize, JsonSchema, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub(crate) struct Thinking {
    /// Tokens the model may think with: ≥ 1024 and < max_tokens.
    pub budget_tokens: u32,
}

/// `thinking:` as written: a mode word, checked in `settings.rs`, or a budget.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum ThinkingSpec {
    Mode(String),
    Budget(Thinking),
}

impl<'de> Deserialize<'de> for ThinkingSpec {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Spec;
        impl<'de> serde::de::Visitor<'de> for Spec {
            type Value = ThinkingSpec;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("`adaptive`, `disabled`, `between_tools` or `{ budget_tokens: N }`")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<ThinkingSpec, E> {
                Ok(ThinkingSpec::Mode(v.to_owned()))
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                map: A,
            ) -> Result<ThinkingSpec, A::Error> {
                Thinking::deserialize(serde::de::value::MapAccessDeserializer::new(map))
                    .map(ThinkingSpec::Budget)
            }
        }
        d.deserialize_any(Spec)
    }
}

/// How `thinking:` looks, for the JSON Schema only.
#[derive(JsonSchema)]
#[serde(untagged)]
#[expect(dead_code, reason = "describes the schema; never built")]
enum ThinkingSchema {
    Mode(ThinkingMode),
    Budget(Thinking),
}

#[derive(JsonSchema)]
#[serde(rename_all = "snake_case")]
#[expect(dead_code, reason = "describes the schema; never built")]
enum ThinkingMode {
    /// The model decides when and how much to think (`output_config.effort` steers it).
    Adaptive,
    /// No thinking, on the models that allow it.
    Disabled,
    /// Sonnet 5.5's lowest setting: no up-front thinking, short notes between tool calls.
    BetweenTools,
}

/// The only manifest version this runner reads.
pub(crate) const VERSION: u32 = 1;

/// Parses one manifest's text: every shape error (unknown keys, wrong types) in one pass
/// (`shape_errors.rs`); YAML syntax stops at the first. Meaning checks in `resolve.rs` run
/// only on a manifest that parses.
pub(crate) fn parse(file: &Utf8Path, text: &str) -> Result<Manifest, Vec<Diagnostic>> {
    let parse = |text: &str| {
        let options = serde_saphyr::options! { with_snippet: false };
        serde_saphyr::from_str_with_options::<Manifest>(text, options)
    };
    super::shape_errors::parse_all(file, text, parse, yaml_diagnostic)
}

fn yaml_diagnostic(file: &Utf8Path, text: &str, err: &YamlError) -> Diagnostic {
    let pos = err.location().map_or_else(Pos::start, Pos::from_location);
    match err {
        YamlError::SerdeUnknownField {
            field, expected, ..
        } => {
            let d = Diagnostic::new(
                file,
                pos,
                format!(
                    "unknown key `{field}`, expected one of {}",
                    quoted_list(expected)
                ),
            );
            match did_you_mean(field, expected.iter().copied()) {
                Some(near) => d.with_help(format!("did you mean `{near}`?")),
                None => d,
            }
        }
        YamlError::SerdeMissingField { field, .. } => {
            Diagnostic::new(file, pos, format!("missing required key `{field}`"))
        }
        YamlError::DuplicateMappingKey { key, .. } => Diagnostic::new(
            file,
            pos,
            match key {
                Some(k) => format!("duplicate key `{k}`"),
                None => "duplicate key".to_owned(),
            },
        ),
        _ => {
            // serde-saphyr's own wording is good ("invalid type: string \"x\", expected
            // u32"); drop its " at line X column Y" suffix since we print the position first.
            let raw = err.to_string();
            let message = match (plain_words(strip_location_suffix(&raw)), key_at(text, pos)) {
                (Some(expected), Some(key)) => format!("`{key}`: {expected}"),
                (Some(expected), None) => expected.to_owned(),
                (None, _) => strip_location_suffix(&raw).to_owned(),
            };
            let d = Diagnostic::new(file, pos, message);
            if text.trim().is_empty() {
                d.with_help("the manifest is empty; start with `version: 1` and `jobs:`")
            } else {
                d
            }
        }
    }
}

/// serde-saphyr names parser states ("expected sequence start"); say it in user words.
fn plain_words(message: &str) -> Option<&'static str> {
    Some(match message {
        "expected sequence start" => "expected a list",
        "expected mapping start" => "expected a mapping of `key: value` pairs",
        "expected string scalar" => "expected a string",
        "invalid u32" => "expected a whole number from 0 to 4294967295",
        "invalid floating point" => "expected a number",
        "invalid boolean" => "expected `true` or `false`",
        _ => return None,
    })
}

/// The key whose value sits at `pos`: the nearest `key:` before the column on that line,
/// or on the line above for a value that starts on its own line.
fn key_at(text: &str, pos: Pos) -> Option<String> {
    let line_no = usize::try_from(pos.line).ok()?.checked_sub(1)?;
    let lines: Vec<&str> = text.lines().collect();
    let col = usize::try_from(pos.column).ok()?.saturating_sub(1);
    let line = lines.get(line_no)?;
    let head: String = line.chars().take(col).collect();
    let candidate = if head.contains(':') {
        head
    } else {
        (*lines.get(line_no.checked_sub(1)?)?).to_owned()
    };
    let before_colon = candidate.rsplit_once(':')?.0;
    let key = before_colon
        .rsplit(['{', ',', '-', ' '])
        .find(|s| !s.trim().is_empty())?
        .trim()
        .trim_matches(['"', '\''])
        .to_owned();
    (!key.is_empty() && key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')).then_some(key)
}

fn strip_location_suffix(message: &str) -> &str {
    let first = message.lines().next().unwrap_or(message);
    match first.rfind(" at line ") {
        Some(i) => &first[..i],
        None => first,
    }
}

fn quoted_list(items: &[&str]) -> String {
    items
        .iter()
        .map(|s| format!("`{s}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

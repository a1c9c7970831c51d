//! `skills:` as written: a bare name (`xlsx`), a custom skill id (`skill_01…`), a folder
//! (`skills/house-style`), or a mapping `{ anthropic: xlsx, version: "20251013" }` /
//! `{ id: skill_01…, version: latest }`. Read by a visitor rather than `untagged`, so a bad
//! key inside the mapping keeps its own position (docs/manifest.md "Skills").

use schemars::JsonSchema;
use serde::Deserialize;
use serde_saphyr::Spanned;

/// One `skills:` entry as written; its meaning is decided in `skills.rs`.
#[derive(Debug)]
pub(crate) enum SkillSpec {
    Name(String),
    Detailed(Box<SkillDetail>),
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct SkillDetail {
    pub anthropic: Option<Spanned<String>>,
    pub id: Option<Spanned<String>>,
    pub version: Option<Spanned<SkillVersion>>,
}

/// A version as written: `latest`, a date such as `20251013` (which YAML reads as a number
/// unless quoted) or a `skver_…` id.
#[derive(Debug)]
pub(crate) struct SkillVersion(pub String);

impl<'de> Deserialize<'de> for SkillSpec {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Entry;
        impl<'de> serde::de::Visitor<'de> for Entry {
            type Value = SkillSpec;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(
                    "a skill name (`xlsx`), a skill id, a folder, or a mapping with \
                     `anthropic` or `id` and `version`",
                )
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<SkillSpec, E> {
                Ok(SkillSpec::Name(v.to_owned()))
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                map: A,
            ) -> Result<SkillSpec, A::Error> {
                SkillDetail::deserialize(serde::de::value::MapAccessDeserializer::new(map))
                    .map(|d| SkillSpec::Detailed(Box::new(d)))
            }
        }
        d.deserialize_any(Entry)
    }
}

impl<'de> Deserialize<'de> for SkillVersion {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Version;
        impl serde::de::Visitor<'_> for Version {
            type Value = SkillVersion;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a version: `latest`, a date such as `20251013`, or a `skver_…` id")
            }
            fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<SkillVersion, E> {
                Ok(SkillVersion(v.to_string()))
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<SkillVersion, E> {
                Ok(SkillVersion(v.to_owned()))
            }
        }
        d.deserialize_any(Version)
    }
}

/// How a `skills:` entry looks, for the JSON Schema only.
#[derive(JsonSchema)]
#[serde(untagged)]
#[expect(dead_code, reason = "describes the schema; never built")]
pub(super) enum SkillSchema {
    /// `xlsx`, `pptx`, `docx` or `pdf` (Anthropic's, latest version), a custom skill id
    /// `skill_…` (latest version), or a folder with a `SKILL.md`, relative to the manifest.
    Name(String),
    Anthropic(AnthropicSkillSchema),
    Custom(CustomSkillSchema),
}

#[derive(JsonSchema)]
#[serde(deny_unknown_fields)]
#[expect(dead_code, reason = "describes the schema; never built")]
pub(super) struct AnthropicSkillSchema {
    /// An Anthropic skill: `xlsx`, `pptx`, `docx` or `pdf`.
    anthropic: String,
    /// `latest` (default) or a date version such as `"20251013"`.
    version: Option<VersionSchema>,
}

#[derive(JsonSchema)]
#[serde(deny_unknown_fields)]
#[expect(dead_code, reason = "describes the schema; never built")]
pub(super) struct CustomSkillSchema {
    /// A custom skill already in the workspace: `skill_…`.
    id: String,
    /// `latest` (default) or a version id `skver_…`.
    version: Option<VersionSchema>,
}

#[derive(JsonSchema)]
#[serde(untagged)]
#[expect(dead_code, reason = "describes the schema; never built")]
enum VersionSchema {
    Text(String),
    Date(u64),
}

//! The manifest's JSON Schema (draft 2020-12), generated from the serde types in
//! `schema.rs` that the loader itself uses, so editors check against exactly what `runner`
//! accepts (`runner schema`; docs/manifest.schema.json is the committed copy).
//!
//! The schema checks shape only (keys, types, unknown keys). Meaning (a model set in one of
//! `defaults` or the job, globs that match, placeholders) is `runner validate`'s job.

use serde_json::Value;

use super::schema::Manifest;

/// The schema as a JSON value, with a title editors show.
pub(crate) fn manifest_schema() -> Value {
    let generator = schemars::generate::SchemaSettings::draft2020_12().into_generator();
    let mut schema = generator.into_root_schema_for::<Manifest>().to_value();
    if let Some(object) = schema.as_object_mut() {
        object.insert(
            "title".to_owned(),
            Value::from("runner manifest (version 1)"),
        );
        object.insert(
            "description".to_owned(),
            Value::from(
                "Jobs for `runner`: each runs as a Claude conversation with code execution \
                 on its input files. Shape only; `runner validate` checks the rest.",
            ),
        );
    }
    schema
}

/// The schema as printed by `runner schema` and committed: pretty JSON and a newline.
pub(crate) fn manifest_schema_text() -> String {
    // Serialising a `Value` cannot fail.
    serde_json::to_string_pretty(&manifest_schema()).unwrap_or_default() + "\n"
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Where the committed copy lives, relative to the repository root; the examples in
    /// `jobs/` point their `# yaml-language-server: $schema=` line at it.
    const COMMITTED_PATH: &str = "docs/manifest.schema.json";

    /// The committed copy is the generated schema; regenerate it with
    /// `cargo run -- schema > docs/manifest.schema.json`.
    #[test]
    fn committed_schema_is_the_generated_one() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/docs/manifest.schema.json");
        let committed = fs_err::read_to_string(path).unwrap_or_default();
        assert!(
            committed == manifest_schema_text(),
            "{path} is stale: run `cargo run -- schema > {COMMITTED_PATH}`"
        );
    }

    #[test]
    fn unknown_keys_are_closed_off_everywhere() {
        let schema = manifest_schema();
        assert_eq!(
            schema["$schema"],
            "https://json-schema.org/draft/2020-12/schema"
        );
        assert_eq!(schema["additionalProperties"], false);
        for def in ["Settings", "JobSpec", "Thinking"] {
            assert_eq!(schema["$defs"][def]["additionalProperties"], false, "{def}");
        }
        assert_eq!(schema["required"], serde_json::json!(["version", "jobs"]));
    }
}

//! `runner schema`: the committed copy is what the binary prints, every example validates
//! against it, and a manifest with an unknown key or a wrong type does not.

use std::path::Path;

use serde_json::Value;

use crate::harness::{CommandExt, Sandbox};

fn committed_schema() -> Value {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/manifest.schema.json");
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn validator() -> jsonschema::Validator {
    jsonschema::draft202012::new(&committed_schema()).expect("a valid draft 2020-12 schema")
}

/// YAML → JSON the way the runner reads it (serde-saphyr).
fn yaml_to_json(text: &str) -> Value {
    serde_saphyr::from_str(text).unwrap()
}

#[test]
fn runner_schema_prints_the_committed_copy() {
    let printed: Value = Sandbox::new().cmd(["schema"]).success_json();
    assert_eq!(printed, committed_schema());
    assert_eq!(
        printed["$schema"],
        "https://json-schema.org/draft/2020-12/schema"
    );
}

#[test]
fn every_example_starts_with_the_schema_line_and_validates() {
    let jobs = Path::new(env!("CARGO_MANIFEST_DIR")).join("jobs");
    let validator = validator();
    let mut seen = 0;
    for entry in std::fs::read_dir(&jobs).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|e| e != "yaml") {
            continue;
        }
        let text = std::fs::read_to_string(&path).unwrap();
        let first = text.lines().next().unwrap_or("");
        assert_eq!(
            first,
            "# yaml-language-server: $schema=../docs/manifest.schema.json",
            "{}",
            path.display()
        );
        // The relative path resolves from the manifest's folder to the committed copy.
        assert!(jobs.join("../docs/manifest.schema.json").is_file());
        let errors: Vec<String> = validator
            .iter_errors(&yaml_to_json(&text))
            .map(|e| e.to_string())
            .collect();
        assert!(errors.is_empty(), "{}: {errors:?}", path.display());
        seen += 1;
    }
    assert!(seen >= 3, "the examples were found");
}

#[test]
fn unknown_keys_and_wrong_types_fail_the_schema_as_they_fail_the_loader() {
    let validator = validator();
    let good = "version: 1\njobs:\n  - name: a\n    model: m\n    prompt: p\n";
    assert!(validator.is_valid(&yaml_to_json(good)));
    let bad = [
        (
            "unknown job key",
            "version: 1\njobs:\n  - name: a\n    inputz: [x]\n    prompt: p\n",
        ),
        ("unknown top-level key", "version: 1\njobz: []\njobs: []\n"),
        (
            "unknown defaults key",
            "version: 1\ndefaults:\n  modle: m\njobs: []\n",
        ),
        (
            "max_tokens is a string",
            "version: 1\njobs:\n  - name: a\n    max_tokens: lots\n    prompt: p\n",
        ),
        (
            "inputs is not a list",
            "version: 1\njobs:\n  - name: a\n    inputs: 3\n    prompt: p\n",
        ),
        ("version 2", "version: 2\njobs: []\n"),
        ("no jobs", "version: 1\n"),
    ];
    for (what, text) in bad {
        assert!(!validator.is_valid(&yaml_to_json(text)), "{what} passed");
    }
    // The loader agrees on the unknown key and the wrong type.
    let sb = Sandbox::new();
    sb.file("a.yaml", bad[0].1).file("b.yaml", bad[3].1);
    sb.cmd(["validate", "a.yaml"]).assert().code(2);
    sb.cmd(["validate", "b.yaml"]).assert().code(2);
}

//! Property test of the manifest loader: mutated example manifests and random YAML-ish
//! documents, resolved from disk like `runner validate` does. Whatever the text, the
//! loader returns jobs or diagnostics that point into the file, and never panics.

use std::panic::{AssertUnwindSafe, catch_unwind};

use camino::{Utf8Path, Utf8PathBuf};
use proptest::test_runner::TestRunner;

use super::resolve::resolve;
use crate::testing::yaml::{Doc, manifest};
use crate::testing::{config, sample};

const EXAMPLES: &[&str] = &[
    include_str!("../../../jobs/penguins.yaml"),
    include_str!("../../../jobs/energy.yaml"),
    include_str!("../../../jobs/profiles.yaml"),
];

struct Sandbox {
    _dir: tempfile::TempDir,
    root: Utf8PathBuf,
}

fn sandbox() -> Sandbox {
    let dir = tempfile::tempdir().unwrap();
    let root = Utf8PathBuf::try_from(dir.path().to_path_buf()).unwrap();
    let jobs = Utf8Path::new(env!("CARGO_MANIFEST_DIR")).join("jobs");
    for sub in ["data", "prompts"] {
        fs_err::create_dir_all(root.join(sub)).unwrap();
        for entry in fs_err::read_dir(jobs.join(sub)).unwrap() {
            let entry = entry.unwrap();
            let name = entry.file_name().into_string().unwrap();
            fs_err::copy(entry.path(), root.join(sub).join(name)).unwrap();
        }
    }
    Sandbox { _dir: dir, root }
}

/// Resolves `bytes` as a manifest and checks the result; panics (with the input) if the
/// loader panicked or gave a diagnostic that does not point into the file.
fn check(sb: &Sandbox, bytes: &[u8]) -> bool {
    let path = sb.root.join("case.yaml");
    fs_err::write(&path, bytes).unwrap();
    let paths = [path.clone()];
    let result = catch_unwind(AssertUnwindSafe(|| {
        resolve(
            &paths,
            &super::Known::builtin_on(jiff::civil::date(2026, 12, 7)),
        )
    }));
    let Ok((sources, result)) = result else {
        panic!(
            "the loader panicked on:\n{}",
            String::from_utf8_lossy(bytes)
        );
    };
    match result {
        Ok(jobs) => {
            for job in &jobs {
                assert!(!job.name.is_empty(), "{}", String::from_utf8_lossy(bytes));
                assert!(!job.settings.model.is_empty());
            }
            true
        }
        Err(diags) => {
            assert!(!diags.is_empty());
            let text = sources.first().map(|s| s.text.as_str());
            for d in &diags {
                assert!(
                    d.pos.line >= 1 && d.pos.column >= 1,
                    "{d:?} for:\n{}",
                    String::from_utf8_lossy(bytes)
                );
                // Into the file: no line past its end, no span past its last byte.
                if let Some(t) = text.filter(|_| d.file == path) {
                    let lines = t.lines().count() as u64;
                    assert!(d.pos.line <= lines + 1, "{d:?} past line {lines}");
                    if let Some((offset, len)) = d.pos.span {
                        assert!(offset + len <= t.len(), "{d:?} past byte {}", t.len());
                    }
                }
                let rendered = catch_unwind(AssertUnwindSafe(|| d.render(text)));
                let Ok(rendered) = rendered else {
                    panic!(
                        "rendering {d:?} panicked for:\n{}",
                        String::from_utf8_lossy(bytes)
                    );
                };
                assert!(rendered.starts_with("error: "), "{rendered}");
            }
            false
        }
    }
}

#[test]
fn property_mutated_and_random_manifests_never_panic() {
    // One sandbox for every case: `proptest!` would build one per case.
    let sb = sandbox();
    let mut runner = TestRunner::new(config(300));
    if let Err(failure) = runner.run(&manifest(EXAMPLES), |doc| {
        check(&sb, &doc.0);
        Ok(())
    }) {
        panic!("{failure}");
    }
}

/// The strategy reaches both outcomes: its edits are neither too mild nor too wild.
#[test]
fn manifest_strategy_reaches_valid_and_invalid_manifests() {
    let sb = sandbox();
    let docs: Vec<Doc> = sample(&manifest(EXAMPLES), 300);
    let valid = docs.iter().filter(|d| check(&sb, &d.0)).count();
    assert!(
        valid > 15 && docs.len() - valid > 150,
        "{valid} valid of {}",
        docs.len()
    );
}

#[test]
fn every_example_is_valid_as_is() {
    let sb = sandbox();
    for text in EXAMPLES {
        assert!(check(&sb, text.as_bytes()), "{text}");
    }
}

#[test]
fn pathological_yaml_is_an_error_not_a_crash() {
    let sb = sandbox();
    let laughs = {
        let mut doc = String::from(
            "a0: &a0 [\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\"]\n",
        );
        for i in 1..10 {
            let prev = format!("*a{}", i - 1);
            doc.push_str(&format!("a{i}: &a{i} [{}]\n", vec![prev; 9].join(",")));
        }
        doc.push_str("version: 1\njobs: *a9\n");
        doc
    };
    let cases: Vec<Vec<u8>> = vec![
        "[".repeat(100_000).into_bytes(),
        "{a: ".repeat(50_000).into_bytes(),
        (0..20_000)
            .map(|i| format!("{}- x\n", " ".repeat(i % 200)))
            .collect::<String>()
            .into_bytes(),
        laughs.into_bytes(),
        b"version: 1\njobs:\n  - name: \xff\xfe\n".to_vec(),
        b"\xef\xbb\xbfversion: 1\n".to_vec(),
        Vec::new(),
        b"\0".to_vec(),
        b"version: 1\njobs:\n  - name: a\n    prompt: \"".to_vec(),
        format!(
            "version: 1\njobs:\n  - name: {}\n    prompt: x\n",
            "a".repeat(1_000_000)
        )
        .into_bytes(),
    ];
    for bytes in cases {
        assert!(
            !check(&sb, &bytes),
            "{}",
            String::from_utf8_lossy(&bytes[..bytes.len().min(200)])
        );
    }
}

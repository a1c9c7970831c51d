//! Property test of the manifest loader: mutated example manifests and random YAML-ish
//! documents, resolved from disk like `runner validate` does. Whatever the text, the
//! loader returns jobs or diagnostics that point into the file, and never panics.

use std::panic::{AssertUnwindSafe, catch_unwind};

use camino::{Utf8Path, Utf8PathBuf};

use super::resolve::resolve;
use crate::testing::json::Rng;

const EXAMPLES: [&str; 3] = [
    include_str!("../../../jobs/penguins.yaml"),
    include_str!("../../../jobs/energy.yaml"),
    include_str!("../../../jobs/profiles.yaml"),
];

/// Fragments that mean something to YAML or to the manifest format.
const TOKENS: &[&str] = &[
    "expect: [a.md, { name: \"*.png\", min: 2, min_size: 1K }]\n",
    "repair_turns: ",
    "{",
    "}",
    "[",
    "]",
    ":",
    ": ",
    "- ",
    ",",
    "&a ",
    "*a",
    "!!str ",
    "!!int ",
    "!custom ",
    "---\n",
    "...\n",
    "\t",
    "  ",
    "\n",
    "'",
    "\"",
    "#",
    "|",
    "|-\n",
    ">",
    "? ",
    "<<: *a\n",
    "%YAML 1.2\n",
    "~",
    "null",
    "true",
    "0x1F",
    "1e999",
    "-1",
    "4294967296",
    "0.5",
    "\u{FEFF}",
    "\0",
    "\u{1b}",
    "é",
    "😀",
    "\r\n",
    "{{ path }}",
    "{{ stem }}",
    "{{ nope }}",
    "{{",
    "}}",
    "version: 2\n",
    "version: 1\n",
    "jobs:",
    "jobs: []\n",
    "name:",
    "name: x\n",
    "inputs:",
    "inputs: [data/penguins.csv]\n",
    "prompt:",
    "prompt_file:",
    "for_each:",
    "follow_up:",
    "defaults:",
    "model:",
    "max_tokens:",
    "thinking: {budget_tokens: 2000}\n",
    "tool:",
    "api_version:",
    "temperature: 2\n",
    "inputz:",
    "data/*.csv",
    "data/nope.csv",
    "prompts/energy-jobs.md",
    "..",
    "a",
    "0",
];

fn mutate(rng: &mut Rng, text: &[u8]) -> Vec<u8> {
    let mut out = text.to_vec();
    for _ in 0..1 + rng.below(4) {
        let at = rng.below(out.len() + 1);
        match rng.below(7) {
            // Flip a byte to a printable or structural one.
            0 if at < out.len() => {
                out[at] = *rng.pick(b" :-[]{}#&*!|>'\"\n\tax0.,?%@`");
            }
            // Delete a range.
            1 => {
                let end = (at + rng.below(40)).min(out.len());
                out.drain(at..end);
            }
            // Duplicate a range.
            2 => {
                let end = (at + rng.below(60)).min(out.len());
                let copy = out[at..end].to_vec();
                out.splice(at..at, copy);
            }
            // Truncate.
            3 => out.truncate(at),
            // Swap two lines.
            4 => {
                let mut lines: Vec<Vec<u8>> =
                    out.split(|b| *b == b'\n').map(<[u8]>::to_vec).collect();
                let (i, j) = (rng.below(lines.len()), rng.below(lines.len()));
                lines.swap(i, j);
                out = lines.join(&b'\n');
            }
            // Insert a token.
            _ => {
                let token = rng.pick(TOKENS).as_bytes().to_vec();
                out.splice(at..at, token);
            }
        }
    }
    out
}

/// A random YAML-ish document: nested maps, lists and scalars made of manifest words.
fn random_doc(rng: &mut Rng, depth: u32, indent: usize, out: &mut String) {
    let pad = " ".repeat(indent);
    let scalar = |rng: &mut Rng| (*rng.pick(TOKENS)).replace('\n', " ");
    for _ in 0..1 + rng.below(4) {
        match rng.below(if depth == 0 { 2 } else { 4 }) {
            0 => out.push_str(&format!(
                "{pad}{} {}\n",
                rng.pick(TOKENS).trim(),
                scalar(rng)
            )),
            1 => out.push_str(&format!("{pad}- {}\n", scalar(rng))),
            2 => {
                out.push_str(&format!("{pad}{}:\n", rng.pick(TOKENS).trim()));
                random_doc(rng, depth - 1, indent + 2, out);
            }
            _ => {
                out.push_str(&format!("{pad}-\n"));
                random_doc(rng, depth - 1, indent + 2, out);
            }
        }
    }
}

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
    let result = catch_unwind(AssertUnwindSafe(|| resolve(&paths)));
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
    let sb = sandbox();
    let mut rng = Rng(0x00C0_FFEE_D00D_F00D);
    let (mut valid, mut invalid) = (0, 0);
    let mut tally = |ok: bool| if ok { valid += 1 } else { invalid += 1 };
    for case in 0..2400 {
        let bytes = if case % 4 == 3 {
            let mut doc = String::new();
            if rng.chance(2) {
                doc.push_str("version: 1\n");
            }
            random_doc(&mut rng, 3, 0, &mut doc);
            doc.into_bytes()
        } else {
            let seed = EXAMPLES[case % EXAMPLES.len()].as_bytes();
            mutate(&mut rng, seed)
        };
        // `**` from a mangled path could walk a whole disk: no use to this test.
        if bytes.windows(2).any(|w| w == b"**") {
            continue;
        }
        tally(check(&sb, &bytes));
    }
    // Both outcomes are reached, so the mutations are neither too mild nor too wild.
    assert!(
        valid > 50 && invalid > 1000,
        "{valid} valid, {invalid} invalid"
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

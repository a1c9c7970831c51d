//! The code's shape (docs/architecture.md, "The shape"), read from the source as text laid out
//! by rustfmt:
//! - no function in `src/` is longer than a screen or so, so each one can be read whole (a
//!   function runs from its `fn` line to the `}` at the same indentation);
//! - a job's ending is a type (`JobEnd`): the error kinds that only say how a job ended
//!   (`interrupted`, `not_started`) are made in one place, `JobLine::ended`, so no code
//!   passes control flow through an error kind and decodes it back.

use std::path::Path;

/// Signature to closing brace, inclusive.
const MAX_FN_LINES: usize = 80;

/// The indentation and name of the function a line starts, if it starts one.
fn fn_start(line: &str) -> Option<(usize, &str)> {
    let rest = line.trim_start();
    let indent = line.len() - rest.len();
    let mut rest = rest;
    if let Some(after) = rest.strip_prefix("pub") {
        rest = match after.strip_prefix('(') {
            Some(scoped) => scoped.split_once(')')?.1,
            None => after,
        }
        .trim_start();
    }
    for qualifier in ["const ", "async ", "unsafe ", "extern \"C\" "] {
        rest = rest.strip_prefix(qualifier).unwrap_or(rest);
    }
    let name = rest.strip_prefix("fn ")?;
    let end = name
        .find(|c: char| !(c.is_alphanumeric() || c == '_'))
        .unwrap_or(name.len());
    Some((indent, &name[..end])).filter(|(_, n)| !n.is_empty())
}

/// Every function of `src` (the text of `path`) over `max` lines, as `path:line` messages.
fn long_functions(path: &str, src: &str, max: usize) -> Vec<String> {
    let lines: Vec<&str> = src.lines().collect();
    let mut errors = Vec::new();
    for (i, line) in lines.iter().enumerate() {
        let Some((indent, name)) = fn_start(line) else {
            continue;
        };
        // A declaration without a body (in a trait, or `extern`) ends with `;` before any `{`.
        let signature_end = lines[i..]
            .iter()
            .position(|l| l.trim_end().ends_with('{') || l.trim_end().ends_with(';'));
        let Some(end) = signature_end else { continue };
        if lines[i + end].trim_end().ends_with(';') {
            continue;
        }
        let close = format!("{}}}", " ".repeat(indent));
        let body_end = lines[i..].iter().position(|l| l.trim_end() == close);
        // A one-line function (`fn f() { … }`) closes on its own line.
        let length = if line.trim_end().ends_with('}') {
            1
        } else {
            body_end.map_or(0, |n| n + 1)
        };
        if length > max {
            errors.push(format!(
                "{path}:{}: function `{name}` is {length} lines (at most {max}): split it by meaning",
                i + 1
            ));
        }
    }
    errors
}

/// The error kinds that are endings, not errors, and the one file that may make them.
const ENDING_KINDS: [&str; 2] = ["ErrorKind::Interrupted", "ErrorKind::NotStarted"];
const ENDINGS_MADE_IN: &str = "src/output/outcome.rs";
/// Where `ErrorKind` is defined (and spelled as it is written to job.json).
const KINDS_DEFINED_IN: &str = "src/status.rs";

/// Where `src` (the text of `path`) names an ending kind outside tests.
fn ending_kinds_named(path: &str, src: &str) -> Vec<String> {
    let test_file = path.contains("/tests/") || path.ends_with("/tests.rs");
    if [ENDINGS_MADE_IN, KINDS_DEFINED_IN].contains(&path) || test_file {
        return Vec::new();
    }
    let code = src.split("#[cfg(test)]").next().unwrap_or_default();
    code.lines()
        .enumerate()
        .filter(|(_, line)| !line.trim_start().starts_with("//"))
        .filter_map(|(i, line)| {
            let kind = ENDING_KINDS.iter().find(|k| line.contains(*k))?;
            Some(format!(
                "{path}:{}: `{kind}` outside {ENDINGS_MADE_IN}: end the job with a `JobEnd`",
                i + 1
            ))
        })
        .collect()
}

#[test]
fn the_checker_counts_from_fn_to_its_closing_brace() {
    let body = |n: usize| "    let x = 1;\n".repeat(n);
    let src = format!(
        "pub(crate) async fn short() {{\n{}}}\n\nimpl X {{\n    fn long(\n        a: u8,\n    ) -> u8 {{\n{}    }}\n}}\n\
         trait T {{\n    fn declared(\n        a: u8,\n    ) -> u8;\n    fn one() {{ }}\n}}\n",
        body(3),
        body(3)
    );
    assert_eq!(
        long_functions("src/a.rs", &src, 5),
        ["src/a.rs:8: function `long` is 7 lines (at most 5): split it by meaning"]
    );
    assert!(long_functions("src/a.rs", &src, 7).is_empty());
    assert_eq!(
        fn_start("    pub(in crate::x) const fn f<T>()"),
        Some((4, "f"))
    );
    assert_eq!(fn_start("    // fn not_code()"), None);
    assert_eq!(fn_start("let fnord = 1;"), None);
}

#[test]
fn the_ending_checker_skips_tests_comments_and_the_one_file() {
    let src = "// ErrorKind::Interrupted in a comment\nlet k = ErrorKind::NotStarted;\n\
               #[cfg(test)]\nmod tests { ErrorKind::Interrupted }\n";
    assert_eq!(
        ending_kinds_named("src/engine/job.rs", src),
        [
            "src/engine/job.rs:2: `ErrorKind::NotStarted` outside src/output/outcome.rs: end the job with a `JobEnd`"
        ]
    );
    assert!(ending_kinds_named(ENDINGS_MADE_IN, src).is_empty());
    assert!(ending_kinds_named("src/output/tests/ending.rs", src).is_empty());
}

#[test]
fn no_function_in_src_is_over_80_lines_and_endings_are_typed() {
    fn read(dir: &Path, root: &Path, errors: &mut Vec<String>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                read(&path, root, errors);
            } else if path.extension().is_some_and(|e| e == "rs") {
                let rel = path.strip_prefix(root).unwrap().to_string_lossy();
                let src = std::fs::read_to_string(&path).unwrap();
                errors.extend(long_functions(&rel, &src, MAX_FN_LINES));
                errors.extend(ending_kinds_named(&rel, &src));
            }
        }
    }
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut errors = Vec::new();
    read(&root.join("src"), root, &mut errors);
    errors.sort();
    assert!(errors.is_empty(), "{}", errors.join("\n"));
}

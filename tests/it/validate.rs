//! `runner validate`: every mistake a user can make in a manifest, with its exact message
//! and location, as one table.

use crate::harness::{CommandExt, Sandbox, assert_exit, error_lines};

/// (case, manifest text, expected `file:line:col: message` lines)
const CASES: &[(&str, &str, &[&str])] = &[
    (
        "yaml syntax",
        "version: 1\njobs: [\n  - name: a\n",
        &["m.yaml:3:3: \"-\" is only valid inside a block"],
    ),
    (
        "unknown key with suggestion",
        "version: 1\njobs:\n  - name: a\n    model: claude-haiku-4-5\n    inputz: [data/a.csv]\n    prompt: hi\n",
        &[
            "m.yaml:5:5: unknown key `inputz`, expected one of `name`, `inputs`, `prompt`, `prompt_file`, `for_each`, `allow_empty`, `matrix`, `follow_up`, `model`, `max_tokens`, `system`, `api_version`, `temperature`, `top_p`, `top_k`, `thinking`, `thinking_display`, `effort`, `tool`, `max_continuations`, `timeout`, `max_input_age`, `expect`, `repair_turns`, `metrics`, `alert`, `pricing`, `cache`, `skills`, `template`",
        ],
    ),
    (
        "unknown key in defaults",
        "version: 1\ndefaults:\n  modle: m\njobs:\n  - name: a\n    prompt: hi\n",
        &[
            "m.yaml:3:3: unknown key `modle`, expected one of `model`, `max_tokens`, `system`, `api_version`, `temperature`, `top_p`, `top_k`, `thinking`, `thinking_display`, `effort`, `tool`, `max_continuations`, `timeout`, `max_input_age`, `follow_up`, `expect`, `repair_turns`, `metrics`, `alert`, `pricing`, `cache`, `skills`, `template`",
        ],
    ),
    (
        "wrong type: string for number",
        "version: 1\njobs:\n  - name: a\n    model: claude-haiku-4-5\n    max_tokens: lots\n    prompt: hi\n",
        &["m.yaml:5:17: `max_tokens`: expected a whole number from 0 to 4294967295"],
    ),
    (
        "wrong type: scalar for list",
        "version: 1\njobs:\n  - name: a\n    model: claude-haiku-4-5\n    inputs: data/a.csv\n    prompt: hi\n",
        &["m.yaml:5:13: `inputs`: expected a list"],
    ),
    (
        "missing version",
        "jobs:\n  - name: a\n    model: claude-haiku-4-5\n    prompt: hi\n",
        &["m.yaml:1:1: missing required key `version`"],
    ),
    (
        "unsupported version",
        "version: 2\njobs:\n  - name: a\n    model: claude-haiku-4-5\n    prompt: hi\n",
        &["m.yaml:1:10: unsupported manifest version 2, expected 1"],
    ),
    (
        "missing model anywhere",
        "version: 1\njobs:\n  - name: a\n    prompt: hi\n",
        &["m.yaml:3:11: job `a` has no `model`"],
    ),
    (
        "missing prompt",
        "version: 1\ndefaults:\n  model: claude-haiku-4-5\njobs:\n  - name: a\n",
        &["m.yaml:5:11: job `a` has neither `prompt` nor `prompt_file`, expected exactly one"],
    ),
    (
        "both prompt and prompt_file",
        "version: 1\ndefaults:\n  model: claude-haiku-4-5\njobs:\n  - name: a\n    prompt: hi\n    prompt_file: p.md\n",
        &["m.yaml:7:18: job `a` has both `prompt` and `prompt_file`, expected exactly one"],
    ),
    (
        "missing prompt_file",
        "version: 1\ndefaults:\n  model: claude-haiku-4-5\njobs:\n  - name: a\n    prompt_file: nope.md\n",
        &["m.yaml:6:18: prompt_file `nope.md` cannot be read: no such file"],
    ),
    (
        "duplicate job names",
        "version: 1\ndefaults:\n  model: claude-haiku-4-5\njobs:\n  - name: a\n    prompt: hi\n  - name: a\n    prompt: ho\n",
        &["m.yaml:7:11: duplicate job name `a` (first defined at line 5)"],
    ),
    (
        "duplicate job names after for_each",
        "version: 1\ndefaults:\n  model: claude-haiku-4-5\njobs:\n  - name: w\n    for_each: \"data/*.csv\"\n    prompt: hi\n",
        &["m.yaml:5:11: for_each gives several jobs the name `w`"],
    ),
    (
        "for_each name colliding with a plain job",
        "version: 1\ndefaults:\n  model: claude-haiku-4-5\njobs:\n  - name: w-a\n    prompt: hi\n  - name: \"w-{{ stem }}\"\n    for_each: \"data/*.csv\"\n    prompt: hi\n",
        &["m.yaml:7:11: duplicate job name `w-a` (first defined at line 5)"],
    ),
    (
        "bad job name characters",
        "version: 1\ndefaults:\n  model: claude-haiku-4-5\njobs:\n  - name: \"a b\"\n    prompt: hi\n",
        &[
            "m.yaml:5:11: invalid job name `a b`, expected letters, digits, `.`, `_` or `-` (and not `.` or `..`)",
        ],
    ),
    (
        "job name `..`",
        "version: 1\ndefaults:\n  model: claude-haiku-4-5\njobs:\n  - name: \"..\"\n    prompt: hi\n",
        &[
            "m.yaml:5:11: invalid job name `..`, expected letters, digits, `.`, `_` or `-` (and not `.` or `..`)",
        ],
    ),
    (
        "glob matching nothing",
        "version: 1\ndefaults:\n  model: claude-haiku-4-5\njobs:\n  - name: a\n    inputs: [\"data/*.parquet\"]\n    prompt: hi\n",
        &["m.yaml:6:14: input `data/*.parquet` matches no file"],
    ),
    (
        "path matching nothing",
        "version: 1\ndefaults:\n  model: claude-haiku-4-5\njobs:\n  - name: a\n    inputs:\n      - data/missing.csv\n    prompt: hi\n",
        &["m.yaml:7:9: input `data/missing.csv` no such file"],
    ),
    (
        "unknown placeholder",
        "version: 1\ndefaults:\n  model: claude-haiku-4-5\njobs:\n  - name: \"w-{{ stem }}\"\n    for_each: \"data/*.csv\"\n    prompt: \"{{ nmae }}\"\n",
        &[
            "m.yaml:7:13: unknown placeholder `{{ nmae }}`, expected one of `{{ path }}`, `{{ name }}`, `{{ stem }}`",
        ],
    ),
    (
        "placeholder without for_each",
        "version: 1\ndefaults:\n  model: claude-haiku-4-5\njobs:\n  - name: a\n    prompt: \"{{ name }}\"\n",
        &["m.yaml:6:13: placeholder `{{ name }}` is only available in a job with `for_each`"],
    ),
    (
        "unknown tool version",
        "version: 1\ndefaults:\n  model: claude-haiku-4-5\n  tool: code_execution_20260104\njobs:\n  - name: a\n    prompt: hi\n",
        &[
            "m.yaml:4:9: unknown tool `code_execution_20260104`, expected one of `code_execution_20250825`, `code_execution_20260120`, `code_execution_20260521`, `code_execution_20250522`",
        ],
    ),
    (
        "unknown api version",
        "version: 1\ndefaults:\n  model: claude-haiku-4-5\n  api_version: \"2026-10-12\"\njobs:\n  - name: a\n    prompt: hi\n",
        &[
            "m.yaml:4:16: unknown api_version `2026-10-12`, expected one of `2026-10-21`, `2023-06-01`",
        ],
    ),
    (
        "temperature under 2026-10-21",
        "version: 1\ndefaults:\n  model: claude-haiku-4-5\n  temperature: 0.2\njobs:\n  - name: a\n    prompt: hi\n",
        &["m.yaml:4:16: `temperature` is rejected by API version 2026-10-21"],
    ),
    (
        "thinking budget not below max_tokens",
        "version: 1\ndefaults:\n  model: claude-haiku-4-5\n  max_tokens: 2000\njobs:\n  - name: a\n    thinking: { budget_tokens: 4000 }\n    prompt: hi\n",
        &[
            "m.yaml:7:15: thinking.budget_tokens 4000 is out of range, expected at least 1024 and less than max_tokens (2000)",
        ],
    ),
    (
        "two inputs with the same file name",
        "version: 1\ndefaults:\n  model: claude-haiku-4-5\njobs:\n  - name: a\n    inputs: [data/a.csv, other/a.csv]\n    prompt: hi\n",
        &["m.yaml:6:26: inputs `data/a.csv` and `other/a.csv` have the same file name `a.csv`"],
    ),
    (
        "input name the Files API rejects",
        "version: 1\ndefaults:\n  model: claude-haiku-4-5\njobs:\n  - name: a\n    inputs: [\"odd/*\"]\n    prompt: hi\n",
        &[
            "m.yaml:6:14: input `odd/what?.csv` has a file name the Files API rejects: it contains `?`",
        ],
    ),
    (
        "expect: a path instead of a file name",
        "version: 1\ndefaults:\n  model: claude-haiku-4-5\njobs:\n  - name: a\n    prompt: hi\n    expect: [out/plot.png]\n",
        &["m.yaml:7:14: `expect` entry `out/plot.png` is a path, expected a file name or glob"],
    ),
    (
        "expect: bad glob",
        "version: 1\ndefaults:\n  model: claude-haiku-4-5\njobs:\n  - name: a\n    prompt: hi\n    expect: [\"[a.png\"]\n",
        &[
            "m.yaml:7:14: `expect` entry `[a.png` is not a valid glob: unclosed character class; missing ']'",
        ],
    ),
    (
        "expect: bad min_size",
        "version: 1\ndefaults:\n  model: claude-haiku-4-5\njobs:\n  - name: a\n    prompt: hi\n    expect: [{ name: \"*.png\", min_size: 1Q }]\n",
        &[
            "m.yaml:7:41: `min_size`: `1Q` is not a size; expected e.g. `1000`, `64K`, `500M` or `2G`",
        ],
    ),
    (
        "expect: min on a plain name, and min 0",
        "version: 1\ndefaults:\n  model: claude-haiku-4-5\njobs:\n  - name: a\n    prompt: hi\n    expect:\n      - { name: summary.md, min: 2 }\n      - { name: \"*.csv\", min: 0 }\n",
        &[
            "m.yaml:8:34: `min` applies only to a glob, and `summary.md` is one file name",
            "m.yaml:9:31: `min` must be at least 1",
        ],
    ),
    (
        "expect: unknown key in an entry",
        "version: 1\ndefaults:\n  model: claude-haiku-4-5\njobs:\n  - name: a\n    prompt: hi\n    expect: [{ name: a.md, size: 1K }]\n",
        &["m.yaml:7:28: unknown key `size`, expected one of `name`, `min_size`, `min`"],
    ),
    (
        "expect: neither a name nor a mapping",
        "version: 1\ndefaults:\n  model: claude-haiku-4-5\njobs:\n  - name: a\n    prompt: hi\n    expect: [[a.md]]\n",
        &[
            "m.yaml:7:14: invalid type: sequence, expected a file name or glob, or a mapping with `name`, `min_size`, `min`",
        ],
    ),
    (
        "expect: placeholder without for_each",
        "version: 1\ndefaults:\n  model: claude-haiku-4-5\njobs:\n  - name: a\n    prompt: hi\n    expect: [\"{{ stem }}.md\"]\n",
        &["m.yaml:7:14: placeholder `{{ stem }}` is only available in a job with `for_each`"],
    ),
    (
        "expect: unknown placeholder in a for_each job",
        "version: 1\ndefaults:\n  model: claude-haiku-4-5\njobs:\n  - name: \"w-{{ stem }}\"\n    for_each: \"data/*.csv\"\n    prompt: hi\n    expect:\n      - \"{{ stme }}.md\"\n",
        &[
            "m.yaml:9:9: unknown placeholder `{{ stme }}`, expected one of `{{ path }}`, `{{ name }}`, `{{ stem }}`",
        ],
    ),
    (
        "repair_turns out of range",
        "version: 1\ndefaults:\n  model: claude-haiku-4-5\njobs:\n  - name: a\n    prompt: hi\n    expect: [a.md]\n    repair_turns: 4\n",
        &["m.yaml:8:19: repair_turns 4 is out of range, expected 0 to 3"],
    ),
    (
        "several errors in one manifest are all reported",
        "version: 1\njobs:\n  - name: a\n    prompt: hi\n  - name: b\n    model: claude-haiku-4-5\n    inputs: [nope.csv]\n    prompt: hi\n",
        &[
            "m.yaml:3:11: job `a` has no `model`",
            "m.yaml:7:14: input `nope.csv` no such file",
        ],
    ),
];

fn sandbox() -> Sandbox {
    let sb = Sandbox::new();
    sb.file("data/a.csv", "x,y\n1,2\n")
        .file("data/b.csv", "x,y\n3,4\n")
        .file("other/a.csv", "x,y\n5,6\n")
        .file("odd/what?.csv", "x\n");
    sb
}

#[test]
fn each_bad_manifest_gets_its_exact_message_and_location() {
    let mut failures = Vec::new();
    for (case, yaml, expected) in CASES {
        let sb = sandbox();
        sb.file("m.yaml", yaml);
        let out = sb.cmd(["validate", "m.yaml"]).output().unwrap();
        let got = error_lines(&out.stderr);
        if out.status.code() != Some(2) || got != *expected {
            failures.push(format!(
                "{case}: exit {:?}\n  expected {expected:?}\n  got      {got:?}",
                out.status.code()
            ));
        }
    }
    assert!(failures.is_empty(), "\n{}", failures.join("\n"));
}

#[test]
fn errors_show_the_source_line_and_a_suggestion() {
    let sb = sandbox();
    sb.file(
        "m.yaml",
        "version: 1\njobs:\n  - name: a\n    model: claude-haiku-4-5\n    inputz: [data/a.csv]\n    prompt: hi\n",
    );
    let out = sb.cmd(["validate", "m.yaml"]).output().unwrap();
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(
        stderr.contains(
            "5 |     inputz: [data/a.csv]\n  |     ^^^^^^\n  = help: did you mean `inputs`?"
        ),
        "{stderr}"
    );
}

#[test]
fn all_manifests_are_checked_and_duplicate_stems_rejected() {
    let sb = sandbox();
    let bad = "version: 1\njobs:\n  - name: a\n    prompt: hi\n";
    sb.file("one/m.yaml", bad).file("two/m.yaml", bad);
    let stderr = sb
        .cmd(["validate", "one/m.yaml", "two/m.yaml"])
        .exit_stderr(2);
    assert_eq!(
        error_lines(stderr.as_bytes()),
        [
            "one/m.yaml:3:11: job `a` has no `model`",
            "two/m.yaml:1:1: manifest stem `m` is also used by one/m.yaml",
            "two/m.yaml:3:11: job `a` has no `model`",
        ]
    );
    assert!(stderr.contains("error: manifests are invalid: 3 errors"));
}

#[test]
fn a_manifest_cannot_take_the_runners_own_folders_as_its_stem() {
    let sb = sandbox();
    let ok = "version: 1\njobs:\n  - name: a\n    model: claude-sonnet-4-6\n    prompt: hi\n";
    sb.file("runs.yaml", ok).file(".batches.yaml", ok);
    let stderr = sb
        .cmd(["validate", "runs.yaml", ".batches.yaml"])
        .exit_stderr(2);
    assert_eq!(
        error_lines(stderr.as_bytes()),
        [
            "runs.yaml:1:1: manifest stem `runs` names a folder the runner keeps for itself",
            ".batches.yaml:1:1: manifest stem `.batches` names a folder the runner keeps for itself",
        ]
    );
    assert!(stderr.contains("OUT/runs/ (the run history)"));
}

#[test]
fn unreadable_manifest_is_a_diagnostic_not_a_crash() {
    let sb = sandbox();
    let stderr = sb.cmd(["validate", "missing.yaml"]).exit_stderr(2);
    assert_eq!(
        error_lines(stderr.as_bytes()),
        ["missing.yaml:1:1: cannot read manifest: no such file"]
    );
}

#[test]
fn valid_manifest_exits_zero_and_prints_nothing_on_stdout() {
    let sb = sandbox();
    sb.file(
        "m.yaml",
        "version: 1\ndefaults:\n  model: claude-haiku-4-5\njobs:\n  - name: \"w-{{ stem }}\"\n    for_each: \"data/*.csv\"\n    inputs: [\"{{ path }}\"]\n    prompt: \"Summarise {{ name }}\"\n",
    );
    let out = sb.cmd(["validate", "m.yaml"]).output().unwrap();
    assert_exit(&out, 0);
    assert!(out.stdout.is_empty());
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        "no cached model catalogue for http://127.0.0.1:9; run `runner models` or `runner run` \
         to fetch it\nok: 1 manifest, 2 jobs, 2 input files\n"
    );
}

#[test]
fn an_input_over_the_files_api_limit_is_rejected_before_any_upload() {
    let sb = sandbox();
    // Sparse: 500 MB + 1 byte of nothing, instantly.
    let big = std::fs::File::create(sb.root.join("data/huge.csv")).unwrap();
    big.set_len(500_000_001).unwrap();
    sb.file(
        "m.yaml",
        "version: 1\ndefaults:\n  model: claude-haiku-4-5\njobs:\n  - name: a\n    inputs: [data/huge.csv]\n    prompt: hi\n",
    );
    let stderr = sb.cmd(["validate", "m.yaml"]).exit_stderr(2);
    assert_eq!(
        error_lines(stderr.as_bytes()),
        [
            "m.yaml:6:14: input `data/huge.csv` is 500000001 bytes, over the Files API limit of 500 MB"
        ]
    );
}

#[test]
fn a_broken_config_file_stops_run_but_not_the_commands_that_do_not_read_it() {
    let sb = sandbox();
    sb.file(
        "m.yaml",
        "version: 1\njobs:\n  - name: a\n    model: claude-sonnet-4-6\n    prompt: hi\n",
    )
    .file("runner.toml", "jobz = 3\n");
    for args in [&["validate", "m.yaml"][..], &["schema"][..]] {
        let out = sb.cmd(args).output().unwrap();
        assert_eq!(
            out.status.code(),
            Some(0),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let out = sb.cmd(["run", "m.yaml"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("runner.toml") && stderr.contains("jobz"),
        "{stderr}"
    );
    // Named explicitly, it is read whatever the command.
    let out = sb
        .cmd(["--config", "runner.toml", "validate", "m.yaml"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn a_max_tokens_no_model_accepts_is_refused_without_a_cached_catalogue() {
    let sb = Sandbox::with_manifest("  - name: j\n    prompt: go\n    max_tokens: 4294967295\n");
    for command in ["validate", "plan"] {
        let stderr = sb.cmd([command, "m.yaml"]).exit_stderr(2);
        assert_eq!(
            error_lines(stderr.as_bytes()),
            ["m.yaml:7:17: max_tokens 4294967295 is more than any known model accepts (128000)"],
            "{command}: {stderr}"
        );
    }
    // The largest known is a bound, not a default: 128000 itself is fine.
    let sb = Sandbox::with_manifest("  - name: j\n    prompt: go\n    max_tokens: 128000\n");
    sb.cmd(["validate", "m.yaml"]).assert().success();
}

/// Issue 23, item 10: three typos and a wrong type in one manifest, and a second manifest
/// with its own unknown key and wrong type, all in one run: every error with its line, the
/// source line and the suggestion.
#[test]
fn every_shape_error_of_every_manifest_is_printed_in_one_run() {
    let sb = sandbox();
    sb.file(
        "one.yaml",
        "version: 1\ndefaults:\n  modle: claude-haiku-4-5\njobs:\n  - name: a\n    inptus: [data/a.csv]\n    max_tokens: lots\n    prompt: hi\n    folow_up:\n      - more\n  - name: b\n    model: claude-haiku-4-5\n    prompt: \"what's new\"\n",
    );
    sb.file(
        "two.yaml",
        "version: 1\njobs:\n  - name: c\n    model: claude-haiku-4-5\n    prompt: hi\n    expect: [{name: a.md, mni: 2, mni_size: 1}]\n    inputs: data/b.csv\n",
    );
    let stderr = sb.cmd(["validate", "one.yaml", "two.yaml"]).exit_stderr(2);
    assert_eq!(
        error_lines(stderr.as_bytes()).len(),
        7,
        "every error, once:\n{stderr}"
    );
    insta::assert_snapshot!(stderr);
}

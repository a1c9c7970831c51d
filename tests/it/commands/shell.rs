//! Completions, the man page, `--help`'s environment list, `init`, and the literal `{{`.

use crate::harness::{CommandExt, Sandbox, assert_success};

#[test]
fn bash_completions_load_in_bash() {
    let sb = Sandbox::new();
    let runner = assert_cmd::cargo::cargo_bin!("runner");
    let loaded = std::process::Command::new("bash")
        .args([
            "--norc",
            "--noprofile",
            "-c",
            r#"source <("$RUNNER" completions bash) && complete -p runner"#,
        ])
        .env("RUNNER", runner)
        .current_dir(&sb.root)
        .output()
        .unwrap();
    assert_success(&loaded);
    let registered = String::from_utf8(loaded.stdout).unwrap();
    assert!(registered.starts_with("complete "), "{registered}");
    assert!(registered.trim_end().ends_with(" runner"), "{registered}");
}

#[test]
fn completions_for_every_shell_name_the_subcommands() {
    for shell in ["bash", "zsh", "fish", "powershell"] {
        let out = Sandbox::new().cmd(["completions", shell]).output().unwrap();
        assert!(out.status.success(), "{shell}");
        let script = String::from_utf8(out.stdout).unwrap();
        for sub in [
            "run", "plan", "explain", "files", "skills", "schema", "batches",
        ] {
            assert!(script.contains(sub), "{shell} completions lack `{sub}`");
        }
    }
    Sandbox::new().cmd(["completions", "tcsh"]).assert().code(2);
}

#[test]
fn man_page_is_roff_with_every_command() {
    let out = Sandbox::new().cmd(["man"]).output().unwrap();
    assert_success(&out);
    let page = String::from_utf8(out.stdout).unwrap();
    assert!(
        page.starts_with(".ie") || page.contains(".TH runner"),
        "{page}"
    );
    assert!(page.contains(".TH runner 1"), "a section-1 page");
    for sub in [
        "validate", "plan", "run", "explain", "init", "files", "skills", "batches",
    ] {
        assert!(page.contains(sub), "man page lacks `{sub}`");
    }
    // Every option is in the one page (src/commands/man.rs checks each), `run`'s too.
    assert!(page.contains(".SH \"RUNNER RUN\""), "{page}");
    assert!(page.contains("\\-\\-budget\\-usd"), "{page}");

    let sb = Sandbox::new();
    sb.cmd(["man", "--all", "man1"]).assert().success();
    for name in ["runner.1", "runner-run.1", "runner-files-prune.1"] {
        let page = std::fs::read_to_string(sb.root.join("man1").join(name)).unwrap();
        assert!(page.contains("\n.TH runner"), "{name}: {page}");
    }
}

#[test]
fn help_lists_the_environment_variables_read() {
    let out = Sandbox::new().cmd(["--help"]).output().unwrap();
    assert_success(&out);
    let help = String::from_utf8(out.stdout).unwrap();
    for var in [
        "ANTHROPIC_API_KEY",
        "ANTHROPIC_API_KEY_FILE",
        "ANTHROPIC_BASE_URL",
        "RUNNER_STATE_DIR",
        "XDG_STATE_HOME",
        "NO_COLOR",
        "RUST_LOG",
        "RUNNER_SHARD",
        "JOB_COMPLETION_INDEX",
    ] {
        assert!(help.contains(var), "--help does not mention {var}");
    }
}

#[test]
fn init_writes_a_starter_that_validates_and_never_overwrites() {
    let sb = Sandbox::new();
    let out = sb.cmd(["init", "proj"]).output().unwrap();
    assert_success(&out);
    let said = String::from_utf8(out.stderr).unwrap();
    assert!(said.contains("runner plan proj/analysis.yaml"), "{said}");
    assert!(said.contains("runner run proj/analysis.yaml"), "{said}");
    for file in [
        "proj/analysis.yaml",
        "proj/prompts/overview.md",
        "proj/data/sales.csv",
        "proj/manifest.schema.json",
    ] {
        assert!(sb.root.join(file).is_file(), "{file}");
    }
    let manifest = sb.read("proj/analysis.yaml");
    assert!(manifest.starts_with("# yaml-language-server: $schema=manifest.schema.json\n"));
    sb.cmd(["validate", "proj/analysis.yaml"])
        .assert()
        .success();
    sb.cmd(["plan", "proj/analysis.yaml"]).assert().success();

    // Again: refused, exit 2, naming the file; the user's edit survives.
    sb.file("proj/prompts/overview.md", "my own prompt\n");
    std::fs::remove_file(sb.root.join("proj/analysis.yaml")).unwrap();
    let again = sb.cmd(["init", "proj"]).output().unwrap();
    assert_eq!(again.status.code(), Some(2));
    let said = String::from_utf8(again.stderr).unwrap();
    assert!(
        said.contains("proj/prompts/overview.md already exists"),
        "{said}"
    );
    assert_eq!(sb.read("proj/prompts/overview.md"), "my own prompt\n");
    assert!(
        !sb.root.join("proj/analysis.yaml").exists(),
        "a refusal writes nothing"
    );
}

#[test]
fn a_literal_double_brace_reaches_the_prompt() {
    let sb = Sandbox::new();
    sb.file("d/a.csv", "x\n1\n").file(
        "m.yaml",
        "version: 1\ndefaults:\n  model: claude-sonnet-4-6\njobs:\n  - name: \"t-{{ stem }}\"\n    for_each: \"d/*.csv\"\n    inputs: [\"{{ path }}\"]\n    prompt: 'Fill the Jinja template {{ \"{{\" }} user }} from {{ name }}.'\n",
    );
    let plan: serde_json::Value = sb.cmd(["plan", "--json", "m.yaml"]).success_json();
    assert_eq!(
        plan["jobs"][0]["turns"][0],
        "Fill the Jinja template {{ user }} from a.csv."
    );
}

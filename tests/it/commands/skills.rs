//! `runner skills list|prune` where no Skills API is needed: the key, the trees, a dry run.
//! (Against the fake's Skills API: added with it.)

use crate::harness::{Sandbox, TEST_KEY, assert_exit, assert_success};

#[test]
fn skills_commands_need_the_key_and_readable_trees() {
    let sb = Sandbox::new();
    let out = sb.cmd(["skills", "list"]).output().unwrap();
    assert_exit(&out, 2);
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(stderr.contains("ANTHROPIC_API_KEY is not set"), "{stderr}");
    assert!(stderr.contains("`runner skills`"), "{stderr}");

    let out = sb
        .cmd(["skills", "prune", "--dry-run", "-o", "missing"])
        .env("ANTHROPIC_API_KEY", TEST_KEY)
        .output()
        .unwrap();
    assert_exit(&out, 2);
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(stderr.contains("cannot read missing"), "{stderr}");
}

#[test]
fn a_dry_run_with_nothing_cached_deletes_nothing_and_sends_nothing() {
    let sb = Sandbox::new();
    sb.file(
        "out/m/a/job.json",
        r#"{"skills":[{"source":"anthropic","skill_id":"xlsx","version":"latest"}]}"#,
    );
    // The base URL is a closed port: any request would fail the command.
    let out = sb
        .cmd(["skills", "prune", "--dry-run", "-o", "out"])
        .env("ANTHROPIC_API_KEY", TEST_KEY)
        .output()
        .unwrap();
    assert_success(&out);
    assert!(out.stdout.is_empty());
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(
        stderr.contains("dry run: 0 skill versions to delete, nothing deleted"),
        "{stderr}"
    );
}

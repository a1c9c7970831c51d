//! Inputs that are not what they seem (FIFOs, sockets, folders, names that are not
//! UTF-8, files nobody may read) and inputs that change, vanish or lock up between
//! planning and upload.

use std::process::Stdio;
use std::time::Duration;

use fake_anthropic::{Endpoint, FakeServer, Fault};

use super::{assert_no_panic, blake3_hex, manifest};
use crate::harness::{CommandExt, Sandbox, assert_exit, error_lines};

/// A guard, not a wait: a command that opened a FIFO would block forever.
const HANG: Duration = Duration::from_secs(60);

#[cfg(unix)]
fn mkfifo(path: &std::path::Path) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    let made = std::process::Command::new("mkfifo")
        .arg(path)
        .status()
        .unwrap();
    assert!(made.success());
}

#[cfg(unix)]
#[test]
fn fifos_sockets_and_folders_are_clear_errors_and_never_block() {
    let fake = FakeServer::start();
    let sb = Sandbox::new();
    sb.file("data/a.csv", "a\n1\n")
        .file("data/dir/x.csv", "x\n")
        .file(
            "m.yaml",
            manifest(concat!(
                "  - name: literal-fifo\n    inputs: [data/pipe.csv]\n    prompt: go\n",
                "  - name: globbed-fifo\n    inputs: [\"data/*.csv\"]\n    prompt: go\n",
                "  - name: socket\n    inputs: [data/sock.json]\n    prompt: go\n",
                "  - name: folder\n    inputs: [data/dir]\n    prompt: go\n",
                "  - name: fifo-prompt\n    prompt_file: prompts/pipe.md\n",
            )),
        );
    mkfifo(&sb.root.join("data/pipe.csv"));
    mkfifo(&sb.root.join("prompts/pipe.md"));
    mkfifo(&sb.root.join("fifo.yaml"));
    let _socket = std::os::unix::net::UnixListener::bind(sb.root.join("data/sock.json")).unwrap();
    let expected = [
        "m.yaml:6:14: input `data/pipe.csv` is a FIFO (named pipe), not a regular file",
        "m.yaml:9:14: input `data/*.csv` matches `data/pipe.csv`, which is a FIFO (named pipe), not a regular file; narrow the pattern",
        "m.yaml:12:14: input `data/sock.json` is a socket, not a regular file",
        "m.yaml:15:14: input `data/dir` is not a regular file (name the files, e.g. `dir/*.csv`)",
        "m.yaml:18:18: prompt_file `prompts/pipe.md` cannot be read: it is a FIFO (named pipe), not a regular file",
        "fifo.yaml:1:1: cannot read manifest: it is a FIFO (named pipe), not a regular file",
    ];
    for command in ["validate", "plan", "run"] {
        let out = sb
            .cmd_against(&fake, [command, "m.yaml", "fifo.yaml"])
            .timeout(HANG)
            .output()
            .unwrap();
        assert_no_panic(&out);
        assert_eq!(out.status.code(), Some(2), "{command}");
        assert_eq!(error_lines(&out.stderr), expected, "{command}");
    }
    assert_eq!(fake.stats().requests_total, 0, "nothing was sent");
}

#[cfg(unix)]
#[test]
fn a_file_name_that_is_not_utf8_is_rejected_by_name_and_never_panics() {
    use std::ffi::OsStr;
    use std::os::unix::ffi::OsStrExt;
    let sb = Sandbox::new();
    sb.file("data/ok.csv", "a\n1\n")
        .file(
            "m.yaml",
            manifest("  - name: j\n    inputs: [\"data/*.csv\"]\n    prompt: go\n"),
        )
        .file(
            "narrow.yaml",
            manifest("  - name: j\n    inputs: [\"data/ok*\"]\n    prompt: go\n"),
        );
    let odd = sb.root.join("data").join(OsStr::from_bytes(b"caf\xe9.csv"));
    std::fs::write(&odd, "x\n").unwrap();

    let out = sb
        .cmd(["validate", "m.yaml"])
        .timeout(HANG)
        .output()
        .unwrap();
    assert_no_panic(&out);
    assert_eq!(out.status.code(), Some(2));
    let lines = error_lines(&out.stderr);
    assert_eq!(lines.len(), 1, "{lines:?}");
    assert!(
        lines[0].starts_with(
            "m.yaml:6:14: input `data/*.csv` matches a path that is not valid UTF-8 ("
        ) && lines[0].ends_with("data/caf\u{FFFD}.csv); rename it or narrow the pattern"),
        "{lines:?}"
    );
    // A pattern that does not ask for it is unaffected.
    sb.cmd(["validate", "narrow.yaml"]).assert().success();

    // Paths given on the command line or in the environment: a usage error, no panic.
    let bad_arg = OsStr::from_bytes(b"m\xff.yaml");
    let out = sb.cmd([OsStr::new("validate"), bad_arg]).output().unwrap();
    assert_no_panic(&out);
    assert_eq!(out.status.code(), Some(2));
    let out = sb
        .cmd(["plan", "narrow.yaml"])
        .env("RUNNER_STATE_DIR", OsStr::from_bytes(b"/tmp/st\xffate"))
        .output()
        .unwrap();
    assert_no_panic(&out);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("UTF-8"));
}

/// Whether file modes bind this process (they do not for root).
#[cfg(unix)]
#[expect(clippy::print_stdout, reason = "a skipped check says so")]
fn modes_bind(path: &std::path::Path) -> bool {
    let bound = std::fs::File::open(path).is_err();
    if !bound {
        println!(
            "note: running with privileges that ignore file modes (root?); skipped the unreadable case"
        );
    }
    bound
}

#[cfg(unix)]
#[test]
fn an_unreadable_input_is_a_validate_error() {
    use std::os::unix::fs::PermissionsExt;
    let sb = Sandbox::with_manifest("  - name: j\n    inputs: [data/secret.csv]\n    prompt: go\n");
    sb.file("data/secret.csv", "a\n1\n");
    let path = sb.root.join("data/secret.csv");
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o000)).unwrap();
    if !modes_bind(&path) {
        return;
    }
    let stderr = sb.cmd(["validate", "m.yaml"]).exit_stderr(2);
    assert_eq!(
        error_lines(stderr.as_bytes()),
        ["m.yaml:6:14: input `data/secret.csv` cannot be read: permission denied"]
    );
}

#[cfg(unix)]
#[test]
fn inputs_that_change_after_planning_fail_only_their_jobs_and_nothing_is_stored_under_a_wrong_hash()
{
    use std::os::unix::fs::PermissionsExt;
    let fake = FakeServer::start();
    let sb = Sandbox::new();
    let names = [
        "primer",
        "steady",
        "same-size",
        "grows",
        "shrinks",
        "vanishes",
        "unreadable",
    ];
    let mut jobs = String::new();
    for name in names {
        sb.file(&format!("data/{name}.csv"), format!("{name}\n1,2,3\n"));
        jobs.push_str(&format!(
            "  - name: {name}\n    inputs: [data/{name}.csv]\n    prompt: go\n"
        ));
    }
    sb.file("m.yaml", manifest(&jobs));
    // A first run leaves one upload in the cache, so the next run verifies it with the
    // Files API after planning and before uploading anything: that call is held, and the
    // inputs change while it is.
    sb.cmd_against(&fake, ["run", "m.yaml", "--only", "primer"])
        .assert()
        .success();
    fake.push_faults(Endpoint::ListFiles, [Fault::Hold]);
    let child = sb
        .std_cmd_against(&fake, ["run", "--force", "m.yaml"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let held = fake.wait_until(HANG, |s| s.held == 1);
    let data = sb.root.join("data");
    std::fs::write(data.join("same-size.csv"), "SAME-SIZE\n1,2,3\n").unwrap();
    std::fs::write(data.join("grows.csv"), "grows\n1,2,3\n4,5,6\n").unwrap();
    std::fs::write(data.join("shrinks.csv"), "shrinks\n").unwrap();
    std::fs::remove_file(data.join("vanishes.csv")).unwrap();
    let unreadable = data.join("unreadable.csv");
    std::fs::set_permissions(&unreadable, std::fs::Permissions::from_mode(0o000)).unwrap();
    let check_unreadable = modes_bind(&unreadable);
    fake.release_held();
    let out = child.wait_with_output().unwrap();
    assert!(held, "the verification call never arrived");
    assert_no_panic(&out);
    assert_exit(&out, 1);

    let job = |name: &str| sb.read_json(&format!("out/m/{name}/job.json"));
    for ok in ["primer", "steady"] {
        assert_eq!(job(ok)["status"], "succeeded", "{ok}");
    }
    let mut failing = vec![
        (
            "same-size",
            "data/same-size.csv changed since it was planned",
        ),
        ("grows", "data/grows.csv grew since it was planned"),
        (
            "shrinks",
            "data/shrinks.csv changed since it was planned (8 bytes",
        ),
        ("vanishes", "cannot open"),
    ];
    if check_unreadable {
        failing.push(("unreadable", "Permission denied"));
    } else {
        assert_eq!(job("unreadable")["status"], "succeeded");
    }
    for (name, why) in failing {
        let record = job(name);
        assert_eq!(record["error"]["kind"], "upload", "{name}: {record}");
        let message = record["error"]["message"].as_str().unwrap();
        assert!(
            message.starts_with(&format!("input data/{name}.csv: ")) && message.contains(why),
            "{name}: {message}"
        );
        // Failed before its conversation: nothing was asked of the model.
        assert!(record["requests"].as_array().unwrap().is_empty(), "{name}");
    }
    // Only the unchanged files are stored, each under the hash of its bytes, and the
    // upload cache maps every (hash, name) to a file with exactly those bytes.
    let mut stored: Vec<String> = fake
        .stats()
        .uploads
        .keys()
        .map(|(_, n)| n.clone())
        .collect();
    stored.sort();
    let mut expect = vec!["primer.csv", "steady.csv"];
    if !check_unreadable {
        expect.push("unreadable.csv");
    }
    assert_eq!(stored, expect);
    for (hash, name) in fake.stats().uploads.keys() {
        assert_eq!(
            *hash,
            blake3_hex(format!("{}\n1,2,3\n", name.trim_end_matches(".csv")).as_bytes())
        );
    }
    let cache = sb.read_json(".state/uploads.json");
    let entries = cache["entries"].as_array().unwrap();
    assert_eq!(entries.len(), expect.len());
    for e in entries {
        let bytes = fake.file_bytes(e["file_id"].as_str().unwrap()).unwrap();
        assert_eq!(e["blake3"], blake3_hex(&bytes), "{e}");
    }
}

//! The API key is never printed, logged (even at the most verbose level, HTTP internals
//! included), written to the output tree or stored; the state dir and its caches are
//! private to the user.

use std::path::Path;

use fake_anthropic::{Config, Endpoint, FakeServer, Fault};

use crate::harness::{Sandbox, TEST_KEY, assert_success};

const MODEL: &str = "claude-sonnet-4-6";

fn sandbox() -> Sandbox {
    let sb = Sandbox::new();
    sb.file("data/a.csv", "a\n1\n").file(
        "m.yaml",
        format!(
            "version: 1\ndefaults:\n  model: {MODEL}\njobs:\n  - name: j\n    inputs: [data/a.csv]\n    prompt: go\n"
        ),
    );
    sb
}

/// Every file under `dir` that holds `needle`, links not followed.
fn files_containing(dir: &Path, needle: &[u8]) -> Vec<String> {
    walkdir::WalkDir::new(dir)
        .into_iter()
        .map(Result::unwrap)
        .filter(|e| e.file_type().is_file())
        .filter(|e| {
            std::fs::read(e.path())
                .unwrap()
                .windows(needle.len())
                .any(|w| w == needle)
        })
        .map(|e| e.path().display().to_string())
        .collect()
}

/// The key and a tail of it distinctive enough to catch a partial leak.
fn leaks(text: &[u8]) -> bool {
    let text = String::from_utf8_lossy(text);
    text.contains(TEST_KEY) || text.contains(&TEST_KEY[TEST_KEY.len() - 16..])
}

#[test]
fn the_key_appears_nowhere_even_at_the_most_verbose_level() {
    let fake = FakeServer::start();
    // A retry on each endpoint family, so the error and back-off paths log too.
    fake.push_faults(Endpoint::Messages, [Fault::status(529)]);
    fake.push_faults(Endpoint::Upload, [Fault::status(500)]);
    fake.push_faults(Endpoint::Download, [Fault::DropConnection]);
    let sb = sandbox();
    let out = sb
        .cmd_against(&fake, ["-vvv", "run", "--json", "m.yaml"])
        .env("RUST_LOG", "trace")
        .output()
        .unwrap();
    assert_success(&out);
    // A full job really ran: upload, conversation, downloads.
    let stats = fake.stats();
    assert_eq!(stats.upload_count, 1);
    assert!(stats.requests["download"] >= 2);
    // The most verbose level was on, HTTP internals included: the test looks where a
    // key would show up.
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("TRACE") && stderr.contains("http1 handshake complete"),
        "{stderr}"
    );
    assert!(!leaks(&out.stdout), "stdout has the key");
    assert!(!leaks(&out.stderr), "stderr has the key:\n{stderr}");

    // `plan` reads the upload cache with the key, at the most verbose level too.
    let plan = sb
        .cmd_against(&fake, ["-vvv", "plan", "m.yaml"])
        .env("RUST_LOG", "trace")
        .output()
        .unwrap();
    assert_success(&plan);
    assert!(!leaks(&plan.stdout) && !leaks(&plan.stderr));

    // Nowhere on disk: output tree, state dir, anything under the sandbox.
    assert_eq!(
        files_containing(&sb.root, TEST_KEY.as_bytes()),
        Vec::<String>::new()
    );
    // The upload cache keys by a hash of the key, not by the key.
    let cache = sb.read_json(".state/uploads.json");
    let fingerprint = cache["entries"][0]["key"].as_str().unwrap();
    assert_eq!(fingerprint.len(), 32);
    assert!(fingerprint.bytes().all(|b| b.is_ascii_hexdigit()));
    assert!(!TEST_KEY.contains(fingerprint) && !fingerprint.contains("secret"));
}

#[test]
fn a_rejected_key_is_not_echoed() {
    let fake = FakeServer::start_with(Config {
        api_key: Some("sk-ant-the-right-one".into()),
        ..Config::default()
    });
    let sb = sandbox();
    let out = sb
        .cmd_against(&fake, ["-vvv", "run", "m.yaml"])
        .env("RUST_LOG", "trace")
        .output()
        .unwrap();
    // The check before any upload refuses the run (docs/exit-codes.md §1.1).
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("refused the key: HTTP 401"));
    // The failed run is recorded with its error, which names no key.
    let run = sb.read_json("out/run.json");
    assert!(
        run["error"]["message"]
            .as_str()
            .unwrap()
            .contains("refused the key")
    );
    assert!(!leaks(&out.stdout) && !leaks(&out.stderr));
    assert_eq!(
        files_containing(&sb.root, TEST_KEY.as_bytes()),
        Vec::<String>::new()
    );
}

#[cfg(unix)]
#[test]
fn the_state_dir_and_its_caches_are_private() {
    use std::os::unix::fs::PermissionsExt;
    let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    let fake = FakeServer::start();
    let sb = sandbox();
    // Created by someone else, too open, with a cache file anyone may read.
    let state = sb.state_dir();
    std::fs::create_dir_all(&state).unwrap();
    std::fs::set_permissions(&state, std::fs::Permissions::from_mode(0o755)).unwrap();
    std::fs::write(state.join("hashes.json"), "{}").unwrap();
    std::fs::set_permissions(
        state.join("hashes.json"),
        std::fs::Permissions::from_mode(0o644),
    )
    .unwrap();

    sb.cmd_against(&fake, ["run", "m.yaml"]).assert().success();
    assert_eq!(mode(&state), 0o700);
    for cache in ["hashes.json", "uploads.json"] {
        assert_eq!(mode(&state.join(cache)), 0o600, "{cache}");
    }

    // A state dir that did not exist is created private, parents and all.
    let fresh = sb.root.join("new/state");
    sb.cmd_against(&fake, ["run", "--force", "m.yaml"])
        .env("RUNNER_STATE_DIR", &fresh)
        .assert()
        .success();
    assert_eq!(mode(&fresh), 0o700);
    assert_eq!(mode(&fresh.join("uploads.json")), 0o600);
}

#[test]
fn a_key_in_the_base_urls_userinfo_is_never_printed_back() {
    let fake = FakeServer::start();
    let sb = sandbox();
    let port = fake.base_url().rsplit(':').next().unwrap().to_owned();
    for url in [
        format!("http://{TEST_KEY}@127.0.0.1:{port}"),
        format!("http://user:{TEST_KEY}@127.0.0.1:{port}/"),
        // Not even a URL: still no echo.
        format!("{TEST_KEY}@127.0.0.1:{port}"),
    ] {
        for args in [
            &["run", "m.yaml"][..],
            &["validate", "m.yaml"],
            &["files", "list"],
        ] {
            let out = sb
                .cmd_against(&fake, args)
                .env("ANTHROPIC_BASE_URL", &url)
                .output()
                .unwrap();
            assert_eq!(out.status.code(), Some(2), "{args:?} {url}");
            let stderr = String::from_utf8_lossy(&out.stderr);
            assert!(stderr.contains("ANTHROPIC_BASE_URL"), "{stderr}");
            assert!(stderr.contains("***@127.0.0.1"), "{stderr}");
            assert!(
                !leaks(&out.stdout) && !leaks(&out.stderr),
                "{args:?}: {stderr}"
            );
        }
    }
    assert_eq!(fake.stats().requests_total, 0, "refused before any request");
    assert_eq!(
        files_containing(&sb.root, TEST_KEY.as_bytes()),
        Vec::<String>::new()
    );
}

//! A sandbox folder with manifests and data, and the `runner` binary pointed at it.
//!
//! Every command gets a private state dir and, unless a test sets one, an API base URL on
//! a closed local port: no test can ever reach a real Anthropic host.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Output;

use assert_cmd::Command;
use serde::de::DeserializeOwned;

pub(crate) struct Sandbox {
    _dir: tempfile::TempDir,
    pub root: PathBuf,
}

impl Sandbox {
    pub(crate) fn new() -> Sandbox {
        let dir = tempfile::tempdir().expect("temp dir");
        let root = dir.path().to_path_buf();
        Sandbox { _dir: dir, root }
    }

    /// Writes a file (creating folders) and returns the sandbox for chaining.
    pub(crate) fn file(&self, rel: &str, contents: impl AsRef<[u8]>) -> &Sandbox {
        let path = self.root.join(rel);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, contents).unwrap();
        self
    }

    pub(crate) fn state_dir(&self) -> PathBuf {
        self.root.join(".state")
    }

    pub(crate) fn cmd<I, S>(&self, args: I) -> Command
    where
        I: IntoIterator<Item = S>,
        S: AsRef<std::ffi::OsStr>,
    {
        Command::from_std(self.std_cmd(args))
    }

    /// The same command as a plain `std::process::Command`, for tests that spawn it.
    pub(crate) fn std_cmd<I, S>(&self, args: I) -> std::process::Command
    where
        I: IntoIterator<Item = S>,
        S: AsRef<std::ffi::OsStr>,
    {
        let mut cmd = std::process::Command::new(assert_cmd::cargo::cargo_bin!("runner"));
        cmd.current_dir(&self.root)
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", &self.root)
            .env("RUNNER_STATE_DIR", self.state_dir())
            .env("ANTHROPIC_BASE_URL", "http://127.0.0.1:9")
            .args(args);
        cmd
    }

    /// A new sandbox whose `m.yaml` is `manifest(jobs)`.
    pub(crate) fn with_manifest(jobs: &str) -> Sandbox {
        let sb = Sandbox::new();
        sb.file("m.yaml", manifest(jobs));
        sb
    }

    /// Copies the project's example manifests and data into the sandbox.
    pub(crate) fn with_examples(&self) -> &Sandbox {
        copy_dir(
            &Path::new(env!("CARGO_MANIFEST_DIR")).join("jobs"),
            &self.root.join("jobs"),
        );
        self
    }
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

/// The `error: file:line:col: message` lines of a command's stderr, without the prefix.
pub(crate) fn error_lines(stderr: &[u8]) -> Vec<String> {
    String::from_utf8_lossy(stderr)
        .lines()
        .filter_map(|l| l.strip_prefix("error: "))
        .filter(|l| !l.starts_with("manifest") && !l.starts_with("manifests"))
        .map(str::to_owned)
        .collect()
}

/// The test API key; the fake accepts it, and the secrets tests look for it.
pub(crate) const TEST_KEY: &str = "sk-ant-test-0123456789-secret";

impl Sandbox {
    /// `runner …` pointed at a fake server, with retry delays scaled down (not skipped).
    pub(crate) fn cmd_against<I, S>(&self, fake: &fake_anthropic::FakeServer, args: I) -> Command
    where
        I: IntoIterator<Item = S>,
        S: AsRef<std::ffi::OsStr>,
    {
        Command::from_std(self.std_cmd_against(fake, args))
    }

    pub(crate) fn std_cmd_against<I, S>(
        &self,
        fake: &fake_anthropic::FakeServer,
        args: I,
    ) -> std::process::Command
    where
        I: IntoIterator<Item = S>,
        S: AsRef<std::ffi::OsStr>,
    {
        let mut cmd = self.std_cmd(args);
        cmd.env("ANTHROPIC_BASE_URL", fake.base_url())
            .env("ANTHROPIC_API_KEY", TEST_KEY)
            .env("RUNNER_TEST_DELAY_SCALE", "0.01");
        cmd
    }

    /// Starts `runner …` against the fake without waiting for it; output discarded.
    pub(crate) fn spawn_against(
        &self,
        fake: &fake_anthropic::FakeServer,
        args: &[&str],
    ) -> std::process::Child {
        self.std_cmd_against(fake, args)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap()
    }

    /// `rel` as text; a read error names the path.
    pub(crate) fn read(&self, rel: &str) -> String {
        std::fs::read_to_string(self.root.join(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"))
    }

    pub(crate) fn read_json(&self, rel: &str) -> serde_json::Value {
        let text =
            std::fs::read_to_string(self.root.join(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"));
        serde_json::from_str(&text).unwrap()
    }

    /// Adds generated files to the job folder `dir` (relative to the root) as a run saves
    /// them: under `files/`, each with its `outputs` entry in `job.json`. For files the
    /// fake's model does not write (yet); `runner report` then rebuilds the pages from disk.
    pub(crate) fn add_outputs(&self, dir: &str, files: &[(&str, Vec<u8>)]) {
        let job_json = format!("{dir}/job.json");
        let mut job = self.read_json(&job_json);
        for (name, bytes) in files {
            self.file(&format!("{dir}/files/{name}"), bytes);
            job["outputs"]
                .as_array_mut()
                .unwrap()
                .push(serde_json::json!({
                    "name": name, "path": format!("files/{name}"), "size": bytes.len(),
                    "blake3": blake3::hash(bytes).to_hex().to_string(), "turn": 0,
                }));
        }
        self.file(&job_json, serde_json::to_vec_pretty(&job).unwrap());
    }
}

/// A manifest with the default model and these `jobs:` entries.
pub(crate) fn manifest(jobs: &str) -> String {
    format!("version: 1\ndefaults:\n  model: claude-sonnet-4-6\njobs:\n{jobs}")
}

impl Sandbox {
    /// Runs `runner … --json` against the fake; returns the exit code and the summary.
    pub(crate) fn run_json(
        &self,
        fake: &fake_anthropic::FakeServer,
        args: &[&str],
    ) -> (Option<i32>, serde_json::Value) {
        let out = self
            .cmd_against(fake, args.iter().copied().chain(["--json"]))
            .output()
            .unwrap();
        let summary = serde_json::from_slice(&out.stdout)
            .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stderr)));
        (out.status.code(), summary)
    }
}

/// Asserts the command succeeded; the failure message is its stderr.
#[track_caller]
pub(crate) fn assert_success(out: &Output) {
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Asserts the command exited with `code`; the failure message is its stderr.
#[track_caller]
pub(crate) fn assert_exit(out: &Output, code: i32) {
    assert_eq!(
        out.status.code(),
        Some(code),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The command's stdout parsed as JSON; a parse error shows stdout and stderr.
#[track_caller]
pub(crate) fn stdout_json<T: DeserializeOwned>(out: &Output) -> T {
    // A `match`, not a closure: a closure's panic would point here, not at the test.
    match serde_json::from_slice(&out.stdout) {
        Ok(value) => value,
        Err(e) => panic!(
            "stdout is not the JSON expected: {e}\nstdout: {}\nstderr: {}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    }
}

/// The entry of a run summary's `jobs` whose `field` is `value`; panics showing the summary.
#[track_caller]
pub(crate) fn summary_job<'a>(
    summary: &'a serde_json::Value,
    field: &str,
    value: &str,
) -> &'a serde_json::Value {
    let Some(jobs) = summary["jobs"].as_array() else {
        panic!("no `jobs` in {summary}");
    };
    match jobs.iter().find(|j| j[field] == value) {
        Some(job) => job,
        None => panic!("no job whose {field} is {value:?} in {summary}"),
    }
}

pub(crate) trait CommandExt {
    /// Runs the command, asserts it succeeded (showing its stderr if not) and parses its
    /// stdout as JSON.
    fn success_json<T: DeserializeOwned>(&mut self) -> T;

    /// Runs the command, asserts it exited with `code` (showing its stderr if not) and
    /// returns its stderr.
    fn exit_stderr(&mut self, code: i32) -> String;
}

impl CommandExt for Command {
    #[track_caller]
    fn success_json<T: DeserializeOwned>(&mut self) -> T {
        let out = self.output().unwrap();
        assert_success(&out);
        stdout_json(&out)
    }

    #[track_caller]
    fn exit_stderr(&mut self, code: i32) -> String {
        let out = self.output().unwrap();
        assert_exit(&out, code);
        String::from_utf8_lossy(&out.stderr).into_owned()
    }
}

/// Every file under `dir` (folders followed, not listed), in no particular order.
pub(crate) fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
        let path = entry.unwrap().path();
        if path.is_dir() {
            files.extend(files_under(&path));
        } else {
            files.push(path);
        }
    }
    files
}

/// The names of the entries directly in `dir`, sorted; a read error or a name that is not
/// UTF-8 names the folder.
pub(crate) fn names_in(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| {
            e.unwrap()
                .file_name()
                .into_string()
                .unwrap_or_else(|n| panic!("{n:?} in {}", dir.display()))
        })
        .collect();
    names.sort();
    names
}

/// Every file under `dir` with its bytes, by relative path.
pub(crate) fn tree(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    files_under(dir)
        .into_iter()
        .map(|path| {
            let rel = path
                .strip_prefix(dir)
                .unwrap()
                .to_string_lossy()
                .into_owned();
            let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            (rel, bytes)
        })
        .collect()
}

/// Sends `signal` (`-INT`, `-TERM`) to a spawned runner with `kill`, then waits for it;
/// returns its exit code.
pub(crate) fn signal_and_wait(child: &mut std::process::Child, signal: &str) -> Option<i32> {
    let sent = std::process::Command::new("kill")
        .args([signal, &child.id().to_string()])
        .status()
        .unwrap();
    assert!(sent.success(), "kill {signal} failed");
    child.wait().unwrap().code()
}

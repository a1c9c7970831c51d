//! A sandbox folder with manifests and data, and the `runner` binary pointed at it.
//!
//! Every command gets a private state dir and, unless a test sets one, an API base URL on
//! a closed local port: no test can ever reach a real Anthropic host.

use std::path::{Path, PathBuf};

use assert_cmd::Command;

pub struct Sandbox {
    _dir: tempfile::TempDir,
    pub root: PathBuf,
}

impl Sandbox {
    pub fn new() -> Sandbox {
        let dir = tempfile::tempdir().expect("temp dir");
        let root = dir.path().to_path_buf();
        Sandbox { _dir: dir, root }
    }

    /// Writes a file (creating folders) and returns the sandbox for chaining.
    pub fn file(&self, rel: &str, contents: impl AsRef<[u8]>) -> &Sandbox {
        let path = self.root.join(rel);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, contents).unwrap();
        self
    }

    pub fn state_dir(&self) -> PathBuf {
        self.root.join(".state")
    }

    pub fn cmd<I, S>(&self, args: I) -> Command
    where
        I: IntoIterator<Item = S>,
        S: AsRef<std::ffi::OsStr>,
    {
        let mut cmd = Command::new(assert_cmd::cargo::cargo_bin!("runner"));
        cmd.current_dir(&self.root)
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", &self.root)
            .env("RUNNER_STATE_DIR", self.state_dir())
            .env("ANTHROPIC_BASE_URL", "http://127.0.0.1:9")
            .args(args);
        cmd
    }

    /// Copies the project's example manifests and data into the sandbox.
    pub fn with_examples(&self) -> &Sandbox {
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
pub fn error_lines(stderr: &[u8]) -> Vec<String> {
    String::from_utf8_lossy(stderr)
        .lines()
        .filter_map(|l| l.strip_prefix("error: "))
        .filter(|l| !l.starts_with("manifest") && !l.starts_with("manifests"))
        .map(str::to_owned)
        .collect()
}

//! Hostile and bad input, end to end over real HTTP against the fake API: names and sizes
//! a server chooses, links planted in the output tree, inputs that are not what they seem
//! or change under the runner, and responses that break the rules.

mod artifacts;
mod inputs;
mod responses;

use std::path::{Path, PathBuf};

pub(crate) use crate::harness::manifest;

pub(crate) fn blake3_hex(bytes: &[u8]) -> String {
    blake3::hash(bytes).to_hex().to_string()
}

/// Every entry under `dir` (files, folders and links, never followed), relative and
/// sorted, with each file's bytes: a snapshot to prove a folder was left alone.
pub(crate) fn snapshot(dir: &Path) -> Vec<(PathBuf, Option<Vec<u8>>)> {
    let mut out = Vec::new();
    for entry in walkdir::WalkDir::new(dir).sort_by_file_name().min_depth(1) {
        let entry = entry.unwrap();
        let rel = entry.path().strip_prefix(dir).unwrap().to_path_buf();
        let bytes = entry
            .file_type()
            .is_file()
            .then(|| std::fs::read(entry.path()).unwrap());
        out.push((rel, bytes));
    }
    out
}

/// A stderr that shows a panic means the runner crashed instead of reporting.
pub(crate) fn assert_no_panic(out: &std::process::Output) {
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        !stderr.contains("panicked") && out.status.code() != Some(101),
        "{stderr}"
    );
}

//! `cargo run -p runner-demo [-- MANIFEST...]`: runs the example jobs (default: every
//! `jobs/*.yaml`) end to end against the bundled fake Anthropic API, with no API key and no
//! network. Output goes to `out/demo/`, the state dir to `target/demo-state/`.
//!
//! The fake's scripted "model" cannot analyse anything: it inventories the files in its
//! container and returns a CSV and a small PNG, so the output tree shows every part of a
//! real run (reports, images, transcripts, provenance) without a real model.

use std::ffi::OsString;
use std::process::ExitCode;

use fake_anthropic::FakeServer;
use runner::Env;

#[expect(clippy::print_stderr, reason = "a demo reports to its user")]
fn main() -> ExitCode {
    let mut manifests: Vec<String> = std::env::args().skip(1).collect();
    if manifests.is_empty() {
        manifests = example_manifests();
    }
    let fake = FakeServer::start();
    eprintln!("fake Anthropic API listening on {}", fake.base_url());
    let args = [
        "runner",
        "run",
        "--out",
        "out/demo",
        "--state-dir",
        "target/demo-state",
    ]
    .into_iter()
    .map(str::to_owned)
    .chain(manifests)
    .map(OsString::from);
    let base_url = fake.base_url();
    let env = Env::from_process().with(&[
        ("ANTHROPIC_BASE_URL", base_url.as_str()),
        ("ANTHROPIC_API_KEY", "demo-key"),
    ]);
    let code = runner::run(args, &env);
    let index = std::env::current_dir()
        .map(|d| d.join("out/demo/index.html"))
        .unwrap_or_else(|_| "out/demo/index.html".into());
    eprintln!("the morning page: file://{}", index.display());
    code
}

fn example_manifests() -> Vec<String> {
    let mut found: Vec<String> = fs_err::read_dir("jobs")
        .map(|dir| {
            dir.filter_map(Result::ok)
                .map(|e| format!("jobs/{}", e.file_name().to_string_lossy()))
                .filter(|n| n.ends_with(".yaml"))
                .collect()
        })
        .unwrap_or_default();
    found.sort();
    found
}

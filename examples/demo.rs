//! `cargo run --example demo [-- MANIFEST...]`: runs the example jobs (default: every
//! `jobs/*.yaml`) end to end against the bundled fake Anthropic API, with no API key and no
//! network. Output goes to `out/demo/`, the state dir to `target/demo-state/`.
//!
//! The fake's scripted "model" cannot analyse anything: it inventories the files in its
//! container and returns a CSV and a small PNG, so the output tree shows every part of a
//! real run (reports, images, transcripts, provenance) without a real model.

use std::process::ExitCode;
use std::sync::Arc;

use clap::Parser;
use fake_anthropic::FakeServer;
use runner::api::ApiKey;
use runner::cli::{Cli, Command};
use runner::events::{LogReporter, Reporter};
use runner::pipeline::{self, ApiConfig};
use runner::progress::Progress;

#[expect(clippy::print_stderr, reason = "a demo reports to its user")]
fn main() -> ExitCode {
    runner::logging::init(0, false);
    let mut manifests: Vec<String> = std::env::args().skip(1).collect();
    if manifests.is_empty() {
        manifests = example_manifests();
    }
    let fake = FakeServer::start();
    eprintln!("fake Anthropic API listening on {}", fake.base_url());
    let argv = [
        "runner",
        "run",
        "--out",
        "out/demo",
        "--state-dir",
        "target/demo-state",
    ]
    .into_iter()
    .map(str::to_owned)
    .chain(manifests);
    let Command::Run(args) = Cli::parse_from(argv).command else {
        return ExitCode::FAILURE;
    };
    let api = ApiConfig {
        base_url: fake.base_url(),
        key: Some(ApiKey::new("demo-key".to_owned())),
    };
    let reporter: Arc<dyn Reporter> = if std::io::IsTerminal::is_terminal(&std::io::stderr()) {
        Arc::new(Progress::new())
    } else {
        Arc::new(LogReporter)
    };
    let Ok(runtime) = tokio::runtime::Runtime::new() else {
        eprintln!("cannot start the async runtime");
        return ExitCode::FAILURE;
    };
    let result = runtime.block_on(pipeline::run(&args, &api, reporter, Default::default()));
    match result {
        Ok((summary, code)) => {
            let c = &summary.counts;
            eprintln!(
                "{} jobs: {} succeeded, {} failed, {} fresh; {} uploads, {} reused. Open out/demo/*/*/report.md",
                c.total,
                c.succeeded,
                c.failed,
                c.fresh,
                summary.uploads.uploaded,
                summary.uploads.reused
            );
            ExitCode::from(code)
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(e.exit_code())
        }
    }
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

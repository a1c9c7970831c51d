//! `cargo run -p runner-demo [-- MANIFEST...]`: runs the example jobs end to end against
//! the bundled fake Anthropic API, with no API key and no network. Output goes to
//! `out/demo/`, the state dir to `target/demo-state/`.
//!
//! Without arguments it runs two nights of every `jobs/*.yaml`, from a copy of `jobs/` in
//! `target/demo-jobs/`: the second after cutting one nightly export
//! (`nightly/seattle-2015.csv`) to its first half, as an upstream export that stopped half
//! way would. Only the jobs reading it run again; the page then shows their alerts and
//! trends, and `runner diff` what changed.
//!
//! The fake's scripted "model" cannot analyse anything: it inventories the files in its
//! container and returns a CSV and a small PNG, so the output tree shows every part of a
//! real run (reports, images, transcripts, provenance) without a real model.

use std::ffi::OsString;
use std::process::ExitCode;

use fake_anthropic::FakeServer;
use runner::Env;

/// The export the second night cuts short (jobs/nightly/README.md).
const CUT_EXPORT: &str = "nightly/seattle-2015.csv";

#[expect(clippy::print_stderr, reason = "a demo reports to its user")]
fn main() -> ExitCode {
    let given: Vec<String> = std::env::args().skip(1).collect();
    let fake = FakeServer::start();
    eprintln!("fake Anthropic API listening on {}", fake.base_url());
    let code = if given.is_empty() {
        two_nights(&fake)
    } else {
        runner_cmd(&fake, "run", given)
    };
    let index = std::env::current_dir()
        .map(|d| d.join("out/demo/index.html"))
        .unwrap_or_else(|_| "out/demo/index.html".into());
    eprintln!("the morning page: file://{}", index.display());
    code
}

/// Night 1 from a fresh copy of `jobs/`, night 2 with one export cut short, then the diff.
#[expect(clippy::print_stderr, reason = "a demo reports to its user")]
fn two_nights(fake: &FakeServer) -> ExitCode {
    let jobs = std::path::Path::new("target/demo-jobs");
    let copied = fs_err::remove_dir_all(jobs)
        .or_else(|e| match e.kind() {
            std::io::ErrorKind::NotFound => Ok(()),
            _ => Err(e),
        })
        .and_then(|()| copy_dir(std::path::Path::new("jobs"), jobs));
    if let Err(e) = copied {
        eprintln!("cannot copy jobs/ to {}: {e}", jobs.display());
        return ExitCode::from(2);
    }
    eprintln!("night 1");
    let first = runner_cmd(fake, "run", example_manifests(jobs));
    if first != ExitCode::SUCCESS {
        return first;
    }
    let export = jobs.join(CUT_EXPORT);
    let text = fs_err::read_to_string(&export).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    let half = lines[..lines.len().div_ceil(2)].join("\n") + "\n";
    if let Err(e) = fs_err::write(&export, half) {
        eprintln!("cannot cut {}: {e}", export.display());
        return ExitCode::from(2);
    }
    eprintln!("night 2: {CUT_EXPORT} cut to its first half");
    let second = runner_cmd(fake, "run", example_manifests(jobs));
    eprintln!("what changed since night 1 (`runner diff -o out/demo`):");
    let _ = runner_cmd(fake, "diff", Vec::new());
    second
}

/// `runner COMMAND --out out/demo [--state-dir …] ARGS…` against the fake.
fn runner_cmd(fake: &FakeServer, command: &str, rest: Vec<String>) -> ExitCode {
    let mut args = vec![
        "runner".to_owned(),
        command.to_owned(),
        "--out".into(),
        "out/demo".into(),
    ];
    if command == "run" {
        args.extend(["--state-dir".to_owned(), "target/demo-state".to_owned()]);
    }
    args.extend(rest);
    let base_url = fake.base_url();
    let env = Env::from_process().with(&[
        ("ANTHROPIC_BASE_URL", base_url.as_str()),
        ("ANTHROPIC_API_KEY", "demo-key"),
    ]);
    runner::run(args.into_iter().map(OsString::from), &env)
}

fn copy_dir(from: &std::path::Path, to: &std::path::Path) -> std::io::Result<()> {
    fs_err::create_dir_all(to)?;
    for entry in fs_err::read_dir(from)? {
        let entry = entry?;
        let target = to.join(entry.file_name());
        if entry.file_type()?.is_dir() {
            copy_dir(&entry.path(), &target)?;
        } else {
            fs_err::copy(entry.path(), target)?;
        }
    }
    Ok(())
}

fn example_manifests(dir: &std::path::Path) -> Vec<String> {
    let mut found: Vec<String> = fs_err::read_dir(dir)
        .map(|entries| {
            entries
                .filter_map(Result::ok)
                .map(|e| dir.join(e.file_name()).to_string_lossy().into_owned())
                .filter(|n| n.ends_with(".yaml"))
                .collect()
        })
        .unwrap_or_default();
    found.sort();
    found
}

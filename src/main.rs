//! Entry point: parse arguments, set up logging and the runtime, run the command, print
//! the error chain, and return the exit code. Nothing else.

use std::io::Write;
use std::process::ExitCode;

use std::sync::Arc;

use clap::Parser;
use runner::cli::{Cli, Command};
use runner::error::{Error, exit};
use runner::events::{LogReporter, Reporter, Silent};
use runner::outcome::{JobStatus, RunSummary};
use runner::progress::Progress;
use runner::shutdown::Shutdown;
use runner::{logging, pipeline};

fn main() -> ExitCode {
    let cli = Cli::parse();
    logging::init(cli.verbose, cli.quiet);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            report(&Error::Setup(format!(
                "cannot start the async runtime: {e}"
            )));
            return ExitCode::from(exit::SETUP);
        }
    };
    let result = runtime.block_on(async {
        match &cli.command {
            Command::Validate { manifests } => pipeline::validate(manifests).map(|(jobs, code)| {
                let inputs: std::collections::BTreeSet<_> = jobs
                    .iter()
                    .flat_map(|j| j.inputs.iter().map(|f| &f.abs))
                    .collect();
                if !cli.quiet {
                    note(&format!(
                        "ok: {} manifest{}, {} job{}, {} input file{}",
                        manifests.len(),
                        plural(manifests.len()),
                        jobs.len(),
                        plural(jobs.len()),
                        inputs.len(),
                        plural(inputs.len())
                    ));
                }
                code
            }),
            Command::Plan(args) => pipeline::plan(args, &pipeline::ApiConfig::from_env())
                .await
                .map(|(text, code)| {
                    print_stdout(&text);
                    code
                }),
            Command::Run(args) => {
                let shutdown = Shutdown::install();
                let reporter = reporter(&cli);
                let api = pipeline::ApiConfig::from_env();
                let run = pipeline::run(args, &api, Arc::clone(&reporter), shutdown.token.clone());
                tokio::select! {
                    result = run => result.map(|(summary, code)| {
                        drop(reporter);
                        finish_run(&summary, &args.out, args.json, cli.quiet);
                        code
                    }),
                    () = shutdown.second_signal() => {
                        note("interrupted again: stopping now (finished jobs are kept)");
                        Ok(exit::INTERRUPTED)
                    }
                }
            }
        }
    });
    // Do not wait for abandoned requests or blocking reads after a second Ctrl-C.
    runtime.shutdown_background();
    match result {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            report(&e);
            ExitCode::from(e.exit_code())
        }
    }
}

/// Bars only on a terminal and only without -q/-v (logs and bars do not mix).
fn reporter(cli: &Cli) -> Arc<dyn Reporter> {
    use std::io::IsTerminal;
    if cli.quiet {
        Arc::new(Silent)
    } else if cli.verbose == 0 && std::io::stderr().is_terminal() {
        Arc::new(Progress::new())
    } else {
        Arc::new(LogReporter)
    }
}

/// The closing summary on stderr, and the JSON summary on stdout with --json.
fn finish_run(summary: &RunSummary, out: &camino::Utf8Path, json: bool, quiet: bool) {
    if json && let Ok(text) = serde_json::to_string_pretty(summary) {
        print_stdout(&format!("{text}\n"));
    }
    if quiet {
        return;
    }
    for job in &summary.jobs {
        if let (JobStatus::Failed, Some(e)) = (&job.status, &job.error) {
            note(&format!(
                "failed: {} ({:?}): {}",
                job.dir, e.kind, e.message
            ));
        }
    }
    let c = &summary.counts;
    let u = &summary.uploads;
    note(&format!(
        "{} job{}: {} succeeded, {} failed, {} fresh{}; uploads: {} new ({}), {} reused; tokens in/out: {}/{}; summary in {}",
        c.total,
        plural(c.total),
        c.succeeded,
        c.failed,
        c.fresh,
        if c.interrupted > 0 {
            format!(", {} interrupted", c.interrupted)
        } else {
            String::new()
        },
        u.uploaded,
        runner::plan_text::bytes(u.bytes_uploaded),
        u.reused,
        summary.usage.input_tokens,
        summary.usage.output_tokens,
        out.join("run.json"),
    ));
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}

#[expect(clippy::print_stderr, reason = "main prints the final error")]
fn report(e: &Error) {
    if let Error::Invalid {
        diagnostics,
        sources,
    } = e
    {
        for d in diagnostics {
            eprintln!("{}", d.render(sources.get(&d.file).map(String::as_str)));
        }
    }
    eprintln!("error: {e}");
    let mut source = std::error::Error::source(e);
    while let Some(cause) = source {
        eprintln!("  caused by: {cause}");
        source = cause.source();
    }
}

#[expect(
    clippy::print_stderr,
    reason = "main prints the command's closing note"
)]
fn note(msg: &str) {
    eprintln!("{msg}");
}

fn print_stdout(text: &str) {
    // A closed pipe (`runner plan | head`) is not an error worth a panic.
    let _ = std::io::stdout().lock().write_all(text.as_bytes());
}

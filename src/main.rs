//! Entry point: parse arguments, set up logging and the runtime, run the command, print
//! the error chain, and return the exit code. Nothing else.

use std::io::Write;
use std::process::ExitCode;

use clap::Parser;
use runner::cli::{Cli, Command};
use runner::error::{Error, exit};
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
            Command::Plan(args) => pipeline::plan(args).await.map(|(text, code)| {
                print_stdout(&text);
                code
            }),
            Command::Run(_) => Err(Error::Setup("`runner run` is not implemented yet".into())),
        }
    });
    match result {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            report(&e);
            ExitCode::from(e.exit_code())
        }
    }
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

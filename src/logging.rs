//! tracing-subscriber setup: logs go to stderr, filtered by `-v` or `RUST_LOG`.

use tracing_subscriber::EnvFilter;

/// `-q` → errors only; default → warnings; `-v` → info; `-vv` → debug; `-vvv` → trace.
/// `RUST_LOG`, when set, wins.
pub fn init(verbose: u8, quiet: bool) {
    let level = match (quiet, verbose) {
        (true, _) => "error",
        (false, 0) => "warn",
        (false, 1) => "info",
        (false, 2) => "debug",
        (false, _) => "trace",
    };
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| {
        // Our crate at the chosen level; noisy HTTP internals one step quieter.
        EnvFilter::new(format!(
            "{level},hyper=warn,reqwest=warn,h2=warn,rustls=warn"
        ))
    });
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        // No colour codes in cron mail or CI logs.
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_target(false)
        .try_init();
}

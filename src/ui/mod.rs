//! What people see: events as data ([`events`]), the terminal display (the only indicatif
//! code, [`progress`]), log lines ([`log`], [`logging`]) and the closing summary
//! ([`summary`]). An edge: it imports no stage; stages report to it through
//! [`events::Reporter`].

pub(crate) mod events;
pub(crate) mod log;
pub(crate) mod logging;
pub(crate) mod progress;
pub(crate) mod summary;

use std::io::Write;
use std::sync::Arc;

use events::{Reporter, Silent};

/// How to show things, decided once by the configuration.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Display {
    pub quiet: bool,
    pub verbose: u8,
    /// Progress bars (stderr is a terminal, neither `-q` nor `-v`), where the terminal
    /// can draw them (not `TERM=dumb`); log lines otherwise.
    pub bars: bool,
    /// ANSI colour in logs and bars (a terminal, and `NO_COLOR` unset).
    pub color: bool,
}

impl Display {
    /// Whether the live display prints each failed job as it happens (so the closing
    /// summary need not repeat it).
    pub(crate) fn shows_failures_live(&self) -> bool {
        !self.quiet
    }
}

/// The reporter for this display: bars, log lines, or nothing.
pub(crate) fn reporter(display: &Display) -> Arc<dyn Reporter> {
    if display.quiet {
        Arc::new(Silent)
    } else if let Some(bars) = display
        .bars
        .then(|| progress::Progress::try_new(display.color))
        .flatten()
    {
        Arc::new(bars)
    } else {
        Arc::new(log::LogReporter)
    }
}

/// Set once by `--log-format json`: every line on stderr is then one JSON object.
static JSON_LINES: std::sync::OnceLock<bool> = std::sync::OnceLock::new();

/// A line on stderr. A closed stderr is not worth a panic (`runner … 2>&1 | head -1`).
/// With `--log-format json`, the line is a JSON object like the log lines' (`timestamp`,
/// `level`, `message`).
pub(crate) fn note(line: &str) {
    if JSON_LINES.get().copied().unwrap_or(false) {
        let level = if line.starts_with("error:") {
            "ERROR"
        } else {
            "INFO"
        };
        let object = serde_json::json!({
            "timestamp": jiff::Timestamp::now().to_string(),
            "level": level,
            "message": line,
        });
        let mut err = std::io::stderr().lock();
        let _ = writeln!(err, "{object}");
        return;
    }
    progress::suspend(|| {
        let mut err = std::io::stderr().lock();
        let _ = writeln!(err, "{line}");
    });
}

/// What a command was asked to print, on stdout. A closed pipe (`runner plan | head`)
/// is not an error worth a panic.
pub(crate) fn stdout(text: &str) {
    let _ = std::io::stdout().lock().write_all(text.as_bytes());
}

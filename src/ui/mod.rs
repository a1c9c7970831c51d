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

/// A line for stderr: its text, its level, and the fields `--log-format json` gives it
/// beside `message` (docs/unattended.md "Logs for a log shipper").
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Note {
    pub level: tracing::Level,
    pub text: String,
    pub fields: serde_json::Map<String, serde_json::Value>,
}

impl Note {
    pub(crate) fn new(level: tracing::Level, text: impl Into<String>) -> Note {
        Note {
            level,
            text: text.into(),
            fields: serde_json::Map::new(),
        }
    }

    /// With one more field; a `null` one (an unknown request id) is left out, as the log
    /// lines leave out an absent field.
    pub(crate) fn with(mut self, key: &str, value: impl Into<serde_json::Value>) -> Note {
        let value = value.into();
        if !value.is_null() {
            self.fields.insert(key.to_owned(), value);
        }
        self
    }
}

/// A line on stderr, at ERROR when it starts `error:`, WARN when `warning:`, else INFO.
pub(crate) fn note(line: &str) {
    let level = if line.starts_with("error:") {
        tracing::Level::ERROR
    } else if line.starts_with("warning:") {
        tracing::Level::WARN
    } else {
        tracing::Level::INFO
    };
    emit(&Note::new(level, line));
}

/// A line on stderr. A closed stderr is not worth a panic (`runner … 2>&1 | head -1`).
/// With `--log-format json`, the line is a JSON object like the log lines' (`timestamp`,
/// `level`, `message`, then its fields).
pub(crate) fn emit(note: &Note) {
    if JSON_LINES.get().copied().unwrap_or(false) {
        let mut object = serde_json::Map::new();
        object.insert(
            "timestamp".into(),
            jiff::Timestamp::now().to_string().into(),
        );
        object.insert("level".into(), note.level.as_str().into());
        object.insert("message".into(), note.text.clone().into());
        for (key, value) in &note.fields {
            object.entry(key.clone()).or_insert_with(|| value.clone());
        }
        let mut err = std::io::stderr().lock();
        let _ = writeln!(err, "{}", serde_json::Value::Object(object));
        return;
    }
    progress::suspend(|| {
        let mut err = std::io::stderr().lock();
        let _ = writeln!(err, "{}", note.text);
    });
}

/// What a command was asked to print, on stdout. A closed pipe (`runner plan | head`)
/// is not an error worth a panic.
pub(crate) fn stdout(text: &str) {
    let _ = std::io::stdout().lock().write_all(text.as_bytes());
}

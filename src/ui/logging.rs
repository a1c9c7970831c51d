//! tracing-subscriber setup: log lines go to stderr, filtered by `-v` or `RUST_LOG`, in
//! colour only when the configuration says so (a terminal, and `NO_COLOR` unset), and
//! through the progress bars when they are drawn, so a line never tears them.

use std::io::Write;

use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt::MakeWriter;

use super::Display;
use super::progress;

/// `-q` → errors only; default → warnings; `-v` → info; `-vv` → debug; `-vvv` → trace.
/// `rust_log` (the `RUST_LOG` variable), when set, wins.
/// `json`: each line is one JSON object (`timestamp`, `level`, `fields.message`, the
/// event's other fields such as `job`, and the spans'), for log shippers.
pub(crate) fn init(display: &Display, rust_log: Option<&str>, json: bool) {
    let level = match (display.quiet, display.verbose) {
        (true, _) => "error",
        (false, 0) => "warn",
        (false, 1) => "info",
        (false, 2) => "debug",
        (false, _) => "trace",
    };
    let filter = rust_log
        .and_then(|spec| EnvFilter::try_new(spec).ok())
        .unwrap_or_else(|| {
            // Our crate at the chosen level; noisy HTTP internals one step quieter.
            EnvFilter::new(format!(
                "{level},hyper=warn,reqwest=warn,h2=warn,rustls=warn"
            ))
        });
    if json {
        let _ = super::JSON_LINES.set(true);
        let _ = tracing_subscriber::fmt()
            .json()
            .flatten_event(true)
            .with_env_filter(filter)
            .with_writer(Stderr)
            .with_ansi(false)
            .with_target(false)
            .try_init();
        return;
    }
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(Stderr)
        .with_ansi(display.color)
        .with_target(false)
        .try_init();
}

/// Makes one [`Line`] per log event.
struct Stderr;

impl<'a> MakeWriter<'a> for Stderr {
    type Writer = Line;

    fn make_writer(&'a self) -> Line {
        Line(Vec::with_capacity(256))
    }
}

/// Collects one log event and writes it whole when dropped: with the bars suspended when
/// they are drawn, and never panicking on a closed stderr (`runner … 2>&1 | head -1`).
struct Line(Vec<u8>);

impl Write for Line {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Drop for Line {
    fn drop(&mut self) {
        if self.0.is_empty() {
            return;
        }
        progress::suspend(|| {
            let _ = std::io::stderr().lock().write_all(&self.0);
        });
    }
}

//! The only file that knows indicatif: an overall jobs bar, an upload-bytes bar while
//! uploads run, and one spinner line per running job showing its step. Used only when
//! stderr is a terminal and neither `-q` nor `-v` is given.
//!
//! Log lines (a retry warning) may still arrive while bars are drawn: [`suspend`] lets the
//! log writer clear the bars, write its line, and redraw them, so the screen never tears.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressState, ProgressStyle};

use super::events::{Event, Failure, Reporter, Step};
use crate::status::JobStatus;
use crate::units;

/// The bars on screen, if any, for [`suspend`].
static ACTIVE: Mutex<Option<MultiProgress>> = Mutex::new(None);

/// Runs `write` with the bars cleared (and redraws them after), or directly when no bars
/// are drawn.
pub(crate) fn suspend<R>(write: impl FnOnce() -> R) -> R {
    let active = ACTIVE
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .clone();
    match active {
        Some(multi) => multi.suspend(write),
        None => write(),
    }
}

/// What the jobs bar says after its counts; read at every redraw, so a backoff notice
/// disappears by itself when the wait is over.
#[derive(Default)]
struct Note {
    fresh: usize,
    backoff: Option<(Instant, &'static str, Duration)>,
    interrupted: bool,
    /// The run's spend so far, in millionths of a USD, once a request was priced.
    spent: Option<u64>,
    /// What requests in flight have reserved against `--budget-usd`, in millionths.
    reserved: u64,
}

impl Note {
    fn text(&self, now: Instant) -> String {
        let state = self.state(now);
        match self.spent.map(|m| self.money(m)) {
            Some(money) if state.is_empty() => money,
            Some(money) => format!("{money} · {state}"),
            None => state,
        }
    }

    /// `$0.1234`, and `(+$0.0800 reserved)` while requests in flight hold some budget.
    fn money(&self, spent: u64) -> String {
        #[expect(clippy::cast_precision_loss, reason = "display only")]
        let usd = |m: u64| units::usd(m as f64 / 1e6);
        if self.reserved == 0 {
            usd(spent)
        } else {
            format!("{} (+{} reserved)", usd(spent), usd(self.reserved))
        }
    }

    fn state(&self, now: Instant) -> String {
        if self.interrupted {
            return "interrupted: finishing writes".to_owned();
        }
        if let Some((until, endpoint, wait)) = self.backoff
            && until > now
        {
            return format!("backing off {endpoint} for {}", units::seconds(wait));
        }
        if self.fresh > 0 {
            return format!("({} fresh)", self.fresh);
        }
        String::new()
    }
}

pub(crate) struct Progress {
    multi: MultiProgress,
    jobs: ProgressBar,
    uploads: ProgressBar,
    running: Mutex<BTreeMap<String, ProgressBar>>,
    note: Arc<Mutex<Note>>,
    color: bool,
}

impl Progress {
    /// The bars, or `None` where indicatif would draw nothing although stderr is a
    /// terminal (`TERM` unset or `dumb`, e.g. an Emacs shell): the caller then reports with
    /// log lines, so a failed job is still shown as it happens.
    pub(crate) fn try_new(color: bool) -> Option<Progress> {
        let target = ProgressDrawTarget::stderr_with_hz(10);
        (!target.is_hidden()).then(|| Progress::with_target(target, color))
    }

    fn with_target(target: ProgressDrawTarget, color: bool) -> Progress {
        let multi = MultiProgress::with_draw_target(target);
        let note = Arc::new(Mutex::new(Note::default()));
        // Neither bar is on screen until the run knows its totals: a bar created with
        // `ProgressBar::new` draws itself on stderr at once (an empty `0/0` or `0 B/0 B`
        // bar while inputs are hashed), so both start hidden and are added to `multi`.
        let jobs = ProgressBar::hidden();
        let shared = Arc::clone(&note);
        jobs.set_style(
            style(color, "{prefix:>9.bold} [{bar:30}] {pos}/{len} {note}").with_key(
                "note",
                move |_: &ProgressState, w: &mut dyn std::fmt::Write| {
                    let text = shared
                        .lock()
                        .unwrap_or_else(PoisonError::into_inner)
                        .text(Instant::now());
                    let _ = w.write_str(&text);
                },
            ),
        );
        jobs.set_prefix("jobs");
        // Not added to the screen until there is something to upload.
        let uploads = ProgressBar::hidden();
        uploads.set_style(style(
            color,
            "{prefix:>9.bold} [{bar:30}] {bytes}/{total_bytes} {msg}",
        ));
        uploads.set_prefix("uploads");
        *ACTIVE.lock().unwrap_or_else(PoisonError::into_inner) = Some(multi.clone());
        Progress {
            multi,
            jobs,
            uploads,
            running: Mutex::new(BTreeMap::new()),
            note,
            color,
        }
    }

    fn note(&self) -> std::sync::MutexGuard<'_, Note> {
        self.note.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn job_line(&self, id: &str) -> ProgressBar {
        let mut running = self.running.lock().unwrap_or_else(PoisonError::into_inner);
        running
            .entry(id.to_owned())
            .or_insert_with(|| {
                let bar = self.multi.add(ProgressBar::new_spinner());
                bar.set_style(style(self.color, "{spinner} {prefix} {msg}"));
                bar.set_prefix(id.to_owned());
                bar.enable_steady_tick(Duration::from_millis(120));
                bar
            })
            .clone()
    }

    /// Prints a line above the bars.
    fn println(&self, line: &str) {
        let _ = self.multi.println(line);
    }
}

/// Bold prefixes only where colour is wanted (`NO_COLOR`, not a terminal: plain).
fn style(color: bool, template: &str) -> ProgressStyle {
    let template = if color {
        template.to_owned()
    } else {
        template.replace(".bold}", "}")
    };
    ProgressStyle::with_template(&template)
        .unwrap_or_else(|_| ProgressStyle::default_bar())
        .progress_chars("=> ")
}

fn step_text(step: Step) -> String {
    match step {
        Step::Turn {
            turn,
            of,
            continuation: 0,
        } => format!("turn {turn}/{of}"),
        Step::Turn {
            turn,
            of,
            continuation,
        } => format!("turn {turn}/{of}, continuation {continuation}"),
        Step::Downloading { files } => format!("downloading {}", units::count(files, "file")),
    }
}

impl Reporter for Progress {
    fn report(&self, event: Event) {
        match event {
            Event::RunStarted {
                jobs,
                fresh,
                upload_bytes,
                uploads,
            } => self.run_started(jobs, fresh, uploads, upload_bytes),
            Event::UploadStarted { name, .. } => self.uploads.set_message(name),
            Event::UploadProgress { bytes } => self.uploads.inc(bytes),
            Event::UploadFinished { size, reused, .. } => self.upload_finished(size, reused),
            // Only running jobs get a line: hundreds of queued jobs would flood the screen.
            Event::JobWaiting { .. } => {}
            Event::JobStep { id, step } => self.job_line(&id).set_message(step_text(step)),
            Event::JobFinished {
                id,
                status,
                failure,
            } => self.job_finished(&id, status, failure.as_ref()),
            Event::Backoff { endpoint, wait } => {
                self.note().backoff = Some((Instant::now() + wait, endpoint, wait));
                self.jobs.tick();
            }
            Event::Interrupted => {
                self.note().interrupted = true;
                self.jobs.tick();
            }
            Event::BatchProgress { batch_id, counts } => {
                let key = format!("batch {batch_id}");
                if counts.processing == 0 {
                    self.remove_line(&key);
                } else {
                    self.job_line(&key).set_message(counts.to_string());
                }
            }
            Event::Spent {
                micro_usd,
                reserved_micro_usd,
            } => {
                let mut note = self.note();
                note.spent = Some(note.spent.unwrap_or(0).max(micro_usd));
                note.reserved = reserved_micro_usd;
            }
        }
    }
}

impl Progress {
    fn run_started(&self, jobs: usize, fresh: usize, uploads: usize, upload_bytes: u64) {
        self.jobs.set_length(jobs as u64);
        self.jobs.set_position(0);
        self.note().fresh = fresh;
        self.multi.add(self.jobs.clone());
        // Redraws now and then, so a backoff notice clears when its wait is over.
        self.jobs.enable_steady_tick(Duration::from_millis(200));
        if uploads > 0 {
            self.uploads.set_length(upload_bytes);
            self.multi.insert_after(&self.jobs, self.uploads.clone());
        }
    }

    fn upload_finished(&self, size: u64, reused: bool) {
        // New uploads advanced the bar chunk by chunk; reused ones count at once.
        if reused {
            self.uploads.inc(size);
        }
        if self.uploads.position() >= self.uploads.length().unwrap_or(0) {
            self.uploads.finish_and_clear();
            self.multi.remove(&self.uploads);
        }
    }

    /// The job's line goes; its result is printed above the bars.
    fn job_finished(&self, id: &str, status: JobStatus, failure: Option<&Failure>) {
        self.jobs.inc(1);
        self.remove_line(id);
        let line = match (status, failure) {
            (JobStatus::Failed, Some(f)) => {
                format!("   failed {id} ({}): {}", f.kind, f.message)
            }
            (JobStatus::Failed, None) => format!("   failed {id}"),
            (JobStatus::Succeeded, _) => format!("       ok {id}"),
            (JobStatus::Interrupted, _) => format!("  stopped {id}"),
            (JobStatus::NotStarted, _) => format!("  not run {id}"),
            (JobStatus::Fresh, _) => return,
        };
        self.println(&line);
    }

    /// A running job's or batch's line, gone from the screen.
    fn remove_line(&self, key: &str) {
        let bar = self
            .running
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(key);
        if let Some(bar) = bar {
            bar.finish_and_clear();
            self.multi.remove(&bar);
        }
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        *ACTIVE.lock().unwrap_or_else(PoisonError::into_inner) = None;
        for bar in self
            .running
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .values()
        {
            bar.finish_and_clear();
        }
        self.uploads.finish_and_clear();
        self.jobs.finish_and_clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_note_expires_by_itself() {
        let now = Instant::now();
        let note = Note {
            fresh: 2,
            backoff: Some((
                now + Duration::from_millis(300),
                "messages",
                Duration::from_millis(300),
            )),
            interrupted: false,
            spent: None,
            reserved: 0,
        };
        assert_eq!(note.text(now), "backing off messages for 0.3s");
        assert_eq!(note.text(now + Duration::from_millis(301)), "(2 fresh)");
        let paid = Note {
            spent: Some(1_234_500),
            ..note
        };
        assert_eq!(
            paid.text(now + Duration::from_millis(301)),
            "$1.2345 · (2 fresh)"
        );
        let holding = Note {
            reserved: 80_000,
            ..paid
        };
        assert_eq!(
            holding.text(now + Duration::from_millis(301)),
            "$1.2345 (+$0.0800 reserved) · (2 fresh)"
        );
    }

    #[test]
    fn steps_read_as_before() {
        let turn = |turn, continuation| Step::Turn {
            turn,
            of: 2,
            continuation,
        };
        assert_eq!(step_text(turn(1, 0)), "turn 1/2");
        assert_eq!(step_text(turn(2, 3)), "turn 2/2, continuation 3");
        assert_eq!(
            step_text(Step::Downloading { files: 1 }),
            "downloading 1 file"
        );
    }
}

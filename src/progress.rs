//! The only file that knows indicatif: an overall jobs bar, an upload-bytes bar while
//! uploads run, and one spinner line per running job showing its step. Used only when
//! stderr is a terminal and neither `-q` nor `-v` is given, so bars never mix with logs or
//! land in a cron mail.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::Duration;

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::events::{Event, Reporter};
use crate::outcome::JobStatus;

pub struct Progress {
    multi: MultiProgress,
    jobs: ProgressBar,
    uploads: ProgressBar,
    running: Mutex<BTreeMap<String, ProgressBar>>,
    /// Until when the jobs bar shows a backoff notice.
    backoff_until: Mutex<Option<std::time::Instant>>,
    fresh_note: Mutex<String>,
}

impl Progress {
    pub fn new() -> Progress {
        let multi = MultiProgress::with_draw_target(ProgressDrawTarget::stderr_with_hz(10));
        let jobs = multi.add(ProgressBar::new(0));
        jobs.set_style(style("{prefix:>9.bold} [{bar:30}] {pos}/{len} {msg}"));
        jobs.set_prefix("jobs");
        let uploads = multi.add(ProgressBar::hidden());
        uploads.set_style(style(
            "{prefix:>9.bold} [{bar:30}] {bytes}/{total_bytes} {msg}",
        ));
        uploads.set_prefix("uploads");
        Progress {
            multi,
            jobs,
            uploads,
            running: Mutex::new(BTreeMap::new()),
            backoff_until: Mutex::new(None),
            fresh_note: Mutex::new(String::new()),
        }
    }

    fn job_line(&self, id: &str) -> ProgressBar {
        let mut running = self
            .running
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        running
            .entry(id.to_owned())
            .or_insert_with(|| {
                let bar = self.multi.add(ProgressBar::new_spinner());
                bar.set_style(style("{spinner} {prefix} {msg}"));
                bar.set_prefix(id.to_owned());
                bar.enable_steady_tick(Duration::from_millis(120));
                bar
            })
            .clone()
    }

    /// Puts the jobs bar's note back once a backoff is over.
    fn clear_stale_backoff(&self) {
        let mut until = self
            .backoff_until
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if until.is_some_and(|t| t <= std::time::Instant::now()) {
            *until = None;
            let note = self
                .fresh_note
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .clone();
            self.jobs.set_message(note);
        }
    }

    /// Prints a line above the bars.
    pub fn println(&self, line: &str) {
        let _ = self.multi.println(line);
    }
}

impl Default for Progress {
    fn default() -> Self {
        Progress::new()
    }
}

fn style(template: &str) -> ProgressStyle {
    ProgressStyle::with_template(template)
        .unwrap_or_else(|_| ProgressStyle::default_bar())
        .progress_chars("=> ")
}

impl Reporter for Progress {
    fn report(&self, event: Event) {
        match event {
            Event::RunStarted {
                jobs,
                fresh,
                upload_bytes,
                uploads,
            } => {
                self.jobs.set_length(jobs as u64);
                self.jobs.set_position(0);
                if fresh > 0 {
                    let note = format!("({fresh} fresh)");
                    self.jobs.set_message(note.clone());
                    *self
                        .fresh_note
                        .lock()
                        .unwrap_or_else(std::sync::PoisonError::into_inner) = note;
                }
                if uploads > 0 {
                    self.uploads.set_length(upload_bytes);
                    self.multi.insert_after(&self.jobs, self.uploads.clone());
                }
            }
            Event::UploadStarted { name, .. } => self.uploads.set_message(name),
            Event::UploadProgress { bytes } => self.uploads.inc(bytes),
            Event::UploadFinished { size, reused, .. } => {
                // New uploads advanced the bar chunk by chunk; reused ones count at once.
                if reused {
                    self.uploads.inc(size);
                }
                if self.uploads.position() >= self.uploads.length().unwrap_or(0) {
                    self.uploads.finish_and_clear();
                }
            }
            // Only running jobs get a line: hundreds of queued jobs would flood the screen.
            Event::JobWaiting { .. } => {}
            Event::JobState { id, state } => {
                self.clear_stale_backoff();
                self.job_line(&id).set_message(state);
            }
            Event::JobFinished { id, status, detail } => {
                self.clear_stale_backoff();
                self.jobs.inc(1);
                let bar = self
                    .running
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner)
                    .remove(&id);
                if let Some(bar) = bar {
                    bar.finish_and_clear();
                    self.multi.remove(&bar);
                }
                let line = match (status, detail) {
                    (JobStatus::Failed, Some(d)) => format!("   failed {id}: {d}"),
                    (JobStatus::Succeeded, _) => format!("       ok {id}"),
                    (JobStatus::Interrupted, _) => format!("  stopped {id}"),
                    _ => return,
                };
                self.println(&line);
            }
            Event::Backoff { endpoint, wait_ms } => {
                self.jobs.set_message(format!(
                    "backing off {endpoint} for {:.1}s",
                    wait_ms as f64 / 1000.0
                ));
            }
            Event::Interrupted => self.jobs.set_message("interrupted: finishing writes"),
        }
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        self.jobs.finish_and_clear();
        self.uploads.finish_and_clear();
    }
}

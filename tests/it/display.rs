//! What people see: `runner run` in a pseudo-terminal of fixed size against the fake API,
//! its bytes replayed into a terminal emulator (vt100) to assert on the screen; stderr as
//! cron sees it (a pipe, a closed pipe, `-q`); and the modes of what it writes.
//!
//! Nothing here sleeps to wait: each wait is on the screen (re-checked whenever the runner
//! writes) or on the fake's counters, with a deadline.

use std::io::Read;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Condvar, Mutex, PoisonError};
use std::time::{Duration, Instant};

use fake_anthropic::{Endpoint, FakeServer, Fault};

use crate::harness::{Sandbox, assert_success, files_under, manifest};

const ROWS: u16 = 40;
/// Wide enough for a retry warning on one row.
const COLS: u16 = 320;
/// Long enough for a loaded machine; a passing test never waits for it.
const DEADLINE: Duration = Duration::from_secs(60);

/// Everything the runner wrote to its terminal so far, and whether it is done.
#[derive(Default)]
struct Output {
    state: Mutex<(Vec<u8>, bool)>,
    changed: Condvar,
}

/// `runner` running in a pseudo-terminal.
struct Term {
    child: Child,
    output: Arc<Output>,
}

impl Term {
    /// Starts `cmd` on a new terminal, of type `xterm-256color` unless `cmd` says otherwise.
    fn spawn(mut cmd: Command) -> Term {
        if !cmd.get_envs().any(|(k, _)| k == "TERM") {
            cmd.env("TERM", "xterm-256color");
        }
        let (pty, pts) = pty_process::blocking::open().unwrap();
        pty.resize(pty_process::Size::new(ROWS, COLS)).unwrap();
        let child = pty_process::blocking::Command::from(cmd)
            .spawn(pts)
            .unwrap();
        let output = Arc::new(Output::default());
        let shared = Arc::clone(&output);
        std::thread::spawn(move || {
            let mut pty = pty;
            let mut buf = [0u8; 8192];
            loop {
                match pty.read(&mut buf) {
                    Ok(n) if n > 0 => {
                        let mut state = shared.state.lock().unwrap_or_else(PoisonError::into_inner);
                        state.0.extend_from_slice(&buf[..n]);
                        drop(state);
                        shared.changed.notify_all();
                    }
                    Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                    // EIO (Linux) or EOF once the runner has exited and closed the terminal.
                    _ => break,
                }
            }
            shared
                .state
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .1 = true;
            shared.changed.notify_all();
        });
        Term { child, output }
    }

    /// Waits until the bytes written so far satisfy `pred`; panics with the screen if they
    /// never do.
    fn wait_for(&self, what: &str, pred: impl Fn(&[u8]) -> bool) -> Vec<u8> {
        self.wait_until(what, |bytes, _| pred(bytes))
    }

    /// Like [`Term::wait_for`]; `pred` also learns whether the terminal is closed.
    fn wait_until(&self, what: &str, pred: impl Fn(&[u8], bool) -> bool) -> Vec<u8> {
        let deadline = Instant::now() + DEADLINE;
        let mut state = self.output.state.lock().unwrap();
        loop {
            if pred(&state.0, state.1) {
                return state.0.clone();
            }
            let now = Instant::now();
            assert!(
                now < deadline && !state.1,
                "never saw {what}; the screen:\n{}",
                screen(&state.0)
            );
            state = self
                .output
                .changed
                .wait_timeout(state, deadline - now)
                .unwrap()
                .0;
        }
    }

    /// Waits until the screen satisfies `pred` and returns it.
    fn wait_for_screen(&self, what: &str, pred: impl Fn(&str) -> bool) -> String {
        screen(&self.wait_for(what, |bytes| pred(&screen(bytes))))
    }

    /// Waits for the runner to exit (its terminal closes) and returns all it wrote.
    fn finish(mut self) -> (ExitStatus, Vec<u8>) {
        let bytes = self.wait_until("the runner to exit", |_, closed| closed);
        let status = self.child.wait().unwrap();
        (status, bytes)
    }
}

impl Drop for Term {
    fn drop(&mut self) {
        // A failed assertion must not leave the runner running.
        if matches!(self.child.try_wait(), Ok(None)) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// What a user sees after these bytes, one line per row, without trailing blanks (bars
/// are padded to the terminal's width).
fn screen(bytes: &[u8]) -> String {
    let size = |n: u16| std::num::NonZeroU16::new(n).unwrap();
    let mut parser = vt100::Parser::new(size(ROWS), size(COLS), 0);
    parser.process(bytes);
    let rows: Vec<String> = parser
        .screen()
        .rows(0, COLS)
        .map(|row| row.trim_end().to_owned())
        .collect();
    rows.join("\n").trim_end().to_owned()
}

/// The bytes as text without escape sequences: everything ever drawn, even if erased since.
fn plain(bytes: &[u8]) -> String {
    let text = String::from_utf8_lossy(bytes);
    let mut out = String::new();
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c != '\x1b' {
            out.push(c);
            continue;
        }
        if chars.next() == Some('[') {
            // A CSI sequence ends with a byte in @..~.
            for c in chars.by_ref() {
                if ('@'..='~').contains(&c) {
                    break;
                }
            }
        }
    }
    out
}

/// Whether the bytes set a colour or text attribute (an SGR sequence, `ESC [ … m`).
fn has_sgr(bytes: &[u8]) -> bool {
    bytes.windows(2).enumerate().any(|(i, w)| {
        w == b"\x1b["
            && bytes[i + 2..]
                .iter()
                .find(|b| !(b.is_ascii_digit() || **b == b';'))
                .is_some_and(|b| *b == b'm')
    })
}

fn lines_with<'a>(screen: &'a str, needle: &str) -> Vec<&'a str> {
    screen.lines().filter(|l| l.contains(needle)).collect()
}

/// One job with one input.
fn one_job() -> Sandbox {
    let sb = Sandbox::with_manifest("  - name: job\n    inputs: [data/a.csv]\n    prompt: go\n");
    sb.file("data/a.csv", "a,b\n1,2\n");
    sb
}

/// One job that succeeds and one the API refuses with a 400.
fn good_and_bad() -> Sandbox {
    let sb = Sandbox::with_manifest(
        "  - name: good\n    inputs: [data/a.csv]\n    prompt: fine\n  - name: bad\n    inputs: [data/a.csv]\n    prompt: |\n      bad\n      @fake fail 400 invalid_request_error\n",
    );
    sb.file("data/a.csv", "a,b\n1,2\n");
    sb
}

/// A 429 with `retry-after: 1` (waited for real: no delay scaling), and the retry held by
/// the fake, so the bars stay on screen after the wait is over.
fn held_after_a_429() -> (FakeServer, Sandbox, Term) {
    let fake = FakeServer::start();
    fake.push_faults(Endpoint::Messages, [Fault::rate_limited(1.0), Fault::Hold]);
    let sb = one_job();
    let mut cmd = sb.std_cmd_against(&fake, ["run", "m.yaml"]);
    cmd.env("RUNNER_TEST_DELAY_SCALE", "1");
    let term = Term::spawn(cmd);
    (fake, sb, term)
}

/// The retry's wait is shown on the jobs bar, then goes away by itself when the wait is
/// over, while the bars are still drawn (the retry is held by the fake).
#[test]
fn a_backoff_notice_appears_and_clears_by_itself() {
    let (fake, _sb, term) = held_after_a_429();
    term.wait_for_screen("the backoff notice", |s| {
        lines_with(s, "jobs [")
            .iter()
            .any(|l| l.ends_with("backing off messages for 1.0s"))
    });
    assert!(
        fake.wait_until(DEADLINE, |s| s.held == 1),
        "the retry never came"
    );
    let screen = term.wait_for_screen("the notice to clear with the bars still drawn", |s| {
        !s.contains("backing off") && s.contains("jobs [")
    });
    assert!(screen.contains("job turn 1/1"), "{screen}");
    fake.release_held();
    let (status, bytes) = term.finish();
    assert!(status.success(), "{}", self::screen(&bytes));
    assert!(!self::screen(&bytes).contains("backing off"));
}

/// A retry warning logged while the bars are drawn is printed above them, whole, and the
/// bars are redrawn below it: no torn line, no stale copy of a bar.
#[test]
fn retry_warnings_print_above_the_bars_without_tearing_them() {
    let (fake, _sb, term) = held_after_a_429();
    assert!(
        fake.wait_until(DEADLINE, |s| s.held == 1),
        "the retry never came"
    );
    let warned = |s: &str| lines_with(s, "retrying after").len() == 1;
    let screen = term.wait_for_screen("the warning with the bars below it", |s| {
        warned(s) && s.contains("job turn 1/1")
    });
    let lines: Vec<&str> = screen.lines().collect();
    let at = |needle: &str| {
        let found: Vec<usize> = (0..lines.len())
            .filter(|i| lines[*i].contains(needle))
            .collect();
        assert_eq!(found.len(), 1, "{needle:?} once:\n{screen}");
        found[0]
    };
    let warning = lines[at("retrying after")];
    // Whole: a log line of its own, from its timestamp to its last field.
    assert!(
        warning.starts_with("20")
            && warning.contains("Z  WARN retrying after: POST /v1/messages: HTTP 429"),
        "{warning:?}\n{screen}"
    );
    assert!(warning.ends_with("attempt=1 wait_ms=1000"), "{warning:?}");
    // Above the bars, each bar once.
    assert!(at("retrying after") < at("jobs ["), "{screen}");
    assert!(at("jobs [") < at("job turn 1/1"), "{screen}");

    fake.release_held();
    let (status, bytes) = term.finish();
    let last = self::screen(&bytes);
    assert!(status.success(), "{last}");
    assert_eq!(lines_with(&last, "retrying after"), [warning], "{last}");
    assert!(
        lines_with(&last, "jobs [").is_empty(),
        "bars cleared at the end:\n{last}"
    );
    assert_eq!(lines_with(&last, "ok m/job").len(), 1, "{last}");
    assert!(last.contains("1 job: 1 succeeded, 0 failed"), "{last}");
}

/// A failed job is shown once, as `failed <id> (<kind>): <message>` with the kind spelled
/// as in `job.json`, on a terminal (above the bars) and in a pipe (a log line); the
/// closing summary does not repeat it.
#[test]
fn a_failed_job_is_shown_once_with_its_json_kind() {
    let fake = FakeServer::start();
    let sb = good_and_bad();
    let (status, bytes) = Term::spawn(sb.std_cmd_against(&fake, ["run", "m.yaml"])).finish();
    let last = screen(&bytes);
    assert_eq!(status.code(), Some(1), "{last}");
    let failed = lines_with(&last, "m/bad");
    assert_eq!(failed.len(), 1, "{last}");
    assert!(
        failed[0].starts_with("   failed m/bad (api): POST /v1/messages: HTTP 400"),
        "{last}"
    );
    assert!(!plain(&bytes).contains("(Api)"));
    assert_eq!(lines_with(&last, "ok m/good").len(), 1, "{last}");
    assert_eq!(sb.read_json("out/m/bad/job.json")["error"]["kind"], "api");

    // A terminal that cannot draw bars (an Emacs shell): log lines instead, failure shown.
    let mut dumb = sb.std_cmd_against(&fake, ["run", "m.yaml"]);
    dumb.env("TERM", "dumb");
    let (status, bytes) = Term::spawn(dumb).finish();
    let last = screen(&bytes);
    assert_eq!(status.code(), Some(1), "{last}");
    let failed = lines_with(&last, "m/bad");
    assert_eq!(failed.len(), 1, "{last}");
    assert!(failed[0].contains(" ERROR failed m/bad (api): POST /v1/messages: HTTP 400"));

    let out = sb.cmd_against(&fake, ["run", "m.yaml"]).output().unwrap();
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    let failed = lines_with(&stderr, "m/bad");
    assert_eq!(failed.len(), 1, "{stderr}");
    assert!(
        failed[0].contains(" ERROR failed m/bad (api): POST /v1/messages: HTTP 400"),
        "{stderr}"
    );
    assert!(!stderr.contains("(Api)"), "{stderr}");
}

/// The uploads bar is drawn while something uploads, and never when nothing does.
#[test]
fn no_uploads_bar_when_nothing_uploads() {
    let fake = FakeServer::start();
    // With an upload (held, so it is on screen for sure): the bar is there.
    fake.push_faults(Endpoint::Upload, [Fault::Hold]);
    let sb = one_job();
    let term = Term::spawn(sb.std_cmd_against(&fake, ["run", "m.yaml"]));
    term.wait_for_screen("the uploads bar", |s| s.contains("uploads ["));
    // Released only once held: a release before the request arrives would not apply to it.
    assert!(
        fake.wait_until(DEADLINE, |s| s.held == 1),
        "the upload never came"
    );
    fake.release_held();
    assert!(term.finish().0.success());

    // A job without inputs (its request held, so the bars are surely drawn): no such bar.
    fake.push_faults(Endpoint::Messages, [Fault::Hold]);
    sb.file("bare.yaml", manifest("  - name: bare\n    prompt: hello\n"));
    let term = Term::spawn(sb.std_cmd_against(&fake, ["run", "bare.yaml"]));
    term.wait_for_screen("the job's line", |s| {
        s.contains("jobs [") && s.contains("bare turn 1/1")
    });
    assert!(
        fake.wait_until(DEADLINE, |s| s.held == 1),
        "the request never came"
    );
    fake.release_held();
    let (status, bytes) = term.finish();
    assert!(status.success(), "{}", screen(&bytes));
    let drawn = plain(&bytes);
    assert!(!drawn.contains("uploads ["), "{drawn}");
    assert!(!drawn.contains("0 B/0 B"), "{drawn}");
}

/// `-v` log lines on a terminal are coloured, unless `NO_COLOR` is set.
#[test]
fn no_color_turns_off_the_colour_of_log_lines() {
    let fake = FakeServer::start();
    let sb = one_job();
    let run = |no_color: bool| {
        let mut cmd = sb.std_cmd_against(&fake, ["run", "-v", "--force", "m.yaml"]);
        if no_color {
            cmd.env("NO_COLOR", "1");
        }
        let (status, bytes) = Term::spawn(cmd).finish();
        assert!(status.success(), "{}", screen(&bytes));
        assert!(
            screen(&bytes).contains("INFO run started"),
            "{}",
            screen(&bytes)
        );
        bytes
    };
    assert!(has_sgr(&run(false)), "coloured on a terminal");
    let plain_bytes = run(true);
    assert!(
        !has_sgr(&plain_bytes),
        "{:?}",
        String::from_utf8_lossy(&plain_bytes)
    );
}

/// `runner run … 2>&1 | head -1`: stdout and stderr closed by the reader. The run still
/// finishes, writes its record, and exits with its own code (1: a job failed), not a panic.
#[test]
fn closed_stdout_and_stderr_do_not_panic() {
    let fake = FakeServer::start();
    let sb = good_and_bad();
    let mut child = sb
        .std_cmd_against(&fake, ["run", "--json", "m.yaml"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    drop(child.stderr.take());
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(1), "{status}");
    assert_eq!(sb.read_json("out/run.json")["counts"]["failed"], 1);
}

/// With `-q`, a failed night still prints each failed job and one summary line (so cron
/// mails); a good night prints nothing.
#[test]
fn quiet_still_reports_failed_jobs_and_nothing_else() {
    let fake = FakeServer::start();
    let sb = good_and_bad();
    let out = sb
        .cmd_against(&fake, ["run", "-q", "m.yaml"])
        .output()
        .unwrap();
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert_eq!(out.status.code(), Some(1));
    let lines: Vec<&str> = stderr.lines().collect();
    assert_eq!(lines.len(), 2, "{stderr}");
    assert!(
        lines[0].starts_with("failed m/bad (api): POST /v1/messages: HTTP 400"),
        "{stderr}"
    );
    assert!(
        lines[1].starts_with("2 jobs: 1 succeeded, 1 failed, 0 fresh; "),
        "{stderr}"
    );

    let sb = one_job();
    let out = sb
        .cmd_against(&fake, ["run", "-q", "m.yaml"])
        .output()
        .unwrap();
    assert_success(&out);
    assert_eq!(String::from_utf8_lossy(&out.stderr), "");
}

/// `cmd` run by `sh` under this umask.
fn with_umask(cmd: &Command, umask: &str) -> Command {
    let mut sh = Command::new("sh");
    sh.arg("-c")
        .arg(format!("umask {umask}; exec \"$0\" \"$@\""))
        .arg(cmd.get_program())
        .args(cmd.get_args())
        .env_clear();
    for (k, v) in cmd.get_envs() {
        if let Some(v) = v {
            sh.env(k, v);
        }
    }
    if let Some(dir) = cmd.get_current_dir() {
        sh.current_dir(dir);
    }
    sh
}

fn mode(path: &Path) -> u32 {
    std::fs::symlink_metadata(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .permissions()
        .mode()
        & 0o7777
}

/// Under umask 022 the output tree is readable by others (files 0644, folders 0755), as
/// any program's files are; the state dir stays private (0700, its caches 0600).
#[test]
fn output_files_follow_the_umask_and_the_state_dir_stays_private() {
    let fake = FakeServer::start();
    let sb = good_and_bad();
    let status = with_umask(&sb.std_cmd_against(&fake, ["run", "m.yaml"]), "022")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .unwrap();
    assert_eq!(status.code(), Some(1));
    let out = sb.root.join("out");
    let mut files = vec![out.join("run.json")];
    for job in ["m/good", "m/bad"] {
        let dir = out.join(job);
        assert_eq!(mode(&dir), 0o755, "{job}");
        for doc in ["report.md", "job.json", "transcript.md", "messages.json"] {
            files.push(dir.join(doc));
        }
    }
    assert_eq!(mode(&out.join("m/good/files")), 0o755);
    let generated: Vec<_> = std::fs::read_dir(out.join("m/good/files"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert!(!generated.is_empty());
    files.extend(generated);
    for file in &files {
        assert_eq!(mode(file), 0o644, "{}", file.display());
    }

    let state = sb.state_dir();
    assert_eq!(mode(&state), 0o700);
    let caches: Vec<_> = files_under(&state)
        .into_iter()
        // The lock file is empty and only ever locked; the folder keeps it private.
        .filter(|p| p.extension().is_none_or(|e| e != "lock"))
        .collect();
    assert!(!caches.is_empty(), "no cache file in the state dir");
    for cache in &caches {
        assert_eq!(mode(cache), 0o600, "{}", cache.display());
    }
}

/// Batch mode: while a batch is in progress its `request_counts` are on a bar of their own,
/// which goes once the batch has ended.
#[test]
fn a_waiting_batch_shows_its_request_counts_on_a_bar() {
    let fake = FakeServer::start();
    fake.set_batch_delay(Duration::from_secs(600));
    let sb = one_job();
    let term = Term::spawn(sb.std_cmd_against(&fake, ["run", "m.yaml", "--batch"]));
    let shown = term.wait_for_screen("the batch's counts", |s| {
        lines_with(s, "batch msgbatch_")
            .iter()
            .any(|l| l.contains("1 processing, 0 succeeded, 0 errored, 0 canceled, 0 expired"))
    });
    assert!(shown.contains("jobs ["), "{shown}");
    fake.set_batch_delay(Duration::ZERO);
    let (status, bytes) = term.finish();
    let end = screen(&bytes);
    assert!(status.success(), "{end}");
    assert!(!end.contains("processing"), "{end}");
}

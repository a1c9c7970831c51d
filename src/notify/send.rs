//! Delivering a message: an HTTP POST (the runner's reqwest, its own short-lived client)
//! or a command run with `sh -c`. Each attempt is bounded by the timeout, connection
//! included; a failed attempt is tried once more. No error names the URL: it is a secret.

use std::io::{Read, Write};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

/// The pause before the one retry.
const RETRY_PAUSE: Duration = Duration::from_millis(300);
/// How much of a command's stderr is logged.
const STDERR_TAIL: usize = 500;

/// POSTs `body` as JSON; a 2xx is delivered. One retry after a transport error, a 429 or
/// a 5xx.
pub(super) async fn post(
    url: &reqwest::Url,
    body: &Value,
    timeout: Duration,
) -> Result<(), String> {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let client = reqwest::Client::builder()
        .connect_timeout(timeout)
        .timeout(timeout)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .map_err(|e| e.without_url().to_string())?;
    let mut last = String::new();
    for attempt in 0..2 {
        if attempt > 0 {
            tokio::time::sleep(RETRY_PAUSE).await;
        }
        match client.post(url.clone()).json(body).send().await {
            Ok(r) if r.status().is_success() => return Ok(()),
            Ok(r) => {
                let status = r.status();
                last = format!("HTTP {}", status.as_u16());
                if !(status.is_server_error() || status.as_u16() == 429) {
                    break;
                }
            }
            Err(e) if e.is_timeout() => {
                last = format!("no answer within {}", crate::units::seconds(timeout));
            }
            Err(e) => last = crate::error_chain::chain(&e.without_url()),
        }
    }
    Err(last)
}

/// Runs `sh -c command` with `body` on stdin; exit status 0 is delivered. Killed past the
/// timeout; one retry after a failure. Its stderr's tail is in the error.
pub(super) async fn command(command: &str, body: &Value, timeout: Duration) -> Result<(), String> {
    let input = serde_json::to_vec_pretty(body).unwrap_or_default();
    let mut last = String::new();
    for attempt in 0..2 {
        if attempt > 0 {
            tokio::time::sleep(RETRY_PAUSE).await;
        }
        let (command, input) = (command.to_owned(), input.clone());
        let ran = tokio::task::spawn_blocking(move || run_once(&command, &input, timeout)).await;
        match ran {
            Ok(Ok(())) => return Ok(()),
            Ok(Err(e)) => last = e,
            Err(e) => last = format!("the command's task failed: {e}"),
        }
    }
    Err(last)
}

fn run_once(command: &str, input: &[u8], timeout: Duration) -> Result<(), String> {
    let mut child = Command::new("sh")
        .arg("-c")
        .arg(command)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot start `sh -c`: {e}"))?;
    if let Some(mut stdin) = child.stdin.take() {
        let input = input.to_vec();
        // A command that does not read its stdin must not block us: write on a thread.
        std::thread::spawn(move || {
            let _ = stdin.write_all(&input);
        });
    }
    let stderr = child.stderr.take().map(|mut pipe| {
        std::thread::spawn(move || {
            let mut bytes = Vec::new();
            let _ = pipe.read_to_end(&mut bytes);
            bytes
        })
    });
    let started = Instant::now();
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break Some(status),
            Ok(None) if started.elapsed() < timeout => {
                std::thread::sleep(Duration::from_millis(20))
            }
            Ok(None) | Err(_) => {
                let _ = child.kill();
                let _ = child.wait();
                break None;
            }
        }
    };
    let Some(status) = status else {
        return Err(format!(
            "the command did not finish within {}; killed",
            crate::units::seconds(timeout)
        ));
    };
    let tail = stderr
        .and_then(|t| t.join().ok())
        .map(|bytes| tail_of(&bytes))
        .unwrap_or_default();
    if status.success() {
        if !tail.is_empty() {
            tracing::info!("notify command's stderr: {tail}");
        }
        return Ok(());
    }
    let code = status
        .code()
        .map_or_else(|| "a signal".to_owned(), |c| c.to_string());
    Err(if tail.is_empty() {
        format!("the command exited with {code}")
    } else {
        format!("the command exited with {code}: {tail}")
    })
}

/// The last [`STDERR_TAIL`] bytes as text, on one line.
fn tail_of(bytes: &[u8]) -> String {
    let text = String::from_utf8_lossy(bytes);
    let text = text.trim();
    let start = text
        .char_indices()
        .map(|(i, _)| i)
        .find(|&i| text.len() - i <= STDERR_TAIL)
        .unwrap_or(text.len());
    text[start..].replace('\n', " | ")
}

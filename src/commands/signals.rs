//! SIGINT/SIGTERM → a cancellation token. The first signal stops new work: jobs not yet
//! started are recorded as interrupted, requests in flight are abandoned, writes finish.
//! The second signal ends the run at once: `run.rs` stops awaiting the work and returns
//! exit code 130, and the runtime is dropped without waiting for its tasks; since every
//! file is written atomically, nothing is left half-written either way.

use std::sync::Arc;

use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

#[derive(Clone)]
pub(super) struct Shutdown {
    pub token: CancellationToken,
    second: Arc<Notify>,
}

impl Shutdown {
    /// Listens for signals on the current runtime.
    pub(super) fn install() -> Shutdown {
        let shutdown = Shutdown {
            token: CancellationToken::new(),
            second: Arc::new(Notify::new()),
        };
        let s = shutdown.clone();
        tokio::spawn(async move {
            if wait_for_signal().await.is_err() {
                return;
            }
            tracing::warn!(
                "interrupted: starting no new work (press Ctrl-C again to stop at once)"
            );
            s.token.cancel();
            if wait_for_signal().await.is_ok() {
                s.second.notify_one();
            }
        });
        shutdown
    }

    /// Resolves on the second signal.
    pub(super) async fn second_signal(&self) {
        self.second.notified().await;
    }
}

#[cfg(unix)]
async fn wait_for_signal() -> std::io::Result<()> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut int = signal(SignalKind::interrupt())?;
    let mut term = signal(SignalKind::terminate())?;
    tokio::select! {
        _ = int.recv() => {}
        _ = term.recv() => {}
    }
    Ok(())
}

#[cfg(not(unix))]
async fn wait_for_signal() -> std::io::Result<()> {
    tokio::signal::ctrl_c().await
}

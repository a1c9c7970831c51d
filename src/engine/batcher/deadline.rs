//! `--batch-deadline` and interrupts: the batches waited for are canceled (their pollers
//! then read what they had answered) and, past the deadline, every request not answered
//! goes online. An interrupted run leaves its batches with the API unless
//! `--cancel-on-interrupt`.

use super::state::{Batcher, lock};
use crate::api::retry::retry;

impl Batcher {
    /// `--batch-deadline` passed: queued requests go online, and the waiting batches are
    /// canceled (their pollers then read what they had answered).
    pub(super) async fn deadline_reached(&self) {
        let (queued, waiting) = self.update(|i| i.pass_deadline());
        tracing::info!(
            batches = waiting.len(),
            "the batch deadline passed: canceling the waiting batches, finishing online"
        );
        self.deadline_passed.cancel();
        for p in queued {
            p.answer(None);
        }
        for (id, version) in waiting {
            self.cancel(&id, &version).await;
        }
    }

    /// Cancels a batch, noting it (and its counts then) for the journal.
    pub(super) async fn cancel(&self, id: &str, version: &str) {
        match retry(&self.link.policy, |attempt| {
            self.link.client.cancel_batch(id, version, attempt)
        })
        .await
        {
            Ok(info) => {
                let mut used = lock(&self.used);
                let used = used.entry(id.to_owned()).or_default();
                used.canceled = true;
                used.request_counts = Some(info.request_counts);
            }
            Err(e) => tracing::error!(batch_id = id, "cannot cancel the batch: {e}"),
        }
    }

    /// The run was interrupted: the batches stay with the API (recorded, so the re-run
    /// resumes them), or with `--cancel-on-interrupt` are canceled (the re-run then takes
    /// what they had answered and submits the rest again).
    pub(super) async fn interrupted(&self) {
        if !self.settings.cancel_on_interrupt {
            return;
        }
        let waiting = self.with(|i| std::mem::take(&mut i.waiting));
        for (id, version) in waiting {
            self.cancel(&id, &version).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::time::Duration;

    use serde_json::json;
    use tokio_util::sync::CancellationToken;

    use super::super::state::{BatchSettings, Origin};
    use super::super::wait::Link;
    use super::*;
    use crate::api::{ApiClient, ApiKey, Pacing, Timeouts};

    /// A batcher of two jobs whose client is never called: nothing here reaches an API.
    fn batcher(out: &camino::Utf8Path) -> Arc<Batcher> {
        let pacing = Pacing {
            messages: 1,
            files: 1,
            scale: 1.0,
        };
        let client = ApiClient::new(
            "http://127.0.0.1:9",
            ApiKey::new("k".into()),
            Timeouts::default(),
            pacing,
        )
        .unwrap();
        let link = Link {
            client,
            policy: crate::api::retry::RetryPolicy::default(),
            reporter: Arc::new(crate::ui::events::Silent),
            cancel: CancellationToken::new(),
        };
        let settings = BatchSettings {
            cancel_on_interrupt: false,
            deadline: None,
            poll_first: Duration::from_secs(1),
            poll_max: Duration::from_secs(1),
        };
        Batcher::new(2, out, settings, link)
    }

    fn origin() -> Origin {
        Origin {
            job: "m/a".into(),
            turn: 1,
            continuation: 0,
        }
    }

    #[tokio::test]
    async fn at_the_deadline_queued_requests_and_every_later_one_go_online() {
        let dir = tempfile::tempdir().unwrap();
        let out = camino::Utf8Path::from_path(dir.path()).unwrap();
        let b = batcher(out);
        let body = json!({"model": "m"});
        let queued = b.submit(&body, "h1".into(), 14, "2023-06-01", origin());
        tokio::pin!(queued);
        assert!(
            futures_util::poll!(&mut queued).is_pending(),
            "waits for its round"
        );
        assert_eq!(b.with(|i| i.queue.len()), 1);
        b.deadline_reached().await;
        assert!(queued.await.is_none(), "the queued request goes online");
        assert!(b.past_deadline());
        let later = b
            .submit(&body, "h2".into(), 14, "2023-06-01", origin())
            .await;
        assert!(later.is_none(), "so does every later one, never queued");
        assert_eq!(b.with(|i| i.queue.len()), 0);
    }
}

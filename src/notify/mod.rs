//! Notifications (docs/unattended.md "Notifications"): after `run.json` is written, each
//! `notify` target of runner.toml whose `on` list holds one of the run's triggers gets a
//! message: a Slack incoming webhook, a JSON POST, or a command with the run summary on
//! its stdin. An edge, like `api/` (which is the Anthropic wire only): it knows URLs and
//! processes, and reads the summary as plain JSON, tolerant of keys it does not know.
//!
//! A notification never changes the run's exit code: every failure comes back as an
//! [`Outcome`], logged at ERROR. Each attempt is bounded by [`Settings::timeout`], with one
//! retry; the targets are notified concurrently.
//!
//! - `message.rs`: what the message says (failures first), as Slack and JSON bodies;
//! - `send.rs`: the HTTP POST and the command, with their timeouts.

mod message;
mod send;

use std::time::Duration;

use serde_json::Value;

pub(crate) use message::Message;

/// What fires a target.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Trigger {
    /// A job failed, was not started or interrupted, or the run ended in setup.
    Failure,
    /// The run stopped starting jobs because of `--budget-usd`.
    Budget,
    /// A job's `alerts` in run.json are not empty.
    Alert,
    /// Every job succeeded or was fresh.
    Success,
}

impl Trigger {
    /// The word in runner.toml and run.json.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Trigger::Failure => "failure",
            Trigger::Budget => "budget",
            Trigger::Alert => "alert",
            Trigger::Success => "success",
        }
    }

    /// The word as runner.toml writes it.
    pub(crate) fn parse(word: &str) -> Option<Trigger> {
        [
            Trigger::Failure,
            Trigger::Budget,
            Trigger::Alert,
            Trigger::Success,
        ]
        .into_iter()
        .find(|t| t.as_str() == word)
    }
}

/// How a URL target's body is written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Format {
    /// Slack's incoming-webhook body: `text` (mrkdwn) and `blocks`.
    Slack,
    /// The run summary (run.json's content) with a `notification` object.
    Json,
}

/// Where a message goes.
#[derive(Clone, PartialEq, Eq)]
pub(crate) enum Destination {
    /// POSTed to this URL (a secret: only its host is ever shown).
    Url { url: reqwest::Url, format: Format },
    /// Run with `sh -c`, the JSON body on stdin.
    Command(String),
}

impl std::fmt::Debug for Destination {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.label())
    }
}

impl Destination {
    /// The target without its secrets: a URL's host, or `command`.
    pub(crate) fn label(&self) -> String {
        match self {
            Destination::Url { url, .. } => url.host_str().unwrap_or("(no host)").to_owned(),
            Destination::Command(_) => "command".to_owned(),
        }
    }
}

/// One `[[notify]]` entry of runner.toml, checked.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Target {
    pub to: Destination,
    /// The triggers it wants, in runner.toml's order.
    pub on: Vec<Trigger>,
}

/// The `notify` targets and what every message shares.
#[derive(Clone, Debug)]
pub(crate) struct Settings {
    pub targets: Vec<Target>,
    /// runner.toml's `page_url`: where the morning page is served, linked from messages.
    pub page_url: Option<String>,
    /// Each attempt's bound, connection included (default 3 s); one retry follows a
    /// failure, so a dead target holds the run up about twice this.
    pub timeout: Duration,
}

/// The default bound of one attempt.
pub(crate) const DEFAULT_TIMEOUT: Duration = Duration::from_secs(3);

impl Default for Settings {
    fn default() -> Settings {
        Settings {
            targets: Vec::new(),
            page_url: None,
            timeout: DEFAULT_TIMEOUT,
        }
    }
}

/// What one target made of its message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Outcome {
    pub target: String,
    pub trigger: Trigger,
    /// `None` when delivered; else why not (no URL in it).
    pub error: Option<String>,
}

/// The triggers a run summary (run.json's value) holds, most urgent first.
pub(crate) fn triggers(summary: &Value) -> Vec<Trigger> {
    let count = |key: &str| summary["counts"][key].as_u64().unwrap_or(0);
    let jobs = summary["jobs"].as_array().map_or(&[][..], Vec::as_slice);
    let mut found = Vec::new();
    let failed = count("failed") + count("not_started") + count("interrupted") > 0
        || summary.get("error").is_some_and(|e| !e.is_null())
        || summary["exit_code"].as_u64().is_some_and(|c| c != 0);
    if failed {
        found.push(Trigger::Failure);
    }
    let budget = jobs
        .iter()
        .any(|j| j["reason"] == "budget" || j["error"]["kind"] == "budget");
    if budget {
        found.push(Trigger::Budget);
    }
    if jobs.iter().any(|j| has_alerts(&j["alerts"])) {
        found.push(Trigger::Alert);
    }
    if !failed {
        found.push(Trigger::Success);
    }
    found
}

/// Whether a job's `alerts` (whatever shape the metrics record gives them) hold any.
pub(crate) fn has_alerts(alerts: &Value) -> bool {
    match alerts {
        Value::Array(a) => !a.is_empty(),
        Value::Object(o) => !o.is_empty(),
        Value::Null | Value::Bool(false) => false,
        _ => true,
    }
}

/// Sends the run's message to every target one of its triggers fires (the most urgent
/// trigger the target asks for); returns each one's outcome, errors logged at ERROR.
pub(crate) async fn notify(
    settings: &Settings,
    summary: &Value,
    changes: Option<&str>,
) -> Vec<Outcome> {
    let fired = triggers(summary);
    let sends = settings.targets.iter().filter_map(|target| {
        let trigger = fired.iter().copied().find(|t| target.on.contains(t))?;
        let mut message = Message::of(summary, trigger, settings.page_url.as_deref());
        message.changes = changes.map(str::to_owned);
        Some(deliver(target, message, settings.timeout))
    });
    futures_util::future::join_all(sends).await
}

/// A sample message (`runner notify --test`) to every target, whatever its `on` says.
pub(crate) async fn test_all(settings: &Settings) -> Vec<Outcome> {
    let summary = message::sample();
    let sends = settings.targets.iter().map(|target| {
        let mut message = Message::of(&summary, Trigger::Failure, settings.page_url.as_deref());
        message.headline = format!("runner notify --test: {}", message.headline);
        deliver(target, message, settings.timeout)
    });
    futures_util::future::join_all(sends).await
}

async fn deliver(target: &Target, message: Message, timeout: Duration) -> Outcome {
    let label = target.to.label();
    let result = match &target.to {
        Destination::Url { url, format } => {
            let body = match format {
                Format::Slack => message.slack(),
                Format::Json => message.json(),
            };
            send::post(url, &body, timeout).await
        }
        Destination::Command(command) => send::command(command, &message.json(), timeout).await,
    };
    match &result {
        Ok(()) => tracing::info!("notified {label} ({})", message.trigger.as_str()),
        Err(e) => tracing::error!("cannot notify {label}: {e}"),
    }
    Outcome {
        target: label,
        trigger: message.trigger,
        error: result.err(),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn triggers_are_read_tolerantly_from_the_summary() {
        let good = json!({ "exit_code": 0, "counts": { "total": 1, "succeeded": 1 },
                           "jobs": [{ "dir": "m/a", "status": "succeeded" }] });
        assert_eq!(triggers(&good), [Trigger::Success]);
        let alerted = json!({ "exit_code": 0, "counts": { "total": 1, "succeeded": 1 },
                              "jobs": [{ "dir": "m/a", "status": "succeeded",
                                         "alerts": [{ "metric": "rows", "rule": "<1000" }] }] });
        assert_eq!(triggers(&alerted), [Trigger::Alert, Trigger::Success]);
        let budget = json!({ "exit_code": 1, "counts": { "total": 2, "not_started": 1 },
                             "jobs": [{ "dir": "m/b", "status": "not_started",
                                        "reason": "budget" }] });
        assert_eq!(triggers(&budget), [Trigger::Failure, Trigger::Budget]);
        let setup = json!({ "exit_code": 2, "counts": {}, "jobs": [],
                            "error": { "message": "key refused" } });
        assert_eq!(triggers(&setup), [Trigger::Failure]);
        let m = Message::of(&setup, Trigger::Failure, None);
        assert_eq!(m.headline, "runner: the run ended in setup, no job ran");
        assert_eq!(m.failures[0].2, "key refused");
        // Not a summary at all: nothing fires but success, and nothing panics.
        assert_eq!(triggers(&json!("odd")), [Trigger::Success]);
        assert!(!has_alerts(&json!([])) && has_alerts(&json!({ "rows": "<1000" })));
    }

    #[test]
    fn a_target_gets_its_most_urgent_trigger_only() {
        let alerted = json!({ "exit_code": 1, "counts": { "total": 1, "failed": 1 },
                              "jobs": [{ "dir": "m/<a>", "status": "failed",
                                         "error": { "kind": "api", "message": "<!channel> & co" },
                                         "alerts": ["x"] }] });
        let fired = triggers(&alerted);
        assert_eq!(fired, [Trigger::Failure, Trigger::Alert]);
        let slack = Message::of(&alerted, Trigger::Failure, Some("https://p/")).slack();
        let failures = slack["blocks"][1]["text"]["text"]
            .as_str()
            .unwrap_or_default();
        assert_eq!(failures, "• *m/&lt;a&gt;* `api` &lt;!channel&gt; &amp; co");
        let alerts = slack["blocks"][2]["text"]["text"]
            .as_str()
            .unwrap_or_default();
        assert_eq!(alerts, "• *m/&lt;a&gt;* alert: [\"x\"]");
    }
}

//! What a notification says, most important first: the failed jobs with their reasons,
//! the alerts, then a short summary (counts, cost, duration) and a link to the page.
//! Job names and error messages come from users and servers: in Slack's mrkdwn they are
//! escaped (`&`, `<`, `>`, so no `<!channel>` or link can be smuggled in) and cut short.

use serde_json::{Value, json};

use super::{Trigger, has_alerts};

/// Longest error message quoted per job, and most jobs listed per section.
const MAX_MESSAGE: usize = 300;
const MAX_JOBS: usize = 20;

/// One run's message, ready to be written as any format.
#[derive(Clone, Debug)]
pub(crate) struct Message {
    pub trigger: Trigger,
    pub headline: String,
    /// (job folder, error kind, message), in run.json's order.
    pub failures: Vec<(String, String, String)>,
    /// (job folder, its alerts as compact JSON).
    pub alerts: Vec<(String, String)>,
    /// Counts, cost and duration on one line.
    pub summary_line: String,
    pub page_url: Option<String>,
    /// What changed since the last night that did work (`runner diff`'s count), if known.
    pub changes: Option<String>,
    /// The run summary as given (run.json's content).
    pub summary: Value,
}

impl Message {
    pub(crate) fn of(summary: &Value, trigger: Trigger, page_url: Option<&str>) -> Message {
        let jobs = summary["jobs"].as_array().map_or(&[][..], Vec::as_slice);
        let text = |v: &Value| v.as_str().unwrap_or_default().to_owned();
        let failures: Vec<(String, String, String)> = jobs
            .iter()
            .filter(|j| j["status"] != "succeeded" && j["status"] != "fresh")
            .map(|j| {
                let kind = j["error"]["kind"].as_str().or(j["status"].as_str());
                (
                    text(&j["dir"]),
                    kind.unwrap_or("failed").to_owned(),
                    text(&j["error"]["message"]),
                )
            })
            .collect();
        let alerts = jobs
            .iter()
            .filter(|j| has_alerts(&j["alerts"]))
            .map(|j| (text(&j["dir"]), j["alerts"].to_string()))
            .collect();
        let mut failures = failures;
        if let Some(message) = summary["error"]["message"].as_str() {
            failures.insert(0, ("(run)".into(), "setup".into(), message.to_owned()));
        }
        Message {
            trigger,
            headline: headline(summary, trigger),
            failures,
            alerts,
            summary_line: summary_line(summary),
            page_url: page_url.map(str::to_owned),
            changes: None,
            summary: summary.clone(),
        }
    }

    /// Slack's incoming-webhook body: `text` (the fallback, mrkdwn) and `blocks`.
    pub(crate) fn slack(&self) -> Value {
        let mut blocks = vec![section(&format!("*{}*", escape(&self.headline)))];
        if !self.failures.is_empty() {
            let lines: Vec<String> = self
                .failures
                .iter()
                .take(MAX_JOBS)
                .map(|(dir, kind, message)| {
                    format!(
                        "• *{}* `{}` {}",
                        escape(dir),
                        escape(kind),
                        escape(&cut(message))
                    )
                })
                .collect();
            blocks.push(section(&with_more(lines, self.failures.len())));
        }
        if !self.alerts.is_empty() {
            let lines: Vec<String> = self
                .alerts
                .iter()
                .take(MAX_JOBS)
                .map(|(dir, alerts)| format!("• *{}* alert: {}", escape(dir), escape(&cut(alerts))))
                .collect();
            blocks.push(section(&with_more(lines, self.alerts.len())));
        }
        if let Some(changes) = &self.changes {
            blocks.push(section(&escape(changes)));
        }
        blocks.push(json!({
            "type": "context",
            "elements": [{ "type": "mrkdwn", "text": escape(&self.summary_line) }],
        }));
        let mut text = format!(
            "*{}*\n{}",
            escape(&self.headline),
            escape(&self.summary_line)
        );
        if let Some(changes) = &self.changes {
            text.push('\n');
            text.push_str(&escape(changes));
        }
        if let Some(url) = &self.page_url {
            let link = format!("<{}|Open the morning page>", link_url(url));
            blocks.push(section(&link));
            text.push('\n');
            text.push_str(&link);
        }
        json!({ "text": text, "blocks": blocks })
    }

    /// The run summary with a `notification` object: `trigger`, `headline`, `page_url`.
    pub(crate) fn json(&self) -> Value {
        let mut body = match &self.summary {
            Value::Object(_) => self.summary.clone(),
            _ => json!({}),
        };
        body["notification"] = json!({
            "trigger": self.trigger.as_str(),
            "headline": self.headline,
            "summary": self.summary_line,
            "changes": self.changes,
            "page_url": self.page_url,
        });
        body
    }
}

fn headline(summary: &Value, trigger: Trigger) -> String {
    let count = |key: &str| summary["counts"][key].as_u64().unwrap_or(0);
    let total = count("total");
    match trigger {
        Trigger::Failure if summary.get("error").is_some_and(|e| !e.is_null()) => {
            "runner: the run ended in setup, no job ran".to_owned()
        }
        Trigger::Failure => format!(
            "runner: {} of {} failed or did not finish",
            count("failed") + count("not_started") + count("interrupted"),
            jobs(total)
        ),
        Trigger::Budget => format!(
            "runner: the budget stopped the run; {} not started",
            jobs(count("not_started"))
        ),
        Trigger::Alert => "runner: alerts in tonight's run".to_owned(),
        Trigger::Success if total == 1 => "runner: the job succeeded or was fresh".to_owned(),
        Trigger::Success => format!("runner: all {} succeeded or were fresh", jobs(total)),
    }
}

fn summary_line(summary: &Value) -> String {
    let count = |key: &str| summary["counts"][key].as_u64().unwrap_or(0);
    let cost = summary["cost"]["usd"].as_f64().unwrap_or(0.0);
    let secs = match (
        summary["started_at"]
            .as_str()
            .and_then(|s| s.parse::<jiff::Timestamp>().ok()),
        summary["finished_at"]
            .as_str()
            .and_then(|s| s.parse::<jiff::Timestamp>().ok()),
    ) {
        (Some(a), Some(b)) => b.duration_since(a).as_secs().max(0),
        _ => 0,
    };
    format!(
        "{}: {} succeeded, {} failed, {} fresh, {} not started; cost {}; took {}",
        jobs(count("total")),
        count("succeeded"),
        count("failed"),
        count("fresh"),
        count("not_started"),
        crate::units::usd(cost),
        crate::units::age(std::time::Duration::from_secs(secs.unsigned_abs())),
    )
}

/// `1 job`, `3 jobs`, from a count in the summary's JSON.
fn jobs(n: u64) -> String {
    crate::units::count(usize::try_from(n).unwrap_or(usize::MAX), "job")
}

fn section(text: &str) -> Value {
    json!({ "type": "section", "text": { "type": "mrkdwn", "text": text } })
}

fn with_more(mut lines: Vec<String>, total: usize) -> String {
    if total > lines.len() {
        lines.push(format!("… and {} more", total - lines.len()));
    }
    lines.join("\n")
}

/// Slack's mrkdwn control characters as entities (api.slack.com "Escaping text").
pub(crate) fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// A URL inside `<url|label>`: the characters that would end it, percent-encoded.
fn link_url(url: &str) -> String {
    url.replace('<', "%3C")
        .replace('>', "%3E")
        .replace('|', "%7C")
        .replace('&', "&amp;")
}

/// A message cut to [`MAX_MESSAGE`] characters, on one line.
fn cut(s: &str) -> String {
    let one_line = s.replace(['\n', '\r'], " ");
    match one_line.char_indices().nth(MAX_MESSAGE) {
        Some((at, _)) => format!("{}…", &one_line[..at]),
        None => one_line,
    }
}

/// The run summary `runner notify --test` sends: one failed job, one succeeded.
pub(crate) fn sample() -> Value {
    json!({
        "run_id": "test",
        "runner_version": env!("CARGO_PKG_VERSION"),
        "started_at": "2026-01-01T02:00:00Z",
        "finished_at": "2026-01-01T02:03:00Z",
        "exit_code": 1,
        "counts": { "total": 2, "succeeded": 1, "failed": 1, "fresh": 0,
                    "interrupted": 0, "not_started": 0 },
        "cost": { "usd": 0.0 },
        "jobs": [
            { "manifest": "jobs/example.yaml", "job": "sample-failure",
              "dir": "example/sample-failure", "status": "failed",
              "error": { "kind": "api", "message": "a sample failure from runner notify --test" } },
            { "manifest": "jobs/example.yaml", "job": "sample-success",
              "dir": "example/sample-success", "status": "succeeded" },
        ],
        "test": true,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_text_cannot_ping_or_link_in_slack() {
        assert_eq!(
            escape("<!channel> & <http://x|y>"),
            "&lt;!channel&gt; &amp; &lt;http://x|y&gt;"
        );
        assert_eq!(
            link_url("https://h/p?a=1&b=<2>|"),
            "https://h/p?a=1&amp;b=%3C2%3E%7C"
        );
        assert_eq!(cut(&"é".repeat(400)).chars().count(), MAX_MESSAGE + 1);
    }

    #[test]
    fn one_job_and_three_jobs_read_right() {
        let mut said = String::new();
        for n in [1, 3] {
            let summary = json!({
                "counts": { "total": n, "succeeded": 0, "failed": 0, "fresh": 0,
                            "interrupted": 0, "not_started": n },
                "cost": { "usd": 0.0 },
            });
            for trigger in [Trigger::Failure, Trigger::Budget, Trigger::Success] {
                said.push_str(&headline(&summary, trigger));
                said.push('\n');
            }
            said.push_str(&summary_line(&summary));
            said.push('\n');
        }
        insta::assert_snapshot!(said);
    }
}

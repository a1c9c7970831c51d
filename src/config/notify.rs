//! runner.toml's `notify` targets, `page_url` and `notify_timeout`, checked into
//! [`crate::notify::Settings`] (docs/unattended.md "Notifications").

use serde::Deserialize;

use crate::notify::{self, Destination, Format, Target, Trigger};

/// One `[[notify]]` table as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct NotifyEntry {
    url: Option<String>,
    format: Option<String>,
    command: Option<String>,
    #[serde(default)]
    on: Vec<String>,
}

/// The checked settings, or what is wrong with the `n`-th entry (1-based). A URL never
/// appears in an error: it is a secret.
pub(super) fn settings(
    entries: &[NotifyEntry],
    page_url: Option<&str>,
    timeout: Option<&str>,
) -> Result<notify::Settings, String> {
    let targets = entries
        .iter()
        .enumerate()
        .map(|(i, e)| target(e).map_err(|reason| format!("`notify` entry {}: {reason}", i + 1)))
        .collect::<Result<Vec<_>, _>>()?;
    let timeout = match timeout {
        None => notify::DEFAULT_TIMEOUT,
        Some(t) => match crate::units::parse_duration(t) {
            Ok(d) if !d.is_zero() && d.as_secs() <= 60 => d,
            _ => {
                return Err(format!(
                    "`notify_timeout`: `{t}` is not a duration from 1ms to 60s"
                ));
            }
        },
    };
    if let Some(url) = page_url
        && reqwest::Url::parse(url).is_err()
    {
        return Err(format!("`page_url`: `{url}` is not a URL"));
    }
    Ok(notify::Settings {
        targets,
        page_url: page_url.map(str::to_owned),
        timeout,
    })
}

fn target(e: &NotifyEntry) -> Result<Target, String> {
    let to = match (&e.url, &e.command) {
        (Some(url), None) => {
            let url = reqwest::Url::parse(url)
                .ok()
                .filter(|u| matches!(u.scheme(), "http" | "https") && u.host_str().is_some())
                .ok_or("`url` is not an http or https URL")?;
            let format = match e.format.as_deref() {
                Some("slack") => Format::Slack,
                Some("json") | None => Format::Json,
                Some(other) => {
                    return Err(format!("`format` `{other}`, expected `slack` or `json`"));
                }
            };
            Destination::Url { url, format }
        }
        (None, Some(command)) if !command.trim().is_empty() => {
            if e.format.is_some() {
                return Err("`format` is for a `url` target; a command gets JSON".into());
            }
            Destination::Command(command.clone())
        }
        (None, Some(_)) => return Err("`command` is empty".into()),
        _ => return Err("expected exactly one of `url` and `command`".into()),
    };
    if e.on.is_empty() {
        return Err(
            "`on` is empty, expected some of `failure`, `alert`, `budget`, `success`".into(),
        );
    }
    let on =
        e.on.iter()
            .map(|w| {
                Trigger::parse(w).ok_or_else(|| {
                    format!("`on` has `{w}`, expected `failure`, `alert`, `budget` or `success`")
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
    Ok(Target { to, on })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(toml_text: &str) -> Result<notify::Settings, String> {
        #[derive(Deserialize)]
        struct File {
            notify: Vec<NotifyEntry>,
        }
        let file: File = toml::from_str(toml_text).map_err(|e| e.to_string())?;
        settings(&file.notify, None, None)
    }

    #[test]
    fn targets_are_checked_and_urls_never_shown() {
        let ok = entry(
            "[[notify]]\nurl = \"https://hooks.example/T/secret\"\nformat = \"slack\"\n\
             on = [\"failure\", \"budget\"]\n[[notify]]\ncommand = \"cat\"\non = [\"success\"]\n",
        )
        .unwrap();
        assert_eq!(ok.targets.len(), 2);
        assert_eq!(ok.targets[0].to.label(), "hooks.example");
        assert_eq!(ok.targets[0].on, [Trigger::Failure, Trigger::Budget]);
        let bad = entry("[[notify]]\nurl = \"ftp://x/secret\"\non = [\"failure\"]\n").unwrap_err();
        assert!(!bad.contains("secret"), "{bad}");
        let bad = entry("[[notify]]\ncommand = \"cat\"\non = [\"failures\"]\n").unwrap_err();
        assert!(bad.contains("`failures`"), "{bad}");
        let bad = entry("[[notify]]\ncommand = \"cat\"\nurl = \"http://h/\"\non = [\"failure\"]\n");
        assert!(bad.unwrap_err().contains("exactly one"));
    }
}

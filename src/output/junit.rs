//! `--junit PATH`: the run as JUnit XML for CI dashboards and schedulers (GitLab, Jenkins,
//! GitHub test reporters; the schema is vendored in `docs/junit/`, docs/output.md
//! "JUnit"). One `<testsuite>` per manifest stem, one `<testcase>` per job (`classname` =
//! stem, `name` = job and its matrix cell, `time` = seconds); a failed job has `<failure type="<error kind>">`,
//! a fresh or not-started one `<skipped>`. Written with quick-xml, so every attribute and
//! text is escaped.

use std::collections::BTreeMap;
use std::io;

use camino::Utf8Path;
use quick_xml::Writer;
use quick_xml::events::{BytesDecl, BytesEnd, BytesStart, BytesText, Event};

use super::outcome::{JobLine, Reason, RunSummary};
use crate::status::JobStatus;

/// Writes `summary` as JUnit XML to `path`, atomically.
pub(crate) fn write(path: &Utf8Path, summary: &RunSummary) -> io::Result<()> {
    let xml = render(summary)?;
    crate::atomic::write(path, &xml)
}

pub(crate) fn render(summary: &RunSummary) -> io::Result<Vec<u8>> {
    let mut suites: BTreeMap<&str, Vec<&JobLine>> = BTreeMap::new();
    for line in &summary.jobs {
        let stem = line
            .dir
            .split_once('/')
            .map_or(line.dir.as_str(), |(s, _)| s);
        suites.entry(stem).or_default().push(line);
    }
    let mut w = Writer::new_with_indent(Vec::new(), b' ', 2);
    w.write_event(Event::Decl(BytesDecl::new("1.0", Some("UTF-8"), None)))?;
    // The common schema allows no attribute on <testsuites>; the counts are per suite.
    w.write_event(Event::Start(BytesStart::new("testsuites")))?;
    for (id, (stem, lines)) in suites.iter().enumerate() {
        suite(&mut w, id, stem, lines, summary)?;
    }
    w.write_event(Event::End(BytesEnd::new("testsuites")))?;
    let mut xml = w.into_inner();
    xml.push(b'\n');
    Ok(xml)
}

fn suite(
    w: &mut Writer<Vec<u8>>,
    id: usize,
    stem: &str,
    lines: &[&JobLine],
    summary: &RunSummary,
) -> io::Result<()> {
    let failures = lines
        .iter()
        .filter(|l| l.status == JobStatus::Failed)
        .count();
    let skipped = lines.iter().filter(|l| skipped(l).is_some()).count();
    let time: f64 = lines.iter().filter_map(|l| l.history.duration_secs).sum();
    let mut start = BytesStart::new("testsuite");
    start.push_attribute(("name", stem));
    start.push_attribute(("tests", lines.len().to_string().as_str()));
    start.push_attribute(("failures", failures.to_string().as_str()));
    start.push_attribute(("errors", "0"));
    start.push_attribute(("skipped", skipped.to_string().as_str()));
    start.push_attribute(("time", seconds(time).as_str()));
    let timestamp = summary.started_at.strftime("%Y-%m-%dT%H:%M:%S").to_string();
    start.push_attribute(("timestamp", timestamp.as_str()));
    // Required by the schema; the runner does not look up its host name.
    start.push_attribute(("hostname", "localhost"));
    start.push_attribute(("id", id.to_string().as_str()));
    start.push_attribute(("package", stem));
    w.write_event(Event::Start(start))?;
    w.write_event(Event::Empty(BytesStart::new("properties")))?;
    for line in lines {
        case(w, stem, line)?;
    }
    w.write_event(Event::Empty(BytesStart::new("system-out")))?;
    w.write_event(Event::Empty(BytesStart::new("system-err")))?;
    w.write_event(Event::End(BytesEnd::new("testsuite")))?;
    Ok(())
}

fn case(w: &mut Writer<Vec<u8>>, stem: &str, line: &JobLine) -> io::Result<()> {
    let mut start = BytesStart::new("testcase");
    // A matrix job's cell follows its name, as test runners show parameters
    // (docs/output.md "JUnit"): `sales-emea [region=emea]`.
    let name = if line.params.is_empty() {
        line.job.clone()
    } else {
        let params: Vec<String> = line
            .params
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect();
        format!("{} [{}]", line.job, params.join(", "))
    };
    start.push_attribute(("name", name.as_str()));
    start.push_attribute(("classname", stem));
    let time = line.history.duration_secs.unwrap_or(0.0);
    start.push_attribute(("time", seconds(time).as_str()));
    let error = line.error.as_ref();
    if line.status == JobStatus::Failed {
        w.write_event(Event::Start(start))?;
        let message = error.map_or("", |e| e.message.as_str());
        let kind = error.map_or("failed", |e| e.kind.as_str());
        let mut failure = BytesStart::new("failure");
        failure.push_attribute(("message", message));
        failure.push_attribute(("type", kind));
        w.write_event(Event::Start(failure))?;
        let mut body = message.to_owned();
        if let Some(id) = error.and_then(|e| e.request_id.as_deref()) {
            body.push_str(&format!("\nrequest id: {id}"));
        }
        body.push_str(&format!(
            "\nsee {}",
            line.history.attempt.as_deref().unwrap_or(&line.dir)
        ));
        w.write_event(Event::Text(BytesText::new(&body)))?;
        w.write_event(Event::End(BytesEnd::new("failure")))?;
        w.write_event(Event::End(BytesEnd::new("testcase")))?;
    } else if let Some(why) = skipped(line) {
        w.write_event(Event::Start(start))?;
        let mut skip = BytesStart::new("skipped");
        skip.push_attribute(("message", why.as_str()));
        w.write_event(Event::Empty(skip))?;
        w.write_event(Event::End(BytesEnd::new("testcase")))?;
    } else {
        w.write_event(Event::Empty(start))?;
    }
    Ok(())
}

/// Why a job counts as skipped: fresh (nothing to do), not started, or interrupted.
fn skipped(line: &JobLine) -> Option<String> {
    match line.status {
        JobStatus::Fresh => Some("fresh".to_owned()),
        JobStatus::NotStarted => Some(format!(
            "not started ({})",
            line.reason.as_ref().map_or("stopped", Reason::as_str)
        )),
        JobStatus::Interrupted => Some("interrupted".to_owned()),
        JobStatus::Succeeded | JobStatus::Failed => None,
    }
}

/// `time` is an `xs:decimal` of seconds in the schema: no exponent, never negative.
fn seconds(s: f64) -> String {
    // `max` keeps -0.0 (the sum of no numbers), which would print as `-0.000`.
    let s = if s > 0.0 { s } else { 0.0 };
    format!("{s:.3}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::output::outcome::{Counts, HaltKind, JobError, LineHistory, UploadStats};
    use crate::status::ErrorKind;

    fn line(dir: &str, status: JobStatus, error: Option<(ErrorKind, &str)>) -> JobLine {
        let (stem, job) = dir.split_once('/').unwrap();
        JobLine {
            manifest: format!("jobs/{stem}.yaml"),
            job: job.into(),
            status,
            dir: dir.into(),
            fingerprint: "f".into(),
            error: error.map(|(kind, message)| JobError {
                kind,
                message: message.into(),
                request_id: Some("req_1".into()),
                attempts: None,
            }),
            reason: (status == JobStatus::NotStarted).then_some(Reason::Known(HaltKind::MaxFail)),
            params: BTreeMap::new(),
            history: LineHistory {
                duration_secs: (status == JobStatus::Succeeded || status == JobStatus::Failed)
                    .then_some(12.5),
                ..LineHistory::default()
            },
        }
    }

    #[test]
    fn junit_of_a_night_with_every_status() {
        let summary = RunSummary {
            run_id: "20261130T020000Z-0004".into(),
            runner_version: "0.1.0".into(),
            started_at: "2026-11-30T02:00:00Z".parse().unwrap(),
            finished_at: "2026-11-30T02:05:00Z".parse().unwrap(),
            exit_code: 1,
            counts: Counts::default(),
            uploads: UploadStats::default(),
            usage: crate::api::messages::Usage::default(),
            cost: crate::output::outcome::RunCost::default(),
            error: None,
            skipped: Vec::new(),
            notifications: Vec::new(),
            night: Default::default(),
            jobs: vec![
                line("churn/drivers", JobStatus::Succeeded, None),
                line(
                    "churn/summary",
                    JobStatus::Failed,
                    Some((ErrorKind::Api, "HTTP 400 <bad> & \"odd\"")),
                ),
                line("weather/fresh-one", JobStatus::Fresh, None),
                line(
                    "weather/later",
                    JobStatus::NotStarted,
                    Some((ErrorKind::NotStarted, "1 job failed (--max-fail 1)")),
                ),
            ],
        };
        let xml = String::from_utf8(render(&summary).unwrap()).unwrap();
        insta::assert_snapshot!(xml);
    }
}

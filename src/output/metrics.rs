//! Metrics (docs/output.md §2.12): a job's `metrics:` file parsed into its values, the
//! `alert:` thresholds judged against the previous successful night of the run history
//! (the page draws the trends from the same records: `html/trend.rs`).
//!
//! The file is written by the model, so nothing in it is trusted: a flat JSON object of
//! finite numbers, at most [`MAX_METRICS`] names of at most [`MAX_METRIC_NAME`] characters.

use std::collections::BTreeMap;

use camino::Utf8Path;

pub(crate) use super::metric_values::{Alert, Metrics};
use super::outcome::{JobLine, RunSummary};
use crate::manifest::AlertRule;
use crate::manifest::alert_rules::{MAX_METRIC_NAME, MAX_METRICS, check_metric_name};
use crate::status::JobStatus;

/// Largest metrics file read: a flat object of 64 short names fits in far less.
pub(crate) const MAX_METRICS_BYTES: u64 = 64 * 1024;

/// Parses a metrics file: a flat JSON object of finite numbers. The error says why not.
pub(crate) fn parse(bytes: &[u8]) -> Result<Metrics, String> {
    if bytes.len() as u64 > MAX_METRICS_BYTES {
        return Err(format!("it is over {MAX_METRICS_BYTES} bytes"));
    }
    let value: serde_json::Value =
        serde_json::from_slice(bytes).map_err(|e| format!("it is not JSON: {e}"))?;
    let serde_json::Value::Object(map) = value else {
        return Err("it is not a JSON object of numbers".into());
    };
    if map.len() > MAX_METRICS {
        return Err(format!(
            "it holds {} metrics, over the limit of {MAX_METRICS}",
            map.len()
        ));
    }
    let mut metrics = Metrics::new();
    for (name, v) in map {
        let shown: String = name.chars().take(MAX_METRIC_NAME).collect();
        check_metric_name(&name)
            .map_err(|why| format!("metric `{}`: {why}", shown.escape_debug()))?;
        match v.as_f64() {
            Some(n) if n.is_finite() => {
                metrics.insert(name, n);
            }
            _ => {
                return Err(format!(
                    "metric `{}` is not a number (the object must be flat)",
                    shown.escape_debug()
                ));
            }
        }
    }
    Ok(metrics)
}

/// The metrics of the kept result in `out/<job_id>/job.json`, for a fresh job's line.
pub(crate) fn kept(out: &Utf8Path, job_id: &str) -> Option<Metrics> {
    let record = super::records::read_job_json(&out.join(job_id).join("job.json"))?;
    if !record.succeeded() {
        return None;
    }
    record.metrics
}

/// The metrics of the most recent run in `earlier` (newest first) in which the job of
/// folder `dir` succeeded and recorded metrics.
pub(crate) fn previous<'a>(earlier: &'a [RunSummary], dir: &str) -> Option<&'a Metrics> {
    earlier.iter().find_map(|run| {
        run.jobs
            .iter()
            .find(|l| l.dir == dir && l.status == JobStatus::Succeeded)
            .and_then(|l| l.history.metrics.as_ref())
    })
}

/// Judges every line that succeeded this night against its job's rules (`rules` by job
/// folder), with `earlier` the recorded runs before this one, newest first. A fresh job
/// ran nothing tonight, so it has no new values and is not judged.
pub(crate) fn judge(
    lines: &mut [JobLine],
    rules: &BTreeMap<&str, &[AlertRule]>,
    earlier: &[RunSummary],
) {
    for line in lines.iter_mut() {
        if line.status != JobStatus::Succeeded {
            continue;
        }
        let (Some(metrics), Some(rules)) = (&line.history.metrics, rules.get(line.dir.as_str()))
        else {
            continue;
        };
        let before = previous(earlier, &line.dir);
        line.history.alerts = alerts(metrics, rules, before);
    }
}

/// The alerts of one night's `metrics` under `rules`, given the previous night's.
pub(crate) fn alerts(
    metrics: &Metrics,
    rules: &[AlertRule],
    before: Option<&Metrics>,
) -> Vec<Alert> {
    rules
        .iter()
        .filter_map(|r| {
            let value = *metrics.get(&r.metric)?;
            let previous = before.and_then(|b| b.get(&r.metric)).copied();
            let crossed = r.judge(value, previous)?;
            Some(Alert {
                metric: r.metric.clone(),
                value,
                previous,
                rule: r.rule.clone(),
                message: crossed.message,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::manifest::alert_rules::parse_rule;

    #[test]
    fn a_flat_object_of_finite_numbers_parses_and_nothing_else() {
        let m = parse(br#"{"rows": 344, "mean": 4201.75}"#).unwrap();
        assert_eq!(m["rows"], 344.0);
        assert_eq!(m["mean"], 4201.75);
        for (bad, why) in [
            (&b"[1, 2]"[..], "not a JSON object"),
            (b"{\"a\": {\"b\": 1}}", "flat"),
            (b"{\"a\": \"1\"}", "not a number"),
            (b"{\"a\": null}", "not a number"),
            (b"not json", "not JSON"),
            (b"{\"\": 1}", "empty"),
            (b"{\"a\\u0007\": 1}", "control"),
        ] {
            let e = parse(bad).unwrap_err();
            assert!(e.contains(why), "{}: {e}", String::from_utf8_lossy(bad));
        }
        let long = format!("{{\"{}\": 1}}", "x".repeat(MAX_METRIC_NAME + 1));
        assert!(parse(long.as_bytes()).unwrap_err().contains("longer"));
        let many: Vec<String> = (0..=MAX_METRICS)
            .map(|i| format!("\"m{i}\": {i}"))
            .collect();
        let many = format!("{{{}}}", many.join(","));
        assert!(
            parse(many.as_bytes())
                .unwrap_err()
                .contains("over the limit")
        );
    }

    #[test]
    fn alerts_name_the_value_the_previous_one_and_the_rule() {
        let rules: Vec<AlertRule> = [("rows", "<1000"), ("bytes", "±10%"), ("gone", ">1")]
            .into_iter()
            .map(|(m, r)| AlertRule {
                metric: m.into(),
                rule: r.into(),
                test: parse_rule(r).unwrap(),
            })
            .collect();
        let now: Metrics = [("rows".to_owned(), 500.0), ("bytes".to_owned(), 130.0)].into();
        let a = alerts(&now, &rules, None);
        assert_eq!(a.len(), 1, "no previous night: only the absolute rule");
        assert_eq!((a[0].metric.as_str(), a[0].previous), ("rows", None));
        let before: Metrics = [("bytes".to_owned(), 100.0)].into();
        let a = alerts(&now, &rules, Some(&before));
        assert_eq!(a.len(), 2);
        assert_eq!(a[1].previous, Some(100.0));
        assert_eq!(a[1].message, "bytes changed +30.0% (100 → 130), over ±10%");
    }
}

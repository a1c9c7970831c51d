//! `metrics:` and `alert:` end to end against the fake, whose scripted model writes the
//! metrics file the system prompt asks for (`files`, `bytes`, `largest_bytes` of its
//! container): values recorded in job.json and run.json, a second night whose changed input
//! crosses a threshold (alert in run.json and on the page, exit 0, exit 1 with
//! `--fail-on-alert`), a malformed or missing file, and the trend after two nights.

use fake_anthropic::FakeServer;
use serde_json::{Value, json};

use crate::harness::{Sandbox, assert_exit, manifest};

const JOB: &str = "  - name: a\n    inputs: [data/a.csv]\n    prompt: Count it.\n    metrics: metrics.json\n    alert: { bytes: \"±10%\", files: \"<1\" }\n";

fn sandbox(jobs: &str) -> Sandbox {
    let sb = Sandbox::new();
    sb.file("data/a.csv", "x,y\n1,2\n")
        .file("m.yaml", manifest(jobs));
    sb
}

fn line(summary: &Value) -> &Value {
    &summary["jobs"][0]
}

#[test]
fn metrics_are_recorded_and_a_changed_input_raises_an_alert() {
    let fake = FakeServer::start();
    let sb = sandbox(JOB);
    let (code, first) = sb.run_json(&fake, &["run", "m.yaml"]);
    assert_eq!(code, Some(0), "{first}");
    let want = json!({"bytes": 8.0, "files": 1.0, "largest_bytes": 8.0});
    assert_eq!(line(&first)["metrics"], want);
    assert!(
        line(&first).get("alerts").is_none(),
        "first night: nothing to compare"
    );
    assert_eq!(first["counts"]["alert"], 0);
    let job = sb.read_json("out/m/a/job.json");
    assert_eq!(job["metrics"], want);
    assert!(
        job["system"]
            .as_str()
            .unwrap()
            .contains("- `metrics.json`: a flat JSON object"),
        "{}",
        job["system"]
    );

    // Night two: the input doubled. Still a success, with an alert; exit 0.
    sb.file("data/a.csv", "x,y\n1,2\n3,4\n5,6\n");
    let (code, second) = sb.run_json(&fake, &["run", "m.yaml"]);
    assert_eq!(code, Some(0), "{second}");
    assert_eq!(line(&second)["status"], "succeeded");
    assert_eq!(second["counts"]["alert"], 1);
    assert_eq!(
        line(&second)["alerts"],
        json!([{
            "metric": "bytes", "value": 16.0, "previous": 8.0, "rule": "±10%",
            "message": "bytes changed +100.0% (8 → 16), over ±10%",
        }])
    );
    let page = sb.read("out/index.html");
    assert!(
        page.contains("<span class=\"badge alert\">alert</span>"),
        "{page}"
    );
    assert!(page.contains("bytes changed +100.0% (8 → 16), over ±10%"));
    assert!(page.contains("<option value=\"alert\">alert</option>"));
    assert!(
        page.contains("<polyline points=\"2.0,18.0 98.0,2.0\""),
        "the trend of bytes over two nights: {page}"
    );
    let report = sb.read("out/m/a/report.html");
    assert!(
        report.contains("<tr><td>bytes</td><td>16</td><td>8</td><td>+8 (+100.0%)</td></tr>"),
        "{report}"
    );

    // Unchanged: fresh, its kept metrics carried, nothing judged, exit 0 even when asked.
    let (code, fresh) = sb.run_json(&fake, &["run", "m.yaml", "--fail-on-alert"]);
    assert_eq!(code, Some(0), "{fresh}");
    assert_eq!(line(&fresh)["status"], "fresh");
    assert_eq!(line(&fresh)["metrics"]["bytes"], 16.0);
    assert!(line(&fresh).get("alerts").is_none());

    // Night four shrinks the input again: with --fail-on-alert, exit 1.
    sb.file("data/a.csv", "x,y\n9,9\n");
    let out = sb
        .cmd_against(&fake, ["run", "m.yaml", "--fail-on-alert"])
        .output()
        .unwrap();
    assert_exit(&out, 1);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("alert m/a: bytes changed -50.0% (16 → 8), over ±10%"),
        "{stderr}"
    );
    assert!(stderr.contains("1 alert;"), "{stderr}");
    let run = sb.read_json("out/run.json");
    assert_eq!(run["exit_code"], 1);
    assert_eq!(line(&run)["status"], "succeeded");
}

#[test]
fn a_malformed_metrics_file_fails_the_job_with_bad_metrics() {
    let fake = FakeServer::start();
    let sb = sandbox(
        "  - name: a\n    inputs: [data/a.csv]\n    prompt: \"Count it.\\n@fake output metrics.json 20\"\n    metrics: metrics.json\n",
    );
    let (code, summary) = sb.run_json(&fake, &["run", "m.yaml"]);
    assert_eq!(code, Some(1), "{summary}");
    assert_eq!(line(&summary)["error"]["kind"], "bad_metrics");
    assert!(line(&summary).get("metrics").is_none());
    let job = sb.read_json("out/m/a/job.json");
    assert_eq!(job["status"], "failed");
    assert!(
        job["error"]["message"]
            .as_str()
            .unwrap()
            .starts_with("`metrics.json`: it is not JSON"),
        "{}",
        job["error"]
    );
}

#[test]
fn a_missing_metrics_file_gets_a_repair_turn() {
    let fake = FakeServer::start();
    let sb = sandbox(
        "  - name: a\n    inputs: [data/a.csv]\n    prompt: \"Count it.\\n@fake no-output\"\n    metrics: metrics.json\n",
    );
    let (code, summary) = sb.run_json(&fake, &["run", "m.yaml"]);
    assert_eq!(code, Some(0), "{summary}");
    assert_eq!(
        fake.stats().requests.get("messages"),
        Some(&2),
        "one repair turn"
    );
    assert_eq!(line(&summary)["metrics"]["files"], 1.0);
}

#[test]
fn alert_rules_are_checked_where_they_are_written_and_not_fingerprinted() {
    let sb = sandbox(
        "  - name: a\n    inputs: [data/a.csv]\n    prompt: Count it.\n    metrics: metrics.json\n    alert: { rows: \"10%\", mean: \">x\" }\n",
    );
    let out = sb.cmd(["validate", "m.yaml"]).output().unwrap();
    assert_exit(&out, 2);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("m.yaml:9:20: alert rule `10%` has no direction"),
        "{stderr}"
    );
    assert!(
        stderr.contains("alert rule `>x`: `x` is not a number"),
        "{stderr}"
    );
    let sb = sandbox(
        "  - name: a\n    inputs: [data/a.csv]\n    prompt: Count it.\n    alert: { rows: \"<1\" }\n",
    );
    let out = sb.cmd(["validate", "m.yaml"]).output().unwrap();
    assert_exit(&out, 2);
    assert!(String::from_utf8_lossy(&out.stderr).contains("needs `metrics:`"));

    // A changed threshold re-runs nothing.
    let fake = FakeServer::start();
    let sb = sandbox(JOB);
    let (code, _) = sb.run_json(&fake, &["run", "m.yaml"]);
    assert_eq!(code, Some(0));
    sb.file("m.yaml", manifest(&JOB.replace("±10%", "±50%")));
    let (_, again) = sb.run_json(&fake, &["run", "m.yaml"]);
    assert_eq!(again["counts"]["fresh"], 1);
}

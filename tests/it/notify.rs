//! Notifications (issue 22): runner.toml's `notify` targets, against a receiver these tests
//! start on 127.0.0.1 (never the internet): Slack and JSON bodies field by field, each
//! trigger, a command target, dead endpoints that neither hold up the run past the timeout
//! nor change its exit code, and `runner notify --test`.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use fake_anthropic::FakeServer;
use serde_json::Value;

use crate::harness::Sandbox;

/// A tiny HTTP server: every request's path and JSON body, answered with `status`.
struct Receiver {
    port: u16,
    got: Arc<Mutex<Vec<(String, Value)>>>,
}

impl Receiver {
    fn start(status: u16) -> Receiver {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let got = Arc::new(Mutex::new(Vec::new()));
        let sink = Arc::clone(&got);
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                if let Some(request) = read_request(&stream) {
                    sink.lock().unwrap().push(request);
                }
                let mut stream = stream;
                let _ = write!(
                    stream,
                    "HTTP/1.1 {status} X\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok"
                );
            }
        });
        Receiver { port, got }
    }

    fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    fn bodies(&self) -> Vec<(String, Value)> {
        self.got.lock().unwrap().clone()
    }
}

fn read_request(stream: &TcpStream) -> Option<(String, Value)> {
    let mut reader = BufReader::new(stream);
    let mut line = String::new();
    reader.read_line(&mut line).ok()?;
    let path = line.split_whitespace().nth(1)?.to_owned();
    let mut length = 0;
    loop {
        let mut header = String::new();
        reader.read_line(&mut header).ok()?;
        if header.trim().is_empty() {
            break;
        }
        if let Some((k, v)) = header.split_once(':')
            && k.eq_ignore_ascii_case("content-length")
        {
            length = v.trim().parse().ok()?;
        }
    }
    let mut body = vec![0; length];
    reader.read_exact(&mut body).ok()?;
    Some((path, serde_json::from_slice(&body).ok()?))
}

/// One job that succeeds, and (with `fail`) one that fails: its input is older than its
/// `max_input_age`.
fn sandbox(fail: bool, config: &str) -> Sandbox {
    let mut jobs = "  - name: ok\n    prompt: hi\n".to_owned();
    if fail {
        jobs.push_str(
            "  - name: old\n    inputs: [old.csv]\n    max_input_age: 1h\n    prompt: hi\n",
        );
    }
    let sandbox = Sandbox::with_manifest(&jobs);
    if fail {
        sandbox.file("old.csv", "x\n");
        let file = std::fs::File::options()
            .write(true)
            .open(sandbox.root.join("old.csv"))
            .unwrap();
        file.set_modified(std::time::SystemTime::now() - Duration::from_secs(7200))
            .unwrap();
    }
    sandbox.file("runner.toml", config);
    sandbox
}

fn run(sandbox: &Sandbox, fake: &FakeServer) -> (Option<i32>, Value, String) {
    let out = sandbox
        .cmd_against(fake, ["run", "m.yaml", "-o", "out"])
        .output()
        .unwrap();
    let run = sandbox.read_json("out/run.json");
    (
        out.status.code(),
        run,
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn slack_and_json_bodies_on_failure_field_by_field() {
    let slack = Receiver::start(200);
    let json = Receiver::start(200);
    let config = format!(
        "page_url = \"https://pages.example/night?a=1&b=2\"\n\
         [[notify]]\nurl = \"{}\"\nformat = \"slack\"\non = [\"failure\"]\n\
         [[notify]]\nurl = \"{}\"\nformat = \"json\"\non = [\"failure\", \"success\"]\n",
        slack.url("/services/T0/SECRET"),
        json.url("/hook"),
    );
    let sandbox = sandbox(true, &config);
    let fake = FakeServer::start();
    let (code, record, stderr) = run(&sandbox, &fake);
    assert_eq!(code, Some(1), "{stderr}");
    assert!(
        !stderr.contains("SECRET"),
        "a webhook URL is a secret: {stderr}"
    );

    let bodies = slack.bodies();
    assert_eq!(bodies.len(), 1, "{bodies:?}");
    let (path, body) = &bodies[0];
    assert_eq!(path, "/services/T0/SECRET");
    let text = body["text"].as_str().unwrap();
    assert!(text.starts_with("*runner: 1 of 2 jobs failed"), "{text}");
    assert!(
        text.contains("<https://pages.example/night?a=1&amp;b=2|Open the morning page>"),
        "{text}"
    );
    let blocks = body["blocks"].as_array().unwrap();
    assert_eq!(blocks[0]["type"], "section");
    assert_eq!(blocks[0]["text"]["type"], "mrkdwn");
    let failures = blocks[1]["text"]["text"].as_str().unwrap();
    assert!(
        failures.starts_with("• *m/old* `stale_input` input `old.csv` is 2h old"),
        "{failures}"
    );
    assert_eq!(blocks[2]["type"], "context");
    let summary = blocks[2]["elements"][0]["text"].as_str().unwrap();
    assert!(
        summary.starts_with("2 jobs: 1 succeeded, 1 failed, 0 fresh, 0 not started; cost $"),
        "{summary}"
    );
    assert!(
        blocks[3]["text"]["text"]
            .as_str()
            .unwrap()
            .contains("Open the morning page")
    );

    let bodies = json.bodies();
    assert_eq!(bodies.len(), 1);
    let body = &bodies[0].1;
    assert_eq!(body["notification"]["trigger"], "failure");
    assert_eq!(
        body["notification"]["page_url"],
        "https://pages.example/night?a=1&b=2"
    );
    assert_eq!(body["exit_code"], 1);
    assert_eq!(body["counts"]["failed"], 1);
    assert_eq!(body["jobs"].as_array().unwrap().len(), 2);

    let notified = record["notifications"].as_array().unwrap();
    assert_eq!(notified.len(), 2);
    assert_eq!(notified[0]["target"], "127.0.0.1");
    assert_eq!(notified[0]["trigger"], "failure");
    assert_eq!(notified[0]["ok"], true);
    assert!(notified[0].get("error").is_none());
}

#[test]
fn success_fires_only_the_targets_that_ask_for_it() {
    let success = Receiver::start(200);
    let failure = Receiver::start(200);
    let config = format!(
        "[[notify]]\nurl = \"{}\"\nformat = \"slack\"\non = [\"success\"]\n\
         [[notify]]\nurl = \"{}\"\nformat = \"slack\"\non = [\"failure\", \"budget\", \"alert\"]\n",
        success.url("/s"),
        failure.url("/f"),
    );
    let sandbox = sandbox(false, &config);
    let fake = FakeServer::start();
    let (code, record, stderr) = run(&sandbox, &fake);
    assert_eq!(code, Some(0), "{stderr}");
    assert!(failure.bodies().is_empty());
    let bodies = success.bodies();
    assert_eq!(bodies.len(), 1);
    let text = bodies[0].1["text"].as_str().unwrap();
    assert!(
        text.starts_with("*runner: the job succeeded or was fresh*"),
        "{text}"
    );
    assert_eq!(record["notifications"][0]["trigger"], "success");
    assert_eq!(record["notifications"].as_array().unwrap().len(), 1);
}

#[test]
fn budget_trigger_fires_when_the_budget_stops_the_run() {
    let budget = Receiver::start(200);
    let config = format!(
        "[[notify]]\nurl = \"{}\"\nformat = \"json\"\non = [\"budget\"]\n",
        budget.url("/b")
    );
    let sandbox = Sandbox::with_manifest(
        "  - name: a\n    prompt: hi\n  - name: b\n    prompt: hi\n  - name: c\n    prompt: hi\n",
    );
    sandbox.file("runner.toml", &config);
    let fake = FakeServer::start();
    let out = sandbox
        .cmd_against(
            &fake,
            [
                "run",
                "m.yaml",
                "-o",
                "out",
                "-j",
                "1",
                "--budget-usd",
                "0.000001",
            ],
        )
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    let bodies = budget.bodies();
    assert_eq!(bodies.len(), 1, "{stderr}");
    assert_eq!(bodies[0].1["notification"]["trigger"], "budget");
}

#[test]
fn a_command_target_gets_the_summary_on_stdin() {
    let config =
        "[[notify]]\ncommand = \"cat > notified.json; echo done >&2\"\non = [\"failure\"]\n";
    let sandbox = sandbox(true, config);
    let fake = FakeServer::start();
    let (code, record, stderr) = run(&sandbox, &fake);
    assert_eq!(code, Some(1), "{stderr}");
    let got = sandbox.read_json("notified.json");
    assert_eq!(got["notification"]["trigger"], "failure");
    assert_eq!(got["counts"]["total"], 2);
    assert_eq!(record["notifications"][0]["target"], "command");
    assert_eq!(record["notifications"][0]["ok"], true);

    let failing = "[[notify]]\ncommand = \"echo nope >&2; exit 3\"\non = [\"failure\"]\n";
    sandbox.file("runner.toml", failing);
    let (code, record, stderr) = run(&sandbox, &fake);
    assert_eq!(code, Some(1), "{stderr}");
    assert_eq!(record["notifications"][0]["ok"], false);
    let error = record["notifications"][0]["error"].as_str().unwrap();
    assert_eq!(error, "the command exited with 3: nope");
    assert!(
        stderr.contains("ERROR") || stderr.contains("error"),
        "{stderr}"
    );
}

#[test]
fn dead_endpoints_do_not_hold_up_the_run_or_change_its_exit_code() {
    // Accepts connections (the kernel's backlog) and never answers.
    let silent = TcpListener::bind("127.0.0.1:0").unwrap();
    let silent_port = silent.local_addr().unwrap().port();
    // Refuses: bound, then closed.
    let refused_port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let server_error = Receiver::start(500);
    let config = format!(
        "notify_timeout = \"1s\"\n\
         [[notify]]\nurl = \"http://127.0.0.1:{silent_port}/x\"\non = [\"success\"]\n\
         [[notify]]\nurl = \"http://127.0.0.1:{refused_port}/x\"\non = [\"success\"]\n\
         [[notify]]\nurl = \"{}\"\non = [\"success\"]\n",
        server_error.url("/x")
    );
    let sandbox = sandbox(false, &config);
    let fake = FakeServer::start();
    let started = Instant::now();
    let (code, record, stderr) = run(&sandbox, &fake);
    let took = started.elapsed();
    assert_eq!(code, Some(0), "{stderr}");
    // Two attempts of 1 s at most each, concurrently, plus the run itself.
    assert!(took < Duration::from_secs(20), "{took:?}");
    let notified = record["notifications"].as_array().unwrap();
    assert_eq!(notified.len(), 3);
    assert!(notified.iter().all(|n| n["ok"] == false), "{notified:?}");
    assert_eq!(notified[0]["error"], "no answer within 1.0s");
    assert_eq!(notified[2]["error"], "HTTP 500");
    assert_eq!(server_error.bodies().len(), 2, "one retry after a 5xx");
    assert!(stderr.contains("cannot notify 127.0.0.1"), "{stderr}");
    drop(silent);
}

#[test]
fn notify_test_sends_a_sample_to_every_target() {
    let receiver = Receiver::start(200);
    let refused_port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let sandbox = Sandbox::new();
    sandbox.file(
        "runner.toml",
        format!(
            "[[notify]]\nurl = \"{}\"\nformat = \"slack\"\non = [\"success\"]\n",
            receiver.url("/t")
        ),
    );
    let out = sandbox.cmd(["notify", "--test"]).output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let bodies = receiver.bodies();
    assert_eq!(bodies.len(), 1);
    let text = bodies[0].1["text"].as_str().unwrap();
    assert!(text.starts_with("*runner notify --test:"), "{text}");

    sandbox.file(
        "other.toml",
        format!("[[notify]]\nurl = \"http://127.0.0.1:{refused_port}/\"\non = [\"failure\"]\n"),
    );
    let out = sandbox
        .cmd(["notify", "--test", "--config", "other.toml"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("failed: 127.0.0.1"));

    sandbox.file("empty.toml", "");
    let out = sandbox
        .cmd(["notify", "--test", "--config", "empty.toml"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    sandbox.file(
        "bad.toml",
        "[[notify]]\ncommand = \"x\"\non = [\"sometimes\"]\n",
    );
    let out = sandbox
        .cmd(["notify", "--test", "--config", "bad.toml"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn a_run_that_ends_in_setup_is_a_failure_notification() {
    let receiver = Receiver::start(200);
    let config = format!(
        "[[notify]]\nurl = \"{}\"\nformat = \"slack\"\non = [\"failure\"]\n",
        receiver.url("/setup")
    );
    let sandbox = sandbox(false, &config);
    let out = sandbox
        .cmd(["run", "m.yaml", "-o", "out"])
        .env("ANTHROPIC_API_KEY", crate::harness::TEST_KEY)
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(2),
        "the notification does not change it"
    );
    let bodies = receiver.bodies();
    assert_eq!(bodies.len(), 1);
    let body = &bodies[0].1;
    assert_eq!(
        body["text"].as_str().unwrap().lines().next(),
        Some("*runner: the run ended in setup, no job ran*")
    );
    let failures = body["blocks"][1]["text"]["text"].as_str().unwrap();
    assert!(failures.starts_with("• *(run)* `setup` "), "{failures}");
    assert!(failures.contains("cannot reach the API"), "{failures}");
    let record = sandbox.read_json("out/run.json");
    assert_eq!(record["exit_code"], 2);
    assert_eq!(record["notifications"][0]["ok"], true);
}

#[test]
fn the_second_night_says_what_changed_since_the_first_and_an_alert_fires() {
    let receiver = Receiver::start(200);
    let config = format!(
        "[[notify]]\nurl = \"{}\"\nformat = \"json\"\non = [\"alert\", \"success\"]\n",
        receiver.url("/j"),
    );
    let sandbox = Sandbox::with_manifest(
        "  - name: counted\n    inputs: [data.csv]\n    prompt: Count it.\n    metrics: metrics.json\n    alert: { bytes: \"±10%\" }\n  - name: steady\n    prompt: hi\n",
    );
    sandbox
        .file("data.csv", "x\n1\n")
        .file("runner.toml", &config);
    let fake = FakeServer::start();
    let (code, _, stderr) = run(&sandbox, &fake);
    assert_eq!(code, Some(0), "{stderr}");
    let first = &receiver.bodies()[0].1["notification"];
    assert_eq!(first["trigger"], "success");
    assert!(first["changes"].is_null(), "no earlier night: {first}");

    sandbox.file("data.csv", "x\n1\n2\n3\n4\n5\n");
    let (code, _, stderr) = run(&sandbox, &fake);
    assert_eq!(code, Some(0), "{stderr}");
    let bodies = receiver.bodies();
    assert_eq!(bodies.len(), 2);
    let second = &bodies[1].1;
    assert_eq!(second["notification"]["trigger"], "alert", "{second}");
    let changes = second["notification"]["changes"].as_str().unwrap();
    assert!(changes.starts_with("since run "), "{changes}");
    assert!(
        changes.ends_with(": 1 job changed (m/counted)"),
        "{changes}"
    );
    assert!(
        second["jobs"]
            .as_array()
            .unwrap()
            .iter()
            .any(|j| j["alerts"].is_array()),
        "{second}"
    );
}

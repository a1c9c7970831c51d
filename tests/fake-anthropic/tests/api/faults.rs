use std::time::Duration;

use fake_anthropic::{Config, Endpoint, FakeServer, Fault, RateLimit};

use crate::{authed, client, error_of, json_of, post_messages, request, upload};

const WAIT: Duration = Duration::from_secs(10);

#[test]
fn status_faults_are_served_in_order_then_normal_handling() {
    let server = FakeServer::start();
    server.push_faults(
        Endpoint::Messages,
        [
            Fault::rate_limited(0.25),
            Fault::status(529),
            Fault::spend_cap(),
            Fault::Status {
                status: 500,
                error_type: "api_error".into(),
                error_code: None,
                retry_after: None,
                should_retry: Some(false),
            },
        ],
    );
    let send = || {
        authed(client().post(format!("{}/v1/messages", server.base_url())))
            .header("x-stainless-retry-count", "1")
            .json(&request("hi", &[], "code_execution_20250825"))
            .send()
            .unwrap()
    };
    let resp = send();
    assert_eq!(resp.headers()["retry-after"], "0.25");
    assert_eq!(resp.headers()["retry-after-ms"], "250");
    let (status, body) = json_of(resp);
    assert_eq!(
        (status, error_of(&body).0.as_str()),
        (429, "rate_limit_error")
    );
    let (status, body) = json_of(send());
    assert_eq!(
        (status, error_of(&body).0.as_str()),
        (529, "overloaded_error")
    );
    let resp = send();
    assert!(resp.headers().get("retry-after").is_none());
    let (status, body) = json_of(resp);
    assert_eq!(
        (status, error_of(&body).1.as_deref()),
        (429, Some("enforced_spend_limit_reached"))
    );
    let resp = send();
    assert_eq!(resp.headers()["x-should-retry"], "false");
    assert_eq!(resp.status(), 500);
    assert_eq!(send().status(), 200);

    let stats = server.stats();
    assert_eq!((stats.faults_served, stats.retries_seen), (4, 5));
    assert_eq!(
        server.messages_requests().len(),
        5,
        "faulted bodies are recorded too"
    );
    let statuses: Vec<u16> = server.log().iter().map(|e| e.status).collect();
    assert_eq!(statuses, [429, 529, 429, 500, 200]);
    assert!(server.log().iter().all(|e| e.retry_count == 1));
}

#[test]
fn drop_connection_and_short_body() {
    let server = FakeServer::start();
    let up = upload(&server, "a.csv", b"1");
    let (_, msg) = post_messages(
        &server,
        &request(
            "x",
            &[up["id"].as_str().unwrap()],
            "code_execution_20250825",
        ),
    );
    let png_id = msg["content"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|b| b["content"]["content"].as_array())
        .flatten()
        .nth(1)
        .unwrap()["file_id"]
        .as_str()
        .unwrap()
        .to_owned();
    // What a download returns: the stored PNG with a fresh C2PA manifest (docs/api.md §0.5).
    let stored = server.file_bytes(&png_id).unwrap();
    let full_len = fake_anthropic::c2pa::signed_len(&stored);

    server.push_faults(
        Endpoint::Download,
        [Fault::ShortBody, Fault::DropConnection],
    );
    let url = format!("{}/v1/files/{png_id}/content", server.base_url());
    let short = authed(client().get(&url)).send().unwrap();
    assert_eq!(short.status(), 200);
    assert_eq!(short.content_length(), Some((full_len / 2) as u64));
    assert_eq!(short.bytes().unwrap().len(), full_len / 2);
    assert!(
        authed(client().get(&url)).send().is_err(),
        "connection closed without a response"
    );
    let full = authed(client().get(&url))
        .send()
        .unwrap()
        .bytes()
        .unwrap()
        .to_vec();
    assert_eq!(full.len(), full_len);
    assert_ne!(full, stored, "signed on download");
    assert_eq!(fake_anthropic::c2pa::unsign(&full), stored);
    assert_eq!(
        server.log()[3].status,
        0,
        "the dropped request has no status"
    );

    server.push_faults(Endpoint::Upload, [Fault::DropConnection]);
    let form = reqwest::blocking::multipart::Form::new().part(
        "file",
        reqwest::blocking::multipart::Part::bytes(vec![1; 1000]).file_name("x.bin"),
    );
    assert!(
        authed(client().post(format!("{}/v1/files", server.base_url())))
            .multipart(form)
            .send()
            .is_err()
    );
}

#[test]
fn raw_body_answers_200_with_exactly_that_text() {
    let server = FakeServer::start();
    server.push_faults(
        Endpoint::Messages,
        [Fault::RawBody("{\"type\": \"mess".into())],
    );
    let url = format!("{}/v1/messages", server.base_url());
    let send = || {
        authed(client().post(&url))
            .json(&request("x", &[], "code_execution_20250825"))
            .send()
            .unwrap()
    };
    let resp = send();
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["content-type"], "application/json");
    assert_eq!(resp.text().unwrap(), "{\"type\": \"mess");
    assert_eq!(send().status(), 200, "served once, then normal handling");
    assert_eq!(
        server.messages_requests().len(),
        2,
        "the body was still read"
    );

    // The same through the control API, for out-of-process clients.
    let control = client()
        .post(format!("{}/_fake/faults", server.base_url()))
        .json(&serde_json::json!({"endpoint": "get_file",
            "faults": [{"kind": "raw_body", "body": "not json"}]}))
        .send()
        .unwrap();
    assert_eq!(control.status(), 200);
    let resp = authed(client().get(format!("{}/v1/files/file_x", server.base_url())))
        .send()
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.text().unwrap(), "not json");
}

#[test]
fn hold_parks_requests_until_released() {
    let server = FakeServer::start();
    server.push_faults(Endpoint::Messages, [Fault::Hold, Fault::Hold]);
    let url = format!("{}/v1/messages", server.base_url());
    let handles: Vec<_> = (0..2)
        .map(|_| {
            let url = url.clone();
            std::thread::spawn(move || {
                authed(client().post(url))
                    .json(&request("x", &[], "code_execution_20250825"))
                    .send()
                    .unwrap()
                    .status()
            })
        })
        .collect();
    assert!(server.wait_until(WAIT, |s| s.held == 2 && s.messages_in_flight == 2));
    assert_eq!(server.stats().max_messages_in_flight, 2);
    server.release_held();
    for h in handles {
        assert_eq!(h.join().unwrap(), 200);
    }
    assert!(server.wait_until(WAIT, |s| s.messages_in_flight == 0 && s.held == 0));
}

#[test]
fn concurrency_limit_rejects_the_extra_request() {
    let server = FakeServer::start_with(Config {
        max_concurrent_messages: Some(1),
        ..Config::default()
    });
    server.push_faults(Endpoint::Messages, [Fault::Hold]);
    let url = format!("{}/v1/messages", server.base_url());
    let held = std::thread::spawn(move || {
        authed(client().post(url))
            .json(&request("x", &[], "code_execution_20250825"))
            .send()
            .unwrap()
            .status()
    });
    assert!(server.wait_until(WAIT, |s| s.held == 1));
    let resp = authed(client().post(format!("{}/v1/messages", server.base_url())))
        .json(&request("x", &[], "code_execution_20250825"))
        .send()
        .unwrap();
    assert_eq!(resp.status(), 429);
    assert!(resp.headers().contains_key("retry-after"));
    server.release_held();
    assert_eq!(held.join().unwrap(), 200);
    assert_eq!(server.stats().max_messages_in_flight, 1);
}

#[test]
fn rate_limit_bucket_and_headers() {
    let server = FakeServer::start_with(Config {
        rate_limit: Some(RateLimit {
            requests: 2,
            window: Duration::from_secs(60),
        }),
        ..Config::default()
    });
    let list = || {
        authed(client().get(format!("{}/v1/files", server.base_url())))
            .send()
            .unwrap()
    };
    let first = list();
    assert_eq!(first.headers()["anthropic-ratelimit-requests-limit"], "2");
    assert_eq!(
        first.headers()["anthropic-ratelimit-requests-remaining"],
        "1"
    );
    assert!(
        first.headers()["anthropic-ratelimit-requests-reset"]
            .to_str()
            .unwrap()
            .ends_with('Z')
    );
    assert_eq!(list().status(), 200);
    let third = list();
    assert_eq!(third.status(), 429);
    let secs: u64 = third.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    // A token bucket of 2 refilled over 60 s: one token is back after 30 s.
    assert!((29..=30).contains(&secs), "{secs}");
    assert!(third.headers().contains_key("retry-after-ms"));
    // Messages has its own bucket
    let (status, _) = post_messages(&server, &request("x", &[], "code_execution_20250825"));
    assert_eq!(status, 200);
}

#[test]
fn random_overload_is_deterministic() {
    let pattern = || {
        let server = FakeServer::start_with(Config {
            random_overload: Some((0.5, 42)),
            ..Config::default()
        });
        (0..12)
            .map(|_| post_messages(&server, &request("x", &[], "code_execution_20250825")).0)
            .collect::<Vec<u16>>()
    };
    let a = pattern();
    assert_eq!(a, pattern());
    assert!(a.contains(&529) && a.contains(&200), "{a:?}");
}

#[test]
fn delay_and_latency_apply() {
    let server = FakeServer::start_with(Config {
        files_latency: Duration::from_millis(30),
        ..Config::default()
    });
    server.push_faults(
        Endpoint::ListFiles,
        [Fault::Delay(Duration::from_millis(50))],
    );
    let started = std::time::Instant::now();
    let resp = authed(client().get(format!("{}/v1/files", server.base_url())))
        .send()
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert!(started.elapsed() >= Duration::from_millis(80));
}

#[tokio::test]
async fn works_from_async_tests() {
    let server = FakeServer::start();
    let url = format!("{}/v1/files", server.base_url());
    let status = reqwest::Client::new()
        .get(url)
        .header("x-api-key", "k")
        .header("anthropic-version", "2023-06-01")
        .send()
        .await
        .unwrap()
        .status();
    assert_eq!(status, 200);
    assert!(
        server
            .wait_until_async(WAIT, |s| s.requests_total == 1)
            .await
    );
}

#[test]
fn the_2026_error_codes_as_faults_directives_and_control_specs() {
    let server = FakeServer::start();
    server.push_faults(
        Endpoint::Messages,
        [
            Fault::storage_not_ready(),
            Fault::ramp_limit_exceeded(3.0),
            Fault::contract_spend_limit(),
        ],
    );
    let send = |text: &str| {
        authed(client().post(format!("{}/v1/messages", server.base_url())))
            .json(&request(text, &[], "code_execution_20250825"))
            .send()
            .unwrap()
    };
    let resp = send("hi");
    assert!(resp.headers().get("retry-after").is_none());
    let (status, body) = json_of(resp);
    assert_eq!(
        (status, error_of(&body)),
        (503, ("api_error".into(), Some("storage_not_ready".into())))
    );
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("Try again in a minute")
    );
    let resp = send("hi");
    assert_eq!(resp.headers()["retry-after"], "3");
    assert_eq!(resp.headers()["retry-after-ms"], "3000");
    let (status, body) = json_of(resp);
    assert_eq!(
        (status, error_of(&body)),
        (
            429,
            (
                "rate_limit_error".into(),
                Some("ramp_limit_exceeded".into())
            )
        )
    );
    let resp = send("hi");
    assert!(resp.headers().get("retry-after").is_none());
    let (status, body) = json_of(resp);
    assert_eq!(
        (status, error_of(&body)),
        (
            429,
            (
                "rate_limit_error".into(),
                Some("contract_spend_limit_reached".into())
            )
        )
    );

    // The same as directives, with a retry-after.
    let resp = send("x\n@fake fail 429 rate_limit_error ramp_limit_exceeded retry-after=2");
    assert_eq!(resp.headers()["retry-after"], "2");
    assert_eq!(
        error_of(&json_of(resp).1).1.as_deref(),
        Some("ramp_limit_exceeded")
    );
    let (status, body) = json_of(send("x\n@fake fail 503 api_error storage_not_ready"));
    assert_eq!(
        (status, error_of(&body).1.as_deref()),
        (503, Some("storage_not_ready"))
    );

    // And through the control endpoint.
    let resp = client()
        .post(format!("{}/_fake/faults", server.base_url()))
        .json(&serde_json::json!({"endpoint": "messages", "faults": [
            {"kind": "storage_not_ready"},
            {"kind": "ramp_limit_exceeded", "retry_after": 1.5},
            {"kind": "contract_spend_limit"}]}))
        .send()
        .unwrap();
    assert_eq!(resp.status(), 200);
    let codes: Vec<(u16, Option<String>)> = (0..3)
        .map(|_| {
            let (status, body) = json_of(send("hi"));
            (status, error_of(&body).1)
        })
        .collect();
    assert_eq!(
        codes,
        [
            (503, Some("storage_not_ready".into())),
            (429, Some("ramp_limit_exceeded".into())),
            (429, Some("contract_spend_limit_reached".into())),
        ]
    );
}

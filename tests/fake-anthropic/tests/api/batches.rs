use std::time::Duration;

use fake_anthropic::FakeServer;
use serde_json::{Value, json};

use crate::{authed, client, get, json_of, request, upload};

fn create(server: &FakeServer, requests: Value) -> Value {
    let (status, body) = json_of(
        authed(client().post(format!("{}/v1/messages/batches", server.base_url())))
            .json(&json!({ "requests": requests }))
            .send()
            .unwrap(),
    );
    assert_eq!(status, 200, "{body}");
    body
}

fn results(url: &str) -> Vec<Value> {
    let resp = authed(client().get(url)).send().unwrap();
    assert_eq!(resp.status(), 200);
    resp.text()
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

#[test]
fn batch_items_are_answered_by_the_scripted_model_and_recorded() {
    let server = FakeServer::start();
    let file = upload(&server, "a.csv", b"x\n1\n");
    let id = file["id"].as_str().unwrap();
    let batch = create(
        &server,
        json!([
            {"custom_id": "a", "params": request("Sum\n@fake pause 1", &[id], "code_execution_20250825")},
            {"custom_id": "b", "params": request("x\n@fake batch errored api_error 1", &[], "code_execution_20250825")},
        ]),
    );
    let batch_id = batch["id"].as_str().unwrap().to_owned();
    assert!(server.wait_until(Duration::from_secs(10), |s| s.batches_ended == 1));
    let (_, ended) = get(&server, &format!("/v1/messages/batches/{batch_id}"));
    assert_eq!(ended["processing_status"], "ended");
    assert_eq!(ended["request_counts"]["succeeded"], 1);
    assert_eq!(ended["request_counts"]["errored"], 1);
    let lines = results(ended["results_url"].as_str().unwrap());
    let a = lines.iter().find(|l| l["custom_id"] == "a").unwrap();
    assert_eq!(a["result"]["message"]["stop_reason"], "pause_turn");
    assert_eq!(a["result"]["message"]["usage"]["service_tier"], "batch");
    let b = lines.iter().find(|l| l["custom_id"] == "b").unwrap();
    assert_eq!(b["result"]["error"]["error"]["type"], "api_error");
    // `errored … 1`: the same params succeed when submitted again.
    let again = create(
        &server,
        json!([{"custom_id": "b2", "params": request("x\n@fake batch errored api_error 1", &[], "code_execution_20250825")}]),
    );
    assert!(server.wait_until(Duration::from_secs(10), |s| s.batches_ended == 2));
    let (_, ended) = get(
        &server,
        &format!("/v1/messages/batches/{}", again["id"].as_str().unwrap()),
    );
    assert_eq!(ended["request_counts"]["succeeded"], 1);
    let items = server.batch_items();
    assert_eq!(items.len(), 3);
    assert_eq!(items[0].batch_id, batch_id);
    assert_eq!(server.stats().requests.get("messages"), None);
}

#[test]
fn cancel_before_processing_cancels_every_item_and_bad_custom_ids_are_rejected() {
    let server = FakeServer::start();
    server.set_batch_delay(Duration::from_secs(600));
    let batch = create(
        &server,
        json!([{"custom_id": "a", "params": request("x", &[], "code_execution_20250825")}]),
    );
    let id = batch["id"].as_str().unwrap();
    assert_eq!(batch["processing_status"], "in_progress");
    let (status, canceled) = json_of(
        authed(client().post(format!(
            "{}/v1/messages/batches/{id}/cancel",
            server.base_url()
        )))
        .send()
        .unwrap(),
    );
    assert_eq!(status, 200);
    assert_eq!(canceled["request_counts"]["canceled"], 1);
    let lines = results(canceled["results_url"].as_str().unwrap());
    assert_eq!(lines[0]["result"]["type"], "canceled");
    let (status, _) = json_of(
        authed(client().post(format!("{}/v1/messages/batches", server.base_url())))
            .json(&json!({"requests": [{"custom_id": "no spaces", "params": {}}]}))
            .send()
            .unwrap(),
    );
    assert_eq!(status, 400);
}

#[test]
fn a_create_whose_response_is_dropped_or_held_still_creates_the_batch() {
    use fake_anthropic::{Endpoint, Fault};
    let server = FakeServer::start();
    let one =
        || json!([{"custom_id": "a", "params": request("x", &[], "code_execution_20250825")}]);
    server.push_faults(Endpoint::BatchCreate, [Fault::DropResponse]);
    let dropped = authed(client().post(format!("{}/v1/messages/batches", server.base_url())))
        .json(&json!({ "requests": one() }))
        .send();
    assert!(dropped.is_err(), "no response: {dropped:?}");
    assert_eq!(server.stats().batches_created, 1, "yet the batch exists");

    server.push_faults(Endpoint::BatchCreate, [Fault::HoldResponse]);
    let base = server.base_url();
    let held = std::thread::spawn(move || {
        authed(client().post(format!("{base}/v1/messages/batches")))
            .json(&json!({ "requests": one() }))
            .send()
            .unwrap()
            .status()
    });
    assert!(server.wait_until(Duration::from_secs(10), |s| s.held == 1));
    assert_eq!(
        server.stats().batches_created,
        2,
        "created before it is held"
    );
    server.release_held();
    assert_eq!(held.join().unwrap(), 200);
    assert_eq!(server.stats().held, 0);
}

#[test]
fn the_list_is_newest_first_and_pages_both_ways() {
    let server = FakeServer::start();
    let ids: Vec<String> = (0..5)
        .map(|n| {
            let params = request(&format!("x{n}"), &[], "code_execution_20250825");
            let b = create(&server, json!([{"custom_id": "a", "params": params}]));
            b["id"].as_str().unwrap().to_owned()
        })
        .collect();
    let page = |query: &str| {
        let (status, body) = get(&server, &format!("/v1/messages/batches?{query}"));
        assert_eq!(status, 200, "{body}");
        let got: Vec<String> = body["data"]
            .as_array()
            .unwrap()
            .iter()
            .map(|b| b["id"].as_str().unwrap().to_owned())
            .collect();
        (got, body["has_more"].as_bool().unwrap(), body)
    };
    let (first, more, body) = page("limit=2");
    assert_eq!(first, [ids[4].clone(), ids[3].clone()]);
    assert!(more);
    assert_eq!(body["last_id"], ids[3].as_str());
    assert!(body["data"][0]["created_at"].is_string());
    assert!(body["data"][0]["request_counts"]["processing"].is_u64());
    let (next, _, _) = page(&format!("limit=2&after_id={}", ids[3]));
    assert_eq!(next, [ids[2].clone(), ids[1].clone()]);
    let (last, more, _) = page(&format!("limit=2&after_id={}", ids[1]));
    assert_eq!((last, more), (vec![ids[0].clone()], false));
    // `before_id`: the page just before that batch, toward the newer ones.
    let (newer, more, _) = page(&format!("limit=2&before_id={}", ids[1]));
    assert_eq!(newer, [ids[3].clone(), ids[2].clone()]);
    assert!(more);
    let (status, _) = get(&server, "/v1/messages/batches?limit=0");
    assert_eq!(status, 400);
}

use fake_anthropic::FakeServer;
use serde_json::{Value, json};

use crate::{authed, client, error_of, get, post_messages, request, upload};

fn blocks<'a>(msg: &'a Value, kind: &str) -> Vec<&'a Value> {
    msg["content"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|b| b["type"] == kind)
        .collect()
}

fn output_ids(msg: &Value) -> Vec<String> {
    let mut ids = Vec::new();
    for b in msg["content"].as_array().unwrap() {
        if let Some(outputs) = b["content"]["content"].as_array() {
            ids.extend(
                outputs
                    .iter()
                    .map(|o| o["file_id"].as_str().unwrap().to_owned()),
            );
        }
    }
    ids
}

fn download(server: &FakeServer, id: &str) -> Vec<u8> {
    let resp = authed(client().get(format!("{}/v1/files/{id}/content", server.base_url())))
        .send()
        .unwrap();
    assert_eq!(resp.status(), 200);
    resp.bytes().unwrap().to_vec()
}

#[test]
fn inventory_turn_generates_downloadable_outputs() {
    let server = FakeServer::start();
    let a = upload(&server, "sales.csv", b"month,revenue\n1,10\n");
    let b = upload(&server, "notes.txt", b"hello");
    let ids = [a["id"].as_str().unwrap(), b["id"].as_str().unwrap()];
    let (status, msg) = post_messages(
        &server,
        &request(
            "Plot revenue.\nSecond line",
            &ids,
            "code_execution_20250825",
        ),
    );
    assert_eq!(status, 200, "{msg}");
    assert_eq!(msg["stop_reason"], "end_turn");
    assert!(msg["id"].as_str().unwrap().starts_with("msg_"));
    let container = msg["container"]["id"].as_str().unwrap();
    assert!(container.starts_with("container_"));
    assert!(msg["container"]["expires_at"].is_string());
    assert_eq!(
        msg["usage"]["server_tool_use"]["code_execution_requests"],
        4
    );

    // every call has exactly one result, paired by id, in order
    let calls = blocks(&msg, "server_tool_use");
    for call in &calls {
        let id = &call["id"];
        assert_eq!(
            msg["content"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|b| &b["tool_use_id"] == id)
                .count(),
            1
        );
    }
    let listing = blocks(&msg, "bash_code_execution_tool_result")[0]["content"]["stdout"]
        .as_str()
        .unwrap();
    let hash = blake3::hash(b"hello").to_hex().to_string();
    assert!(
        listing.contains(&format!("notes.txt\t5\t{hash}\n")),
        "{listing}"
    );

    let outputs = output_ids(&msg);
    assert_eq!(outputs.len(), 2);
    let (_, csv_meta) = get(&server, &format!("/v1/files/{}", outputs[0]));
    assert_eq!(csv_meta["filename"], "inventory.csv");
    assert_eq!(csv_meta["downloadable"], true);
    assert!(csv_meta["expires_at"].is_null());
    let csv = String::from_utf8(download(&server, &outputs[0])).unwrap();
    assert!(csv.starts_with("name,size,blake3\nnotes.txt,5,"), "{csv}");
    let png = download(&server, &outputs[1]);
    let info = png::Decoder::new(std::io::Cursor::new(png))
        .read_info()
        .unwrap()
        .info()
        .clone();
    assert_eq!((info.width, info.height), (64, 48));

    let summary = blocks(&msg, "text").last().unwrap()["text"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(summary.contains("> Plot revenue."), "{summary}");
    assert!(summary.contains("| sales.csv | 19 |"), "{summary}");

    let stats = server.stats();
    assert_eq!(stats.generated_files, outputs);
    assert_eq!(stats.containers[container].files["notes.txt"], hash);
    assert_eq!(stats.containers[container].requests, 1);

    // reuse the container: files persist, the script is an update now
    let mut again = request("Again", &[], "code_execution_20260521");
    again["container"] = json!(container);
    let (status, msg2) = post_messages(&server, &again);
    assert_eq!(status, 200, "{msg2}");
    assert_eq!(msg2["container"]["id"], container);
    let create = blocks(&msg2, "text_editor_code_execution_tool_result")[0];
    assert_eq!(create["content"]["is_file_update"], true);
    assert_eq!(server.stats().containers[container].requests, 2);

    server.expire_container(container);
    let (status, body) = post_messages(&server, &again);
    assert_eq!(
        (status, error_of(&body).0.as_str()),
        (400, "invalid_request_error")
    );
    again["container"] = json!({"id": "container_nope"});
    let (status, _) = post_messages(&server, &again);
    assert_eq!(status, 400);
    assert_eq!(server.messages_requests().len(), 4);
}

#[test]
fn request_validation() {
    let server = FakeServer::start();
    let good = request("hi", &[], "code_execution_20250825");
    let bad = |edit: &dyn Fn(&mut Value)| {
        let mut body = good.clone();
        edit(&mut body);
        let (status, body) = post_messages(&server, &body);
        (status, error_of(&body))
    };
    let invalid = |edit: &dyn Fn(&mut Value)| {
        let (status, (kind, _)) = bad(edit);
        assert_eq!((status, kind.as_str()), (400, "invalid_request_error"));
    };
    invalid(&|b| b["tools"][0]["type"] = json!("code_execution_20260104"));
    invalid(&|b| b["tools"][0]["name"] = json!("python"));
    invalid(&|b| {
        b.as_object_mut().unwrap().remove("tools");
    });
    invalid(&|b| b["temperature"] = json!(1.0));
    invalid(&|b| b["max_tokens"] = json!(0));
    invalid(&|b| b["model"] = json!(""));
    invalid(&|b| b["messages"] = json!([]));
    invalid(&|b| b["messages"][0]["role"] = json!("assistant"));
    invalid(&|b| b["messages"][0]["content"][0]["text"] = json!("@fake pasue 2"));
    invalid(&|b| b["messages"][0]["content"][0]["citations"] = json!([{"type": "char_location"}]));
    invalid(&|b| {
        b["messages"][0]["content"][0]["text"] = json!("@fake tool-error bash container_expired")
    });
    let (status, (kind, _)) = bad(&|b| {
        b["messages"][0]["content"]
            .as_array_mut()
            .unwrap()
            .push(json!({"type": "container_upload", "file_id": "file_missing"}))
    });
    assert_eq!((status, kind.as_str()), (404, "not_found_error"));

    // temperature is fine under the old version on a model that still samples
    let mut old = good.clone();
    old["temperature"] = json!(0.5);
    let send_old = |body: &Value| {
        client()
            .post(format!("{}/v1/messages", server.base_url()))
            .header("authorization", "Bearer k")
            .header("anthropic-version", "2023-06-01")
            .json(body)
            .send()
            .unwrap()
            .status()
    };
    assert_eq!(send_old(&old), 400, "Opus 4.7+ refuse non-default sampling");
    old["model"] = json!("claude-sonnet-4-6");
    assert_eq!(send_old(&old), 200);

    let file = upload(&server, "a.csv", b"1");
    let id = file["id"].as_str().unwrap();
    server.expire_file(id);
    let (status, body) = post_messages(&server, &request("hi", &[id], "code_execution_20250825"));
    assert_eq!(
        (status, error_of(&body)),
        (404, ("not_found_error".into(), Some("file_expired".into())))
    );
}

#[test]
fn pause_turn_continuations() {
    let server = FakeServer::start();
    let file = upload(&server, "a.csv", b"1,2\n");
    let mut body = request(
        "Long job\n@fake pause 2",
        &[file["id"].as_str().unwrap()],
        "code_execution_20250825",
    );
    let mut last = Value::Null;
    for round in 0..3 {
        let (status, msg) = post_messages(&server, &body);
        assert_eq!(status, 200, "{msg}");
        if round < 2 {
            assert_eq!(msg["stop_reason"], "pause_turn");
            assert_eq!(
                msg["content"].as_array().unwrap().last().unwrap()["type"],
                "server_tool_use"
            );
        } else {
            assert_eq!(msg["stop_reason"], "end_turn");
            // the paused call gets its result first
            assert_eq!(
                msg["content"][0]["tool_use_id"],
                last["content"].as_array().unwrap().last().unwrap()["id"]
            );
            assert_eq!(output_ids(&msg).len(), 2);
        }
        body["messages"]
            .as_array_mut()
            .unwrap()
            .push(json!({"role": "assistant", "content": msg["content"]}));
        last = msg;
    }
    assert_eq!(server.stats().continuations, 2);
    assert_eq!(
        server.stats().containers.len(),
        1,
        "continuations stay in the paused container"
    );

    // a modified paused turn is refused
    let mut forged = request("Long job\n@fake pause 2", &[], "code_execution_20250825");
    let mut content = body["messages"][1]["content"].clone();
    content[0]["text"] = json!("edited");
    forged["messages"]
        .as_array_mut()
        .unwrap()
        .push(json!({"role": "assistant", "content": content}));
    let (status, _) = post_messages(&server, &forged);
    assert_eq!(status, 400);
    // and so is a continuation without tools
    body["messages"].as_array_mut().unwrap().truncate(2);
    body.as_object_mut().unwrap().remove("tools");
    let (status, _) = post_messages(&server, &body);
    assert_eq!(status, 400);
}

#[test]
fn directives_shape_the_answer() {
    let server = FakeServer::start();
    let run = |text: &str, tool: &str| {
        let (status, msg) = post_messages(&server, &request(text, &[], tool));
        assert_eq!(status, 200, "{msg}");
        msg
    };
    for reason in [
        "max_tokens",
        "refusal",
        "tool_use",
        "stop_sequence",
        "model_context_window_exceeded",
    ] {
        let msg = run(
            &format!("x\n@fake stop {reason}"),
            "code_execution_20260120",
        );
        assert_eq!(msg["stop_reason"], reason);
    }
    let msg = run("x\n@fake stop max_tokens", "code_execution_20250825");
    // The call cut off used all of max_tokens; the calls before it add to the sum.
    assert!(
        msg["usage"]["output_tokens"].as_u64().unwrap() > 16000,
        "{msg}"
    );
    assert_eq!(
        msg["content"].as_array().unwrap().last().unwrap()["type"],
        "server_tool_use"
    );

    let msg = run(
        "x\n@fake tool-error bash execution_time_exceeded\n@fake tool-error text_editor file_not_found\n@fake tool-error code_execution unavailable",
        "code_execution_20250825",
    );
    let codes: Vec<&Value> = msg["content"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|b| b["content"].get("error_code"))
        .collect();
    assert_eq!(
        codes,
        ["execution_time_exceeded", "file_not_found", "unavailable"]
    );

    let msg = run(
        "x\n@fake no-output\n@fake output ../../etc/passwd 12\n@fake output \"ctl\\u0007.bin\" 3",
        "code_execution_20250825",
    );
    let outputs = output_ids(&msg);
    assert_eq!(outputs.len(), 2);
    let names: Vec<String> = outputs
        .iter()
        .map(|id| {
            get(&server, &format!("/v1/files/{id}")).1["filename"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect();
    assert_eq!(names, ["../../etc/passwd", "ctl\u{7}.bin"]);
    assert_eq!(server.file_bytes(&outputs[0]).unwrap().len(), 12);

    let msg = run("x\n@fake no-output", "code_execution_20250825");
    assert!(output_ids(&msg).is_empty());

    let legacy = run("x", "code_execution_20250522");
    assert!(blocks(&legacy, "bash_code_execution_tool_result").is_empty());
    let results = blocks(&legacy, "code_execution_tool_result");
    assert_eq!(results[1]["content"]["type"], "code_execution_result");
    assert_eq!(
        results[1]["content"]["content"][0]["type"],
        "code_execution_output"
    );
    let encrypted = run("x\n@fake encrypted", "code_execution_20250522");
    let results = blocks(&encrypted, "code_execution_tool_result");
    assert_eq!(
        results[1]["content"]["type"],
        "encrypted_code_execution_result"
    );
    assert_eq!(output_ids(&encrypted).len(), 2);

    let (status, body) = post_messages(
        &server,
        &request(
            "x\n@fake fail 402 billing_error",
            &[],
            "code_execution_20250825",
        ),
    );
    assert_eq!((status, error_of(&body).0.as_str()), (402, "billing_error"));
    let (status, body) = post_messages(
        &server,
        &request(
            "x\n@fake fail 429 rate_limit_error enforced_spend_limit_reached",
            &[],
            "code_execution_20250825",
        ),
    );
    assert_eq!(
        error_of(&body).1.as_deref(),
        Some("enforced_spend_limit_reached")
    );
    assert_eq!(status, 429);
}

#[test]
fn streaming_replays_the_message_as_sse() {
    let server = FakeServer::start();
    let mut body = request(
        "stream\n@fake output big.txt 100",
        &[],
        "code_execution_20250825",
    );
    body["stream"] = json!(true);
    let resp = authed(client().post(format!("{}/v1/messages", server.base_url())))
        .json(&body)
        .send()
        .unwrap();
    assert!(
        resp.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/event-stream")
    );
    let text = resp.text().unwrap();
    let events: Vec<Value> = text
        .lines()
        .filter_map(|l| l.strip_prefix("data: "))
        .map(|d| serde_json::from_str(d).unwrap())
        .collect();
    assert_eq!(events[0]["type"], "message_start");
    assert_eq!(events.last().unwrap()["type"], "message_stop");
    let delta = events
        .iter()
        .find(|e| e["type"] == "message_delta")
        .unwrap();
    assert_eq!(delta["delta"]["stop_reason"], "end_turn");
    // reassemble the last text block
    let starts: Vec<&Value> = events
        .iter()
        .filter(|e| e["type"] == "content_block_start")
        .collect();
    let last = starts.last().unwrap()["index"].clone();
    let text: String = events
        .iter()
        .filter(|e| e["type"] == "content_block_delta" && e["index"] == last)
        .map(|e| e["delta"]["text"].as_str().unwrap())
        .collect();
    assert!(text.contains("> stream"), "{text}");
    assert!(text.contains("big.txt"), "{text}");
}

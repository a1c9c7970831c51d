//! `container.skills` in Messages and batch items (docs/api.md §8.16).

use std::time::Duration;

use fake_anthropic::{Config, FakeServer};
use serde_json::{Value, json};

use crate::skills::{SKILL_MD, create_skill, new_version};
use crate::{authed, client, error_of, get, json_of, post_messages, request, upload};

const TOOL: &str = "code_execution_20250825";

fn with_container(mut body: Value, container: Value) -> Value {
    body["container"] = container;
    body
}

fn output_names(server: &FakeServer, message: &Value) -> Vec<String> {
    let mut names = Vec::new();
    for block in message["content"].as_array().unwrap() {
        for out in block["content"]["content"].as_array().into_iter().flatten() {
            if let Some(id) = out["file_id"].as_str() {
                let (_, meta) = get(server, &format!("/v1/files/{id}"));
                names.push(meta["filename"].as_str().unwrap().to_owned());
            }
        }
    }
    names
}

fn final_text(message: &Value) -> String {
    let blocks = message["content"].as_array().unwrap();
    blocks.last().unwrap()["text"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

#[test]
fn loaded_skills_resolve_in_the_response_and_write_office_files() {
    let server = FakeServer::start();
    let skill = create_skill(&server, SKILL_MD);
    let id = skill["id"].as_str().unwrap();
    let file = upload(&server, "sales.csv", b"month,revenue\n1,10\n");
    let skills = json!([
        {"type": "anthropic", "skill_id": "xlsx", "version": "latest"},
        {"type": "anthropic", "skill_id": "pptx", "version": "20251013"},
        {"type": "custom", "skill_id": id},
    ]);
    let body = with_container(
        request("Build the deck", &[file["id"].as_str().unwrap()], TOOL),
        json!({"skills": skills}),
    );
    let (status, message) = post_messages(&server, &body);
    assert_eq!(status, 200, "{message}");
    assert_eq!(
        message["container"]["skills"],
        json!([
            {"type": "anthropic", "skill_id": "xlsx", "version": "20261104"},
            {"type": "anthropic", "skill_id": "pptx", "version": "20251013"},
            {"type": "custom", "skill_id": id, "version": skill["latest_version_id"]},
        ])
    );
    let names = output_names(&server, &message);
    assert_eq!(
        names,
        ["deck.pptx", "inventory.csv", "plot.png", "workbook.xlsx"]
    );
    let xlsx_id = server.stats().generated_files[3].clone();
    let (_, meta) = get(&server, &format!("/v1/files/{xlsx_id}"));
    assert_eq!(
        meta["mime_type"],
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    );
    assert_eq!(meta["downloadable"], true);
    let download =
        authed(client().get(format!("{}/v1/files/{xlsx_id}/content", server.base_url())))
            .send()
            .unwrap();
    assert_eq!(download.status(), 200);
    assert!(download.bytes().unwrap().starts_with(b"PK"), "a zip");
    assert!(final_text(&message).contains("Applied skill house-style."));
    let carried = server.stats().skills_carried;
    assert_eq!(carried.len(), 1);
    assert_eq!(carried[0].skills.as_ref(), Some(&skills));
    assert!(!carried[0].batch && carried[0].container_id.is_none());

    let (_, plain) = post_messages(&server, &request("no skills", &[], TOOL));
    assert!(plain["container"]["skills"].is_null(), "{plain}");
    assert!(
        plain["container"]
            .as_object()
            .unwrap()
            .contains_key("skills")
    );
    let docx = with_container(
        request("a report\n@fake no-output", &[], TOOL),
        json!({"skills": [{"type": "anthropic", "skill_id": "docx"}, {"type": "anthropic", "skill_id": "pdf"}]}),
    );
    let (_, none) = post_messages(&server, &docx);
    assert!(
        output_names(&server, &none).is_empty(),
        "no-output: no default outputs"
    );
    let (_, made) = post_messages(
        &server,
        &with_container(request("a report", &[], TOOL), docx["container"].clone()),
    );
    let names = output_names(&server, &made);
    assert!(
        names.contains(&"report.docx".to_owned()) && names.contains(&"report.pdf".to_owned()),
        "{names:?}"
    );
}

/// (container, tools to send instead, status, error type, what the message says).
type Refusal = (Value, Option<Value>, u16, &'static str, &'static str);

fn list_refusals() -> Vec<Refusal> {
    let xlsx = json!({"type": "anthropic", "skill_id": "xlsx"});
    let nine: Vec<Value> = (0..9)
        .map(|i| json!({"type": "custom", "skill_id": format!("skill_{i}")}))
        .collect();
    vec![
        (
            json!({"skills": [xlsx]}),
            Some(json!([])),
            400,
            "invalid_request_error",
            "skills can only be used when a code execution tool is enabled",
        ),
        (
            json!({"skills": nine}),
            None,
            400,
            "invalid_request_error",
            "at most 8 skills",
        ),
        (
            json!({"skills": [xlsx, xlsx]}),
            None,
            400,
            "invalid_request_error",
            "more than once",
        ),
    ]
}

fn resolution_refusals(id: &str, other_version: &str) -> Vec<Refusal> {
    vec![
        (
            json!({"skills": [{"type": "anthropic", "skill_id": "csv"}]}),
            None,
            400,
            "invalid_request_error",
            "`csv` is not an Anthropic skill",
        ),
        (
            json!({"skills": [{"type": "anthropic", "skill_id": "xlsx", "version": "20200101"}]}),
            None,
            400,
            "invalid_request_error",
            "has no version `20200101`",
        ),
        (
            json!({"skills": [{"type": "custom", "skill_id": "skill_01nope"}]}),
            None,
            404,
            "not_found_error",
            "`skill_01nope` not found",
        ),
        (
            json!({"skills": [{"type": "custom", "skill_id": id, "version": "skver_01nope"}]}),
            None,
            404,
            "not_found_error",
            "has no version `skver_01nope`",
        ),
        (
            json!({"skills": [{"type": "custom", "skill_id": id, "version": other_version}]}),
            None,
            404,
            "not_found_error",
            "has no version",
        ),
        (
            json!({"skills": [{"type": "plugin", "skill_id": "x"}]}),
            None,
            400,
            "invalid_request_error",
            "container.skills.0.type",
        ),
        (
            json!({"skills": "xlsx"}),
            None,
            400,
            "invalid_request_error",
            "valid list",
        ),
        (
            json!({"skills": [{"skill_id": "xlsx"}]}),
            None,
            400,
            "invalid_request_error",
            "Field required",
        ),
    ]
}

#[test]
fn container_rules_refuse_with_the_api_errors() {
    let server = FakeServer::start();
    let skill = create_skill(&server, SKILL_MD);
    let id = skill["id"].as_str().unwrap();
    let other = create_skill(&server, SKILL_MD);
    let other_version = other["latest_version_id"].as_str().unwrap();
    let mut cases = list_refusals();
    cases.extend(resolution_refusals(id, other_version));
    for (container, tools, status, error_type, needle) in cases {
        let mut body = with_container(request("x", &[], TOOL), container.clone());
        if let Some(tools) = tools {
            body["tools"] = tools;
        }
        let (got, answer) = post_messages(&server, &body);
        assert_eq!(got, status, "{container}: {answer}");
        assert_eq!(error_of(&answer).0, error_type, "{container}");
        let message = answer["error"]["message"].as_str().unwrap();
        assert!(message.contains(needle), "{container}: {message}");
    }
    assert_eq!(server.stats().containers.len(), 0, "no container was made");
}

#[test]
fn a_container_keeps_its_skills_across_later_requests() {
    let server = FakeServer::start();
    let skill = create_skill(&server, SKILL_MD);
    let id = skill["id"].as_str().unwrap();
    let skills = json!([{"type": "anthropic", "skill_id": "xlsx"}, {"type": "custom", "skill_id": id, "version": "latest"}]);
    let first_turn = request("Long job\n@fake pause 1", &[], TOOL);
    let (_, paused) = post_messages(
        &server,
        &with_container(first_turn.clone(), json!({"skills": skills})),
    );
    assert_eq!(paused["stop_reason"], "pause_turn");
    let cid = paused["container"]["id"].as_str().unwrap().to_owned();
    let mounted = paused["container"]["skills"].clone();
    // A new version after the container was made: the container keeps what it mounted.
    assert_eq!(new_version(&server, id, SKILL_MD).0, 200);
    let mut continued = first_turn.clone();
    continued["messages"]
        .as_array_mut()
        .unwrap()
        .push(json!({"role": "assistant", "content": paused["content"]}));
    let same = json!({"id": cid, "skills": skills});
    let (status, done) = post_messages(&server, &with_container(continued.clone(), same.clone()));
    assert_eq!(status, 200, "{done}");
    assert_eq!(done["container"]["id"], cid);
    assert_eq!(done["container"]["skills"], mounted);
    let changed = [
        json!(cid),
        json!({"id": cid}),
        json!({"id": cid, "skills": [{"type": "anthropic", "skill_id": "xlsx"}]}),
        json!({"id": cid, "skills": [{"type": "anthropic", "skill_id": "pptx"}, {"type": "custom", "skill_id": id}]}),
    ];
    for container in changed {
        let (status, body) = post_messages(
            &server,
            &with_container(continued.clone(), container.clone()),
        );
        assert_eq!(status, 400, "{container}: {body}");
        let message = body["error"]["message"].as_str().unwrap();
        assert!(message.contains("cannot change"), "{message}");
    }
    // Version omitted is `latest`: the same list.
    let omitted = json!({"id": cid, "skills": [{"type": "anthropic", "skill_id": "xlsx", "version": "latest"}, {"type": "custom", "skill_id": id}]});
    assert_eq!(
        post_messages(&server, &with_container(continued, omitted)).0,
        200
    );
    // A container made without skills cannot gain any.
    let (_, plain) = post_messages(&server, &request("plain", &[], TOOL));
    let plain_id = plain["container"]["id"].as_str().unwrap();
    let body = with_container(
        request("more", &[], TOOL),
        json!({"id": plain_id, "skills": skills}),
    );
    assert_eq!(post_messages(&server, &body).0, 400);
    assert_eq!(
        post_messages(
            &server,
            &with_container(request("more", &[], TOOL), json!(plain_id))
        )
        .0,
        200
    );
    let carried = server.stats().skills_carried;
    assert_eq!(carried[1].container_id.as_deref(), Some(cid.as_str()));
    assert_eq!(carried[1].skills.as_ref(), Some(&skills));
    assert_eq!(carried[2].skills, None, "the bare id carried none");
}

#[test]
fn a_blocked_custom_skill_is_a_409() {
    let server = FakeServer::start();
    let skill = create_skill(&server, SKILL_MD);
    let id = skill["id"].as_str().unwrap();
    assert!(server.block_skill(id));
    assert!(!server.set_skill_blocked("skill_01nope", true));
    let body = with_container(
        request("x", &[], TOOL),
        json!({"skills": [{"type": "custom", "skill_id": id}]}),
    );
    let (status, answer) = post_messages(&server, &body);
    assert_eq!(status, 409, "{answer}");
    assert_eq!(
        error_of(&answer),
        (
            "conflict_error".to_owned(),
            Some("skill_read_blocked_undecryptable".to_owned())
        )
    );
    assert!(answer["error"]["message"].as_str().unwrap().contains(id));
    assert!(server.set_skill_blocked(id, false));
    assert_eq!(post_messages(&server, &body).0, 200);
}

fn batch(server: &FakeServer, requests: Value) -> Vec<Value> {
    let ended = server.stats().batches_ended;
    let (status, created) = json_of(
        authed(client().post(format!("{}/v1/messages/batches", server.base_url())))
            .json(&json!({ "requests": requests }))
            .send()
            .unwrap(),
    );
    assert_eq!(status, 200, "{created}");
    assert!(server.wait_until(Duration::from_secs(10), |s| s.batches_ended == ended + 1));
    let url = format!(
        "{}/v1/messages/batches/{}/results",
        server.base_url(),
        created["id"].as_str().unwrap()
    );
    let text = authed(client().get(url)).send().unwrap().text().unwrap();
    let mut lines: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    lines.sort_by_key(|l| l["custom_id"].as_str().unwrap().to_owned());
    lines
}

#[test]
fn batch_items_with_skills_are_refused_only_when_told() {
    let server = FakeServer::start_with(Config {
        skills_in_batches_refused: true,
        ..Config::default()
    });
    let skills = json!({"skills": [{"type": "anthropic", "skill_id": "xlsx"}]});
    let items = json!([
        {"custom_id": "a-skills", "params": with_container(request("x", &[], TOOL), skills.clone())},
        {"custom_id": "b-plain", "params": request("x", &[], TOOL)},
    ]);
    let results = batch(&server, items.clone());
    assert_eq!(results[0]["result"]["type"], "errored");
    let error = &results[0]["result"]["error"]["error"];
    assert_eq!(error["type"], "invalid_request_error");
    assert!(
        error["message"]
            .as_str()
            .unwrap()
            .contains("not supported in Message Batches")
    );
    assert_eq!(results[1]["result"]["type"], "succeeded");
    let carried = server.stats().skills_carried;
    assert!(carried.iter().all(|c| c.batch) && carried.len() == 2);
    assert_eq!(carried[0].skills, Some(skills["skills"].clone()));

    server.set_skills_in_batches_refused(false);
    let results = batch(&server, items);
    let message = &results[0]["result"]["message"];
    assert_eq!(results[0]["result"]["type"], "succeeded", "{}", results[0]);
    assert_eq!(message["container"]["skills"][0]["version"], "20261104");
    assert!(output_names(&server, message).contains(&"workbook.xlsx".to_owned()));
}

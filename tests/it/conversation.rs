//! The conversation is append-only, as the prefix check of today's models demands
//! (docs/api.md §3.7): over the bodies the fake received, every request of a job carries
//! the same `model`, `system`, `tools` and settings, byte for byte, and its `messages` are
//! the previous request's followed by the previous response's content, unchanged, then
//! (for a follow-up or a repair turn, never for a `pause_turn` continuation) one new user
//! message. Online and in batch mode, on a model that thinks, with the fake's strict prefix
//! mode on.

use fake_anthropic::FakeServer;
use serde_json::Value;

use crate::harness::Sandbox;

/// A job with a `pause_turn` continuation (turn 1), a follow-up (turn 2) and a repair
/// turn (turn 3: `summary.md` appears only there), on a current model.
fn sandbox() -> Sandbox {
    let sb = Sandbox::new();
    sb.file("data/a.csv", "x,y\n1,2\n").file(
        "m.yaml",
        concat!(
            "version: 1\n",
            "defaults:\n  model: claude-sonnet-5-5\n",
            "jobs:\n",
            "  - name: a\n    inputs: [data/a.csv]\n",
            "    prompt: \"Summarise.\\n@fake pause 1\\n@fake no-output\\n@fake turn 3 output summary.md 300\"\n",
            "    follow_up: [\"Now the details.\\n@fake no-output\"]\n",
            "    expect: [summary.md]\n",
        ),
    );
    sb
}

/// JSON text in the order its keys arrived (serde_json keeps it): "the same bytes".
fn text(v: &Value) -> String {
    serde_json::to_string(v).unwrap()
}

/// Every key of a body but the two that may change between requests of one job.
fn settings(body: &Value) -> Vec<(String, String)> {
    body.as_object()
        .unwrap()
        .iter()
        .filter(|(k, _)| !matches!(k.as_str(), "messages" | "container"))
        .map(|(k, v)| (k.clone(), text(v)))
        .collect()
}

/// What each request added after the previous request's messages and response:
/// `None` for a continuation (nothing), else the new user message's text.
fn assert_append_only(bodies: &[Value], responses: &[Value]) -> Vec<Option<String>> {
    assert_eq!(bodies.len(), responses.len());
    let first = settings(&bodies[0]);
    for key in ["model", "system", "tools"] {
        assert!(first.iter().any(|(k, _)| k == key), "{key} is sent");
    }
    let mut added = Vec::new();
    for (i, pair) in bodies.windows(2).enumerate() {
        let (before, after) = (&pair[0], &pair[1]);
        assert_eq!(
            settings(after),
            first,
            "request {} changed a setting",
            i + 1
        );
        let old = before["messages"].as_array().unwrap();
        let new = after["messages"].as_array().unwrap();
        let mut expected: Vec<String> = old.iter().map(text).collect();
        expected.push(text(&serde_json::json!({
            "role": "assistant",
            "content": responses[i]["content"],
        })));
        let sent: Vec<String> = new.iter().map(text).collect();
        assert!(
            sent.len() >= expected.len() && sent[..expected.len()] == expected[..],
            "request {} does not start with request {i}'s messages and its answer, unchanged:\n{}\n---\n{}",
            i + 1,
            expected.join("\n"),
            sent.join("\n")
        );
        added.push(match &new[expected.len()..] {
            [] => None,
            [user] => {
                assert_eq!(user["role"], "user", "request {}", i + 1);
                Some(user["content"][0]["text"].as_str().unwrap().to_owned())
            }
            more => panic!("request {} added {} messages", i + 1, more.len()),
        });
    }
    added
}

/// The shape of the job: a continuation, then the follow-up, then the repair turn.
fn assert_shape(added: &[Option<String>]) {
    assert_eq!(added.len(), 3, "{added:?}");
    assert_eq!(added[0], None, "the continuation adds no user message");
    assert!(
        added[1]
            .as_deref()
            .is_some_and(|t| t.starts_with("Now the details.")),
        "{added:?}"
    );
    assert!(
        added[2]
            .as_deref()
            .is_some_and(|t| t.starts_with("These deliverables are missing")),
        "{added:?}"
    );
}

/// Claude's thinking came back (signed; with text, as the runner asks for it on a model
/// that thinks), went back in later requests, and the report shows it as working notes.
fn assert_thinking_kept(sb: &Sandbox, bodies: &[Value]) {
    assert!(bodies[0]["thinking"].is_object(), "{}", bodies[0]);
    let responses = responses(sb);
    let thinking_of = |r: &Value| -> Vec<Value> {
        r["content"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|b| b["type"] == "thinking")
            .cloned()
            .collect()
    };
    let thinking: Vec<Value> = responses.iter().flat_map(thinking_of).collect();
    assert!(!thinking.is_empty(), "the fake thinks on claude-sonnet-5-5");
    for block in &thinking {
        assert!(
            block["signature"].as_str().is_some_and(|s| !s.is_empty()),
            "{block}"
        );
    }
    // Every block of every answer but the last went back, in the last request.
    let last = text(bodies.last().unwrap());
    let (_, sent_back) = responses.split_last().unwrap();
    for block in sent_back.iter().flat_map(thinking_of) {
        assert!(last.contains(&text(&block)), "sent back: {block}");
    }
    let noted = thinking
        .iter()
        .filter_map(|b| b["thinking"].as_str())
        .find(|t| !t.trim().is_empty())
        .expect("a thinking block with text");
    let report = sb.read("out/m/a/report.md");
    assert!(report.contains("> *Working notes*"), "{report}");
    let first_line = noted.lines().next().unwrap();
    assert!(report.contains(first_line), "{first_line:?} in {report}");
}

fn responses(sb: &Sandbox) -> Vec<Value> {
    sb.read_json("out/m/a/messages.json")["responses"]
        .as_array()
        .unwrap()
        .clone()
}

#[test]
fn continuation_follow_up_and_repair_only_append() {
    let fake = FakeServer::start();
    fake.set_strict_prefix(true);
    let sb = sandbox();
    let (code, summary) = sb.run_json(&fake, &["run", "m.yaml"]);
    assert_eq!(code, Some(0), "{summary}");
    let job = sb.read_json("out/m/a/job.json");
    let stops: Vec<&str> = job["requests"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["stop_reason"].as_str().unwrap())
        .collect();
    assert_eq!(stops, ["pause_turn", "end_turn", "end_turn", "end_turn"]);

    let bodies = fake.messages_requests();
    let added = assert_append_only(&bodies, &responses(&sb));
    assert_shape(&added);
    assert_thinking_kept(&sb, &bodies);
    // The paused turn is the last message of the continuation, as received.
    let paused = bodies[1]["messages"].as_array().unwrap().last().unwrap();
    assert_eq!(paused["role"], "assistant");
    assert_eq!(
        text(&paused["content"]),
        text(&responses(&sb)[0]["content"])
    );
    // Every later request names the job's container; messages.json holds the whole
    // conversation: the last request's messages and the final answer.
    for body in &bodies[1..] {
        assert_eq!(body["container"], job["container_id"]);
    }
    let kept = sb.read_json("out/m/a/messages.json")["messages"].clone();
    let last = bodies.last().unwrap()["messages"].as_array().unwrap();
    assert_eq!(kept.as_array().unwrap().len(), last.len() + 1);
    assert_eq!(text(&kept[last.len() - 1]), text(last.last().unwrap()));
}

#[test]
fn in_batch_mode_the_items_only_append_too() {
    let fake = FakeServer::start();
    fake.set_strict_prefix(true);
    let sb = sandbox();
    let (code, summary) = sb.run_json(&fake, &["run", "m.yaml", "--batch"]);
    assert_eq!(code, Some(0), "{summary}");
    let items: Vec<Value> = fake.batch_items().into_iter().map(|i| i.params).collect();
    let added = assert_append_only(&items, &responses(&sb));
    assert_shape(&added);
    assert_thinking_kept(&sb, &items);
}

/// At `thinking_display: omitted` the thinking blocks come back with empty text: they go
/// back all the same (the strict fake checks each), and the reports show none of them.
#[test]
fn empty_thinking_blocks_go_back_and_are_not_shown() {
    let fake = FakeServer::start();
    fake.set_strict_prefix(true);
    let sb = sandbox();
    let yaml = sb.read("m.yaml").replace(
        "  model: claude-sonnet-5-5\n",
        "  model: claude-sonnet-5-5\n  thinking_display: omitted\n",
    );
    sb.file("m.yaml", yaml);
    let (code, summary) = sb.run_json(&fake, &["run", "m.yaml"]);
    assert_eq!(code, Some(0), "{summary}");
    let bodies = fake.messages_requests();
    assert_eq!(bodies[0]["thinking"]["display"], "omitted", "{}", bodies[0]);
    assert_shape(&assert_append_only(&bodies, &responses(&sb)));
    let empty = responses(&sb)
        .iter()
        .flat_map(|r| r["content"].as_array().unwrap().clone())
        .filter(|b| b["type"] == "thinking" && b["thinking"] == "")
        .count();
    assert!(
        empty > 0,
        "the fake sends empty thinking at display omitted"
    );
    let report = sb.read("out/m/a/report.md");
    assert!(!report.contains("Working notes"), "{report}");
    let transcript = sb.read("out/m/a/transcript.md");
    assert!(
        transcript.contains(&format!("*{empty} thinking blocks not shown")),
        "{transcript}"
    );
}

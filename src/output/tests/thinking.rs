//! Thinking in the documents (docs/output.md §7, §8, §14): notes with text shown as
//! Claude's working notes in order with the calls, empty and redacted thinking left out of
//! the reports but kept in messages.json, and a turn with no answer text still readable.

use camino::Utf8PathBuf;
use serde_json::{Value, json};

use super::*;
use crate::output::html::write_site;

#[test]
fn report_shows_working_notes_in_order() {
    let report = report_md(&thinking());
    insta::assert_snapshot!(report);
    let notes = report.find("I'll list the files first").unwrap();
    let next = report.find("One CSV, 12 rows").unwrap();
    let answer = report.find("Revenue grew").unwrap();
    assert!(notes < next && next < answer, "{report}");
    assert!(!report.contains("EqQB"), "no signature is shown: {report}");
    assert!(!report.contains("EmwK"), "nor redacted thinking: {report}");
    assert!(!report.contains('\u{1b}'), "{report}");
}

#[test]
fn a_turn_of_only_thinking_and_tool_calls_says_so() {
    let report = report_md(&thinking());
    let turn2 = &report[report.find("## Turn 2").unwrap()..];
    assert!(turn2.contains("Re-plotting on a log scale."), "{turn2}");
    assert!(
        turn2.contains(
            "*No answer text in this turn: it ran 1 code execution (working notes above); \
             `transcript.md` shows each.*"
        ),
        "{turn2}"
    );
    // Without notes, the count alone.
    let mut o = thinking();
    o.exchanges[2].response["content"][0]["thinking"] = json!("");
    let report = report_md(&o);
    assert!(
        report.contains(
            "*No answer text in this turn: it ran 1 code execution; `transcript.md` shows each.*"
        ),
        "{report}"
    );
}

#[test]
fn transcript_shows_working_notes_between_the_calls() {
    let t = transcript_md(&thinking());
    insta::assert_snapshot!(t);
    let order = [
        "I'll list the files first",
        "ls -la $INPUT_DIR",
        "One CSV, 12 rows",
        "python /tmp/plot.py\n",
        "Odd text",
        "Re-plotting on a log scale.",
        "python /tmp/plot.py --log",
    ];
    let at: Vec<usize> = order
        .iter()
        .map(|s| t.find(s).unwrap_or_else(|| panic!("{s:?} in {t}")))
        .collect();
    assert!(at.windows(2).all(|w| w[0] < w[1]), "{at:?}\n{t}");
    assert!(
        t.contains("*3 thinking blocks not shown: the API sent them without text"),
        "two empty, one redacted: {t}"
    );
}

#[test]
fn messages_json_keeps_every_block_as_received() {
    let o = thinking();
    let record = serde_json::to_value(super::super::records::messages_record(&o)).unwrap();
    let responses: Vec<&Value> = o.exchanges.iter().map(|e| &e.response).collect();
    assert_eq!(record["responses"], json!(responses));
    assert_eq!(
        record["responses"][0]["content"][0],
        json!({"type": "thinking", "thinking": "", "signature": "EqQBCkgIBxABGAIiQ…empty"})
    );
    assert_eq!(
        record["responses"][1]["content"][1]["type"],
        "redacted_thinking"
    );
}

#[test]
fn report_html_sets_the_notes_apart_and_keeps_them_inert() {
    let tmp = tempfile::tempdir().unwrap();
    let out = Utf8PathBuf::try_from(tmp.path().to_path_buf()).unwrap();
    let o = thinking();
    let staging = Staging::new(&out, &o.job.id).unwrap();
    crate::atomic::write(&staging.files_dir().join("revenue_by_month.png"), b"png").unwrap();
    let dir = write_job(staging, &o).unwrap();
    write_site(&out).unwrap();
    let page = fs_err::read_to_string(dir.join("report.html")).unwrap();
    let notes = page
        .matches("<blockquote class=\"markdown-alert-note\">")
        .count();
    // Report: 4 notes with text; transcript: the same 4.
    assert_eq!(notes, 8, "{page}");
    assert!(!page.contains("<script>alert"), "{page}");
    assert!(
        page.contains("&lt;script&gt;alert(1)&lt;/script&gt;"),
        "{page}"
    );
    // The note's unclosed fence ends with its quote: the answer is still a paragraph.
    assert!(
        page.contains("<p>Revenue grew <strong>12 %</strong>"),
        "{page}"
    );
}

/// `requests[].usage` in job.json: everything the API sent, with the priced counters as
/// the runner read them (docs/output.md §2.8).
#[test]
fn job_json_keeps_each_usage_in_full() {
    let mut o = thinking();
    o.exchanges[0].response["usage"] = json!({
        "input_tokens": null,
        "cache_creation_input_tokens": 10,
        "cache_read_input_tokens": 20,
        "cache_creation": {"ephemeral_5m_input_tokens": 10, "ephemeral_1h_input_tokens": 0, "ephemeral_24h_input_tokens": 0},
        "output_tokens": 900,
        "output_tokens_details": {"thinking_tokens": 700},
        "server_tool_use": {"web_search_requests": 0, "web_fetch_requests": 0},
        "service_tier": "standard",
        "inference_geo": "us",
        "speed": "fast",
        "iterations": [
            {"type": "message", "input_tokens": 1000, "output_tokens": 400, "cache_creation_input_tokens": 0, "cache_read_input_tokens": 0},
            {"type": "message", "input_tokens": 2000, "output_tokens": 500, "cache_creation_input_tokens": 0, "cache_read_input_tokens": 0}
        ],
        "future_counter": {"x": 1}
    });
    o.exchanges[0].usage = Usage::from_wire(&o.exchanges[0].response["usage"]);
    let usage = &job_json(&o)["requests"][0]["usage"];
    assert_eq!(
        usage,
        &json!({
            "input_tokens": 0,
            "cache_creation_input_tokens": 10,
            "cache_read_input_tokens": 20,
            "cache_creation": {"ephemeral_5m_input_tokens": 10, "ephemeral_1h_input_tokens": 0, "ephemeral_24h_input_tokens": 0},
            "output_tokens": 900,
            "output_tokens_details": {"thinking_tokens": 700},
            "server_tool_use": {"web_search_requests": 0, "web_fetch_requests": 0},
            "service_tier": "standard",
            "inference_geo": "us",
            "speed": "fast",
            "iterations": o.exchanges[0].response["usage"]["iterations"],
            "future_counter": {"x": 1},
            "code_execution_requests": 0,
        })
    );
    // In the order the API sent them, then the runner's own counter.
    let keys: Vec<&String> = usage.as_object().unwrap().keys().collect();
    assert_eq!(keys.first().map(|k| k.as_str()), Some("input_tokens"));
    assert_eq!(
        keys.last().map(|k| k.as_str()),
        Some("code_execution_requests")
    );
    // A usage that is not an object: the counters alone.
    o.exchanges[1].response["usage"] = json!("odd");
    let usage = &job_json(&o)["requests"][1]["usage"];
    assert_eq!(usage["output_tokens"], 300);
    assert_eq!(usage.as_object().unwrap().len(), 6, "{usage}");
    // The job's total has the counters only.
    assert!(job_json(&o)["usage"].get("inference_geo").is_none());
}

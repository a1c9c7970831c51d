//! Tests of `transcript.md`.

use serde_json::Value;

use super::*;
use crate::output::transcript::{MAX_STREAM_BYTES, transcript_md};

#[test]
fn transcript_of_a_successful_job() {
    insta::assert_snapshot!(transcript_md(&succeeded()));
}

#[test]
fn transcript_with_tool_errors_and_legacy_results() {
    insta::assert_snapshot!(transcript_md(&failed()));
}

#[test]
fn odd_responses_never_panic() {
    insta::assert_snapshot!(transcript_md(&odd()));
}

#[test]
fn a_job_that_never_answered_ran_no_code() {
    let t = transcript_md(&outcome(&["Hello"], Vec::new(), Vec::new()));
    assert!(t.contains("*No code was executed.*"), "{t}");
}

#[test]
fn a_call_repeated_in_the_continuation_is_shown_once() {
    let mut o = paused_only();
    let paused = o.exchanges[0].response.clone();
    let mut again = continuation_response();
    let call = paused["content"][1].clone();
    again["content"].as_array_mut().unwrap().insert(0, call);
    o.exchanges.push(exchange(0, 1, again));
    let t = transcript_md(&o);
    assert_eq!(t.matches("python /tmp/big_job.py").count(), 1, "{t}");
    assert!(t.contains("result in turn 1, continuation 1"), "{t}");
    assert!(!t.contains("no result"), "{t}");
}

#[test]
fn enormous_output_is_cut_with_a_note() {
    let mut o = succeeded();
    let huge = "é".repeat(3 * MAX_STREAM_BYTES);
    let mut replaced = 0;
    for e in &mut o.exchanges {
        for block in e.response["content"].as_array_mut().into_iter().flatten() {
            if block["content"]["stdout"].is_string() {
                block["content"]["stdout"] = Value::String(huge.clone());
                replaced += 1;
            }
        }
    }
    assert!(replaced > 0);
    let t = transcript_md(&o);
    assert!(t.len() < (replaced + 1) * MAX_STREAM_BYTES, "{}", t.len());
    let note = "*(the first 64.0 KiB of 384.0 KiB; messages.json has all of it)*";
    assert_eq!(t.matches(note).count(), replaced);
}

#[test]
fn paused_call_without_continuation_has_no_result() {
    let t = transcript_md(&paused_only());
    assert!(
        t.contains("*(no result: the turn was paused or cut off)*"),
        "{t}"
    );
}

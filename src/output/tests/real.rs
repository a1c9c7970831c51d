//! The documents of a job built from a real response (`tests/fixtures/real/`, recorded by
//! pydantic-ai's test suite on `claude-sonnet-4-6`): its thinking block, which has text,
//! shows as working notes before the calls; its usage is kept in full.

use serde_json::Value;

use super::*;

fn recorded() -> JobOutcome {
    let response: Value = serde_json::from_str(include_str!(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/real/download_file_20260120/01-response.json"
    )))
    .unwrap();
    let mut o = outcome(
        &[
            "Write and run Python code using pandas that creates a CSV file with the numbers 1 to 5 and their squares, then save it to disk so it can be downloaded.",
        ],
        vec![exchange(0, 0, response)],
        vec![output(
            "squares.csv",
            "file_011CcqiMUo4dySuuE8zV9Gvp",
            42,
            Some("text/csv"),
        )],
    );
    o.job.settings.model = "claude-sonnet-4-6".into();
    o
}

#[test]
fn report_of_a_real_response_with_thinking() {
    let report = report_md(&recorded());
    insta::assert_snapshot!(report);
    let notes = report.find("> *Working notes*").unwrap();
    assert!(notes < report.find("The script ran successfully!").unwrap());
}

#[test]
fn transcript_of_a_real_response_with_thinking() {
    let t = transcript_md(&recorded());
    insta::assert_snapshot!(t);
    let notes = t.find("The user wants me to write Python code").unwrap();
    assert!(notes < t.find("/tmp/squares.py").unwrap(), "{t}");
    assert!(
        !t.contains("not shown"),
        "every thinking block had text: {t}"
    );
}

#[test]
fn job_json_of_a_real_response_keeps_its_usage() {
    let o = recorded();
    let usage = &job_json(&o)["requests"][0]["usage"];
    assert_eq!(usage["output_tokens_details"]["thinking_tokens"], 37);
    assert_eq!(usage["inference_geo"], "global");
    assert_eq!(usage["input_tokens"], 7646);
}

//! Hand-built [`JobOutcome`]s for the renderers' tests: responses shaped like the API's
//! (read from the recorded API responses in `tests/fixtures/anthropic`), a failed job,
//! and a job whose responses are as odd as valid JSON allows.

use serde_json::{Value, json};

use crate::api::messages::Usage;
use crate::manifest::RequestSettings;
use crate::output::outcome::{AttachedInput, Exchange, JobError, JobOutcome, OutputFile};
use crate::plan::{PlannedInput, PlannedJob};
use crate::status::ErrorKind;

macro_rules! fixture {
    ($name:literal) => {
        serde_json::from_str::<Value>(include_str!(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/fixtures/anthropic/",
            $name
        )))
        .unwrap()
    };
}

pub(crate) fn settings() -> RequestSettings {
    RequestSettings {
        model: "claude-opus-4-8".into(),
        max_tokens: 16_000,
        system: Some("You are a data analyst.".into()),
        api_version: "2026-10-21".into(),
        temperature: Some(0.2),
        top_p: None,
        top_k: None,
        thinking_budget_tokens: None,
        thinking: None,
        thinking_display: None,
        effort: None,
        tool: "code_execution_20250825".into(),
        max_continuations: 20,
        timeout: None,
        max_input_age: None,
    }
}

pub(crate) fn input() -> PlannedInput {
    PlannedInput {
        path: "data/sales 2026.csv".into(),
        name: "sales 2026.csv".into(),
        size: 2048,
        blake3: "ab".repeat(32),
    }
}

pub(crate) fn exchange(turn: usize, continuation: u32, response: Value) -> Exchange {
    Exchange {
        turn,
        continuation,
        request_id: Some(format!("req_{turn}_{continuation}")),
        stop_reason: response["stop_reason"].as_str().map(str::to_owned),
        usage: Usage::from_wire(&response["usage"]),
        response,
        batch: None,
        received_on: jiff::civil::date(2026, 12, 7),
    }
}

pub(crate) fn output(name: &str, file_id: &str, size: u64, mime: Option<&str>) -> OutputFile {
    OutputFile {
        name: name.into(),
        path: format!("files/{name}"),
        file_id: file_id.into(),
        size,
        blake3: "cd".repeat(32),
        content_blake3: None,
        original_name: None,
        mime_type: mime.map(str::to_owned),
        turn: 0,
    }
}

pub(crate) fn outcome(
    turns: &[&str],
    exchanges: Vec<Exchange>,
    outputs: Vec<OutputFile>,
) -> JobOutcome {
    let settings = settings();
    JobOutcome {
        job: PlannedJob {
            id: "sales/revenue".into(),
            manifest: "jobs/sales.yaml".into(),
            name: "revenue".into(),
            system: "You are a data analyst.\n\nSave every deliverable…".into(),
            turns: turns.iter().map(|t| (*t).to_owned()).collect(),
            inputs: vec![input()],
            fingerprint: "blake3:0123".into(),
            settings,
            at: crate::manifest::SettingSpans::default(),
            deliverables: None,
            alerts: Vec::new(),
            rates: crate::api::prices::Rates::from_base(5.0, 25.0),
            price: fixture_row(),
            prices: crate::api::prices::ModelPrices::always(fixture_row()),
            cache: crate::api::messages::CacheTtl::FiveMinutes,
            skills: Vec::new(),
            stale: None,
            params: Default::default(),
            entry: None,
        },
        error: None,
        started_at: "2026-10-01T12:00:00Z".parse().unwrap(),
        finished_at: "2026-10-01T12:03:30Z".parse().unwrap(),
        request: json!({
            "model": "claude-opus-4-8",
            "max_tokens": 16000,
            "temperature": 0.2,
            "system": "You are a data analyst.",
            "tools": [{"type": "code_execution_20250825", "name": "code_execution"}],
        }),
        messages: vec![
            json!({"role": "user", "content": [{"type": "text", "text": "Plot"}]}),
            json!({"role": "assistant", "content": [{"type": "text", "text": "Done"}]}),
        ],
        exchanges,
        container_id: Some("container_011CPrQ5kZ8wTnM2sVb4HqXe".into()),
        inputs: vec![AttachedInput {
            input: input(),
            file_id: Some("file_011CNha8iCJcU1wXNR6q4V8w".into()),
        }],
        outputs,
        repair_turns: Vec::new(),
        metrics: None,
    }
}

/// The end of a paused turn: the result of the paused call, with a file and output
/// that itself contains a Markdown fence.
pub(crate) fn continuation_response() -> Value {
    json!({
        "id": "msg_cont",
        "type": "message",
        "role": "assistant",
        "content": [
            {"type": "bash_code_execution_tool_result",
             "tool_use_id": "srvtoolu_01Q2W3E4R5T6Y7U8I9O0P1A2",
             "content": {"type": "bash_code_execution_result",
                         "stdout": "wrote summary\n```\nnot a fence end\n````\n",
                         "stderr": "warning: \u{1b}[31mred\u{1b}[0m\n",
                         "return_code": 0,
                         "content": [
                            {"type": "bash_code_execution_output", "file_id": "file_summary"},
                            {"type": "bash_code_execution_output", "file_id": "file_lost"}
                         ]}},
            {"type": "server_tool_use", "id": "srvtoolu_edit", "name": "text_editor_code_execution",
             "input": {"command": "str_replace", "path": "/tmp/big_job.py",
                       "old_str": "DEBUG = True", "new_str": "DEBUG = False"}},
            {"type": "text_editor_code_execution_tool_result", "tool_use_id": "srvtoolu_edit",
             "content": {"type": "text_editor_code_execution_str_replace_result",
                         "old_start": 3, "old_lines": 1, "new_start": 3, "new_lines": 1,
                         "lines": ["-DEBUG = True", "+DEBUG = False"]}},
            {"type": "text", "text": "The summary table is in **summary table (final).csv**."}
        ],
        "stop_reason": "end_turn",
        "usage": {"input_tokens": 6000, "output_tokens": 400,
                  "server_tool_use": {"code_execution_requests": 2}}
    })
}

pub(crate) fn succeeded() -> JobOutcome {
    outcome(
        &[
            "Plot monthly revenue from `sales 2026.csv`.\n\nKeep it short.",
            "Now run the full analysis.",
        ],
        vec![
            exchange(
                0,
                0,
                fixture!("messages_response_code_execution_20250825.json"),
            ),
            exchange(1, 0, fixture!("messages_response_pause_turn.json")),
            exchange(1, 1, continuation_response()),
        ],
        vec![
            output(
                "revenue_by_month.png",
                "file_011CPrQ7uT3xYb8nWq2KfL9d",
                48_213,
                Some("image/png"),
            ),
            OutputFile {
                original_name: Some("summary table (final).csv".into()),
                ..output(
                    "summary table (final).csv",
                    "file_summary",
                    12_345,
                    Some("text/csv"),
                )
            },
            output("chart [v2].svg", "file_svg", 900, None),
            output("notes.txt", "file_notes", 12, Some("text/plain")),
        ],
    )
}

pub(crate) fn failed() -> JobOutcome {
    let mut o = outcome(
        &["Try the slow analysis.", "Then print 1."],
        vec![
            exchange(0, 0, fixture!("messages_response_tool_errors.json")),
            exchange(
                1,
                0,
                fixture!("messages_response_code_execution_20250522_legacy.json"),
            ),
        ],
        vec![output(
            "revenue_by_month.png",
            "file_011CPrQ7uT3xYb8nWq2KfL9d",
            48_213,
            Some("image/png"),
        )],
    );
    o.error = Some(JobError {
        kind: ErrorKind::Api,
        message: "overloaded_error: Overloaded (HTTP 529)\nafter 5 attempts".into(),
        request_id: Some("req_011CPz".into()),
        attempts: None,
    });
    o
}

/// Everything a hostile or broken server could send that is still valid JSON.
pub(crate) fn odd() -> JobOutcome {
    let responses = vec![
        json!({"content": "not a list", "usage": null}),
        json!({"content": [
            {"type": "text", "text": 42},
            {"no_type": true},
            {"type": "mystery_block", "data": [1, 2]},
            {"type": "server_tool_use", "name": "bash_code_execution", "input": "echo hi"},
            {"type": "server_tool_use", "id": "srvtoolu_x", "name": 7, "input": {"command": ["ls"]}},
            {"type": "server_tool_use", "id": "srvtoolu_web", "name": "web_search", "input": {"query": "x"}},
            {"type": "web_search_tool_result", "tool_use_id": "srvtoolu_web", "content": [{"type": "web_search_result", "url": "https://example.com"}]},
            {"type": "server_tool_use", "id": "srvtoolu_bad", "name": "bash_code_execution", "input": {"command": "false"}},
            {"type": "bash_code_execution_tool_result", "tool_use_id": "srvtoolu_bad",
             "content": {"type": "bash_code_execution_result", "stdout": null, "stderr": 5, "return_code": "1", "content": {"oops": 1}}},
            {"type": "code_execution_tool_result", "tool_use_id": "srvtoolu_nobody", "content": {"type": "code_execution_result", "stdout": "orphan\n", "return_code": 0}},
            {"type": "server_tool_use", "id": "srvtoolu_enc", "name": "code_execution", "input": {"code": "search()"}},
            {"type": "code_execution_tool_result", "tool_use_id": "srvtoolu_enc",
             "content": {"type": "encrypted_code_execution_result", "encrypted_stdout": "EiQK…", "stderr": "", "return_code": 0, "content": []}},
            {"type": "server_tool_use", "id": "srvtoolu_view", "name": "text_editor_code_execution", "input": {"command": "view", "path": "/tmp/a.png", "view_range": [1, 5]}},
            {"type": "text_editor_code_execution_tool_result", "tool_use_id": "srvtoolu_view",
             "content": {"type": "text_editor_code_execution_view_result", "file_type": "image", "content": "iVBOR…", "num_lines": null}},
            {"type": "server_tool_use", "id": "srvtoolu_new", "name": "text_editor_code_execution", "input": {"command": "create", "path": "/tmp/x.py", "file_text": "s = '```'\n"}},
            {"type": "text_editor_code_execution_tool_result", "tool_use_id": "srvtoolu_new",
             "content": {"type": "text_editor_code_execution_create_result", "is_file_update": true}},
            {"type": "server_tool_use", "id": "srvtoolu_odd", "name": "bash_code_execution", "input": {"command": "x"}},
            {"type": "bash_code_execution_tool_result", "tool_use_id": "srvtoolu_odd", "content": {"type": "something_new", "x": 1}},
            {"type": "server_tool_use", "id": "srvtoolu_err", "name": "bash_code_execution", "input": {"command": "y"}},
            {"type": "bash_code_execution_tool_result", "tool_use_id": "srvtoolu_err", "content": {"error_code": {"nested": true}}},
            {"type": "server_tool_use", "id": "srvtoolu_cut", "name": "bash_code_execution", "input": {}},
            {"type": "tool_use", "id": "toolu_1", "name": "client_tool", "input": {}}
        ], "stop_reason": "max_tokens"}),
        Value::Null,
    ];
    let exchanges = responses
        .into_iter()
        .enumerate()
        .map(|(i, r)| exchange(0, u32::try_from(i).unwrap(), r))
        .collect();
    let mut o = outcome(&[""], exchanges, Vec::new());
    o.error = Some(JobError {
        kind: ErrorKind::MaxTokens,
        message: "the last turn ended with max_tokens".into(),
        request_id: None,
        attempts: None,
    });
    o.container_id = None;
    o.job.id = "odd/job_[1]*".into();
    o
}

/// A job whose only response paused with a call still running.
pub(crate) fn paused_only() -> JobOutcome {
    outcome(
        &["Go"],
        vec![exchange(
            0,
            0,
            fixture!("messages_response_pause_turn.json"),
        )],
        Vec::new(),
    )
}

/// A job on a model that thinks (Sonnet 5.5 with `display: "summarized"`, docs/api.md
/// §3.7): signed thinking blocks, empty and with text, the narration between tool calls
/// as thinking, a redacted block, hostile text in a note, and a second turn that is only
/// thinking and tool calls.
pub(crate) fn thinking() -> JobOutcome {
    let paused = json!({
        "id": "msg_think_1", "type": "message", "role": "assistant", "model": "claude-sonnet-5-5",
        "content": [
            {"type": "thinking", "thinking": "", "signature": "EqQBCkgIBxABGAIiQ…empty"},
            {"type": "thinking", "thinking": "The user wants monthly revenue. I'll list the files first.", "signature": "EqQBsig1"},
            {"type": "server_tool_use", "id": "srvtoolu_ls", "name": "bash_code_execution", "input": {"command": "ls -la $INPUT_DIR"}},
            {"type": "bash_code_execution_tool_result", "tool_use_id": "srvtoolu_ls",
             "content": {"type": "bash_code_execution_result", "stdout": "sales 2026.csv\n", "stderr": "", "return_code": 0, "content": []}},
            {"type": "thinking", "thinking": "One CSV, 12 rows. Next: a script that sums by month.\n\n- group by `month`\n- plot", "signature": "EqQBsig2"},
            {"type": "server_tool_use", "id": "srvtoolu_py", "name": "bash_code_execution", "input": {"command": "python /tmp/plot.py"}}
        ],
        "stop_reason": "pause_turn", "stop_details": null,
        "usage": {"input_tokens": 3000, "output_tokens": 900, "output_tokens_details": {"thinking_tokens": 700}}
    });
    let resumed = json!({
        "id": "msg_think_2", "type": "message", "role": "assistant", "model": "claude-sonnet-5-5",
        "content": [
            {"type": "bash_code_execution_tool_result", "tool_use_id": "srvtoolu_py",
             "content": {"type": "bash_code_execution_result", "stdout": "saved\n", "stderr": "", "return_code": 0,
                         "content": [{"type": "bash_code_execution_output", "file_id": "file_011CPrQ7uT3xYb8nWq2KfL9d"}]}},
            {"type": "redacted_thinking", "data": "EmwKAhgBEgy3va3pzix/LafPsn4a"},
            {"type": "thinking", "thinking": "Odd text: <script>alert(1)</script> \u{1b}[31mred\u{1b}[0m\n```\nan unclosed fence", "signature": "EqQBsig3"},
            {"type": "text", "text": "Revenue grew **12 %** over the year; the chart is `revenue_by_month.png`."}
        ],
        "stop_reason": "end_turn", "stop_details": null,
        "usage": {"input_tokens": 4000, "output_tokens": 300}
    });
    let tools_only = json!({
        "id": "msg_think_3", "type": "message", "role": "assistant", "model": "claude-sonnet-5-5",
        "content": [
            {"type": "thinking", "thinking": "Re-plotting on a log scale.", "signature": "EqQBsig4"},
            {"type": "server_tool_use", "id": "srvtoolu_log", "name": "bash_code_execution", "input": {"command": "python /tmp/plot.py --log"}},
            {"type": "bash_code_execution_tool_result", "tool_use_id": "srvtoolu_log",
             "content": {"type": "bash_code_execution_result", "stdout": "", "stderr": "", "return_code": 0, "content": []}},
            {"type": "thinking", "thinking": "", "signature": "EqQBsig5"}
        ],
        "stop_reason": "end_turn",
        "usage": {"input_tokens": 5000, "output_tokens": 200}
    });
    let mut o = outcome(
        &["Plot monthly revenue.", "Now on a log scale."],
        vec![
            exchange(0, 0, paused),
            exchange(0, 1, resumed),
            exchange(1, 0, tools_only),
        ],
        vec![output(
            "revenue_by_month.png",
            "file_011CPrQ7uT3xYb8nWq2KfL9d",
            48_213,
            Some("image/png"),
        )],
    );
    o.job.settings.model = "claude-sonnet-5-5".into();
    o
}

fn fixture_row() -> crate::api::prices::PriceRow {
    crate::api::prices::PriceRow {
        model: "claude-opus-5-5".into(),
        aliases: Vec::new(),
        effective_from: None,
        effective_to: None,
        rates: crate::api::prices::Rates::from_base(5.0, 25.0),
        tier: None,
        batch_factor: 0.5,
        us_geo_factor: None,
        source: "test".into(),
        as_of: None,
    }
}

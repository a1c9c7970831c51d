//! `report.md`: the assistant's words turn by turn, then the generated files (images
//! inline), then the error if the job failed.

use std::collections::BTreeSet;

use serde_json::Value;

use super::markdown::{
    blockquote, code, fence, inline, link_target, thinking_text, visible, working_notes,
};
use super::outcome::{Exchange, JobError, JobOutcome, OutputFile};
use super::{block_type, content_blocks};
use crate::units;

/// The assistant's text, turn by turn, then the generated files, then the error if any.
pub(crate) fn report_md(outcome: &JobOutcome) -> String {
    let mut out = format!("# {}\n\n", inline(&outcome.job.id));
    out.push_str(&status_line(outcome));
    for turn in 0..turn_count(outcome) {
        out.push_str(&report_turn(outcome, turn));
    }
    out.push_str(&files_section(&outcome.outputs));
    if let Some(e) = &outcome.error {
        out.push_str(&error_section(e));
    }
    out
}

fn status_line(outcome: &JobOutcome) -> String {
    let status = match &outcome.error {
        None => "succeeded".to_owned(),
        Some(e) => format!("failed: {}", inline(&e.message)),
    };
    let took = outcome.finished_at.duration_since(outcome.started_at);
    // A tool error goes under the status: a success may hide one (docs/output.md §7).
    let warning = super::tool_errors::warning(&super::tool_errors::of(&outcome.exchanges))
        .map_or_else(String::new, |w| format!("**Warning:** {}  \n", inline(&w)));
    let mut out = format!(
        "**Status:** {status}  \n{warning}**Ran:** {} · took {} · cost {}  \n**Model:** {} · {}  \n",
        outcome.started_at,
        units::seconds(took.unsigned_abs()),
        // Every request is priced from its own usage as it is recorded (docs/output.md §7).
        units::usd(outcome.cost().usd),
        code(&outcome.job.settings.model),
        code(&outcome.job.settings.tool)
    );
    let mut inputs = inputs_line(outcome);
    let skills = skills_line(outcome);
    if !skills.is_empty() {
        // A Markdown line break, so the skills stand on their own line.
        inputs.insert_str(inputs.len() - 1, "  ");
    }
    out.push_str(&inputs);
    out.push_str(&skills);
    out
}

/// `**Skills:** xlsx (20251013), house-style (folder skills/house-style: skill_… skver_…)`,
/// the provenance job.json `skills[]` holds (docs/output.md §2.11); nothing without skills.
fn skills_line(outcome: &JobOutcome) -> String {
    let records = super::skill_records::of(outcome);
    if records.is_empty() {
        return String::new();
    }
    let items: Vec<String> = records
        .iter()
        .map(|r| {
            let version = r.resolved_version.as_deref().unwrap_or(&r.version);
            match (&r.name, &r.folder) {
                (Some(name), Some(folder)) => format!(
                    "{} (folder {}: {} {})",
                    inline(name),
                    inline(folder),
                    code(&r.skill_id),
                    code(version)
                ),
                _ => format!("{} ({})", inline(&r.skill_id), code(version)),
            }
        })
        .collect();
    format!("**Skills:** {}\n", items.join(", "))
}

/// `**Inputs:** name (size, `short hash`), …`.
fn inputs_line(outcome: &JobOutcome) -> String {
    if outcome.inputs.is_empty() {
        return "**Inputs:** none\n".to_owned();
    }
    let items: Vec<String> = outcome
        .inputs
        .iter()
        .map(|i| {
            let short: String = i.input.blake3.chars().take(12).collect();
            format!(
                "{} ({}, {})",
                inline(&i.input.name),
                units::bytes(i.input.size),
                code(&short)
            )
        })
        .collect();
    format!("**Inputs:** {}\n", items.join(", "))
}

/// Turns asked for, or answered if the responses somehow name more.
fn turn_count(outcome: &JobOutcome) -> usize {
    let answered = outcome.exchanges.iter().map(|e| e.turn + 1).max();
    (outcome.job.turns.len() + outcome.repair_turns.len()).max(answered.unwrap_or(0))
}

fn report_turn(outcome: &JobOutcome, turn: usize) -> String {
    let mut out = format!("\n## Turn {}\n\n", turn + 1);
    if let Some(prompt) = outcome.turn_text(turn).filter(|p| !p.trim().is_empty()) {
        out.push_str(&blockquote(prompt));
        out.push('\n');
    }
    let exchanges: Vec<&Exchange> = outcome
        .exchanges
        .iter()
        .filter(|e| e.turn == turn)
        .collect();
    if exchanges.is_empty() {
        out.push_str("*No response: the job stopped before this turn.*\n");
        return out;
    }
    let blocks: Vec<&Value> = exchanges
        .iter()
        .flat_map(|e| content_blocks(&e.response))
        .collect();
    // The model's Markdown is kept as written, but not its terminal escapes. Working notes
    // (thinking with text) stay in their place among the answer's text blocks; thinking
    // without text, and redacted thinking, have nothing to show (messages.json keeps them).
    let mut answered = false;
    let said: Vec<String> = blocks
        .iter()
        .filter_map(|b| match block_type(b) {
            "text" => answer_text(b).map(|t| {
                answered = true;
                format!("{}\n", visible(t).trim_matches('\n'))
            }),
            "thinking" => thinking_text(b).map(working_notes),
            _ => None,
        })
        .collect();
    for (i, part) in said.iter().enumerate() {
        if i > 0 {
            out.push('\n');
        }
        out.push_str(part);
    }
    if !answered {
        if !said.is_empty() {
            out.push('\n');
        }
        out.push_str(&no_answer(&blocks, !said.is_empty()));
    }
    out
}

fn answer_text(block: &Value) -> Option<&str> {
    block["text"].as_str().filter(|t| !t.trim().is_empty())
}

/// What a turn without answer text did instead: its code executions are in
/// `transcript.md`, its working notes (if any) just above.
fn no_answer(blocks: &[&Value], notes: bool) -> String {
    let mut ids = BTreeSet::new();
    let calls = blocks
        .iter()
        .filter(|b| block_type(b) == "server_tool_use")
        // A paused call may come again in the continuation: count it once.
        .filter(|b| b["id"].as_str().is_none_or(|id| ids.insert(id)))
        .count();
    match (calls, notes) {
        (0, false) => "*No text in this turn.*\n".to_owned(),
        (0, true) => "*No answer text in this turn, only the working notes above.*\n".to_owned(),
        (n, notes) => format!(
            "*No answer text in this turn: it ran {}{}; `transcript.md` shows each.*\n",
            units::count(n, "code execution"),
            if notes { " (working notes above)" } else { "" }
        ),
    }
}

fn files_section(outputs: &[OutputFile]) -> String {
    let mut out = "\n## Files\n\n".to_owned();
    if outputs.is_empty() {
        out.push_str("*No files were generated.*\n");
        return out;
    }
    let mut previous_was_item = false;
    for file in outputs {
        let target = link_target(&file.path);
        let label = inline(&file.name);
        if is_image(file) {
            // Images are paragraphs of their own, so they render inline and full width.
            if previous_was_item {
                out.push('\n');
            }
            out.push_str(&format!(
                "![{label}]({target})  \n*{label}, from turn {}*\n\n",
                file.turn + 1
            ));
            previous_was_item = false;
        } else {
            let size = units::bytes(file.size);
            let turn = file.turn + 1;
            out.push_str(&format!(
                "- [{label}]({target}) ({size}, from turn {turn})\n"
            ));
            previous_was_item = true;
        }
    }
    while out.ends_with("\n\n") {
        out.pop();
    }
    out
}

const IMAGE_EXTENSIONS: [&str; 6] = ["png", "jpg", "jpeg", "gif", "webp", "svg"];

fn is_image(file: &OutputFile) -> bool {
    let by_mime = file
        .mime_type
        .as_deref()
        .is_some_and(|m| m.starts_with("image/"));
    let by_ext = file.name.rsplit_once('.').is_some_and(|(_, ext)| {
        IMAGE_EXTENSIONS
            .iter()
            .any(|known| ext.eq_ignore_ascii_case(known))
    });
    by_mime || by_ext
}

fn error_section(e: &JobError) -> String {
    let mut out = format!("\n## Error\n\n- Kind: {}\n", code(e.kind.as_str()));
    if let Some(id) = &e.request_id {
        out.push_str(&format!("- Request id: {}\n", code(id)));
    }
    out.push('\n');
    out.push_str(&fence("text", &e.message));
    out
}

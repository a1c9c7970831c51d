//! One job's conversation. Sends the prompt with its files, continues every
//! `pause_turn` (the paused content appended unchanged, same container, same tools) up to
//! the job's cap, then each follow-up turn in the same container, then any repair turn
//! the deliverables check asks for (`deliverables.rs`).
//!
//! Never returns early with `?`: whatever happens, the result carries every exchange that
//! did happen, so the output tree shows how far the job got and why it stopped.

use serde_json::Value;

use super::Ctx;
use super::deliverables::Check;
use super::halt::HaltKind;
use super::priced::{self, Sent};
use crate::api::ApiErrorKind;
use crate::api::batches::BatchRef;
use crate::api::messages::{self as wire, Params, Usage};
use crate::output::outcome::{Exchange, JobError};
use crate::plan::PlannedJob;
use crate::status::ErrorKind;
use crate::ui::events::{Event, Step};

/// The request parameters of a job, for the wire.
pub fn request_params(job: &PlannedJob) -> Value {
    let s = &job.settings;
    wire::request_params(&Params {
        model: &s.model,
        max_tokens: s.max_tokens,
        system: &job.system,
        tool: &s.tool,
        temperature: s.temperature,
        top_p: s.top_p,
        top_k: s.top_k,
        thinking: s.thinking_param(),
        effort: s.effort.as_deref(),
        cache: job.cache,
    })
}

/// What a conversation produced, successful or not.
#[derive(Debug, Default)]
pub struct Conversation {
    pub request: Value,
    pub messages: Vec<Value>,
    pub exchanges: Vec<Exchange>,
    pub container_id: Option<String>,
    pub error: Option<JobError>,
    /// The HTTP status of the request that failed the job, if one did.
    pub failed_status: Option<u16>,
    /// The deliverables check: repair turns sent, generated files' metadata.
    pub deliverables: Check,
    /// Why the job did not start, when its first request was not sent for a reason that
    /// also stops the run (the budget); `None` with `NotStarted`: its batch was canceled.
    pub not_started: Option<HaltKind>,
}

impl Conversation {
    /// The very first request was refused with 404: possibly an attached file the API no
    /// longer knows (deleted or expired after it was verified).
    pub fn first_request_not_found(&self) -> bool {
        self.exchanges.is_empty() && self.failed_status == Some(404)
    }
}

/// `max_files` is `--max-files`, which bounds the deliverables check too.
/// `deadline` is when the manifest's `timeout` runs out: the request then in flight is
/// abandoned and the job fails with kind `timeout`, keeping every exchange so far.
pub async fn converse(
    ctx: &Ctx,
    job: &PlannedJob,
    file_ids: &[String],
    max_files: usize,
    deadline: Option<tokio::time::Instant>,
) -> Conversation {
    let params = request_params(job);
    let mut conv = Conversation {
        request: params.clone(),
        deliverables: Check::new(job, max_files),
        ..Conversation::default()
    };
    let turns = job.turns.len();
    let mut previous = priced::Previous::default();
    for turn in 0.. {
        let text = match job.turns.get(turn) {
            Some(text) => text.clone(),
            None => match conv
                .deliverables
                .after_last_turn(ctx, &conv.exchanges)
                .await
            {
                Ok(Some(repair)) => repair,
                Ok(None) => break,
                Err(e) => {
                    conv.error = Some(e);
                    break;
                }
            },
        };
        let ids: &[String] = if turn == 0 { file_ids } else { &[] };
        conv.messages.push(wire::user_turn(&text, ids));
        let mut continuation = 0u32;
        loop {
            ctx.reporter.report(Event::JobStep {
                id: job.id.clone(),
                step: Step::Turn {
                    turn: turn + 1,
                    of: turns.max(turn + 1),
                    continuation,
                },
            });
            let body = wire::message_body(&params, &conv.messages, conv.container_id.as_deref());
            let out_of_time = async {
                match deadline {
                    Some(at) => tokio::time::sleep_until(at).await,
                    None => std::future::pending().await,
                }
            };
            let sent = tokio::select! {
                sent = priced::send(ctx, job, &body, &mut previous, (turn + 1, continuation)) => sent,
                () = out_of_time => {
                    conv.error = Some(JobError {
                        kind: ErrorKind::Timeout,
                        message: format!(
                            "the conversation ran past its timeout ({}) during turn {}; \
                             raise `timeout` in the manifest",
                            crate::units::seconds(job.settings.timeout.unwrap_or_default()),
                            turn + 1
                        ),
                        request_id: None,
                    });
                    return conv;
                }
            };
            let response = match sent {
                Sent::Answer(answer) => Ok(answer),
                Sent::Failed(gave_up) => Err(gave_up),
                Sent::Refused(refused) => {
                    // Nothing of the job was sent yet: it did not start (docs/output.md
                    // §6.4), and a re-run starts it.
                    let started = !conv.exchanges.is_empty();
                    conv.not_started = (!started).then_some(HaltKind::Budget);
                    conv.error = Some(JobError {
                        kind: if started {
                            ErrorKind::Budget
                        } else {
                            ErrorKind::NotStarted
                        },
                        message: format!("turn {}: {refused}", turn + 1),
                        request_id: None,
                    });
                    return conv;
                }
                Sent::Expired(message) => {
                    conv.error = Some(JobError {
                        kind: ErrorKind::BatchExpired,
                        message: format!("turn {}: {message}", turn + 1),
                        request_id: None,
                    });
                    return conv;
                }
                Sent::Interrupted => {
                    conv.error = Some(JobError {
                        kind: ErrorKind::Interrupted,
                        message: "the run was interrupted during this job".into(),
                        request_id: None,
                    });
                    return conv;
                }
                // Never processed, so never paid: the job did not start, or (later in the
                // conversation) was interrupted; a re-run submits the request again.
                Sent::Canceled(batch_id) => {
                    let first = turn == 0 && continuation == 0;
                    conv.error = Some(JobError {
                        kind: if first {
                            ErrorKind::NotStarted
                        } else {
                            ErrorKind::Interrupted
                        },
                        message: format!(
                            "turn {}: batch {batch_id} was canceled before it answered; run again to submit it again",
                            turn + 1
                        ),
                        request_id: None,
                    });
                    return conv;
                }
            };
            let response = match response {
                Ok(r) => r,
                Err(gave_up) => {
                    super::halt::check(ctx, &gave_up.error);
                    let kind = match &gave_up.error.kind {
                        ApiErrorKind::Transport(_) => ErrorKind::Transport,
                        ApiErrorKind::Decode { body, .. } => {
                            // Keep what was received, even when it is not JSON.
                            let raw = Value::String(body.clone());
                            let id = gave_up.error.request_id.clone();
                            conv.exchanges.push(exchange(
                                turn,
                                continuation,
                                &id,
                                None,
                                &raw,
                                None,
                            ));
                            ErrorKind::InvalidResponse
                        }
                        _ => ErrorKind::Api,
                    };
                    conv.failed_status = gave_up.error.status();
                    conv.error = Some(JobError {
                        kind,
                        message: gave_up.to_string(),
                        request_id: gave_up.error.request_id.clone(),
                    });
                    return conv;
                }
            };
            let reply = match wire::read_reply(&response.body) {
                Ok(r) => r,
                Err(why) => {
                    conv.exchanges.push(exchange(
                        turn,
                        continuation,
                        &response.request_id,
                        None,
                        &response.body,
                        response.batch.as_ref(),
                    ));
                    conv.error = Some(JobError {
                        kind: ErrorKind::InvalidResponse,
                        message: format!("the API sent a response the runner cannot read: {why}"),
                        request_id: response.request_id.clone(),
                    });
                    return conv;
                }
            };
            let stop = reply.stop_reason.map(str::to_owned);
            if let Some(id) = reply.container_id {
                conv.container_id = Some(id.to_owned());
            }
            conv.messages.push(wire::assistant_turn(reply.content));
            conv.exchanges.push(exchange(
                turn,
                continuation,
                &response.request_id,
                stop.clone(),
                &response.body,
                response.batch.as_ref(),
            ));
            let fail = |kind, message: String| JobError {
                kind,
                message,
                request_id: response.request_id.clone(),
            };
            match stop.as_deref() {
                Some("end_turn" | "stop_sequence") => break,
                Some("pause_turn") if continuation < job.settings.max_continuations => {
                    continuation += 1
                }
                Some("pause_turn") => {
                    conv.error = Some(fail(
                        ErrorKind::PauseTurnCap,
                        format!(
                            "turn {} was still paused after {} continuations (max_continuations)",
                            turn + 1,
                            job.settings.max_continuations
                        ),
                    ));
                    return conv;
                }
                Some("max_tokens") => {
                    conv.error = Some(fail(
                        ErrorKind::MaxTokens,
                        format!(
                            "turn {} hit max_tokens ({}); raise max_tokens in the manifest",
                            turn + 1,
                            job.settings.max_tokens
                        ),
                    ));
                    return conv;
                }
                Some("refusal") => {
                    conv.error = Some(fail(
                        ErrorKind::Refusal,
                        refusal_message(turn, &response.body["stop_details"]),
                    ));
                    return conv;
                }
                // The response was cut where the context window ran out (docs/api.md §3.7);
                // like `max_tokens`, what the job got so far is kept.
                Some("model_context_window_exceeded") => {
                    conv.error = Some(fail(
                        ErrorKind::ContextWindowExceeded,
                        format!(
                            "turn {} filled the context window of `{}`, so its answer was cut off; \
                             shorten the prompts or the inputs the model reads, or split the job",
                            turn + 1,
                            job.settings.model
                        ),
                    ));
                    return conv;
                }
                other => {
                    conv.error = Some(fail(
                        ErrorKind::UnexpectedStop,
                        format!(
                            "turn {} stopped with `{}`, which a code-execution job cannot continue",
                            turn + 1,
                            other.unwrap_or("null")
                        ),
                    ));
                    return conv;
                }
            }
        }
    }
    conv
}

/// Why the model refused, from the response's `stop_details` (docs/api.md §3.7): its
/// `category` and `explanation` when the API gave them.
fn refusal_message(turn: usize, details: &Value) -> String {
    let mut message = format!("the model refused turn {}", turn + 1);
    if let Some(category) = details["category"].as_str() {
        message.push_str(&format!(" (category `{category}`)"));
    }
    let explanation = details["explanation"]
        .as_str()
        .map(|e| e.trim().trim_end_matches('.'));
    if let Some(explanation) = explanation.filter(|e| !e.is_empty()) {
        message.push_str(&format!(": {explanation}"));
    }
    message.push_str("; rephrase the prompt, or run the job on another model");
    message
}

fn exchange(
    turn: usize,
    continuation: u32,
    request_id: &Option<String>,
    stop: Option<String>,
    body: &Value,
    batch: Option<&BatchRef>,
) -> Exchange {
    Exchange {
        turn,
        continuation,
        request_id: request_id.clone(),
        stop_reason: stop,
        usage: Usage::from_wire(&body["usage"]),
        response: body.clone(),
        batch: batch.cloned(),
        received_on: crate::api::prices::today(),
    }
}

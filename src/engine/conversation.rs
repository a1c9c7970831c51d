//! One job's conversation. Sends the prompt with its files, continues every
//! `pause_turn` (the paused content appended unchanged, same container, same tools) up to
//! the job's cap, then each follow-up turn in the same container, then any repair turn
//! the deliverables check asks for (`deliverables.rs`).
//!
//! Whatever happens, the result carries every exchange that did happen, so the output tree
//! shows how far the job got, and its [`JobEnd`] says why it stopped: built here, once,
//! from the [`Answer`] of the request that ended it ([`reply_or_end`]) or its stop reason
//! ([`after_stop`]).

use serde_json::Value;

use super::answer::Answer;
use super::ctx::Ctx;
use super::deliverables::Check;
use super::prefix::Join;
use super::priced::{self, Previous};
use crate::api::ApiErrorKind;
use crate::api::batches::BatchRef;
use crate::api::container::{self, WireSkill};
use crate::api::messages::{self as wire, CacheTtl, MessageResponse, Usage};
use crate::api::retry::GaveUp;
use crate::output::outcome::{Exchange, HaltKind, HaltReason, JobEnd, JobError};
use crate::plan::PlannedJob;
use crate::plan::request::request_params;
use crate::status::ErrorKind;
use crate::ui::events::{Event, Step};

/// What a conversation produced, successful or not.
#[derive(Debug)]
pub(crate) struct Conversation {
    pub request: Value,
    pub messages: Vec<Value>,
    pub exchanges: Vec<Exchange>,
    pub container_id: Option<String>,
    pub end: JobEnd,
    /// The HTTP status of the request that failed the job, if one did.
    pub failed_status: Option<u16>,
    /// The deliverables check: repair turns sent, generated files' metadata.
    pub deliverables: Check,
}

impl Conversation {
    /// A conversation that never sent a request, ended so.
    pub(crate) fn unsent(job: &PlannedJob, end: JobEnd) -> Conversation {
        Conversation {
            request: request_params(job),
            messages: Vec::new(),
            exchanges: Vec::new(),
            container_id: None,
            end,
            failed_status: None,
            deliverables: Check::default(),
        }
    }

    /// The very first request was refused with 404: possibly an attached file the API no
    /// longer knows (deleted or expired after it was verified).
    pub(crate) fn first_request_not_found(&self) -> bool {
        self.exchanges.is_empty() && self.failed_status == Some(404)
    }
}

/// Which request of the conversation: the 0-based turn and its `pause_turn` continuation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct At {
    turn: usize,
    continuation: u32,
}

/// One conversation in progress: the job, its request parameters, its deadline.
struct Talk<'a> {
    ctx: &'a Ctx,
    job: &'a PlannedJob,
    params: Value,
    deadline: Option<tokio::time::Instant>,
    previous: Previous,
}

/// What a job's container gets: the file ids of its inputs (first turn), and the skills
/// every request loads (docs/api.md §14.1).
#[derive(Clone, Copy, Debug)]
pub(crate) struct Attached<'a> {
    pub file_ids: &'a [String],
    pub skills: &'a [WireSkill],
}

/// `max_files` is `--max-files`, which bounds the deliverables check too.
/// `deadline` is when the manifest's `timeout` runs out: the request then in flight is
/// abandoned and the job fails with kind `timeout`, keeping every exchange so far.
pub(crate) async fn converse(
    ctx: &Ctx,
    job: &PlannedJob,
    attached: Attached<'_>,
    max_files: usize,
    deadline: Option<tokio::time::Instant>,
) -> Conversation {
    let mut conv = Conversation::unsent(job, JobEnd::Succeeded);
    // Every request of the job carries the same skills list: the container's skills
    // cannot change, and the cache and the thinking prefix depend on it (docs/api.md §14.1).
    conv.request = container::with_skills(conv.request, attached.skills);
    let file_ids = attached.file_ids;
    conv.deliverables = Check::new(job, max_files);
    let mut talk = Talk {
        ctx,
        job,
        params: conv.request.clone(),
        deadline,
        previous: Previous::default(),
    };
    conv.end = match talk.turns(&mut conv, file_ids).await {
        Ok(()) => JobEnd::Succeeded,
        Err(end) => end,
    };
    conv
}

impl Talk<'_> {
    /// The job's turns, then the repair turns the deliverables check asks for.
    async fn turns(&mut self, conv: &mut Conversation, file_ids: &[String]) -> Result<(), JobEnd> {
        for turn in 0.. {
            let text = match self.job.turns.get(turn) {
                Some(text) => text.clone(),
                None => {
                    let check = conv.deliverables.after_last_turn(self.ctx, &conv.exchanges);
                    match check.await? {
                        Some(repair) => repair,
                        None => break,
                    }
                }
            };
            conv.messages.push(if turn == 0 {
                let note = crate::plan::request::first_turn_note(self.job);
                wire::first_user_turn(&note, &text, file_ids)
            } else {
                wire::user_turn(&text, &[])
            });
            self.turn(conv, turn).await?;
        }
        Ok(())
    }

    /// One turn: its request, then one continuation per `pause_turn`.
    async fn turn(&mut self, conv: &mut Conversation, turn: usize) -> Result<(), JobEnd> {
        for continuation in 0.. {
            let at = At { turn, continuation };
            self.ctx.reporter.report(Event::JobStep {
                id: self.job.id.clone(),
                step: Step::Turn {
                    turn: turn + 1,
                    of: self.job.turns.len().max(turn + 1),
                    continuation,
                },
            });
            let answer = self.request(conv, at).await?;
            let response = reply_or_end(self.ctx, conv, answer, at)?;
            let stop = record_reply(conv, &response, at)?;
            let details = &response.body["stop_details"];
            match after_stop(self.job, stop.as_deref(), details, at) {
                Ok(Next::TurnOver) => break,
                Ok(Next::Continue) => {}
                Err((kind, message)) => {
                    return Err(JobEnd::Failed(JobError {
                        kind,
                        message,
                        request_id: response.request_id.clone(),
                        attempts: None,
                    }));
                }
            }
        }
        Ok(())
    }

    /// Sends the conversation so far; the job's `timeout` running out ends it instead.
    async fn request(&mut self, conv: &Conversation, at: At) -> Result<Answer, JobEnd> {
        let body = wire::message_body(&self.params, &conv.messages, conv.container_id.as_deref());
        let out_of_time = async {
            match self.deadline {
                Some(at) => tokio::time::sleep_until(at).await,
                None => std::future::pending().await,
            }
        };
        let step = (at.turn + 1, at.continuation);
        let lead = self.wait_for_prefix(at).await;
        let send = async {
            let answer = priced::send(self.ctx, self.job, &body, &mut self.previous, step).await;
            if let Some(tx) = lead {
                let _ = tx.send(true);
            }
            answer
        };
        tokio::select! {
            answer = send => Ok(answer),
            () = out_of_time => Err(JobEnd::Failed(JobError::plain(
                ErrorKind::Timeout,
                format!(
                    "the conversation ran past its timeout ({}) during turn {}; \
                     raise `timeout` in the manifest",
                    crate::units::seconds(self.job.settings.timeout.unwrap_or_default()),
                    at.turn + 1
                ),
            ))),
        }
    }
}

impl Talk<'_> {
    /// The job's first request, online with caching on: the first job with its shared
    /// prefix leads (returned: tell the others once answered); the others wait for it
    /// (`prefix.rs`).
    async fn wait_for_prefix(&self, at: At) -> Option<tokio::sync::watch::Sender<bool>> {
        let first = at.turn == 0 && at.continuation == 0;
        if !first || self.job.cache == CacheTtl::Off || self.ctx.batcher.is_some() {
            return None;
        }
        let key = serde_json::json!([
            self.params["model"],
            self.params["tools"],
            self.params["system"]
        ]);
        match self.ctx.prefixes.join(&key.to_string()) {
            Join::Lead(tx) => Some(tx),
            Join::Follow(rx) => {
                tokio::select! {
                    () = super::prefix::follow(rx) => {}
                    () = self.ctx.cancel.cancelled() => {}
                }
                None
            }
        }
    }
}

/// The one place a request's [`Answer`] becomes the job's ending: the response when the API
/// answered, else how the job ends. A failed request's raw answer, if any, is kept.
fn reply_or_end(
    ctx: &Ctx,
    conv: &mut Conversation,
    answer: Answer,
    at: At,
) -> Result<MessageResponse, JobEnd> {
    let turn = at.turn + 1;
    let failed = |kind, message: String| JobEnd::Failed(JobError::plain(kind, message));
    Err(match answer {
        Answer::Replied(response) => return Ok(response),
        Answer::Failed(gave_up) => call_failed(ctx, conv, &gave_up, at),
        // Nothing of the job was sent yet: it did not start (docs/output.md §6.4), and a
        // re-run starts it.
        Answer::OverBudget(refused) if conv.exchanges.is_empty() => {
            JobEnd::NotStarted(HaltReason {
                kind: HaltKind::Budget,
                message: format!("turn {turn}: {refused}"),
            })
        }
        Answer::OverBudget(refused) => failed(ErrorKind::Budget, format!("turn {turn}: {refused}")),
        Answer::Expired(message) => {
            failed(ErrorKind::BatchExpired, format!("turn {turn}: {message}"))
        }
        Answer::Interrupted => {
            JobEnd::Interrupted("the run was interrupted during this job".into())
        }
        // Canceled by the run's own interrupt: the run's interruption.
        Answer::Canceled(_) if ctx.cancel.is_cancelled() => JobEnd::run_interrupted(),
        // Never processed, so never paid: the job did not start, or (later in the
        // conversation) was interrupted; a re-run submits the request again.
        Answer::Canceled(batch_id) => {
            let message = format!(
                "turn {turn}: batch {batch_id} was canceled before it answered; run again to submit it again"
            );
            if at
                == (At {
                    turn: 0,
                    continuation: 0,
                })
            {
                JobEnd::NotStarted(HaltReason {
                    kind: HaltKind::BatchCanceled,
                    message,
                })
            } else {
                JobEnd::Interrupted(message)
            }
        }
    })
}

/// A request that failed for good: the job's error (its kind, the API's words, the request
/// id and the attempts), and what was received when it could not be read.
fn call_failed(ctx: &Ctx, conv: &mut Conversation, gave_up: &GaveUp, at: At) -> JobEnd {
    super::halt::check(&ctx.halt, &gave_up.error);
    let kind = match &gave_up.error.kind {
        ApiErrorKind::Transport(_) => ErrorKind::Transport,
        ApiErrorKind::Decode { body, .. } => {
            // Keep what was received, even when it is not JSON.
            let raw = Value::String(body.clone());
            let id = gave_up.error.request_id.clone();
            conv.exchanges.push(exchange(at, &id, None, &raw, None));
            ErrorKind::InvalidResponse
        }
        _ if container::carries_skills(&conv.request)
            && crate::api::skills::is_skill_error(&gave_up.error) =>
        {
            ErrorKind::Skill
        }
        _ => ErrorKind::Api,
    };
    conv.failed_status = gave_up.error.status();
    let mut message = gave_up.to_string();
    if kind == ErrorKind::Skill && ctx.batcher.is_some() {
        message.push_str(
            "; if the API does not take skills in Message Batches, run this job without `--batch`",
        );
    }
    JobEnd::Failed(JobError {
        kind,
        message,
        request_id: gave_up.error.request_id.clone(),
        attempts: Some(gave_up.attempts),
    })
}

/// Appends an answer to the conversation; returns its stop reason. An answer that is not
/// a message the runner can read is kept as received, and ends the job.
fn record_reply(
    conv: &mut Conversation,
    response: &MessageResponse,
    at: At,
) -> Result<Option<String>, JobEnd> {
    let (id, batch) = (&response.request_id, response.batch.as_ref());
    let reply = match wire::read_reply(&response.body) {
        Ok(r) => r,
        Err(why) => {
            conv.exchanges
                .push(exchange(at, id, None, &response.body, batch));
            return Err(JobEnd::Failed(JobError {
                kind: ErrorKind::InvalidResponse,
                message: format!("the API sent a response the runner cannot read: {why}"),
                request_id: id.clone(),
                attempts: None,
            }));
        }
    };
    let stop = reply.stop_reason.map(str::to_owned);
    if let Some(id) = reply.container_id {
        conv.container_id = Some(id.to_owned());
    }
    conv.messages.push(wire::assistant_turn(reply.content));
    conv.exchanges
        .push(exchange(at, id, stop.clone(), &response.body, batch));
    Ok(stop)
}

/// What a turn does after an answer.
#[derive(Debug, PartialEq, Eq)]
enum Next {
    /// The turn ended normally: on to the next one.
    TurnOver,
    /// `pause_turn`: continue the same turn.
    Continue,
}

/// What an answer's stop reason means for the job (docs/api.md §3.7): the turn goes on or
/// is over, or the job fails so. `details` is the answer's `stop_details`.
fn after_stop(
    job: &PlannedJob,
    stop: Option<&str>,
    details: &Value,
    at: At,
) -> Result<Next, (ErrorKind, String)> {
    let turn = at.turn + 1;
    let fail = |kind, message: String| (kind, message);
    let s = &job.settings;
    Err(match stop {
        Some("end_turn" | "stop_sequence") => return Ok(Next::TurnOver),
        Some("pause_turn") if at.continuation < s.max_continuations => return Ok(Next::Continue),
        Some("pause_turn") => fail(
            ErrorKind::PauseTurnCap,
            format!(
                "turn {turn} was still paused after {} (max_continuations)",
                crate::units::count(s.max_continuations as usize, "continuation")
            ),
        ),
        Some("max_tokens") => fail(
            ErrorKind::MaxTokens,
            format!(
                "turn {turn} hit max_tokens ({}); raise max_tokens in the manifest",
                s.max_tokens
            ),
        ),
        Some("refusal") => fail(ErrorKind::Refusal, refusal_message(at.turn, details)),
        // The response was cut where the context window ran out (docs/api.md §3.7); like
        // `max_tokens`, what the job got so far is kept.
        Some("model_context_window_exceeded") => fail(
            ErrorKind::ContextWindowExceeded,
            format!(
                "turn {turn} filled the context window of `{}`, so its answer was cut off; \
                 shorten the prompts or the inputs the model reads, or split the job",
                s.model
            ),
        ),
        other => fail(
            ErrorKind::UnexpectedStop,
            format!(
                "turn {turn} stopped with `{}`, which a code-execution job cannot continue",
                other.unwrap_or("null")
            ),
        ),
    })
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
    at: At,
    request_id: &Option<String>,
    stop: Option<String>,
    body: &Value,
    batch: Option<&BatchRef>,
) -> Exchange {
    Exchange {
        turn: at.turn,
        continuation: at.continuation,
        request_id: request_id.clone(),
        stop_reason: stop,
        usage: Usage::from_wire(&body["usage"]),
        response: body.clone(),
        batch: batch.cloned(),
        received_on: crate::api::prices::today(),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn job() -> PlannedJob {
        crate::output::tests::succeeded().job
    }

    fn at(turn: usize, continuation: u32) -> At {
        At { turn, continuation }
    }

    #[test]
    fn a_turn_ends_on_end_turn_and_continues_on_pause_turn_up_to_the_cap() {
        let job = job();
        let none = Value::Null;
        for stop in ["end_turn", "stop_sequence"] {
            assert_eq!(
                after_stop(&job, Some(stop), &none, at(0, 0)),
                Ok(Next::TurnOver)
            );
        }
        let cap = job.settings.max_continuations;
        let paused = |c| after_stop(&job, Some("pause_turn"), &none, at(1, c));
        assert_eq!(paused(cap - 1), Ok(Next::Continue));
        let (kind, message) = paused(cap).unwrap_err();
        assert_eq!(kind, ErrorKind::PauseTurnCap);
        assert!(message.starts_with("turn 2 was still paused"), "{message}");
    }

    #[test]
    fn every_other_stop_fails_the_job_with_its_own_kind() {
        let job = job();
        let details = json!({"category": "cyber", "explanation": "Not this."});
        let kinds = [
            (Some("max_tokens"), ErrorKind::MaxTokens),
            (Some("refusal"), ErrorKind::Refusal),
            (
                Some("model_context_window_exceeded"),
                ErrorKind::ContextWindowExceeded,
            ),
            (Some("tool_use"), ErrorKind::UnexpectedStop),
            (None, ErrorKind::UnexpectedStop),
        ];
        for (stop, kind) in kinds {
            let (got, message) = after_stop(&job, stop, &details, at(0, 0)).unwrap_err();
            assert_eq!(got, kind, "{stop:?}");
            assert!(message.contains("turn 1"), "{message}");
        }
        let (_, refusal) = after_stop(&job, Some("refusal"), &details, at(0, 0)).unwrap_err();
        assert!(
            refusal.contains("(category `cyber`): Not this;"),
            "{refusal}"
        );
    }
}

//! `POST /v1/messages` (docs/api.md §3): validation like the real API,
//! containers, continuations, and the response envelope around the
//! scripted model's answer.

use hyper::HeaderMap;
use jiff::Timestamp;
use serde_json::{Map, Value, json};

use crate::errors::{ApiError, Reply};
use crate::ledger::LedgerEntry;
use crate::limits::RateHeaders;
use crate::model::{self, Turn};
use crate::prices::{self, Tokens};
use crate::server::Ctx;
use crate::skills::container::{self as skill_rules, Which};
use crate::state::{Container, Emitted, IdKind, State, after, rfc3339};
use crate::strict::LastTurn;
use crate::{billing, checks, directives, headers, rules, usage, validate};

const DEFAULT_CONTAINER_TTL: std::time::Duration = std::time::Duration::from_secs(3600);

enum ContainerRef {
    New,
    Existing(String),
}

pub(crate) async fn create(ctx: &Ctx, headers: &HeaderMap, body: &[u8]) -> Result<Reply, ApiError> {
    let request: Value = serde_json::from_slice(body)
        .map_err(|e| ApiError::invalid(format!("The request body is not valid JSON: {e}")))?;
    let obj = request
        .as_object()
        .ok_or_else(|| ApiError::invalid("The request body must be a JSON object"))?;
    let model_name = match obj.get("model") {
        None => return Err(ApiError::invalid("model: Field required")),
        Some(Value::String(s)) if !s.is_empty() => s.clone(),
        Some(_) => {
            return Err(ApiError::invalid(
                "model: Input should be a non-empty string",
            ));
        }
    };
    // Retired and unknown models are a 404 before anything else runs (docs/api.md §8.9).
    let today = ctx.shared.today();
    let model = ctx
        .shared
        .read(|s| s.catalogue.callable(&model_name, today))?;
    let rules = rules::of(&model.rules_id);
    let max_tokens = match obj.get("max_tokens") {
        None => return Err(ApiError::invalid("max_tokens: Field required")),
        Some(v) => v.as_u64().filter(|n| *n >= 1).ok_or_else(|| {
            ApiError::invalid("max_tokens: Input should be an integer greater than or equal to 1")
        })?,
    };
    let batch_300k = ctx.batch && headers::has_beta(headers, "output-300k-2026-03-24");
    checks::max_tokens(max_tokens, &model, batch_300k)?;
    let messages = validate::messages(obj)?;
    checks::sampling(obj, &ctx.version, rules)?;
    validate::version_rules(messages, &ctx.version)?;
    let stream = match obj.get("stream") {
        None | Some(Value::Null) => false,
        Some(Value::Bool(b)) => *b,
        Some(_) => return Err(ApiError::invalid("stream: Input should be a valid boolean")),
    };
    // `container` and its skills (docs/api.md §8.16) before the fake's own tool demand,
    // so a request with skills and no code execution tool hears the API's message.
    let requested = skill_rules::parse(obj)?;
    let tools = validate::tools(obj)?;
    checks::tool_choice(obj, rules)?;
    let thinking = checks::thinking(obj, &model, rules, Some(max_tokens))?;

    let last_user = messages
        .iter()
        .rposition(|m| m["role"] == "user")
        .unwrap_or(0);
    let user_texts: Vec<String> = messages[..=last_user]
        .iter()
        .filter(|m| m["role"] == "user")
        .map(text_of)
        .collect();
    let directives =
        directives::for_turn(&user_texts, user_texts.len()).map_err(ApiError::invalid)?;
    if let Some((status, error_type, code)) = &directives.fail {
        let mut err = ApiError::from_parts(*status, error_type, code.as_deref(), None);
        if let Some(secs) = directives.fail_retry_after {
            err = err.with_retry_after(secs);
        }
        return Err(err);
    }
    validate::directives_fit(&directives, tools.legacy)?;

    // A continuation resends, unchanged, content this fake produced; on the models that
    // refuse prefill only a paused turn may come last (docs/api.md §8.10).
    let trailing = &messages[last_user + 1..];
    let found: Vec<Option<Emitted>> = ctx.shared.read(|s| {
        trailing
            .iter()
            .map(|m| s.emitted.get(&content_hash(&m["content"])).cloned())
            .collect()
    });
    let paused_last = found
        .last()
        .is_some_and(|e| e.as_ref().is_some_and(|e| e.paused));
    checks::prefill(messages, rules, paused_last)?;
    let prior: Vec<Emitted> = found
        .into_iter()
        .enumerate()
        .map(|(i, e)| {
            e.ok_or_else(|| {
                ApiError::invalid(format!(
                    "messages.{}.content: this assistant turn is not a response of this server, \
                     resent unchanged (pause_turn continuations must append the paused content as is)",
                    last_user + 1 + i
                ))
            })
        })
        .collect::<Result<_, _>>()?;
    let continuation = u32::try_from(prior.len()).unwrap_or(u32::MAX);
    let dangling = prior.last().and_then(|p| p.dangling.clone());

    let container_ref = match &requested.which {
        Which::Absent => match prior.last() {
            // The paused call belongs to its container; resume there.
            Some(p) => ContainerRef::Existing(p.container_id.clone()),
            None => ContainerRef::New,
        },
        Which::Id(id) => ContainerRef::Existing(id.clone()),
        Which::New => ContainerRef::New,
    };
    let fresh_skills = ctx
        .shared
        .read(|s| skill_rules::resolve(&s.skills, &requested.skills))?;

    // Thinking blocks sent back must be bound to this very prefix (docs/api.md §8.11);
    // in strict mode the whole conversation must be append-only.
    let check_binding = rules.preserved_thinking && !drops_mismatched_blocks(obj);
    let prefix = ctx.shared.read(|s| -> Result<_, ApiError> {
        if s.strict_prefix
            && let ContainerRef::Existing(id) = &container_ref
            && let Some(last) = s.conversations.get(id)
        {
            last.check(id, obj, messages)?;
        }
        let head = s.binder.head(model.id(), obj);
        s.binder.walk(head, messages, check_binding)
    })?;

    // Caching and the token limits, before anything happens in a container.
    let ttl = billing::cache_ttl(obj)?;
    let system_ttl = billing::system_breakpoint(obj)?;
    billing::check_breakpoints(obj)?;
    let token_limit = ctx.shared.config.token_limit;
    let forced = directives.usage.unwrap_or_default();
    let total_input = billing::input_tokens(body.len());
    let now = std::time::Instant::now();
    let (split, admitted) = ctx.shared.update(|s| {
        let split = if forced.forces_input() {
            billing::Split::forced(
                forced.input.unwrap_or(0),
                forced.cache_write.unwrap_or(0),
                forced.cache_read.unwrap_or(0),
            )
        } else {
            s.billing.split(obj, total_input, ttl, system_ttl, now)
        };
        let admitted = match token_limit {
            Some(limit) => s.billing.admit(limit, &split, now).map_err(|e| {
                s.stats.token_limited += 1;
                with_token_headers(e, s.billing.headers(limit, now))
            }),
            None => Ok(()),
        };
        (split, admitted)
    });
    admitted?;

    let uploads = file_refs(messages);
    let ttl = ctx
        .shared
        .config
        .container_ttl
        .unwrap_or(DEFAULT_CONTAINER_TTL);
    let new_container_id = ctx.shared.new_id(IdKind::Container);
    let (placed, mounted) = ctx.shared.update(|s| {
        let is_new = match &container_ref {
            ContainerRef::Existing(id) if s.containers.contains_key(id) => {
                skill_rules::check_reuse(&s.skills, id, &requested.skills)?;
                false
            }
            ContainerRef::Existing(_) => false,
            ContainerRef::New => true,
        };
        let placed = place(
            s,
            &uploads,
            container_ref,
            new_container_id,
            ttl,
            continuation > 0,
            ctx.shared.config.expired_container_500,
        )?;
        let mounted = skill_rules::mount(&mut s.skills, &placed.container_id, is_new, fresh_skills);
        Ok::<_, ApiError>((placed, mounted))
    })?;

    if let Some(pause) = directives.sleep {
        tokio::time::sleep(pause).await;
    }

    let turn = Turn {
        legacy: tools.legacy,
        files: placed.files,
        // The prompt is the message's last text block: a runner's first turn starts with a
        // note of its own (the attached files), which a model reads but does not quote.
        prompt_line: prompt_line(&last_text_block(&messages[last_user])),
        directives: &directives,
        continuation,
        dangling,
        client_tool: tools.client_tool,
        stop_sequence: obj
            .get("stop_sequences")
            .and_then(|v| v.get(0))
            .and_then(Value::as_str)
            .map(str::to_owned),
        script_exists: placed.script_exists,
        thinking,
        skills: mounted.loaded.clone(),
        metrics_file: metrics_file(obj.get("system"))
            .or_else(|| metrics_file(first_user_content(messages))),
    };
    let shared = ctx.shared.clone();
    let answer = model::answer(&turn, &mut |kind| shared.new_id(kind));

    let tool_calls = answer
        .content
        .iter()
        .filter(|b| b["type"] == "server_tool_use")
        .count();
    let mut blocks = answer.content;
    let raw = usage::take_raw(&mut blocks);
    let container_id = placed.container_id;
    let message_id = ctx.shared.new_id(IdKind::Message);
    let paused = answer.stop_reason == "pause_turn";
    let (content, output, expires_at, rate_headers) = ctx.shared.update(|s| {
        s.binder.sign_response(&prefix, &mut blocks);
        let mut output = usage::output(
            &blocks,
            &raw,
            max_tokens,
            answer.stop_reason == "max_tokens",
            rules.new_usage,
        );
        if let Some(total) = forced.output {
            output.total = total;
        }
        if let Some(thinking) = forced.thinking {
            output.thinking = thinking;
        }
        let content = Value::Array(blocks);
        let now = std::time::Instant::now();
        s.billing.settle(token_limit, &split, output.total, now);
        s.stats.usage = s.billing.totals;
        let rate_headers = token_limit.map(|limit| s.billing.headers(limit, now));
        for g in answer.generated {
            let hash = blake3::hash(&g.bytes).to_hex().to_string();
            s.stats.generated_files.push(g.id.clone());
            s.add_file(g.id, g.name, g.mime, g.bytes, hash, true, None);
        }
        s.emitted.insert(
            content_hash(&content),
            Emitted {
                container_id: container_id.clone(),
                paused,
                dangling: answer.dangling,
            },
        );
        s.conversations
            .insert(container_id.clone(), LastTurn::new(obj, messages, &content));
        let tokens = Tokens {
            input: split.input,
            cache_write_5m: if split.ttl_1h { 0 } else { split.write },
            cache_write_1h: if split.ttl_1h { split.write } else { 0 },
            cache_read: split.read,
            output: output.total,
        };
        let priced = prices::price(model.id(), today, ctx.batch, &tokens);
        s.ledger.record(
            LedgerEntry {
                message_id: message_id.clone(),
                model: model_name.clone(),
                date: today.to_string(),
                batch: ctx.batch,
                tokens: tokens.into(),
                row: priced.as_ref().map(|p| p.row.clone()),
                tier: priced.as_ref().is_some_and(|p| p.tier),
                micro_usd: None,
            },
            priced.map(|p| p.half_nano),
        );
        let container = s.containers.get_mut(&container_id);
        let expires_at = if let Some(c) = container {
            c.has_script |= answer.wrote_script;
            c.expires_at
        } else {
            after(ttl)
        };
        (content, output, expires_at, rate_headers)
    });

    let mut usage = json!({
        "input_tokens": split.input,
        "output_tokens": output.total,
        "cache_creation_input_tokens": split.write,
        "cache_read_input_tokens": split.read,
        "cache_creation": {
            "ephemeral_5m_input_tokens": if split.ttl_1h { 0 } else { split.write },
            "ephemeral_1h_input_tokens": if split.ttl_1h { split.write } else { 0 },
        },
        "inference_geo": "global",
        "server_tool_use": {"web_search_requests": 0, "web_fetch_requests": 0,
                            "code_execution_requests": tool_calls},
        "service_tier": if ctx.batch { "batch" } else { "standard" },
    });
    if rules.new_usage {
        usage["output_tokens_details"] = json!({"thinking_tokens": output.thinking});
        usage["speed"] = json!("standard");
    }
    let message = json!({
        "id": message_id,
        "type": "message",
        "role": "assistant",
        "model": model_name,
        "content": content,
        "stop_reason": answer.stop_reason,
        "stop_sequence": answer.stop_sequence,
        "stop_details": answer.stop_details,
        "container": {"id": container_id, "expires_at": rfc3339(expires_at),
                      "skills": skill_rules::response_skills(&mounted)},
        "usage": usage,
    });
    let mut reply = if stream {
        let mut reply = Reply::bytes(hyper::StatusCode::OK, crate::stream::sse(&message));
        reply.set_header("content-type", "text/event-stream; charset=utf-8");
        reply.set_header("cache-control", "no-cache");
        reply
    } else {
        Reply::ok_json(&message)
    };
    for (name, value) in token_headers(rate_headers) {
        reply.set_header(name, &value);
    }
    Ok(reply)
}

/// `thinking.block_binding.prefix_mismatch_behavior: "drop_block"` (beta): mismatched
/// blocks are dropped instead of refused, so the fake does not check them.
fn drops_mismatched_blocks(obj: &Map<String, Value>) -> bool {
    obj.get("thinking")
        .and_then(|t| t.get("block_binding"))
        .and_then(|b| b.get("prefix_mismatch_behavior"))
        .is_some_and(|v| v == "drop_block")
}

/// `POST /v1/messages/count_tokens`: the input tokens the same request would have, after
/// the same model, sampling and thinking-prefix checks (docs/api.md §8.10); file sources
/// are refused (docs/api.md §8.14).
pub(crate) fn count_tokens(ctx: &Ctx, body: &[u8]) -> Result<Reply, ApiError> {
    let request: Value = serde_json::from_slice(body)
        .map_err(|e| ApiError::invalid(format!("The request body is not valid JSON: {e}")))?;
    let obj = request
        .as_object()
        .ok_or_else(|| ApiError::invalid("The request body must be a JSON object"))?;
    let Some(model_name) = obj.get("model").and_then(Value::as_str) else {
        return Err(ApiError::invalid("model: Field required"));
    };
    let today = ctx.shared.today();
    let model = ctx
        .shared
        .read(|s| s.catalogue.callable(model_name, today))?;
    let rules = rules::of(&model.rules_id);
    if let Some(key) = ["max_tokens", "container", "stream"]
        .into_iter()
        .find(|k| obj.contains_key(*k))
    {
        return Err(ApiError::invalid(format!(
            "{key}: Extra inputs are not permitted"
        )));
    }
    let messages = validate::messages(obj)?;
    if has_file_source(messages) {
        return Err(ApiError::invalid(
            "File sources are not supported in the token counting endpoint.",
        ));
    }
    checks::sampling(obj, &ctx.version, rules)?;
    checks::thinking(obj, &model, rules, None)?;
    let check_binding = rules.preserved_thinking && !drops_mismatched_blocks(obj);
    ctx.shared.read(|s| {
        let head = s.binder.head(model.id(), obj);
        s.binder.walk(head, messages, check_binding).map(|_| ())
    })?;
    ctx.shared.update(|s| s.stats.count_tokens += 1);
    Ok(Reply::ok_json(&json!({
        "input_tokens": billing::input_tokens(body.len()),
    })))
}

/// A `container_upload` block or any block whose `source.type` is `file`.
fn has_file_source(messages: &[Value]) -> bool {
    messages
        .iter()
        .filter_map(|m| m["content"].as_array())
        .flatten()
        .any(|b| b["type"] == "container_upload" || b["source"]["type"] == "file")
}

/// `anthropic-ratelimit-{input,output}-tokens-{limit,remaining,reset}`.
fn token_headers(headers: Option<[(&'static str, RateHeaders); 2]>) -> Vec<(&'static str, String)> {
    let mut out = Vec::new();
    for (kind, h) in headers.into_iter().flatten() {
        let (limit, remaining, reset) = match kind {
            "input-tokens" => (
                "anthropic-ratelimit-input-tokens-limit",
                "anthropic-ratelimit-input-tokens-remaining",
                "anthropic-ratelimit-input-tokens-reset",
            ),
            _ => (
                "anthropic-ratelimit-output-tokens-limit",
                "anthropic-ratelimit-output-tokens-remaining",
                "anthropic-ratelimit-output-tokens-reset",
            ),
        };
        out.push((limit, h.limit.to_string()));
        out.push((remaining, h.remaining.to_string()));
        out.push((reset, rfc3339(after(h.reset_in))));
    }
    out
}

fn with_token_headers(mut e: ApiError, headers: [(&'static str, RateHeaders); 2]) -> ApiError {
    for (name, value) in token_headers(Some(headers)) {
        e = e.with_header(name, value);
    }
    e
}

/// The last `text` block of a message (or its string content).
fn last_text_block(message: &Value) -> String {
    match &message["content"] {
        Value::String(s) => s.clone(),
        Value::Array(blocks) => blocks
            .iter()
            .rev()
            .find(|b| b["type"] == "text")
            .and_then(|b| b["text"].as_str())
            .unwrap_or_default()
            .to_owned(),
        _ => String::new(),
    }
}

/// The text of a message: a string, or its `text` blocks joined by newlines.
pub(crate) fn text_of(message: &Value) -> String {
    match &message["content"] {
        Value::String(s) => s.clone(),
        Value::Array(blocks) => blocks
            .iter()
            .filter(|b| b["type"] == "text")
            .filter_map(|b| b["text"].as_str())
            .collect::<Vec<_>>()
            .join("\n"),
        _ => String::new(),
    }
}

/// The metrics file the system prompt asks for, as the runner words it
/// ("- `metrics.json`: a flat JSON object of …"): the scripted model writes it.
/// The first user message's content: where the runner puts what is a job's own (its
/// files and deliverables), after the shared system prompt.
fn first_user_content(messages: &[Value]) -> Option<&Value> {
    messages.first().and_then(|m| m.get("content"))
}

fn metrics_file(system: Option<&Value>) -> Option<String> {
    let text = match system? {
        Value::String(s) => s.clone(),
        Value::Array(blocks) => blocks
            .iter()
            .filter_map(|b| b["text"].as_str())
            .collect::<Vec<_>>()
            .join("\n"),
        _ => return None,
    };
    text.lines().find_map(|l| {
        let rest = l.strip_prefix("- `")?;
        let (name, tail) = rest.split_once('`')?;
        (tail.starts_with(": a flat JSON object of") && !name.contains(['/', '\\']))
            .then(|| name.to_owned())
    })
}

fn prompt_line(text: &str) -> String {
    text.lines()
        .map(str::trim)
        .find(|l| !l.is_empty() && !l.starts_with("@fake"))
        .unwrap_or("(no prompt text)")
        .to_owned()
}

struct FileRef {
    id: String,
    /// `container_upload` (placed in the container) or a document/image source.
    upload: bool,
}

/// Files referenced by user turns, in order.
fn file_refs(messages: &[Value]) -> Vec<FileRef> {
    let mut refs = Vec::new();
    for m in messages.iter().filter(|m| m["role"] == "user") {
        let Some(blocks) = m["content"].as_array() else {
            continue;
        };
        for b in blocks {
            if b["type"] == "container_upload" {
                if let Some(id) = b["file_id"].as_str() {
                    refs.push(FileRef {
                        id: id.to_owned(),
                        upload: true,
                    });
                }
            } else if b["source"]["type"] == "file"
                && let Some(id) = b["source"]["file_id"].as_str()
            {
                refs.push(FileRef {
                    id: id.to_owned(),
                    upload: false,
                });
            }
        }
    }
    refs
}

struct Placed {
    container_id: String,
    files: Vec<(String, u64, String)>,
    script_exists: bool,
}

/// Checks the referenced files and the container, then puts every
/// `container_upload` file into the container (one lock, so it is atomic).
fn place(
    s: &mut State,
    refs: &[FileRef],
    container: ContainerRef,
    new_id: String,
    ttl: std::time::Duration,
    is_continuation: bool,
    expired_as_500: bool,
) -> Result<Placed, ApiError> {
    let now = Timestamp::now();
    let mut uploads = Vec::new();
    for r in refs {
        let Some(f) = s.file(&r.id) else {
            return Err(ApiError::not_found(format!("File `{}` not found.", r.id)));
        };
        // Status for an expired file is UNCONFIRMED; we answer like download.
        if f.is_expired(now) {
            return Err(ApiError::not_found(format!("File `{}` has expired.", r.id))
                .with_code("file_expired"));
        }
        if r.upload {
            uploads.push((f.filename.clone(), f.bytes.len() as u64, f.blake3.clone()));
        }
    }
    let id = match container {
        ContainerRef::Existing(id) => {
            match s.containers.get(&id) {
                None => {
                    return Err(ApiError::invalid(format!(
                        "container `{id}` was not found."
                    )));
                }
                // The same refusal, as an API that reports it as an internal error would.
                Some(c) if c.expires_at <= now && expired_as_500 => {
                    return Err(ApiError::new(500, "Internal server error"));
                }
                Some(c) if c.expires_at <= now => {
                    return Err(ApiError::invalid(format!(
                        "container `{id}` has expired; retry without `container` to get a new one."
                    )));
                }
                Some(_) => {}
            }
            id
        }
        ContainerRef::New => {
            s.containers.insert(
                new_id.clone(),
                Container {
                    expires_at: now,
                    files: Default::default(),
                    has_script: false,
                },
            );
            new_id
        }
    };
    let expires_at = after(ttl);
    let (files, script_exists) = match s.containers.get_mut(&id) {
        Some(c) => {
            c.expires_at = expires_at;
            for (name, size, hash) in uploads {
                c.files.insert(name, (size, hash));
            }
            let files = c
                .files
                .iter()
                .map(|(n, (size, hash))| (n.clone(), *size, hash.clone()))
                .collect();
            (files, c.has_script)
        }
        None => (Vec::new(), false),
    };
    s.sync_container_stats(&id);
    if let Some(info) = s.stats.containers.get_mut(&id) {
        info.requests += 1;
    }
    if is_continuation {
        s.stats.continuations += 1;
    }
    Ok(Placed {
        container_id: id,
        files,
        script_exists,
    })
}

/// blake3 of the JSON with object keys sorted, so key order and whitespace
/// of a resent turn do not matter but every value does.
pub(crate) fn content_hash(content: &Value) -> String {
    fn write(v: &Value, out: &mut String) {
        match v {
            Value::Object(map) => {
                let mut keys: Vec<&String> = map.keys().collect();
                keys.sort();
                out.push('{');
                for (i, k) in keys.into_iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    out.push_str(&Value::String(k.clone()).to_string());
                    out.push(':');
                    write(&map[k], out);
                }
                out.push('}');
            }
            Value::Array(items) => {
                out.push('[');
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    write(item, out);
                }
                out.push(']');
            }
            other => out.push_str(&other.to_string()),
        }
    }
    let mut out = String::new();
    write(content, &mut out);
    blake3::hash(out.as_bytes()).to_hex().to_string()
}

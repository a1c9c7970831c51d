//! Test-only control endpoints under `/_fake/`. NOT part of the Anthropic
//! API: they let out-of-process tests (the Python fidelity check, demos)
//! script what the in-process Rust API ([`crate::FakeServer`]) scripts.
//! They need no auth and are never logged, counted or faulted.

use std::sync::Arc;

use http_body_util::BodyExt;
use hyper::body::Incoming;
use hyper::{Method, Request, StatusCode};
use jiff::Timestamp;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::errors::Reply;
use crate::faults::{Endpoint, Fault, FaultSpec};
use crate::state::{Shared, Stats};

impl Shared {
    pub(crate) fn push_faults(&self, endpoint: Endpoint, faults: impl IntoIterator<Item = Fault>) {
        self.update(|s| s.faults.entry(endpoint).or_default().extend(faults));
    }

    pub(crate) fn release_held(&self) {
        self.release.send_modify(|v| *v = v.wrapping_add(1));
    }

    pub(crate) fn delete_file(&self, id: &str) -> bool {
        self.update(|s| s.remove_file(id))
    }

    pub(crate) fn expire_file(&self, id: &str) -> bool {
        let past = Timestamp::now() - jiff::SignedDuration::from_secs(1);
        self.update(|s| match s.file_mut(id) {
            Some(f) => {
                f.expires_at = Some(past);
                true
            }
            None => false,
        })
    }

    pub(crate) fn set_skill_blocked(&self, id: &str, blocked: bool) -> bool {
        self.update(|s| {
            let exists = s.skills.skill(id).is_some();
            if exists && blocked {
                s.skills.blocked.insert(id.to_owned());
            } else {
                s.skills.blocked.remove(id);
            }
            exists
        })
    }

    pub(crate) fn expire_container(&self, id: &str) -> bool {
        let past = Timestamp::now() - jiff::SignedDuration::from_secs(1);
        self.update(|s| match s.containers.get_mut(id) {
            Some(c) => {
                c.expires_at = past;
                true
            }
            None => false,
        })
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PushFaults {
    endpoint: Endpoint,
    faults: Vec<FaultSpec>,
}

#[derive(Deserialize)]
struct FileRef {
    file_id: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct BlockSkill {
    skill_id: String,
    #[serde(default = "yes")]
    blocked: bool,
}

fn yes() -> bool {
    true
}

#[derive(Deserialize)]
struct ContainerRef {
    container_id: String,
}

pub(crate) async fn handle(shared: &Arc<Shared>, req: Request<Incoming>) -> Reply {
    let method = req.method().clone();
    let path = req.uri().path().to_owned();
    let body = match req.into_body().collect().await {
        Ok(b) => b.to_bytes(),
        Err(e) => return bad(&format!("reading body: {e}")),
    };
    let parse = |what: &str| -> Result<Value, String> {
        serde_json::from_slice(&body).map_err(|e| format!("{what}: {e}"))
    };
    let found = |ok: bool| {
        if ok {
            Reply::ok_json(&json!({"ok": true}))
        } else {
            Reply::json(
                StatusCode::NOT_FOUND,
                &json!({"ok": false, "error": "no such id"}),
            )
        }
    };
    let result = match (&method, path.as_str()) {
        (&Method::POST, "/_fake/faults") => parse("faults").and_then(|v| {
            let push: PushFaults = serde_json::from_value(v).map_err(|e| e.to_string())?;
            shared.push_faults(push.endpoint, push.faults.into_iter().map(Fault::from));
            Ok(Reply::ok_json(&json!({"ok": true})))
        }),
        (&Method::POST, "/_fake/release_held") => {
            shared.release_held();
            Ok(Reply::ok_json(&json!({"ok": true})))
        }
        (&Method::POST, "/_fake/expire_file") => parse("expire_file").and_then(|v| {
            let r: FileRef = serde_json::from_value(v).map_err(|e| e.to_string())?;
            Ok(found(shared.expire_file(&r.file_id)))
        }),
        (&Method::POST, "/_fake/delete_file") => parse("delete_file").and_then(|v| {
            let r: FileRef = serde_json::from_value(v).map_err(|e| e.to_string())?;
            Ok(found(shared.delete_file(&r.file_id)))
        }),
        (&Method::POST, "/_fake/expire_container") => parse("expire_container").and_then(|v| {
            let r: ContainerRef = serde_json::from_value(v).map_err(|e| e.to_string())?;
            Ok(found(shared.expire_container(&r.container_id)))
        }),
        (&Method::POST, "/_fake/block_skill") => parse("block_skill").and_then(|v| {
            let r: BlockSkill = serde_json::from_value(v).map_err(|e| e.to_string())?;
            Ok(found(shared.set_skill_blocked(&r.skill_id, r.blocked)))
        }),
        (&Method::POST, "/_fake/skills_in_batches_refused") => {
            parse("skills_in_batches_refused").and_then(|v| {
                let on = v["on"]
                    .as_bool()
                    .ok_or("skills_in_batches_refused: expected {\"on\": true|false}")?;
                shared.update(|s| s.skills.refused_in_batches = on);
                Ok(Reply::ok_json(&json!({"ok": true})))
            })
        }
        (&Method::GET, "/_fake/stats") => {
            Ok(Reply::ok_json(&shared.read(|s| stats_json(&s.stats))))
        }
        (&Method::POST, "/_fake/batch_delay") => parse("batch_delay").and_then(|v| {
            let ms = v["ms"].as_u64().ok_or("batch_delay: expected {\"ms\": N}")?;
            shared.update(|s| s.batch_delay = std::time::Duration::from_millis(ms));
            Ok(Reply::ok_json(&json!({"ok": true})))
        }),
        (&Method::GET, "/_fake/batch_items") => Ok(Reply::ok_json(&shared.read(|s| {
            s.batch_items
                .iter()
                .map(|i| json!({"batch_id": i.batch_id, "custom_id": i.custom_id, "params": i.params}))
                .collect::<Value>()
        }))),
        (&Method::POST, "/_fake/models") => parse("models").and_then(|v| {
            let entries = match v {
                Value::Array(list) => list,
                one => vec![one],
            };
            shared.update(|s| entries.iter().try_for_each(|e| s.catalogue.add(e)))?;
            Ok(Reply::ok_json(&json!({"ok": true})))
        }),
        (&Method::POST, "/_fake/today") => parse("today").and_then(|v| {
            let date = v["date"]
                .as_str()
                .and_then(|d| d.parse::<jiff::civil::Date>().ok())
                .ok_or("today: expected {\"date\": \"YYYY-MM-DD\"}")?;
            shared.update(|s| s.today = Some(date));
            Ok(Reply::ok_json(&json!({"ok": true})))
        }),
        (&Method::GET, "/_fake/ledger") => Ok(Reply::ok_json(
            &shared.read(|s| serde_json::to_value(&s.ledger).unwrap_or(Value::Null)),
        )),
        (&Method::POST, "/_fake/strict_prefix") => parse("strict_prefix").and_then(|v| {
            let on = v["on"]
                .as_bool()
                .ok_or("strict_prefix: expected {\"on\": true|false}")?;
            shared.update(|s| s.strict_prefix = on);
            Ok(Reply::ok_json(&json!({"ok": true})))
        }),
        (&Method::GET, "/_fake/messages_requests") => Ok(Reply::ok_json(
            &shared.read(|s| Value::from(s.messages_requests.clone())),
        )),
        _ => {
            return Reply::json(
                StatusCode::NOT_FOUND,
                &json!({"ok": false, "error": format!("no control endpoint {method} {path}")}),
            );
        }
    };
    result.unwrap_or_else(|e| bad(&e))
}

fn bad(msg: &str) -> Reply {
    Reply::json(StatusCode::BAD_REQUEST, &json!({"ok": false, "error": msg}))
}

/// Stats as JSON (tuple keys become a list).
pub(crate) fn stats_json(s: &Stats) -> Value {
    let uploads: Vec<Value> = s
        .uploads
        .iter()
        .map(|((hash, name), n)| json!({"blake3": hash, "filename": name, "count": n}))
        .collect();
    let containers: serde_json::Map<String, Value> = s
        .containers
        .iter()
        .map(|(id, c)| {
            (
                id.clone(),
                json!({"files": c.files, "requests": c.requests}),
            )
        })
        .collect();
    json!({
        "uploads": uploads,
        "upload_count": s.upload_count,
        "requests": s.requests,
        "requests_total": s.requests_total,
        "messages_in_flight": s.messages_in_flight,
        "max_messages_in_flight": s.max_messages_in_flight,
        "uploads_in_flight": s.uploads_in_flight,
        "max_uploads_in_flight": s.max_uploads_in_flight,
        "continuations": s.continuations,
        "retries_seen": s.retries_seen,
        "faults_served": s.faults_served,
        "containers": containers,
        "generated_files": s.generated_files,
        "held": s.held,
        "usage": {
            "responses": s.usage.responses,
            "input_tokens": s.usage.input_tokens,
            "cache_write_5m": s.usage.cache_write_5m,
            "cache_write_1h": s.usage.cache_write_1h,
            "cache_read": s.usage.cache_read,
            "output_tokens": s.usage.output_tokens,
        },
        "token_limited": s.token_limited,
        "count_tokens": s.count_tokens,
        "batches_created": s.batches_created,
        "batches_ended": s.batches_ended,
        "batch_items": s.batch_items,
        "skills_created": s.skills_created,
        "skill_versions_created": s.skill_versions_created,
        "skills_deleted": s.skills_deleted,
        "skill_versions_deleted": s.skill_versions_deleted,
        "skills_carried": s.skills_carried.iter().map(|c| json!({
            "batch": c.batch, "container_id": c.container_id, "skills": c.skills,
        })).collect::<Vec<Value>>(),
    })
}

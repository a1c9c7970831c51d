//! Everything the fake remembers, behind one mutex, plus the counters tests
//! observe. Every change notifies waiters (sync Condvar and async watch).

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use bytes::Bytes;
use jiff::Timestamp;
use serde_json::{Value, json};

use crate::Config;
use crate::billing::{Billing, UsageTotals};
use crate::faults::{Endpoint, Fault};
use crate::limits::{Overload, RateWindow};

/// What a container holds, as seen in [`Stats::containers`].
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ContainerInfo {
    /// File name in the container → blake3 hex of its bytes.
    pub files: BTreeMap<String, String>,
    /// Messages requests that ran in this container.
    pub requests: u32,
}

/// Counters, as a snapshot ([`crate::FakeServer::stats`]).
#[derive(Clone, Debug, Default)]
pub struct Stats {
    /// (blake3 hex, filename) → successful uploads of that content under that name.
    pub uploads: BTreeMap<(String, String), u32>,
    pub upload_count: u32,
    /// Endpoint name ([`Endpoint::name`], or `"unknown"`) → requests.
    pub requests: BTreeMap<String, u32>,
    pub requests_total: u32,
    pub messages_in_flight: usize,
    pub max_messages_in_flight: usize,
    pub uploads_in_flight: usize,
    pub max_uploads_in_flight: usize,
    /// Messages requests that continue a `pause_turn`.
    pub continuations: u32,
    /// Requests with `x-stainless-retry-count` > 0.
    pub retries_seen: u32,
    pub faults_served: u32,
    pub containers: BTreeMap<String, ContainerInfo>,
    /// Ids of files the scripted model generated, in order.
    pub generated_files: Vec<String>,
    /// Requests currently parked by [`Fault::Hold`].
    pub held: usize,
    /// Usage reported, summed over every successful Messages response.
    pub usage: UsageTotals,
    /// Messages requests answered 429 by the token-per-minute limits.
    pub token_limited: u32,
    /// `POST /v1/messages/count_tokens` requests answered.
    pub count_tokens: u32,
    /// Message Batches created.
    pub batches_created: u32,
    /// Message Batches whose processing ended (all items have results).
    pub batches_ended: u32,
    /// Batch items submitted, over all batches.
    pub batch_items: u32,
    /// Skills created through `POST /v1/skills` (docs/api.md §8.16).
    pub skills_created: u32,
    /// `POST /v1/skills/{id}/versions` answered 200 (the first version of a skill, made
    /// by `POST /v1/skills`, is not counted here).
    pub skill_versions_created: u32,
    /// `DELETE /v1/skills/{id}` answered 200.
    pub skills_deleted: u32,
    /// `DELETE /v1/skills/{id}/versions/{version}` answered 200.
    pub skill_versions_deleted: u32,
    /// The `container` id and `container.skills` of every `POST /v1/messages` (on arrival)
    /// and every batch item (at submission), in that order.
    pub skills_carried: Vec<crate::skills::CarriedSkills>,
}

/// One request, as seen in [`crate::FakeServer::log`].
#[derive(Clone, Debug)]
pub struct LogEntry {
    /// Arrival, since the server started.
    pub at: Duration,
    pub method: String,
    pub path: String,
    pub query: Option<String>,
    /// `None` for paths that are not an API endpoint (answered 404).
    pub endpoint: Option<Endpoint>,
    /// 0 while the request is being handled, and forever if the connection
    /// was dropped before a response (a `DropConnection` fault, or the client
    /// went away).
    pub status: u16,
    pub request_id: String,
    /// From `x-stainless-retry-count`, 0 if absent.
    pub retry_count: u32,
    /// When the response went out, since the server started (`None` until then).
    pub answered_at: Option<Duration>,
    /// The `retry-after-ms` the response carried, if any: the window in which a
    /// well-behaved client sends nothing more to this endpoint.
    pub retry_after: Option<Duration>,
    /// The request's `anthropic-version` header, if any.
    pub api_version: Option<String>,
}

pub(crate) struct StoredFile {
    pub id: String,
    pub seq: u64,
    pub filename: String,
    pub mime_type: String,
    pub created_at: Timestamp,
    pub expires_at: Option<Timestamp>,
    pub downloadable: bool,
    pub bytes: Bytes,
    pub blake3: String,
    /// The metadata announces the size before signing ([`crate::FakeServer::
    /// announce_unsigned_sizes`]): whether the real API does is not known (docs/api.md §0.5).
    pub announce_unsigned: bool,
}

impl StoredFile {
    pub(crate) fn is_expired(&self, now: Timestamp) -> bool {
        self.expires_at.is_some_and(|t| t <= now)
    }

    /// The size a download returns: generated media carry a manifest (docs/api.md §0.5).
    pub(crate) fn download_len(&self) -> usize {
        if self.downloadable {
            crate::c2pa::signed_len(&self.bytes)
        } else {
            self.bytes.len()
        }
    }

    /// FileMetadata (docs/api.md §2.2); the legacy beta shape has no `expires_at`.
    pub(crate) fn metadata(&self, legacy: bool) -> Value {
        let mut v = json!({
            "id": self.id,
            "type": "file",
            "filename": self.filename,
            "mime_type": self.mime_type,
            "size_bytes": if self.announce_unsigned {
                self.bytes.len()
            } else {
                self.download_len()
            },
            "created_at": rfc3339(self.created_at),
            "downloadable": self.downloadable,
        });
        if !legacy {
            v["expires_at"] = self
                .expires_at
                .map_or(Value::Null, |t| Value::from(rfc3339(t)));
        }
        v
    }
}

pub(crate) struct Container {
    pub expires_at: Timestamp,
    /// name → (size, blake3 hex)
    pub files: BTreeMap<String, (u64, String)>,
    /// Whether /tmp/inventory.py was already written (for `is_file_update`).
    pub has_script: bool,
}

/// What the fake remembers about content it emitted, keyed by the canonical
/// hash of the content array, so continuations can be checked and resumed.
#[derive(Clone)]
pub(crate) struct Emitted {
    pub container_id: String,
    /// Ended with `pause_turn`: the one assistant turn a prefill-refusing model accepts
    /// last (docs/api.md §8.10).
    pub paused: bool,
    /// The trailing `server_tool_use` left without result, if any: (id, name).
    pub dangling: Option<(String, String)>,
}

#[derive(Default)]
pub(crate) struct State {
    pub stats: Stats,
    pub log: Vec<LogEntry>,
    pub messages_requests: Vec<Value>,
    pub files: BTreeMap<u64, StoredFile>,
    pub file_seq: HashMap<String, u64>,
    pub next_seq: u64,
    pub containers: HashMap<String, Container>,
    pub emitted: HashMap<String, Emitted>,
    pub faults: HashMap<Endpoint, VecDeque<Fault>>,
    pub rate_messages: RateWindow,
    pub rate_files: RateWindow,
    pub overload: Option<Overload>,
    pub billing: Billing,
    pub batches: BTreeMap<u64, crate::batches::Batch>,
    pub batch_items: Vec<crate::batches::BatchItem>,
    pub batch_delay: Duration,
    /// Batches created before this one (1-based creation order) have no delay.
    pub batch_delay_from: u64,
    /// Files generated from now on announce their unsigned size in `size_bytes`.
    pub announce_unsigned_sizes: bool,
    /// Canonical params → times a `@fake batch …` fault was served for them.
    pub batch_fault_hits: HashMap<String, u32>,
    /// The models `GET /v1/models` lists and requests may name.
    pub catalogue: crate::catalogue::Catalogue,
    /// The date lifecycles and prices are judged by (`None`: the system date).
    pub today: Option<jiff::civil::Date>,
    /// Signs and checks thinking blocks.
    pub binder: crate::thinking::Binder,
    /// Strict prefix mode: container id → its conversation's last request.
    pub conversations: HashMap<String, crate::strict::LastTurn>,
    pub strict_prefix: bool,
    /// Every response priced by the fake's own table.
    pub ledger: crate::ledger::Ledger,
    /// Custom skills, blocked skills, what each container mounted (docs/api.md §8.16).
    pub skills: crate::skills::Store,
}

impl State {
    pub(crate) fn file(&self, id: &str) -> Option<&StoredFile> {
        self.file_seq.get(id).and_then(|seq| self.files.get(seq))
    }

    pub(crate) fn file_mut(&mut self, id: &str) -> Option<&mut StoredFile> {
        let seq = *self.file_seq.get(id)?;
        self.files.get_mut(&seq)
    }

    pub(crate) fn remove_file(&mut self, id: &str) -> bool {
        match self.file_seq.remove(id) {
            Some(seq) => self.files.remove(&seq).is_some(),
            None => false,
        }
    }

    /// Registers a file; `seq` orders listings (newest first).
    #[expect(clippy::too_many_arguments, reason = "a plain record constructor")]
    pub(crate) fn add_file(
        &mut self,
        id: String,
        filename: String,
        mime_type: String,
        bytes: Bytes,
        blake3: String,
        downloadable: bool,
        expires_at: Option<Timestamp>,
    ) -> &StoredFile {
        self.next_seq += 1;
        let seq = self.next_seq;
        self.file_seq.insert(id.clone(), seq);
        let announce_unsigned = self.announce_unsigned_sizes;
        self.files.entry(seq).or_insert(StoredFile {
            id,
            seq,
            filename,
            mime_type,
            created_at: Timestamp::now(),
            expires_at,
            downloadable,
            bytes,
            blake3,
            announce_unsigned,
        })
    }

    pub(crate) fn sync_container_stats(&mut self, id: &str) {
        if let Some(c) = self.containers.get(id) {
            let info = self.stats.containers.entry(id.to_owned()).or_default();
            info.files = c
                .files
                .iter()
                .map(|(name, (_, hash))| (name.clone(), hash.clone()))
                .collect();
        }
    }
}

pub(crate) struct Shared {
    pub config: Config,
    pub started: Instant,
    state: Mutex<State>,
    changed: Condvar,
    /// Bumped on every change, for async waiters.
    pub version: tokio::sync::watch::Sender<u64>,
    /// Bumped by `release_held`; parked requests wait for it to move.
    pub release: tokio::sync::watch::Sender<u64>,
    ids: IdGen,
}

impl Shared {
    pub(crate) fn new(config: Config, salt: u64) -> Shared {
        let overload = config
            .random_overload
            .map(|(p, seed)| Overload::new(p, seed));
        let batch_delay = config.batch_delay;
        let today = config.today;
        let strict_prefix = config.strict_prefix;
        let mut skills = crate::skills::Store::default();
        skills.refused_in_batches = config.skills_in_batches_refused;
        Shared {
            config,
            started: Instant::now(),
            state: Mutex::new(State {
                overload,
                batch_delay,
                batch_delay_from: 1,
                announce_unsigned_sizes: false,
                today,
                strict_prefix,
                skills,
                binder: crate::thinking::Binder::new(salt),
                ..State::default()
            }),
            changed: Condvar::new(),
            version: tokio::sync::watch::Sender::new(0),
            release: tokio::sync::watch::Sender::new(0),
            ids: IdGen::new(salt),
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().expect("lock poisoned")
    }

    /// Runs `f` under the lock, then wakes every waiter.
    pub(crate) fn update<R>(&self, f: impl FnOnce(&mut State) -> R) -> R {
        let r = f(&mut self.lock());
        self.changed.notify_all();
        self.version.send_modify(|v| *v = v.wrapping_add(1));
        r
    }

    /// Runs `f` under the lock without signalling a change.
    pub(crate) fn read<R>(&self, f: impl FnOnce(&State) -> R) -> R {
        f(&self.lock())
    }

    pub(crate) fn wait_until(&self, timeout: Duration, pred: impl Fn(&Stats) -> bool) -> bool {
        let deadline = Instant::now() + timeout;
        let mut guard = self.lock();
        loop {
            if pred(&guard.stats) {
                return true;
            }
            let now = Instant::now();
            if now >= deadline {
                return false;
            }
            guard = self
                .changed
                .wait_timeout(guard, deadline - now)
                .expect("lock poisoned")
                .0;
        }
    }

    /// The fake's date: [`crate::Config::today`] or a later `set_today`, else the system
    /// date (UTC).
    pub(crate) fn today(&self) -> jiff::civil::Date {
        self.read(|s| s.today)
            .unwrap_or_else(crate::catalogue::system_today)
    }

    pub(crate) fn new_id(&self, kind: IdKind) -> String {
        self.ids.next(kind)
    }
}

#[derive(Clone, Copy)]
pub(crate) enum IdKind {
    File,
    Container,
    Request,
    Message,
    ServerToolUse,
    ToolUse,
    Batch,
    Skill,
    SkillVersion,
}

/// Ids shaped like the real ones (docs/api.md §1: opaque, prefixed), unique per
/// server instance and different between instances.
struct IdGen {
    salt: u64,
    counter: AtomicU64,
}

impl IdGen {
    fn new(salt: u64) -> IdGen {
        IdGen {
            salt,
            counter: AtomicU64::new(0),
        }
    }

    fn next(&self, kind: IdKind) -> String {
        const ALPHABET: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
        let n = self.counter.fetch_add(1, Ordering::Relaxed);
        let mut hasher = blake3::Hasher::new();
        hasher.update(&self.salt.to_le_bytes());
        hasher.update(&n.to_le_bytes());
        let digest = hasher.finalize();
        let (prefix, lead, len) = match kind {
            IdKind::File => ("file_", "011C", 20),
            IdKind::Container => ("container_", "011C", 20),
            IdKind::Request => ("req_", "011C", 20),
            IdKind::Message => ("msg_", "01", 22),
            IdKind::ServerToolUse => ("srvtoolu_", "01", 22),
            IdKind::ToolUse => ("toolu_", "01", 22),
            IdKind::Batch => ("msgbatch_", "01", 22),
            IdKind::Skill => ("skill_", "01", 22),
            IdKind::SkillVersion => ("skver_", "01", 22),
        };
        let mut id = String::with_capacity(prefix.len() + lead.len() + len);
        id.push_str(prefix);
        id.push_str(lead);
        for b in digest.as_bytes().iter().take(len) {
            id.push(char::from(ALPHABET[usize::from(*b) % ALPHABET.len()]));
        }
        id
    }
}

/// RFC 3339 with microseconds and `Z`, as the API writes timestamps.
pub(crate) fn rfc3339(t: Timestamp) -> String {
    t.strftime("%Y-%m-%dT%H:%M:%S%.6fZ").to_string()
}

pub(crate) fn after(d: Duration) -> Timestamp {
    let now = Timestamp::now();
    jiff::SignedDuration::try_from(d)
        .ok()
        .and_then(|sd| now.checked_add(sd).ok())
        .unwrap_or(now)
}

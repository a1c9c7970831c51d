//! A stateful fake of the Anthropic Files API and Messages API with the
//! server-side code execution tool, for the runner's tests and demos.
//! The contract is the runner's `docs/api.md` (§8 lists what this fake must
//! reproduce); see README.md for the `@fake` directives, faults, counters and
//! the `/_fake/` control API.

mod admission;
mod batches;
mod billing;
pub mod c2pa;
mod catalogue;
mod checks;
mod control;
mod directives;
mod errors;
mod faults;
mod files;
mod headers;
mod ledger;
mod limits;
mod messages;
mod model;
mod models_api;
pub mod office;
mod png;
mod prices;
mod rules;
mod server;
mod state;
mod stream;
mod strict;
mod thinking;
mod usage;
mod validate;

use std::net::{SocketAddr, TcpListener};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

pub use batches::BatchItem;
pub use billing::{TokenLimit, UsageTotals};
pub use faults::{Endpoint, Fault};
pub use files::DEFAULT_MAX_UPLOAD_BYTES;
pub use ledger::{Ledger, LedgerEntry, TokensJson};
pub use limits::RateLimit;
pub use state::{ContainerInfo, LogEntry, Stats};

use state::Shared;

/// How the fake behaves. `Config::default()` is a well-behaved API.
#[derive(Clone, Debug, Default)]
pub struct Config {
    /// When set, requests must carry exactly this key (401 otherwise);
    /// `None` accepts any non-empty key.
    pub api_key: Option<String>,
    /// Added to every Messages request.
    pub messages_latency: Duration,
    /// Added to every Files request.
    pub files_latency: Duration,
    /// Sliding-window request limit, per group (Messages; Files). Over it:
    /// 429 with `retry-after`/`retry-after-ms`; every response then carries
    /// `anthropic-ratelimit-requests-{limit,remaining,reset}`.
    pub rate_limit: Option<RateLimit>,
    /// More concurrent Messages requests than this → 429.
    pub max_concurrent_messages: Option<usize>,
    /// (probability, seed): that share of Messages requests gets 529,
    /// deterministically in arrival order.
    pub random_overload: Option<(f64, u64)>,
    /// Upload size cap (413 above); default [`DEFAULT_MAX_UPLOAD_BYTES`].
    pub max_upload_bytes: Option<u64>,
    /// Rolling container lifetime after each use; default 1 hour.
    pub container_ttl: Option<Duration>,
    /// Answer a request naming an expired container with an untyped `500 api_error`
    /// instead of the default 400 (the real status is UNCONFIRMED, docs/api.md §3.6; a
    /// strict stand-in of the API answered 500).
    pub expired_container_500: bool,
    /// Input and output tokens-per-window limits on Messages (REFERENCE §11); every
    /// Messages response then carries `anthropic-ratelimit-{input,output}-tokens-*`.
    pub token_limit: Option<TokenLimit>,
    /// How long a Message Batch stays `in_progress` before its items are
    /// processed (changeable later with [`FakeServer::set_batch_delay`]).
    pub batch_delay: Duration,
    /// The date model lifecycles (a model whose `retires_at` is on or before it is
    /// retired) and prices are judged by; `None` is the system date (UTC). Binary:
    /// `--today YYYY-MM-DD`; later [`FakeServer::set_today`].
    pub today: Option<jiff::civil::Date>,
    /// Strict prefix mode (docs/api.md §8.11): every request continuing a container's
    /// conversation must keep `model`, `system`, `tools`, `thinking` and
    /// `output_config` identical, and its messages must start with exactly the previous
    /// request's messages plus that request's response; otherwise a 400 naming the
    /// first difference. Binary: `--strict-prefix`; later
    /// [`FakeServer::set_strict_prefix`].
    pub strict_prefix: bool,
}

/// A running fake on 127.0.0.1. It has its own thread and tokio runtime, so
/// it works from plain `#[test]`s and from `#[tokio::test]`s alike. Dropping
/// it shuts the server down.
pub struct FakeServer {
    shared: Arc<Shared>,
    addr: SocketAddr,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl FakeServer {
    /// Starts with [`Config::default()`] on a free port.
    pub fn start() -> FakeServer {
        FakeServer::start_with(Config::default())
    }

    /// Starts on a free port of 127.0.0.1.
    ///
    /// # Panics
    /// If no loopback port can be bound or no thread started (test support:
    /// nothing sensible to do but fail the test).
    pub fn start_with(config: Config) -> FakeServer {
        match FakeServer::bind(SocketAddr::from(([127, 0, 0, 1], 0)), config) {
            Ok(server) => server,
            Err(e) => panic!("fake-anthropic: cannot start: {e}"),
        }
    }

    /// Starts on `addr` (port 0 picks a free one).
    pub fn bind(addr: SocketAddr, config: Config) -> std::io::Result<FakeServer> {
        let listener = TcpListener::bind(addr)?;
        listener.set_nonblocking(true)?;
        let addr = listener.local_addr()?;
        let salt = u64::from(addr.port())
            ^ u64::try_from(
                std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .unwrap_or_default()
                    .as_nanos()
                    & u128::from(u64::MAX),
            )
            .unwrap_or(0);
        let shared = Arc::new(Shared::new(config, salt));
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("fake-anthropic")
            .enable_all()
            .build()?;
        let (tx, rx) = tokio::sync::oneshot::channel();
        let serve_shared = shared.clone();
        let thread = std::thread::Builder::new()
            .name("fake-anthropic".to_owned())
            .spawn(move || {
                runtime.block_on(async move {
                    match tokio::net::TcpListener::from_std(listener) {
                        Ok(listener) => server::serve(listener, serve_shared, rx).await,
                        Err(_) => drop(rx),
                    }
                });
                // Parked and in-flight requests are cancelled here.
                runtime.shutdown_timeout(Duration::from_secs(1));
            })?;
        Ok(FakeServer {
            shared,
            addr,
            shutdown: Some(tx),
            thread: Some(thread),
        })
    }

    /// `http://127.0.0.1:PORT`, no trailing slash.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// A snapshot of the counters.
    pub fn stats(&self) -> Stats {
        self.shared.read(|s| s.stats.clone())
    }

    /// Queues faults for the next requests on `endpoint`, served in order
    /// before any normal handling.
    pub fn push_faults(&self, endpoint: Endpoint, faults: impl IntoIterator<Item = Fault>) {
        self.shared.push_faults(endpoint, faults);
    }

    /// As if deleted through the API.
    pub fn delete_file(&self, file_id: &str) {
        self.shared.delete_file(file_id);
    }

    /// Moves the file's `expires_at` into the past.
    pub fn expire_file(&self, file_id: &str) {
        self.shared.expire_file(file_id);
    }

    /// Moves the container's expiry into the past.
    pub fn expire_container(&self, container_id: &str) {
        self.shared.expire_container(container_id);
    }

    /// The stored bytes of a file (uploaded or generated), if it exists: a download of a
    /// generated PNG or JPEG returns them with a fresh C2PA manifest ([`c2pa::sign`]).
    pub fn file_bytes(&self, file_id: &str) -> Option<Vec<u8>> {
        self.shared
            .read(|s| s.file(file_id).map(|f| f.bytes.to_vec()))
    }

    /// Every `POST /v1/messages` body, accepted or rejected, in arrival order
    /// (a body that is not JSON is kept as a JSON string).
    pub fn messages_requests(&self) -> Vec<serde_json::Value> {
        self.shared.read(|s| s.messages_requests.clone())
    }

    /// Every item of every Message Batch created, in submission order.
    pub fn batch_items(&self) -> Vec<BatchItem> {
        self.shared.read(|s| s.batch_items.clone())
    }

    /// How long batches created from now on stay `in_progress` before processing.
    pub fn set_batch_delay(&self, delay: Duration) {
        self.shared.update(|s| {
            s.batch_delay = delay;
            s.batch_delay_from = 1;
        });
    }

    /// Like [`FakeServer::set_batch_delay`], for the `first`-th batch created (1-based)
    /// and every later one; earlier ones are processed at once. Lets a test hold a run at
    /// a chosen round.
    pub fn set_batch_delay_from(&self, first: u64, delay: Duration) {
        self.shared.update(|s| {
            s.batch_delay = delay;
            s.batch_delay_from = first;
        });
    }

    /// Generated files from now on announce in their metadata's `size_bytes` the size before
    /// the download's C2PA manifest is added, so image downloads are longer than announced.
    /// Which the real API does is not known (docs/api.md §0.5); the runner must cope with both.
    pub fn announce_unsigned_sizes(&self) {
        self.shared.update(|s| s.announce_unsigned_sizes = true);
    }

    /// Cancels a batch as someone in the Console would (not counted as a request).
    pub fn cancel_batch(&self, id: &str) {
        let _ = self.shared.update(|s| batches::cancel(s, id));
    }

    /// Every API request, in arrival order.
    pub fn log(&self) -> Vec<LogEntry> {
        self.shared.read(|s| s.log.clone())
    }

    /// Blocks until `pred` holds (re-checked on every change) or `timeout`
    /// passes; returns whether it held. Use instead of sleeping.
    pub fn wait_until(&self, timeout: Duration, pred: impl Fn(&Stats) -> bool) -> bool {
        self.shared.wait_until(timeout, pred)
    }

    /// [`FakeServer::wait_until`] for async tests, without blocking the
    /// caller's runtime thread.
    pub async fn wait_until_async(&self, timeout: Duration, pred: impl Fn(&Stats) -> bool) -> bool {
        let mut changes = self.shared.version.subscribe();
        let check = async {
            loop {
                if self.shared.read(|s| pred(&s.stats)) {
                    return true;
                }
                if changes.changed().await.is_err() {
                    return false;
                }
            }
        };
        tokio::time::timeout(timeout, check).await.unwrap_or(false)
    }

    /// Adds a model to the catalogue, or replaces the one with the same `id`: a ModelInfo
    /// object (docs/api.md §8.9), merged over the model named by an optional `"like"`
    /// (whose per-model rules it then follows), else over the entry it replaces, else
    /// over a neutral template, so only what matters needs giving; `"aliases": [...]` are other ids that resolve to it.
    ///
    /// # Panics
    /// On an entry without an `id` or with a malformed date or lifecycle (test support:
    /// a broken fixture should fail the test).
    pub fn add_model(&self, entry: serde_json::Value) {
        if let Err(e) = self.shared.update(|s| s.catalogue.add(&entry)) {
            panic!("fake-anthropic: add_model: {e}");
        }
    }

    /// From now on, lifecycles and prices are judged as of this date.
    pub fn set_today(&self, today: jiff::civil::Date) {
        self.shared.update(|s| s.today = Some(today));
    }

    /// Turns strict prefix mode ([`Config::strict_prefix`]) on or off.
    pub fn set_strict_prefix(&self, on: bool) {
        self.shared.update(|s| s.strict_prefix = on);
    }

    /// Every Messages response and batch item so far, priced by the fake's own table as
    /// of its `today` (docs/api.md §8.13), and the total.
    pub fn ledger(&self) -> Ledger {
        self.shared.read(|s| s.ledger.clone())
    }

    /// Lets every request parked by [`Fault::Hold`] or [`Fault::HoldResponse`] go on.
    pub fn release_held(&self) {
        self.shared.release_held();
    }
}

impl Drop for FakeServer {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

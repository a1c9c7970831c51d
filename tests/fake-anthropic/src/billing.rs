//! What a Messages request is billed and how it meets the token limits (REFERENCE §3.8,
//! §10.8, §11): automatic prompt caching, the input/output tokens-per-minute buckets and
//! their `anthropic-ratelimit-{input,output}-tokens-*` headers, and the record of every
//! usage the fake reported ([`crate::Stats::usage`]).
//!
//! * **Caching.** A request with a top-level `cache_control` has its breakpoint at its end.
//!   Its prefix is cut at message boundaries (system + tools + model first, then each
//!   message); the longest prefix that an earlier request wrote, and whose TTL has not run
//!   out, is read from the cache (and its TTL refreshed); the rest is written. Every input
//!   token is then either read or written (`input_tokens` 0). Without `cache_control`
//!   everything is plain input. Simplified: no minimum cacheable length.
//! * **Limits.** Cache reads do not count toward the input-token limit (REFERENCE §11):
//!   a request is admitted when its uncached input fits the input bucket (a request
//!   larger than the whole bucket when the bucket is full) and the output bucket is not
//!   in deficit; its output is taken after it is produced. Both buckets refill
//!   continuously; `…-reset` is when a bucket is full again; `…-remaining` is rounded to
//!   the nearest thousand, as the real API's is (REFERENCE §4.3).

use std::collections::HashMap;
use std::time::{Duration, Instant};

use serde_json::{Map, Value};

use crate::errors::ApiError;
use crate::limits::RateHeaders;

/// Tokens per `window`, separately for input and output.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TokenLimit {
    pub input: u64,
    pub output: u64,
    /// 60 s for the real API's per-minute limits; shorter in tests.
    pub window: Duration,
}

/// Usage the fake reported, summed over every successful Messages response.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct UsageTotals {
    pub responses: u64,
    pub input_tokens: u64,
    pub cache_write_5m: u64,
    pub cache_write_1h: u64,
    pub cache_read: u64,
    pub output_tokens: u64,
}

/// The real API rounds token `remaining` values to the nearest thousand (REFERENCE §4.3).
const ROUNDING: f64 = 1000.0;

/// A continuously refilling bucket; starts full.
#[derive(Default)]
pub(crate) struct TokenBucket {
    deficit: f64,
    updated: Option<Instant>,
}

impl TokenBucket {
    fn refill(&mut self, capacity: u64, window: Duration, now: Instant) -> f64 {
        #[expect(clippy::cast_precision_loss, reason = "limits are far below 2^53")]
        let per_sec = capacity as f64 / window.as_secs_f64().max(1e-9);
        let elapsed = self
            .updated
            .map_or(0.0, |t| now.saturating_duration_since(t).as_secs_f64());
        self.deficit = (self.deficit - elapsed * per_sec).max(0.0);
        self.updated = Some(now);
        per_sec
    }

    /// Takes `n` if it fits (or the bucket is full); else how long until it would.
    fn try_take(
        &mut self,
        n: u64,
        capacity: u64,
        window: Duration,
        now: Instant,
    ) -> Option<Duration> {
        let per_sec = self.refill(capacity, window, now);
        #[expect(
            clippy::cast_precision_loss,
            reason = "token counts are far below 2^53"
        )]
        let (n, cap) = (n as f64, capacity as f64);
        if cap - self.deficit >= n || self.deficit <= 0.0 {
            self.deficit += n;
            return None;
        }
        Some(Duration::from_secs_f64(
            (n.min(cap) - (cap - self.deficit)) / per_sec,
        ))
    }

    /// Takes `n` unconditionally (output, once produced); the deficit may exceed the
    /// capacity.
    fn take(&mut self, n: u64, capacity: u64, window: Duration, now: Instant) {
        self.refill(capacity, window, now);
        #[expect(
            clippy::cast_precision_loss,
            reason = "token counts are far below 2^53"
        )]
        let n = n as f64;
        self.deficit += n;
    }

    fn in_deficit(&mut self, capacity: u64, window: Duration, now: Instant) -> Option<Duration> {
        let per_sec = self.refill(capacity, window, now);
        #[expect(clippy::cast_precision_loss, reason = "limits are far below 2^53")]
        let cap = capacity as f64;
        (self.deficit > cap).then(|| Duration::from_secs_f64((self.deficit - cap) / per_sec))
    }

    fn headers(&mut self, capacity: u64, window: Duration, now: Instant) -> RateHeaders {
        let per_sec = self.refill(capacity, window, now);
        #[expect(clippy::cast_precision_loss, reason = "limits are far below 2^53")]
        let cap = capacity as f64;
        RateHeaders {
            limit: u32::try_from(capacity).unwrap_or(u32::MAX),
            #[expect(
                clippy::cast_possible_truncation,
                clippy::cast_sign_loss,
                reason = "clamped"
            )]
            remaining: (((cap - self.deficit) / ROUNDING).round() * ROUNDING)
                .clamp(0.0, cap.min(f64::from(u32::MAX))) as u32,
            reset_in: Duration::from_secs_f64(self.deficit / per_sec),
        }
    }
}

/// The fake's prompt cache and token buckets.
#[derive(Default)]
pub(crate) struct Billing {
    /// Cumulative prefix hash → (tokens up to there, expiry, TTL).
    cache: HashMap<String, (u64, Instant, Duration)>,
    input: TokenBucket,
    output: TokenBucket,
    pub totals: UsageTotals,
}

/// How one request's input splits, decided before it runs.
#[derive(Clone, Debug, Default)]
pub(crate) struct Split {
    pub input: u64,
    pub write: u64,
    pub read: u64,
    pub ttl_1h: bool,
    /// Prefix hashes and their tokens to store when the request succeeds (caching on):
    /// the end of the request, and an explicit breakpoint on `system` if there is one.
    store: Vec<(String, u64, Duration)>,
}

impl Split {
    /// Usage a `@fake usage` directive dictates: nothing is read from or written to the
    /// fake's cache.
    pub(crate) fn forced(input: u64, write: u64, read: u64) -> Split {
        Split {
            input,
            write,
            read,
            ttl_1h: false,
            store: Vec::new(),
        }
    }
}

const TTL_5M: Duration = Duration::from_secs(300);
const TTL_1H: Duration = Duration::from_secs(3600);

/// The request's `cache_control`: `None` when absent; `Err` when malformed.
pub(crate) fn cache_ttl(obj: &Map<String, Value>) -> Result<Option<Duration>, ApiError> {
    match obj.get("cache_control") {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Object(cc)) => {
            if cc.get("type").and_then(Value::as_str) != Some("ephemeral") {
                return Err(ApiError::invalid(
                    "cache_control.type: Input should be 'ephemeral'",
                ));
            }
            match cc.get("ttl").map(Value::as_str) {
                None | Some(Some("5m")) => Ok(Some(TTL_5M)),
                Some(Some("1h")) => Ok(Some(TTL_1H)),
                _ => Err(ApiError::invalid(
                    "cache_control.ttl: Input should be '5m' or '1h'",
                )),
            }
        }
        Some(_) => Err(ApiError::invalid(
            "cache_control: Input should be an object",
        )),
    }
}

/// At most 4 blocks may carry `cache_control` (tools, system blocks, message content); the
/// API refuses more (docs/api.md §3.11). Whether the top-level marker takes one of the four
/// is UNCONFIRMED: the fake does not count it.
pub(crate) fn check_breakpoints(obj: &Map<String, Value>) -> Result<(), ApiError> {
    let marked = |v: &Value| v.get("cache_control").is_some_and(|c| !c.is_null());
    let blocks = |v: Option<&Value>| -> Vec<Value> {
        v.and_then(Value::as_array).cloned().unwrap_or_default()
    };
    let mut n = blocks(obj.get("tools"))
        .iter()
        .filter(|b| marked(b))
        .count();
    n += blocks(obj.get("system"))
        .iter()
        .filter(|b| marked(b))
        .count();
    for m in blocks(obj.get("messages")) {
        n += blocks(m.get("content"))
            .iter()
            .filter(|b| marked(b))
            .count();
    }
    if n > 4 {
        return Err(ApiError::invalid(format!(
            "A maximum of 4 blocks with cache_control may be provided. Found {n}."
        )));
    }
    Ok(())
}

/// The TTL of an explicit breakpoint on a `system` block (its last one), if any: the
/// prefix up to it (tools, then system) is cached on its own, so requests with other
/// messages read it (docs/api.md §3.11).
pub(crate) fn system_breakpoint(obj: &Map<String, Value>) -> Result<Option<Duration>, ApiError> {
    let Some(Value::Array(blocks)) = obj.get("system") else {
        return Ok(None);
    };
    let mut ttl = None;
    for b in blocks.iter().filter_map(Value::as_object) {
        if let Some(t) = cache_ttl(b)? {
            ttl = Some(t);
        }
    }
    Ok(ttl)
}

/// The code-execution tool's definitions and system prompt, billed as input on every
/// request: a real first turn read 4,338 tokens of them from the cache (REFERENCE §10.8;
/// `fixtures/real/automatic_caching_multi_turn_20260120/02-response.json`).
pub(crate) const TOOL_TOKENS: u64 = 4_300;

/// Input tokens of a request body: rough, bytes / 4, plus the tool definitions.
pub(crate) fn input_tokens(body_len: usize) -> u64 {
    (body_len / 4).max(1) as u64 + TOOL_TOKENS
}

impl Billing {
    /// Splits a request's input into plain, written and read tokens (no state changes).
    pub(crate) fn split(
        &mut self,
        obj: &Map<String, Value>,
        total: u64,
        ttl: Option<Duration>,
        system_ttl: Option<Duration>,
        now: Instant,
    ) -> Split {
        let Some(ttl) = ttl.or(system_ttl) else {
            return Split {
                input: total,
                ..Split::default()
            };
        };
        self.cache.retain(|_, (_, expires, _)| *expires > now);
        let mut head = Map::new();
        for key in ["model", "system", "tools"] {
            if let Some(v) = obj.get(key) {
                head.insert(key.to_owned(), v.clone());
            }
        }
        let mut hasher = blake3::Hasher::new();
        hasher.update(Value::Object(head.clone()).to_string().as_bytes());
        let mut tokens = input_tokens(Value::Object(head).to_string().len());
        let mut read = 0;
        let mut read_key = None;
        let mut store = Vec::new();
        // The explicit breakpoint after system: shared by every request with the same
        // model, tools and system, whatever its messages.
        if let Some(system_ttl) = system_ttl {
            let key = hasher.finalize().to_hex().to_string();
            if let Some((cached, ..)) = self.cache.get(&key) {
                read = (*cached).min(total);
                read_key = Some(key.clone());
            }
            store.push((key, tokens.min(total), system_ttl));
        }
        let messages = obj
            .get("messages")
            .and_then(Value::as_array)
            .map_or(&[][..], Vec::as_slice);
        let mut key = String::new();
        for m in messages {
            let text = m.to_string();
            hasher.update(text.as_bytes());
            tokens += (text.len() / 4) as u64;
            key = hasher.finalize().to_hex().to_string();
            if let Some((cached, ..)) = self.cache.get(&key) {
                read = (*cached).min(total);
                read_key = Some(key.clone());
            }
        }
        if let Some(k) = read_key
            && let Some((_, expires, ttl)) = self.cache.get_mut(&k)
        {
            // A hit refreshes the entry's lifetime.
            *expires = now + *ttl;
        }
        let write = total.saturating_sub(read);
        // Without automatic caching, what follows the system breakpoint is plain input.
        let (input, write) = if obj.get("cache_control").is_some_and(|v| !v.is_null()) {
            store.push((key, tokens.min(total), ttl));
            (0, write)
        } else {
            let head = store.first().map_or(0, |(_, t, _)| *t);
            let write = head.saturating_sub(read);
            (total.saturating_sub(read + write), write)
        };
        Split {
            input,
            write,
            read,
            ttl_1h: ttl == TTL_1H,
            store,
        }
    }

    /// Admits a request whose uncached input is `split.input + split.write`, or says
    /// why not (a 429 with `retry-after`).
    pub(crate) fn admit(
        &mut self,
        limit: TokenLimit,
        split: &Split,
        now: Instant,
    ) -> Result<(), ApiError> {
        if let Some(wait) = self.output.in_deficit(limit.output, limit.window, now) {
            return Err(ApiError::rate_limited(
                "This request would exceed your organization's rate limit of output tokens per minute.",
                wait,
            ));
        }
        match self
            .input
            .try_take(split.input + split.write, limit.input, limit.window, now)
        {
            None => Ok(()),
            Some(wait) => Err(ApiError::rate_limited(
                "This request would exceed your organization's rate limit of input tokens per minute.",
                wait,
            )),
        }
    }

    /// The request succeeded: its prefix is cached, its output taken, its usage recorded.
    pub(crate) fn settle(
        &mut self,
        limit: Option<TokenLimit>,
        split: &Split,
        output: u64,
        now: Instant,
    ) {
        for (key, tokens, ttl) in &split.store {
            self.cache.insert(key.clone(), (*tokens, now + *ttl, *ttl));
        }
        if let Some(limit) = limit {
            self.output.take(output, limit.output, limit.window, now);
        }
        let t = &mut self.totals;
        t.responses += 1;
        t.input_tokens += split.input;
        if split.ttl_1h {
            t.cache_write_1h += split.write;
        } else {
            t.cache_write_5m += split.write;
        }
        t.cache_read += split.read;
        t.output_tokens += output;
    }

    /// `anthropic-ratelimit-{input,output}-tokens-{limit,remaining,reset}` values.
    pub(crate) fn headers(
        &mut self,
        limit: TokenLimit,
        now: Instant,
    ) -> [(&'static str, RateHeaders); 2] {
        [
            (
                "input-tokens",
                self.input.headers(limit.input, limit.window, now),
            ),
            (
                "output-tokens",
                self.output.headers(limit.output, limit.window, now),
            ),
        ]
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn more_than_four_marked_blocks_are_refused() {
        let block = json!({"type": "text", "text": "t", "cache_control": {"type": "ephemeral"}});
        let body = |n: usize| {
            let obj = json!({"system": vec![block.clone(); n], "messages": [], "tools": []});
            obj.as_object().unwrap().clone()
        };
        assert!(check_breakpoints(&body(4)).is_ok());
        let e = check_breakpoints(&body(5)).unwrap_err();
        assert!(format!("{e:?}").contains("A maximum of 4 blocks"), "{e:?}");
    }

    use serde_json::json;

    use super::*;

    fn body(messages: &[&str], cache: bool) -> Map<String, Value> {
        let mut v = json!({
            "model": "m", "system": "s", "tools": [],
            "messages": messages.iter().map(|t| json!({"role": "user", "content": t})).collect::<Vec<_>>(),
        });
        if cache {
            v["cache_control"] = json!({"type": "ephemeral"});
        }
        v.as_object().cloned().unwrap_or_default()
    }

    #[test]
    fn a_prefix_written_within_its_ttl_is_read_and_the_rest_written() {
        let mut b = Billing::default();
        let now = Instant::now();
        let first = body(&["one"], true);
        let ttl = cache_ttl(&first).unwrap();
        let s1 = b.split(&first, 500, ttl, None, now);
        assert_eq!((s1.input, s1.read, s1.write), (0, 0, 500));
        b.settle(None, &s1, 10, now);
        let second = body(&["one", "two"], true);
        let s2 = b.split(&second, 520, ttl, None, now + Duration::from_secs(10));
        assert!(s2.read > 0 && s2.read + s2.write == 520, "{s2:?}");
        // After the TTL nothing is read.
        let s3 = b.split(&second, 520, ttl, None, now + Duration::from_secs(400));
        assert_eq!(s3.read, 0);
        // Without cache_control, everything is plain input.
        let plain = b.split(&body(&["one"], false), 500, None, None, now);
        assert_eq!((plain.input, plain.write, plain.read), (500, 0, 0));
        assert_eq!(b.totals.cache_write_5m, 500);
    }

    #[test]
    fn the_input_bucket_refills_continuously_and_says_when_it_is_full() {
        let limit = TokenLimit {
            input: 1000,
            output: 1000,
            window: Duration::from_secs(1),
        };
        let mut b = Billing::default();
        let now = Instant::now();
        let split = |n| Split {
            input: n,
            ..Split::default()
        };
        b.admit(limit, &split(800), now).unwrap();
        assert!(b.admit(limit, &split(300), now).is_err());
        let [(_, input), _] = b.headers(limit, now);
        // 200 left, rounded to the nearest thousand as the real API does.
        assert_eq!(input.remaining, 0);
        assert_eq!(input.reset_in, Duration::from_millis(800));
        b.admit(limit, &split(300), now + Duration::from_millis(600))
            .unwrap();
        let [(_, input), _] = b.headers(limit, now + Duration::from_millis(600));
        assert_eq!(input.remaining, 1000, "500 left rounds up");
    }
}

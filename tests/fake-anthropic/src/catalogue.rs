//! The model catalogue behind `GET /v1/models` and the model checks of Messages,
//! count_tokens and batch items (docs/api.md §8.9). Entries are stored as ModelInfo JSON
//! plus fake-only keys (`aliases`: other ids that resolve to it; `like`: the built-in
//! model whose per-model rules it follows, see `rules.rs`). The served `lifecycle` is
//! computed from the fake's `today`, so a test can move the date and watch a model
//! retire.

mod builtin;

use jiff::civil::Date;
use jiff::tz::TimeZone;
use serde_json::{Map, Value, json};

use crate::errors::ApiError;

/// Keys of a stored entry that are not part of ModelInfo.
const FAKE_KEYS: &[&str] = &["aliases", "like"];

pub(crate) struct Catalogue {
    entries: Vec<Value>,
}

impl Default for Catalogue {
    fn default() -> Catalogue {
        Catalogue {
            entries: builtin::entries(),
        }
    }
}

/// A resolved model: its public ModelInfo (lifecycle as of `today`) and the id whose
/// per-model rules apply.
#[derive(Clone, Debug)]
pub(crate) struct Resolved {
    pub info: Value,
    pub rules_id: String,
}

impl Resolved {
    pub(crate) fn id(&self) -> &str {
        self.info["id"].as_str().unwrap_or_default()
    }

    pub(crate) fn lifecycle(&self) -> &str {
        self.info["lifecycle"].as_str().unwrap_or("active")
    }

    pub(crate) fn max_tokens(&self) -> Option<u64> {
        self.info["max_tokens"].as_u64()
    }

    /// `capabilities.<path…>.supported`; a missing key (or `capabilities: null`) counts as
    /// supported, so a sparse entry added by a test does not forbid everything.
    pub(crate) fn supports(&self, path: &[&str]) -> bool {
        let mut v = &self.info["capabilities"];
        if v.is_null() {
            return true;
        }
        for key in path {
            v = &v[*key];
        }
        v["supported"].as_bool().unwrap_or(true)
    }
}

/// The UTC date part of an RFC 3339 timestamp.
fn date_of(v: &Value) -> Option<Date> {
    let ts: jiff::Timestamp = v.as_str()?.parse().ok()?;
    Some(ts.to_zoned(TimeZone::UTC).date())
}

/// The system date in UTC.
pub(crate) fn system_today() -> Date {
    jiff::Timestamp::now().to_zoned(TimeZone::UTC).date()
}

/// Lifecycle as of `today`: retired once `retires_at` is reached (or when the entry
/// says retired), deprecated once `deprecated_at` is reached (or when it says
/// deprecated without a date), active otherwise.
fn lifecycle(entry: &Value, today: Date) -> &'static str {
    let reached = |key: &str| date_of(&entry[key]).is_some_and(|d| d <= today);
    let stated = entry["lifecycle"].as_str().unwrap_or("active");
    if reached("retires_at") || stated == "retired" {
        "retired"
    } else if reached("deprecated_at")
        || (stated == "deprecated" && entry["deprecated_at"].is_null())
    {
        "deprecated"
    } else {
        "active"
    }
}

/// Merges `patch` into `base`: objects key by key (recursively), anything else replaced.
fn merge(base: &mut Value, patch: &Value) {
    match (base, patch) {
        (Value::Object(b), Value::Object(p)) => {
            for (k, v) in p {
                match b.get_mut(k) {
                    Some(slot) if slot.is_object() && v.is_object() => merge(slot, v),
                    _ => {
                        b.insert(k.clone(), v.clone());
                    }
                }
            }
        }
        (b, p) => *b = p.clone(),
    }
}

impl Catalogue {
    fn find(&self, id: &str) -> Option<&Value> {
        self.entries.iter().find(|e| {
            e["id"] == id
                || e["aliases"]
                    .as_array()
                    .is_some_and(|a| a.iter().any(|x| x == id))
        })
    }

    /// The public ModelInfo of a stored entry as of `today`.
    fn info(entry: &Value, today: Date) -> Value {
        let mut info = entry.clone();
        if let Some(obj) = info.as_object_mut() {
            for key in FAKE_KEYS {
                obj.remove(*key);
            }
        }
        let lifecycle = lifecycle(entry, today);
        info["lifecycle"] = json!(lifecycle);
        if lifecycle == "active" {
            // Both are null while a model is active (docs/api.md §8.9).
            info["deprecated_at"] = Value::Null;
            info["retires_at"] = Value::Null;
        }
        info
    }

    /// The model an id (or alias) names, as of `today`.
    pub(crate) fn resolve(&self, id: &str, today: Date) -> Option<Resolved> {
        let entry = self.find(id)?;
        let rules_id = entry["like"]
            .as_str()
            .or_else(|| entry["id"].as_str())
            .unwrap_or(id)
            .to_owned();
        Some(Resolved {
            info: Catalogue::info(entry, today),
            rules_id,
        })
    }

    /// A model a Messages / count_tokens / batch request may use: unknown and retired
    /// ids are the real API's 404 `model: <id>` (docs/api.md §8.9).
    pub(crate) fn callable(&self, id: &str, today: Date) -> Result<Resolved, ApiError> {
        match self.resolve(id, today) {
            Some(m) if m.lifecycle() != "retired" => Ok(m),
            _ => Err(ApiError::not_found(format!("model: {id}"))),
        }
    }

    /// Every entry as of `today`, newest first by `created_at` (then by id).
    pub(crate) fn listed(&self, today: Date) -> Vec<Value> {
        let mut all: Vec<Value> = self
            .entries
            .iter()
            .map(|e| Catalogue::info(e, today))
            .collect();
        all.sort_by(|a, b| {
            let key = |v: &Value| {
                v["created_at"]
                    .as_str()
                    .and_then(|s| s.parse::<jiff::Timestamp>().ok())
            };
            key(b)
                .cmp(&key(a))
                .then_with(|| a["id"].as_str().cmp(&b["id"].as_str()))
        });
        all
    }

    /// Adds an entry or replaces the one with the same `id`. The entry is merged over
    /// the entry named by its `like`, else over the entry it replaces, else over a
    /// neutral template, so a test gives only what matters to it.
    pub(crate) fn add(&mut self, patch: &Value) -> Result<(), String> {
        let id = patch["id"]
            .as_str()
            .filter(|s| !s.is_empty())
            .ok_or("a model entry needs a non-empty string `id`")?
            .to_owned();
        let mut entry = match patch["like"].as_str() {
            Some(like) => {
                let base = self
                    .entries
                    .iter()
                    .find(|e| e["id"] == like)
                    .ok_or_else(|| format!("`like`: no model {like:?} in the catalogue"))?;
                let mut base = base.clone();
                base["aliases"] = json!([]);
                base["deprecated_at"] = Value::Null;
                base["retires_at"] = Value::Null;
                base["lifecycle"] = json!("active");
                base
            }
            // Replacing: merged over the entry it replaces.
            None => self
                .entries
                .iter()
                .find(|e| e["id"] == id.as_str())
                .cloned()
                .unwrap_or_else(|| template(&id)),
        };
        merge(&mut entry, patch);
        if !matches!(
            entry["lifecycle"].as_str(),
            Some("active" | "deprecated" | "retired")
        ) {
            return Err("`lifecycle` must be active, deprecated or retired".to_owned());
        }
        for key in ["created_at", "deprecated_at", "retires_at"] {
            if !entry[key].is_null() && date_of(&entry[key]).is_none() {
                return Err(format!("`{key}` must be an RFC 3339 timestamp or null"));
            }
        }
        self.entries.retain(|e| e["id"] != id.as_str());
        self.entries.push(entry);
        Ok(())
    }
}

/// A neutral entry for a model a test invents: active, everything supported but the
/// Sonnet-5.5-only `between_tools`.
fn template(id: &str) -> Value {
    let mut v = Map::new();
    v.insert("type".into(), json!("model"));
    v.insert("id".into(), json!(id));
    v.insert("display_name".into(), json!(id));
    v.insert("created_at".into(), json!("2026-12-01T00:00:00Z"));
    v.insert("lifecycle".into(), json!("active"));
    v.insert("deprecated_at".into(), Value::Null);
    v.insert("retires_at".into(), Value::Null);
    v.insert("line".into(), Value::Null);
    v.insert("max_input_tokens".into(), json!(1_000_000));
    v.insert("max_tokens".into(), json!(128_000));
    v.insert(
        "capabilities".into(),
        builtin::capabilities(
            &["adaptive", "enabled", "disabled"],
            &["low", "medium", "high", "xhigh", "max"],
            true,
        ),
    );
    v.insert("aliases".into(), json!([]));
    Value::Object(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(s: &str) -> Date {
        s.parse().unwrap()
    }

    #[test]
    fn lifecycle_follows_the_date() {
        let c = Catalogue::default();
        let sonnet45 = |d| c.resolve("claude-sonnet-4-5", day(d)).unwrap();
        assert_eq!(sonnet45("2026-09-01").lifecycle(), "active");
        assert_eq!(sonnet45("2026-11-29").lifecycle(), "deprecated");
        assert_eq!(sonnet45("2026-11-30").lifecycle(), "retired");
        assert!(
            c.callable("claude-sonnet-4-5-20250929", day("2026-12-06"))
                .is_err()
        );
        let opus45 = c.resolve("claude-opus-4-5", day("2026-12-06")).unwrap();
        assert_eq!(opus45.id(), "claude-opus-4-5-20251101");
        assert_eq!(opus45.lifecycle(), "deprecated");
        assert_eq!(opus45.info["retires_at"], "2027-01-22T00:00:00Z");
        assert!(opus45.info.get("aliases").is_none());
    }

    #[test]
    fn added_entries_merge_over_their_model() {
        let mut c = Catalogue::default();
        c.add(&json!({"id": "claude-next-6", "like": "claude-sonnet-5-5",
                      "capabilities": {"effort": {"max": {"supported": false}}}}))
            .unwrap();
        let m = c.resolve("claude-next-6", day("2026-12-06")).unwrap();
        assert_eq!(m.rules_id, "claude-sonnet-5-5");
        assert!(!m.supports(&["effort", "max"]));
        assert!(m.supports(&["thinking", "types", "between_tools"]));
        assert!(c.add(&json!({"id": "x", "lifecycle": "gone"})).is_err());
    }
}

//! Fields of the loose JSON the pages read (`disk.rs`), as people read them: a missing
//! or odd field is "—", never an error.

use serde_json::Value;

use super::NONE;

pub(super) fn text(v: &Value) -> String {
    v.as_str()
        .filter(|s| !s.is_empty())
        .map_or_else(|| NONE.to_owned(), str::to_owned)
}

pub(super) fn seconds_between(start: &Value, end: &Value) -> Option<f64> {
    let start: jiff::Timestamp = start.as_str()?.parse().ok()?;
    let end: jiff::Timestamp = end.as_str()?.parse().ok()?;
    Some(end.duration_since(start).as_secs_f64())
}

//! Each metric's trend on a card: the values of the kept runs drawn as a small inline SVG
//! sparkline (docs/output.md §14). Only numbers reach the SVG's attributes; names go
//! through the template's escaping, and both are bounded.

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::Value;

use crate::manifest::alert_rules::{MAX_METRIC_NAME, MAX_METRICS, show};

/// The sparkline's box, in SVG user units.
const WIDTH: f64 = 100.0;
const HEIGHT: f64 = 20.0;
/// Room for the dot and the stroke at the edges.
const PAD: f64 = 2.0;

#[derive(Debug, Serialize)]
pub(super) struct TrendView {
    pub name: String,
    /// The latest value, as people read it.
    pub last: String,
    /// The polyline's points (`x,y x,y …`); empty for a single value.
    pub points: String,
    /// The latest value's dot.
    pub x: String,
    pub y: String,
    /// For the tooltip and screen readers: `name: 1 → 2 → 3`.
    pub title: String,
}

/// The trends of one job: `series` by metric, oldest value first. At most
/// [`MAX_METRICS`] metrics, names cut to [`MAX_METRIC_NAME`] characters.
pub(super) fn views(series: &BTreeMap<String, Vec<f64>>) -> Vec<TrendView> {
    series
        .iter()
        .filter(|(_, v)| !v.is_empty())
        .take(MAX_METRICS)
        .map(|(name, values)| view(name, values))
        .collect()
}

fn view(name: &str, values: &[f64]) -> TrendView {
    let name: String = name.chars().take(MAX_METRIC_NAME).collect();
    let pts = points(values);
    let (x, y) = pts.last().copied().unwrap_or((WIDTH / 2.0, HEIGHT / 2.0));
    let shown: Vec<String> = values.iter().map(|v| show(*v)).collect();
    TrendView {
        title: format!("{name}: {}", shown.join(" → ")),
        last: shown.last().cloned().unwrap_or_default(),
        name,
        points: if pts.len() > 1 {
            pts.iter()
                .map(|(x, y)| format!("{x:.1},{y:.1}"))
                .collect::<Vec<_>>()
                .join(" ")
        } else {
            String::new()
        },
        x: format!("{x:.1}"),
        y: format!("{y:.1}"),
    }
}

/// The values placed in the box: evenly spaced left to right, the smallest at the bottom;
/// equal values on the middle line, a single value in the middle.
fn points(values: &[f64]) -> Vec<(f64, f64)> {
    let finite: Vec<f64> = values.iter().copied().filter(|v| v.is_finite()).collect();
    let (lo, hi) = finite
        .iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| {
            (lo.min(*v), hi.max(*v))
        });
    let n = finite.len();
    finite
        .iter()
        .enumerate()
        .map(|(i, v)| {
            let x = if n > 1 {
                PAD + (WIDTH - 2.0 * PAD) * i as f64 / (n - 1) as f64
            } else {
                WIDTH / 2.0
            };
            let y = if hi > lo {
                HEIGHT - PAD - (HEIGHT - 2.0 * PAD) * (v - lo) / (hi - lo)
            } else {
                HEIGHT / 2.0
            };
            (x, y)
        })
        .collect()
}

/// A `metrics` value of a record (loose JSON) as name → number, numbers only.
pub(super) fn numbers(v: &Value) -> BTreeMap<String, f64> {
    v.as_object()
        .into_iter()
        .flatten()
        .filter_map(|(k, v)| Some((k.clone(), v.as_f64()?)))
        .take(MAX_METRICS)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_single_point_and_equal_values_sit_on_the_middle_line() {
        let one = view("rows", &[5.0]);
        assert_eq!(
            (one.points.as_str(), one.x.as_str(), one.y.as_str()),
            ("", "50.0", "10.0")
        );
        let flat = view("rows", &[3.0, 3.0, 3.0]);
        assert_eq!(flat.points, "2.0,10.0 50.0,10.0 98.0,10.0");
        assert_eq!(flat.title, "rows: 3 → 3 → 3");
    }

    #[test]
    fn the_smallest_value_is_at_the_bottom_and_the_last_has_the_dot() {
        let t = view("m", &[1.0, 3.0, 2.0]);
        assert_eq!(t.points, "2.0,18.0 50.0,2.0 98.0,10.0");
        assert_eq!(
            (t.x.as_str(), t.y.as_str(), t.last.as_str()),
            ("98.0", "10.0", "2")
        );
    }

    #[test]
    fn names_are_bounded_and_so_is_the_count() {
        let mut series = BTreeMap::new();
        for i in 0..(MAX_METRICS + 5) {
            series.insert(format!("{i:03}{}", "x".repeat(100)), vec![1.0]);
        }
        let v = views(&series);
        assert_eq!(v.len(), MAX_METRICS);
        assert_eq!(v[0].name.chars().count(), MAX_METRIC_NAME);
    }
}

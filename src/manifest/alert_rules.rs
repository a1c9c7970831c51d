//! The resolved form of `alert:`: one threshold per metric (checked in `expect.rs`), and
//! how a night's value is judged against it (docs/manifest.md "Metrics and alerts").
//!
//! Pure: the run judges each succeeded job's metrics with [`AlertRule::judge`], given the
//! value of the previous successful night when there is one.

use serde::Serialize;

/// One `alert:` entry: the metric it watches, the rule as written, and its meaning.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub(crate) struct AlertRule {
    pub metric: String,
    /// As written in the manifest, e.g. `±10%`; what records and pages show.
    pub rule: String,
    #[serde(skip)]
    pub test: Test,
}

/// What crosses the threshold.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) enum Test {
    /// A change from the previous night of more than `percent`, up (`+`), down (`-`) or
    /// either way (`±`).
    Change {
        up: bool,
        down: bool,
        percent: f64,
    },
    /// `<`, `<=`, `>`, `>=` a fixed value.
    Below {
        limit: f64,
        inclusive: bool,
    },
    Above {
        limit: f64,
        inclusive: bool,
    },
}

impl Default for Test {
    fn default() -> Test {
        Test::Change {
            up: true,
            down: true,
            percent: 0.0,
        }
    }
}

/// Why a rule crossed: the sentence for people.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Crossed {
    pub message: String,
}

/// The most metrics a job's file may hold, and the longest name: the names come from the
/// model, and every one is recorded each night and drawn on the page.
pub(crate) const MAX_METRICS: usize = 64;
pub(crate) const MAX_METRIC_NAME: usize = 64;

/// A metric name the records accept: 1 to [`MAX_METRIC_NAME`] characters, none a control
/// character.
pub(crate) fn check_metric_name(name: &str) -> Result<(), String> {
    if name.is_empty() {
        Err("the name is empty".into())
    } else if name.chars().count() > MAX_METRIC_NAME {
        Err(format!(
            "the name is longer than {MAX_METRIC_NAME} characters"
        ))
    } else if name.chars().any(char::is_control) {
        Err("the name holds a control character".into())
    } else {
        Ok(())
    }
}

/// Parses a rule as written: `±10%` (also `+-10%`), `+5%`, `-5%`, `<1000`, `<=1000`,
/// `>0.5`, `>=0.5`. The error says what was expected.
pub(crate) fn parse_rule(text: &str) -> Result<Test, String> {
    let t = text.trim();
    let expected = "expected `±N%`, `+N%`, `-N%`, `<N`, `<=N`, `>N` or `>=N`";
    if let Some(body) = t.strip_suffix('%') {
        let (up, down, number) = if let Some(n) = body.strip_prefix('±') {
            (true, true, n)
        } else if let Some(n) = body.strip_prefix("+-") {
            (true, true, n)
        } else if let Some(n) = body.strip_prefix('+') {
            (true, false, n)
        } else if let Some(n) = body.strip_prefix('-') {
            (false, true, n)
        } else {
            return Err(format!("alert rule `{text}` has no direction, {expected}"));
        };
        let percent = number_of(number, text, expected)?;
        if percent < 0.0 {
            return Err(format!(
                "alert rule `{text}`: the percentage must not be negative"
            ));
        }
        return Ok(Test::Change { up, down, percent });
    }
    let (below, inclusive, number) = if let Some(n) = t.strip_prefix("<=") {
        (true, true, n)
    } else if let Some(n) = t.strip_prefix(">=") {
        (false, true, n)
    } else if let Some(n) = t.strip_prefix('<') {
        (true, false, n)
    } else if let Some(n) = t.strip_prefix('>') {
        (false, false, n)
    } else {
        return Err(format!("alert rule `{text}` is not understood, {expected}"));
    };
    let limit = number_of(number, text, expected)?;
    Ok(if below {
        Test::Below { limit, inclusive }
    } else {
        Test::Above { limit, inclusive }
    })
}

fn number_of(s: &str, text: &str, expected: &str) -> Result<f64, String> {
    let s = s.trim();
    match s.parse::<f64>() {
        Ok(n) if n.is_finite() && !s.is_empty() => Ok(n),
        _ => Err(format!(
            "alert rule `{text}`: `{s}` is not a number, {expected}"
        )),
    }
}

impl AlertRule {
    /// Whether tonight's `value` crosses the rule. A change rule needs `previous`: without
    /// one (the first night with this metric) it crosses nothing. From a previous 0, any
    /// other value is an infinite change and crosses; 0 again is no change.
    pub(crate) fn judge(&self, value: f64, previous: Option<f64>) -> Option<Crossed> {
        let message = match self.test {
            Test::Change { up, down, percent } => {
                let prev = previous?;
                let delta = value - prev;
                if delta == 0.0 {
                    return None;
                }
                let change = if prev == 0.0 {
                    f64::INFINITY.copysign(delta)
                } else {
                    delta / prev.abs() * 100.0
                };
                let crossed = (up && change > percent) || (down && change < -percent);
                if !crossed {
                    return None;
                }
                let by = if change.is_finite() {
                    format!("{change:+.1}%")
                } else {
                    "from 0".to_owned()
                };
                format!(
                    "{} changed {by} ({} → {}), over {}",
                    self.metric,
                    show(prev),
                    show(value),
                    self.rule
                )
            }
            Test::Below { limit, inclusive } => {
                let crossed = value < limit || (inclusive && value == limit);
                if !crossed {
                    return None;
                }
                format!("{} is {} ({})", self.metric, show(value), self.rule)
            }
            Test::Above { limit, inclusive } => {
                let crossed = value > limit || (inclusive && value == limit);
                if !crossed {
                    return None;
                }
                format!("{} is {} ({})", self.metric, show(value), self.rule)
            }
        };
        Some(Crossed { message })
    }
}

/// A number as people read it: integers without a fraction, others to 4 significant places.
pub(crate) fn show(v: f64) -> String {
    if v.fract() == 0.0 && v.abs() < 1e15 {
        format!("{v:.0}")
    } else {
        let s = format!("{v:.4}");
        s.trim_end_matches('0').trim_end_matches('.').to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(text: &str) -> AlertRule {
        AlertRule {
            metric: "m".into(),
            rule: text.into(),
            test: parse_rule(text).unwrap(),
        }
    }

    #[test]
    fn rules_parse_and_bad_ones_say_what_is_expected() {
        assert_eq!(
            parse_rule("±10%"),
            Ok(Test::Change {
                up: true,
                down: true,
                percent: 10.0
            })
        );
        assert_eq!(parse_rule("+-10%"), parse_rule("±10%"));
        assert_eq!(
            parse_rule("-5%"),
            Ok(Test::Change {
                up: false,
                down: true,
                percent: 5.0
            })
        );
        assert_eq!(
            parse_rule(" <= 1000 "),
            Ok(Test::Below {
                limit: 1000.0,
                inclusive: true
            })
        );
        assert_eq!(
            parse_rule(">0.5"),
            Ok(Test::Above {
                limit: 0.5,
                inclusive: false
            })
        );
        for bad in ["10%", "±x%", "=5", "", "<", ">inf", "±-3%"] {
            let e = parse_rule(bad).unwrap_err();
            assert!(
                e.contains("expected") || e.contains("negative"),
                "{bad}: {e}"
            );
        }
    }

    #[test]
    fn changes_are_judged_against_the_previous_value() {
        let r = rule("±10%");
        assert_eq!(
            r.judge(100.0, None),
            None,
            "no previous night: nothing to compare"
        );
        assert_eq!(
            r.judge(110.0, Some(100.0)),
            None,
            "exactly 10% does not cross"
        );
        assert_eq!(
            r.judge(111.0, Some(100.0)).unwrap().message,
            "m changed +11.0% (100 → 111), over ±10%"
        );
        assert!(r.judge(89.0, Some(100.0)).is_some());
        assert!(rule("+5%").judge(90.0, Some(100.0)).is_none());
        assert!(rule("+5%").judge(106.0, Some(100.0)).is_some());
        assert!(rule("-5%").judge(106.0, Some(100.0)).is_none());
        assert!(rule("-5%").judge(94.0, Some(100.0)).is_some());
        // A negative previous value: the change is relative to its size.
        assert!(rule("+5%").judge(-90.0, Some(-100.0)).is_some());
    }

    #[test]
    fn a_previous_zero_is_an_infinite_change_unless_still_zero() {
        let r = rule("±10%");
        assert_eq!(r.judge(0.0, Some(0.0)), None);
        assert_eq!(
            r.judge(3.0, Some(0.0)).unwrap().message,
            "m changed from 0 (0 → 3), over ±10%"
        );
        assert!(rule("+5%").judge(-3.0, Some(0.0)).is_none());
        assert!(rule("-5%").judge(-3.0, Some(0.0)).is_some());
    }

    #[test]
    fn absolute_limits_need_no_previous_value() {
        assert!(rule("<1000").judge(999.0, None).is_some());
        assert!(rule("<1000").judge(1000.0, None).is_none());
        assert!(rule("<=1000").judge(1000.0, None).is_some());
        assert_eq!(
            rule(">0.5").judge(0.75, Some(0.1)).unwrap().message,
            "m is 0.75 (>0.5)"
        );
        assert!(rule(">=0.5").judge(0.5, None).is_some());
        assert!(rule(">0.5").judge(0.5, None).is_none());
    }
}

//! Sizes, durations, byte counts and plurals as people read and write them: one parser and
//! one formatter of each, so the command line, logs and reports agree.

use std::time::Duration;

/// A byte count as people write it on a command line: `1000`, `64K`, `500M`, `2G`, `1T`
/// (powers of 1024; a trailing `B` or `iB` is allowed, case does not matter).
pub(crate) fn parse_size(text: &str) -> Result<u64, String> {
    let bad = || format!("`{text}` is not a size; expected e.g. `1000`, `64K`, `500M` or `2G`");
    let t = text.trim();
    let digits = t.len() - t.trim_start_matches(|c: char| c.is_ascii_digit()).len();
    let (number, unit) = t.split_at(digits);
    let number: u64 = number.parse().map_err(|_| bad())?;
    let unit = unit.trim().to_ascii_uppercase();
    let unit = unit
        .strip_suffix("IB")
        .or_else(|| unit.strip_suffix('B'))
        .unwrap_or(&unit);
    let shift = match unit {
        "" => 0,
        "K" => 10,
        "M" => 20,
        "G" => 30,
        "T" => 40,
        _ => return Err(bad()),
    };
    number
        .checked_mul(1 << shift)
        .ok_or_else(|| format!("`{text}` is too large"))
}

/// A duration as people write it: `90s`, `45m`, `12h`, `7d`, `2h 30m`, `90 days` (a day is
/// 24 hours).
pub(crate) fn parse_duration(text: &str) -> Result<Duration, String> {
    let bad = || format!("`{text}` is not a duration; expected e.g. `45m`, `12h` or `7d`");
    let span: jiff::Span = text.trim().parse().map_err(|_| bad())?;
    let secs = span
        .total(jiff::SpanTotal::from(jiff::Unit::Second).days_are_24_hours())
        .map_err(|_| bad())?;
    if !secs.is_finite() || secs < 0.0 {
        return Err(bad());
    }
    Duration::try_from_secs_f64(secs).map_err(|_| bad())
}

/// A byte count for people: `512 B`, `1.5 KiB`, `20.0 MiB`, `2.0 GiB`, `1.0 TiB`.
pub(crate) fn bytes(n: u64) -> String {
    const UNITS: [&str; 4] = ["KiB", "MiB", "GiB", "TiB"];
    if n < 1024 {
        return format!("{n} B");
    }
    #[expect(clippy::cast_precision_loss, reason = "display only, one decimal")]
    let mut value = n as f64 / 1024.0;
    let mut unit = 0;
    while value >= 1024.0 && unit + 1 < UNITS.len() {
        value /= 1024.0;
        unit += 1;
    }
    format!("{value:.1} {}", UNITS[unit])
}

/// `1 job`, `3 jobs`, `3 entries`, `3 batches`: the count and the words, the last one
/// plural unless the count is one. Every count printed with a noun goes through here.
pub(crate) fn count(n: usize, words: &str) -> String {
    if n == 1 {
        format!("{n} {words}")
    } else {
        format!("{n} {}", plural_of(words))
    }
}

/// The plural of a noun phrase: its last word by the regular English rules (`entry` →
/// `entries`, `batch` → `batches`, `file` → `files`); the runner prints no irregular noun.
fn plural_of(words: &str) -> String {
    let consonant_y = words.strip_suffix('y').filter(|stem| {
        stem.chars()
            .last()
            .is_some_and(|c| c.is_ascii_alphabetic() && !"aeiou".contains(c))
    });
    if let Some(stem) = consonant_y {
        format!("{stem}ies")
    } else if ["s", "x", "z", "ch", "sh"]
        .iter()
        .any(|e| words.ends_with(e))
    {
        format!("{words}es")
    } else {
        format!("{words}s")
    }
}

/// `""` for one, `"s"` otherwise: for a noun whose plural is its `s` form.
pub(crate) fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}

/// A long duration for people, in its two largest units: `3d 4h`, `36h`, `2h 5m`, `45s`.
pub(crate) fn age(d: Duration) -> String {
    let s = d.as_secs();
    let (days, hours, minutes) = (s / 86_400, s % 86_400 / 3600, s % 3600 / 60);
    match (days, hours, minutes) {
        (0, 0, 0) => format!("{s}s"),
        (0, 0, m) => format!("{m}m"),
        (0, h, 0) => format!("{h}h"),
        (0, h, m) => format!("{h}h {m}m"),
        (d, 0, _) => format!("{d}d"),
        (d, h, _) => format!("{d}d {h}h"),
    }
}

/// Seconds with one decimal, for waits and durations on screen: `0.3s`, `12.0s`.
pub(crate) fn seconds(d: Duration) -> String {
    format!("{:.1}s", d.as_secs_f64())
}

/// US dollars for people: four decimals below $10 (a job's cost is often cents), else two.
pub(crate) fn usd(x: f64) -> String {
    if x.abs() < 10.0 {
        format!("${x:.4}")
    } else {
        format!("${x:.2}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_parse_with_binary_suffixes() {
        for (text, want) in [
            ("0", 0),
            ("1000", 1000),
            ("64K", 64 << 10),
            ("64k", 64 << 10),
            ("500M", 500 << 20),
            ("500MB", 500 << 20),
            ("500MiB", 500 << 20),
            ("2G", 2 << 30),
            (" 1 T ", 1 << 40),
            ("12B", 12),
        ] {
            assert_eq!(parse_size(text), Ok(want), "{text}");
        }
        for bad in [
            "",
            "M",
            "-1",
            "1.5G",
            "10X",
            "1GG",
            "99999999999999999999",
            "16777216T",
        ] {
            assert!(parse_size(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn durations_parse_in_friendly_units() {
        assert_eq!(parse_duration("12h"), Ok(Duration::from_secs(12 * 3600)));
        assert_eq!(parse_duration("7d"), Ok(Duration::from_secs(7 * 86400)));
        assert_eq!(
            parse_duration("90 days"),
            Ok(Duration::from_secs(90 * 86400))
        );
        assert_eq!(parse_duration("45m"), Ok(Duration::from_secs(45 * 60)));
        for bad in ["", "soon", "-1h", "12"] {
            assert!(parse_duration(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn bytes_and_plurals_read_well() {
        assert_eq!(bytes(512), "512 B");
        assert_eq!(bytes(1536), "1.5 KiB");
        assert_eq!(bytes(3 << 30), "3.0 GiB");
        assert_eq!(bytes(12_345), "12.1 KiB");
        assert_eq!(bytes(5 << 40), "5.0 TiB");
        assert_eq!(count(1, "job"), "1 job");
        assert_eq!(count(0, "job"), "0 jobs");
        assert_eq!(seconds(Duration::from_millis(300)), "0.3s");
    }

    #[test]
    fn counts_say_one_and_many_in_their_words() {
        let said: String = [
            "job",
            "invalid manifest entry",
            "skill version",
            "batch",
            "day",
            "code execution",
            "thinking block",
        ]
        .iter()
        .map(|w| format!("{} | {}\n", count(1, w), count(3, w)))
        .collect();
        insta::assert_snapshot!(said);
    }
}

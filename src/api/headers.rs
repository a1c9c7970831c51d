//! What response headers say: request ids, `retry-after`, and the rate-limit quotas
//! (docs/api.md §4.3, §4.4). Read here once; the retry loop and the gates act on the values.

use std::time::Duration;

use reqwest::header::HeaderMap;

use super::gates::Quota;

pub(super) fn header_str(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
}

/// A quota from `anthropic-ratelimit-{kind}-{limit,remaining,reset}` (docs/api.md §4.3),
/// `kind` being `requests`, `input-tokens` or `output-tokens`, for pacing.
pub(super) fn quota(headers: &HeaderMap, kind: &str) -> Option<Quota> {
    let number = |part: &str| {
        header_str(headers, &format!("anthropic-ratelimit-{kind}-{part}"))
            .and_then(|v| v.trim().parse::<u64>().ok())
    };
    let reset: jiff::Timestamp = header_str(headers, &format!("anthropic-ratelimit-{kind}-reset"))?
        .trim()
        .parse()
        .ok()?;
    Some(Quota {
        limit: number("limit")?,
        remaining: number("remaining")?,
        reset_in: Duration::try_from(reset.duration_since(jiff::Timestamp::now()))
            .unwrap_or_default(),
    })
}

/// `retry-after-ms` first, then `retry-after` as seconds (possibly fractional) or an HTTP
/// date, as the official SDK reads them (docs/api.md §4.4).
pub(super) fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    if let Some(ms) =
        header_str(headers, "retry-after-ms").and_then(|v| v.trim().parse::<f64>().ok())
        && ms.is_finite()
        && ms > 0.0
    {
        return Some(Duration::from_secs_f64(ms / 1000.0));
    }
    let value = header_str(headers, "retry-after")?;
    if let Ok(secs) = value.trim().parse::<f64>() {
        return (secs.is_finite() && secs > 0.0).then(|| Duration::from_secs_f64(secs));
    }
    let when = jiff::fmt::rfc2822::parse(value.trim()).ok()?.timestamp();
    let wait = when.duration_since(jiff::Timestamp::now());
    Duration::try_from(wait).ok().filter(|d| !d.is_zero())
}

#[cfg(test)]
mod tests {
    use reqwest::header::HeaderValue;

    use super::*;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, HeaderValue::from_str(v).unwrap());
        }
        h
    }

    #[test]
    fn retry_after_prefers_ms_and_accepts_fractions() {
        assert_eq!(
            retry_after(&headers(&[("retry-after-ms", "250"), ("retry-after", "3")])),
            Some(Duration::from_millis(250))
        );
        assert_eq!(
            retry_after(&headers(&[("retry-after", "1.5")])),
            Some(Duration::from_millis(1500))
        );
        assert_eq!(retry_after(&headers(&[("retry-after", "0")])), None);
        assert_eq!(retry_after(&headers(&[("retry-after", "soon")])), None);
        assert_eq!(retry_after(&headers(&[])), None);
    }

    #[test]
    fn token_quotas_are_read_from_rate_limit_headers() {
        let reset = (jiff::Timestamp::now() + jiff::SignedDuration::from_secs(5)).to_string();
        let h = headers(&[
            ("anthropic-ratelimit-input-tokens-limit", "40000"),
            ("anthropic-ratelimit-input-tokens-remaining", "12000"),
            ("anthropic-ratelimit-input-tokens-reset", reset.as_str()),
        ]);
        let q = quota(&h, "input-tokens").unwrap();
        assert_eq!((q.limit, q.remaining), (40_000, 12_000));
        assert!(
            q.reset_in > Duration::from_secs(4) && q.reset_in <= Duration::from_secs(5),
            "{q:?}"
        );
        assert_eq!(quota(&h, "output-tokens"), None);
    }
}

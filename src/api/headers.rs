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

/// The request quota from `anthropic-ratelimit-requests-{limit,remaining,reset}`
/// (docs/api.md §4.3), for pacing.
pub fn request_quota(headers: &HeaderMap) -> Option<Quota> {
    let number = |name: &str| header_str(headers, name).and_then(|v| v.trim().parse::<u64>().ok());
    let reset: jiff::Timestamp = header_str(headers, "anthropic-ratelimit-requests-reset")?
        .trim()
        .parse()
        .ok()?;
    Some(Quota {
        limit: number("anthropic-ratelimit-requests-limit")?,
        remaining: number("anthropic-ratelimit-requests-remaining")?,
        reset_in: Duration::try_from(reset.duration_since(jiff::Timestamp::now()))
            .unwrap_or_default(),
    })
}

/// How long until the most restrictive used-up token quota resets, from the
/// `anthropic-ratelimit-{tokens,input-tokens,output-tokens}-{remaining,reset}` headers
/// (docs/api.md §4.3); `None` while every one has room. (Requests are paced instead:
/// see [`request_quota`].)
pub fn exhausted_for(headers: &HeaderMap) -> Option<Duration> {
    let now = jiff::Timestamp::now();
    ["tokens", "input-tokens", "output-tokens"]
        .iter()
        .filter(|kind| {
            header_str(headers, &format!("anthropic-ratelimit-{kind}-remaining"))
                .and_then(|v| v.trim().parse::<u64>().ok())
                == Some(0)
        })
        .filter_map(|kind| {
            let reset: jiff::Timestamp =
                header_str(headers, &format!("anthropic-ratelimit-{kind}-reset"))?
                    .trim()
                    .parse()
                    .ok()?;
            Duration::try_from(reset.duration_since(now)).ok()
        })
        .max()
        .filter(|d| !d.is_zero())
}

/// `retry-after-ms` first, then `retry-after` as seconds (possibly fractional) or an HTTP
/// date, as the official SDK reads them (docs/api.md §4.4).
pub fn retry_after(headers: &HeaderMap) -> Option<Duration> {
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
    fn exhausted_quota_is_read_from_rate_limit_headers() {
        let reset = (jiff::Timestamp::now() + jiff::SignedDuration::from_secs(5)).to_string();
        let h = headers(&[
            ("anthropic-ratelimit-tokens-remaining", "0"),
            ("anthropic-ratelimit-tokens-reset", reset.as_str()),
            ("anthropic-ratelimit-input-tokens-remaining", "12000"),
        ]);
        let wait = exhausted_for(&h).unwrap();
        assert!(
            wait > Duration::from_secs(4) && wait <= Duration::from_secs(5),
            "{wait:?}"
        );
        let room = headers(&[
            ("anthropic-ratelimit-requests-remaining", "3"),
            ("anthropic-ratelimit-requests-reset", reset.as_str()),
        ]);
        assert_eq!(exhausted_for(&room), None);
    }
}

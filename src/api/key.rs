//! The API key: held so that it cannot leak. Its `Debug` is redacted, it is only ever
//! placed in a header marked sensitive (so HTTP-level logs redact it), and caches key by a
//! keyed hash of it, never the key.

use std::fmt;

/// The API key; never printed.
#[derive(Clone)]
pub(crate) struct ApiKey(String);

impl ApiKey {
    pub(crate) fn new(key: String) -> ApiKey {
        ApiKey(key)
    }

    /// The key itself, for the `x-api-key` header only.
    pub(super) fn expose(&self) -> &str {
        &self.0
    }

    /// A stable, non-reversible identifier of the key, for cache keys.
    pub(crate) fn fingerprint(&self) -> String {
        let hash = blake3::keyed_hash(b"runner upload-cache key hashing!", self.0.as_bytes());
        hash.to_hex()[..32].to_owned()
    }
}

/// `url` with any user name and password (`https://user:secret@host`) shown as `***`, for
/// messages: a key pasted into the base URL must never be printed back. Works on text that
/// is not a URL too (the part before the first `/`, `?` or `#` after any `scheme://`).
pub(crate) fn redact_userinfo(url: &str) -> std::borrow::Cow<'_, str> {
    let start = url.find("://").map_or(0, |i| i + 3);
    let authority_end = url[start..]
        .find(['/', '?', '#'])
        .map_or(url.len(), |i| start + i);
    match url[start..authority_end].rfind('@') {
        Some(at) => format!("{}***{}", &url[..start], &url[start + at..]).into(),
        None => url.into(),
    }
}

/// Whether `url` holds a user name or password (see [`redact_userinfo`]).
pub(crate) fn has_userinfo(url: &str) -> bool {
    matches!(redact_userinfo(url), std::borrow::Cow::Owned(_))
}

impl fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ApiKey(<redacted>)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn userinfo_is_redacted_whatever_the_url_looks_like() {
        for (url, shown) in [
            ("https://user:sk-ant-x@host/v1", "https://***@host/v1"),
            ("http://sk-ant-x@127.0.0.1:9", "http://***@127.0.0.1:9"),
            ("sk-ant-x@localhost:8080", "***@localhost:8080"),
            ("https://a@b:c@host?x=@", "https://***@host?x=@"),
            (
                "https://api.anthropic.com/a@b",
                "https://api.anthropic.com/a@b",
            ),
        ] {
            assert_eq!(redact_userinfo(url), shown, "{url}");
        }
        assert!(!has_userinfo("https://api.anthropic.com"));
    }

    #[test]
    fn key_is_redacted_and_fingerprint_is_not_the_key() {
        let key = ApiKey::new("sk-ant-secret".into());
        assert_eq!(format!("{key:?}"), "ApiKey(<redacted>)");
        assert!(!key.fingerprint().contains("secret"));
        assert_eq!(
            key.fingerprint(),
            ApiKey::new("sk-ant-secret".into()).fingerprint()
        );
    }
}

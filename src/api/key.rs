//! The API key: held so that it cannot leak. Its `Debug` is redacted, it is only ever
//! placed in a header marked sensitive (so HTTP-level logs redact it), and caches key by a
//! keyed hash of it, never the key.

use std::fmt;

/// The API key; never printed.
#[derive(Clone)]
pub struct ApiKey(String);

impl ApiKey {
    pub fn new(key: String) -> ApiKey {
        ApiKey(key)
    }

    /// The key itself, for the `x-api-key` header only.
    pub(super) fn expose(&self) -> &str {
        &self.0
    }

    /// A stable, non-reversible identifier of the key, for cache keys.
    pub fn fingerprint(&self) -> String {
        let hash = blake3::keyed_hash(b"runner upload-cache key hashing!", self.0.as_bytes());
        hash.to_hex()[..32].to_owned()
    }
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

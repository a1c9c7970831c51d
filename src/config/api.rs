//! Where the API is and the key: `ANTHROPIC_BASE_URL`, `ANTHROPIC_API_KEY` or
//! `ANTHROPIC_API_KEY_FILE`.

use super::Env;
use crate::api::facts::DEFAULT_BASE_URL;
use crate::api::{ApiClient, ApiKey, Pacing, Timeouts};
use crate::error::Error;

/// Where the API is and how to authenticate.
#[derive(Clone, Debug)]
pub(crate) struct ApiConfig {
    pub base_url: String,
    pub key: Option<ApiKey>,
}

impl ApiConfig {
    /// The client for a run; only a run that sends something needs the key.
    pub(crate) fn connect(&self, pacing: Pacing) -> Result<ApiClient, Error> {
        let key = self.key.clone().ok_or(Error::NoApiKey)?;
        Ok(ApiClient::new(
            &self.base_url,
            key,
            Timeouts::default(),
            pacing,
        )?)
    }
}

pub(super) fn api(env: &Env) -> Result<ApiConfig, Error> {
    Ok(ApiConfig {
        base_url: base_url(env)?,
        key: key(env)?,
    })
}

/// `ANTHROPIC_BASE_URL`, else the real API. One with a user name or password is refused
/// without echoing it: the key belongs in `ANTHROPIC_API_KEY` (docs/security.md).
pub(super) fn base_url(env: &Env) -> Result<String, Error> {
    let url = env.var("ANTHROPIC_BASE_URL").unwrap_or(DEFAULT_BASE_URL);
    if crate::api::key::has_userinfo(url) {
        return Err(Error::Option {
            option: "ANTHROPIC_BASE_URL",
            value: crate::api::key::redact_userinfo(url).into_owned(),
            reason: "holds a user name or password (not shown); remove the part before `@` \
                     and give the key in ANTHROPIC_API_KEY or ANTHROPIC_API_KEY_FILE"
                .to_owned(),
        });
    }
    Ok(url.to_owned())
}

/// `ANTHROPIC_API_KEY`, else the trimmed content of the file `ANTHROPIC_API_KEY_FILE`
/// names (secret mounts); both set is ambiguous, so an error. The key is never echoed.
fn key(env: &Env) -> Result<Option<ApiKey>, Error> {
    let direct = env.var("ANTHROPIC_API_KEY");
    let Some(path) = env.var("ANTHROPIC_API_KEY_FILE") else {
        return Ok(direct.map(|k| ApiKey::new(k.to_owned())));
    };
    let bad = |reason: String| Error::Option {
        option: "ANTHROPIC_API_KEY_FILE",
        value: path.to_owned(),
        reason,
    };
    if direct.is_some() {
        return Err(bad(
            "is set, and so is ANTHROPIC_API_KEY; unset one of the two".to_owned(),
        ));
    }
    let text = fs_err::read(path)
        .map_err(|e| bad(format!("cannot be read: {}", e.kind())))
        .and_then(|b| {
            String::from_utf8(b).map_err(|_| bad("does not hold UTF-8 text".to_owned()))
        })?;
    let trimmed = text.trim();
    if trimmed.is_empty() {
        return Err(bad("is empty".to_owned()));
    }
    if trimmed.contains(char::is_whitespace) {
        return Err(bad(
            "holds more than one word; it must hold only the key".to_owned()
        ));
    }
    Ok(Some(ApiKey::new(trimmed.to_owned())))
}

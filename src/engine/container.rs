//! The job's container and its expiry. Every answer says when its container expires
//! (`container.expires_at`, docs/api.md §3.6); a later request that names a container past
//! that time cannot run in it, however often it is sent. An API that reports this as a bare
//! 500 would otherwise cost every retry (`--max-attempts`, about a minute) per job.

use serde_json::Value;

use crate::api::messages as wire;
use crate::api::{ApiError, ApiErrorKind};

/// A 500 to a request naming a container whose expiry, as the job's last answer gave it,
/// has passed by `now`: the error says so and is final. Any other error is returned as it
/// came.
pub(super) fn expired_on_500(
    mut error: ApiError,
    body: &Value,
    expires: Option<jiff::Timestamp>,
    now: jiff::Timestamp,
) -> ApiError {
    let (Some(id), Some(at)) = (wire::named_container(body), expires) else {
        return error;
    };
    if error.status() != Some(500) || at > now {
        return error;
    }
    if let ApiErrorKind::Status { message, .. } = &mut error.kind {
        message.push_str(&format!(
            " (the job's container {id} expired at {at}, so it was not retried: \
             run the job again to start it in a new container)"
        ));
    }
    error.should_retry = Some(false);
    error
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn status(code: u16) -> ApiError {
        ApiError {
            endpoint: "messages".into(),
            kind: ApiErrorKind::Status {
                status: code,
                error_type: Some("api_error".into()),
                error_code: None,
                message: "Internal server error".into(),
            },
            request_id: Some("req_1".into()),
            retry_after: None,
            should_retry: None,
        }
    }

    #[test]
    fn only_a_500_naming_a_container_past_its_expiry_is_final() {
        let now: jiff::Timestamp = "2026-12-07T12:00:00Z".parse().unwrap();
        let past = Some("2026-12-07T11:59:59Z".parse().unwrap());
        let future = Some("2026-12-07T12:00:01Z".parse().unwrap());
        let named = json!({"container": "container_1"});
        let gone = expired_on_500(status(500), &named, past, now);
        assert_eq!(gone.should_retry, Some(false));
        assert!(
            gone.to_string()
                .contains("container_1 expired at 2026-12-07T11:59:59Z"),
            "{gone}"
        );
        for (error, body, expires) in [
            (status(500), &named, future),
            (status(500), &named, None),
            (status(500), &json!({}), past),
            (status(529), &named, past),
            (status(503), &named, past),
        ] {
            assert_eq!(expired_on_500(error, body, expires, now).should_retry, None);
        }
    }
}

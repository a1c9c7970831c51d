//! What happens when a request arrives, under one lock: log entry,
//! counters, its scripted fault, and admission by the configured limits
//! (rate limit → concurrency limit → random overload). Guards undo the
//! in-flight counters however the request ends.

use std::sync::Arc;
use std::time::Instant;

use hyper::Request;
use hyper::body::Incoming;

use crate::errors::ApiError;
use crate::faults::{Endpoint, Fault};
use crate::limits::RateHeaders;
use crate::state::{LogEntry, Shared, State};

/// Decrements an in-flight counter when the request ends, however it ends
/// (hyper drops the future if the client goes away).
pub(crate) struct InFlight {
    shared: Arc<Shared>,
    endpoint: Endpoint,
}

impl Drop for InFlight {
    fn drop(&mut self) {
        let endpoint = self.endpoint;
        self.shared.update(|s| match endpoint {
            Endpoint::Messages => s.stats.messages_in_flight -= 1,
            Endpoint::Upload => s.stats.uploads_in_flight -= 1,
            _ => {}
        });
    }
}

pub(crate) struct Held(pub Arc<Shared>);

impl Drop for Held {
    fn drop(&mut self) {
        self.0.update(|s| s.stats.held -= 1);
    }
}

pub(crate) struct Arrival {
    pub log_index: usize,
    pub fault: Option<Fault>,
    pub rate: Option<RateHeaders>,
    pub admission: Result<(), ApiError>,
    pub in_flight: Option<InFlight>,
}

/// Logs and counts the request, takes its fault, and decides admission, all
/// under one lock so concurrent arrivals see a consistent order.
pub(crate) fn arrive(
    shared: &Arc<Shared>,
    req: &Request<Incoming>,
    endpoint: Option<Endpoint>,
    request_id: &str,
) -> Arrival {
    let retry_count = req
        .headers()
        .get("x-stainless-retry-count")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u32>().ok())
        .unwrap_or(0);
    let entry = LogEntry {
        at: shared.started.elapsed(),
        method: req.method().to_string(),
        path: req.uri().path().to_owned(),
        query: req.uri().query().map(str::to_owned),
        endpoint,
        status: 0,
        request_id: request_id.to_owned(),
        retry_count,
        answered_at: None,
        retry_after: None,
        api_version: req
            .headers()
            .get("anthropic-version")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned),
    };
    let config = &shared.config;
    shared.update(|s| {
        let log_index = s.log.len();
        s.log.push(entry);
        let name = endpoint.map_or("unknown", Endpoint::name);
        *s.stats.requests.entry(name.to_owned()).or_default() += 1;
        s.stats.requests_total += 1;
        if retry_count > 0 {
            s.stats.retries_seen += 1;
        }
        let Some(endpoint) = endpoint else {
            return Arrival {
                log_index,
                fault: None,
                rate: None,
                admission: Ok(()),
                in_flight: None,
            };
        };
        let fault = s.faults.get_mut(&endpoint).and_then(|q| q.pop_front());
        let (rate, admission) = if fault.is_some() {
            s.stats.faults_served += 1;
            (None, Ok(()))
        } else {
            admit(s, config, endpoint)
        };
        let in_flight = if admission.is_ok() {
            match endpoint {
                Endpoint::Messages => {
                    s.stats.messages_in_flight += 1;
                    s.stats.max_messages_in_flight = s
                        .stats
                        .max_messages_in_flight
                        .max(s.stats.messages_in_flight);
                }
                Endpoint::Upload => {
                    s.stats.uploads_in_flight += 1;
                    s.stats.max_uploads_in_flight =
                        s.stats.max_uploads_in_flight.max(s.stats.uploads_in_flight);
                }
                _ => {}
            }
            Some(InFlight {
                shared: shared.clone(),
                endpoint,
            })
        } else {
            None
        };
        Arrival {
            log_index,
            fault,
            rate,
            admission,
            in_flight,
        }
    })
}

fn admit(
    s: &mut State,
    config: &crate::Config,
    endpoint: Endpoint,
) -> (Option<RateHeaders>, Result<(), ApiError>) {
    let mut rate = None;
    if let Some(limit) = config.rate_limit {
        let window = if endpoint.is_files() {
            &mut s.rate_files
        } else {
            &mut s.rate_messages
        };
        let (headers, wait) = window.admit(limit, Instant::now());
        rate = Some(headers);
        if let Some(wait) = wait {
            let msg = format!(
                "This request would exceed your organization's rate limit of {} requests per {} ms.",
                limit.requests,
                limit.window.as_millis()
            );
            return (rate, Err(ApiError::rate_limited(&msg, wait)));
        }
    }
    if endpoint == Endpoint::Messages {
        if let Some(max) = config.max_concurrent_messages
            && s.stats.messages_in_flight >= max
        {
            let wait = config
                .messages_latency
                .max(std::time::Duration::from_millis(50));
            let msg = format!("Number of concurrent requests exceeds your rate limit of {max}.");
            return (rate, Err(ApiError::rate_limited(&msg, wait)));
        }
        if let Some(overload) = s.overload.as_mut()
            && overload.hit()
        {
            return (rate, Err(ApiError::new(529, "Overloaded")));
        }
    }
    (rate, Ok(()))
}

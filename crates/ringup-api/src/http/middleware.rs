//! The middleware every route runs through, outermost first:
//!
//! 1. [`request_id`]: takes the client's `X-Request-Id` when it is sane, otherwise makes a
//!    UUIDv7; stores it in the request and echoes it on the response.
//! 2. compression (tower-http), then [`observe`]: one span per request with method, matched
//!    route, status, latency and request id, continuing the caller's W3C trace
//!    ([`super::trace_context`]); Prometheus counters by route template.
//! 3. [`finish_response`]: renders every error as problem+json (including the framework's own
//!    404/405/408/413) and adds the security headers.
//! 4. CORS, error tracking's recorder ([`crate::errors::record_errors`]: every 5xx and caught
//!    panic), panic catching, the request timeout (tower-http), then the API-key rate limit
//!    ([`crate::auth::api_key_rate::limit_api_keys`]) and the body limit.

use std::time::Instant;

use axum::body::Body;
use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderName, HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use tracing::Instrument;

use crate::http::error::{PendingProblem, Problem, title_of};
use crate::http::problem_type::ProblemType;
use crate::http::trace_context::{record_status, request_span};
use crate::state::HttpConfig;

pub static X_REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");
/// The media type of every error body.
pub const PROBLEM_JSON: &str = "application/problem+json";

/// The id of the request being served, as logged and as sent back.
#[derive(Clone, Debug)]
pub struct RequestId(pub String);

impl RequestId {
    /// The request id a request carries (set by the request-id layer), or an empty string.
    pub fn of(req: &Request) -> String {
        req.extensions()
            .get::<RequestId>()
            .map(|r| r.0.clone())
            .unwrap_or_default()
    }
}

/// A client-sent id is kept only if it is short and plain, so it cannot forge log lines.
fn acceptable_request_id(value: &HeaderValue) -> Option<String> {
    let text = value.to_str().ok()?;
    let ok = (1..=128).contains(&text.len())
        && text
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.:".contains(&b));
    ok.then(|| text.to_owned())
}

pub async fn request_id(mut req: Request, next: Next) -> Response {
    let id = req
        .headers()
        .get(&X_REQUEST_ID)
        .and_then(acceptable_request_id)
        .unwrap_or_else(|| uuid::Uuid::now_v7().to_string());
    if let Ok(value) = HeaderValue::from_str(&id) {
        req.headers_mut()
            .insert(X_REQUEST_ID.clone(), value.clone());
        req.extensions_mut().insert(RequestId(id));
        let mut response = next.run(req).await;
        response.headers_mut().insert(X_REQUEST_ID.clone(), value);
        response
    } else {
        next.run(req).await
    }
}

/// The `method` label: a standard method by name, anything else (a client may send any token)
/// as `other`, so clients cannot add series.
fn method_label(method: &axum::http::Method) -> &'static str {
    use axum::http::Method;
    static KNOWN: [Method; 9] = [
        Method::GET,
        Method::HEAD,
        Method::POST,
        Method::PUT,
        Method::PATCH,
        Method::DELETE,
        Method::OPTIONS,
        Method::CONNECT,
        Method::TRACE,
    ];
    KNOWN
        .iter()
        .find(|known| *known == method)
        .map_or("other", Method::as_str)
}

pub async fn observe(req: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = req.method().clone();
    let matched = req
        .extensions()
        .get::<MatchedPath>()
        .map(MatchedPath::as_str);
    let request_id = req
        .extensions()
        .get::<RequestId>()
        .map(|r| r.0.as_str())
        .unwrap_or_default();
    let span = request_span(
        &method,
        matched,
        req.uri().path(),
        req.headers(),
        request_id,
    );
    let route = matched.unwrap_or("unmatched").to_owned();
    let in_flight = metrics::gauge!("http_requests_in_flight");
    in_flight.increment(1.0);
    let response = next.run(req).instrument(span.clone()).await;
    in_flight.decrement(1.0);
    let status = response.status();
    record_status(&span, status);
    let latency = started.elapsed();
    let labels = [
        ("method", method_label(&method).to_owned()),
        ("route", route),
        ("status", status.as_u16().to_string()),
    ];
    metrics::counter!("http_requests_total", &labels).increment(1);
    metrics::histogram!("http_request_duration_seconds", &labels).record(latency.as_secs_f64());
    let latency_ms = latency.as_secs_f64() * 1000.0;
    span.in_scope(|| {
        if status.is_server_error() {
            tracing::error!(status = status.as_u16(), latency_ms, "request failed");
        } else {
            tracing::info!(status = status.as_u16(), latency_ms, "request finished");
        }
    });
    response
}

pub async fn finish_response(
    State(config): State<HttpConfig>,
    req: Request,
    next: Next,
) -> Response {
    let path = req.uri().path().to_owned();
    let request_id = RequestId::of(&req);
    let mut response = next.run(req).await;
    if let Some(pending) = response.extensions_mut().remove::<PendingProblem>() {
        response = render(response, pending, &path, &request_id);
    } else if is_bare_error(&response) {
        let pending = framework_problem(response.status());
        response = render(response, pending, &path, &request_id);
    }
    security_headers(&mut response, &path, &config);
    response
}

/// An error status whose body is not already a problem: the framework's own answers.
fn is_bare_error(response: &Response) -> bool {
    let status = response.status();
    (status.is_client_error() || status.is_server_error())
        && response
            .headers()
            .get(header::CONTENT_TYPE)
            .is_none_or(|ct| ct.as_bytes() != PROBLEM_JSON.as_bytes())
}

fn framework_problem(status: StatusCode) -> PendingProblem {
    let (kind, detail) = match status {
        StatusCode::NOT_FOUND => (ProblemType::NotFound, "no such resource"),
        StatusCode::METHOD_NOT_ALLOWED => (
            ProblemType::MethodNotAllowed,
            "this method is not allowed on this resource",
        ),
        StatusCode::REQUEST_TIMEOUT => (
            ProblemType::RequestTimeout,
            "the request took too long and was abandoned",
        ),
        StatusCode::PAYLOAD_TOO_LARGE => (
            ProblemType::PayloadTooLarge,
            "the request body is larger than allowed",
        ),
        StatusCode::UNSUPPORTED_MEDIA_TYPE | StatusCode::BAD_REQUEST => (
            ProblemType::BadRequest,
            "the request could not be understood",
        ),
        s if s.is_server_error() => (
            ProblemType::Internal,
            "an internal error occurred; quote the request id when reporting it",
        ),
        _ => (ProblemType::Error, "the request failed"),
    };
    PendingProblem {
        kind,
        title: title_of(status),
        detail: detail.to_owned(),
        errors: vec![],
    }
}

fn render(response: Response, pending: PendingProblem, path: &str, request_id: &str) -> Response {
    let (mut parts, _) = response.into_parts();
    let problem = Problem {
        kind: pending.kind.uri(),
        title: pending.title.to_owned(),
        status: parts.status.as_u16(),
        detail: pending.detail,
        instance: path.to_owned(),
        request_id: request_id.to_owned(),
        errors: pending.errors,
    };
    let body = match serde_json::to_vec(&problem) {
        Ok(body) => body,
        Err(_) => return StatusCode::INTERNAL_SERVER_ERROR.into_response(),
    };
    parts.headers.remove(header::CONTENT_LENGTH);
    parts
        .headers
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(PROBLEM_JSON));
    Response::from_parts(parts, Body::from(body))
}

/// The API answers only data, so its policy forbids everything; the docs page needs its own
/// scripts, styles and the OpenAPI document, all served by ringup itself.
const API_CSP: &str = "default-src 'none'; frame-ancestors 'none'";
const DOCS_CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; \
     img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; \
     form-action 'none'";
const HSTS: &str = "max-age=63072000; includeSubDomains";

fn security_headers(response: &mut Response, path: &str, config: &HttpConfig) {
    let headers = response.headers_mut();
    let csp = if path == "/docs" || path.starts_with("/docs/") {
        DOCS_CSP
    } else {
        API_CSP
    };
    let fixed = [
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::X_FRAME_OPTIONS, "DENY"),
        (header::REFERRER_POLICY, "strict-origin-when-cross-origin"),
        (header::CONTENT_SECURITY_POLICY, csp),
        (
            HeaderName::from_static("permissions-policy"),
            "camera=(), microphone=(), geolocation=(), payment=(), usb=()",
        ),
        (
            HeaderName::from_static("cross-origin-opener-policy"),
            "same-origin",
        ),
    ];
    for (name, value) in fixed {
        headers
            .entry(name)
            .or_insert(HeaderValue::from_static(value));
    }
    if config.hsts {
        headers.insert(
            header::STRICT_TRANSPORT_SECURITY,
            HeaderValue::from_static(HSTS),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_ids_from_clients_are_kept_only_when_plain() {
        let ok = HeaderValue::from_static("till-7:abc_1.2");
        assert_eq!(
            acceptable_request_id(&ok).as_deref(),
            Some("till-7:abc_1.2")
        );
        for bad in ["", "a b", "x\"y", "line\tbreak"] {
            if let Ok(value) = HeaderValue::from_str(bad) {
                assert_eq!(acceptable_request_id(&value), None, "{bad:?}");
            }
        }
        let long = HeaderValue::from_str(&"a".repeat(129)).unwrap();
        assert_eq!(acceptable_request_id(&long), None);
    }
}

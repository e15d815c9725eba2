//! The span of a request, as OpenTelemetry's HTTP server conventions name it, continuing the
//! caller's trace when the request carries a W3C `traceparent`.
//!
//! Invariants:
//! - The span is named `<method> <route template>` (`POST /api/v1/stores/{id}`), never by the
//!   raw path, and carries `http.request.method`, `http.route`, `url.path`, `url.scheme`,
//!   `request_id` and, once answered, `http.response.status_code`; a 5xx also sets the span's
//!   status to error with `error.type`. Nothing else of the request is recorded: no query
//!   string, no header but the request id (they may carry tokens), no body.
//! - A valid `traceparent` makes the request's span a child of the caller's span, in the
//!   caller's trace; a malformed one is ignored (a new trace starts). Its sampled flag is
//!   honoured: the SDK's sampler is parent-based.
//! - `trace_id` is recorded on the span whenever a trace id is known — the span's own when
//!   traces are exported, else the caller's from `traceparent` — so every log line inside the
//!   request can carry it (ringup's telemetry prints it). With neither, it stays empty.

use axum::http::{HeaderMap, Method, StatusCode};
use opentelemetry::Context;
use opentelemetry::propagation::{Extractor, TextMapPropagator};
use opentelemetry::trace::{TraceContextExt, TraceId};
use opentelemetry_sdk::propagation::TraceContextPropagator;
use tracing::Span;
use tracing_opentelemetry::OpenTelemetrySpanExt;

/// The span of one request. `route` is the matched route template (`None`: no route matched).
pub fn request_span(
    method: &Method,
    route: Option<&str>,
    path: &str,
    headers: &HeaderMap,
    request_id: &str,
) -> Span {
    let name = match route {
        Some(route) => format!("{method} {route}"),
        None => method.to_string(),
    };
    let span = tracing::info_span!(
        "request",
        otel.name = %name,
        otel.kind = "server",
        otel.status_code = tracing::field::Empty,
        http.request.method = %method,
        http.route = route,
        url.path = path,
        url.scheme = "http",
        request_id = %request_id,
        http.response.status_code = tracing::field::Empty,
        "error.type" = tracing::field::Empty,
        trace_id = tracing::field::Empty,
    );
    let caller = TraceContextPropagator::new().extract(&Headers(headers));
    // Fails only when no OpenTelemetry layer is installed (traces off): then the caller's
    // trace id is still known, for the logs.
    let _ = span.set_parent(caller.clone());
    if let Some(trace_id) = [span.context(), caller].iter().find_map(trace_id_of) {
        span.record("trace_id", tracing::field::display(trace_id));
    }
    span
}

/// Records the answer's status on a request's span; a server error marks the span failed.
pub fn record_status(span: &Span, status: StatusCode) {
    // As an i64: the OpenTelemetry layer would record an unsigned number as text.
    span.record("http.response.status_code", i64::from(status.as_u16()));
    if status.is_server_error() {
        span.record("otel.status_code", "ERROR");
        span.record("error.type", status.as_str());
    }
}

fn trace_id_of(cx: &Context) -> Option<TraceId> {
    let span = cx.span();
    let context = span.span_context();
    context.is_valid().then(|| context.trace_id())
}

/// The request's headers, as the propagator reads them.
struct Headers<'a>(&'a HeaderMap);

impl Extractor for Headers<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).and_then(|value| value.to_str().ok())
    }

    fn keys(&self) -> Vec<&str> {
        self.0.keys().map(|name| name.as_str()).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(traceparent: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert("traceparent", traceparent.parse().unwrap());
        headers
    }

    fn caller_trace(headers: &HeaderMap) -> Option<TraceId> {
        trace_id_of(&TraceContextPropagator::new().extract(&Headers(headers)))
    }

    #[test]
    fn a_valid_traceparent_gives_the_callers_trace() {
        let found = caller_trace(&headers(
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
        ));
        assert_eq!(
            found.map(|t| t.to_string()).as_deref(),
            Some("4bf92f3577b34da6a3ce929d0e0e4736")
        );
    }

    #[test]
    fn a_malformed_traceparent_is_no_trace() {
        for bad in [
            "00-00000000000000000000000000000000-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",
            "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7",
            "garbage",
        ] {
            assert_eq!(caller_trace(&headers(bad)), None, "{bad}");
        }
        assert_eq!(caller_trace(&HeaderMap::new()), None);
    }
}

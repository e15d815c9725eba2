//! Logging and traces.
//!
//! - Logs: JSON lines (for collectors) or human text on stdout, filtered by `RINGUP_LOG`. A
//!   line logged inside a request carries the request's span (method, route, request id) and,
//!   when one is known, its `trace_id` ([`trace_ids`]).
//! - Traces: with `OTEL_EXPORTER_OTLP_ENDPOINT`, ringup's spans — one per request, one per
//!   write transaction under it — are exported over OTLP/HTTP in batches, off the request path
//!   ([`otlp`]). Without it no span leaves the process, and nothing is spent on exporting.
//!
//! Each output has its own filter, so `RINGUP_LOG=warn` quiets the logs without losing traces:
//! the log filter lets ringup's own spans (info and above) through whatever `RINGUP_LOG` says,
//! so a warning inside a request still names it; the trace filter takes ringup's spans and its
//! warnings and errors (as span events), never another crate's, so neither the exporter's own
//! HTTP client nor SQL text ends up in a trace.

use tracing::{Level, Metadata};
use tracing_subscriber::filter::{EnvFilter, FilterExt, filter_fn};
use tracing_subscriber::fmt::format::JsonFields;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{Layer, Registry};

use crate::settings::{LogFormat, SettingError, Settings};

mod asked;
mod otlp;
mod trace_ids;

use asked::Asked;

/// What [`init`] started and [`Telemetry::shutdown`] stops: the trace exporter, if any.
#[must_use = "shut it down at exit, or the last spans are lost"]
pub struct Telemetry {
    traces: Option<otlp::Traces>,
}

impl Telemetry {
    /// Sends the spans still queued and stops the exporter, waiting for the collector at most
    /// [`otlp::SHUTDOWN_WAIT`]. Blocks: call it outside the async runtime.
    pub fn shutdown(self) {
        if let Some(traces) = self.traces {
            traces.shutdown();
        }
    }
}

/// Installs the global subscriber: logs, and traces when an endpoint is configured. Calling it
/// a second time keeps the first subscriber (and starts no exporter). Fails only when the
/// exporter cannot be built, naming `OTEL_EXPORTER_OTLP_ENDPOINT`.
pub fn init(settings: &Settings) -> Result<Telemetry, SettingError> {
    let filter = EnvFilter::try_new(&settings.log).unwrap_or_else(|_| EnvFilter::new("info"));
    // Every filter is `Asked`: tracing-subscriber can otherwise give a layer a stale verdict
    // and lose a request's span (see `asked`).
    let logs = Asked(filter.or(filter_fn(is_ringup_span)));
    let logs = match settings.log_format {
        LogFormat::Json => tracing_subscriber::fmt::layer()
            .fmt_fields(JsonFields::new())
            .event_format(trace_ids::JsonWithTraceId::new())
            .with_writer(std::io::stdout)
            .with_filter(logs)
            .boxed(),
        LogFormat::Text => tracing_subscriber::fmt::layer()
            .with_writer(std::io::stdout)
            .with_filter(logs)
            .boxed(),
    };
    let traces = settings
        .otlp_endpoint
        .as_ref()
        .map(otlp::Traces::start)
        .transpose()?;
    let exported = traces.as_ref().map(|traces| {
        tracing_opentelemetry::layer()
            .with_tracer(traces.tracer())
            .with_location(false)
            .with_threads(false)
            .with_tracked_inactivity(false)
            .with_target(false)
            .with_filter(Asked(filter_fn(is_traced)))
    });
    let installed = Registry::default()
        .with(trace_ids::layer())
        .with(logs)
        .with(exported)
        .try_init();
    if installed.is_err() {
        // Another subscriber was there first (a test harness): it gets no spans from us.
        if let Some(traces) = traces {
            traces.shutdown();
        }
        return Ok(Telemetry { traces: None });
    }
    Ok(Telemetry { traces })
}

/// Whether a callsite is ringup's own (its crates are all named `ringup…`).
fn is_ringup(meta: &Metadata<'_>) -> bool {
    meta.target().starts_with("ringup")
}

/// Ringup's spans at info and above: every request and every write transaction.
fn is_ringup_span(meta: &Metadata<'_>) -> bool {
    meta.is_span() && is_ringup(meta) && *meta.level() <= Level::INFO
}

/// What goes into traces: ringup's spans, and its warnings and errors as span events.
fn is_traced(meta: &Metadata<'_>) -> bool {
    is_ringup_span(meta) || (meta.is_event() && is_ringup(meta) && *meta.level() <= Level::WARN)
}

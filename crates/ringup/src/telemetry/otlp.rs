//! Exporting spans over OTLP/HTTP (protobuf) to `<OTEL_EXPORTER_OTLP_ENDPOINT>/v1/traces`.
//!
//! Invariants:
//! - Nothing on a request's path waits for the collector. A span that ends is put in the SDK's
//!   batch processor's bounded queue (2048 spans, `OTEL_BSP_MAX_QUEUE_SIZE`) without waiting;
//!   when the queue is full it is dropped, and the SDK logs the first drop (and the total at
//!   shutdown). A thread of the processor's own sends the queue in batches (every 5 s or every
//!   512 spans) with a blocking HTTP client of its own, 10 s at most a request
//!   (`OTEL_EXPORTER_OTLP_TIMEOUT`), retried with backoff within that time.
//! - A collector that is down or refuses is reported once per outage, not once per batch: the
//!   first failed batch is logged as a warning, the first success after failures as recovered,
//!   and `ringup_trace_spans_failed_total` counts the spans of failed batches.
//! - Shutdown sends what is queued, waiting for the collector at most [`SHUTDOWN_WAIT`].
//! - The spans' resource is `service.name=ringup` with `service.version`, plus what
//!   `OTEL_RESOURCE_ATTRIBUTES` adds or overrides. `OTEL_EXPORTER_OTLP_HEADERS` (say, a
//!   collector's API key) is sent with every request, as the exporter reads it.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use opentelemetry::KeyValue;
use opentelemetry::trace::TracerProvider as _;
use opentelemetry_otlp::{Protocol, WithExportConfig};
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::resource::EnvResourceDetector;
use opentelemetry_sdk::trace::{SdkTracer, SdkTracerProvider, SpanData, SpanExporter};

use crate::settings::{OtlpEndpoint, SettingError};

/// How long shutdown waits for the last spans to reach the collector.
pub const SHUTDOWN_WAIT: Duration = Duration::from_secs(5);

/// The running exporter.
pub(super) struct Traces {
    provider: SdkTracerProvider,
}

impl Traces {
    /// Builds the exporter and starts the batch processor's thread. Call it outside the async
    /// runtime: the blocking HTTP client may not be made or dropped inside one.
    pub(super) fn start(endpoint: &OtlpEndpoint) -> Result<Traces, SettingError> {
        let url = endpoint.traces_url();
        let exporter = opentelemetry_otlp::SpanExporter::builder()
            .with_http()
            .with_protocol(Protocol::HttpBinary)
            .with_endpoint(url.clone())
            .build()
            .map_err(|err| SettingError {
                variable: "OTEL_EXPORTER_OTLP_ENDPOINT",
                flag: "otel-exporter-otlp-endpoint",
                message: format!("cannot export traces to {endpoint:?}: {err}"),
            })?;
        let provider = SdkTracerProvider::builder()
            .with_batch_exporter(Reported::new(exporter, format!("{endpoint:?}")))
            .with_resource(resource())
            .build();
        Ok(Traces { provider })
    }

    pub(super) fn tracer(&self) -> SdkTracer {
        self.provider.tracer("ringup")
    }

    /// Sends the queued spans, waiting at most [`SHUTDOWN_WAIT`], and stops.
    pub(super) fn shutdown(self) {
        if let Err(err) = self.provider.shutdown_with_timeout(SHUTDOWN_WAIT) {
            tracing::warn!(error = %err, "traces still queued at shutdown may be lost");
        }
    }
}

fn resource() -> Resource {
    Resource::builder_empty()
        .with_service_name("ringup")
        .with_attribute(KeyValue::new("service.version", env!("CARGO_PKG_VERSION")))
        .with_detectors(&[Box::new(EnvResourceDetector::new())])
        .build()
}

/// The OTLP exporter, reporting failures once per outage. It answers every batch as exported:
/// the batch processor only logs a failure (once per batch, which is what this avoids) and
/// never sends a batch again, so the answer changes nothing else.
#[derive(Debug)]
struct Reported<E> {
    inner: E,
    /// The endpoint, as shown in logs (a password hidden).
    endpoint: String,
    /// Batches failed in a row, since the last that went through.
    failing: AtomicU64,
}

impl<E> Reported<E> {
    fn new(inner: E, endpoint: String) -> Reported<E> {
        Reported {
            inner,
            endpoint,
            failing: AtomicU64::new(0),
        }
    }
}

impl<E: SpanExporter> SpanExporter for Reported<E> {
    async fn export(&self, batch: Vec<SpanData>) -> OTelSdkResult {
        let spans = batch.len() as u64;
        match self.inner.export(batch).await {
            Ok(()) => {
                let failed = self.failing.swap(0, Ordering::Relaxed);
                if failed > 0 {
                    tracing::info!(endpoint = %self.endpoint, failed_batches = failed, "trace export recovered");
                }
            }
            Err(err) => {
                metrics::counter!("ringup_trace_spans_failed_total").increment(spans);
                if self.failing.fetch_add(1, Ordering::Relaxed) == 0 {
                    tracing::warn!(endpoint = %self.endpoint, error = %err, "trace export failing; spans are dropped until the collector answers (logged once)");
                }
            }
        }
        Ok(())
    }

    fn shutdown_with_timeout(&self, timeout: Duration) -> OTelSdkResult {
        self.inner.shutdown_with_timeout(timeout)
    }

    fn force_flush(&self) -> OTelSdkResult {
        self.inner.force_flush()
    }

    fn set_resource(&mut self, resource: &Resource) {
        self.inner.set_resource(resource);
    }
}

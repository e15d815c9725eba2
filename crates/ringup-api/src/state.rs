//! What handlers and middleware share. Cheap to clone: everything inside is an `Arc` or a pool.

use std::time::Duration;

use axum::extract::FromRef;
use axum::http::HeaderValue;
use std::sync::Arc;

use metrics_exporter_prometheus::PrometheusHandle;
use ringup_store::Db;

use ringup_app::write::{Idempotency, WriteRequest};

use crate::auth::Auth;
use crate::auth::principal::Principal;
use crate::http::context::RequestMeta;

/// HTTP behaviour that comes from settings.
#[derive(Clone, Debug)]
pub struct HttpConfig {
    /// Largest request body accepted, in bytes.
    pub body_limit: usize,
    /// Time a request may take before it is abandoned with 408.
    pub request_timeout: Duration,
    /// Origins allowed by CORS; empty means no cross-origin access at all.
    pub cors_origins: Vec<HeaderValue>,
    /// Send `Strict-Transport-Security` (only behind TLS).
    pub hsts: bool,
    /// How long `/readyz` waits for each dependency.
    pub readiness_timeout: Duration,
}

impl Default for HttpConfig {
    fn default() -> Self {
        HttpConfig {
            body_limit: 1024 * 1024,
            request_timeout: Duration::from_secs(30),
            cors_origins: Vec::new(),
            hsts: false,
            readiness_timeout: Duration::from_secs(2),
        }
    }
}

#[derive(Clone)]
pub struct AppState {
    pub db: Db,
    pub metrics: PrometheusHandle,
    pub http: HttpConfig,
    pub auth: Arc<Auth>,
    /// The lane reports and exports run in.
    pub reports: ringup_app::reports::Lane,
    /// The gauges `/metrics` reads from the database and the disk, with their cache.
    pub figures: Arc<crate::ops::Figures>,
    /// Counts 5xx answers and panics until the error worker writes them.
    pub errors: ringup_app::errors::Recorder,
    /// The node's live stream of committed events (SSE and WebSocket clients subscribe).
    pub events: ringup_app::events::Stream,
    /// What the webhook routes need from settings and the delivery worker.
    pub webhooks: WebhookConfig,
    /// Wakes this node's mail worker when a request queued a mail.
    pub mail_signal: Arc<tokio::sync::Notify>,
}

/// Webhook settings and the worker's doorbell.
#[derive(Clone, Debug, Default)]
pub struct WebhookConfig {
    /// `RINGUP_WEBHOOKS_ALLOW_PRIVATE`: endpoint URLs may name private, loopback and
    /// link-local addresses.
    pub allow_private: bool,
    /// Wakes the delivery worker when an attempt is queued outside the relay (a test event,
    /// a redelivery).
    pub wake: Arc<tokio::sync::Notify>,
}

impl AppState {
    /// What a handler hands its use case besides the command: the caller, the time by the
    /// server's clock, where the request came from, and its idempotency key (if the route
    /// takes one).
    pub fn write_request<'a>(
        &self,
        principal: &'a Principal,
        meta: &'a RequestMeta,
        idempotency: Option<Idempotency<'a>>,
    ) -> WriteRequest<'a> {
        WriteRequest {
            actor: principal,
            at: self.auth.clock.now(),
            origin: &meta.origin,
            idempotency,
        }
    }
}

impl FromRef<AppState> for HttpConfig {
    fn from_ref(state: &AppState) -> Self {
        state.http.clone()
    }
}

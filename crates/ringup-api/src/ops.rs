//! Operations endpoints, no authentication: liveness, readiness, metrics.
//!
//! `/healthz` answers while the process runs and touches nothing else, so an orchestrator never
//! restarts ringup because the database blinked. `/readyz` answers 200 only when every
//! dependency answers within the readiness timeout, and otherwise names the failed check.
//! `/metrics` renders the process-wide Prometheus recorder after refreshing the gauges read
//! from the database and the disk ([`figures`]); `docs/OPERATIONS.md` lists every metric.

mod figures;

use std::sync::OnceLock;

use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::http::error::{ApiError, FieldError};
use crate::http::json::ApiJson;
use crate::state::AppState;

pub use figures::Figures;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(healthz))
        .routes(routes!(readyz))
        .routes(routes!(metrics))
}

#[derive(Serialize, ToSchema)]
pub struct Health {
    /// `ok` while the process runs.
    pub status: &'static str,
}

#[derive(Serialize, ToSchema)]
pub struct Readiness {
    /// `ready` when every check passed.
    pub status: &'static str,
    /// Each dependency checked, with `ok`.
    pub checks: std::collections::BTreeMap<&'static str, &'static str>,
}

/// Liveness: 200 while the process runs.
#[utoipa::path(get, path = "/healthz", tag = "operations",
    responses((status = 200, description = "The process is running", body = Health)))]
pub async fn healthz() -> ApiJson<Health> {
    ApiJson(Health { status: "ok" })
}

/// Readiness: 200 when the database answers, else 503 naming the failed check.
#[utoipa::path(get, path = "/readyz", tag = "operations",
    responses(
        (status = 200, description = "Every dependency answers", body = Readiness),
        (status = 503, description = "A dependency does not answer; `errors[].field` names it",
            body = crate::http::error::Problem, content_type = "application/problem+json"),
    ))]
pub async fn readyz(State(state): State<AppState>) -> Result<ApiJson<Readiness>, ApiError> {
    let failed = check_readiness(&state).await;
    if !failed.is_empty() {
        return Err(ApiError::NotReady(failed));
    }
    let checks = [("database", "ok")].into_iter().collect();
    Ok(ApiJson(Readiness {
        status: "ready",
        checks,
    }))
}

/// Each dependency that did not answer within the readiness timeout, as the problem's
/// fields; also sets `ringup_ready` (1 when none failed), so scrapes see readiness too.
async fn check_readiness(state: &AppState) -> Vec<FieldError> {
    let mut failed = Vec::new();
    if let Err(err) = state.db.ping(state.http.readiness_timeout).await {
        tracing::warn!(error = %err, cause = ?std::error::Error::source(&err), "readiness: database check failed");
        failed.push(FieldError::new(
            "database",
            format!("the {} database did not answer", state.db.engine().name()),
        ));
    }
    metrics::gauge!(figures::READY).set(if failed.is_empty() { 1.0 } else { 0.0 });
    failed
}

/// Prometheus metrics (docs/OPERATIONS.md has the table). No label holds an id, a username, an
/// address or a raw path; stores are labelled by their code.
///
/// - HTTP: `http_requests_total` and `http_request_duration_seconds` by `method`, `route`
///   (the matched template, `unmatched` for none) and `status`; `http_requests_in_flight`.
/// - Business, counted after the commit, by `store`: `ringup_sales_total`,
///   `ringup_sales_amount_total` (minor units), `ringup_voids_total`,
///   `ringup_voids_amount_total`, `ringup_returns_total`, `ringup_returns_amount_total`
///   (refunded). Read from the database when scraped (at most every 5 s), by `store`:
///   `ringup_open_shifts`, `ringup_low_stock_products`; and `ringup_outbox_backlog`,
///   `ringup_outbox_oldest_age_seconds`.
/// - Security and mail: `ringup_login_failures_total`, `ringup_rate_limited_total{limit}`,
///   `ringup_mail_deliveries_total{result}`.
/// - Database: `ringup_db_operation_seconds{operation, outcome}` (each business operation,
///   retries included), `db_pool_connections{pool, state}`, `ringup_ready`; SQLite's writer:
///   `ringup_write_queue_depth`, `ringup_write_queue_capacity`, `ringup_write_batch_size`,
///   `ringup_write_batch_seconds`, `ringup_write_commit_seconds`,
///   `ringup_wal_checkpoint_seconds`, `ringup_write_overloaded_total` (writes refused with 503
///   because the queue was full), `ringup_write_retries_total{operation}`.
/// - Disk: `ringup_data_dir_free_bytes`, `ringup_data_dir_size_bytes`.
#[utoipa::path(get, path = "/metrics", tag = "operations",
    responses((status = 200, description = "Prometheus text format", body = String, content_type = "text/plain")))]
pub async fn metrics(State(state): State<AppState>) -> impl IntoResponse {
    state.figures.refresh(&state).await;
    for pool in state.db.pool_stats() {
        let size = f64::from(pool.size);
        let idle = pool.idle as f64;
        metrics::gauge!("db_pool_connections", "pool" => pool.name, "state" => "open").set(size);
        metrics::gauge!("db_pool_connections", "pool" => pool.name, "state" => "idle").set(idle);
        metrics::gauge!("db_pool_connections", "pool" => pool.name, "state" => "max")
            .set(f64::from(pool.max));
    }
    if let Some(queue) = state.db.write_queue() {
        metrics::gauge!("ringup_write_queue_depth").set(queue.depth as f64);
        metrics::gauge!("ringup_write_queue_capacity").set(queue.capacity as f64);
    }
    state.metrics.run_upkeep();
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        state.metrics.render(),
    )
}

/// Latency buckets in seconds: fine below 10 ms, where a till's requests should land.
const LATENCY_BUCKETS: &[f64] = &[
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// Writes per group commit.
const BATCH_BUCKETS: &[f64] = &[1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 128.0];

/// The process-wide Prometheus recorder, installed on first use. Several apps in one process
/// (as in the test suite) share it.
pub fn prometheus() -> Result<PrometheusHandle, String> {
    static HANDLE: OnceLock<Result<PrometheusHandle, String>> = OnceLock::new();
    HANDLE
        .get_or_init(|| {
            let recorder = PrometheusBuilder::new()
                .set_buckets_for_metric(
                    Matcher::Full("http_request_duration_seconds".to_owned()),
                    LATENCY_BUCKETS,
                )
                .map_err(|e| e.to_string())?
                .set_buckets_for_metric(
                    Matcher::Full("ringup_write_batch_size".to_owned()),
                    BATCH_BUCKETS,
                )
                .map_err(|e| e.to_string())?
                .set_buckets_for_metric(
                    Matcher::Full("ringup_write_batch_seconds".to_owned()),
                    LATENCY_BUCKETS,
                )
                .map_err(|e| e.to_string())?
                .set_buckets_for_metric(
                    Matcher::Full("ringup_write_commit_seconds".to_owned()),
                    LATENCY_BUCKETS,
                )
                .map_err(|e| e.to_string())?
                .set_buckets_for_metric(
                    Matcher::Full("ringup_wal_checkpoint_seconds".to_owned()),
                    LATENCY_BUCKETS,
                )
                .map_err(|e| e.to_string())?
                .set_buckets_for_metric(
                    Matcher::Full(ringup_app::meters::OPERATION_SECONDS.to_owned()),
                    LATENCY_BUCKETS,
                )
                .map_err(|e| e.to_string())?
                .set_buckets_for_metric(
                    Matcher::Full(ringup_app::meters::WEBHOOK_SECONDS.to_owned()),
                    LATENCY_BUCKETS,
                )
                .map_err(|e| e.to_string())?
                .build_recorder();
            let handle = recorder.handle();
            metrics::set_global_recorder(recorder).map_err(|e| e.to_string())?;
            describe();
            let started = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0.0, |since| since.as_secs_f64());
            metrics::gauge!("ringup_start_time_seconds").set(started);
            Ok(handle)
        })
        .clone()
}

fn describe() {
    metrics::describe_counter!("http_requests_total", "HTTP requests answered");
    metrics::describe_histogram!(
        "http_request_duration_seconds",
        metrics::Unit::Seconds,
        "Time from request to response head"
    );
    metrics::describe_gauge!("http_requests_in_flight", "HTTP requests being served");
    metrics::describe_gauge!(
        "db_pool_connections",
        "Database pool connections by pool and state (open, idle, max)"
    );
    metrics::describe_gauge!(
        "ringup_write_queue_depth",
        "Writes waiting for their turn on the SQLite writer"
    );
    metrics::describe_gauge!(
        "ringup_write_queue_capacity",
        "Writes the SQLite writer queues before refusing with 503"
    );
    metrics::describe_histogram!(
        "ringup_write_batch_size",
        "Writes committed together by one SQLite group commit"
    );
    metrics::describe_histogram!(
        "ringup_write_batch_seconds",
        metrics::Unit::Seconds,
        "Time from a group commit's BEGIN to its COMMIT"
    );
    metrics::describe_histogram!(
        "ringup_write_commit_seconds",
        metrics::Unit::Seconds,
        "Time a group commit's COMMIT took (its WAL sync) on the SQLite writer's own connection"
    );
    metrics::describe_histogram!(
        "ringup_wal_checkpoint_seconds",
        metrics::Unit::Seconds,
        "Time a passive WAL checkpoint took, between the SQLite writer's batches"
    );
    metrics::describe_counter!(
        "ringup_write_overloaded_total",
        "Writes refused with 503 because the writer's queue was full"
    );
    metrics::describe_gauge!(
        "ringup_start_time_seconds",
        metrics::Unit::Seconds,
        "When the process started, unix seconds"
    );
    ringup_app::meters::describe();
    figures::describe();
}

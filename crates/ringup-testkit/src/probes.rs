//! Routes that exist only in tests, merged under the real middleware: a slow handler (timeout
//! and graceful shutdown), a panicking one, one that fails with an internal error (its message
//! carrying the path's number and a fresh id, as a real failure's would), and a JSON echo with
//! typed validation.

use std::time::Duration;

use axum::Router;
use axum::extract::Path;
use axum::routing::{get, post};
use ringup_api::http::json::ApiJson;
use ringup_api::http::query::ApiQuery;
use ringup_api::{ApiError, AppState};
use serde::{Deserialize, Serialize};

#[derive(Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Echo {
    pub name: String,
    pub quantity: u32,
    #[serde(default)]
    pub note: Option<String>,
}

#[derive(Deserialize)]
struct Sleep {
    ms: String,
}

pub fn probe_routes() -> Router<AppState> {
    Router::new()
        .route("/__test/echo", post(echo))
        .route("/__test/sleep", get(sleep))
        .route("/__test/panic", get(explode))
        .route("/__test/fail/{n}", get(fail))
        .route("/__test/big", get(big))
}

async fn echo(ApiJson(body): ApiJson<Echo>) -> ApiJson<Echo> {
    ApiJson(body)
}

async fn sleep(ApiQuery(q): ApiQuery<Sleep>) -> &'static str {
    tokio::time::sleep(Duration::from_millis(q.ms.parse().unwrap_or_default())).await;
    "slept"
}

async fn explode() -> &'static str {
    panic!("probe panic with secret detail select * from users")
}

async fn fail(Path(n): Path<String>) -> Result<&'static str, ApiError> {
    Err(ApiError::internal(std::io::Error::other(format!(
        "probe failure for sale {n} (row {}) with note 'do not store me'",
        uuid::Uuid::now_v7()
    ))))
}

/// A compressible body of 64 KiB.
async fn big() -> String {
    "ringup ".repeat(64 * 1024 / 7)
}

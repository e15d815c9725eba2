//! `/api/v1/admin/errors`: the server's recorded errors (5xx answers and caught panics),
//! grouped by fingerprint, for admins. Recording is [`record`]; storage, the flush and the
//! hourly mail are in `ringup-app` and the binary's worker.

pub mod record;

use axum::extract::State;
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use ringup_app::Capability;
use ringup_core::errors::ErrorGroup;
use ringup_store::errors as store;

use crate::auth::principal::Principal;
use crate::http::error::ApiError;
use crate::http::json::ApiJson;
use crate::http::pagination::{ListQuery, PageView};
use crate::http::query::ApiQuery;
use crate::state::AppState;

pub use record::{ErrorCause, record_errors};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(list_error_groups))
}

/// One fingerprint: every occurrence of what is taken to be one bug.
#[derive(Serialize, ToSchema)]
pub struct ErrorGroupView {
    /// 16 hex characters over the method, route, kind and normalised message.
    pub fingerprint: String,
    /// The route template (`/api/v1/sales/{id}`), not the raw path.
    pub route: String,
    pub method: String,
    /// The status of the last occurrence (500–599).
    pub status: i64,
    /// `panic`, or the problem type of the answer (`internal`, `unavailable`, …).
    pub kind: String,
    /// The last occurrence's message, normalised: numbers, ids and quoted values replaced.
    pub message: String,
    /// Occurrences so far (those of the last second may still be on their way).
    pub count: i64,
    pub first_seen: String,
    pub last_seen: String,
    /// The `X-Request-Id` of the last occurrence, to find it in the log.
    pub last_request_id: String,
}

impl From<ErrorGroup> for ErrorGroupView {
    fn from(g: ErrorGroup) -> Self {
        ErrorGroupView {
            fingerprint: g.fingerprint,
            route: g.route,
            method: g.method,
            status: g.status,
            kind: g.kind,
            message: g.message,
            count: g.count,
            first_seen: g.first_seen,
            last_seen: g.last_seen,
            last_request_id: g.last_request_id,
        }
    }
}

/// Recorded errors grouped by fingerprint, the one seen last first.
#[utoipa::path(get, path = "/api/v1/admin/errors", tag = "operations", params(ListQuery),
    security(("bearer" = [])),
    responses((status = 200, body = PageView<ErrorGroupView>), (status = 403)))]
pub async fn list_error_groups(
    State(state): State<AppState>,
    principal: Principal,
    ApiQuery(query): ApiQuery<ListQuery>,
) -> Result<ApiJson<PageView<ErrorGroupView>>, ApiError> {
    principal.require(Capability::ReadErrors)?;
    let (limit, after) = query.parse()?;
    let page = store::list(&state.db, after.as_ref(), limit).await?;
    Ok(ApiJson(PageView {
        items: page.items.into_iter().map(ErrorGroupView::from).collect(),
        next_cursor: page.next_cursor,
    }))
}

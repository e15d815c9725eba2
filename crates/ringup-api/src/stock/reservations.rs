//! Reservations over HTTP: units of a store's stock held until a time, for an order being
//! picked or a web basket. Admins, and the store's managers and cashiers, reserve and release
//! (a sale's concern, not stock staff's). A reservation needs every line available, whatever
//! the store allows; it stops counting the moment it expires or is released. The handlers
//! parse and check the caller's role; the writes are `ringup_app::stock::reservations`.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use ringup_app::stock::reservations as app;
use ringup_app::write::{Shown, ViewError};
use ringup_core::ids::ReservationId;
use ringup_core::users::Role;
use ringup_store::platform::time;
use ringup_store::stock::reservations::ReservationRow;

use crate::auth::principal::Principal;
use crate::catalog::stores::visible_store;
use crate::http::context::RequestMeta;
use crate::http::error::{ApiError, FieldError};
use crate::http::idempotency::{self, HashedJson, IdempotencyKey};
use crate::http::validation::optional_text;
use crate::state::AppState;
use crate::stock::{LineBody, LineView, parse_lines};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create_reservation))
        .routes(routes!(release_reservation))
}

#[derive(Serialize, ToSchema)]
pub struct ReservationView {
    pub id: String,
    pub store_id: String,
    pub lines: Vec<LineView>,
    pub expires_at: String,
    pub reference: Option<String>,
    pub created_by: String,
    pub created_at: String,
    pub released_at: Option<String>,
}

impl From<ReservationRow> for ReservationView {
    fn from(row: ReservationRow) -> Self {
        ReservationView {
            id: row.id.to_string(),
            store_id: row.store_id.to_string(),
            lines: row.lines.iter().map(LineView::from).collect(),
            expires_at: row.expires_at,
            reference: row.reference,
            created_by: row.created_by,
            created_at: row.created_at,
            released_at: row.released_at,
        }
    }
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewReservationBody {
    pub lines: Vec<LineBody>,
    /// RFC 3339, in the future, at most 30 days ahead.
    pub expires_at: String,
    /// The caller's own reference (an order number), at most 200 characters.
    #[serde(default)]
    pub reference: Option<String>,
}

/// Employees handle stock, not customers' orders.
fn require_selling_role(principal: &Principal) -> Result<(), ApiError> {
    if principal.role == Role::Employee {
        return Err(ApiError::Forbidden);
    }
    Ok(())
}

/// Reserve stock in a store until `expires_at`.
#[utoipa::path(post, path = "/api/v1/stores/{id}/reservations", tag = "stock",
    request_body = NewReservationBody, security(("bearer" = [])),
    params(("id" = String, Path, description = "Store id")),
    responses((status = 201, body = ReservationView), (status = 403), (status = 404),
        (status = 409, description = "Not enough stock available"), (status = 422)))]
pub async fn create_reservation(
    State(state): State<AppState>,
    principal: Principal,
    meta: RequestMeta,
    Path(id): Path<String>,
    key: IdempotencyKey,
    HashedJson { value: body, hash }: HashedJson<NewReservationBody>,
) -> Result<Response, ApiError> {
    let store = visible_store(&state, &principal, &id).await?;
    require_selling_role(&principal)?;
    let mut problems = Vec::new();
    let lines = parse_lines(&body.lines, &mut problems);
    let reference = optional_text("reference", body.reference.as_deref(), 200, &mut problems);
    let expires_at = time::from_db(&body.expires_at)
        .map_err(|_| {
            problems.push(FieldError::new(
                "expires_at",
                "must be an RFC 3339 timestamp",
            ))
        })
        .ok();
    let reservation = app::NewReservation {
        store,
        lines,
        expires_at,
        reference,
        problems,
    };
    let request = state.write_request(&principal, &meta, key.with_hash(&hash));
    let written =
        app::create_reservation(&state.db, request, reservation, reservation_view).await?;
    Ok(idempotency::respond(written))
}

/// How a reservation shows to clients.
pub fn reservation_view(row: &ReservationRow) -> Result<Shown, ViewError> {
    Shown::json(&ReservationView::from(row.clone()))
}

/// Release a reservation: its units are available again at once. Releasing a released or
/// expired reservation changes nothing.
#[utoipa::path(delete, path = "/api/v1/stores/{id}/reservations/{rid}", tag = "stock",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "Store id"),
        ("rid" = String, Path, description = "Reservation id")),
    responses((status = 204), (status = 403), (status = 404)))]
pub async fn release_reservation(
    State(state): State<AppState>,
    principal: Principal,
    meta: RequestMeta,
    Path((id, rid)): Path<(String, String)>,
) -> Result<StatusCode, ApiError> {
    let store = visible_store(&state, &principal, &id).await?;
    require_selling_role(&principal)?;
    let rid = ReservationId::parse(&rid).map_err(|_| ApiError::NotFound)?;
    let request = state.write_request(&principal, &meta, None);
    let release = app::ReleaseReservation {
        store_id: store.id,
        id: rid,
    };
    app::release_reservation(&state.db, request, release).await?;
    Ok(StatusCode::NO_CONTENT)
}

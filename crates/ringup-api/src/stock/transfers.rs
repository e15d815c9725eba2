//! Transfers over HTTP: stock moving between two stores through
//! `requested → approved → received` (or `rejected`, or `cancelled`).
//!
//! Who may do what (docs/API.md "Roles"): admins, managers and employees request
//! (they must belong to one of the two stores); the source store's managers approve (stock
//! leaves as `transfer_out`, 409 if short) or reject; the destination's managers and employees
//! receive (stock enters as `transfer_in`); the requester or a manager of either store
//! cancels while it is still requested. Cashiers have no part in transfers. A transfer
//! neither of whose stores the caller sees is 404. Every other transition is 409. The
//! handlers parse and check the caller's role; the writes, and the rules that need the
//! transfer, are `ringup_app::stock::transfers`.

use axum::extract::{Path, State};
use axum::response::Response;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use ringup_app::WriteRequest;
use ringup_app::stock::transfers as app;
use ringup_app::write::{Shown, ViewError};
use ringup_core::ids::{StoreId, TransferId};
use ringup_core::stock::{TransferAction, TransferStatus};
use ringup_core::users::Role;
use ringup_store::Conn;
use ringup_store::stock::transfers::{self, TransferFilter, TransferRow};

use crate::auth::principal::Principal;
use crate::http::context::RequestMeta;
use crate::http::error::{ApiError, FieldError};
use crate::http::idempotency::{self, HashedJson, IdempotencyKey};
use crate::http::json::ApiJson;
use crate::http::pagination::{ListQuery, PageView};
use crate::http::query::ApiQuery;
use crate::http::validation::{optional_text, parse_query_id, required_text};
use crate::state::AppState;
use crate::stock::{LineBody, LineView, parse_lines};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_transfers, create_transfer))
        .routes(routes!(get_transfer))
        .routes(routes!(approve_transfer))
        .routes(routes!(reject_transfer))
        .routes(routes!(receive_transfer))
        .routes(routes!(cancel_transfer))
}

#[derive(Serialize, ToSchema)]
pub struct TransferView {
    pub id: String,
    pub from_store_id: String,
    pub to_store_id: String,
    /// `requested`, `approved`, `received`, `rejected` or `cancelled`.
    pub status: String,
    pub lines: Vec<LineView>,
    pub note: Option<String>,
    pub requested_by: String,
    pub approved_by: Option<String>,
    pub approved_at: Option<String>,
    pub received_by: Option<String>,
    pub received_at: Option<String>,
    pub rejected_by: Option<String>,
    pub rejected_at: Option<String>,
    pub reject_reason: Option<String>,
    pub cancelled_by: Option<String>,
    pub cancelled_at: Option<String>,
    pub created_at: String,
    pub updated_at: String,
}

impl From<TransferRow> for TransferView {
    fn from(row: TransferRow) -> Self {
        TransferView {
            id: row.id.to_string(),
            from_store_id: row.from_store_id.to_string(),
            to_store_id: row.to_store_id.to_string(),
            status: row.status.as_str().to_owned(),
            lines: row.lines.iter().map(LineView::from).collect(),
            note: row.note,
            requested_by: row.requested_by,
            approved_by: row.approved_by,
            approved_at: row.approved_at,
            received_by: row.received_by,
            received_at: row.received_at,
            rejected_by: row.rejected_by,
            rejected_at: row.rejected_at,
            reject_reason: row.reject_reason,
            cancelled_by: row.cancelled_by,
            cancelled_at: row.cancelled_at,
            created_at: row.created_at,
            updated_at: row.updated_at,
        }
    }
}

/// Cashiers take no part in transfers.
fn require_stock_role(principal: &Principal) -> Result<(), ApiError> {
    if principal.role == Role::Cashier {
        return Err(ApiError::Forbidden);
    }
    Ok(())
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewTransferBody {
    pub from_store_id: String,
    pub to_store_id: String,
    pub lines: Vec<LineBody>,
    #[serde(default)]
    pub note: Option<String>,
}

fn parse_store(field: &str, text: &str, errors: &mut Vec<FieldError>) -> Option<StoreId> {
    StoreId::parse(text)
        .map_err(|_| errors.push(FieldError::new(field, "is not a known store")))
        .ok()
}

/// Request stock from one store to another.
#[utoipa::path(post, path = "/api/v1/transfers", tag = "transfers", request_body = NewTransferBody,
    security(("bearer" = [])),
    params(("Idempotency-Key" = String, Header, description = "Required")),
    responses((status = 201, body = TransferView), (status = 403), (status = 422)))]
pub async fn create_transfer(
    State(state): State<AppState>,
    principal: Principal,
    meta: RequestMeta,
    key: IdempotencyKey,
    HashedJson { value: body, hash }: HashedJson<NewTransferBody>,
) -> Result<Response, ApiError> {
    require_stock_role(&principal)?;
    let mut errors = Vec::new();
    if let Err(ApiError::Validation(mut e)) = key.required() {
        errors.append(&mut e);
    }
    let from = parse_store("from_store_id", &body.from_store_id, &mut errors);
    let to = parse_store("to_store_id", &body.to_store_id, &mut errors);
    if from.is_some() && from == to {
        errors.push(FieldError::new(
            "to_store_id",
            "must differ from from_store_id",
        ));
    }
    if let (Some(from), Some(to)) = (from, to)
        && !principal.sees_store(from)
        && !principal.sees_store(to)
    {
        errors.push(FieldError::new(
            "from_store_id",
            "you must belong to the source or the destination store",
        ));
    }
    let lines = parse_lines(&body.lines, &mut errors);
    let note = optional_text("note", body.note.as_deref(), 500, &mut errors);
    let transfer = app::NewTransfer {
        from_store_id: from,
        to_store_id: to,
        lines,
        note,
        problems: errors,
    };
    let request = state.write_request(&principal, &meta, key.with_hash(&hash));
    let written = app::create_transfer(&state.db, request, transfer, transfer_view).await?;
    Ok(idempotency::respond(written))
}

/// How a transfer shows to clients.
pub fn transfer_view(row: &TransferRow) -> Result<Shown, ViewError> {
    Shown::json(&TransferView::from(row.clone()))
}

#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct TransferQuery {
    /// `requested`, `approved`, `received`, `rejected` or `cancelled`.
    pub status: Option<String>,
    /// Transfers with this store at either end.
    pub store_id: Option<String>,
}

/// Transfers touching the caller's stores, oldest first.
#[utoipa::path(get, path = "/api/v1/transfers", tag = "transfers",
    params(TransferQuery, ListQuery), security(("bearer" = [])),
    responses((status = 200, body = PageView<TransferView>), (status = 403), (status = 422)))]
pub async fn list_transfers(
    State(state): State<AppState>,
    principal: Principal,
    ApiQuery(query): ApiQuery<TransferQuery>,
    ApiQuery(page): ApiQuery<ListQuery>,
) -> Result<ApiJson<PageView<TransferView>>, ApiError> {
    require_stock_role(&principal)?;
    let mut errors = Vec::new();
    let (limit, after) = page.parse_collecting(&mut errors)?;
    let store_id = parse_query_id(
        "store_id",
        query.store_id.as_deref(),
        StoreId::parse,
        &mut errors,
    );
    let status = query.status.as_deref().and_then(|s| {
        TransferStatus::parse(s)
            .ok_or_else(|| errors.push(FieldError::new("status", "is not a transfer status")))
            .ok()
    });
    if !errors.is_empty() {
        return Err(ApiError::Validation(errors));
    }
    let filter = TransferFilter {
        stores: principal.store_scope().map(<[_]>::to_vec),
        store_id,
        status,
    };
    let page = transfers::list_transfers(&state.db, &filter, after.as_ref(), limit).await?;
    Ok(ApiJson(PageView {
        items: page.items.into_iter().map(TransferView::from).collect(),
        next_cursor: page.next_cursor,
    }))
}

/// The transfer in the path, if the caller sees either of its stores; 404 otherwise.
async fn visible_transfer(
    conn: &mut Conn,
    principal: &Principal,
    id: &str,
) -> Result<TransferRow, ApiError> {
    let id = TransferId::parse(id).map_err(|_| ApiError::NotFound)?;
    transfers::find_transfer(conn, id)
        .await?
        .filter(|t| principal.sees_transfer(t))
        .ok_or(ApiError::NotFound)
}

/// One transfer.
#[utoipa::path(get, path = "/api/v1/transfers/{id}", tag = "transfers", security(("bearer" = [])),
    params(("id" = String, Path, description = "Transfer id")),
    responses((status = 200, body = TransferView), (status = 403), (status = 404)))]
pub async fn get_transfer(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
) -> Result<ApiJson<TransferView>, ApiError> {
    require_stock_role(&principal)?;
    let mut conn = state.db.read_conn().await?;
    let transfer = visible_transfer(&mut conn, &principal, &id).await?;
    Ok(ApiJson(TransferView::from(transfer)))
}

/// The body of `/reject`.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RejectBody {
    pub reason: String,
}

/// The write request of an action on the transfer in the path, after the checks every action
/// shares: cashiers take no part (403), an id that is no transfer id names none (404).
fn action_request<'a>(
    state: &AppState,
    principal: &'a Principal,
    meta: &'a RequestMeta,
    key: &'a IdempotencyKey,
    hash: &'a str,
    id: &str,
) -> Result<(WriteRequest<'a>, TransferId), ApiError> {
    require_stock_role(principal)?;
    let id = TransferId::parse(id).map_err(|_| ApiError::NotFound)?;
    Ok((
        state.write_request(principal, meta, key.with_hash(hash)),
        id,
    ))
}

/// A hash for the idempotency of a body-less action.
fn action_hash(id: &str, action: TransferAction) -> String {
    ringup_core::tokens::hash_token(&format!("POST /api/v1/transfers/{id}/{action:?}"))
}

/// Approve a requested transfer (a manager of the source store): its stock leaves the source.
#[utoipa::path(post, path = "/api/v1/transfers/{id}/approve", tag = "transfers",
    security(("bearer" = [])), params(("id" = String, Path, description = "Transfer id")),
    responses((status = 200, body = TransferView), (status = 403), (status = 404),
        (status = 409, description = "Not requested any more, or not enough stock")))]
pub async fn approve_transfer(
    State(state): State<AppState>,
    principal: Principal,
    meta: RequestMeta,
    key: IdempotencyKey,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let hash = action_hash(&id, TransferAction::Approve);
    let (request, id) = action_request(&state, &principal, &meta, &key, &hash, &id)?;
    let written = app::approve_transfer(&state.db, request, id, transfer_view).await?;
    Ok(idempotency::respond(written))
}

/// Reject a requested transfer (a manager of the source store), with a reason.
#[utoipa::path(post, path = "/api/v1/transfers/{id}/reject", tag = "transfers",
    request_body = RejectBody, security(("bearer" = [])),
    params(("id" = String, Path, description = "Transfer id")),
    responses((status = 200, body = TransferView), (status = 403), (status = 404),
        (status = 409), (status = 422)))]
pub async fn reject_transfer(
    State(state): State<AppState>,
    principal: Principal,
    meta: RequestMeta,
    key: IdempotencyKey,
    Path(id): Path<String>,
    HashedJson { value: body, hash }: HashedJson<RejectBody>,
) -> Result<Response, ApiError> {
    let (request, id) = action_request(&state, &principal, &meta, &key, &hash, &id)?;
    let mut problems = Vec::new();
    let reason = required_text("reason", &body.reason, 500, &mut problems);
    let reject = app::RejectTransfer {
        id,
        reason,
        problems,
    };
    let written = app::reject_transfer(&state.db, request, reject, transfer_view).await?;
    Ok(idempotency::respond(written))
}

/// Receive an approved transfer (a manager or employee of the destination): its stock enters
/// the destination.
#[utoipa::path(post, path = "/api/v1/transfers/{id}/receive", tag = "transfers",
    security(("bearer" = [])), params(("id" = String, Path, description = "Transfer id")),
    responses((status = 200, body = TransferView), (status = 403), (status = 404),
        (status = 409)))]
pub async fn receive_transfer(
    State(state): State<AppState>,
    principal: Principal,
    meta: RequestMeta,
    key: IdempotencyKey,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let hash = action_hash(&id, TransferAction::Receive);
    let (request, id) = action_request(&state, &principal, &meta, &key, &hash, &id)?;
    let written = app::receive_transfer(&state.db, request, id, transfer_view).await?;
    Ok(idempotency::respond(written))
}

/// Cancel a transfer that is still requested (its requester, or a manager of either store).
#[utoipa::path(post, path = "/api/v1/transfers/{id}/cancel", tag = "transfers",
    security(("bearer" = [])), params(("id" = String, Path, description = "Transfer id")),
    responses((status = 200, body = TransferView), (status = 403), (status = 404),
        (status = 409)))]
pub async fn cancel_transfer(
    State(state): State<AppState>,
    principal: Principal,
    meta: RequestMeta,
    key: IdempotencyKey,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let hash = action_hash(&id, TransferAction::Cancel);
    let (request, id) = action_request(&state, &principal, &meta, &key, &hash, &id)?;
    let written = app::cancel_transfer(&state.db, request, id, transfer_view).await?;
    Ok(idempotency::respond(written))
}

//! Transfers over HTTP: stock moving between two stores through
//! `requested → approved → received` (or `rejected`, or `cancelled`).
//!
//! Who may do what (docs/API.md "Roles"): admins, managers and employees request
//! (they must belong to one of the two stores); the source store's managers approve (stock
//! leaves as `transfer_out`, 409 if short) or reject; the destination's managers and employees
//! receive (stock enters as `transfer_in`); the requester or a manager of either store
//! cancels while it is still requested. Cashiers have no part in transfers. A transfer
//! neither of whose stores the caller sees is 404. Every other transition is 409.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use ringup_core::ids::{StoreId, TransferId};
use ringup_core::stock::{MovementKind, TransferAction, TransferStatus};
use ringup_core::users::Role;
use ringup_store::stock::NewMovement;
use ringup_store::stock::transfers::{NewTransfer, TransferFilter, TransferRow};
use ringup_store::{Conn, audit, catalog::stores, stock, stock::transfers};

use crate::auth::principal::Principal;
use crate::http::context::RequestMeta;
use crate::http::error::{ApiError, FieldError};
use crate::http::idempotency::{self, HashedJson, IdempotencyKey, Started};
use crate::http::json::ApiJson;
use crate::http::pagination::{ListQuery, PageView};
use crate::http::problem_type::ProblemType;
use crate::http::query::ApiQuery;
use crate::http::validation::{optional_text, parse_query_id};
use crate::state::AppState;
use crate::stock::{LineBody, LineView, check_line_products, insufficient, parse_lines};

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
    let at = state.auth.clock.now();
    let now = ringup_store::platform::time::to_db(at);
    let mut tx = state.db.begin_write().await?;
    if let Started::Answered(replayed) =
        idempotency::start(&mut tx, &principal, &key, &hash, at).await?
    {
        return Ok(replayed);
    }
    let named: Vec<(&str, StoreId)> = [("from_store_id", from), ("to_store_id", to)]
        .into_iter()
        .filter_map(|(f, s)| s.map(|s| (f, s)))
        .collect();
    let ids: Vec<StoreId> = named.iter().map(|(_, s)| *s).collect();
    for missing in stores::missing_stores(&mut tx, &ids).await? {
        if let Some((field, _)) = named.iter().find(|(_, s)| *s == missing) {
            errors.push(FieldError::new(*field, "is not a known store"));
        }
    }
    check_line_products(&mut tx, &body.lines, &mut errors).await?;
    let (Some(from), Some(to), true) = (from, to, errors.is_empty()) else {
        return Err(ApiError::Validation(errors));
    };
    let actor = principal.actor_id();
    let id = TransferId::new();
    let row = transfers::insert_transfer(
        &mut tx,
        &NewTransfer {
            id,
            from_store_id: from,
            to_store_id: to,
            note: note.as_deref(),
            lines: &lines,
            requested_by: &actor,
        },
        &now,
    )
    .await?;
    let mut event = state
        .auth
        .event(&meta, "transfer.requested")
        .by(&actor)
        .on("transfer", id)
        .with(serde_json::json!({
            "from_store_id": from.to_string(), "to_store_id": to.to_string(),
            "lines": row.lines.iter().map(LineView::from).collect::<Vec<_>>(),
        }));
    event.store_id = Some(from);
    audit::append(&mut tx, &event).await?;
    let view = TransferView::from(row);
    let response =
        idempotency::finish(&mut tx, &principal, &key, StatusCode::CREATED, &view, at).await?;
    ringup_store::commit(tx).await?;
    Ok(response)
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
    let transfer = transfers::find_transfer(conn, id)
        .await?
        .ok_or(ApiError::NotFound)?;
    if principal.sees_store(transfer.from_store_id) || principal.sees_store(transfer.to_store_id) {
        Ok(transfer)
    } else {
        Err(ApiError::NotFound)
    }
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

/// Whether the principal may take `action` on `transfer` (it already sees one of its stores).
fn may_act(principal: &Principal, transfer: &TransferRow, action: TransferAction) -> bool {
    let manages = |store: StoreId| {
        principal.is_admin() || (principal.role == Role::Manager && principal.sees_store(store))
    };
    match action {
        TransferAction::Approve | TransferAction::Reject => manages(transfer.from_store_id),
        TransferAction::Receive => {
            manages(transfer.to_store_id)
                || (principal.role == Role::Employee && principal.sees_store(transfer.to_store_id))
        }
        TransferAction::Cancel => {
            principal.actor_id() == transfer.requested_by
                || manages(transfer.from_store_id)
                || manages(transfer.to_store_id)
        }
    }
}

fn invalid_transition(err: ringup_core::stock::TransitionError) -> ApiError {
    ApiError::Conflict {
        kind: ProblemType::InvalidTransition,
        detail: err.to_string(),
        errors: vec![],
    }
}

/// The body of `/reject`.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RejectBody {
    pub reason: String,
}

/// Runs one action on a transfer in one write transaction: authorization, the state machine,
/// the stock it moves, the audit event. `hash` and `key` make it idempotent when a key is
/// sent.
#[allow(clippy::too_many_arguments, reason = "one call per action handler")]
async fn act(
    state: &AppState,
    principal: &Principal,
    meta: &RequestMeta,
    id: &str,
    action: TransferAction,
    reason: Option<&str>,
    key: &IdempotencyKey,
    hash: &str,
) -> Result<Response, ApiError> {
    require_stock_role(principal)?;
    let at = state.auth.clock.now();
    let now = ringup_store::platform::time::to_db(at);
    let mut tx = state.db.begin_write().await?;
    let transfer = visible_transfer(&mut tx, principal, id).await?;
    if !may_act(principal, &transfer, action) {
        return Err(ApiError::Forbidden);
    }
    let mut errors = Vec::new();
    let reason =
        reason.and_then(|r| crate::http::validation::required_text("reason", r, 500, &mut errors));
    if !errors.is_empty() {
        return Err(ApiError::Validation(errors));
    }
    if let Started::Answered(replayed) =
        idempotency::start(&mut tx, principal, key, hash, at).await?
    {
        return Ok(replayed);
    }
    let next = transfer.status.next(action).map_err(invalid_transition)?;
    let actor = principal.actor_id();
    // The conditional update is the guard: of two racing actions only one finds the status
    // it expects; the other sees the new one and gets 409.
    if !transfers::transition(
        &mut tx,
        transfer.id,
        transfer.status,
        next,
        &actor,
        reason.as_deref(),
        &now,
    )
    .await?
    {
        let current = transfers::find_transfer(&mut tx, transfer.id)
            .await?
            .ok_or(ApiError::NotFound)?;
        return Err(current.status.next(action).err().map_or_else(
            || ApiError::Conflict {
                kind: ProblemType::InvalidTransition,
                detail: "the transfer changed while this request ran; try again".to_owned(),
                errors: vec![],
            },
            invalid_transition,
        ));
    }
    let moves = match action {
        TransferAction::Approve => Some((transfer.from_store_id, MovementKind::TransferOut, -1)),
        TransferAction::Receive => Some((transfer.to_store_id, MovementKind::TransferIn, 1)),
        TransferAction::Reject | TransferAction::Cancel => None,
    };
    if let Some((store_id, kind, sign)) = moves {
        let store = stores::find_store(&mut tx, store_id)
            .await?
            .ok_or(ApiError::NotFound)?;
        // Lock levels in product order (see ringup_store::stock), report lines in body order.
        let mut order: Vec<usize> = (0..transfer.lines.len()).collect();
        order.sort_by_key(|&i| transfer.lines.get(i).map(|l| l.product_id));
        let mut short = Vec::new();
        for i in order {
            let Some(line) = transfer.lines.get(i) else {
                continue;
            };
            let movement = NewMovement {
                store_id,
                product_id: line.product_id,
                kind,
                ref_type: Some("transfer"),
                ref_id: Some(transfer.id.to_string()),
                actor_id: Some(&actor),
                note: None,
                // docs/API.md: approval is 409 when the source's `available` is short, whatever
                // the store allows; only its own sales and adjustments may go negative.
                allow_negative: store.allow_negative_stock && kind != MovementKind::TransferOut,
            };
            if let Err(s) =
                stock::move_stock(&mut tx, &movement, |_| sign * line.quantity, &now).await?
            {
                short.push((i, s));
            }
        }
        if !short.is_empty() {
            short.sort_by_key(|(i, _)| *i);
            return Err(insufficient(
                short
                    .into_iter()
                    .map(|(i, s)| (format!("lines[{i}].quantity"), s))
                    .collect(),
            ));
        }
    }
    let mut event = state
        .auth
        .event(meta, &format!("transfer.{}", next.as_str()))
        .by(&actor)
        .on("transfer", transfer.id)
        .with(serde_json::json!({ "from": transfer.status.as_str(), "reason": reason }));
    event.store_id = Some(if action == TransferAction::Receive {
        transfer.to_store_id
    } else {
        transfer.from_store_id
    });
    audit::append(&mut tx, &event).await?;
    let row = transfers::find_transfer(&mut tx, transfer.id)
        .await?
        .ok_or(ApiError::NotFound)?;
    let view = TransferView::from(row);
    let response = idempotency::finish(&mut tx, principal, key, StatusCode::OK, &view, at).await?;
    ringup_store::commit(tx).await?;
    Ok(response)
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
    act(
        &state,
        &principal,
        &meta,
        &id,
        TransferAction::Approve,
        None,
        &key,
        &hash,
    )
    .await
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
    act(
        &state,
        &principal,
        &meta,
        &id,
        TransferAction::Reject,
        Some(&body.reason),
        &key,
        &hash,
    )
    .await
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
    act(
        &state,
        &principal,
        &meta,
        &id,
        TransferAction::Receive,
        None,
        &key,
        &hash,
    )
    .await
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
    act(
        &state,
        &principal,
        &meta,
        &id,
        TransferAction::Cancel,
        None,
        &key,
        &hash,
    )
    .await
}

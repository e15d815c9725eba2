//! Cash-drawer shifts over HTTP: open, paid in / paid out, X and Z reports, close.
//!
//! A shift belongs to the user who opened it; that cashier, or an admin or a manager of its
//! store, may move cash and close it. Reports read the shift's running totals (kept in each
//! sale's transaction), never the sales themselves.

use axum::extract::{Path, State};
use axum::response::Response;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use ringup_core::catalog::Money;
use ringup_core::ids::{RegisterId, ShiftId, StoreId};
use ringup_store::StoreError;
use ringup_store::checkout::shifts::{self, CashMovementRow, ShiftFilter, ShiftRow};

use crate::auth::principal::Principal;
use crate::http::context::RequestMeta;
use crate::http::error::{ApiError, FieldError};
use crate::http::idempotency::{self, HashedJson, IdempotencyKey};
use crate::http::json::ApiJson;
use crate::http::pagination::{ListQuery, PageView};
use crate::http::query::ApiQuery;
use crate::http::validation::{collect, parse_query_id, required_text};
use crate::state::AppState;
use ringup_app::Capability;
use ringup_app::checkout::shifts as app;
use ringup_app::write::{Shown, ViewError};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(open_shift, list_shifts))
        .routes(routes!(get_shift))
        .routes(routes!(add_cash_movement))
        .routes(routes!(shift_report))
        .routes(routes!(close_shift))
}

#[derive(Serialize, ToSchema)]
pub struct ShiftView {
    pub id: String,
    pub store_id: String,
    pub register_id: String,
    pub cashier_id: String,
    /// `open` or `closed`.
    pub status: &'static str,
    pub opening_float: i64,
    pub opened_at: String,
    pub closed_at: Option<String>,
    pub counted_cash: Option<i64>,
    pub expected_cash: Option<i64>,
    pub over_short: Option<i64>,
}

impl From<&ShiftRow> for ShiftView {
    fn from(s: &ShiftRow) -> Self {
        ShiftView {
            id: s.id.to_string(),
            store_id: s.store_id.to_string(),
            register_id: s.register_id.to_string(),
            cashier_id: s.cashier_id.to_string(),
            status: if s.open { "open" } else { "closed" },
            opening_float: s.opening_float,
            opened_at: s.opened_at.clone(),
            closed_at: s.closed_at.clone(),
            counted_cash: s.counted_cash,
            expected_cash: s.expected_cash,
            over_short: s.over_short,
        }
    }
}

/// An amount per tender method.
#[derive(Serialize, ToSchema)]
pub struct TenderAmount {
    pub method: &'static str,
    pub amount: i64,
}

/// X report (open shift) or Z report (closed shift).
#[derive(Serialize, ToSchema)]
pub struct ShiftReport {
    pub shift_id: String,
    /// `x` while open, `z` once closed.
    pub kind: &'static str,
    pub status: &'static str,
    pub store_id: String,
    pub register_id: String,
    pub cashier_id: String,
    pub opened_at: String,
    pub closed_at: Option<String>,
    pub opening_float: i64,
    pub sales_count: i64,
    /// Σ subtotals (before discounts) of the shift's sales, voided ones excluded.
    pub gross: i64,
    pub discounts: i64,
    pub tax: i64,
    pub net: i64,
    pub total: i64,
    /// Tendered per method (cash before change), all five methods.
    pub tenders: Vec<TenderAmount>,
    pub change_given: i64,
    pub voids_count: i64,
    pub voids_total: i64,
    pub returns_count: i64,
    pub returns_total: i64,
    /// Refunded per method, all five methods.
    pub refunds: Vec<TenderAmount>,
    pub paid_in: i64,
    pub paid_out: i64,
    /// opening float + cash taken − change given − cash refunded + paid in − paid out.
    pub expected_cash: i64,
    pub counted_cash: Option<i64>,
    pub over_short: Option<i64>,
}

fn report_of(s: &ShiftRow) -> Result<ShiftReport, StoreError> {
    let t = &s.totals;
    let expected = t
        .drawer(s.opening_float)
        .expected_cash()
        .ok_or_else(|| StoreError::corrupt("shift totals", "overflow"))?;
    let amounts = |per: &ringup_core::checkout::totals::PerTender| {
        per.entries()
            .into_iter()
            .map(|(method, amount)| TenderAmount {
                method: method.as_str(),
                amount,
            })
            .collect()
    };
    Ok(ShiftReport {
        shift_id: s.id.to_string(),
        kind: if s.open { "x" } else { "z" },
        status: if s.open { "open" } else { "closed" },
        store_id: s.store_id.to_string(),
        register_id: s.register_id.to_string(),
        cashier_id: s.cashier_id.to_string(),
        opened_at: s.opened_at.clone(),
        closed_at: s.closed_at.clone(),
        opening_float: s.opening_float,
        sales_count: t.sales_count,
        gross: t.gross,
        discounts: t.discounts,
        tax: t.tax,
        net: t.net,
        total: t.total,
        tenders: amounts(&t.tenders),
        change_given: t.change_given,
        voids_count: t.voids_count,
        voids_total: t.voids_total,
        returns_count: t.returns_count,
        returns_total: t.returns_total,
        refunds: amounts(&t.refunds),
        paid_in: t.paid_in,
        paid_out: t.paid_out,
        expected_cash: s.expected_cash.unwrap_or(expected),
        counted_cash: s.counted_cash,
        over_short: s.over_short,
    })
}

/// A shift the caller may see (404 otherwise).
pub(crate) async fn visible_shift(
    state: &AppState,
    principal: &Principal,
    id: &str,
) -> Result<ShiftRow, ApiError> {
    principal.require(Capability::Sell)?;
    let id = ShiftId::parse(id).map_err(|_| ApiError::NotFound)?;
    let mut conn = state.db.read_conn().await?;
    let shift = shifts::find_shift(&mut conn, id)
        .await?
        .ok_or(ApiError::NotFound)?;
    if !principal.sees_store(shift.store_id) {
        return Err(ApiError::NotFound);
    }
    Ok(shift)
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewShiftBody {
    pub register_id: String,
    /// Cash in the drawer at the start, minor units, ≥ 0.
    pub opening_float: i64,
}

/// Open a shift on a register (one open shift per register).
#[utoipa::path(post, path = "/api/v1/shifts", tag = "checkout", request_body = NewShiftBody,
    security(("bearer" = [])),
    responses((status = 201, body = ShiftView), (status = 403), (status = 409), (status = 422)))]
pub async fn open_shift(
    State(state): State<AppState>,
    principal: Principal,
    meta: RequestMeta,
    key: IdempotencyKey,
    HashedJson { value: body, hash }: HashedJson<NewShiftBody>,
) -> Result<Response, ApiError> {
    principal.require(Capability::Sell)?;
    let mut problems = Vec::new();
    let opening_float = collect(
        "opening_float",
        Money::new(body.opening_float),
        &mut problems,
    );
    let command = app::OpenShift {
        register_id: RegisterId::parse(&body.register_id).ok(),
        opening_float,
        problems,
    };
    let written = app::open_shift(
        &state.db,
        state.write_request(&principal, &meta, key.with_hash(&hash)),
        command,
        shift_view,
    )
    .await?;
    Ok(idempotency::respond(written))
}

/// How a shift shows to clients.
pub fn shift_view(shift: &ShiftRow) -> Result<Shown, ViewError> {
    Shown::json(&ShiftView::from(shift))
}

#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ShiftQuery {
    pub store_id: Option<String>,
    pub register_id: Option<String>,
    /// `open` or `closed`.
    pub status: Option<String>,
}

/// Shifts of the caller's stores, oldest first.
#[utoipa::path(get, path = "/api/v1/shifts", tag = "checkout", params(ShiftQuery, ListQuery),
    security(("bearer" = [])),
    responses((status = 200, body = PageView<ShiftView>), (status = 403), (status = 422)))]
pub async fn list_shifts(
    State(state): State<AppState>,
    principal: Principal,
    ApiQuery(query): ApiQuery<ShiftQuery>,
    ApiQuery(page): ApiQuery<ListQuery>,
) -> Result<ApiJson<PageView<ShiftView>>, ApiError> {
    principal.require(Capability::Sell)?;
    let mut errors = Vec::new();
    let (limit, after) = page.parse_collecting(&mut errors)?;
    let store = parse_query_id(
        "store_id",
        query.store_id.as_deref(),
        StoreId::parse,
        &mut errors,
    );
    let register_id = parse_query_id(
        "register_id",
        query.register_id.as_deref(),
        RegisterId::parse,
        &mut errors,
    );
    let open = match query.status.as_deref() {
        None => None,
        Some("open") => Some(true),
        Some("closed") => Some(false),
        Some(_) => {
            errors.push(FieldError::new("status", "must be open or closed"));
            None
        }
    };
    if store.is_some_and(|s| !principal.sees_store(s)) {
        errors.push(FieldError::new("store_id", "is not a store you can see"));
    }
    if !errors.is_empty() {
        return Err(ApiError::Validation(errors));
    }
    let filter = ShiftFilter {
        stores: match store {
            Some(s) => Some(vec![s]),
            None => principal.store_scope().map(<[_]>::to_vec),
        },
        register_id,
        cashier_id: None,
        open,
    };
    let page = shifts::list_shifts(&state.db, &filter, after.as_ref(), limit).await?;
    Ok(ApiJson(PageView {
        items: page.items.iter().map(ShiftView::from).collect(),
        next_cursor: page.next_cursor,
    }))
}

/// One shift.
#[utoipa::path(get, path = "/api/v1/shifts/{id}", tag = "checkout",
    params(("id" = String, Path, description = "Shift id")), security(("bearer" = [])),
    responses((status = 200, body = ShiftView), (status = 403), (status = 404)))]
pub async fn get_shift(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
) -> Result<ApiJson<ShiftView>, ApiError> {
    let shift = visible_shift(&state, &principal, &id).await?;
    Ok(ApiJson(ShiftView::from(&shift)))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CashMovementBody {
    /// `paid_in` or `paid_out`.
    pub kind: String,
    /// Minor units, > 0.
    pub amount: i64,
    pub reason: String,
}

#[derive(Serialize, ToSchema)]
pub struct CashMovementView {
    pub id: String,
    pub shift_id: String,
    pub kind: String,
    pub amount: i64,
    pub reason: String,
    pub actor_id: String,
    pub created_at: String,
}

impl From<CashMovementRow> for CashMovementView {
    fn from(m: CashMovementRow) -> Self {
        CashMovementView {
            id: m.id.to_string(),
            shift_id: m.shift_id.to_string(),
            kind: m.kind,
            amount: m.amount,
            reason: m.reason,
            actor_id: m.actor_id,
            created_at: m.created_at,
        }
    }
}

/// Record a paid-in or paid-out on an open shift.
#[utoipa::path(post, path = "/api/v1/shifts/{id}/cash-movements", tag = "checkout",
    request_body = CashMovementBody, params(("id" = String, Path, description = "Shift id")),
    security(("bearer" = [])),
    responses((status = 201, body = CashMovementView), (status = 403), (status = 404),
        (status = 409, description = "The shift is closed"), (status = 422)))]
pub async fn add_cash_movement(
    State(state): State<AppState>,
    principal: Principal,
    meta: RequestMeta,
    Path(id): Path<String>,
    key: IdempotencyKey,
    HashedJson { value: body, hash }: HashedJson<CashMovementBody>,
) -> Result<Response, ApiError> {
    let shift = visible_shift(&state, &principal, &id).await?;
    if !principal.may_act_on_drawer(&shift) {
        return Err(ApiError::Forbidden);
    }
    let mut problems = Vec::new();
    let paid_in = match body.kind.as_str() {
        "paid_in" => Some(true),
        "paid_out" => Some(false),
        _ => {
            problems.push(FieldError::new("kind", "must be paid_in or paid_out"));
            None
        }
    };
    let amount = collect("amount", Money::new(body.amount), &mut problems);
    if amount == Some(Money::ZERO) {
        problems.push(FieldError::new("amount", "must be positive"));
    }
    let reason = required_text("reason", &body.reason, 200, &mut problems);
    let command = app::CashMovement {
        shift,
        paid_in,
        amount,
        reason,
        problems,
    };
    let written = app::add_cash_movement(
        &state.db,
        state.write_request(&principal, &meta, key.with_hash(&hash)),
        command,
        |movement| Shown::json(&CashMovementView::from(movement.clone())),
    )
    .await?;
    Ok(idempotency::respond(written))
}

/// X report while the shift is open, Z report once it is closed.
#[utoipa::path(get, path = "/api/v1/shifts/{id}/report", tag = "checkout",
    params(("id" = String, Path, description = "Shift id")), security(("bearer" = [])),
    responses((status = 200, body = ShiftReport), (status = 403), (status = 404)))]
pub async fn shift_report(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
) -> Result<ApiJson<ShiftReport>, ApiError> {
    let shift = visible_shift(&state, &principal, &id).await?;
    Ok(ApiJson(report_of(&shift)?))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CloseShiftBody {
    /// Cash counted in the drawer, minor units, ≥ 0.
    pub counted_cash: i64,
}

#[derive(Serialize, ToSchema)]
pub struct ClosedShiftView {
    pub id: String,
    pub status: &'static str,
    pub expected_cash: i64,
    pub counted_cash: i64,
    /// counted − expected: positive over, negative short.
    pub over_short: i64,
    pub report: ShiftReport,
}

/// Close a shift with the counted cash; answers the Z report.
#[utoipa::path(post, path = "/api/v1/shifts/{id}/close", tag = "checkout",
    request_body = CloseShiftBody, params(("id" = String, Path, description = "Shift id")),
    security(("bearer" = [])),
    responses((status = 200, body = ClosedShiftView), (status = 403), (status = 404),
        (status = 409, description = "Already closed"), (status = 422)))]
pub async fn close_shift(
    State(state): State<AppState>,
    principal: Principal,
    meta: RequestMeta,
    Path(id): Path<String>,
    key: IdempotencyKey,
    HashedJson { value: body, hash }: HashedJson<CloseShiftBody>,
) -> Result<Response, ApiError> {
    let shift = visible_shift(&state, &principal, &id).await?;
    let command = app::CloseShift {
        shift,
        counted_cash: body.counted_cash,
    };
    let written = app::close_shift(
        &state.db,
        state.write_request(&principal, &meta, key.with_hash(&hash)),
        command,
        closed_view,
    )
    .await?;
    Ok(idempotency::respond(written))
}

/// A closed shift with its count and Z report.
pub fn closed_view(closed: &ShiftRow) -> Result<Shown, ViewError> {
    let (Some(expected_cash), Some(counted_cash), Some(over_short)) =
        (closed.expected_cash, closed.counted_cash, closed.over_short)
    else {
        return Err("a closed shift without its count".into());
    };
    let view = ClosedShiftView {
        id: closed.id.to_string(),
        status: "closed",
        expected_cash,
        counted_cash,
        over_short,
        report: report_of(closed)?,
    };
    Shown::json(&view)
}

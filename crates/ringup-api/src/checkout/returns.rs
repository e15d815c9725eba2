//! Returns over HTTP: goods back against the lines of an earlier sale, refunds out.
//!
//! A return locks its sale first (so returns of one sale queue, and a void cannot slip in),
//! then reads how much of each line is already back, computes the refund due with the pure
//! rule (`refund_due`, half-up, cumulative so partial returns never refund more than the line
//! cost) and requires the refunds given to add up to it exactly.

use std::collections::HashSet;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use ringup_core::catalog::Quantity;
use ringup_core::checkout::refund::refund_due;
use ringup_core::ids::{RegisterId, ReturnId, SaleId, SaleLineId, ShiftId, StoreId};
use ringup_store::checkout::returns::{
    self, ReturnDraft, ReturnFilter, ReturnLineRow, ReturnRefusal, ReturnRow,
};
use ringup_store::{audit, catalog::stores, checkout::sales, checkout::shifts, platform::outbox};

use crate::auth::principal::Principal;
use crate::checkout::sales::body::{PaymentBody, parse_payments};
use crate::checkout::sales::view::PaymentView;
use crate::http::context::RequestMeta;
use crate::http::error::{ApiError, FieldError};
use crate::http::idempotency::{self, HashedJson, IdempotencyKey, Started};
use crate::http::json::ApiJson;
use crate::http::pagination::{ListQuery, PageView};
use crate::http::problem_type::ProblemType;
use crate::http::query::ApiQuery;
use crate::http::validation::{optional_text, parse_query_id};
use crate::state::AppState;
use ringup_app::Capability;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create_return, list_returns))
        .routes(routes!(get_return))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReturnLineBody {
    pub sale_line_id: String,
    pub quantity: i64,
    /// Whether the goods go back on the shelf (a `return` movement); default true.
    #[serde(default = "yes")]
    pub restock: bool,
}

fn yes() -> bool {
    true
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewReturn {
    pub sale_id: String,
    /// The register the return is made at, when it is not the sale's.
    #[serde(default)]
    pub register_id: Option<String>,
    pub lines: Vec<ReturnLineBody>,
    #[serde(default)]
    pub refunds: Vec<PaymentBody>,
    #[serde(default)]
    pub reason: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct ReturnLineView {
    pub sale_line_id: String,
    pub product_id: String,
    pub quantity: i64,
    pub restock: bool,
    /// The refund due for this line.
    pub refund: i64,
}

#[derive(Serialize, ToSchema)]
pub struct ReturnView {
    pub id: String,
    pub sale_id: String,
    pub store_id: String,
    pub register_id: String,
    pub shift_id: String,
    pub cashier_id: String,
    pub reason: Option<String>,
    pub lines: Vec<ReturnLineView>,
    pub refunds: Vec<PaymentView>,
    /// Σ refunds.
    pub total: i64,
    pub created_at: String,
}

impl From<&ReturnRow> for ReturnView {
    fn from(r: &ReturnRow) -> Self {
        ReturnView {
            id: r.id.to_string(),
            sale_id: r.sale_id.to_string(),
            store_id: r.store_id.to_string(),
            register_id: r.register_id.to_string(),
            shift_id: r.shift_id.to_string(),
            cashier_id: r.cashier_id.to_string(),
            reason: r.reason.clone(),
            lines: r
                .lines
                .iter()
                .map(|l| ReturnLineView {
                    sale_line_id: l.sale_line_id.to_string(),
                    product_id: l.product_id.to_string(),
                    quantity: l.quantity,
                    restock: l.restock,
                    refund: l.refund,
                })
                .collect(),
            refunds: r.refunds.iter().map(PaymentView::from).collect(),
            total: r.total,
            created_at: r.created_at.clone(),
        }
    }
}

fn conflict(kind: ProblemType, detail: &str, errors: Vec<FieldError>) -> ApiError {
    ApiError::Conflict {
        kind,
        detail: detail.to_owned(),
        errors,
    }
}

struct LineRequest {
    sale_line_id: SaleLineId,
    quantity: i64,
    restock: bool,
}

fn parse_lines(lines: &[ReturnLineBody], errors: &mut Vec<FieldError>) -> Vec<LineRequest> {
    if lines.is_empty() || lines.len() > 100 {
        errors.push(FieldError::new("lines", "must have 1 to 100 lines"));
    }
    let mut seen = HashSet::new();
    let mut parsed = Vec::new();
    for (i, line) in lines.iter().enumerate() {
        let id = SaleLineId::parse(&line.sale_line_id)
            .map_err(|_| {
                errors.push(FieldError::new(
                    format!("lines[{i}].sale_line_id"),
                    "is not a line of this sale",
                ))
            })
            .ok();
        if let Some(id) = id
            && !seen.insert(id)
        {
            errors.push(FieldError::new(
                format!("lines[{i}].sale_line_id"),
                "appears on an earlier line",
            ));
        }
        let quantity = Quantity::new(line.quantity)
            .map_err(|e| {
                errors.push(FieldError::new(
                    format!("lines[{i}].quantity"),
                    e.to_string(),
                ))
            })
            .ok();
        if let (Some(sale_line_id), Some(quantity)) = (id, quantity) {
            parsed.push(LineRequest {
                sale_line_id,
                quantity: quantity.value(),
                restock: line.restock,
            });
        }
    }
    parsed
}

/// Take goods back against a sale and refund them.
#[utoipa::path(post, path = "/api/v1/returns", tag = "checkout", request_body = NewReturn,
    params(("Idempotency-Key" = String, Header, description = "Required")),
    security(("bearer" = [])),
    responses((status = 201, body = ReturnView), (status = 403),
        (status = 409, description = "More than returnable, voided sale, or no open shift"),
        (status = 422)))]
pub async fn create_return(
    State(state): State<AppState>,
    principal: Principal,
    meta: RequestMeta,
    key: IdempotencyKey,
    HashedJson { value: body, hash }: HashedJson<NewReturn>,
) -> Result<Response, ApiError> {
    principal.require(Capability::Sell)?;
    let mut errors = Vec::new();
    if let Err(ApiError::Validation(mut e)) = key.required() {
        errors.append(&mut e);
    }
    let sale_id = SaleId::parse(&body.sale_id)
        .map_err(|_| errors.push(FieldError::new("sale_id", "is not a known sale")))
        .ok();
    let register_id = body.register_id.as_deref().and_then(|r| {
        RegisterId::parse(r)
            .map_err(|_| errors.push(FieldError::new("register_id", "is not a known register")))
            .ok()
    });
    let lines = parse_lines(&body.lines, &mut errors);
    let refunds = parse_payments("refunds", &body.refunds, &mut errors);
    let reason = optional_text("reason", body.reason.as_deref(), 500, &mut errors);

    let mut conn = state.db.read_conn().await?;
    let sale = match sale_id {
        Some(id) => sales::find_sale(&mut conn, id)
            .await?
            .filter(|s| principal.sees_store(s.store_id)),
        None => None,
    };
    if sale.is_none() && sale_id.is_some() {
        errors.push(FieldError::new("sale_id", "is not a known sale"));
    }
    let register_id = register_id.or(sale.as_ref().map(|s| s.register_id));
    let mut shift = None;
    if let (Some(sale), Some(register)) = (&sale, register_id) {
        match shifts::find_register(&mut conn, register).await? {
            Some((store, _)) if store == sale.store_id => {
                shift = shifts::open_shift_of(&mut conn, register).await?;
            }
            _ => errors.push(FieldError::new(
                "register_id",
                "is not a register of the sale's store",
            )),
        }
        for (i, line) in body.lines.iter().enumerate() {
            let known = SaleLineId::parse(&line.sale_line_id)
                .is_ok_and(|id| sale.lines.iter().any(|l| l.id == id));
            if !known
                && !errors
                    .iter()
                    .any(|e| e.field == format!("lines[{i}].sale_line_id"))
            {
                errors.push(FieldError::new(
                    format!("lines[{i}].sale_line_id"),
                    "is not a line of this sale",
                ));
            }
        }
    }
    let store = match &sale {
        Some(s) => stores::find_store(&mut conn, s.store_id).await?,
        None => None,
    };
    drop(conn);

    let at = state.auth.clock.now();
    let now = ringup_store::platform::time::to_db(at);
    let mut tx = state.db.begin_write().await?;
    if let Started::Answered(replayed) =
        idempotency::start(&mut tx, &principal, &key, &hash, at).await?
    {
        return Ok(replayed);
    }
    let (Some(sale), Some(store), Some(register_id), true) =
        (sale, store, register_id, errors.is_empty())
    else {
        return Err(ApiError::Validation(errors));
    };
    if sale.voided {
        return Err(conflict(
            ProblemType::SaleVoided,
            "the sale was voided",
            vec![],
        ));
    }
    let Some(shift) = shift.filter(|s| s.open) else {
        return Err(conflict(
            ProblemType::ShiftClosed,
            "the register has no open shift to take the return",
            vec![],
        ));
    };
    if !principal.may_sell_on(&shift) {
        return Err(ApiError::Forbidden);
    }
    if !returns::lock_sale_for_return(&mut tx, sale.id).await? {
        return Err(conflict(
            ProblemType::SaleVoided,
            "the sale was voided",
            vec![],
        ));
    }
    // Line counts read after the lock: no other return of this sale can change them now.
    let current = sales::find_sale(&mut tx, sale.id)
        .await?
        .ok_or(ApiError::NotFound)?;
    let mut over = Vec::new();
    let mut rows = Vec::new();
    let mut thresholds = Vec::new();
    for (i, line) in lines.iter().enumerate() {
        let Some(sold) = current.lines.iter().find(|l| l.id == line.sale_line_id) else {
            continue;
        };
        let returnable = sold.quantity.saturating_sub(sold.returned_quantity);
        match refund_due(
            sold.total,
            sold.quantity,
            sold.returned_quantity,
            line.quantity,
        ) {
            Some(refund) => {
                rows.push(ReturnLineRow {
                    sale_line_id: sold.id,
                    product_id: sold.product_id,
                    quantity: line.quantity,
                    restock: line.restock,
                    refund,
                });
                thresholds.push(sold.low_stock_threshold);
            }
            None => over.push(FieldError::new(
                format!("lines[{i}].quantity"),
                format!("only {returnable} of this line can still be returned"),
            )),
        }
    }
    if !over.is_empty() {
        return Err(conflict(
            ProblemType::OverReturn,
            "more than was sold minus what was already returned",
            over,
        ));
    }
    let due: i64 = rows
        .iter()
        .map(|r| r.refund)
        .fold(0i64, i64::saturating_add);
    let given: i64 = refunds
        .iter()
        .map(|r| r.amount)
        .fold(0i64, i64::saturating_add);
    if due != given {
        return Err(ApiError::validation(
            "refunds",
            format!("must add up to the refund due of {due}, not {given}"),
        ));
    }
    let cashier_id = principal.user_id().unwrap_or(shift.cashier_id);
    let draft = ReturnDraft {
        row: ReturnRow {
            id: ReturnId::new(),
            sale_id: sale.id,
            store_id: sale.store_id,
            register_id,
            shift_id: shift.id,
            cashier_id,
            reason,
            lines: rows,
            refunds,
            total: due,
            created_at: now.clone(),
        },
        thresholds,
        allow_negative: store.allow_negative_stock,
    };
    let ret = match returns::record_return(&mut tx, draft, &now).await? {
        Ok(ret) => ret,
        Err(ReturnRefusal::Shift(refusal)) => {
            return Err(crate::http::error::shift_refused(refusal, "refunds"));
        }
        Err(ReturnRefusal::OverReturn(lines)) => {
            let errors = lines
                .into_iter()
                .map(|i| FieldError::new(format!("lines[{i}].quantity"), "is more than returnable"))
                .collect();
            return Err(conflict(
                ProblemType::OverReturn,
                "more than was sold minus what was already returned",
                errors,
            ));
        }
    };
    let view = ReturnView::from(&ret);
    let payload = serde_json::to_value(&view).map_err(ApiError::internal)?;
    outbox::append(&mut tx, "return.completed", &payload, &now).await?;
    let mut event = state
        .auth
        .event(&meta, "return.completed")
        .by(principal.actor_id())
        .on("return", ret.id)
        .with(serde_json::json!({
            "sale_id": ret.sale_id.to_string(), "total": ret.total,
        }));
    event.store_id = Some(ret.store_id);
    audit::append(&mut tx, &event).await?;
    let response =
        idempotency::finish(&mut tx, &principal, &key, StatusCode::CREATED, &view, at).await?;
    ringup_store::commit(tx).await?;
    Ok(response)
}

#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ReturnQuery {
    pub store_id: Option<String>,
    pub sale_id: Option<String>,
    pub shift_id: Option<String>,
}

/// Returns of the caller's stores, oldest first.
#[utoipa::path(get, path = "/api/v1/returns", tag = "checkout", params(ReturnQuery, ListQuery),
    security(("bearer" = [])),
    responses((status = 200, body = PageView<ReturnView>), (status = 403), (status = 422)))]
pub async fn list_returns(
    State(state): State<AppState>,
    principal: Principal,
    ApiQuery(query): ApiQuery<ReturnQuery>,
    ApiQuery(page): ApiQuery<ListQuery>,
) -> Result<ApiJson<PageView<ReturnView>>, ApiError> {
    principal.require(Capability::Sell)?;
    let mut errors = Vec::new();
    let (limit, after) = page.parse_collecting(&mut errors)?;
    let store = parse_query_id(
        "store_id",
        query.store_id.as_deref(),
        StoreId::parse,
        &mut errors,
    );
    if store.is_some_and(|s| !principal.sees_store(s)) {
        errors.push(FieldError::new("store_id", "is not a store you can see"));
    }
    let filter = ReturnFilter {
        stores: match store {
            Some(s) => Some(vec![s]),
            None => principal.store_scope().map(<[_]>::to_vec),
        },
        sale_id: parse_query_id(
            "sale_id",
            query.sale_id.as_deref(),
            SaleId::parse,
            &mut errors,
        ),
        shift_id: parse_query_id(
            "shift_id",
            query.shift_id.as_deref(),
            ShiftId::parse,
            &mut errors,
        ),
    };
    if !errors.is_empty() {
        return Err(ApiError::Validation(errors));
    }
    let page = returns::list_returns(&state.db, &filter, after.as_ref(), limit).await?;
    Ok(ApiJson(PageView {
        items: page.items.iter().map(ReturnView::from).collect(),
        next_cursor: page.next_cursor,
    }))
}

/// One return.
#[utoipa::path(get, path = "/api/v1/returns/{id}", tag = "checkout",
    params(("id" = String, Path, description = "Return id")), security(("bearer" = [])),
    responses((status = 200, body = ReturnView), (status = 403), (status = 404)))]
pub async fn get_return(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
) -> Result<ApiJson<ReturnView>, ApiError> {
    principal.require(Capability::Sell)?;
    let id = ReturnId::parse(&id).map_err(|_| ApiError::NotFound)?;
    let mut conn = state.db.read_conn().await?;
    let ret = returns::find_return(&mut conn, id)
        .await?
        .filter(|r| principal.sees_store(r.store_id))
        .ok_or(ApiError::NotFound)?;
    Ok(ApiJson(ReturnView::from(&ret)))
}

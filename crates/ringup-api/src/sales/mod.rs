//! Sales over HTTP: ring up (one transaction, docs/API.md "Checkout"), read, void.
//!
//! A sale is validated and priced before its transaction starts (reads on the read pool; the
//! pure rules of `ringup_core::checkout`); the transaction then claims the idempotency key,
//! adds to the shift (refusing a closed one), moves the stock (refusing shortfalls), takes the
//! store's next number, writes the rows, the outbox and audit events, and stores the response
//! for replays — all or nothing.

pub mod body;
pub mod receipt;
pub mod view;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use ringup_core::checkout::payment::settle;
use ringup_core::checkout::pricing::{LineInput, PricedCart, commission, price_cart};
use ringup_core::checkout::totals::ShiftTotals;
use ringup_core::ids::{CustomerId, RegisterId, SaleId, ShiftId, StoreId, UserId};
use ringup_core::users::Role;
use ringup_store::sales::{
    self, SaleDraft, SaleFilter, SaleLineRow, SaleProduct, SaleRefusal, SaleRow, VoidRefusal,
};
use ringup_store::shifts::{self, ShiftRow};
use ringup_store::stores::{self, StoreRow};
use ringup_store::{audit, outbox};

use crate::auth::principal::Principal;
use crate::authz::Capability;
use crate::context::RequestMeta;
use crate::error::{ApiError, FieldError};
use crate::idempotency::{self, HashedJson, IdempotencyKey, Started};
use crate::json::ApiJson;
use crate::pagination::{ListQuery, PageView};
use crate::problem_type::ProblemType;
use crate::query::ApiQuery;
use crate::shifts::{shift_closed, shift_refused};
use crate::state::AppState;
use crate::stock::insufficient;
use crate::validation::{parse_query_id, parse_time, required_text};
use body::{NewSale, SaleRequest, parse_sale, pricing_error};
use view::SaleView;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create_sale, list_sales))
        .routes(routes!(get_sale))
        .routes(routes!(void_sale))
        .routes(routes!(receipt::get_receipt))
        .routes(routes!(receipt::email_receipt))
}

/// Cashiers sell (and take returns) only in their own shifts; supervisors in any shift of
/// their stores; an API key (a terminal, no person) in any shift of its stores.
pub(crate) fn may_sell_on(principal: &Principal, shift: &ShiftRow) -> bool {
    principal.role != Role::Cashier
        || principal
            .user_id()
            .is_none_or(|user| user == shift.cashier_id)
}

/// What the database says about a sale request's references.
struct Context {
    store: StoreRow,
    shift: ShiftRow,
    products: std::collections::HashMap<ringup_core::ids::ProductId, SaleProduct>,
    commission_rate_bp: i64,
    cashier_id: UserId,
}

/// Looks up everything the request names, adding a 422 entry for each reference that does
/// not exist or that the caller may not see.
async fn load_context(
    state: &AppState,
    principal: &Principal,
    request: &SaleRequest,
    errors: &mut Vec<FieldError>,
) -> Result<Option<Context>, ApiError> {
    let mut conn = state.db.read_conn().await?;
    let store = match request.store_id {
        Some(id) if principal.sees_store(id) => stores::find_store(&mut conn, id).await?,
        _ => None,
    };
    if store.is_none() && request.store_id.is_some() {
        errors.push(FieldError::new("store_id", "is not a known store"));
    }
    let shift = match request.shift_id {
        Some(id) => shifts::find_shift(&mut conn, id).await?,
        None => None,
    };
    // A shift of the named register proves the register and its store; only otherwise is the
    // register looked up, to say what is wrong with it.
    let register_store = match (&shift, request.register_id) {
        (Some(s), Some(r)) if s.register_id == r => Some(s.store_id),
        (_, Some(r)) => shifts::find_register(&mut conn, r).await?.map(|(s, _)| s),
        (_, None) => None,
    };
    match (&store, register_store) {
        (Some(store), Some(register_store)) if register_store != store.id => {
            errors.push(FieldError::new(
                "register_id",
                "is not a register of this store",
            ));
        }
        (_, None) if request.register_id.is_some() => {
            errors.push(FieldError::new("register_id", "is not a known register"));
        }
        _ => {}
    }
    match &shift {
        Some(s) if Some(s.register_id) != request.register_id => {
            errors.push(FieldError::new(
                "shift_id",
                "is not a shift of this register",
            ));
        }
        None if request.shift_id.is_some() => {
            errors.push(FieldError::new("shift_id", "is not a known shift"));
        }
        _ => {}
    }
    if let Some(customer) = request.customer_id
        && !sales::customer_exists(&mut conn, customer).await?
    {
        errors.push(FieldError::new("customer_id", "is not a known customer"));
    }
    let ids: Vec<_> = request
        .lines
        .iter()
        .flatten()
        .map(|l| l.product_id)
        .collect();
    let products = sales::products_for_sale(&mut conn, &ids).await?;
    for (i, line) in request.lines.iter().enumerate() {
        let Some(line) = line else { continue };
        match products.get(&line.product_id) {
            None => errors.push(FieldError::new(
                format!("lines[{i}].product_id"),
                "is not a known product",
            )),
            Some(p) if !p.active => errors.push(FieldError::new(
                format!("lines[{i}].product_id"),
                "is archived and cannot be sold",
            )),
            Some(_) => {}
        }
    }
    let (Some(store), Some(shift)) = (store, shift) else {
        return Ok(None);
    };
    // The seller: the signed-in user, or (for an API key) the shift's cashier.
    let cashier_id = principal.user_id().unwrap_or(shift.cashier_id);
    let commission_rate_bp = sales::commission_rate_of(&mut conn, cashier_id).await?;
    Ok(Some(Context {
        store,
        shift,
        products,
        commission_rate_bp,
        cashier_id,
    }))
}

/// Prices the cart and checks the tenders; `None` after recording 422 entries.
fn price(
    request: &SaleRequest,
    ctx: &Context,
    errors: &mut Vec<FieldError>,
) -> Option<(PricedCart, ringup_core::checkout::payment::Settlement)> {
    let mut inputs = Vec::new();
    for line in &request.lines {
        let line = line.as_ref()?;
        let product = ctx.products.get(&line.product_id)?;
        inputs.push(LineInput {
            unit_price: line.unit_price.unwrap_or(product.price),
            quantity: line.quantity,
            discount: line.discount,
            tax_class_id: product.tax_class_id,
            tax_rate_bp: product.tax_rate_bp,
        });
    }
    let cart = price_cart(&inputs, request.discount, ctx.store.prices_include_tax)
        .map_err(|e| errors.push(pricing_error(&e)))
        .ok()?;
    let settlement = settle(cart.total, &request.tenders())
        .map_err(|e| errors.push(FieldError::new("payments", e.to_string())))
        .ok()?;
    Some((cart, settlement))
}

fn draft<'a>(
    request: SaleRequest,
    ctx: &'a Context,
    cart: &PricedCart,
    settlement: &ringup_core::checkout::payment::Settlement,
) -> Result<SaleDraft<'a>, ApiError> {
    let overflow = || ApiError::validation("lines", "amounts are too large");
    let tenders = request.tenders();
    let mut lines = Vec::new();
    for (line, priced) in request.lines.iter().flatten().zip(&cart.lines) {
        let product = ctx.products.get(&line.product_id).ok_or_else(overflow)?;
        lines.push(SaleLineRow {
            id: ringup_core::ids::SaleLineId::new(),
            product_id: product.id,
            sku: product.sku.clone(),
            name: product.name.clone(),
            quantity: line.quantity,
            unit_price: line.unit_price.unwrap_or(product.price),
            discount: priced.discount,
            net: priced.net,
            tax: priced.tax,
            total: priced.total,
            tax_rate_bp: priced.tax_rate_bp,
            tax_class_id: priced.tax_class_id,
            returned_quantity: 0,
            low_stock_threshold: product.low_stock_threshold,
        });
    }
    Ok(SaleDraft {
        id: SaleId::new(),
        store_id: ctx.store.id,
        store_code: &ctx.store.code,
        allow_negative: ctx.store.allow_negative_stock,
        register_id: ctx.shift.register_id,
        shift_id: ctx.shift.id,
        cashier_id: ctx.cashier_id,
        customer_id: request.customer_id,
        subtotal: cart.subtotal,
        discount_total: cart.discount_total,
        net_total: cart.net_total,
        tax_total: cart.tax_total,
        total: cart.total,
        paid: settlement.paid,
        change: settlement.change,
        commission: commission(cart.net_total, ctx.commission_rate_bp).ok_or_else(overflow)?,
        note: request.note,
        lines,
        payments: request.payments,
        shift_delta: ShiftTotals::sale(cart, settlement, &tenders).ok_or_else(overflow)?,
    })
}

/// Ring up a sale.
#[utoipa::path(post, path = "/api/v1/sales", tag = "checkout", request_body = NewSale,
    params(("Idempotency-Key" = String, Header, description = "Required")),
    security(("bearer" = [])),
    responses((status = 201, body = SaleView), (status = 403),
        (status = 409, description = "Shift closed, or not enough stock"), (status = 422)))]
pub async fn create_sale(
    State(state): State<AppState>,
    principal: Principal,
    meta: RequestMeta,
    key: IdempotencyKey,
    HashedJson { value: body, hash }: HashedJson<NewSale>,
) -> Result<Response, ApiError> {
    principal.require(Capability::Sell)?;
    let mut errors = Vec::new();
    if let Err(ApiError::Validation(mut e)) = key.required() {
        errors.append(&mut e);
    }
    let request = parse_sale(&body, &mut errors);
    if request.overrides_price() && !principal.can(Capability::SuperviseSales) {
        return Err(ApiError::Forbidden);
    }
    let ctx = load_context(&state, &principal, &request, &mut errors).await?;
    let priced = match &ctx {
        Some(ctx) if errors.is_empty() => price(&request, ctx, &mut errors),
        _ => None,
    };

    let at = state.auth.clock.now();
    let now = ringup_store::time::to_db(at);
    let mut tx = state.db.begin_write().await?;
    // A replay answers before anything is checked again: the original answer stands.
    if let Started::Answered(replayed) =
        idempotency::start(&mut tx, &principal, &key, &hash, at).await?
    {
        return Ok(replayed);
    }
    let (Some(ctx), Some((cart, settlement)), true) = (&ctx, priced, errors.is_empty()) else {
        return Err(ApiError::Validation(errors));
    };
    if !may_sell_on(&principal, &ctx.shift) {
        return Err(ApiError::Forbidden);
    }
    if !ctx.shift.open {
        return Err(shift_closed());
    }
    let draft = draft(request, ctx, &cart, &settlement)?;
    let sale = match sales::record_sale(&mut tx, draft, &now).await? {
        Ok(sale) => sale,
        Err(SaleRefusal::Shift(refusal)) => return Err(shift_refused(refusal, "payments")),
        Err(SaleRefusal::Short(short)) => {
            return Err(insufficient(
                short
                    .into_iter()
                    .map(|(i, s)| (format!("lines[{i}].quantity"), s))
                    .collect(),
            ));
        }
    };
    let view = SaleView::from(&sale);
    let payload = serde_json::to_value(&view).map_err(ApiError::internal)?;
    outbox::append(&mut tx, "sale.completed", &payload, &now).await?;
    let mut event = state
        .auth
        .event(&meta, "sale.completed")
        .by(principal.actor_id())
        .on("sale", sale.id)
        .with(serde_json::json!({
            "number": sale.number, "total": sale.total, "shift_id": sale.shift_id.to_string(),
        }));
    event.store_id = Some(sale.store_id);
    audit::append(&mut tx, &event).await?;
    let response =
        idempotency::finish(&mut tx, &principal, &key, StatusCode::CREATED, &view, at).await?;
    ringup_store::commit(tx).await?;
    Ok(response)
}

#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SaleQuery {
    pub store_id: Option<String>,
    pub register_id: Option<String>,
    pub shift_id: Option<String>,
    pub cashier_id: Option<String>,
    pub customer_id: Option<String>,
    /// RFC 3339; sales at or after.
    pub from: Option<String>,
    /// RFC 3339; sales before.
    pub to: Option<String>,
}

/// Parses the sale filters; `stores` limited to what the caller sees.
pub(crate) fn sale_filter(
    principal: &Principal,
    query: &SaleQuery,
    errors: &mut Vec<FieldError>,
) -> SaleFilter {
    let store = parse_query_id(
        "store_id",
        query.store_id.as_deref(),
        StoreId::parse,
        errors,
    );
    if store.is_some_and(|s| !principal.sees_store(s)) {
        errors.push(FieldError::new("store_id", "is not a store you can see"));
    }
    SaleFilter {
        stores: match store {
            Some(s) => Some(vec![s]),
            None => principal.store_scope().map(<[_]>::to_vec),
        },
        register_id: parse_query_id(
            "register_id",
            query.register_id.as_deref(),
            RegisterId::parse,
            errors,
        ),
        shift_id: parse_query_id(
            "shift_id",
            query.shift_id.as_deref(),
            ShiftId::parse,
            errors,
        ),
        cashier_id: parse_query_id(
            "cashier_id",
            query.cashier_id.as_deref(),
            UserId::parse,
            errors,
        ),
        customer_id: parse_query_id(
            "customer_id",
            query.customer_id.as_deref(),
            CustomerId::parse,
            errors,
        ),
        from: parse_time("from", query.from.as_deref(), errors),
        to: parse_time("to", query.to.as_deref(), errors),
    }
}

/// Sales of the caller's stores, oldest first.
#[utoipa::path(get, path = "/api/v1/sales", tag = "checkout", params(SaleQuery, ListQuery),
    security(("bearer" = [])),
    responses((status = 200, body = PageView<SaleView>), (status = 403), (status = 422)))]
pub async fn list_sales(
    State(state): State<AppState>,
    principal: Principal,
    ApiQuery(query): ApiQuery<SaleQuery>,
    ApiQuery(page): ApiQuery<ListQuery>,
) -> Result<ApiJson<PageView<SaleView>>, ApiError> {
    principal.require(Capability::Sell)?;
    let mut errors = Vec::new();
    let (limit, after) = page.parse_collecting(&mut errors)?;
    let filter = sale_filter(&principal, &query, &mut errors);
    if !errors.is_empty() {
        return Err(ApiError::Validation(errors));
    }
    let page = sales::list_sales(&state.db, &filter, after.as_ref(), limit).await?;
    Ok(ApiJson(PageView {
        items: page.items.iter().map(SaleView::from).collect(),
        next_cursor: page.next_cursor,
    }))
}

/// A sale the caller may see (404 otherwise).
pub(crate) async fn visible_sale(
    state: &AppState,
    principal: &Principal,
    id: &str,
) -> Result<SaleRow, ApiError> {
    principal.require(Capability::Sell)?;
    let id = SaleId::parse(id).map_err(|_| ApiError::NotFound)?;
    let mut conn = state.db.read_conn().await?;
    let sale = sales::find_sale(&mut conn, id)
        .await?
        .ok_or(ApiError::NotFound)?;
    if !principal.sees_store(sale.store_id) {
        return Err(ApiError::NotFound);
    }
    Ok(sale)
}

/// One sale.
#[utoipa::path(get, path = "/api/v1/sales/{id}", tag = "checkout",
    params(("id" = String, Path, description = "Sale id")), security(("bearer" = [])),
    responses((status = 200, body = SaleView), (status = 403), (status = 404)))]
pub async fn get_sale(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
) -> Result<ApiJson<SaleView>, ApiError> {
    let sale = visible_sale(&state, &principal, &id).await?;
    Ok(ApiJson(SaleView::from(&sale)))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct VoidBody {
    pub reason: String,
}

/// Void a sale while its shift is open (admins and managers): stock goes back.
#[utoipa::path(post, path = "/api/v1/sales/{id}/void", tag = "checkout",
    request_body = VoidBody, params(("id" = String, Path, description = "Sale id")),
    security(("bearer" = [])),
    responses((status = 200, body = SaleView), (status = 403), (status = 404),
        (status = 409, description = "Already voided, returned, or the shift is closed"),
        (status = 422)))]
pub async fn void_sale(
    State(state): State<AppState>,
    principal: Principal,
    meta: RequestMeta,
    Path(id): Path<String>,
    key: IdempotencyKey,
    HashedJson { value: body, hash }: HashedJson<VoidBody>,
) -> Result<Response, ApiError> {
    let sale = visible_sale(&state, &principal, &id).await?;
    principal.require(Capability::SuperviseSales)?;
    let mut errors = Vec::new();
    let reason = required_text("reason", &body.reason, 500, &mut errors);
    let store = stores::find_store(&mut *state.db.read_conn().await?, sale.store_id)
        .await?
        .ok_or(ApiError::NotFound)?;
    let at = state.auth.clock.now();
    let now = ringup_store::time::to_db(at);
    let mut tx = state.db.begin_write().await?;
    if let Started::Answered(replayed) =
        idempotency::start(&mut tx, &principal, &key, &hash, at).await?
    {
        return Ok(replayed);
    }
    let Some(reason) = reason else {
        return Err(ApiError::Validation(errors));
    };
    let actor = principal.actor_id();
    let conflict = |detail: &str| ApiError::Conflict {
        kind: ProblemType::SaleNotVoidable,
        detail: detail.to_owned(),
        errors: vec![],
    };
    let voided = match sales::void_sale(
        &mut tx,
        &sale,
        store.allow_negative_stock,
        &actor,
        &reason,
        &now,
    )
    .await?
    {
        Ok(voided) => voided,
        Err(VoidRefusal::AlreadyVoided) => return Err(conflict("the sale is already voided")),
        Err(VoidRefusal::HasReturns) => {
            return Err(conflict("a sale with returns cannot be voided"));
        }
        Err(VoidRefusal::Shift(refusal)) => return Err(shift_refused(refusal, "id")),
    };
    let view = SaleView::from(&voided);
    let payload = serde_json::to_value(&view).map_err(ApiError::internal)?;
    outbox::append(&mut tx, "sale.voided", &payload, &now).await?;
    let mut event = state
        .auth
        .event(&meta, "sale.voided")
        .by(&actor)
        .on("sale", voided.id)
        .with(serde_json::json!({
            "number": voided.number, "total": voided.total, "reason": reason,
        }));
    event.store_id = Some(voided.store_id);
    audit::append(&mut tx, &event).await?;
    let response =
        idempotency::finish(&mut tx, &principal, &key, StatusCode::OK, &view, at).await?;
    ringup_store::commit(tx).await?;
    Ok(response)
}

//! Sales over HTTP: ring up, read, void (docs/API.md "Checkout"). The handlers parse and
//! authorize; ringing up and voiding are `ringup_app::checkout::sales`, which owns the
//! transaction.

pub mod body;
pub mod receipt;
pub mod view;

use axum::extract::{Path, State};
use axum::response::Response;
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use ringup_app::Capability;
use ringup_app::checkout::sales as app;
use ringup_app::write::{Shown, ViewError};
use ringup_core::ids::{CustomerId, RegisterId, SaleId, ShiftId, StoreId, UserId};
use ringup_store::checkout::sales::{self, SaleFilter, SaleRow};

use crate::auth::principal::Principal;
use crate::http::context::RequestMeta;
use crate::http::error::{ApiError, FieldError};
use crate::http::idempotency::{self, HashedJson, IdempotencyKey};
use crate::http::json::ApiJson;
use crate::http::pagination::{ListQuery, PageView};
use crate::http::query::ApiQuery;
use crate::http::validation::{parse_query_id, parse_time, required_text};
use crate::state::AppState;
use body::{NewSale, parse_sale};
use view::SaleView;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create_sale, list_sales))
        .routes(routes!(get_sale))
        .routes(routes!(void_sale))
        .routes(routes!(receipt::get_receipt))
        .routes(routes!(receipt::email_receipt))
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
    // Overriding a price is a supervisor's right, whether or not the price is valid.
    if body.lines.iter().any(|l| l.unit_price.is_some())
        && !principal.can(Capability::SuperviseSales)
    {
        return Err(ApiError::Forbidden);
    }
    let sale = parse_sale(&body, errors);
    let request = state.write_request(&principal, &meta, key.with_hash(&hash));
    let written = app::create_sale(&state.db, request, sale, sale_view).await?;
    Ok(idempotency::respond(written))
}

/// How a sale shows to clients and in its events.
pub fn sale_view(sale: &SaleRow) -> Result<Shown, ViewError> {
    Shown::json(&SaleView::from(sale))
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
    let mut problems = Vec::new();
    let reason = required_text("reason", &body.reason, 500, &mut problems);
    let request = state.write_request(&principal, &meta, key.with_hash(&hash));
    let void = app::VoidSale {
        sale,
        reason,
        problems,
    };
    let written = app::void_sale(&state.db, request, void, sale_view).await?;
    Ok(idempotency::respond(written))
}

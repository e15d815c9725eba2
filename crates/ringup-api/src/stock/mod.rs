//! Stock over HTTP: a store's levels, hand adjustments, and the movement ledger.
//!
//! Everyone who sees a store reads its stock. Adjustments need an `Idempotency-Key`; admins
//! and the store's managers may record any reason, its employees only `receiving` and
//! `count`, cashiers none (docs/API.md "Roles"). A decrease that would take `available` below zero
//! in a store without negative stock is 409 and writes nothing. The handlers parse and check
//! the caller's role; the writes are `ringup_app::stock`, which owns their transactions.

pub mod reservations;
pub mod transfers;

use axum::extract::{Path, State};
use axum::response::Response;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use ringup_app::stock::{self as app, LinesRequest};
use ringup_app::write::{Shown, ViewError};
use ringup_core::ids::{ProductId, StoreId};
use ringup_core::stock::{AdjustmentReason, AdjustmentRequest, MovementKind};
use ringup_core::users::Role;
use ringup_store::stock;
use ringup_store::stock::transfers::Line;
use ringup_store::stock::{LevelFilter, LevelRow, Moved, MovementFilter, MovementRow};

use crate::auth::principal::Principal;
use crate::catalog::stores::visible_store;
use crate::http::context::RequestMeta;
use crate::http::error::{ApiError, FieldError};
use crate::http::idempotency::{self, HashedJson, IdempotencyKey};
use crate::http::json::ApiJson;
use crate::http::pagination::{ListQuery, PageView};
use crate::http::query::ApiQuery;
use crate::http::validation::{optional_text, parse_flag, parse_query_id, parse_time};
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_stock))
        .routes(routes!(adjust_stock))
        .routes(routes!(list_movements))
}

/// One product's stock in a store.
#[derive(Serialize, ToSchema)]
pub struct StockLevelView {
    pub product_id: String,
    pub on_hand: i64,
    /// Units held by live reservations.
    pub reserved: i64,
    /// `on_hand − reserved`.
    pub available: i64,
    pub low_stock_threshold: i64,
}

impl From<LevelRow> for StockLevelView {
    fn from(row: LevelRow) -> Self {
        StockLevelView {
            product_id: row.product_id.to_string(),
            on_hand: row.on_hand,
            reserved: row.reserved,
            available: row.available(),
            low_stock_threshold: row.low_stock_threshold,
        }
    }
}

#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct StockQuery {
    /// Only this product.
    pub product_id: Option<String>,
    /// `true`: only products whose `available` is at or below their low-stock threshold.
    pub below_threshold: Option<String>,
}

/// The stock of a store: one item per product that has ever had stock there.
#[utoipa::path(get, path = "/api/v1/stores/{id}/stock", tag = "stock",
    params(("id" = String, Path, description = "Store id"), StockQuery, ListQuery),
    security(("bearer" = [])),
    responses((status = 200, body = PageView<StockLevelView>), (status = 404), (status = 422)))]
pub async fn list_stock(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
    ApiQuery(query): ApiQuery<StockQuery>,
    ApiQuery(page): ApiQuery<ListQuery>,
) -> Result<ApiJson<PageView<StockLevelView>>, ApiError> {
    let store = visible_store(&state, &principal, &id).await?;
    let mut errors = Vec::new();
    let (limit, after) = page.parse_collecting(&mut errors)?;
    let product_id = parse_query_id(
        "product_id",
        query.product_id.as_deref(),
        ProductId::parse,
        &mut errors,
    );
    let below = parse_flag(
        "below_threshold",
        query.below_threshold.as_deref(),
        &mut errors,
    );
    if !errors.is_empty() {
        return Err(ApiError::Validation(errors));
    }
    let filter = LevelFilter {
        product_id,
        below_threshold: below.unwrap_or(false),
    };
    let now = state.auth.clock.now();
    let page = stock::list_levels(&state.db, store.id, filter, now, after.as_ref(), limit).await?;
    Ok(ApiJson(PageView {
        items: page.items.into_iter().map(StockLevelView::from).collect(),
        next_cursor: page.next_cursor,
    }))
}

/// One entry of the stock ledger.
#[derive(Clone, Serialize, ToSchema)]
pub struct MovementView {
    pub id: String,
    pub store_id: String,
    pub product_id: String,
    /// Units added (positive) or removed (negative).
    pub delta: i64,
    /// `receiving`, `count`, `damage`, `theft`, `correction`, `sale`, `void`, `return`,
    /// `transfer_out` or `transfer_in`.
    pub kind: String,
    /// What caused it: `adjustment`, `transfer`, `sale`, …
    pub ref_type: Option<String>,
    pub ref_id: Option<String>,
    pub actor_id: Option<String>,
    pub note: Option<String>,
    pub created_at: String,
}

impl From<MovementRow> for MovementView {
    fn from(row: MovementRow) -> Self {
        MovementView {
            id: row.id.to_string(),
            store_id: row.store_id.to_string(),
            product_id: row.product_id.to_string(),
            delta: row.delta,
            kind: row.kind.as_str().to_owned(),
            ref_type: row.ref_type,
            ref_id: row.ref_id,
            actor_id: row.actor_id,
            note: row.note,
            created_at: row.created_at,
        }
    }
}

/// The movement an adjustment recorded, with the level after it.
#[derive(Serialize, ToSchema)]
pub struct AdjustmentView {
    #[serde(flatten)]
    pub movement: MovementView,
    pub on_hand: i64,
    pub available: i64,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewAdjustment {
    pub product_id: String,
    /// Units to add (positive) or remove (negative); not for `count`.
    #[serde(default)]
    pub delta: Option<i64>,
    /// `receiving` (delta > 0), `count`, `damage` and `theft` (delta < 0), `correction`.
    #[schema(value_type = String)]
    pub reason: AdjustmentReason,
    /// For `count` only: the units counted; the difference to `on_hand` is recorded.
    #[serde(default)]
    pub counted: Option<i64>,
    #[serde(default)]
    pub note: Option<String>,
}

/// Record a stock adjustment in a store.
#[utoipa::path(post, path = "/api/v1/stores/{id}/stock/adjustments", tag = "stock",
    request_body = NewAdjustment, security(("bearer" = [])),
    params(("id" = String, Path, description = "Store id"),
        ("Idempotency-Key" = String, Header, description = "Required")),
    responses((status = 201, body = AdjustmentView), (status = 403), (status = 404),
        (status = 409, description = "Not enough stock available"), (status = 422)))]
pub async fn adjust_stock(
    State(state): State<AppState>,
    principal: Principal,
    meta: RequestMeta,
    Path(id): Path<String>,
    key: IdempotencyKey,
    HashedJson { value: body, hash }: HashedJson<NewAdjustment>,
) -> Result<Response, ApiError> {
    let store = visible_store(&state, &principal, &id).await?;
    if principal.role == Role::Cashier || !body.reason.allowed_for(principal.role) {
        return Err(ApiError::Forbidden);
    }
    let mut problems = Vec::new();
    if let Err(ApiError::Validation(mut e)) = key.required() {
        problems.append(&mut e);
    }
    let product_id = ProductId::parse(&body.product_id)
        .map_err(|_| problems.push(FieldError::new("product_id", "is not a known product")))
        .ok();
    let change = AdjustmentRequest::new(body.reason, body.delta, body.counted)
        .map_err(|e| {
            for (field, error) in e {
                problems.push(FieldError::new(field, error.to_string()));
            }
        })
        .ok();
    let note = optional_text("note", body.note.as_deref(), 500, &mut problems);
    let adjustment = app::adjustments::NewAdjustment {
        store,
        product_id,
        change,
        note,
        problems,
    };
    let request = state.write_request(&principal, &meta, key.with_hash(&hash));
    let written =
        app::adjustments::adjust_stock(&state.db, request, adjustment, adjustment_view).await?;
    Ok(idempotency::respond(written))
}

/// How an adjustment shows to clients: its movement and the level after it.
pub fn adjustment_view(moved: &Moved) -> Result<Shown, ViewError> {
    Shown::json(&AdjustmentView {
        on_hand: moved.after.on_hand,
        available: moved.after.available(),
        movement: MovementView::from(moved.movement.clone()),
    })
}

#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct MovementQuery {
    pub store_id: Option<String>,
    pub product_id: Option<String>,
    /// One of the movement kinds.
    pub kind: Option<String>,
    /// RFC 3339; movements at or after.
    pub from: Option<String>,
    /// RFC 3339; movements before.
    pub to: Option<String>,
}

/// The stock ledger, oldest first; non-admins see their stores' movements only.
#[utoipa::path(get, path = "/api/v1/stock-movements", tag = "stock",
    params(MovementQuery, ListQuery), security(("bearer" = [])),
    responses((status = 200, body = PageView<MovementView>), (status = 422)))]
pub async fn list_movements(
    State(state): State<AppState>,
    principal: Principal,
    ApiQuery(query): ApiQuery<MovementQuery>,
    ApiQuery(page): ApiQuery<ListQuery>,
) -> Result<ApiJson<PageView<MovementView>>, ApiError> {
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
    let product_id = parse_query_id(
        "product_id",
        query.product_id.as_deref(),
        ProductId::parse,
        &mut errors,
    );
    let kind = query.kind.as_deref().and_then(|k| {
        MovementKind::parse(k)
            .ok_or_else(|| errors.push(FieldError::new("kind", "is not a movement kind")))
            .ok()
    });
    let from = parse_time("from", query.from.as_deref(), &mut errors);
    let to = parse_time("to", query.to.as_deref(), &mut errors);
    if !errors.is_empty() {
        return Err(ApiError::Validation(errors));
    }
    let stores = match store {
        Some(s) => Some(vec![s]),
        None => principal.store_scope().map(<[_]>::to_vec),
    };
    let filter = MovementFilter {
        stores,
        product_id,
        kind,
        from,
        to,
    };
    let page = stock::list_movements(&state.db, &filter, after.as_ref(), limit).await?;
    Ok(ApiJson(PageView {
        items: page.items.into_iter().map(MovementView::from).collect(),
        next_cursor: page.next_cursor,
    }))
}

/// A line of a transfer or reservation as clients send it.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LineBody {
    pub product_id: String,
    pub quantity: i64,
}

#[derive(Serialize, ToSchema)]
pub struct LineView {
    pub product_id: String,
    pub quantity: i64,
}

impl From<&Line> for LineView {
    fn from(line: &Line) -> Self {
        LineView {
            product_id: line.product_id.to_string(),
            quantity: line.quantity,
        }
    }
}

/// Validates 1–100 lines without repeated products; the use case checks that the products
/// exist. Errors name `lines[i].product_id` / `lines[i].quantity`.
pub(crate) fn parse_lines(lines: &[LineBody], errors: &mut Vec<FieldError>) -> LinesRequest {
    if lines.is_empty() || lines.len() > 100 {
        errors.push(FieldError::new("lines", "must have 1 to 100 lines"));
    }
    let mut parsed = LinesRequest::default();
    for (i, line) in lines.iter().enumerate() {
        let product = ProductId::parse(&line.product_id)
            .map_err(|_| {
                errors.push(FieldError::new(
                    format!("lines[{i}].product_id"),
                    "is not a known product",
                ));
            })
            .ok();
        if let Some(p) = product {
            if parsed.lines.iter().any(|l: &Line| l.product_id == p) {
                errors.push(FieldError::new(
                    format!("lines[{i}].product_id"),
                    "appears on an earlier line",
                ));
            }
            parsed.products.push((i, p));
        }
        let quantity = ringup_core::catalog::Quantity::new(line.quantity)
            .map_err(|e| {
                errors.push(FieldError::new(
                    format!("lines[{i}].quantity"),
                    e.to_string(),
                ))
            })
            .ok();
        if let (Some(product_id), Some(quantity)) = (product, quantity) {
            parsed.lines.push(Line {
                product_id,
                quantity: quantity.value(),
            });
        }
    }
    parsed
}

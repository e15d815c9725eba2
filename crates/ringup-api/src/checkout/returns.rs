//! Returns over HTTP: goods back against the lines of an earlier sale, refunds out. The
//! handler parses; the rules and the transaction are `ringup_app::checkout::returns`.

use std::collections::HashSet;

use axum::extract::{Path, State};
use axum::response::Response;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use ringup_app::Capability;
use ringup_app::checkout::returns::{self as app, ReturnLine};
use ringup_app::write::{Shown, ViewError};
use ringup_core::catalog::Quantity;
use ringup_core::ids::{RegisterId, ReturnId, SaleId, SaleLineId, ShiftId, StoreId};
use ringup_store::checkout::returns::{self, ReturnFilter, ReturnRow};

use crate::auth::principal::Principal;
use crate::checkout::sales::body::{PaymentBody, parse_payments};
use crate::checkout::sales::view::PaymentView;
use crate::http::context::RequestMeta;
use crate::http::error::{ApiError, FieldError};
use crate::http::idempotency::{self, HashedJson, IdempotencyKey};
use crate::http::json::ApiJson;
use crate::http::pagination::{ListQuery, PageView};
use crate::http::query::ApiQuery;
use crate::http::validation::{optional_text, parse_query_id};
use crate::state::AppState;

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

fn parse_lines(lines: &[ReturnLineBody], errors: &mut Vec<FieldError>) -> Vec<ReturnLine> {
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
        parsed.push(ReturnLine {
            sale_line_id: id,
            quantity,
            restock: line.restock,
        });
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
    let command = app::NewReturn {
        sale_id,
        register_id,
        lines,
        refunds,
        reason,
        problems: errors,
    };
    let request = state.write_request(&principal, &meta, key.with_hash(&hash));
    let written = app::create_return(&state.db, request, command, return_view).await?;
    Ok(idempotency::respond(written))
}

/// How a return shows to clients and in its events.
pub fn return_view(taken: &ReturnRow) -> Result<Shown, ViewError> {
    Shown::json(&ReturnView::from(taken))
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

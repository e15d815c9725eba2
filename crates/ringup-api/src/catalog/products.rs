//! `/api/v1/products`: the catalog. Everyone authenticated (API keys included) reads; admins
//! and managers create, change and archive. SKUs are unique ignoring case and barcodes exactly
//! as sent (409 naming the field). DELETE archives (`active=false`): sales history keeps the
//! product. A product read carries a strong `ETag`; `If-None-Match` with it answers 304.

use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Deserializer, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use ringup_app::catalog::products::{self as app, UNKNOWN_CATEGORY, UNKNOWN_TAX_CLASS};
use ringup_app::write::{Shown, ViewError};
use ringup_core::catalog::{Barcode, LowStockThreshold, Money, Sku};
use ringup_core::ids::{CategoryId, ProductId, TaxClassId};
use ringup_core::tokens::hash_token;
use ringup_store::catalog::products::{self, ProductFilter, ProductRow};

use crate::auth::principal::Principal;
use crate::http::context::RequestMeta;
use crate::http::error::{ApiError, FieldError};
use crate::http::idempotency::{self, HashedJson, IdempotencyKey};
use crate::http::json::ApiJson;
use crate::http::pagination::{ListQuery, PageView};
use crate::http::query::ApiQuery;
use crate::http::validation::{collect, display_name, parse_flag};
use crate::state::AppState;
use ringup_app::Capability;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_products, create_product))
        .routes(routes!(get_product, update_product, archive_product))
}

#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct ProductView {
    pub id: String,
    pub sku: String,
    /// Exactly as sent (a UPC-A stays 12 digits); null when the product has none.
    pub barcode: Option<String>,
    pub name: String,
    pub category_id: Option<String>,
    /// Minor units of the store's currency.
    pub price: i64,
    pub cost: i64,
    pub tax_class_id: String,
    pub low_stock_threshold: i64,
    pub active: bool,
    pub created_at: String,
    pub updated_at: String,
}

impl From<ProductRow> for ProductView {
    fn from(row: ProductRow) -> Self {
        ProductView {
            id: row.id.to_string(),
            sku: row.sku,
            barcode: row.barcode,
            name: row.name,
            category_id: row.category_id.map(|c| c.to_string()),
            price: row.price,
            cost: row.cost,
            tax_class_id: row.tax_class_id.to_string(),
            low_stock_threshold: row.low_stock_threshold,
            active: row.active,
            created_at: row.created_at,
            updated_at: row.updated_at,
        }
    }
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewProduct {
    pub sku: String,
    /// EAN-13, EAN-8, UPC-A or GTIN-14 with a valid check digit.
    #[serde(default)]
    pub barcode: Option<String>,
    pub name: String,
    #[serde(default)]
    pub category_id: Option<String>,
    pub price: i64,
    pub cost: i64,
    pub tax_class_id: String,
    #[serde(default)]
    pub low_stock_threshold: i64,
}

fn parse_tax_class(raw: &str, errors: &mut Vec<FieldError>) -> Option<TaxClassId> {
    let id = TaxClassId::parse(raw).ok();
    if id.is_none() {
        errors.push(FieldError::new("tax_class_id", UNKNOWN_TAX_CLASS));
    }
    id
}

fn parse_category(raw: &str, errors: &mut Vec<FieldError>) -> Option<CategoryId> {
    let id = CategoryId::parse(raw).ok();
    if id.is_none() {
        errors.push(FieldError::new("category_id", UNKNOWN_CATEGORY));
    }
    id
}

/// Create a product (admins and managers).
#[utoipa::path(post, path = "/api/v1/products", tag = "products", request_body = NewProduct,
    security(("bearer" = [])),
    responses((status = 201, body = ProductView), (status = 403),
        (status = 409, description = "SKU or barcode taken"), (status = 422)))]
pub async fn create_product(
    State(state): State<AppState>,
    principal: Principal,
    meta: RequestMeta,
    key: IdempotencyKey,
    HashedJson { value: body, hash }: HashedJson<NewProduct>,
) -> Result<Response, ApiError> {
    principal.require(Capability::ManageCatalog)?;
    let mut errors = Vec::new();
    let sku = collect("sku", Sku::parse(&body.sku), &mut errors);
    let barcode = body
        .barcode
        .as_deref()
        .and_then(|b| collect("barcode", Barcode::parse(b), &mut errors));
    let name = display_name("name", &body.name, 200, &mut errors);
    let category = body
        .category_id
        .as_deref()
        .and_then(|c| parse_category(c, &mut errors));
    let price = collect("price", Money::new(body.price), &mut errors);
    let cost = collect("cost", Money::new(body.cost), &mut errors);
    let tax_class = parse_tax_class(&body.tax_class_id, &mut errors);
    let threshold = collect(
        "low_stock_threshold",
        LowStockThreshold::new(body.low_stock_threshold),
        &mut errors,
    );
    let product = app::NewProduct {
        sku,
        barcode,
        name,
        category_id: category,
        price,
        cost,
        tax_class_id: tax_class,
        low_stock_threshold: threshold,
        problems: errors,
    };
    let request = state.write_request(&principal, &meta, key.with_hash(&hash));
    let written = app::create_product(&state.db, request, product, product_view).await?;
    Ok(idempotency::respond(written))
}

/// How a product shows to clients.
pub fn product_view(product: &ProductRow) -> Result<Shown, ViewError> {
    Shown::json(&ProductView::from(product.clone()))
}

#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ProductFilters {
    /// A prefix of the name or of the SKU, ignoring case.
    pub q: Option<String>,
    /// A barcode, matched exactly.
    pub barcode: Option<String>,
    /// Only products in this category.
    pub category_id: Option<String>,
    /// `true` or `false`; without it, both.
    pub active: Option<String>,
}

/// Products, filtered, in creation order.
#[utoipa::path(get, path = "/api/v1/products", tag = "products", params(ListQuery, ProductFilters),
    security(("bearer" = [])),
    responses((status = 200, body = PageView<ProductView>), (status = 422)))]
pub async fn list_products(
    State(state): State<AppState>,
    _principal: Principal,
    ApiQuery(query): ApiQuery<ListQuery>,
    ApiQuery(filters): ApiQuery<ProductFilters>,
) -> Result<ApiJson<PageView<ProductView>>, ApiError> {
    let mut errors = Vec::new();
    let (limit, after) = query.parse_collecting(&mut errors)?;
    let q = filters.q.as_deref().map(str::trim);
    if q.is_some_and(|q| q.is_empty() || q.chars().count() > 200) {
        errors.push(FieldError::new("q", "must be 1 to 200 characters"));
    }
    let barcode = filters
        .barcode
        .as_deref()
        .and_then(|b| collect("barcode", Barcode::parse(b), &mut errors));
    let category = filters.category_id.as_deref().and_then(|c| {
        CategoryId::parse(c)
            .map_err(|_| errors.push(FieldError::new("category_id", "is not a category id")))
            .ok()
    });
    let active = parse_flag("active", filters.active.as_deref(), &mut errors);
    if !errors.is_empty() {
        return Err(ApiError::Validation(errors));
    }
    let filter = ProductFilter {
        q,
        barcode: barcode.as_ref().map(Barcode::as_str),
        category_id: category,
        active,
    };
    let page = products::list_products(&state.db, &filter, after.as_ref(), limit).await?;
    Ok(ApiJson(PageView {
        items: page.items.into_iter().map(ProductView::from).collect(),
        next_cursor: page.next_cursor,
    }))
}

/// The product in the path; 404 when the id is malformed or unknown.
async fn existing_product(state: &AppState, id: &str) -> Result<ProductRow, ApiError> {
    let id = ProductId::parse(id).map_err(|_| ApiError::NotFound)?;
    let mut conn = state.db.read_conn().await?;
    products::find_product(&mut conn, id)
        .await?
        .ok_or(ApiError::NotFound)
}

/// A strong validator of the representation: a hash of the JSON the client would get, so any
/// change to the product (even within one clock tick) changes it.
fn etag_of(view: &ProductView) -> Result<String, ApiError> {
    let body = serde_json::to_string(view).map_err(ApiError::internal)?;
    let hash = hash_token(&body);
    Ok(format!("\"{}\"", hash.get(..32).unwrap_or(&hash)))
}

/// Whether `If-None-Match` names this entity tag (weak comparison, as RFC 9110 asks) or is `*`.
fn none_match(headers: &HeaderMap, etag: &str) -> bool {
    headers
        .get_all(header::IF_NONE_MATCH)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .any(|tag| tag == "*" || tag.strip_prefix("W/").unwrap_or(tag) == etag)
}

fn with_etag(view: ProductView, etag: &str) -> Response {
    let mut response = ApiJson(view).into_response();
    if let Ok(value) = HeaderValue::from_str(etag) {
        response.headers_mut().insert(header::ETAG, value);
    }
    response
}

/// One product, archived or not, with its `ETag`; `If-None-Match` with it answers 304.
#[utoipa::path(get, path = "/api/v1/products/{id}", tag = "products", security(("bearer" = [])),
    params(("id" = String, Path, description = "Product id"),
        ("If-None-Match" = Option<String>, Header, description = "An ETag from an earlier read")),
    responses((status = 200, body = ProductView, headers(("ETag" = String))),
        (status = 304, description = "Unchanged since the ETag sent"), (status = 404)))]
pub async fn get_product(
    State(state): State<AppState>,
    _principal: Principal,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let view = ProductView::from(existing_product(&state, &id).await?);
    let etag = etag_of(&view)?;
    if none_match(&headers, &etag) {
        let mut response = StatusCode::NOT_MODIFIED.into_response();
        if let Ok(value) = HeaderValue::from_str(&etag) {
            response.headers_mut().insert(header::ETAG, value);
        }
        return Ok(response);
    }
    Ok(with_etag(view, &etag))
}

/// `Some(None)` for an explicit `null`, `None` for an absent field.
pub(crate) fn nullable<'de, D, T>(deserializer: D) -> Result<Option<Option<T>>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(deserializer).map(Some)
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProductPatch {
    pub name: Option<String>,
    /// `null` removes the product from its category.
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>)]
    pub category_id: Option<Option<String>>,
    pub price: Option<i64>,
    pub cost: Option<i64>,
    pub tax_class_id: Option<String>,
    pub low_stock_threshold: Option<i64>,
    /// `null` removes the barcode.
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>)]
    pub barcode: Option<Option<String>>,
    pub active: Option<bool>,
}

/// Change a product (admins and managers). The SKU never changes.
#[utoipa::path(patch, path = "/api/v1/products/{id}", tag = "products", request_body = ProductPatch,
    security(("bearer" = [])), params(("id" = String, Path, description = "Product id")),
    responses((status = 200, body = ProductView), (status = 403), (status = 404),
        (status = 409, description = "Barcode taken"), (status = 422)))]
pub async fn update_product(
    State(state): State<AppState>,
    principal: Principal,
    meta: RequestMeta,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<ProductPatch>,
) -> Result<Response, ApiError> {
    let current = existing_product(&state, &id).await?;
    principal.require(Capability::ManageCatalog)?;
    let mut errors = Vec::new();
    let name = body
        .name
        .as_deref()
        .and_then(|n| display_name("name", n, 200, &mut errors));
    let barcode = body.barcode.as_ref().map(|b| {
        b.as_deref()
            .and_then(|b| collect("barcode", Barcode::parse(b), &mut errors))
    });
    let category = body
        .category_id
        .as_ref()
        .map(|c| c.as_deref().and_then(|c| parse_category(c, &mut errors)));
    let price = body
        .price
        .and_then(|p| collect("price", Money::new(p), &mut errors));
    let cost = body
        .cost
        .and_then(|c| collect("cost", Money::new(c), &mut errors));
    let tax_class = body
        .tax_class_id
        .as_deref()
        .and_then(|t| parse_tax_class(t, &mut errors));
    let threshold = body.low_stock_threshold.and_then(|t| {
        collect(
            "low_stock_threshold",
            LowStockThreshold::new(t),
            &mut errors,
        )
    });
    let changes = app::ProductChanges {
        name,
        barcode,
        category_id: category,
        price,
        cost,
        tax_class_id: tax_class,
        low_stock_threshold: threshold,
        active: body.active,
        category_id_sent: body.category_id,
        tax_class_id_sent: body.tax_class_id,
        problems: errors,
    };
    let request = state.write_request(&principal, &meta, None);
    let written =
        app::update_product(&state.db, request, current.id, changes, product_view).await?;
    Ok(idempotency::respond(written))
}

/// Archive a product (admins and managers): it stays readable with `active=false`, and
/// history keeps it; a `product.updated` event carries it. Archiving an archived product
/// changes nothing.
#[utoipa::path(delete, path = "/api/v1/products/{id}", tag = "products", security(("bearer" = [])),
    params(("id" = String, Path, description = "Product id")),
    responses((status = 204), (status = 403), (status = 404)))]
pub async fn archive_product(
    State(state): State<AppState>,
    principal: Principal,
    meta: RequestMeta,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let current = existing_product(&state, &id).await?;
    principal.require(Capability::ManageCatalog)?;
    let request = state.write_request(&principal, &meta, None);
    app::archive_product(&state.db, request, &current, product_view).await?;
    Ok(StatusCode::NO_CONTENT)
}

//! `/api/v1/stores` and their registers. Admins create and change stores (store settings are
//! admin-only); everyone else sees only their own stores, and a store outside the caller's view
//! is answered 404. Admins and the store's managers add registers.

use axum::extract::{Path, State};
use axum::response::Response;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use ringup_app::catalog::stores as app;
use ringup_app::write::{Shown, ViewError};
use ringup_core::catalog::{CurrencyCode, StoreCode, TimeZone};
use ringup_core::checkout::customer::Country;
use ringup_core::ids::StoreId;
use ringup_store::catalog::stores::{self, RegisterRow, StoreRow};

use crate::auth::principal::Principal;
use crate::http::context::RequestMeta;
use crate::http::error::ApiError;
use crate::http::idempotency::{self, HashedJson, IdempotencyKey};
use crate::http::json::ApiJson;
use crate::http::pagination::{ListQuery, PageView};
use crate::http::query::ApiQuery;
use crate::http::validation::{collect, display_name};
use crate::state::AppState;
use ringup_app::Capability;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_stores, create_store))
        .routes(routes!(get_store, update_store))
        .routes(routes!(list_registers, create_register))
}

#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct StoreView {
    pub id: String,
    pub code: String,
    pub name: String,
    pub currency: String,
    pub timezone: String,
    pub prices_include_tax: bool,
    pub allow_negative_stock: bool,
    /// ISO 3166-1 alpha-2: national phone numbers of customers are read in this country.
    pub country: String,
    /// `HH:MM` in the store's time zone: when its daily summary mail goes out.
    pub daily_summary_at: String,
    pub created_at: String,
    pub updated_at: String,
}

impl From<StoreRow> for StoreView {
    fn from(row: StoreRow) -> Self {
        StoreView {
            id: row.id.to_string(),
            code: row.code,
            name: row.name,
            currency: row.currency,
            timezone: row.timezone,
            prices_include_tax: row.prices_include_tax,
            allow_negative_stock: row.allow_negative_stock,
            country: row.country,
            daily_summary_at: row.daily_summary_at,
            created_at: row.created_at,
            updated_at: row.updated_at,
        }
    }
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewStore {
    pub code: String,
    pub name: String,
    pub currency: String,
    pub timezone: String,
    #[serde(default = "yes")]
    pub prices_include_tax: bool,
    #[serde(default)]
    pub allow_negative_stock: bool,
    /// Upper-case ISO 3166-1 alpha-2 (default `KE`), a country with phone numbering data.
    #[serde(default)]
    pub country: Option<String>,
}

fn yes() -> bool {
    true
}

/// Create a store (admins).
#[utoipa::path(post, path = "/api/v1/stores", tag = "stores", request_body = NewStore,
    security(("bearer" = [])),
    responses((status = 201, body = StoreView), (status = 403), (status = 409, description = "Code taken"),
        (status = 422)))]
pub async fn create_store(
    State(state): State<AppState>,
    principal: Principal,
    meta: RequestMeta,
    key: IdempotencyKey,
    HashedJson { value: body, hash }: HashedJson<NewStore>,
) -> Result<Response, ApiError> {
    principal.require(Capability::ManageStores)?;
    let mut errors = Vec::new();
    let code = collect("code", StoreCode::parse(&body.code), &mut errors);
    let name = display_name("name", &body.name, 100, &mut errors);
    let currency = collect("currency", CurrencyCode::parse(&body.currency), &mut errors);
    let timezone = collect("timezone", TimeZone::parse(&body.timezone), &mut errors);
    let country = match body.country.as_deref() {
        None => Some(Country::default()),
        Some(c) => collect("country", Country::parse(c), &mut errors),
    };
    let (Some(code), Some(name), Some(currency), Some(timezone), Some(country), true) =
        (code, name, currency, timezone, country, errors.is_empty())
    else {
        return Err(ApiError::Validation(errors));
    };
    let store = app::NewStore {
        code,
        name,
        currency,
        timezone,
        prices_include_tax: body.prices_include_tax,
        allow_negative_stock: body.allow_negative_stock,
        country,
    };
    let request = state.write_request(&principal, &meta, key.with_hash(&hash));
    let written = app::create_store(&state.db, request, store, store_view).await?;
    Ok(idempotency::respond(written))
}

/// How a store shows to clients.
pub fn store_view(store: &StoreRow) -> Result<Shown, ViewError> {
    Shown::json(&StoreView::from(store.clone()))
}

/// Stores the caller may see (admins: all).
#[utoipa::path(get, path = "/api/v1/stores", tag = "stores", params(ListQuery),
    security(("bearer" = [])), responses((status = 200, body = PageView<StoreView>)))]
pub async fn list_stores(
    State(state): State<AppState>,
    principal: Principal,
    ApiQuery(query): ApiQuery<ListQuery>,
) -> Result<ApiJson<PageView<StoreView>>, ApiError> {
    let (limit, after) = query.parse()?;
    let page =
        stores::list_stores(&state.db, principal.store_scope(), after.as_ref(), limit).await?;
    Ok(ApiJson(PageView {
        items: page.items.into_iter().map(StoreView::from).collect(),
        next_cursor: page.next_cursor,
    }))
}

/// The store in the path, if the caller may see it; 404 otherwise.
pub(crate) async fn visible_store(
    state: &AppState,
    principal: &Principal,
    id: &str,
) -> Result<StoreRow, ApiError> {
    let id = StoreId::parse(id).map_err(|_| ApiError::NotFound)?;
    if !principal.sees_store(id) {
        return Err(ApiError::NotFound);
    }
    let mut conn = state.db.read_conn().await?;
    stores::find_store(&mut conn, id)
        .await?
        .ok_or(ApiError::NotFound)
}

/// One store.
#[utoipa::path(get, path = "/api/v1/stores/{id}", tag = "stores", security(("bearer" = [])),
    params(("id" = String, Path, description = "Store id")),
    responses((status = 200, body = StoreView), (status = 404)))]
pub async fn get_store(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
) -> Result<ApiJson<StoreView>, ApiError> {
    Ok(ApiJson(StoreView::from(
        visible_store(&state, &principal, &id).await?,
    )))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StorePatch {
    pub name: Option<String>,
    pub currency: Option<String>,
    pub timezone: Option<String>,
    pub prices_include_tax: Option<bool>,
    pub allow_negative_stock: Option<bool>,
    /// Upper-case ISO 3166-1 alpha-2, a country with phone numbering data.
    pub country: Option<String>,
    /// `HH:MM` (00:00 to 23:59) in the store's zone: when its daily summary mail goes out.
    pub daily_summary_at: Option<String>,
}

/// Change a store's settings (admins). The code never changes: it is in every receipt number.
#[utoipa::path(patch, path = "/api/v1/stores/{id}", tag = "stores", request_body = StorePatch,
    security(("bearer" = [])), params(("id" = String, Path, description = "Store id")),
    responses((status = 200, body = StoreView), (status = 403), (status = 404), (status = 422)))]
pub async fn update_store(
    State(state): State<AppState>,
    principal: Principal,
    meta: RequestMeta,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<StorePatch>,
) -> Result<Response, ApiError> {
    let current = visible_store(&state, &principal, &id).await?;
    principal.require(Capability::ManageStores)?;
    let mut errors = Vec::new();
    let name = body
        .name
        .as_deref()
        .and_then(|n| display_name("name", n, 100, &mut errors));
    let currency = body
        .currency
        .as_deref()
        .and_then(|c| collect("currency", CurrencyCode::parse(c), &mut errors));
    let timezone = body
        .timezone
        .as_deref()
        .and_then(|t| collect("timezone", TimeZone::parse(t), &mut errors));
    let country = body
        .country
        .as_deref()
        .and_then(|c| collect("country", Country::parse(c), &mut errors));
    let daily_summary_at = body.daily_summary_at.as_deref().and_then(|t| {
        collect(
            "daily_summary_at",
            ringup_core::mail::SummaryTime::parse(t),
            &mut errors,
        )
    });
    if !errors.is_empty() {
        return Err(ApiError::Validation(errors));
    }
    let changes = app::StoreChanges {
        name,
        currency,
        timezone,
        prices_include_tax: body.prices_include_tax,
        allow_negative_stock: body.allow_negative_stock,
        country,
        daily_summary_at,
        name_sent: body.name,
    };
    let request = state.write_request(&principal, &meta, None);
    let written = app::update_store(&state.db, request, current.id, changes, store_view).await?;
    Ok(idempotency::respond(written))
}

#[derive(Serialize, ToSchema)]
pub struct RegisterView {
    pub id: String,
    pub store_id: String,
    pub name: String,
    pub active: bool,
    pub created_at: String,
    pub updated_at: String,
}

impl From<RegisterRow> for RegisterView {
    fn from(row: RegisterRow) -> Self {
        RegisterView {
            id: row.id.to_string(),
            store_id: row.store_id.to_string(),
            name: row.name,
            active: row.active,
            created_at: row.created_at,
            updated_at: row.updated_at,
        }
    }
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewRegister {
    pub name: String,
}

/// A store's registers.
#[utoipa::path(get, path = "/api/v1/stores/{id}/registers", tag = "stores", params(ListQuery,
    ("id" = String, Path, description = "Store id")), security(("bearer" = [])),
    responses((status = 200, body = PageView<RegisterView>), (status = 404)))]
pub async fn list_registers(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
    ApiQuery(query): ApiQuery<ListQuery>,
) -> Result<ApiJson<PageView<RegisterView>>, ApiError> {
    let store = visible_store(&state, &principal, &id).await?;
    let (limit, after) = query.parse()?;
    let page = stores::list_registers(&state.db, store.id, after.as_ref(), limit).await?;
    Ok(ApiJson(PageView {
        items: page.items.into_iter().map(RegisterView::from).collect(),
        next_cursor: page.next_cursor,
    }))
}

/// Add a register to a store (admins and the store's managers).
#[utoipa::path(post, path = "/api/v1/stores/{id}/registers", tag = "stores", request_body = NewRegister,
    params(("id" = String, Path, description = "Store id")), security(("bearer" = [])),
    responses((status = 201, body = RegisterView), (status = 403), (status = 404),
        (status = 409, description = "Name taken in this store"), (status = 422)))]
pub async fn create_register(
    State(state): State<AppState>,
    principal: Principal,
    meta: RequestMeta,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<NewRegister>,
) -> Result<Response, ApiError> {
    let store = visible_store(&state, &principal, &id).await?;
    principal.require(Capability::ManageRegisters)?;
    let mut errors = Vec::new();
    let Some(name) = display_name("name", &body.name, 100, &mut errors) else {
        return Err(ApiError::Validation(errors));
    };
    let request = state.write_request(&principal, &meta, None);
    let written = app::create_register(&state.db, request, store.id, name, register_view).await?;
    Ok(idempotency::respond(written))
}

/// How a register shows to clients.
pub fn register_view(register: &RegisterRow) -> Result<Shown, ViewError> {
    Shown::json(&RegisterView::from(register.clone()))
}

//! `/api/v1/customers`: the chain's customers, shared by every store. Admins, managers and
//! cashiers read, create and change them; employees are refused (403) on every customer route.
//!
//! Phone numbers are stored in E.164. A national form (`0712 345 678`) is read in the country
//! of the `store_id` the request names (422 when the caller cannot see that store), else of the
//! caller's only store, else Kenya; a number is unique across customers (409). A customer's
//! sales are listed only where the caller may see them (their stores; admins all).
//!
//! The audit log is append-only and hash-chained, so it never holds a customer's name, phone or
//! e-mail: `customer.created` and `customer.updated` record which fields were set or changed.

use axum::extract::{Path, State};
use axum::response::Response;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use ringup_core::checkout::customer::{CustomerName, Phone};
use ringup_core::ids::CustomerId;
use ringup_core::users::Email;
use ringup_store::checkout::customers;
use ringup_store::checkout::customers::{CustomerRow, CustomerSaleRow, CustomerSearch};

use crate::auth::principal::Principal;
use crate::catalog::products::nullable;
use crate::http::context::RequestMeta;
use crate::http::error::{ApiError, FieldError};
use crate::http::idempotency::{self, HashedJson, IdempotencyKey};
use crate::http::json::ApiJson;
use crate::http::pagination::{ListQuery, PageView};
use crate::http::query::ApiQuery;
use crate::http::validation::collect;
use crate::state::AppState;
use ringup_app::Capability;
use ringup_app::checkout::customers as app;
use ringup_app::write::{Shown, ViewError};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_customers, create_customer))
        .routes(routes!(get_customer, update_customer))
        .routes(routes!(list_customer_sales))
}

#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct CustomerView {
    pub id: String,
    pub name: String,
    /// E.164 (`+254712345678`); null when the customer gave none.
    pub phone: Option<String>,
    pub email: Option<String>,
    pub created_at: String,
    pub updated_at: String,
}

impl From<CustomerRow> for CustomerView {
    fn from(row: CustomerRow) -> Self {
        CustomerView {
            id: row.id.to_string(),
            name: row.name,
            phone: row.phone,
            email: row.email,
            created_at: row.created_at,
            updated_at: row.updated_at,
        }
    }
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewCustomer {
    /// 1–200 characters after trimming.
    pub name: String,
    /// Any common written form; stored in E.164. National forms are read in the store's country.
    #[serde(default)]
    pub phone: Option<String>,
    #[serde(default)]
    pub email: Option<String>,
    /// The store whose country national phone numbers are read in (default: the caller's only
    /// store, else `KE`).
    #[serde(default)]
    pub store_id: Option<String>,
}

fn parse_email(raw: &str, errors: &mut Vec<FieldError>) -> Option<Email> {
    collect("email", Email::parse(raw), errors)
}

/// Register a customer (admins, managers, cashiers).
#[utoipa::path(post, path = "/api/v1/customers", tag = "customers", request_body = NewCustomer,
    security(("bearer" = [])),
    params(("Idempotency-Key" = Option<String>, Header, description = "Replays the first answer")),
    responses((status = 201, body = CustomerView), (status = 403),
        (status = 409, description = "Phone number taken"), (status = 422)))]
pub async fn create_customer(
    State(state): State<AppState>,
    principal: Principal,
    meta: RequestMeta,
    key: IdempotencyKey,
    HashedJson { value: body, hash }: HashedJson<NewCustomer>,
) -> Result<Response, ApiError> {
    principal.require(Capability::ManageCustomers)?;
    let mut problems = Vec::new();
    let name = collect("name", CustomerName::parse(&body.name), &mut problems);
    let email = body
        .email
        .as_deref()
        .and_then(|e| parse_email(e, &mut problems));
    let command = app::NewCustomer {
        name,
        phone: body.phone,
        email,
        store_id: body.store_id,
        problems,
    };
    let request = state.write_request(&principal, &meta, key.with_hash(&hash));
    let written = app::create_customer(&state.db, request, command, customer_view).await?;
    Ok(idempotency::respond(written))
}

fn customer_view(row: &CustomerRow) -> Result<Shown, ViewError> {
    Shown::json(&CustomerView::from(row.clone()))
}

#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct CustomerFilters {
    /// A prefix of the name (ignoring case), or a phone number in any common form (national
    /// forms read in the caller's only store's country, else `KE`).
    pub q: Option<String>,
}

/// Customers, optionally searched, in creation order.
#[utoipa::path(get, path = "/api/v1/customers", tag = "customers",
    params(ListQuery, CustomerFilters), security(("bearer" = [])),
    responses((status = 200, body = PageView<CustomerView>), (status = 403), (status = 422)))]
pub async fn list_customers(
    State(state): State<AppState>,
    principal: Principal,
    ApiQuery(query): ApiQuery<ListQuery>,
    ApiQuery(filters): ApiQuery<CustomerFilters>,
) -> Result<ApiJson<PageView<CustomerView>>, ApiError> {
    principal.require(Capability::ManageCustomers)?;
    let mut errors = Vec::new();
    let (limit, after) = query.parse_collecting(&mut errors)?;
    let q = filters.q.as_deref().map(str::trim);
    if q.is_some_and(|q| q.is_empty() || q.chars().count() > CustomerName::MAX_CHARS) {
        errors.push(FieldError::new("q", "must be 1 to 200 characters"));
    }
    if !errors.is_empty() {
        return Err(ApiError::Validation(errors));
    }
    let phone = match q {
        Some(q) if q.chars().any(|c| c.is_ascii_digit()) => {
            let mut conn = state.db.read_conn().await?;
            let (country, _) = app::phone_country(&mut conn, &principal, None, &mut errors).await?;
            Phone::recognize(q, &country)
        }
        _ => None,
    };
    let search = CustomerSearch {
        name_prefix: q,
        phone: phone.as_ref().map(Phone::as_str),
    };
    let page = customers::list_customers(&state.db, &search, after.as_ref(), limit).await?;
    Ok(ApiJson(PageView {
        items: page.items.into_iter().map(CustomerView::from).collect(),
        next_cursor: page.next_cursor,
    }))
}

/// The customer in the path; 404 when the id is malformed or unknown.
async fn existing_customer(state: &AppState, id: &str) -> Result<CustomerRow, ApiError> {
    let id = CustomerId::parse(id).map_err(|_| ApiError::NotFound)?;
    let mut conn = state.db.read_conn().await?;
    customers::find_customer(&mut conn, id)
        .await?
        .ok_or(ApiError::NotFound)
}

/// One customer.
#[utoipa::path(get, path = "/api/v1/customers/{id}", tag = "customers",
    security(("bearer" = [])), params(("id" = String, Path, description = "Customer id")),
    responses((status = 200, body = CustomerView), (status = 403), (status = 404)))]
pub async fn get_customer(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
) -> Result<ApiJson<CustomerView>, ApiError> {
    principal.require(Capability::ManageCustomers)?;
    Ok(ApiJson(CustomerView::from(
        existing_customer(&state, &id).await?,
    )))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CustomerPatch {
    pub name: Option<String>,
    /// `null` removes the phone number.
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>)]
    pub phone: Option<Option<String>>,
    /// `null` removes the e-mail address.
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>)]
    pub email: Option<Option<String>>,
    /// The store whose country a national phone number is read in, as on create.
    #[serde(default)]
    pub store_id: Option<String>,
}

/// Change a customer's name, phone or e-mail (admins, managers, cashiers).
#[utoipa::path(patch, path = "/api/v1/customers/{id}", tag = "customers",
    request_body = CustomerPatch, security(("bearer" = [])),
    params(("id" = String, Path, description = "Customer id")),
    responses((status = 200, body = CustomerView), (status = 403), (status = 404),
        (status = 409, description = "Phone number taken"), (status = 422)))]
pub async fn update_customer(
    State(state): State<AppState>,
    principal: Principal,
    meta: RequestMeta,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<CustomerPatch>,
) -> Result<Response, ApiError> {
    principal.require(Capability::ManageCustomers)?;
    let current = existing_customer(&state, &id).await?;
    let mut problems = Vec::new();
    let name = body
        .name
        .as_deref()
        .and_then(|n| collect("name", CustomerName::parse(n), &mut problems));
    let email = body
        .email
        .as_ref()
        .map(|e| e.as_deref().and_then(|e| parse_email(e, &mut problems)));
    let change = app::CustomerChange {
        id: current.id,
        name,
        phone: body.phone,
        email,
        store_id: body.store_id,
        problems,
    };
    let request = state.write_request(&principal, &meta, None);
    let written = app::update_customer(&state.db, request, change, customer_view).await?;
    Ok(idempotency::respond(written))
}

/// A sale in a customer's history.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct CustomerSaleView {
    pub id: String,
    /// `<STORE CODE>-000001`.
    pub number: String,
    pub store_id: String,
    /// `completed` or `voided`.
    pub status: String,
    /// Minor units of the store's currency.
    pub total: i64,
    pub created_at: String,
}

impl From<CustomerSaleRow> for CustomerSaleView {
    fn from(row: CustomerSaleRow) -> Self {
        CustomerSaleView {
            id: row.id.to_string(),
            number: row.number,
            store_id: row.store_id.to_string(),
            status: row.status,
            total: row.total,
            created_at: row.created_at,
        }
    }
}

/// A customer's sales in the caller's stores (admins: all), oldest first.
#[utoipa::path(get, path = "/api/v1/customers/{id}/sales", tag = "customers",
    security(("bearer" = [])),
    params(ListQuery, ("id" = String, Path, description = "Customer id")),
    responses((status = 200, body = PageView<CustomerSaleView>), (status = 403), (status = 404),
        (status = 422)))]
pub async fn list_customer_sales(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
    ApiQuery(query): ApiQuery<ListQuery>,
) -> Result<ApiJson<PageView<CustomerSaleView>>, ApiError> {
    principal.require(Capability::ManageCustomers)?;
    let customer = existing_customer(&state, &id).await?;
    let (limit, after) = query.parse()?;
    let page = customers::list_customer_sales(
        &state.db,
        customer.id,
        principal.store_scope(),
        after.as_ref(),
        limit,
    )
    .await?;
    Ok(ApiJson(PageView {
        items: page.items.into_iter().map(CustomerSaleView::from).collect(),
        next_cursor: page.next_cursor,
    }))
}

//! `/api/v1/tax-classes`: named rates in basis points. Every authenticated caller lists them
//! (tills need them to price a sale); admins and managers create them.

use axum::extract::State;
use axum::response::Response;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use ringup_app::catalog::tax_classes as app;
use ringup_app::write::{Shown, ViewError};
use ringup_core::rate::RateBp;
use ringup_store::catalog::tax_classes::{self, TaxClassRow};

use crate::auth::principal::Principal;
use crate::http::context::RequestMeta;
use crate::http::error::{ApiError, FieldError};
use crate::http::idempotency;
use crate::http::json::ApiJson;
use crate::http::pagination::{ListQuery, PageView};
use crate::http::query::ApiQuery;
use crate::http::validation::display_name;
use crate::state::AppState;
use ringup_app::Capability;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(list_tax_classes, create_tax_class))
}

#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct TaxClassView {
    pub id: String,
    pub name: String,
    /// Basis points, 0–10000 (`1600` = 16 %).
    pub rate_bp: i64,
    pub created_at: String,
    pub updated_at: String,
}

impl From<TaxClassRow> for TaxClassView {
    fn from(row: TaxClassRow) -> Self {
        TaxClassView {
            id: row.id.to_string(),
            name: row.name,
            rate_bp: row.rate_bp.value(),
            created_at: row.created_at,
            updated_at: row.updated_at,
        }
    }
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewTaxClass {
    pub name: String,
    /// Basis points, 0–10000.
    pub rate_bp: i64,
}

/// Create a tax class (admins and managers).
#[utoipa::path(post, path = "/api/v1/tax-classes", tag = "tax-classes", request_body = NewTaxClass,
    security(("bearer" = [])),
    responses((status = 201, body = TaxClassView), (status = 403),
        (status = 409, description = "Name taken"), (status = 422)))]
pub async fn create_tax_class(
    State(state): State<AppState>,
    principal: Principal,
    meta: RequestMeta,
    ApiJson(body): ApiJson<NewTaxClass>,
) -> Result<Response, ApiError> {
    principal.require(Capability::ManageCatalog)?;
    let mut errors = Vec::new();
    let name = display_name("name", &body.name, 100, &mut errors);
    let rate = RateBp::new(body.rate_bp)
        .map_err(|e| errors.push(FieldError::new("rate_bp", e.to_string())))
        .ok();
    let (Some(name), Some(rate), true) = (name, rate, errors.is_empty()) else {
        return Err(ApiError::Validation(errors));
    };
    let request = state.write_request(&principal, &meta, None);
    let written = app::create_tax_class(&state.db, request, name, rate, tax_class_view).await?;
    Ok(idempotency::respond(written))
}

/// How a tax class shows to clients.
pub fn tax_class_view(class: &TaxClassRow) -> Result<Shown, ViewError> {
    Shown::json(&TaxClassView::from(class.clone()))
}

/// Every tax class (any authenticated caller).
#[utoipa::path(get, path = "/api/v1/tax-classes", tag = "tax-classes", params(ListQuery),
    security(("bearer" = [])), responses((status = 200, body = PageView<TaxClassView>)))]
pub async fn list_tax_classes(
    State(state): State<AppState>,
    _principal: Principal,
    ApiQuery(query): ApiQuery<ListQuery>,
) -> Result<ApiJson<PageView<TaxClassView>>, ApiError> {
    let (limit, after) = query.parse()?;
    let page = tax_classes::list_tax_classes(&state.db, after.as_ref(), limit).await?;
    Ok(ApiJson(PageView {
        items: page.items.into_iter().map(TaxClassView::from).collect(),
        next_cursor: page.next_cursor,
    }))
}

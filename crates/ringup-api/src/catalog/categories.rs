//! `/api/v1/categories`: the product category tree. Every authenticated caller lists them;
//! admins and managers create them. A `parent_id` that names no category is 422 on that field.

use axum::extract::State;
use axum::response::Response;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use ringup_app::catalog::categories::{self as app, unknown_parent};
use ringup_app::write::{Shown, ViewError};
use ringup_core::ids::CategoryId;
use ringup_store::catalog::categories::{self, CategoryRow};

use crate::auth::principal::Principal;
use crate::http::context::RequestMeta;
use crate::http::error::ApiError;
use crate::http::idempotency;
use crate::http::json::ApiJson;
use crate::http::pagination::{ListQuery, PageView};
use crate::http::query::ApiQuery;
use crate::http::validation::display_name;
use crate::state::AppState;
use ringup_app::Capability;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(list_categories, create_category))
}

#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct CategoryView {
    pub id: String,
    pub name: String,
    pub parent_id: Option<String>,
    pub created_at: String,
    pub updated_at: String,
}

impl From<CategoryRow> for CategoryView {
    fn from(row: CategoryRow) -> Self {
        CategoryView {
            id: row.id.to_string(),
            name: row.name,
            parent_id: row.parent_id.map(|p| p.to_string()),
            created_at: row.created_at,
            updated_at: row.updated_at,
        }
    }
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewCategory {
    pub name: String,
    /// The parent category; absent or null for a top-level category.
    #[serde(default)]
    pub parent_id: Option<String>,
}

/// Create a category (admins and managers).
#[utoipa::path(post, path = "/api/v1/categories", tag = "categories", request_body = NewCategory,
    security(("bearer" = [])),
    responses((status = 201, body = CategoryView), (status = 403),
        (status = 422, description = "Invalid name or unknown parent_id")))]
pub async fn create_category(
    State(state): State<AppState>,
    principal: Principal,
    meta: RequestMeta,
    ApiJson(body): ApiJson<NewCategory>,
) -> Result<Response, ApiError> {
    principal.require(Capability::ManageCatalog)?;
    let mut errors = Vec::new();
    let name = display_name("name", &body.name, 100, &mut errors);
    let parent = match body.parent_id.as_deref() {
        None => None,
        Some(raw) => match CategoryId::parse(raw) {
            Ok(id) => Some(id),
            Err(_) => {
                errors.push(unknown_parent());
                None
            }
        },
    };
    let category = app::NewCategory {
        name,
        parent_id: parent,
        problems: errors,
    };
    let request = state.write_request(&principal, &meta, None);
    let written = app::create_category(&state.db, request, category, category_view).await?;
    Ok(idempotency::respond(written))
}

/// How a category shows to clients.
pub fn category_view(category: &CategoryRow) -> Result<Shown, ViewError> {
    Shown::json(&CategoryView::from(category.clone()))
}

/// Every category (any authenticated caller), in creation order.
#[utoipa::path(get, path = "/api/v1/categories", tag = "categories", params(ListQuery),
    security(("bearer" = [])), responses((status = 200, body = PageView<CategoryView>)))]
pub async fn list_categories(
    State(state): State<AppState>,
    _principal: Principal,
    ApiQuery(query): ApiQuery<ListQuery>,
) -> Result<ApiJson<PageView<CategoryView>>, ApiError> {
    let (limit, after) = query.parse()?;
    let page = categories::list_categories(&state.db, after.as_ref(), limit).await?;
    Ok(ApiJson(PageView {
        items: page.items.into_iter().map(CategoryView::from).collect(),
        next_cursor: page.next_cursor,
    }))
}

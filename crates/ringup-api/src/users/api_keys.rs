//! `/api/v1/api-keys`: admins issue keys for integrations. The key is shown once, in the
//! creation response; only its hash is kept. Revocation takes effect on the next request.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use ringup_app::users::api_keys::{self as app, IssuedApiKey};
use ringup_app::write::{Shown, ViewError};
use ringup_core::ids::ApiKeyId;
use ringup_core::users::Role;
use ringup_store::users::api_keys::{self, ApiKeyRow};

use crate::auth::api_key_rate::Tier;
use crate::auth::principal::Principal;
use crate::http::context::RequestMeta;
use crate::http::error::{ApiError, FieldError};
use crate::http::idempotency;
use crate::http::json::{ApiJson, no_store};
use crate::http::pagination::{ListQuery, PageView};
use crate::http::query::ApiQuery;
use crate::state::AppState;
use ringup_app::Capability;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_api_keys, create_api_key))
        .routes(routes!(revoke_api_key))
}

#[derive(Serialize, ToSchema)]
pub struct ApiKeyView {
    pub id: String,
    pub name: String,
    /// The first characters of the key, to recognise it.
    pub prefix: String,
    pub tier: String,
    pub role: String,
    pub store_ids: Vec<String>,
    pub last_used_at: Option<String>,
    pub revoked_at: Option<String>,
    pub created_at: String,
    /// The key itself: only in the response that creates it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
}

impl From<ApiKeyRow> for ApiKeyView {
    fn from(row: ApiKeyRow) -> Self {
        ApiKeyView {
            id: row.id.to_string(),
            name: row.name,
            prefix: row.key_prefix,
            tier: row.tier,
            role: row.role,
            store_ids: row.store_ids.iter().map(ToString::to_string).collect(),
            last_used_at: row.last_used_at,
            revoked_at: row.revoked_at,
            created_at: row.created_at,
            key: None,
        }
    }
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewApiKey {
    pub name: String,
    pub tier: String,
    pub role: String,
    #[serde(default)]
    pub store_ids: Vec<String>,
}

/// Issue an API key.
#[utoipa::path(post, path = "/api/v1/api-keys", tag = "api-keys", request_body = NewApiKey,
    security(("bearer" = [])),
    responses((status = 201, description = "Created; `key` is shown only now", body = ApiKeyView),
        (status = 403), (status = 422)))]
pub async fn create_api_key(
    State(state): State<AppState>,
    principal: Principal,
    meta: RequestMeta,
    ApiJson(body): ApiJson<NewApiKey>,
) -> Result<Response, ApiError> {
    principal.require(Capability::ManageApiKeys)?;
    let mut errors = Vec::new();
    let name = crate::http::validation::display_name("name", &body.name, 100, &mut errors);
    let tier = Tier::parse(&body.tier)
        .map_err(|_| {
            errors.push(FieldError::new(
                "tier",
                "must be one of free, basic, pro, enterprise",
            ));
        })
        .ok();
    let role = Role::parse(&body.role)
        .map_err(|e| errors.push(FieldError::new("role", e.to_string())))
        .ok();
    let store_ids = crate::users::parse_store_ids_for(&body.store_ids, &mut errors);
    let (Some(role), Some(name), Some(tier)) = (role.filter(|_| errors.is_empty()), name, tier)
    else {
        return Err(ApiError::Validation(errors));
    };
    let new = app::NewApiKey {
        name,
        tier: tier.as_str(),
        role,
        store_ids,
        store_ids_sent: body.store_ids,
    };
    let request = state.write_request(&principal, &meta, None);
    let written = app::create_api_key(&state.db, request, new, issued_view).await?;
    Ok(no_store(idempotency::respond(written)))
}

/// How an issued key shows to its issuer: the only time the key itself is shown.
fn issued_view(issued: &IssuedApiKey) -> Result<Shown, ViewError> {
    let mut view = ApiKeyView::from(issued.row.clone());
    view.key = Some(issued.key.clone());
    Shown::json(&view)
}

/// List API keys (never the keys themselves).
#[utoipa::path(get, path = "/api/v1/api-keys", tag = "api-keys", params(ListQuery),
    security(("bearer" = [])),
    responses((status = 200, body = PageView<ApiKeyView>), (status = 403)))]
pub async fn list_api_keys(
    State(state): State<AppState>,
    principal: Principal,
    ApiQuery(query): ApiQuery<ListQuery>,
) -> Result<ApiJson<PageView<ApiKeyView>>, ApiError> {
    principal.require(Capability::ManageApiKeys)?;
    let (limit, after) = query.parse()?;
    let page = api_keys::list_api_keys(&state.db, after.as_ref(), limit).await?;
    Ok(ApiJson(PageView {
        items: page.items.into_iter().map(ApiKeyView::from).collect(),
        next_cursor: page.next_cursor,
    }))
}

/// Revoke an API key: it stops working at once.
#[utoipa::path(delete, path = "/api/v1/api-keys/{id}", tag = "api-keys",
    security(("bearer" = [])), params(("id" = String, Path, description = "API key id")),
    responses((status = 204), (status = 403), (status = 404)))]
pub async fn revoke_api_key(
    State(state): State<AppState>,
    principal: Principal,
    meta: RequestMeta,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    principal.require(Capability::ManageApiKeys)?;
    let id = ApiKeyId::parse(&id).map_err(|_| ApiError::NotFound)?;
    let request = state.write_request(&principal, &meta, None);
    app::revoke_api_key(&state.db, request, id).await?;
    state.auth.cache.forget_api_key(id);
    Ok(StatusCode::NO_CONTENT)
}

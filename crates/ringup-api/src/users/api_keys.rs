//! `/api/v1/api-keys`: admins issue keys for integrations. The key is shown once, in the
//! creation response; only its hash is kept. Revocation takes effect on the next request.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use ringup_core::ids::ApiKeyId;
use ringup_core::tokens::{hash_token, new_api_key};
use ringup_core::users::Role;
use ringup_store::users::api_keys::{ApiKeyRow, NewApiKeyRow};
use ringup_store::{audit, catalog::stores, users::api_keys};

use crate::auth::api_key_rate::Tier;
use crate::auth::principal::Principal;
use crate::http::context::RequestMeta;
use crate::http::error::{ApiError, FieldError};
use crate::http::json::{ApiJson, SecretJson};
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
) -> Result<(StatusCode, SecretJson<ApiKeyView>), ApiError> {
    principal.require(Capability::ManageApiKeys)?;
    let mut errors = Vec::new();
    let name = crate::http::validation::display_name("name", &body.name, 100, &mut errors);
    if Tier::parse(&body.tier).is_err() {
        errors.push(FieldError::new(
            "tier",
            "must be one of free, basic, pro, enterprise",
        ));
    }
    let role = Role::parse(&body.role)
        .map_err(|e| errors.push(FieldError::new("role", e.to_string())))
        .ok();
    let store_ids = crate::users::parse_store_ids_for(&body.store_ids, &mut errors);
    let (Some(role), Some(name)) = (role.filter(|_| errors.is_empty()), name) else {
        return Err(ApiError::Validation(errors));
    };
    let key = new_api_key();
    let id = ApiKeyId::new();
    let now = state.auth.now_text();
    let mut tx = state.db.begin_write().await?;
    let missing = stores::missing_stores(&mut tx, &store_ids).await?;
    if !missing.is_empty() {
        return Err(ApiError::validation(
            "store_ids",
            "names a store that does not exist",
        ));
    }
    api_keys::insert_api_key(
        &mut tx,
        &NewApiKeyRow {
            id,
            name: &name,
            key_hash: &hash_token(&key),
            key_prefix: key.get(..10).unwrap_or_default(),
            tier: &body.tier,
            role: role.as_str(),
            store_ids: &store_ids,
            created_by: principal.user_id(),
            now: &now,
        },
    )
    .await?;
    let event = state
        .auth
        .event(&meta, "api_key.created")
        .by(principal.actor_id())
        .on("api_key", id)
        .with(serde_json::json!({
            "name": name, "tier": body.tier, "role": role.as_str(), "store_ids": body.store_ids,
        }));
    audit::append(&mut tx, &event).await?;
    let row = api_keys::find_api_key(&mut tx, id)
        .await?
        .ok_or(ApiError::NotFound)?;
    ringup_store::commit(tx).await?;
    let mut view = ApiKeyView::from(row);
    view.key = Some(key);
    Ok((StatusCode::CREATED, SecretJson(view)))
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
    let now = state.auth.now_text();
    let mut tx = state.db.begin_write().await?;
    if !api_keys::revoke_api_key(&mut tx, id, &now).await? {
        return Err(ApiError::NotFound);
    }
    let event = state
        .auth
        .event(&meta, "api_key.revoked")
        .by(principal.actor_id())
        .on("api_key", id);
    audit::append(&mut tx, &event).await?;
    ringup_store::commit(tx).await?;
    state.auth.cache.forget_api_key(id);
    Ok(StatusCode::NO_CONTENT)
}

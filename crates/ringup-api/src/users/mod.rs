//! `/api/v1/users`: admins manage everyone; managers manage cashiers and employees of their
//! own stores. A user outside the caller's view is answered 404, as if it did not exist.

pub mod api_keys;

use axum::extract::{Path, State};
use axum::response::Response;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use ringup_app::users::{self as app, UsersError, password_errors};
use ringup_app::write::{Shown, ViewError};
use ringup_core::ids::{StoreId, UserId};
use ringup_core::rate::RateBp;
use ringup_core::users::{Email, Password, Role, Username};
use ringup_store::users::{self, UserRow, UserScope};

use crate::auth::principal::Principal;
use crate::http::context::RequestMeta;
use crate::http::error::{ApiError, FieldError};
use crate::http::idempotency;
use crate::http::json::ApiJson;
use crate::http::pagination::{ListQuery, PageView};
use crate::http::query::ApiQuery;
use crate::state::AppState;
use ringup_app::Capability;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_users, create_user))
        .routes(routes!(get_user, update_user))
}

#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct UserView {
    pub id: String,
    pub username: String,
    pub email: String,
    pub role: String,
    pub store_ids: Vec<String>,
    pub active: bool,
    pub commission_rate_bp: i64,
    /// `false`: the user gets no low-stock mails.
    pub notify_low_stock: bool,
    /// `false`: the user gets no daily summary mails.
    pub notify_daily_summary: bool,
    pub created_at: String,
    pub updated_at: String,
}

impl From<UserRow> for UserView {
    fn from(row: UserRow) -> Self {
        UserView {
            id: row.id.to_string(),
            username: row.username,
            email: row.email,
            role: row.role,
            store_ids: row.store_ids.iter().map(ToString::to_string).collect(),
            active: row.active,
            commission_rate_bp: row.commission_rate_bp,
            notify_low_stock: row.notify_low_stock,
            notify_daily_summary: row.notify_daily_summary,
            created_at: row.created_at,
            updated_at: row.updated_at,
        }
    }
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewUser {
    pub username: String,
    pub email: String,
    pub password: String,
    #[schema(value_type = String, example = "cashier")]
    pub role: String,
    #[serde(default)]
    pub store_ids: Vec<String>,
    #[serde(default)]
    pub commission_rate_bp: Option<i64>,
}

/// Validates every field, collecting every error so the client sees them all at once.
fn validate_new_user(body: &NewUser) -> Result<app::NewUser, ApiError> {
    let mut errors = Vec::new();
    let username = Username::parse(&body.username)
        .map_err(|e| errors.push(FieldError::new("username", e.to_string())))
        .ok();
    let email = Email::parse(&body.email)
        .map_err(|e| errors.push(FieldError::new("email", e.to_string())))
        .ok();
    let password = Password::new(&body.password, Some(&body.username))
        .map_err(|rules| errors.extend(password_errors("password", &rules)))
        .ok();
    let role = Role::parse(&body.role)
        .map_err(|e| errors.push(FieldError::new("role", e.to_string())))
        .ok();
    let stores = parse_store_ids_for(&body.store_ids, &mut errors);
    let rate = RateBp::new(body.commission_rate_bp.unwrap_or(0))
        .map_err(|e| errors.push(FieldError::new("commission_rate_bp", e.to_string())))
        .ok();
    match (username, email, password, role, rate) {
        (Some(username), Some(email), Some(password), Some(role), Some(rate))
            if errors.is_empty() =>
        {
            Ok(app::NewUser {
                username,
                email,
                password,
                role,
                store_ids: stores,
                store_ids_sent: body.store_ids.clone(),
                commission_rate: rate,
            })
        }
        _ => Err(ApiError::Validation(errors)),
    }
}

pub fn parse_store_ids_for(raw: &[String], errors: &mut Vec<FieldError>) -> Vec<StoreId> {
    let mut ids = Vec::new();
    for (i, text) in raw.iter().enumerate() {
        match StoreId::parse(text) {
            Ok(id) if !ids.contains(&id) => ids.push(id),
            Ok(_) => {}
            Err(_) => errors.push(FieldError::new(
                format!("store_ids[{i}]"),
                "is not a store id",
            )),
        }
    }
    ids
}

/// Create a user.
#[utoipa::path(post, path = "/api/v1/users", tag = "users", request_body = NewUser,
    security(("bearer" = [])),
    responses(
        (status = 201, description = "Created", body = UserView),
        (status = 403, description = "Not allowed to create this role or in these stores"),
        (status = 409, description = "Username or e-mail already taken"),
        (status = 422, description = "Invalid fields, one entry per problem"),
    ))]
pub async fn create_user(
    State(state): State<AppState>,
    principal: Principal,
    meta: RequestMeta,
    ApiJson(body): ApiJson<NewUser>,
) -> Result<Response, ApiError> {
    principal.require(Capability::ManageUsers)?;
    let user = validate_new_user(&body)?;
    let hasher = &state.auth.hasher;
    let hash = |password: &Password| {
        let plain = password.expose().to_owned();
        async move { hasher.hash(plain).await.map_err(|_| UsersError::Busy) }
    };
    let request = state.write_request(&principal, &meta, None);
    let written = app::create_user(&state.db, request, user, hash, user_view).await?;
    Ok(idempotency::respond(written))
}

/// How a user shows to clients.
pub fn user_view(user: &UserRow) -> Result<Shown, ViewError> {
    Shown::json(&UserView::from(user.clone()))
}

/// List users (managers: cashiers and employees of their stores).
#[utoipa::path(get, path = "/api/v1/users", tag = "users", params(ListQuery),
    security(("bearer" = [])),
    responses((status = 200, description = "A page of users", body = PageView<UserView>)))]
pub async fn list_users(
    State(state): State<AppState>,
    principal: Principal,
    ApiQuery(query): ApiQuery<ListQuery>,
) -> Result<ApiJson<PageView<UserView>>, ApiError> {
    principal.require(Capability::ManageUsers)?;
    let (limit, after) = query.parse()?;
    let roles: Vec<&str> = principal
        .visible_user_roles()
        .map(|roles| roles.iter().map(|r| r.as_str()).collect())
        .unwrap_or_default();
    let scope = match principal.visible_user_roles() {
        None => UserScope::All,
        Some(_) => UserScope::Within {
            stores: &principal.store_ids,
            roles: &roles,
        },
    };
    let page = users::list_users(&state.db, scope, after.as_ref(), limit).await?;
    Ok(ApiJson(PageView {
        items: page.items.into_iter().map(UserView::from).collect(),
        next_cursor: page.next_cursor,
    }))
}

/// The user with this id, if the caller may see it.
async fn visible_user(
    state: &AppState,
    principal: &Principal,
    id: &str,
) -> Result<UserRow, ApiError> {
    let id = UserId::parse(id).map_err(|_| ApiError::NotFound)?;
    let row = users::get_user(&state.db, id)
        .await?
        .ok_or(ApiError::NotFound)?;
    let role = Role::parse(&row.role).map_err(ApiError::internal)?;
    let own = principal.user_id() == Some(row.id);
    if own || principal.may_see_user(role, &row.store_ids) {
        Ok(row)
    } else {
        Err(ApiError::NotFound)
    }
}

/// One user.
#[utoipa::path(get, path = "/api/v1/users/{id}", tag = "users", security(("bearer" = [])),
    params(("id" = String, Path, description = "User id")),
    responses((status = 200, body = UserView), (status = 404)))]
pub async fn get_user(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
) -> Result<ApiJson<UserView>, ApiError> {
    principal.require(Capability::ManageUsers)?;
    Ok(ApiJson(UserView::from(
        visible_user(&state, &principal, &id).await?,
    )))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UserPatch {
    #[schema(value_type = Option<String>)]
    pub role: Option<String>,
    pub store_ids: Option<Vec<String>>,
    pub active: Option<bool>,
    pub commission_rate_bp: Option<i64>,
    /// Mail opt-outs; a user may always change their own (also on `PATCH /api/v1/me`).
    pub notify_low_stock: Option<bool>,
    pub notify_daily_summary: Option<bool>,
}

/// Change a user's role, stores, active flag or commission rate. Deactivation and changes of
/// role or stores take effect on the user's next request; deactivation revokes every session.
#[utoipa::path(patch, path = "/api/v1/users/{id}", tag = "users", request_body = UserPatch,
    security(("bearer" = [])), params(("id" = String, Path, description = "User id")),
    responses((status = 200, body = UserView), (status = 403), (status = 404), (status = 422)))]
pub async fn update_user(
    State(state): State<AppState>,
    principal: Principal,
    meta: RequestMeta,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<UserPatch>,
) -> Result<Response, ApiError> {
    principal.require(Capability::ManageUsers)?;
    let current = visible_user(&state, &principal, &id).await?;
    let mut errors = Vec::new();
    let role = body
        .role
        .as_deref()
        .map(|r| {
            Role::parse(r)
                .map_err(|e| errors.push(FieldError::new("role", e.to_string())))
                .ok()
        })
        .unwrap_or(None);
    let stores = body
        .store_ids
        .as_ref()
        .map(|raw| parse_store_ids_for(raw, &mut errors));
    let rate = body
        .commission_rate_bp
        .map(|r| {
            RateBp::new(r)
                .map_err(|e| errors.push(FieldError::new("commission_rate_bp", e.to_string())))
                .ok()
        })
        .unwrap_or(None);
    if !errors.is_empty() {
        return Err(ApiError::Validation(errors));
    }
    let user = current.id;
    let changes = app::UserChanges {
        role,
        store_ids: stores,
        active: body.active,
        commission_rate: rate,
        notify_low_stock: body.notify_low_stock,
        notify_daily_summary: body.notify_daily_summary,
        role_sent: body.role,
        store_ids_sent: body.store_ids,
    };
    let request = state.write_request(&principal, &meta, None);
    let written = app::update_user(&state.db, request, current, changes, user_view).await?;
    state.auth.cache.forget_user(user);
    Ok(idempotency::respond(written))
}

//! Sessions over HTTP: login, refresh, logout, and the caller's profile (`/api/v1/me`).

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use ringup_app::users::AuthError;
use ringup_app::users::sessions::{self as app, IssuedSession, Refreshed};
use ringup_app::write::AnonymousRequest;
use ringup_core::ids::SessionId;
use ringup_store::users;

use axum_extra::extract::cookie::CookieJar;

use super::cookies;
use super::limits::{RateHeaders, ip_key};
use super::principal::{Principal, PrincipalKind};
use super::tokens::ACCESS_TTL_SECS;
use crate::http::context::RequestMeta;
use crate::http::error::ApiError;
use crate::http::json::{ApiJson, SecretJson};
use crate::state::AppState;
use crate::users::UserView;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(login))
        .routes(routes!(refresh))
        .routes(routes!(logout))
        .routes(routes!(me, update_me))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LoginRequest {
    pub username: String,
    pub password: String,
    /// Also set session cookies (browser sessions; unsafe requests then need `X-CSRF-Token`).
    #[serde(default)]
    pub cookie: bool,
}

#[derive(Serialize, ToSchema)]
pub struct TokenPair {
    pub access_token: String,
    pub refresh_token: String,
    /// Always `Bearer`.
    pub token_type: &'static str,
    /// Seconds the access token is valid (900).
    pub expires_in: i64,
    pub user: UserView,
}

/// A response with the rate-limit headers of the route.
pub(super) fn with_rate<T: IntoResponse>(rate: &RateHeaders, body: T) -> Response {
    let mut response = body.into_response();
    rate.apply(response.headers_mut());
    response
}

pub(super) fn rate_limited((err, rate): (ApiError, RateHeaders)) -> Response {
    with_rate(&rate, err)
}

/// Counts the request against a per-client-address `limit` — well-formed or not, so a flood
/// of malformed bodies is limited too — then unwraps the body. Every answer carries the
/// limit's headers.
pub(super) fn limited_body<T>(
    limit: &super::limits::Limit,
    meta: &RequestMeta,
    body: Result<ApiJson<T>, ApiError>,
) -> Result<(RateHeaders, T), (ApiError, RateHeaders)> {
    let ip = meta.ip.map(ip_key).unwrap_or_default();
    let rate = limit.check(&ip)?;
    match body {
        Ok(ApiJson(body)) => Ok((rate, body)),
        Err(err) => Err((err, rate)),
    }
}

/// Log in with a username and password.
#[utoipa::path(post, path = "/api/v1/auth/login", tag = "auth", request_body = LoginRequest,
    responses(
        (status = 200, description = "Logged in", body = TokenPair),
        (status = 401, description = "Wrong credentials (same answer for unknown and deactivated users)"),
        (status = 429, description = "Too many attempts for this username or from this address"),
    ))]
pub async fn login(
    State(state): State<AppState>,
    meta: RequestMeta,
    jar: CookieJar,
    body: Result<ApiJson<LoginRequest>, ApiError>,
) -> Response {
    let (rate, body) = match limited_body(&state.auth.login_per_ip, &meta, body) {
        Ok(checked) => checked,
        Err(refused) => return rate_limited(refused),
    };
    let wants_cookies = body.cookie;
    match login_inner(&state, &meta, body).await {
        Ok((pair, session)) if wants_cookies => {
            let jar = with_session_cookies(&state, jar, &pair, session);
            with_rate(&rate, (jar, SecretJson(pair)))
        }
        Ok((pair, _)) => with_rate(&rate, SecretJson(pair)),
        Err(err) => with_rate(&rate, err),
    }
}

fn with_session_cookies(
    state: &AppState,
    jar: CookieJar,
    pair: &TokenPair,
    session: SessionId,
) -> CookieJar {
    let auth = &state.auth;
    cookies::session_cookies(
        jar,
        &auth.csrf,
        &cookies::SessionCookies {
            access: &pair.access_token,
            refresh: &pair.refresh_token,
            session,
            refresh_ttl_secs: auth.policy.refresh_ttl.num_seconds(),
            secure: auth.secure_cookies,
        },
    )
}

/// The refresh token from the body, or else from a cookie session's cookie; `true` when it
/// came from the cookie (the answer then renews the cookies).
fn presented_refresh(body: &RefreshRequest, jar: &CookieJar) -> Result<(String, bool), ApiError> {
    match (&body.refresh_token, jar.get(cookies::REFRESH_COOKIE)) {
        (Some(token), _) => Ok((token.clone(), false)),
        (None, Some(cookie)) => Ok((cookie.value().to_owned(), true)),
        (None, None) => Err(ApiError::validation("refresh_token", "is required")),
    }
}

/// The new session's tokens, and its id (which the CSRF token of a cookie session is bound to).
async fn login_inner(
    state: &AppState,
    meta: &RequestMeta,
    body: LoginRequest,
) -> Result<(TokenPair, SessionId), ApiError> {
    let auth = &state.auth;
    let now = auth.clock.now();
    let request = AnonymousRequest {
        at: now,
        origin: &meta.origin,
    };
    let login = app::LogIn {
        username: body.username,
        password: body.password,
    };
    let hasher = &auth.hasher;
    let verify = |password: String, hash: Option<String>| async move {
        hasher.verify(password, hash).await.map_err(AuthError::from)
    };
    let issued = app::log_in(&state.db, request, login, &auth.policy.sessions(), verify).await?;
    token_pair(state, issued, now)
}

/// Signs the access token of an issued session and pairs it with the refresh token.
fn token_pair(
    state: &AppState,
    issued: IssuedSession,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<(TokenPair, SessionId), ApiError> {
    let access_token = state
        .auth
        .keys
        .issue(issued.user.id, issued.session, issued.role, now)
        .map_err(ApiError::internal)?;
    let pair = TokenPair {
        access_token,
        refresh_token: issued.refresh_token,
        token_type: "Bearer",
        expires_in: ACCESS_TTL_SECS,
        user: UserView::from(issued.user),
    };
    Ok((pair, issued.session))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RefreshRequest {
    /// Required unless the session is a cookie session, whose refresh cookie is used instead.
    #[serde(default)]
    pub refresh_token: Option<String>,
}

/// Exchange a refresh token for a new pair; the old one stops working. Presenting a spent
/// refresh token again revokes the whole session.
#[utoipa::path(post, path = "/api/v1/auth/refresh", tag = "auth", request_body = RefreshRequest,
    responses(
        (status = 200, description = "A new token pair", body = TokenPair),
        (status = 401, description = "Unknown, expired, spent or revoked refresh token"),
    ))]
pub async fn refresh(
    State(state): State<AppState>,
    meta: RequestMeta,
    jar: CookieJar,
    ApiJson(body): ApiJson<RefreshRequest>,
) -> Result<Response, ApiError> {
    let (presented, from_cookie) = presented_refresh(&body, &jar)?;
    let auth = &state.auth;
    let now = auth.clock.now();
    let request = AnonymousRequest {
        at: now,
        origin: &meta.origin,
    };
    let refreshed =
        app::refresh_session(&state.db, request, &presented, &auth.policy.sessions()).await?;
    let issued = match refreshed {
        Refreshed::Rotated(issued) => *issued,
        Refreshed::Reused { session } => {
            auth.cache.forget_session(session).await;
            tracing::warn!(%session, "refresh token reused: session revoked");
            return Err(ApiError::Unauthorized);
        }
    };
    let (pair, session) = token_pair(&state, issued, now)?;
    Ok(if from_cookie {
        let jar = with_session_cookies(&state, jar, &pair, session);
        (jar, SecretJson(pair)).into_response()
    } else {
        SecretJson(pair).into_response()
    })
}

/// End the session of a refresh token: its access and refresh tokens stop working.
#[utoipa::path(post, path = "/api/v1/auth/logout", tag = "auth", request_body = RefreshRequest,
    responses((status = 204, description = "Logged out (also for an unknown token)")))]
pub async fn logout(
    State(state): State<AppState>,
    meta: RequestMeta,
    jar: CookieJar,
    ApiJson(body): ApiJson<RefreshRequest>,
) -> Result<(CookieJar, StatusCode), ApiError> {
    let (presented, _) = presented_refresh(&body, &jar)?;
    let auth = &state.auth;
    let request = AnonymousRequest {
        at: auth.clock.now(),
        origin: &meta.origin,
    };
    if let Some(session) = app::log_out(&state.db, request, &presented).await? {
        auth.cache.forget_session(session).await;
    }
    Ok((cookies::cleared(jar), StatusCode::NO_CONTENT))
}

#[derive(Serialize, ToSchema)]
pub struct Me {
    pub id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    pub role: String,
    pub store_ids: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kind: Option<&'static str>,
    /// A user's mail opt-outs (`false`: no low-stock mails); absent for an API key.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub notify_low_stock: Option<bool>,
    /// `false`: no daily summary mails; absent for an API key.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub notify_daily_summary: Option<bool>,
}

/// The caller: a user, or an API key (`kind: "api_key"`).
#[utoipa::path(get, path = "/api/v1/me", tag = "auth", security(("bearer" = [])),
    responses((status = 200, description = "The caller", body = Me), (status = 401)))]
pub async fn me(
    State(state): State<AppState>,
    principal: Principal,
) -> Result<ApiJson<Me>, ApiError> {
    let store_ids = principal
        .store_ids
        .iter()
        .map(ToString::to_string)
        .collect();
    let me = match &principal.kind {
        PrincipalKind::User { user, .. } => {
            let row = users::get_user(&state.db, *user)
                .await?
                .ok_or(ApiError::Unauthorized)?;
            Me {
                id: row.id.to_string(),
                username: Some(row.username),
                email: Some(row.email),
                name: None,
                role: principal.role.as_str().to_owned(),
                store_ids,
                kind: None,
                notify_low_stock: Some(row.notify_low_stock),
                notify_daily_summary: Some(row.notify_daily_summary),
            }
        }
        PrincipalKind::ApiKey { key, .. } => {
            let mut conn = state.db.read_conn().await?;
            let row = ringup_store::users::api_keys::find_api_key(&mut conn, *key)
                .await?
                .ok_or(ApiError::Unauthorized)?;
            Me {
                id: row.id.to_string(),
                username: None,
                email: None,
                name: Some(row.name),
                role: principal.role.as_str().to_owned(),
                store_ids,
                kind: Some("api_key"),
                notify_low_stock: None,
                notify_daily_summary: None,
            }
        }
    };
    Ok(ApiJson(me))
}

/// The caller's own settings a user may change: mail opt-outs.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MePatch {
    pub notify_low_stock: Option<bool>,
    pub notify_daily_summary: Option<bool>,
}

/// Change the caller's mail opt-outs (any signed-in user; API keys have none: 403).
#[utoipa::path(patch, path = "/api/v1/me", tag = "auth", request_body = MePatch,
    security(("bearer" = [])),
    responses((status = 200, description = "The caller", body = Me), (status = 401),
        (status = 403, description = "An API key")))]
pub async fn update_me(
    State(state): State<AppState>,
    principal: Principal,
    meta: RequestMeta,
    ApiJson(body): ApiJson<MePatch>,
) -> Result<Response, ApiError> {
    let PrincipalKind::User { user, .. } = &principal.kind else {
        return Err(ApiError::Forbidden);
    };
    let current = users::get_user(&state.db, *user)
        .await?
        .ok_or(ApiError::Unauthorized)?;
    let changes = ringup_app::users::UserChanges {
        role: None,
        store_ids: None,
        active: None,
        commission_rate: None,
        notify_low_stock: body.notify_low_stock,
        notify_daily_summary: body.notify_daily_summary,
        role_sent: None,
        store_ids_sent: None,
    };
    let request = state.write_request(&principal, &meta, None);
    ringup_app::users::update_user(
        &state.db,
        request,
        current,
        changes,
        crate::users::user_view,
    )
    .await?;
    let me = me(State(state), principal).await?;
    Ok(me.into_response())
}

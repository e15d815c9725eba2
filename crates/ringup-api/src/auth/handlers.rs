//! Sessions over HTTP: login, refresh, logout, and the caller's profile (`/api/v1/me`).

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use ringup_core::ids::SessionId;
use ringup_core::tokens::{hash_token, random_token};
use ringup_core::users::Role;
use ringup_store::{audit, platform::time, users, users::logins, users::sessions};

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
        .routes(routes!(me))
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
    let username_key = body.username.trim().to_lowercase();
    let now = auth.clock.now();
    let now_text = time::to_db(now);
    // The attempt counts as a failure before the slow hash and is forgotten on success, so
    // guesses sent in parallel cannot all get a verdict: the attempt past the limit locks.
    if let Some(until) = count_attempt(state, meta, &username_key, now).await? {
        return Err(locked(now, &until));
    }
    let credentials = users::find_credentials(&state.db, &username_key).await?;
    let hash = credentials.as_ref().map(|c| c.password_hash.clone());
    let matched = auth
        .hasher
        .verify(body.password, hash)
        .await
        .map_err(hash_error)?;
    let user = match credentials {
        Some(c) if matched && c.user.active => c.user,
        _ => return Err(record_failure(state, meta, &username_key).await),
    };
    let role = Role::parse(&user.role).map_err(ApiError::internal)?;
    let session = SessionId::new();
    let refresh = random_token();
    let expires_at = time::to_db(now + auth.policy.refresh_ttl);
    let mut tx = state.db.begin_write().await?;
    logins::clear_failures(&mut tx, &username_key, &now_text).await?;
    sessions::create_session(
        &mut tx,
        &sessions::NewSession {
            id: session,
            user_id: user.id,
            ip: meta.ip_text().as_deref(),
            user_agent: meta.user_agent.as_deref(),
            expires_at: &expires_at,
            now: &now_text,
        },
        &hash_token(&refresh),
    )
    .await?;
    let event = auth
        .event(meta, "auth.login")
        .by(user.id.to_string())
        .on("session", session);
    audit::append(&mut tx, &event).await?;
    ringup_store::commit(tx).await?;
    let access_token = auth
        .keys
        .issue(user.id, session, role, now)
        .map_err(ApiError::internal)?;
    let pair = TokenPair {
        access_token,
        refresh_token: refresh,
        token_type: "Bearer",
        expires_in: ACCESS_TTL_SECS,
        user: UserView::from(user),
    };
    Ok((pair, session))
}

/// 429 until the lock ends, in whole seconds rounded up: a client that waits as long as told
/// is never refused again.
fn locked(now: chrono::DateTime<chrono::Utc>, until: &str) -> ApiError {
    let secs = time::from_db(until)
        .map(|until| {
            let millis = (until - now).num_milliseconds();
            (millis + 999).div_euclid(1000).max(1)
        })
        .unwrap_or(1);
    ApiError::RateLimited {
        retry_after_secs: u64::try_from(secs).unwrap_or(1),
    }
}

pub(super) fn hash_error(err: super::hasher::HashError) -> ApiError {
    match err {
        super::hasher::HashError::Busy => ApiError::RateLimited {
            retry_after_secs: 1,
        },
        other => ApiError::internal(other),
    }
}

/// Counts a login attempt for the username; `Some(until)` when logins for it are refused
/// (this attempt may be the one that locked it, which the audit log then records).
async fn count_attempt(
    state: &AppState,
    meta: &RequestMeta,
    username_key: &str,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<Option<String>, ApiError> {
    let auth = &state.auth;
    let now_text = time::to_db(now);
    let lock_until = time::to_db(now + auth.policy.lockout_duration);
    let mut tx = state.db.begin_write().await?;
    let attempt = logins::record_attempt(
        &mut tx,
        username_key,
        &now_text,
        &time::to_db(now - auth.policy.lockout_window),
        auth.policy.lockout_failures,
        &lock_until,
    )
    .await?;
    let locked = attempt.locked_until.filter(|until| *until > now_text);
    if locked.as_deref() == Some(lock_until.as_str()) {
        let mut event = auth.event(meta, "auth.locked_out");
        event.details = serde_json::json!({ "username": username_key, "locked_until": lock_until });
        audit::append(&mut tx, &event).await?;
    }
    ringup_store::commit(tx).await?;
    Ok(locked)
}

/// Answers a failed login: records it in the audit log and answers 401 (the same for every
/// reason: wrong password, unknown user, deactivated user).
async fn record_failure(state: &AppState, meta: &RequestMeta, username_key: &str) -> ApiError {
    let result = async {
        let mut tx = state.db.begin_write().await?;
        let mut event = state.auth.event(meta, "auth.login_failed");
        event.details = serde_json::json!({ "username": username_key });
        audit::append(&mut tx, &event).await?;
        ringup_store::commit(tx).await
    }
    .await;
    match result {
        Ok(()) => ApiError::Unauthorized,
        Err(err) => err.into(),
    }
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
    let (pair, session) = rotate(&state, &meta, &presented).await?;
    Ok(if from_cookie {
        let jar = with_session_cookies(&state, jar, &pair, session);
        (jar, SecretJson(pair)).into_response()
    } else {
        SecretJson(pair).into_response()
    })
}

async fn rotate(
    state: &AppState,
    meta: &RequestMeta,
    presented: &str,
) -> Result<(TokenPair, SessionId), ApiError> {
    let auth = &state.auth;
    let now = auth.clock.now();
    let now_text = time::to_db(now);
    let next = random_token();
    let expires_at = time::to_db(now + auth.policy.refresh_ttl);
    let mut tx = state.db.begin_write().await?;
    let outcome = sessions::rotate_refresh(
        &mut tx,
        &hash_token(presented),
        &hash_token(&next),
        &now_text,
        &expires_at,
    )
    .await?;
    match outcome {
        sessions::Rotation::Invalid => Err(ApiError::Unauthorized),
        sessions::Rotation::Reused { session, user } => {
            let event = auth
                .event(meta, "auth.refresh_reused")
                .by(user.to_string())
                .on("session", session);
            audit::append(&mut tx, &event).await?;
            ringup_store::commit(tx).await?;
            auth.cache.forget_session(session).await;
            tracing::warn!(%session, "refresh token reused: session revoked");
            Err(ApiError::Unauthorized)
        }
        sessions::Rotation::Rotated { session, user } => {
            let row = users::find_user(&mut tx, user)
                .await?
                .filter(|u| u.active)
                .ok_or(ApiError::Unauthorized)?;
            ringup_store::commit(tx).await?;
            let role = Role::parse(&row.role).map_err(ApiError::internal)?;
            let access_token = auth
                .keys
                .issue(user, session, role, now)
                .map_err(ApiError::internal)?;
            let pair = TokenPair {
                access_token,
                refresh_token: next,
                token_type: "Bearer",
                expires_in: ACCESS_TTL_SECS,
                user: UserView::from(row),
            };
            Ok((pair, session))
        }
    }
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
    let now_text = auth.now_text();
    let mut tx = state.db.begin_write().await?;
    let found = sessions::session_of_refresh(&mut tx, &hash_token(&presented)).await?;
    if let Some((session, user)) = found
        && sessions::revoke_session(&mut tx, session, "logout", &now_text).await?
    {
        let event = auth
            .event(&meta, "auth.logout")
            .by(user.to_string())
            .on("session", session);
        audit::append(&mut tx, &event).await?;
        ringup_store::commit(tx).await?;
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
            }
        }
    };
    Ok(ApiJson(me))
}

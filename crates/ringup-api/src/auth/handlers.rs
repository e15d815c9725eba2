//! Handlers for `/api/v1/auth/*` and `/api/v1/me`.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use ringup_core::ids::{SessionId, UserId};
use ringup_core::tokens::{hash_token, random_token};
use ringup_core::users::{Email, Password, Role};
use ringup_store::{audit, logins, password_resets, sessions, time, users};

use axum_extra::extract::cookie::CookieJar;

use super::cookies;
use super::limits::{RateHeaders, ip_key};
use super::principal::{Principal, PrincipalKind};
use super::tokens::ACCESS_TTL_SECS;
use crate::context::RequestMeta;
use crate::error::{ApiError, FieldError};
use crate::json::ApiJson;
use crate::state::AppState;
use crate::users::{UserView, password_errors};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(login))
        .routes(routes!(refresh))
        .routes(routes!(logout))
        .routes(routes!(change_password))
        .routes(routes!(request_password_reset))
        .routes(routes!(confirm_password_reset))
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
fn with_rate<T: IntoResponse>(rate: &RateHeaders, body: T) -> Response {
    let mut response = body.into_response();
    rate.apply(response.headers_mut());
    response
}

fn rate_limited((err, rate): (ApiError, RateHeaders)) -> Response {
    with_rate(&rate, err)
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
    ApiJson(body): ApiJson<LoginRequest>,
) -> Response {
    let auth = &state.auth;
    let ip = meta.ip.map(ip_key).unwrap_or_default();
    let rate = match auth.login_per_ip.check(&ip) {
        Ok(rate) => rate,
        Err(limited) => return rate_limited(limited),
    };
    let wants_cookies = body.cookie;
    match login_inner(&state, &meta, body).await {
        Ok(pair) if wants_cookies => {
            let jar = with_session_cookies(&state, jar, &pair);
            with_rate(&rate, (jar, ApiJson(pair)))
        }
        Ok(pair) => with_rate(&rate, ApiJson(pair)),
        Err(err) => with_rate(&rate, err),
    }
}

fn with_session_cookies(state: &AppState, jar: CookieJar, pair: &TokenPair) -> CookieJar {
    let auth = &state.auth;
    cookies::session_cookies(
        jar,
        &pair.access_token,
        &pair.refresh_token,
        auth.policy.refresh_ttl.num_seconds(),
        auth.secure_cookies,
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

async fn login_inner(
    state: &AppState,
    meta: &RequestMeta,
    body: LoginRequest,
) -> Result<TokenPair, ApiError> {
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
    let mut event = auth.event(meta, "auth.login");
    event.actor_id = Some(user.id.to_string());
    event.target_type = Some("session".into());
    event.target_id = Some(session.to_string());
    audit::append(&mut tx, &event).await?;
    ringup_store::commit(tx).await?;
    let access_token = auth
        .keys
        .issue(user.id, session, role, now)
        .map_err(ApiError::internal)?;
    Ok(TokenPair {
        access_token,
        refresh_token: refresh,
        token_type: "Bearer",
        expires_in: ACCESS_TTL_SECS,
        user: UserView::from(user),
    })
}

fn locked(now: chrono::DateTime<chrono::Utc>, until: &str) -> ApiError {
    let secs = time::from_db(until)
        .map(|until| (until - now).num_seconds().max(1))
        .unwrap_or(1);
    ApiError::RateLimited {
        retry_after_secs: u64::try_from(secs).unwrap_or(1),
    }
}

fn hash_error(err: super::hasher::HashError) -> ApiError {
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
    let pair = rotate(&state, &meta, &presented).await?;
    Ok(if from_cookie {
        let jar = with_session_cookies(&state, jar, &pair);
        (jar, ApiJson(pair)).into_response()
    } else {
        ApiJson(pair).into_response()
    })
}

async fn rotate(
    state: &AppState,
    meta: &RequestMeta,
    presented: &str,
) -> Result<TokenPair, ApiError> {
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
            let mut event = auth.event(meta, "auth.refresh_reused");
            event.actor_id = Some(user.to_string());
            event.target_type = Some("session".into());
            event.target_id = Some(session.to_string());
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
            Ok(TokenPair {
                access_token,
                refresh_token: next,
                token_type: "Bearer",
                expires_in: ACCESS_TTL_SECS,
                user: UserView::from(row),
            })
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
        let mut event = auth.event(&meta, "auth.logout");
        event.actor_id = Some(user.to_string());
        event.target_type = Some("session".into());
        event.target_id = Some(session.to_string());
        audit::append(&mut tx, &event).await?;
        ringup_store::commit(tx).await?;
        auth.cache.forget_session(session).await;
    }
    Ok((cookies::cleared(jar), StatusCode::NO_CONTENT))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ChangePassword {
    pub current_password: String,
    pub new_password: String,
}

/// Change the caller's password; every session of the user is revoked.
#[utoipa::path(post, path = "/api/v1/auth/password", tag = "auth", request_body = ChangePassword,
    security(("bearer" = [])),
    responses(
        (status = 204, description = "Changed; log in again"),
        (status = 422, description = "Current password wrong or new password breaks the policy"),
    ))]
pub async fn change_password(
    State(state): State<AppState>,
    principal: Principal,
    meta: RequestMeta,
    ApiJson(body): ApiJson<ChangePassword>,
) -> Result<StatusCode, ApiError> {
    let PrincipalKind::User { user, .. } = principal.kind else {
        return Err(ApiError::Forbidden);
    };
    let auth = &state.auth;
    let row = users::get_user(&state.db, user)
        .await?
        .ok_or(ApiError::Unauthorized)?;
    let current_hash = {
        let mut conn = state.db.read_conn().await?;
        users::password_hash_of(&mut conn, user).await?
    };
    let matched = auth
        .hasher
        .verify(body.current_password, Some(current_hash))
        .await
        .map_err(hash_error)?;
    let mut errors = Vec::new();
    if !matched {
        errors.push(FieldError::new(
            "current_password",
            "is not the current password",
        ));
    }
    let new = Password::new(&body.new_password, Some(&row.username));
    if let Err(rules) = &new {
        errors.extend(password_errors("new_password", rules));
    }
    let (true, Ok(new)) = (errors.is_empty(), new) else {
        return Err(ApiError::Validation(errors));
    };
    let hash = auth
        .hasher
        .hash(new.expose().to_owned())
        .await
        .map_err(hash_error)?;
    set_password_and_revoke(
        &state,
        &meta,
        user,
        &hash,
        "auth.password_changed",
        Some(user),
    )
    .await
}

/// Stores a new password hash, revokes every session of the user and records `action`.
async fn set_password_and_revoke(
    state: &AppState,
    meta: &RequestMeta,
    user: UserId,
    hash: &str,
    action: &str,
    actor: Option<UserId>,
) -> Result<StatusCode, ApiError> {
    let auth = &state.auth;
    let now_text = auth.now_text();
    let mut tx = state.db.begin_write().await?;
    users::set_password_hash(&mut tx, user, hash, &now_text).await?;
    password_resets::cancel_for_user(&mut tx, user, &now_text).await?;
    let revoked =
        sessions::revoke_user_sessions(&mut tx, user, "password_changed", &now_text).await?;
    let mut event = auth.event(meta, action);
    event.actor_id = actor.map(|a| a.to_string());
    event.target_type = Some("user".into());
    event.target_id = Some(user.to_string());
    event.details = serde_json::json!({ "sessions_revoked": revoked.len() });
    audit::append(&mut tx, &event).await?;
    ringup_store::commit(tx).await?;
    auth.cache.forget_user(user);
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ResetRequest {
    pub email: String,
}

/// Ask for a password-reset link by e-mail. Always 202, whether or not the address is known.
#[utoipa::path(post, path = "/api/v1/auth/password-reset/request", tag = "auth",
    request_body = ResetRequest,
    responses(
        (status = 202, description = "If the address belongs to an active user, a link is on its way"),
        (status = 429, description = "Too many requests from this address or for this e-mail"),
    ))]
pub async fn request_password_reset(
    State(state): State<AppState>,
    meta: RequestMeta,
    ApiJson(body): ApiJson<ResetRequest>,
) -> Response {
    let auth = &state.auth;
    let ip = meta.ip.map(ip_key).unwrap_or_default();
    let rate = match auth.reset_per_ip.check(&ip) {
        Ok(rate) => rate,
        Err(limited) => return rate_limited(limited),
    };
    let email = match Email::parse(&body.email) {
        Ok(email) => email,
        Err(err) => return with_rate(&rate, ApiError::validation("email", err.to_string())),
    };
    if let Err(limited) = auth.reset_per_address.check(&email.normalized()) {
        return rate_limited(limited);
    }
    match start_reset(&state, &email).await {
        Ok(()) => with_rate(&rate, StatusCode::ACCEPTED),
        Err(err) => with_rate(&rate, err),
    }
}

/// Creates a reset token for an active user with this address and mails the link. The mail
/// goes out in the background so the answer takes the same time whether or not the address is
/// known.
async fn start_reset(state: &AppState, email: &Email) -> Result<(), ApiError> {
    let auth = &state.auth;
    let Some(user) = users::find_active_by_email(&state.db, &email.normalized()).await? else {
        return Ok(());
    };
    let token = random_token();
    let now = auth.clock.now();
    let mut tx = state.db.begin_write().await?;
    password_resets::insert_reset(
        &mut tx,
        user.id,
        &hash_token(&token),
        &time::to_db(now + auth.policy.reset_ttl),
        &time::to_db(now),
    )
    .await?;
    ringup_store::commit(tx).await?;
    let link = format!("{}/reset-password?token={token}", auth.public_url);
    let minutes = auth.policy.reset_ttl.num_minutes();
    let body = format!(
        "Hello {},\n\nSomeone asked to reset the password of your ringup account.\n\
         To choose a new password, open this link within {minutes} minutes:\n\n{link}\n\n\
         If it was not you, ignore this message; your password stays as it is.\n",
        user.username
    );
    let mailer = auth.mailer.clone();
    let to = user.email.clone();
    tokio::spawn(async move {
        if let Err(err) = mailer.send(&to, "Reset your ringup password", body).await {
            tracing::error!(error = %err, "password-reset mail not delivered");
        }
    });
    Ok(())
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ResetConfirm {
    pub token: String,
    pub new_password: String,
}

/// Set a new password with a reset token (single use, 30 minutes).
#[utoipa::path(post, path = "/api/v1/auth/password-reset/confirm", tag = "auth",
    request_body = ResetConfirm,
    responses(
        (status = 204, description = "Password set; every session revoked"),
        (status = 422, description = "Unknown, used or expired token, or a password that breaks the policy"),
    ))]
pub async fn confirm_password_reset(
    State(state): State<AppState>,
    meta: RequestMeta,
    ApiJson(body): ApiJson<ResetConfirm>,
) -> Result<StatusCode, ApiError> {
    let invalid = || ApiError::validation("token", "is unknown, used or expired");
    let token_hash = hash_token(&body.token);
    // Look the token up and check the policy before hashing (no transaction is held during
    // the slow hash); the token is spent in the transaction that sets the password, so a
    // racing second use finds it spent.
    let user = password_resets::find_live_reset(&state.db, &token_hash, &state.auth.now_text())
        .await?
        .ok_or_else(invalid)?;
    let user = users::get_user(&state.db, user)
        .await?
        .ok_or_else(invalid)?;
    let password = Password::new(&body.new_password, Some(&user.username))
        .map_err(|rules| ApiError::Validation(password_errors("new_password", &rules)))?;
    let hash = state
        .auth
        .hasher
        .hash(password.expose().to_owned())
        .await
        .map_err(hash_error)?;
    set_password_reset(&state, &meta, user.id, &hash, &token_hash).await
}

/// Spends the token and sets the password in one transaction.
async fn set_password_reset(
    state: &AppState,
    meta: &RequestMeta,
    user: UserId,
    hash: &str,
    token_hash: &str,
) -> Result<StatusCode, ApiError> {
    let auth = &state.auth;
    let now_text = auth.now_text();
    let mut tx = state.db.begin_write().await?;
    let spent = password_resets::consume_reset(&mut tx, token_hash, &now_text).await?;
    if spent != Some(user) {
        return Err(ApiError::validation("token", "is unknown, used or expired"));
    }
    users::set_password_hash(&mut tx, user, hash, &now_text).await?;
    password_resets::cancel_for_user(&mut tx, user, &now_text).await?;
    let revoked =
        sessions::revoke_user_sessions(&mut tx, user, "password_reset", &now_text).await?;
    let mut event = auth.event(meta, "auth.password_reset");
    event.actor_id = Some(user.to_string());
    event.target_type = Some("user".into());
    event.target_id = Some(user.to_string());
    event.details = serde_json::json!({ "sessions_revoked": revoked.len() });
    audit::append(&mut tx, &event).await?;
    ringup_store::commit(tx).await?;
    auth.cache.forget_user(user);
    Ok(StatusCode::NO_CONTENT)
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
            let row = ringup_store::api_keys::find_api_key(&mut conn, *key)
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

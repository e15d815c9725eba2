//! Passwords over HTTP: change (knowing the current one) and reset by a mailed single-use
//! link. Either way every session of the user ends and outstanding reset links are void.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use serde::Deserialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use ringup_core::ids::UserId;
use ringup_core::tokens::{hash_token, random_token};
use ringup_core::users::{Email, Password};
use ringup_store::{audit, platform::time, users, users::password_resets, users::sessions};

use super::handlers::{hash_error, limited_body, rate_limited, with_rate};
use super::principal::{Principal, PrincipalKind};
use crate::http::context::RequestMeta;
use crate::http::error::{ApiError, FieldError};
use crate::http::json::ApiJson;
use crate::state::AppState;
use crate::users::password_errors;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(change_password))
        .routes(routes!(request_password_reset))
        .routes(routes!(confirm_password_reset))
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
    set_password(&state, &meta, user, &hash, PasswordChange::Changed).await
}

/// How a new password came about.
enum PasswordChange<'a> {
    /// The user gave the current one.
    Changed,
    /// A reset token, spent in the same transaction (refused if it is no longer live).
    Reset { token_hash: &'a str },
}

/// Sets a user's password in one transaction: spends the reset token if there is one, voids
/// every other reset link, revokes every session of the user and records the audit event.
async fn set_password(
    state: &AppState,
    meta: &RequestMeta,
    user: UserId,
    hash: &str,
    change: PasswordChange<'_>,
) -> Result<StatusCode, ApiError> {
    let auth = &state.auth;
    let now_text = auth.now_text();
    let mut tx = state.db.begin_write().await?;
    let (action, reason) = match change {
        PasswordChange::Changed => ("auth.password_changed", "password_changed"),
        PasswordChange::Reset { token_hash } => {
            let spent = password_resets::consume_reset(&mut tx, token_hash, &now_text).await?;
            if spent != Some(user) {
                return Err(ApiError::validation("token", "is unknown, used or expired"));
            }
            ("auth.password_reset", "password_reset")
        }
    };
    users::set_password_hash(&mut tx, user, hash, &now_text).await?;
    password_resets::cancel_for_user(&mut tx, user, &now_text).await?;
    let revoked = sessions::revoke_user_sessions(&mut tx, user, reason, &now_text).await?;
    let event = auth
        .event(meta, action)
        .by(user.to_string())
        .on("user", user)
        .with(serde_json::json!({ "sessions_revoked": revoked.len() }));
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
    body: Result<ApiJson<ResetRequest>, ApiError>,
) -> Response {
    let auth = &state.auth;
    let (rate, body) = match limited_body(&auth.reset_per_ip, &meta, body) {
        Ok(checked) => checked,
        Err(refused) => return rate_limited(refused),
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
    set_password(
        &state,
        &meta,
        user.id,
        &hash,
        PasswordChange::Reset {
            token_hash: &token_hash,
        },
    )
    .await
}

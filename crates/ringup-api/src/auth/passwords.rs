//! Passwords over HTTP: change (knowing the current one) and reset by a mailed single-use
//! link. Either way every session of the user ends and outstanding reset links are void.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use serde::Deserialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use ringup_app::users::AuthError;
use ringup_app::users::passwords::{self as app, IssuedReset};
use ringup_app::write::AnonymousRequest;
use ringup_core::users::{Email, Password};

use super::handlers::{limited_body, rate_limited, with_rate};
use super::principal::Principal;
use crate::http::context::RequestMeta;
use crate::http::error::ApiError;
use crate::http::json::ApiJson;
use crate::state::AppState;

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
    let auth = &state.auth;
    let change = app::PasswordChange {
        current_password: body.current_password,
        new_password: body.new_password,
    };
    let hasher = &auth.hasher;
    let verify = |password: String, hash: Option<String>| async move {
        hasher.verify(password, hash).await.map_err(AuthError::from)
    };
    let hash = |password: &Password| {
        let plain = password.expose().to_owned();
        async move { hasher.hash(plain).await.map_err(AuthError::from) }
    };
    let request = state.write_request(&principal, &meta, None);
    app::change_password(&state.db, request, change, verify, hash).await?;
    if let Some(user) = principal.user_id() {
        auth.cache.forget_user(user);
    }
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
    let request = AnonymousRequest {
        at: auth.clock.now(),
        origin: &meta.origin,
    };
    match app::request_password_reset(&state.db, request, &email, auth.policy.reset_ttl).await {
        Ok(issued) => {
            if let Some(issued) = issued {
                mail_reset_link(&state, issued);
            }
            with_rate(&rate, StatusCode::ACCEPTED)
        }
        Err(err) => with_rate(&rate, ApiError::from(err)),
    }
}

/// Mails the reset link in the background, so the answer takes the same time whether or not
/// the address is known.
fn mail_reset_link(state: &AppState, issued: IssuedReset) {
    let auth = &state.auth;
    let IssuedReset { user, token } = issued;
    let link = format!("{}/reset-password?token={token}", auth.public_url);
    let minutes = auth.policy.reset_ttl.num_minutes();
    let body = format!(
        "Hello {},\n\nSomeone asked to reset the password of your ringup account.\n\
         To choose a new password, open this link within {minutes} minutes:\n\n{link}\n\n\
         If it was not you, ignore this message; your password stays as it is.\n",
        user.username
    );
    let mailer = auth.mailer.clone();
    let to = user.email;
    tokio::spawn(async move {
        if let Err(err) = mailer.send(&to, "Reset your ringup password", body).await {
            tracing::error!(error = %err, "password-reset mail not delivered");
        }
    });
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
    let auth = &state.auth;
    let reset = app::PasswordReset {
        token: body.token,
        new_password: body.new_password,
    };
    let request = AnonymousRequest {
        at: auth.clock.now(),
        origin: &meta.origin,
    };
    let hasher = &auth.hasher;
    let hash = |password: &Password| {
        let plain = password.expose().to_owned();
        async move { hasher.hash(plain).await.map_err(AuthError::from) }
    };
    let user = app::reset_password(&state.db, request, &*auth.clock, reset, hash).await?;
    auth.cache.forget_user(user);
    Ok(StatusCode::NO_CONTENT)
}

//! Passwords: changing one's own (knowing the current one) and resetting a forgotten one by a
//! mailed single-use link. Setting a password, either way, voids every outstanding reset link
//! and revokes every session of the user in the same transaction; a caller that caches
//! sessions forgets the user's after this returns.
//!
//! Everything that can refuse is checked before the new password is hashed, and no
//! transaction is held during the slow hash; a reset token is spent in the transaction that
//! sets the password, so a racing second use finds it spent.

use chrono::{DateTime, Duration, Utc};
use ringup_core::clock::Clock;
use ringup_core::ids::UserId;
use ringup_core::tokens::{hash_token, random_token};
use ringup_core::users::{Email, Password};
use ringup_store::users::{self, UserRow, password_resets, sessions};
use ringup_store::{Conn, Db, StoreError};

use super::{AuthError, password_errors};
use crate::problem::FieldError;
use crate::write::{
    AnonymousRequest, AnonymousWrite, Effects, Shown, WriteRequest, Written, begin_or_replay,
    retrying,
};

/// A password change as the client sent it.
pub struct PasswordChange {
    pub current_password: String,
    pub new_password: String,
}

/// Changes the actor's own password (an API key has none: [`AuthError::Forbidden`]).
/// `verify` checks the current password against the stored hash; a wrong current password
/// and every broken rule of the new one are refused together. `hash` hashes the new one.
pub async fn change_password<V, VF, H, HF>(
    db: &Db,
    request: WriteRequest<'_>,
    change: PasswordChange,
    verify: V,
    hash: H,
) -> Result<Written<UserId>, AuthError>
where
    V: FnOnce(String, Option<String>) -> VF,
    VF: Future<Output = Result<bool, AuthError>>,
    H: FnOnce(&Password) -> HF,
    HF: Future<Output = Result<String, AuthError>>,
{
    let user = request.actor.user_id().ok_or(AuthError::Forbidden)?;
    let row = users::get_user(db, user)
        .await?
        .ok_or(AuthError::Unauthorized)?;
    let current_hash = {
        let mut conn = db.read_conn().await?;
        users::password_hash_of(&mut conn, user).await?
    };
    let matched = verify(change.current_password, Some(current_hash)).await?;
    let mut errors = Vec::new();
    if !matched {
        errors.push(FieldError::new(
            "current_password",
            "is not the current password",
        ));
    }
    let new = Password::new(&change.new_password, Some(&row.username));
    if let Err(rules) = &new {
        errors.extend(password_errors("new_password", rules));
    }
    let (true, Ok(new)) = (errors.is_empty(), new) else {
        return Err(AuthError::Invalid(errors));
    };
    let password_hash = hash(&new).await?;
    retrying("password.change", request.is_keyed(), || {
        change_password_once(db, request, user, &password_hash)
    })
    .await
}

/// The write of [`change_password`], once: every check and the slow hash came before it, and
/// are not repeated when it runs again.
async fn change_password_once(
    db: &Db,
    request: WriteRequest<'_>,
    user: UserId,
    password_hash: &str,
) -> Result<Written<UserId>, AuthError> {
    let mut write = begin_or_replay!(db, request);
    let at = write.at();
    let revoked = set_password(write.tx(), user, password_hash, "password_changed", at).await?;
    let audit = write
        .audit_event("auth.password_changed", None)
        .on("user", user)
        .with(serde_json::json!({ "sessions_revoked": revoked }));
    Ok(write
        .finish(user, Effects::new().audit(audit), 204, Shown::nothing())
        .await?)
}

/// A reset link to mail: its user, and the token, which exists nowhere else (no `Debug`, so
/// it cannot reach a log by accident).
pub struct IssuedReset {
    pub user: UserRow,
    pub token: String,
}

/// Issues a reset token, valid for `ttl`, for the active user with this address; `None` when
/// there is none (the caller answers the same either way).
pub async fn request_password_reset(
    db: &Db,
    request: AnonymousRequest<'_>,
    email: &Email,
    ttl: Duration,
) -> Result<Option<IssuedReset>, AuthError> {
    retrying("password_reset.request", false, || {
        request_password_reset_once(db, request, email, ttl)
    })
    .await
}

async fn request_password_reset_once(
    db: &Db,
    request: AnonymousRequest<'_>,
    email: &Email,
    ttl: Duration,
) -> Result<Option<IssuedReset>, AuthError> {
    let Some(user) = users::find_active_by_email(db, &email.normalized()).await? else {
        return Ok(None);
    };
    let token = random_token();
    let mut write = AnonymousWrite::begin(db, request).await?;
    let at = write.at();
    password_resets::insert_reset(
        write.tx(),
        user.id,
        &hash_token(&token),
        request.at + ttl,
        at,
    )
    .await?;
    write.commit(Effects::new()).await?;
    Ok(Some(IssuedReset { user, token }))
}

/// A password reset as the client sent it: the link's token and the new password.
pub struct PasswordReset {
    pub token: String,
    pub new_password: String,
}

/// Sets a new password with a live reset token, spending it; `hash` hashes the new password.
/// An unknown, used or expired token is refused on `token`.
pub async fn reset_password<H, HF>(
    db: &Db,
    request: AnonymousRequest<'_>,
    clock: &dyn Clock,
    reset: PasswordReset,
    hash: H,
) -> Result<UserId, AuthError>
where
    H: FnOnce(&Password) -> HF,
    HF: Future<Output = Result<String, AuthError>>,
{
    let token_hash = hash_token(&reset.token);
    let user = password_resets::find_live_reset(db, &token_hash, request.at)
        .await?
        .ok_or_else(invalid_token)?;
    let user = users::get_user(db, user).await?.ok_or_else(invalid_token)?;
    let password = Password::new(&reset.new_password, Some(&user.username))
        .map_err(|rules| AuthError::Invalid(password_errors("new_password", &rules)))?;
    let password_hash = hash(&password).await?;
    retrying("password_reset.confirm", false, || {
        reset_password_once(db, request, clock, &token_hash, &user, &password_hash)
    })
    .await
}

/// The write of [`reset_password`], once: the token was looked up and the new password hashed
/// before it, and are not again when it runs again.
async fn reset_password_once(
    db: &Db,
    request: AnonymousRequest<'_>,
    clock: &dyn Clock,
    token_hash: &str,
    user: &UserRow,
    password_hash: &str,
) -> Result<UserId, AuthError> {
    // The link is spent at the time of the write, read after the hash: a link that expires
    // while the password is being hashed is refused, as it is when it is first looked up.
    let spent_at = AnonymousRequest {
        at: clock.now(),
        ..request
    };
    let mut write = AnonymousWrite::begin(db, spent_at).await?;
    let at = write.at();
    let spent = password_resets::consume_reset(write.tx(), token_hash, at).await?;
    if spent != Some(user.id) {
        return Err(invalid_token());
    }
    let revoked = set_password(write.tx(), user.id, password_hash, "password_reset", at).await?;
    let audit = write
        .audit_event("auth.password_reset", None)
        .by(user.id.to_string())
        .on("user", user.id)
        .with(serde_json::json!({ "sessions_revoked": revoked }));
    write.commit(Effects::new().audit(audit)).await?;
    Ok(user.id)
}

/// The refusal of a reset token that is unknown, used or expired.
fn invalid_token() -> AuthError {
    AuthError::Invalid(vec![FieldError::new(
        "token",
        "is unknown, used or expired",
    )])
}

/// Sets a user's password hash, voids every outstanding reset link of the user and revokes
/// every session (for `reason`); answers how many sessions ended.
async fn set_password(
    tx: &mut Conn,
    user: UserId,
    hash: &str,
    reason: &str,
    at: DateTime<Utc>,
) -> Result<usize, StoreError> {
    users::set_password_hash(tx, user, hash, at).await?;
    password_resets::cancel_for_user(tx, user, at).await?;
    Ok(sessions::revoke_user_sessions(tx, user, reason, at)
        .await?
        .len())
}

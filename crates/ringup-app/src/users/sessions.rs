//! Sessions: logging in, refreshing a session's tokens, logging out. Nobody is signed in for
//! any of them, so each is an [`AnonymousWrite`] whose audit events name the user once known.
//!
//! A login attempt is counted, in its own committed write, before its password is checked,
//! and forgotten on success, so guesses sent in parallel cannot all get a verdict: the attempt
//! past the limit locks the username. An unknown username is checked against a dummy hash
//! like a known one, and a wrong password, an unknown user and a deactivated user get the
//! same answer, so neither the answer nor its timing tells which.
//!
//! The outcome of a login or refresh is the session and its new refresh token; signing the
//! access token, cookies and forgetting cached sessions are the caller's (`ringup-api`).

use chrono::{DateTime, Duration, Utc};
use ringup_core::ids::SessionId;
use ringup_core::tokens::{hash_token, random_token};
use ringup_core::users::Role;
use ringup_store::platform::time;
use ringup_store::users::{self, UserRow, logins, sessions};
use ringup_store::{Db, StoreError};

use super::AuthError;
use crate::meters::{self, RateLimit};
use crate::write::{AnonymousRequest, AnonymousWrite, Effects, retrying};

/// How logins and sessions are limited; every one is a setting.
#[derive(Clone, Copy, Debug)]
pub struct SessionPolicy {
    /// Failed attempts per username within `lockout_window` before it is locked.
    pub lockout_failures: i64,
    pub lockout_window: Duration,
    pub lockout_duration: Duration,
    /// How long a refresh token (and its session) lives unless used.
    pub refresh_ttl: Duration,
}

/// A login attempt as the client sent it.
pub struct LogIn {
    pub username: String,
    pub password: String,
}

/// A session just started or renewed: its user (as the session's tokens carry it), and the new
/// refresh token, which exists nowhere else (no `Debug`, so it cannot reach a log by accident).
pub struct IssuedSession {
    pub user: UserRow,
    pub role: Role,
    pub session: SessionId,
    pub refresh_token: String,
}

/// Starts a session for a username and password. `verify` checks the password against a
/// stored hash, or, given `None` (no such username), against a dummy hash in the same time,
/// answering false. Locked usernames are refused before anything is checked.
pub async fn log_in<V, F>(
    db: &Db,
    request: AnonymousRequest<'_>,
    login: LogIn,
    policy: &SessionPolicy,
    verify: V,
) -> Result<IssuedSession, AuthError>
where
    V: FnOnce(String, Option<String>) -> F,
    F: Future<Output = Result<bool, AuthError>>,
{
    let username_key = login.username.trim().to_lowercase();
    if let Some(until) = retrying("login.count_attempt", false, || {
        count_attempt(db, request, &username_key, policy)
    })
    .await?
    {
        meters::rate_limited(RateLimit::LoginLockout);
        return Err(locked_out(request.at, &until));
    }
    let credentials = users::find_credentials(db, &username_key).await?;
    let hash = credentials.as_ref().map(|c| c.password_hash.clone());
    let matched = verify(login.password, hash).await?;
    let user = match credentials {
        Some(c) if matched && c.user.active => c.user,
        _ => {
            retrying("login.record_failure", false, || {
                record_failure(db, request, &username_key)
            })
            .await?;
            meters::login_failed();
            return Err(AuthError::Unauthorized);
        }
    };
    let role = Role::parse(&user.role).map_err(|e| StoreError::corrupt("users.role", e))?;
    let session = SessionId::new();
    let refresh = random_token();
    let expires_at = request.at + policy.refresh_ttl;
    retrying("login.start_session", false, || {
        log_in_once(
            db,
            request,
            &username_key,
            &user,
            session,
            &refresh,
            expires_at,
        )
    })
    .await?;
    Ok(IssuedSession {
        user,
        role,
        session,
        refresh_token: refresh,
    })
}

/// The write of [`log_in`], once: the attempt was counted and the password checked before it,
/// and are not again when it runs again.
async fn log_in_once(
    db: &Db,
    request: AnonymousRequest<'_>,
    username_key: &str,
    user: &UserRow,
    session: SessionId,
    refresh: &str,
    expires_at: DateTime<Utc>,
) -> Result<(), StoreError> {
    let mut write = AnonymousWrite::begin(db, request).await?;
    let at = write.at();
    logins::clear_failures(write.tx(), username_key, at).await?;
    sessions::create_session(
        write.tx(),
        &sessions::NewSession {
            id: session,
            user_id: user.id,
            ip: request.origin.ip.as_deref(),
            user_agent: request.origin.user_agent.as_deref(),
            expires_at,
            at,
        },
        &hash_token(refresh),
    )
    .await?;
    let audit = write
        .audit_event("auth.login", None)
        .by(user.id.to_string())
        .on("session", session);
    write.commit(Effects::new().audit(audit)).await
}

/// Counts a login attempt for the username; `Some(until)` when logins for it are refused
/// (this attempt may be the one that locked it, which the audit log then records).
async fn count_attempt(
    db: &Db,
    request: AnonymousRequest<'_>,
    username_key: &str,
    policy: &SessionPolicy,
) -> Result<Option<String>, StoreError> {
    let lock_until = request.at + policy.lockout_duration;
    let mut write = AnonymousWrite::begin(db, request).await?;
    let at = write.at();
    let attempt = logins::record_attempt(
        write.tx(),
        username_key,
        at,
        at - policy.lockout_window,
        policy.lockout_failures,
        lock_until,
    )
    .await?;
    // Stored times are fixed-width text, whose order is time order.
    let (now, lock_until) = (time::to_db(at), time::to_db(lock_until));
    let locked = attempt.locked_until.filter(|until| *until > now);
    let mut effects = Effects::new();
    if locked.as_deref() == Some(lock_until.as_str()) {
        effects = effects.audit(
            write
                .audit_event("auth.locked_out", None)
                .with(serde_json::json!({ "username": username_key, "locked_until": lock_until })),
        );
    }
    write.commit(effects).await?;
    Ok(locked)
}

/// Records a failed login in the audit log (whatever the reason: wrong password, unknown
/// user, deactivated user).
async fn record_failure(
    db: &Db,
    request: AnonymousRequest<'_>,
    username_key: &str,
) -> Result<(), StoreError> {
    let write = AnonymousWrite::begin(db, request).await?;
    let audit = write
        .audit_event("auth.login_failed", None)
        .with(serde_json::json!({ "username": username_key }));
    write.commit(Effects::new().audit(audit)).await
}

/// Refused until the lock ends, in whole seconds rounded up (at least one).
fn locked_out(now: DateTime<Utc>, until: &str) -> AuthError {
    let secs = time::from_db(until)
        .map(|until| {
            let millis = (until - now).num_milliseconds();
            (millis + 999).div_euclid(1000).max(1)
        })
        .unwrap_or(1);
    AuthError::LockedOut {
        retry_after_secs: u64::try_from(secs).unwrap_or(1),
    }
}

/// What presenting a refresh token did.
pub enum Refreshed {
    /// The token was live: it is spent, and the session goes on with a new one.
    Rotated(Box<IssuedSession>),
    /// The token had been spent before, so it may have been stolen: the whole session is
    /// revoked (committed, and audited). The caller forgets the session and answers as for
    /// an unknown token.
    Reused { session: SessionId },
}

/// Exchanges a refresh token for a new one. An unknown, expired or revoked token, or one whose
/// user is gone or deactivated, is [`AuthError::Unauthorized`] and changes nothing.
pub async fn refresh_session(
    db: &Db,
    request: AnonymousRequest<'_>,
    presented: &str,
    policy: &SessionPolicy,
) -> Result<Refreshed, AuthError> {
    retrying("session.refresh", false, || {
        refresh_session_once(db, request, presented, policy)
    })
    .await
}

async fn refresh_session_once(
    db: &Db,
    request: AnonymousRequest<'_>,
    presented: &str,
    policy: &SessionPolicy,
) -> Result<Refreshed, AuthError> {
    let next = random_token();
    let expires_at = request.at + policy.refresh_ttl;
    let mut write = AnonymousWrite::begin(db, request).await?;
    let at = write.at();
    let outcome = sessions::rotate_refresh(
        write.tx(),
        &hash_token(presented),
        &hash_token(&next),
        at,
        expires_at,
    )
    .await?;
    match outcome {
        sessions::Rotation::Invalid => Err(AuthError::Unauthorized),
        sessions::Rotation::Reused { session, user } => {
            let audit = write
                .audit_event("auth.refresh_reused", None)
                .by(user.to_string())
                .on("session", session);
            write.commit(Effects::new().audit(audit)).await?;
            Ok(Refreshed::Reused { session })
        }
        sessions::Rotation::Rotated { session, user } => {
            let row = users::find_user(write.tx(), user)
                .await?
                .filter(|u| u.active)
                .ok_or(AuthError::Unauthorized)?;
            write.commit(Effects::new()).await?;
            let role = Role::parse(&row.role).map_err(|e| StoreError::corrupt("users.role", e))?;
            Ok(Refreshed::Rotated(Box::new(IssuedSession {
                user: row,
                role,
                session,
                refresh_token: next,
            })))
        }
    }
}

/// Ends the session of a refresh token; `Some` when a live session ended (the caller forgets
/// it), `None` for an unknown token or a session already ended, which changes nothing.
pub async fn log_out(
    db: &Db,
    request: AnonymousRequest<'_>,
    presented: &str,
) -> Result<Option<SessionId>, AuthError> {
    retrying("session.log_out", false, || {
        log_out_once(db, request, presented)
    })
    .await
}

async fn log_out_once(
    db: &Db,
    request: AnonymousRequest<'_>,
    presented: &str,
) -> Result<Option<SessionId>, AuthError> {
    let mut write = AnonymousWrite::begin(db, request).await?;
    let at = write.at();
    let Some((session, user)) =
        sessions::session_of_refresh(write.tx(), &hash_token(presented)).await?
    else {
        return Ok(None);
    };
    if !sessions::revoke_session(write.tx(), session, "logout", at).await? {
        return Ok(None);
    }
    let audit = write
        .audit_event("auth.logout", None)
        .by(user.to_string())
        .on("session", session);
    write.commit(Effects::new().audit(audit)).await?;
    Ok(Some(session))
}

//! Sessions and their rotating refresh tokens.
//!
//! A session is one login: it lives until it expires or is revoked (logout, password change,
//! deactivation, or reuse of a spent refresh token, which revokes the whole session because the
//! token may have been stolen). Each refresh token is used at most once: spending it is a
//! conditional update (`used_at is null`), so two racing refreshes with one token cannot both
//! succeed — the loser is treated as reuse.

use chrono::{DateTime, Utc};
use sqlx::AnyConnection;

use ringup_core::ids::{SessionId, UserId};

use crate::platform::db::Db;
use crate::platform::error::StoreResult;
use crate::platform::time;

pub struct NewSession<'a> {
    pub id: SessionId,
    pub user_id: UserId,
    pub ip: Option<&'a str>,
    pub user_agent: Option<&'a str>,
    pub expires_at: DateTime<Utc>,
    pub at: DateTime<Utc>,
}

/// Starts a session with its first refresh token.
pub async fn create_session(
    conn: &mut AnyConnection,
    session: &NewSession<'_>,
    refresh_hash: &str,
) -> StoreResult<()> {
    sqlx::query(
        "insert into sessions (id, user_id, ip, user_agent, expires_at, created_at, updated_at) \
         values ($1, $2, $3, $4, $5, $6, $6)",
    )
    .bind(session.id.to_string())
    .bind(session.user_id.to_string())
    .bind(session.ip)
    .bind(session.user_agent)
    .bind(time::to_db(session.expires_at))
    .bind(time::to_db(session.at))
    .execute(&mut *conn)
    .await?;
    insert_refresh(
        conn,
        session.id,
        refresh_hash,
        &time::to_db(session.expires_at),
        &time::to_db(session.at),
    )
    .await
}

async fn insert_refresh(
    conn: &mut AnyConnection,
    session: SessionId,
    hash: &str,
    expires_at: &str,
    now: &str,
) -> StoreResult<()> {
    sqlx::query(
        "insert into refresh_tokens (id, session_id, token_hash, expires_at, created_at, updated_at) \
         values ($1, $2, $3, $4, $5, $5)",
    )
    .bind(uuid::Uuid::now_v7().to_string())
    .bind(session.to_string())
    .bind(hash)
    .bind(expires_at)
    .bind(now)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// A refresh token's session and its user.
#[derive(sqlx::FromRow)]
struct SessionOwner {
    #[sqlx(try_from = "String")]
    session_id: SessionId,
    #[sqlx(try_from = "String")]
    user_id: UserId,
}

/// A presented refresh token and the state of its session.
#[derive(sqlx::FromRow)]
struct RefreshToken {
    #[sqlx(flatten)]
    owner: SessionOwner,
    expires_at: String,
    revoked_at: Option<String>,
    session_expires_at: String,
}

#[derive(sqlx::FromRow)]
struct SessionRef {
    #[sqlx(try_from = "String")]
    id: SessionId,
}

/// What presenting a refresh token led to.
#[derive(Debug, PartialEq, Eq)]
pub enum Rotation {
    /// The token was live: it is spent and `new_hash` replaces it.
    Rotated { session: SessionId, user: UserId },
    /// The token had been spent before: the session is now revoked.
    Reused { session: SessionId, user: UserId },
    /// Unknown, expired, or its session is revoked or expired.
    Invalid,
}

/// Spends a refresh token and issues its successor in one transaction.
pub async fn rotate_refresh(
    conn: &mut AnyConnection,
    presented_hash: &str,
    new_hash: &str,
    at: DateTime<Utc>,
    new_expires_at: DateTime<Utc>,
) -> StoreResult<Rotation> {
    let now: &str = &time::to_db(at);
    let new_expires_at: &str = &time::to_db(new_expires_at);
    let row: Option<RefreshToken> = sqlx::query_as(
        "select r.session_id, r.used_at, r.expires_at, s.user_id, s.revoked_at, \
         s.expires_at as session_expires_at \
         from refresh_tokens r join sessions s on s.id = r.session_id where r.token_hash = $1",
    )
    .bind(presented_hash)
    .fetch_optional(&mut *conn)
    .await?;
    let Some(token) = row else {
        return Ok(Rotation::Invalid);
    };
    let SessionOwner {
        session_id: session,
        user_id: user,
    } = token.owner;
    if token.revoked_at.is_some()
        || token.expires_at.as_str() <= now
        || token.session_expires_at.as_str() <= now
    {
        return Ok(Rotation::Invalid);
    }
    let spent = sqlx::query(
        "update refresh_tokens set used_at = $2, updated_at = $2 \
         where token_hash = $1 and used_at is null",
    )
    .bind(presented_hash)
    .bind(now)
    .execute(&mut *conn)
    .await?
    .rows_affected();
    if spent == 0 {
        revoke_session(conn, session, "refresh_token_reused", at).await?;
        return Ok(Rotation::Reused { session, user });
    }
    insert_refresh(conn, session, new_hash, new_expires_at, now).await?;
    sqlx::query("update sessions set expires_at = $2, updated_at = $3 where id = $1")
        .bind(session.to_string())
        .bind(new_expires_at)
        .bind(now)
        .execute(&mut *conn)
        .await?;
    Ok(Rotation::Rotated { session, user })
}

/// The session a refresh token belongs to, if any (used by logout).
pub async fn session_of_refresh(
    conn: &mut AnyConnection,
    presented_hash: &str,
) -> StoreResult<Option<(SessionId, UserId)>> {
    let row: Option<SessionOwner> = sqlx::query_as(
        "select r.session_id, s.user_id from refresh_tokens r \
         join sessions s on s.id = r.session_id where r.token_hash = $1",
    )
    .bind(presented_hash)
    .fetch_optional(&mut *conn)
    .await?;
    Ok(row.map(|owner| (owner.session_id, owner.user_id)))
}

/// Revokes one session; returns false when it was already revoked or does not exist.
pub async fn revoke_session(
    conn: &mut AnyConnection,
    session: SessionId,
    reason: &str,
    at: DateTime<Utc>,
) -> StoreResult<bool> {
    let now: &str = &time::to_db(at);
    let n = sqlx::query(
        "update sessions set revoked_at = $2, revoked_reason = $3, updated_at = $2 \
         where id = $1 and revoked_at is null",
    )
    .bind(session.to_string())
    .bind(now)
    .bind(reason)
    .execute(&mut *conn)
    .await?
    .rows_affected();
    Ok(n > 0)
}

/// Revokes every live session of a user and returns their ids (for the cache).
pub async fn revoke_user_sessions(
    conn: &mut AnyConnection,
    user: UserId,
    reason: &str,
    at: DateTime<Utc>,
) -> StoreResult<Vec<SessionId>> {
    let now: &str = &time::to_db(at);
    let rows: Vec<SessionRef> = sqlx::query_as(
        "update sessions set revoked_at = $2, revoked_reason = $3, updated_at = $2 \
         where user_id = $1 and revoked_at is null returning id",
    )
    .bind(user.to_string())
    .bind(now)
    .bind(reason)
    .fetch_all(&mut *conn)
    .await?;
    Ok(rows.into_iter().map(|r| r.id).collect())
}

/// Whether a session may still authenticate requests: not revoked, not expired, and its user
/// active.
pub async fn session_is_live(db: &Db, session: SessionId, at: DateTime<Utc>) -> StoreResult<bool> {
    let now: &str = &time::to_db(at);
    let row = sqlx::query(
        "select 1 as live from sessions s join users u on u.id = s.user_id \
         where s.id = $1 and s.revoked_at is null and s.expires_at > $2 and u.active = 1",
    )
    .bind(session.to_string())
    .bind(now)
    .fetch_optional(db.reader())
    .await?;
    Ok(row.is_some())
}

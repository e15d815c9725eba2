//! Password-reset tokens: stored hashed, valid until `expires_at`, used at most once. Spending
//! one is a single conditional update, so two racing confirmations cannot both succeed.

use chrono::{DateTime, Utc};
use sqlx::AnyConnection;

use ringup_core::ids::{PasswordResetId, UserId};

use crate::platform::error::StoreResult;
use crate::platform::time;

#[derive(sqlx::FromRow)]
struct ResetOf {
    #[sqlx(try_from = "String")]
    user_id: UserId,
}

pub async fn insert_reset(
    conn: &mut AnyConnection,
    user: UserId,
    token_hash: &str,
    expires_at: DateTime<Utc>,
    at: DateTime<Utc>,
) -> StoreResult<()> {
    let expires_at: &str = &time::to_db(expires_at);
    let now: &str = &time::to_db(at);
    sqlx::query(
        "insert into password_resets (id, user_id, token_hash, expires_at, created_at, updated_at) \
         values ($1, $2, $3, $4, $5, $5)",
    )
    .bind(PasswordResetId::new().to_string())
    .bind(user.to_string())
    .bind(token_hash)
    .bind(expires_at)
    .bind(now)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// The user of a live (unused, unexpired) token, without spending it.
pub async fn find_live_reset(
    db: &crate::platform::db::Db,
    token_hash: &str,
    at: DateTime<Utc>,
) -> StoreResult<Option<UserId>> {
    let now: &str = &time::to_db(at);
    let row: Option<ResetOf> = sqlx::query_as(
        "select user_id from password_resets \
         where token_hash = $1 and used_at is null and expires_at > $2",
    )
    .bind(token_hash)
    .bind(now)
    .fetch_optional(db.reader())
    .await?;
    Ok(row.map(|r| r.user_id))
}

/// Spends a live token and returns its user; `None` when unknown, used or expired.
pub async fn consume_reset(
    conn: &mut AnyConnection,
    token_hash: &str,
    at: DateTime<Utc>,
) -> StoreResult<Option<UserId>> {
    let now: &str = &time::to_db(at);
    let row: Option<ResetOf> = sqlx::query_as(
        "update password_resets set used_at = $2, updated_at = $2 \
         where token_hash = $1 and used_at is null and expires_at > $2 returning user_id",
    )
    .bind(token_hash)
    .bind(now)
    .fetch_optional(&mut *conn)
    .await?;
    Ok(row.map(|r| r.user_id))
}

/// Spends every outstanding token of a user: a new password makes earlier reset links void.
pub async fn cancel_for_user(
    conn: &mut AnyConnection,
    user: UserId,
    at: DateTime<Utc>,
) -> StoreResult<()> {
    let now: &str = &time::to_db(at);
    sqlx::query(
        "update password_resets set used_at = $2, updated_at = $2 \
         where user_id = $1 and used_at is null",
    )
    .bind(user.to_string())
    .bind(now)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

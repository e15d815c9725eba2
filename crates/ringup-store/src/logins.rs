//! Failed logins and lockouts, per lower-cased username (whether or not such a user exists, so
//! answers reveal nothing). Kept in the database so a lockout holds across restarts and nodes.

use sqlx::{AnyConnection, Row};

use crate::db::Db;
use crate::error::StoreResult;

/// When the username is locked out until, if it is locked at `now`.
pub async fn locked_until(db: &Db, username_key: &str, now: &str) -> StoreResult<Option<String>> {
    let row = sqlx::query(
        "select locked_until from login_lockouts where username_key = $1 and locked_until > $2",
    )
    .bind(username_key)
    .bind(now)
    .fetch_optional(db.reader())
    .await?;
    Ok(row.map(|r| r.try_get("locked_until")).transpose()?)
}

/// Records a failure and returns how many failures the username has since `window_start`.
pub async fn record_failure(
    conn: &mut AnyConnection,
    username_key: &str,
    ip: Option<&str>,
    now: &str,
    window_start: &str,
) -> StoreResult<i64> {
    sqlx::query(
        "insert into login_failures (id, username_key, ip, created_at, updated_at) \
         values ($1, $2, $3, $4, $4)",
    )
    .bind(uuid::Uuid::now_v7().to_string())
    .bind(username_key)
    .bind(ip)
    .bind(now)
    .execute(&mut *conn)
    .await?;
    let row = sqlx::query(
        "select count(*) as n from login_failures where username_key = $1 and created_at > $2",
    )
    .bind(username_key)
    .bind(window_start)
    .fetch_one(&mut *conn)
    .await?;
    Ok(row.try_get("n")?)
}

/// Locks the username until `until` and forgets its failures (the lock now speaks for them).
pub async fn lock(
    conn: &mut AnyConnection,
    username_key: &str,
    until: &str,
    now: &str,
) -> StoreResult<()> {
    sqlx::query(
        "insert into login_lockouts (username_key, locked_until, created_at, updated_at) \
         values ($1, $2, $3, $3) on conflict (username_key) \
         do update set locked_until = excluded.locked_until, updated_at = excluded.updated_at",
    )
    .bind(username_key)
    .bind(until)
    .bind(now)
    .execute(&mut *conn)
    .await?;
    clear_failures(conn, username_key).await
}

/// A successful login forgets earlier failures.
pub async fn clear_failures(conn: &mut AnyConnection, username_key: &str) -> StoreResult<()> {
    sqlx::query("delete from login_failures where username_key = $1")
        .bind(username_key)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

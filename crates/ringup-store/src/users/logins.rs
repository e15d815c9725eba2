//! Login throttling per lower-cased username (whether or not such a user exists, so answers
//! reveal nothing), kept in the database so a lockout holds across restarts and nodes.
//!
//! Every attempt is counted *before* its password is checked, by one atomic upsert that also
//! decides the lock: the row lock (PostgreSQL) or the single writer (SQLite) serialises
//! concurrent attempts, so with a limit of N at most N attempts per window ever reach the
//! password check, however many arrive at once. A success resets the count.

use chrono::{DateTime, Utc};
use sqlx::AnyConnection;

use crate::platform::error::StoreResult;
use crate::platform::time;

/// What counting an attempt decided.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct Attempt {
    /// Attempts in the current window, this one included.
    pub failures: i64,
    /// Set when logins for the username are refused until then (this attempt included).
    pub locked_until: Option<String>,
}

/// Counts an attempt at `at`. A window that started at or before `window_start`, or a lock
/// that has ended, starts a new window; the attempt past `max_failures` locks the username
/// until `lock_until`. While locked, nothing changes.
pub async fn record_attempt(
    conn: &mut AnyConnection,
    username_key: &str,
    at: DateTime<Utc>,
    window_start: DateTime<Utc>,
    max_failures: i64,
    lock_until: DateTime<Utc>,
) -> StoreResult<Attempt> {
    let now: &str = &time::to_db(at);
    let window_start: &str = &time::to_db(window_start);
    let lock_until: &str = &time::to_db(lock_until);
    let attempt = sqlx::query_as(
        "insert into login_throttles \
         (username_key, window_started_at, failures, locked_until, created_at, updated_at) \
         values ($1, $2, 1, null, $2, $2) \
         on conflict (username_key) do update set \
         failures = case \
           when login_throttles.locked_until > $2 then login_throttles.failures \
           when login_throttles.window_started_at <= $3 or login_throttles.locked_until <= $2 then 1 \
           else login_throttles.failures + 1 end, \
         window_started_at = case \
           when login_throttles.locked_until > $2 then login_throttles.window_started_at \
           when login_throttles.window_started_at <= $3 or login_throttles.locked_until <= $2 then $2 \
           else login_throttles.window_started_at end, \
         locked_until = case \
           when login_throttles.locked_until > $2 then login_throttles.locked_until \
           when login_throttles.window_started_at <= $3 or login_throttles.locked_until <= $2 then null \
           when login_throttles.failures + 1 > $4 then $5 \
           else null end, \
         updated_at = $2 \
         returning failures, locked_until",
    )
    .bind(username_key)
    .bind(now)
    .bind(window_start)
    .bind(max_failures)
    .bind(lock_until)
    .fetch_one(&mut *conn)
    .await?;
    Ok(attempt)
}

/// A successful login forgets the window's failures (unless the username is locked).
pub async fn clear_failures(
    conn: &mut AnyConnection,
    username_key: &str,
    at: DateTime<Utc>,
) -> StoreResult<()> {
    let now: &str = &time::to_db(at);
    sqlx::query(
        "update login_throttles set failures = 0, window_started_at = $2, updated_at = $2 \
         where username_key = $1 and (locked_until is null or locked_until <= $2)",
    )
    .bind(username_key)
    .bind(now)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

//! Idempotency keys, one shared mechanism for every write that accepts `Idempotency-Key`.
//!
//! The key row is claimed with `insert … on conflict do nothing` inside the business
//! transaction and completed with the response before commit, so the key and the effect commit
//! together or not at all. Two racing requests with one key cannot both take effect: on
//! PostgreSQL the second insert waits on the first transaction's uncommitted row and then finds
//! it (replay) or, if the first rolled back, claims it; on SQLite the single writer serialises
//! them. Keys are scoped to the caller and kept at least until `expires_at`.

use chrono::{DateTime, Utc};
use sqlx::AnyConnection;

use crate::platform::error::StoreResult;
use crate::platform::sql::{Sql, stmt};
use crate::platform::time;

/// What claiming a key found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Claim {
    /// The key is new: it is now held by this transaction.
    Fresh,
    /// The key was used before with the same request: replay this response.
    Replay { status: u16, body: String },
    /// The key was used before with a different request.
    Mismatch,
    /// The key's first request has not finished (its row has no response yet).
    InFlight,
}

/// Claims `key` for `scope` in the caller's transaction.
pub async fn claim(
    conn: &mut impl Sql,
    scope: &str,
    key: &str,
    request_hash: &str,
    at: DateTime<Utc>,
    expires_at: DateTime<Utc>,
) -> StoreResult<Claim> {
    let now: &str = &time::to_db(at);
    let expires_at: &str = &time::to_db(expires_at);
    let inserted = conn
        .run(
            stmt(
                "insert into idempotency_keys (scope, idempotency_key, request_hash, expires_at, \
                 created_at, updated_at) values ($1, $2, $3, $4, $5, $5) \
                 on conflict (scope, idempotency_key) do nothing",
            )
            .bind(scope)
            .bind(key)
            .bind(request_hash)
            .bind(expires_at)
            .bind(now),
        )
        .await?;
    if inserted == 1 {
        return Ok(Claim::Fresh);
    }
    let claimed = conn
        .row(
            stmt(
                "select request_hash, status_code, response_body from idempotency_keys \
                 where scope = $1 and idempotency_key = $2",
            )
            .bind(scope)
            .bind(key),
        )
        .await?;
    if claimed.text("request_hash")? != request_hash {
        return Ok(Claim::Mismatch);
    }
    let stored = (
        claimed.opt_int("status_code")?,
        claimed.opt_text("response_body")?,
    );
    Ok(match stored {
        (Some(status), Some(body)) => Claim::Replay {
            status: u16::try_from(status).unwrap_or(500),
            body,
        },
        _ => Claim::InFlight,
    })
}

/// Stores the response of a fresh key, in the same transaction as the effect.
pub async fn complete(
    conn: &mut impl Sql,
    scope: &str,
    key: &str,
    status: u16,
    body: &str,
    at: DateTime<Utc>,
) -> StoreResult<()> {
    let now: &str = &time::to_db(at);
    conn.defer(
        stmt(
            "update idempotency_keys set status_code = $3, response_body = $4, updated_at = $5 \
             where scope = $1 and idempotency_key = $2",
        )
        .bind(scope)
        .bind(key)
        .bind(i64::from(status))
        .bind(body)
        .bind(now),
    )
    .await?;
    Ok(())
}

/// Deletes keys that expired before `now`; returns how many.
pub async fn purge_expired(conn: &mut AnyConnection, at: DateTime<Utc>) -> StoreResult<u64> {
    let now: &str = &time::to_db(at);
    let n = sqlx::query("delete from idempotency_keys where expires_at < $1")
        .bind(now)
        .execute(&mut *conn)
        .await?
        .rows_affected();
    Ok(n)
}

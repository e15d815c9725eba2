//! The transactional outbox: an event is a row written in the same transaction as the change it
//! reports, so it exists exactly when the change does. The relay ([`crate::events::relay`])
//! gives committed rows their stream position and marks them `delivered_at`; the stream, the
//! webhooks, the mail notifier and NATS read them from there.

use chrono::{DateTime, Utc};

use ringup_core::ids::OutboxEventId;

use crate::platform::db::Db;
use crate::platform::error::StoreResult;
use crate::platform::page::{After, Page, page_of};
use crate::platform::row::JsonText;
use crate::platform::sql::{Sql, stmt};
use crate::platform::time;

#[derive(Clone, Debug, PartialEq, sqlx::FromRow)]
pub struct OutboxRow {
    pub id: String,
    pub event_type: String,
    #[sqlx(try_from = "JsonText")]
    pub payload: serde_json::Value,
    pub created_at: String,
    pub delivered_at: Option<String>,
    pub attempts: i64,
}

/// Writes an event in the caller's transaction.
pub async fn append(
    conn: &mut impl Sql,
    event_type: &str,
    store_id: Option<&str>,
    payload: &serde_json::Value,
    at: DateTime<Utc>,
) -> StoreResult<OutboxEventId> {
    append_json(conn, event_type, store_id, &payload.to_string(), at).await
}

/// Writes an event whose payload is JSON text already (a resource as clients see it), about
/// `store_id` (`None`: an event of the whole chain, such as `product.created`).
pub async fn append_json(
    conn: &mut impl Sql,
    event_type: &str,
    store_id: Option<&str>,
    payload: &str,
    at: DateTime<Utc>,
) -> StoreResult<OutboxEventId> {
    let now: &str = &time::to_db(at);
    let id = OutboxEventId::new();
    conn.defer(
        stmt(
            "insert into outbox_events (id, event_type, store_id, payload, created_at, attempts) \
             values ($1, $2, $3, $4, $5, 0)",
        )
        .bind(id.to_string())
        .bind(event_type)
        .bind(store_id)
        .bind(payload)
        .bind(now),
    )
    .await?;
    Ok(id)
}

/// Events in the order they were written, delivered or not.
pub async fn list(db: &Db, after: Option<&After>, limit: usize) -> StoreResult<Page<OutboxRow>> {
    let events: Vec<OutboxRow> = sqlx::query_as(
        "select id, event_type, payload, created_at, delivered_at, attempts from outbox_events \
         where id > $1 order by id limit $2",
    )
    .bind(after.map(|a| a.0.clone()).unwrap_or_default())
    .bind(i64::try_from(limit).unwrap_or(i64::MAX).saturating_add(1))
    .fetch_all(db.reader())
    .await?;
    Ok(page_of(events, limit, |e| e.id.clone()))
}

/// The events not delivered yet: how many, and when the oldest was written (database time
/// text; `None` when there is none). Read through the pending index; for `/metrics`, which
/// caches it.
#[derive(Clone, Debug, PartialEq, Eq, sqlx::FromRow)]
pub struct Backlog {
    pub pending: i64,
    pub oldest: Option<String>,
}

/// The outbox's [`Backlog`] now.
pub async fn backlog(db: &Db) -> StoreResult<Backlog> {
    Ok(sqlx::query_as(
        "select cast(count(*) as bigint) as pending, min(created_at) as oldest \
         from outbox_events where delivered_at is null",
    )
    .fetch_one(db.reader())
    .await?)
}

//! Delivery attempts: one row per attempt, in lanes.
//!
//! A lane is an endpoint's events of one store (`''` for events of no store); inside it the
//! event's stream position orders the attempts, and a lane is sent from its head — its
//! pending attempt with the lowest position — on, so an endpoint receives each store's events
//! in commit order even while it fails (a later event waits for the earlier one to succeed or
//! die). A test event and a manual redelivery get a lane of their own. Claiming and recording
//! are in [`super::claims`].

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};

use crate::platform::db::{select_rows, value_rows};
use crate::platform::error::{StoreError, StoreResult};
use crate::platform::page::{After, Page, page_of};
use crate::platform::sql::{Row, Sql, stmt};
use crate::platform::time;

/// A pending attempt to insert.
#[derive(Clone, Debug)]
pub struct NewDelivery {
    pub id: String,
    pub webhook_id: String,
    pub event_id: String,
    pub event_type: String,
    pub lane: String,
    pub position: i64,
    /// The JSON to send when it is not the envelope of the outbox event `event_id` (a test
    /// event's); `None` for an outbox event, whose envelope is built when it is claimed.
    pub body: Option<String>,
}

/// Inserts first attempts, due at `at`. Several rows per statement.
pub async fn insert_first(
    tx: &mut impl Sql,
    deliveries: &[NewDelivery],
    at: DateTime<Utc>,
) -> StoreResult<()> {
    let at = time::to_db(at);
    for chunk in deliveries.chunks(INSERT_CHUNK) {
        let sql = format!(
            "insert into webhook_deliveries (id, webhook_id, event_id, event_type, lane, \
             position, body, attempt, status, created_at, next_attempt_at, first_attempt_at, \
             updated_at) values {}",
            value_rows(
                2,
                chunk.len(),
                "(?, ?, ?, ?, ?, ?, ?, 1, 'pending', $1, $1, $1, $1)"
            )
        );
        let mut query = stmt(sql).bind(at.as_str());
        for d in chunk {
            query = query
                .bind(d.id.as_str())
                .bind(d.webhook_id.as_str())
                .bind(d.event_id.as_str())
                .bind(d.event_type.as_str())
                .bind(d.lane.as_str())
                .bind(d.position)
                .bind(d.body.as_deref());
        }
        tx.run(query).await?;
    }
    open_lanes(tx, deliveries).await
}

/// Rows per insert statement (seven placeholders each).
const INSERT_CHUNK: usize = 100;

/// Gives the lanes of `deliveries` that have none a row of their own, with the lowest
/// position of their new attempts as its floor: a claim finds the lanes' heads from their rows
/// ([`super::claims`], migration 0016). A lane that has its row keeps it as it is: its floor is
/// already at or below these attempts, which come later in the stream.
///
/// `where not exists` before `on conflict`: on PostgreSQL an insert that meets an existing key
/// waits for any transaction still changing that row (a claim raising the floor), where a
/// lane seen in the snapshot is simply left out.
async fn open_lanes(tx: &mut impl Sql, deliveries: &[NewDelivery]) -> StoreResult<()> {
    let mut lanes: BTreeMap<(&str, &str), i64> = BTreeMap::new();
    for d in deliveries {
        lanes
            .entry((d.webhook_id.as_str(), d.lane.as_str()))
            .and_modify(|floor| *floor = (*floor).min(d.position))
            .or_insert(d.position);
    }
    let lanes: Vec<_> = lanes.into_iter().collect();
    for chunk in lanes.chunks(INSERT_CHUNK) {
        let sql = format!(
            "insert into webhook_lanes (webhook_id, lane, floor) \
             select v.webhook_id, v.lane, v.floor from ({}) as v where not exists \
             (select 1 from webhook_lanes l where l.webhook_id = v.webhook_id \
             and l.lane = v.lane) on conflict (webhook_id, lane) do nothing",
            select_rows(
                1,
                chunk.len(),
                "select cast(? as text) as webhook_id, cast(? as text) as lane, \
                 cast(? as bigint) as floor"
            )
        );
        let mut query = stmt(sql);
        for ((webhook_id, lane), floor) in chunk {
            query = query.bind(*webhook_id).bind(*lane).bind(*floor);
        }
        tx.run(query).await?;
    }
    Ok(())
}

/// An attempt as the delivery log shows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeliveryRow {
    pub id: String,
    pub event_id: String,
    pub event_type: String,
    pub attempt: i64,
    pub status: String,
    pub response_status: Option<i64>,
    pub latency_ms: Option<i64>,
    pub error: Option<String>,
    pub created_at: String,
    pub next_attempt_at: String,
}

impl DeliveryRow {
    fn from_row(row: &Row) -> StoreResult<DeliveryRow> {
        Ok(DeliveryRow {
            id: row.text("id")?,
            event_id: row.text("event_id")?,
            event_type: row.text("event_type")?,
            attempt: row.int("attempt")?,
            status: row.text("status")?,
            response_status: row.opt_int("response_status")?,
            latency_ms: row.opt_int("latency_ms")?,
            error: row.opt_text("error")?,
            created_at: row.text("created_at")?,
            next_attempt_at: row.text("next_attempt_at")?,
        })
    }
}

/// The lane of a test event with attempt `id`: one of its own, so it neither waits for nor
/// holds up the others.
pub fn test_lane(id: &str) -> String {
    format!("{TEST_LANE}{id}")
}

/// How the lanes of a test event and of a redelivery begin: lanes of one event, which nothing
/// is added to once it has ended but its retries (a store's lane is its id, or `''`).
const TEST_LANE: &str = "test:";
const REDELIVERY_LANE: &str = "redelivery:";

/// A page of an endpoint's attempts, newest first (ids are UUIDv7, taken as each attempt is
/// created).
pub async fn list(
    conn: &mut impl Sql,
    webhook_id: &str,
    after: Option<&After>,
    limit: usize,
) -> StoreResult<Page<DeliveryRow>> {
    let (cursor_condition, cursor) = match after {
        Some(after) => (" and id < $3", Some(after.0.clone())),
        None => ("", None),
    };
    let mut query = stmt(format!(
        "select id, event_id, event_type, attempt, status, response_status, latency_ms, error, \
         created_at, next_attempt_at from webhook_deliveries where webhook_id = $1\
         {cursor_condition} order by id desc limit $2"
    ))
    .bind(webhook_id)
    .bind(i64::try_from(limit).unwrap_or(i64::MAX).saturating_add(1));
    if let Some(cursor) = cursor {
        query = query.bind(cursor);
    }
    let rows: Vec<DeliveryRow> = conn
        .rows(query)
        .await?
        .iter()
        .map(DeliveryRow::from_row)
        .collect::<StoreResult<_>>()?;
    Ok(page_of(rows, limit, |d| d.id.clone()))
}

/// A new first attempt of an event this endpoint was sent before, due at `at`, in a lane of
/// its own; false when the endpoint never had that event, or it is gone (an attempt without
/// a body of its own is sent as its event, which must still be there).
pub async fn redeliver(
    tx: &mut impl Sql,
    webhook_id: &str,
    event_id: &str,
    id: &str,
    at: DateTime<Utc>,
) -> StoreResult<bool> {
    let at = time::to_db(at);
    let lane = format!("{REDELIVERY_LANE}{id}");
    let changed = tx
        .run(
            stmt(
                "insert into webhook_deliveries (id, webhook_id, event_id, event_type, lane, \
                 position, body, attempt, status, created_at, next_attempt_at, \
                 first_attempt_at, updated_at) select $1, webhook_id, event_id, event_type, $4, \
                 0, body, 1, 'pending', $5, $5, $5, $5 from webhook_deliveries \
                 where id = (select max(id) from webhook_deliveries \
                 where webhook_id = $2 and event_id = $3) and (body is not null \
                 or exists (select 1 from outbox_events e where e.id = $3))",
            )
            .bind(id)
            .bind(webhook_id)
            .bind(event_id)
            .bind(lane.as_str())
            .bind(at.as_str()),
        )
        .await?;
    match changed {
        0 => Ok(false),
        1 => {
            tx.run(
                stmt("insert into webhook_lanes (webhook_id, lane, floor) values ($1, $2, 0)")
                    .bind(webhook_id)
                    .bind(lane.as_str()),
            )
            .await?;
            Ok(true)
        }
        _ => Err(StoreError::corrupt("webhook_deliveries", "redelivery")),
    }
}

/// Deletes up to `limit` finished attempts (not pending) created before `before`; answers how
/// many.
pub async fn purge(tx: &mut impl Sql, before: DateTime<Utc>, limit: usize) -> StoreResult<u64> {
    tx.run(
        stmt(
            "delete from webhook_deliveries where id in (select id from webhook_deliveries \
             where status <> 'pending' and created_at < $1 order by created_at limit $2)",
        )
        .bind(time::to_db(before))
        .bind(i64::try_from(limit).unwrap_or(i64::MAX)),
    )
    .await
}

/// Deletes the rows of the lanes of one event (a test event's, a redelivery's) that have no
/// pending attempt left; answers how many. Nothing is added to such a lane once its attempt
/// has ended (its retry is added in the transaction that ends it), so none of them is needed
/// again. A store's lane is kept: the relay may be adding to it right now, unseen.
pub async fn purge_lanes(tx: &mut impl Sql) -> StoreResult<u64> {
    tx.run(
        stmt(
            "delete from webhook_lanes where (lane like $1 or lane like $2) and not exists \
             (select 1 from webhook_deliveries d where d.webhook_id = webhook_lanes.webhook_id \
             and d.lane = webhook_lanes.lane and d.status = 'pending')",
        )
        .bind(format!("{TEST_LANE}%"))
        .bind(format!("{REDELIVERY_LANE}%")),
    )
    .await
}

//! Delivery attempts: one row per attempt, in lanes.
//!
//! A lane is an endpoint's events of one store (`''` for events of no store); inside it the
//! event's stream position orders the attempts, and only the lane's head — its pending
//! attempt with the lowest position — is ever claimed, so an endpoint receives each store's
//! events in commit order even while it fails (a later event waits for the earlier one to
//! succeed or die). A test event and a manual redelivery get a lane of their own.
//!
//! Claiming ([`claim`]) leases the attempts it picks: another node (or this one, after a
//! restart) takes an attempt again only after its lease ran out, so a node killed mid-send
//! loses nothing and two live nodes never send the same attempt. On PostgreSQL the claim
//! reads with `for update of d skip locked` ([`claim_lock`]), so nodes claiming at the same
//! time pass over each other's rows instead of waiting; SQLite has one writer at a time.

use std::collections::HashMap;

use chrono::{DateTime, Utc};

use crate::platform::db::{Engine, placeholders, value_rows};
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
    pub body: String,
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
                .bind(d.body.as_str());
        }
        tx.run(query).await?;
    }
    Ok(())
}

/// Rows per insert statement (seven placeholders each).
const INSERT_CHUNK: usize = 100;

/// An attempt a worker has claimed, with what it needs to send it.
#[derive(Clone)]
pub struct Claimed {
    pub id: String,
    pub webhook_id: String,
    pub event_id: String,
    pub event_type: String,
    pub attempt: i64,
    pub body: String,
    pub first_attempt_at: String,
    pub url: String,
    pub secret: String,
    /// The rotated secret, while it still signs.
    pub previous_secret: Option<String>,
    /// The lease this claim holds; the outcome is recorded only under it.
    pub lease_until: String,
}

impl std::fmt::Debug for Claimed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Claimed")
            .field("id", &self.id)
            .field("webhook_id", &self.webhook_id)
            .field("event_id", &self.event_id)
            .field("attempt", &self.attempt)
            .finish_non_exhaustive()
    }
}

/// How a claim reads its rows: PostgreSQL locks them and skips those another node is
/// claiming; SQLite needs nothing, as its one writer runs one claim at a time.
fn claim_lock(engine: Engine) -> &'static str {
    match engine {
        Engine::Postgres => " for update of d skip locked",
        Engine::Sqlite => "",
    }
}

/// How many attempts a claim may take: in all, and per endpoint given what is in flight.
#[derive(Clone, Debug)]
pub struct Room {
    pub limit: usize,
    pub per_endpoint: usize,
    /// Attempts in flight per endpoint id.
    pub in_flight: HashMap<String, usize>,
}

impl Room {
    /// The endpoints with no room left.
    fn busy(&self) -> Vec<String> {
        self.in_flight
            .iter()
            .filter(|(_, n)| **n >= self.per_endpoint)
            .map(|(id, _)| id.clone())
            .collect()
    }

    /// Takes a place for an attempt to `webhook_id`, if there is one.
    fn take(&mut self, webhook_id: &str) -> bool {
        let n = self.in_flight.entry(webhook_id.to_owned()).or_insert(0);
        if *n >= self.per_endpoint {
            return false;
        }
        *n += 1;
        true
    }
}

/// Claims up to `room.limit` due attempts at `now` (heads of their lanes, endpoints enabled
/// and their circuit closed or due a probe, none past its endpoint's room), leasing them
/// until `lease_until`. An open circuit gets one attempt (the probe), and its next probe
/// moves to `next_probe_at`. Rows read but not taken are left as they were.
pub async fn claim(
    tx: &mut impl Sql,
    engine: Engine,
    now: DateTime<Utc>,
    lease_until: DateTime<Utc>,
    next_probe_at: DateTime<Utc>,
    mut room: Room,
) -> StoreResult<Vec<Claimed>> {
    let now_text = time::to_db(now);
    let lease_text = time::to_db(lease_until);
    let busy = room.busy();
    let limit = room.limit;
    let skip_busy = if busy.is_empty() {
        String::new()
    } else {
        format!(" and d.webhook_id not in ({})", placeholders(3, busy.len()))
    };
    let sql = format!(
        "select d.id, d.webhook_id, d.event_id, d.event_type, d.attempt, d.body, \
         d.first_attempt_at, w.url, w.secret, w.previous_secret, w.previous_secret_until, \
         w.circuit from (select webhook_id, lane, min(position) as head \
              from webhook_deliveries where status = 'pending' group by webhook_id, lane) h \
         join webhook_deliveries d on d.webhook_id = h.webhook_id and d.lane = h.lane \
              and d.position = h.head and d.status = 'pending' \
         join webhooks w on w.id = d.webhook_id \
         where (d.lease_until is null or d.lease_until <= $1) \
         and w.enabled = 1 \
         and ((w.circuit = 'closed' and d.next_attempt_at <= $1) \
              or (w.circuit = 'open' and w.next_probe_at <= $1)){skip_busy} \
         order by d.next_attempt_at, d.position limit $2{}",
        claim_lock(engine)
    );
    let mut query = stmt(sql)
        .bind(now_text.as_str())
        .bind(i64::try_from(limit).unwrap_or(i64::MAX));
    for id in &busy {
        query = query.bind(id.as_str());
    }
    let rows = tx.rows(query).await?;
    let mut claimed = Vec::with_capacity(rows.len());
    let mut probed: Vec<String> = Vec::new();
    for row in &rows {
        let webhook_id = row.text("webhook_id")?;
        let endpoint_full = room
            .in_flight
            .get(&webhook_id)
            .is_some_and(|n| *n >= room.per_endpoint);
        if endpoint_full {
            continue;
        }
        if row.text("circuit")? == "open" {
            if probed.contains(&webhook_id) {
                continue;
            }
            probed.push(webhook_id.clone());
            // Only the node that moves the probe time on sends the probe.
            let moved = tx
                .run(
                    stmt(
                        "update webhooks set next_probe_at = $2 where id = $1 \
                         and circuit = 'open' and next_probe_at <= $3",
                    )
                    .bind(webhook_id.as_str())
                    .bind(time::to_db(next_probe_at))
                    .bind(now_text.as_str()),
                )
                .await?;
            if moved != 1 {
                continue;
            }
        }
        if room.take(&webhook_id) {
            claimed.push(claimed_of(row, webhook_id, &now_text, &lease_text)?);
        }
    }
    if !claimed.is_empty() {
        let sql = format!(
            "update webhook_deliveries set lease_until = $1 where id in ({})",
            placeholders(2, claimed.len())
        );
        let mut query = stmt(sql).bind(lease_text.as_str());
        for c in &claimed {
            query = query.bind(c.id.as_str());
        }
        tx.run(query).await?;
    }
    Ok(claimed)
}

fn claimed_of(row: &Row, webhook_id: String, now: &str, lease_until: &str) -> StoreResult<Claimed> {
    let previous_secret = match row.opt_text("previous_secret_until")? {
        Some(until) if until.as_str() > now => row.opt_text("previous_secret")?,
        _ => None,
    };
    Ok(Claimed {
        id: row.text("id")?,
        webhook_id,
        event_id: row.text("event_id")?,
        event_type: row.text("event_type")?,
        attempt: row.int("attempt")?,
        body: row.text("body")?,
        first_attempt_at: row.text("first_attempt_at")?,
        url: row.text("url")?,
        secret: row.text("secret")?,
        previous_secret,
        lease_until: lease_until.to_owned(),
    })
}

/// How an attempt ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Ending {
    Succeeded,
    /// Failed; tried again at this time, with a new attempt.
    Retry(DateTime<Utc>),
    /// Failed for the last time.
    Dead,
}

/// What an attempt got back.
#[derive(Clone, Debug)]
pub struct Outcome {
    pub result: Ending,
    pub response_status: Option<i64>,
    pub latency_ms: i64,
    pub error: Option<String>,
}

/// Records `outcome` of the attempt `claimed` at `now` and updates the endpoint's circuit:
/// a success closes it, a failure counts, and `threshold` failures in a row open it with the
/// next probe at `probe_at`. Nothing is recorded when the lease was lost (the attempt was
/// claimed again after it ran out): that claim's outcome stands. Answers whether it was
/// recorded.
#[allow(clippy::too_many_arguments)]
pub async fn record(
    tx: &mut impl Sql,
    claimed: &Claimed,
    outcome: &Outcome,
    retry_id: &str,
    now: DateTime<Utc>,
    threshold: i64,
    probe_at: DateTime<Utc>,
) -> StoreResult<bool> {
    let now_text = time::to_db(now);
    let status = match outcome.result {
        Ending::Succeeded => "succeeded",
        Ending::Retry(_) => "failed",
        Ending::Dead => "dead",
    };
    let changed = tx
        .run(
            stmt(
                "update webhook_deliveries set status = $2, response_status = $3, \
                 latency_ms = $4, error = $5, lease_until = null, updated_at = $6 \
                 where id = $1 and status = 'pending' and lease_until = $7",
            )
            .bind(claimed.id.as_str())
            .bind(status)
            .bind(outcome.response_status)
            .bind(outcome.latency_ms)
            .bind(outcome.error.clone())
            .bind(now_text.as_str())
            .bind(claimed.lease_until.as_str()),
        )
        .await?;
    if changed != 1 {
        return Ok(false);
    }
    if let Ending::Retry(at) = outcome.result {
        tx.run(
            stmt(
                "insert into webhook_deliveries (id, webhook_id, event_id, event_type, lane, \
                 position, body, attempt, status, created_at, next_attempt_at, \
                 first_attempt_at, updated_at) select $2, webhook_id, event_id, event_type, \
                 lane, position, body, attempt + 1, 'pending', $3, $4, first_attempt_at, $3 \
                 from webhook_deliveries where id = $1",
            )
            .bind(claimed.id.as_str())
            .bind(retry_id)
            .bind(now_text.as_str())
            .bind(time::to_db(at)),
        )
        .await?;
    }
    if outcome.result == Ending::Succeeded {
        tx.run(
            stmt(
                "update webhooks set consecutive_failures = 0, circuit = 'closed', \
                 next_probe_at = null where id = $1 and (consecutive_failures <> 0 \
                 or circuit <> 'closed')",
            )
            .bind(claimed.webhook_id.as_str()),
        )
        .await?;
    } else {
        tx.run(
            stmt(
                "update webhooks set consecutive_failures = consecutive_failures + 1, \
                 circuit = case when consecutive_failures + 1 >= $2 then 'open' else circuit end, \
                 next_probe_at = case when consecutive_failures + 1 >= $2 then $3 \
                 else next_probe_at end where id = $1",
            )
            .bind(claimed.webhook_id.as_str())
            .bind(threshold)
            .bind(time::to_db(probe_at)),
        )
        .await?;
    }
    Ok(true)
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
/// its own; false when the endpoint never had that event.
pub async fn redeliver(
    tx: &mut impl Sql,
    webhook_id: &str,
    event_id: &str,
    id: &str,
    at: DateTime<Utc>,
) -> StoreResult<bool> {
    let at = time::to_db(at);
    let lane = format!("redelivery:{id}");
    let changed = tx
        .run(
            stmt(
                "insert into webhook_deliveries (id, webhook_id, event_id, event_type, lane, \
                 position, body, attempt, status, created_at, next_attempt_at, \
                 first_attempt_at, updated_at) select $1, webhook_id, event_id, event_type, $4, \
                 0, body, 1, 'pending', $5, $5, $5, $5 from webhook_deliveries \
                 where id = (select max(id) from webhook_deliveries \
                 where webhook_id = $2 and event_id = $3)",
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
        1 => Ok(true),
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

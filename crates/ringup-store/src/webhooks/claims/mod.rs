//! Claiming delivery attempts and recording how they went.
//!
//! A worker claims *runs*: a lane's head (its pending attempt with the lowest position) and
//! the pending attempts right behind it, in position order. It sends them one after another
//! and stops at the first failure, then records the whole run in one transaction: the ones
//! that got through and the one that failed (with its retry). A few transactions per run
//! instead of two per attempt is what lets a receiver keep up with the checkout; sending in
//! position order on one connection is what keeps each store's events in commit order.
//!
//! Claiming leases the run's head. A lane is only ever claimed through its head, so the lease
//! on the head holds the whole lane (and the followers' rows are not rewritten for it):
//! another node (or this one, after a restart) takes the lane again only after the lease ran
//! out, so a node killed mid-run loses nothing (the unrecorded attempts are
//! sent again: at least once) and two live nodes never send the same attempt. A run is
//! recorded only while its head still holds its lease. On PostgreSQL the heads are read with
//! `for update skip locked` ([`head_lock`]), so nodes claiming at the same time pass over
//! each other's lanes instead of waiting; SQLite has one writer at a time.
//!
//! An attempt of an outbox event has no body of its own: the claim builds the event's
//! envelope from `outbox_events` (copying 1.5 KB per endpoint into every attempt was most of
//! what delivery cost SQLite's one writer). The events purge spares the events of pending
//! attempts; one purged in the moment its redelivery was queued is buried (`dead`, not a
//! failure of the endpoint).

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Utc};

use crate::platform::db::{Db, Engine, placeholders};
use crate::platform::error::StoreResult;
use crate::platform::sql::{Row, Sql, Stmt, stmt};
use crate::platform::time;

mod record;
#[cfg(test)]
mod tests;

pub use record::{Delivered, Ending, Failed, Recorded, RunOutcome, record};

/// A lane's attempts a worker claimed, to send in this order, with the endpoint's address and
/// keys.
#[derive(Clone)]
pub struct Run {
    pub webhook_id: String,
    pub lane: String,
    /// The lane's floor when the run was claimed ([`lane_head`]).
    pub floor: i64,
    pub url: String,
    pub secret: String,
    /// The rotated secret, while it still signs.
    pub previous_secret: Option<String>,
    /// The lease this claim holds on the run's head (and so on its lane); outcomes are
    /// recorded only under it.
    pub lease_until: String,
    /// Head first, then the lane's next pending attempts by position.
    pub attempts: Vec<Claimed>,
}

impl std::fmt::Debug for Run {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Run")
            .field("webhook_id", &self.webhook_id)
            .field("attempts", &self.attempts)
            .finish_non_exhaustive()
    }
}

/// One attempt of a run.
#[derive(Clone, Debug)]
pub struct Claimed {
    pub id: String,
    /// The event's position in the stream (0 in the lane of a test event or a redelivery).
    pub position: i64,
    pub event_id: String,
    pub event_type: String,
    pub attempt: i64,
    pub body: String,
    pub first_attempt_at: String,
}

/// How many runs a claim may take: in all, and per endpoint given the runs in flight.
#[derive(Clone, Debug)]
pub struct Room {
    /// Runs, at most.
    pub limit: usize,
    /// Runs in flight to one endpoint, at most.
    pub per_endpoint: usize,
    /// Runs in flight per endpoint id.
    pub in_flight: HashMap<String, usize>,
    /// The (endpoint id, lane) of each run in flight: never claimed again while it runs, even
    /// if the clock jumped past its lease.
    pub lanes_in_flight: HashSet<(String, String)>,
    /// Attempts in one run, at most.
    pub run_length: usize,
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

    /// Takes a place for a run to `webhook_id`, if there is one.
    fn take(&mut self, webhook_id: &str) -> bool {
        let n = self.in_flight.entry(webhook_id.to_owned()).or_insert(0);
        if *n >= self.per_endpoint {
            return false;
        }
        *n += 1;
        true
    }
}

/// How a claim reads the heads (as `d`): PostgreSQL locks them and skips those another node
/// is claiming; SQLite needs nothing, as its one writer runs one claim at a time.
fn head_lock(engine: Engine) -> &'static str {
    match engine {
        Engine::Postgres => " for update of d skip locked",
        Engine::Sqlite => "",
    }
}

/// How the rows of a lane already held are read (the attempts behind a claimed head, the head
/// a run records under, both as `d`): PostgreSQL locks them without skipping, as skipping one
/// would send the lane out of order. No other claim can hold them (it would have needed the
/// head first), so nothing waits in practice.
fn row_lock(engine: Engine) -> &'static str {
    match engine {
        Engine::Postgres => " for update of d",
        Engine::Sqlite => "",
    }
}

/// A claim's query, planned on each run on PostgreSQL ([`Stmt::planned_each_run`]): its
/// tables start empty and grow by thousands of attempts a minute, and a plan a connection
/// kept from when they were empty read them with sequential scans (10–27 ms a look late in a
/// checkout bench run, where a plan made with the values and the tables' present size reads
/// what it needs in 0.2–0.5 ms).
fn planned(engine: Engine, sql: String) -> Stmt<'static> {
    match engine {
        Engine::Postgres => stmt(sql).planned_each_run(),
        Engine::Sqlite => stmt(sql),
    }
}

/// The head of lane `l`: its pending attempt with the lowest position, looked up from the
/// lane's floor (`{floor}`: no pending attempt of the lane is below it). One descent of the
/// pending index that lands past the lane's finished attempts: on PostgreSQL each of those
/// keeps an entry in that index until a vacuum, and a lookup from the lane's start walked
/// them all (migration 0016).
fn lane_head(floor: &str) -> String {
    format!(
        "select n.id from webhook_deliveries n where n.webhook_id = l.webhook_id \
         and n.lane = l.lane and n.status = 'pending' and n.position >= {floor} \
         order by n.position limit 1"
    )
}

/// What a claim reads of a head and its endpoint.
const HEAD_COLUMNS: &str = "d.id, d.webhook_id, d.lane, l.floor, d.position, d.event_id, \
     d.event_type, d.attempt, d.first_attempt_at, w.url, w.secret, w.previous_secret, \
     w.previous_secret_until, w.circuit";

/// What a claim reads of an attempt's body: its own, or the parts of its event's envelope
/// (`e` joined by [`EVENT_JOIN`]).
const BODY_COLUMNS: &str = "d.body, e.id as event_found, e.created_at as event_created_at, \
     e.store_id as event_store_id, e.payload as event_payload";

/// An attempt `d` without a body of its own is sent as the envelope of its outbox event.
const EVENT_JOIN: &str = "left join outbox_events e on d.body is null and e.id = d.event_id";

/// The heads a claim at `$1` may take, as `d` with its endpoint `w` and lane `l`: not
/// leased, of an enabled endpoint, due (closed circuit) or due a probe (open circuit).
/// `lanes` narrows the endpoints and lanes, `floor` is where their heads are looked up from
/// ([`lane_head`]), `joins` adds the [`EVENT_JOIN`] of a claim that reads bodies, and `lock`
/// locks the heads a claim takes ([`head_lock`]).
///
/// Each step is an index lookup whatever the statistics say: the enabled endpoints, their lanes
/// by the primary key, each lane's head by the pending index, and the head's row by its id.
/// On SQLite, `cross join` keeps that order (its planner never reorders the tables of a cross
/// join) and `d.id = (…)` is a search of the primary key. On PostgreSQL the head's row is read
/// in a lateral subquery that cannot be merged into the join (`offset 0`), so it is one
/// primary-key lookup per lane, and only the heads found claimable are locked. Left to their
/// planners, SQLite 3.51 scanned every attempt of the delivery log and probed the heads for
/// each, and PostgreSQL, whose statistics had the tables as small as when they were made,
/// hash-joined the heads against every attempt: 5 to 40 ms a look with tens of thousands of
/// attempts kept, growing with the log, where these lookups take hundredths of a millisecond
/// a lane.
fn claimable(engine: Engine, lanes: &str, floor: &str, joins: &str, lock: bool) -> String {
    let head = lane_head(floor);
    let due = "(d.lease_until is null or d.lease_until <= $1) \
         and ((w.circuit = 'closed' and d.next_attempt_at <= $1) \
              or (w.circuit = 'open' and w.next_probe_at <= $1))";
    match engine {
        Engine::Sqlite => format!(
            "from webhooks w \
             cross join webhook_lanes l \
             cross join webhook_deliveries d \
             {joins} \
             where w.enabled = 1 and l.webhook_id = w.id{lanes} and d.id = ({head}) and {due}"
        ),
        Engine::Postgres => {
            let lock = if lock { head_lock(engine) } else { "" };
            format!(
                "from webhooks w \
                 cross join webhook_lanes l \
                 cross join lateral (select d.* from webhook_deliveries d \
                     where d.id = ({head}) and {due} offset 0{lock}) d \
                 {joins} \
                 where w.enabled = 1 and l.webhook_id = w.id{lanes}"
            )
        }
    }
}

/// Whether a claim at `now` would find a head to take, read on a reader: the worker looks
/// whenever the stream moves and every second, and finding nothing should not cost a turn on
/// the writer (SQLite) or a write transaction.
pub async fn any_claimable(db: &Db, now: DateTime<Utc>) -> StoreResult<bool> {
    let mut conn = db.read_conn().await?;
    let row = conn
        .optional_row(planned(db.engine(), any_claimable_sql(db.engine())).bind(time::to_db(now)))
        .await?;
    Ok(row.is_some())
}

fn any_claimable_sql(engine: Engine) -> String {
    format!(
        "select d.id {} limit 1",
        claimable(engine, "", "l.floor", "", false)
    )
}

/// Claims up to `room.limit` runs due at `now`, leasing their attempts until `lease_until`.
/// A run starts at the head of a lane whose endpoint is enabled, whose circuit is closed (or
/// open and due a probe) and that has room; behind the head it takes the lane's next pending
/// attempts that are due and not leased, up to `room.run_length`. An open circuit gets its
/// head alone (the probe), and its next probe moves to `next_probe_at`. Rows read but not
/// taken are left as they were.
pub async fn claim(
    tx: &mut impl Sql,
    engine: Engine,
    now: DateTime<Utc>,
    lease_until: DateTime<Utc>,
    next_probe_at: DateTime<Utc>,
    mut room: Room,
) -> StoreResult<Vec<Run>> {
    let now_text = time::to_db(now);
    let lease_text = time::to_db(lease_until);
    let busy = room.busy();
    let mut query = planned(engine, claim_sql(engine, busy.len()))
        .bind(now_text.as_str())
        .bind(i64::try_from(room.limit).unwrap_or(i64::MAX));
    for id in &busy {
        query = query.bind(id.as_str());
    }
    let heads = tx.rows(query).await?;
    let mut runs = Vec::with_capacity(heads.len());
    let mut probed: Vec<String> = Vec::new();
    for head in &heads {
        let webhook_id = head.text("webhook_id")?;
        let lane = head.text("lane")?;
        if room
            .lanes_in_flight
            .contains(&(webhook_id.clone(), lane.clone()))
        {
            continue;
        }
        let open = head.text("circuit")? == "open";
        if open {
            if probed.contains(&webhook_id) {
                continue;
            }
            probed.push(webhook_id.clone());
        }
        let Some(first) = claimed_of(head)? else {
            bury(tx, head, &now_text).await?;
            continue;
        };
        if !room.take(&webhook_id) {
            continue;
        }
        if open && !move_probe(tx, &webhook_id, next_probe_at, &now_text).await? {
            continue;
        }
        let mut attempts = vec![first];
        if !open && room.run_length > 1 {
            attempts.extend(
                followers(tx, engine, head, &webhook_id, &now_text, room.run_length).await?,
            );
        }
        runs.push(run_of(
            head,
            (webhook_id, lane),
            &now_text,
            &lease_text,
            attempts,
        )?);
    }
    lease(tx, &runs, &lease_text).await?;
    Ok(runs)
}

/// The claim's query: the claimable heads at `$1`, at most `$2`, leaving out the endpoints
/// `$3…` (`busy` of them, those with no room).
fn claim_sql(engine: Engine, busy: usize) -> String {
    let skip_busy = if busy == 0 {
        String::new()
    } else {
        format!(" and w.id not in ({})", placeholders(3, busy))
    };
    format!(
        "select {HEAD_COLUMNS}, {BODY_COLUMNS} {} \
         order by d.next_attempt_at, d.position limit $2",
        claimable(engine, &skip_busy, "l.floor", EVENT_JOIN, true),
    )
}

/// The lane of `run` goes on: its next run, claimed in the transaction that records `run`
/// (so a busy lane costs one transaction per run, not two), if its head is due, not leased,
/// and its endpoint enabled with its circuit closed. `None` leaves the lane to the next claim.
pub async fn next_run(
    tx: &mut impl Sql,
    engine: Engine,
    run: &Run,
    now: DateTime<Utc>,
    lease_until: DateTime<Utc>,
    run_length: usize,
) -> StoreResult<Option<Run>> {
    let now_text = time::to_db(now);
    let lease_text = time::to_db(lease_until);
    let found = tx
        .optional_row(
            planned(engine, next_run_sql(engine))
                .bind(now_text.as_str())
                .bind(run.webhook_id.as_str())
                .bind(run.lane.as_str())
                .bind(run.attempts.last().map_or(0, |a| a.position)),
        )
        .await?;
    let Some(head) = found else {
        return Ok(None);
    };
    let Some(first) = claimed_of(&head)? else {
        // Buried; the lane's next head is left to the next claim.
        bury(tx, &head, &now_text).await?;
        return Ok(None);
    };
    let mut attempts = vec![first];
    if run_length > 1 {
        attempts
            .extend(followers(tx, engine, &head, &run.webhook_id, &now_text, run_length).await?);
    }
    let next = run_of(
        &head,
        (run.webhook_id.clone(), run.lane.clone()),
        &now_text,
        &lease_text,
        attempts,
    )?;
    lease(tx, std::slice::from_ref(&next), &lease_text).await?;
    Ok(Some(next))
}

/// The next run's head: lane `$3` of endpoint `$2`, looked up from position `$4` (the last
/// attempt of the run before: every attempt of the lane still pending is at or past it), if
/// claimable at `$1` (circuit closed).
fn next_run_sql(engine: Engine) -> String {
    format!(
        "select {HEAD_COLUMNS}, {BODY_COLUMNS} {}",
        claimable(
            engine,
            " and l.webhook_id = $2 and l.lane = $3 and w.circuit = 'closed'",
            "$4",
            EVENT_JOIN,
            true
        ),
    )
}

/// Moves an open circuit's next probe on; only the claim that moved it sends the probe.
async fn move_probe(
    tx: &mut impl Sql,
    webhook_id: &str,
    next_probe_at: DateTime<Utc>,
    now: &str,
) -> StoreResult<bool> {
    let moved = tx
        .run(
            stmt(
                "update webhooks set next_probe_at = $2 where id = $1 \
                 and circuit = 'open' and next_probe_at <= $3",
            )
            .bind(webhook_id)
            .bind(time::to_db(next_probe_at))
            .bind(now),
        )
        .await?;
    Ok(moved == 1)
}

/// The lane's pending attempts right behind `head`, in order, up to the run's length: it
/// stops before the first that is not due, is leased or has nothing to send (a run never
/// skips an attempt; the last is buried when it is a head).
async fn followers(
    tx: &mut impl Sql,
    engine: Engine,
    head: &Row,
    webhook_id: &str,
    now: &str,
    run_length: usize,
) -> StoreResult<Vec<Claimed>> {
    let sql = format!(
        "select d.id, d.position, d.event_id, d.event_type, d.attempt, d.first_attempt_at, \
         d.next_attempt_at, d.lease_until, {BODY_COLUMNS} from webhook_deliveries d \
         {EVENT_JOIN} where d.webhook_id = $1 and d.lane = $2 \
         and d.status = 'pending' and d.position > $3 \
         order by d.position limit $4{}",
        row_lock(engine)
    );
    let rows = tx
        .rows(
            planned(engine, sql)
                .bind(webhook_id)
                .bind(head.text("lane")?)
                .bind(head.int("position")?)
                .bind(i64::try_from(run_length.saturating_sub(1)).unwrap_or(i64::MAX)),
        )
        .await?;
    let mut taken = Vec::with_capacity(rows.len());
    for row in &rows {
        let due = row.text("next_attempt_at")?.as_str() <= now;
        let free = row
            .opt_text("lease_until")?
            .is_none_or(|until| until.as_str() <= now);
        if !(due && free) {
            break;
        }
        let Some(claimed) = claimed_of(row)? else {
            break;
        };
        taken.push(claimed);
    }
    Ok(taken)
}

/// Leases the head of each of `runs` until `lease_until`, and raises each lane's floor to its
/// head: every attempt of the lane still pending is at or past it, including the ones still
/// to come (later in the stream) and the retry of a head that fails (at its position).
async fn lease(tx: &mut impl Sql, runs: &[Run], lease_until: &str) -> StoreResult<()> {
    let ids: Vec<&str> = runs
        .iter()
        .filter_map(|r| r.attempts.first().map(|a| a.id.as_str()))
        .collect();
    for chunk in ids.chunks(LEASE_CHUNK) {
        let sql = format!(
            "update webhook_deliveries set lease_until = $1 where id in ({})",
            placeholders(2, chunk.len())
        );
        let mut query = stmt(sql).bind(lease_until);
        for id in chunk {
            query = query.bind(*id);
        }
        tx.run(query).await?;
    }
    for run in runs {
        let Some(head) = run.attempts.first() else {
            continue;
        };
        if head.position <= run.floor {
            continue;
        }
        tx.run(
            stmt(
                "update webhook_lanes set floor = $3 where webhook_id = $1 and lane = $2 \
                 and floor < $3",
            )
            .bind(run.webhook_id.as_str())
            .bind(run.lane.as_str())
            .bind(head.position),
        )
        .await?;
    }
    Ok(())
}

/// Ids per lease statement.
const LEASE_CHUNK: usize = 500;

/// The attempt of a row read with [`BODY_COLUMNS`]; `None` when it has nothing to send: no
/// body of its own and its event gone (purged in the moment a redelivery of it was queued).
fn claimed_of(row: &Row) -> StoreResult<Option<Claimed>> {
    let event_id = row.text("event_id")?;
    let event_type = row.text("event_type")?;
    let body = match row.opt_text("body")? {
        Some(body) => body,
        None if row.opt_text("event_found")?.is_some() => ringup_core::events::envelope(
            &event_id,
            &event_type,
            &row.text("event_created_at")?,
            row.opt_text("event_store_id")?.as_deref(),
            &row.text("event_payload")?,
        ),
        None => return Ok(None),
    };
    Ok(Some(Claimed {
        id: row.text("id")?,
        position: row.int("position")?,
        event_id,
        event_type,
        attempt: row.int("attempt")?,
        body,
        first_attempt_at: row.text("first_attempt_at")?,
    }))
}

/// Ends a head that has nothing to send ([`claimed_of`]): dead, with the reason in its error,
/// so the lane goes on behind it. Not a failure of the endpoint: its circuit is left alone.
async fn bury(tx: &mut impl Sql, head: &Row, now: &str) -> StoreResult<()> {
    tracing::warn!(
        webhook_id = %head.text("webhook_id")?,
        event_id = %head.text("event_id")?,
        "a webhook attempt's event was purged before it was sent"
    );
    tx.run(
        stmt(
            "update webhook_deliveries set status = 'dead', \
             error = 'the event was purged before it could be sent', lease_until = null, \
             updated_at = $2 where id = $1 and status = 'pending'",
        )
        .bind(head.text("id")?)
        .bind(now),
    )
    .await?;
    Ok(())
}

fn run_of(
    head: &Row,
    (webhook_id, lane): (String, String),
    now: &str,
    lease_until: &str,
    attempts: Vec<Claimed>,
) -> StoreResult<Run> {
    let previous_secret = match head.opt_text("previous_secret_until")? {
        Some(until) if until.as_str() > now => head.opt_text("previous_secret")?,
        _ => None,
    };
    Ok(Run {
        webhook_id,
        lane,
        floor: head.int("floor")?,
        url: head.text("url")?,
        secret: head.text("secret")?,
        previous_secret,
        lease_until: lease_until.to_owned(),
        attempts,
    })
}

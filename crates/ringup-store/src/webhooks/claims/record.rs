//! Recording how a claimed run went: the attempts that got through, the one that failed (with
//! its retry), and the endpoint's circuit, all under the run's lease (see [`super`]).

use chrono::{DateTime, Utc};

use super::{Run, row_lock};
use crate::platform::db::{Engine, select_rows};
use crate::platform::error::StoreResult;
use crate::platform::sql::{Sql, stmt};
use crate::platform::time;

/// How a failed attempt ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Ending {
    /// Tried again at this time, with a new attempt.
    Retry(DateTime<Utc>),
    /// Failed for the last time.
    Dead,
}

/// An attempt the receiver accepted.
#[derive(Clone, Debug)]
pub struct Delivered {
    pub id: String,
    pub response_status: i64,
    pub latency_ms: i64,
}

/// The attempt a run stopped at.
#[derive(Clone, Debug)]
pub struct Failed {
    pub id: String,
    pub result: Ending,
    pub response_status: Option<i64>,
    pub latency_ms: i64,
    pub error: String,
    /// The id of the retry's attempt, if there is one.
    pub retry_id: String,
}

/// How a run went: the attempts that got through, in order, then perhaps the one that failed;
/// the run's other attempts were not sent.
#[derive(Clone, Debug, Default)]
pub struct RunOutcome {
    pub delivered: Vec<Delivered>,
    pub failed: Option<Failed>,
}

/// What [`record`] wrote: attempts whose lease had run out are left to the claim that took
/// them next, whose outcome stands.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Recorded {
    pub succeeded: usize,
    pub failed: Option<Ending>,
}

/// Records `outcome` of `run` at `now` if its head still holds the run's lease (else nothing:
/// the claim that took the lane since stands), and updates the endpoint's circuit: a success
/// closes it, a failure counts, and `threshold` failures in a row open it with the next probe
/// at `probe_at`.
pub async fn record(
    tx: &mut impl Sql,
    engine: Engine,
    run: &Run,
    outcome: &RunOutcome,
    now: DateTime<Utc>,
    threshold: i64,
    probe_at: DateTime<Utc>,
) -> StoreResult<Recorded> {
    let now_text = time::to_db(now);
    let lease = run.lease_until.as_str();
    let mut recorded = Recorded::default();
    let Some(head) = run.attempts.first() else {
        return Ok(recorded);
    };
    let held = tx
        .optional_row(
            stmt(format!(
                "select d.id from webhook_deliveries d where d.id = $1 \
                 and d.status = 'pending' and d.lease_until = $2{}",
                row_lock(engine)
            ))
            .bind(head.id.as_str())
            .bind(lease),
        )
        .await?;
    if held.is_none() {
        return Ok(recorded);
    }
    for chunk in outcome.delivered.chunks(RECORD_CHUNK) {
        // By id alone: the run's attempts are all still pending, as the lane is held (the
        // head's lease, checked and locked above). A `status = 'pending'` here let
        // PostgreSQL, with statistics taken when few attempts were pending, read them all
        // through the pending index and hash them against the run's ids (5 ms a run behind
        // a slow endpoint's backlog).
        let sql = format!(
            "update webhook_deliveries set status = 'succeeded', \
             response_status = v.response_status, latency_ms = v.latency_ms, error = null, \
             lease_until = null, updated_at = $1 from ({}) as v \
             where webhook_deliveries.id = v.id",
            select_rows(
                2,
                chunk.len(),
                "select cast(? as text) as id, cast(? as bigint) as response_status, \
                 cast(? as bigint) as latency_ms"
            )
        );
        let mut query = stmt(sql).bind(now_text.as_str());
        for d in chunk {
            query = query
                .bind(d.id.as_str())
                .bind(d.response_status)
                .bind(d.latency_ms);
        }
        let changed = tx.run(query).await?;
        recorded.succeeded += usize::try_from(changed).unwrap_or(usize::MAX);
    }
    if let Some(failed) = &outcome.failed
        && record_failure(tx, failed, &now_text).await?
    {
        recorded.failed = Some(failed.result.clone());
    }
    // A head still pending was not sent (the run stopped first): free the lane.
    tx.run(
        stmt(
            "update webhook_deliveries set lease_until = null where id = $1 \
             and status = 'pending' and lease_until = $2",
        )
        .bind(head.id.as_str())
        .bind(lease),
    )
    .await?;
    if recorded.succeeded > 0 {
        tx.run(
            stmt(
                "update webhooks set consecutive_failures = 0, circuit = 'closed', \
                 next_probe_at = null where id = $1 and (consecutive_failures <> 0 \
                 or circuit <> 'closed')",
            )
            .bind(run.webhook_id.as_str()),
        )
        .await?;
    }
    if recorded.failed.is_some() {
        tx.run(
            stmt(
                "update webhooks set consecutive_failures = consecutive_failures + 1, \
                 circuit = case when consecutive_failures + 1 >= $2 then 'open' else circuit end, \
                 next_probe_at = case when consecutive_failures + 1 >= $2 then $3 \
                 else next_probe_at end where id = $1",
            )
            .bind(run.webhook_id.as_str())
            .bind(threshold)
            .bind(time::to_db(probe_at)),
        )
        .await?;
    }
    Ok(recorded)
}

/// Rows per success statement (three placeholders each).
const RECORD_CHUNK: usize = 200;

/// Marks the attempt failed (or dead) and, for a retry, adds the next attempt; false when it
/// was no longer pending.
async fn record_failure(tx: &mut impl Sql, failed: &Failed, now: &str) -> StoreResult<bool> {
    let status = match failed.result {
        Ending::Retry(_) => "failed",
        Ending::Dead => "dead",
    };
    let changed = tx
        .run(
            stmt(
                "update webhook_deliveries set status = $2, response_status = $3, \
                 latency_ms = $4, error = $5, lease_until = null, updated_at = $6 \
                 where id = $1 and status = 'pending'",
            )
            .bind(failed.id.as_str())
            .bind(status)
            .bind(failed.response_status)
            .bind(failed.latency_ms)
            .bind(failed.error.as_str())
            .bind(now),
        )
        .await?;
    if changed != 1 {
        return Ok(false);
    }
    if let Ending::Retry(at) = failed.result {
        tx.run(
            stmt(
                "insert into webhook_deliveries (id, webhook_id, event_id, event_type, lane, \
                 position, body, attempt, status, created_at, next_attempt_at, \
                 first_attempt_at, updated_at) select $2, webhook_id, event_id, event_type, \
                 lane, position, body, attempt + 1, 'pending', $3, $4, first_attempt_at, $3 \
                 from webhook_deliveries where id = $1",
            )
            .bind(failed.id.as_str())
            .bind(failed.retry_id.as_str())
            .bind(now)
            .bind(time::to_db(at)),
        )
        .await?;
    }
    Ok(true)
}

//! The delivery worker's use cases: claim runs of due attempts, and record how a run went
//! (the retry schedule and the circuit breaker of `ringup_core::webhooks::retry` applied).

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use ringup_core::ids::WebhookDeliveryId;
use ringup_core::webhooks::retry::{self, AfterFailure, CIRCUIT_THRESHOLD, probe_interval};
use ringup_store::webhooks::claims::{self, Delivered, Ending, Failed, RunOutcome};
pub use ringup_store::webhooks::claims::{Claimed, Room, Run};
use ringup_store::webhooks::deliveries;
use ringup_store::{Db, StoreError, Tx as _, platform::time};

/// How long a claim holds a run's attempts. A run starts no send after [`SENDING_BUDGET`],
/// and a send takes at most 10 s, so a live node records its outcome well inside the lease;
/// a killed node's attempts are sent again after it.
pub fn lease() -> chrono::Duration {
    chrono::Duration::seconds(30)
}

/// How long a run keeps starting sends; past it the run ends and the rest of its attempts go
/// back to the lane for the next claim.
pub const SENDING_BUDGET: Duration = Duration::from_secs(10);

/// Attempts in one run, at most: enough that a busy lane costs two transactions per hundred
/// events, few enough that a run stays well inside its lease on a fast receiver.
pub const RUN_LENGTH: usize = 100;

/// Claims runs due at `now`, as many as `room` allows.
pub async fn claim(db: &Db, now: DateTime<Utc>, room: Room) -> Result<Vec<Run>, StoreError> {
    if !claims::any_claimable(db, now).await? {
        return Ok(Vec::new());
    }
    // Hot writes, like the relay's: on SQLite they join the sales' batches.
    let engine = db.engine();
    db.write_direct(move |mut tx| async move {
        let runs = claims::claim(
            &mut tx,
            engine,
            now,
            now + lease(),
            now + probe_interval(),
            room,
        )
        .await?;
        tx.commit().await?;
        Ok(runs)
    })
    .await
}

/// What one send got.
#[derive(Clone, Debug)]
pub struct Attempt {
    /// A 2xx answer.
    pub succeeded: bool,
    pub response_status: Option<u16>,
    pub latency_ms: i64,
    pub error: Option<String>,
}

/// What [`record`] wrote, for the meters: attempts whose claim had lost its lease are left
/// out (the later claim's outcome stands).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Recorded {
    pub succeeded: usize,
    /// `failed` (retried later) or `dead` (given up).
    pub failed: Option<&'static str>,
}

/// Records how `run` went at `now`: `sent` are its first attempts' outcomes in order, every
/// one but perhaps the last a success (a run stops at its first failure); the run's other
/// attempts were not sent and go back to the lane. `jitter` in `[0, 1]` spreads a retry.
///
/// With `go_on`, a run that ended without a failure also claims its lane's next run in the
/// same transaction and answers it, so a busy lane costs one transaction a run.
pub async fn record(
    db: &Db,
    run: &Arc<Run>,
    sent: &[Attempt],
    now: DateTime<Utc>,
    jitter: f64,
    go_on: bool,
) -> Result<(Recorded, Option<Run>), StoreError> {
    let mut outcome = RunOutcome::default();
    for (claimed, attempt) in run.attempts.iter().zip(sent) {
        if attempt.succeeded {
            outcome.delivered.push(Delivered {
                id: claimed.id.clone(),
                response_status: attempt.response_status.map_or(0, i64::from),
                latency_ms: attempt.latency_ms,
            });
            continue;
        }
        let first = time::from_db(&claimed.first_attempt_at)
            .map_err(|e| StoreError::corrupt("webhook_deliveries", e))?;
        let result = match retry::after_failure(claimed.attempt, first, now, jitter) {
            AfterFailure::RetryAt(at) => Ending::Retry(at),
            AfterFailure::Dead => Ending::Dead,
        };
        outcome.failed = Some(Failed {
            id: claimed.id.clone(),
            result,
            response_status: attempt.response_status.map(i64::from),
            latency_ms: attempt.latency_ms,
            error: attempt.error.clone().unwrap_or_default(),
            retry_id: WebhookDeliveryId::new().to_string(),
        });
        break;
    }
    let engine = db.engine();
    let run = Arc::clone(run);
    let (recorded, next) = db
        .write_direct(move |mut tx| async move {
            let recorded = claims::record(
                &mut tx,
                engine,
                &run,
                &outcome,
                now,
                CIRCUIT_THRESHOLD,
                now + probe_interval(),
            )
            .await?;
            let next = if go_on && outcome.failed.is_none() {
                claims::next_run(&mut tx, engine, &run, now, now + lease(), RUN_LENGTH).await?
            } else {
                None
            };
            tx.commit().await?;
            Ok::<_, StoreError>((recorded, next))
        })
        .await?;
    let recorded = Recorded {
        succeeded: recorded.succeeded,
        failed: recorded.failed.map(|ending| match ending {
            Ending::Retry(_) => "failed",
            Ending::Dead => "dead",
        }),
    };
    Ok((recorded, next))
}

/// How long the delivery log keeps finished attempts (as long as the events are kept, so an
/// event can be redelivered while it exists).
pub fn retention() -> chrono::Duration {
    crate::events::retention()
}

/// Deletes finished attempts past [`retention`], a batch at a time, then the lanes of test
/// events and redeliveries that have ended; answers how many attempts.
pub async fn purge(db: &Db, now: DateTime<Utc>) -> Result<u64, StoreError> {
    let mut purged = 0;
    loop {
        let mut tx = db.begin_write().await?;
        let n = deliveries::purge(&mut *tx, now - retention(), 1_000).await?;
        ringup_store::commit(tx).await?;
        purged += n;
        if n < 1_000 {
            break;
        }
    }
    let mut tx = db.begin_write().await?;
    deliveries::purge_lanes(&mut *tx).await?;
    ringup_store::commit(tx).await?;
    Ok(purged)
}

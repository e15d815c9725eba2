//! The delivery worker's use cases: claim due attempts, and record how one ended (the retry
//! schedule and the circuit breaker of `ringup_core::webhooks::retry` applied).

use chrono::{DateTime, Utc};
use ringup_core::ids::WebhookDeliveryId;
use ringup_core::webhooks::retry::{self, AfterFailure, CIRCUIT_THRESHOLD, probe_interval};
pub use ringup_store::webhooks::deliveries::Room;
use ringup_store::webhooks::deliveries::{self, Claimed, Ending, Outcome};
use ringup_store::{Db, StoreError, platform::time};

/// How long a claim holds an attempt: longer than a send may take (10 s), so a live node
/// always records its outcome first; a killed node's attempts are sent again after it.
pub fn lease() -> chrono::Duration {
    chrono::Duration::seconds(20)
}

/// Claims due attempts at `now`, as many as `room` allows.
pub async fn claim(db: &Db, now: DateTime<Utc>, room: Room) -> Result<Vec<Claimed>, StoreError> {
    let mut tx = db.begin_write().await?;
    let claimed = deliveries::claim(
        &mut *tx,
        db.engine(),
        now,
        now + lease(),
        now + probe_interval(),
        room,
    )
    .await?;
    ringup_store::commit(tx).await?;
    Ok(claimed)
}

/// What one attempt got.
#[derive(Clone, Debug)]
pub struct Attempt {
    /// A 2xx answer.
    pub succeeded: bool,
    pub response_status: Option<u16>,
    pub latency_ms: i64,
    pub error: Option<String>,
}

/// Records `attempt` of `claimed`, ended at `now`; `jitter` in `[0, 1]` spreads the retry.
/// Answers the result (`succeeded`, `failed`: retried later, `dead`: given up), or `None`
/// when the claim's lease had run out and another claim owns the attempt.
pub async fn record(
    db: &Db,
    claimed: &Claimed,
    attempt: &Attempt,
    now: DateTime<Utc>,
    jitter: f64,
) -> Result<Option<&'static str>, StoreError> {
    let result = if attempt.succeeded {
        Ending::Succeeded
    } else {
        let first = time::from_db(&claimed.first_attempt_at)
            .map_err(|e| StoreError::corrupt("webhook_deliveries", e))?;
        match retry::after_failure(claimed.attempt, first, now, jitter) {
            AfterFailure::RetryAt(at) => Ending::Retry(at),
            AfterFailure::Dead => Ending::Dead,
        }
    };
    let label = match result {
        Ending::Succeeded => "succeeded",
        Ending::Retry(_) => "failed",
        Ending::Dead => "dead",
    };
    let outcome = Outcome {
        result,
        response_status: attempt.response_status.map(i64::from),
        latency_ms: attempt.latency_ms,
        error: attempt.error.clone(),
    };
    let mut tx = db.begin_write().await?;
    let recorded = deliveries::record(
        &mut *tx,
        claimed,
        &outcome,
        &WebhookDeliveryId::new().to_string(),
        now,
        CIRCUIT_THRESHOLD,
        now + probe_interval(),
    )
    .await?;
    ringup_store::commit(tx).await?;
    Ok(recorded.then_some(label))
}

/// How long the delivery log keeps finished attempts (as long as the events are kept, so an
/// event can be redelivered while it exists).
pub fn retention() -> chrono::Duration {
    crate::events::retention()
}

/// Deletes finished attempts past [`retention`], a batch at a time; answers how many.
pub async fn purge(db: &Db, now: DateTime<Utc>) -> Result<u64, StoreError> {
    let mut purged = 0;
    loop {
        let mut tx = db.begin_write().await?;
        let n = deliveries::purge(&mut *tx, now - retention(), 1_000).await?;
        ringup_store::commit(tx).await?;
        purged += n;
        if n < 1_000 {
            return Ok(purged);
        }
    }
}

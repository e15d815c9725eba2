//! The gauges `/metrics` reads when it is scraped rather than counts as things happen: open
//! shifts and low-stock products per store, the outbox's backlog and the age of its oldest
//! event, whether the database answers, and the space on the data directory's filesystem.
//!
//! Invariants:
//! - The database is asked at most once per [`MAX_AGE`], however many scrapes arrive: the
//!   first scrape past it refreshes while the others wait for it and then reuse what it read.
//!   A refresh that fails (or takes longer than the readiness timeout) leaves the gauges as they
//!   were, says so in the log and sets `ringup_ready` to 0, so a dead database cannot make
//!   scrapes slow or make `/metrics` itself fail.
//! - Every store gets a value on every refresh (0 when it has nothing), so a gauge never
//!   keeps a count that has since gone back to zero. Stores are labelled by code.
//! - The queries are the store layer's (`open_shifts_by_store`, `low_stock_by_store`,
//!   `outbox::backlog`), on the read pool.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use ringup_store::catalog::stores::PerStore;
use ringup_store::platform::{outbox, time};
use ringup_store::{StoreError, checkout, stock};
use tokio::sync::Mutex;

use crate::state::AppState;

/// How long what the database said is reused.
pub const MAX_AGE: Duration = Duration::from_secs(5);

pub const OPEN_SHIFTS: &str = "ringup_open_shifts";
pub const LOW_STOCK: &str = "ringup_low_stock_products";
pub const OUTBOX_BACKLOG: &str = "ringup_outbox_backlog";
pub const OUTBOX_OLDEST_AGE: &str = "ringup_outbox_oldest_age_seconds";
pub const READY: &str = "ringup_ready";
pub const DATA_DIR_FREE: &str = "ringup_data_dir_free_bytes";
pub const DATA_DIR_SIZE: &str = "ringup_data_dir_size_bytes";

/// The scrape-time gauges of one application, and when they were last read.
pub struct Figures {
    data_dir: PathBuf,
    refreshed: Mutex<Option<Instant>>,
}

impl Figures {
    /// Gauges for an application whose data directory is `data_dir`.
    pub fn new(data_dir: PathBuf) -> Figures {
        Figures {
            data_dir,
            refreshed: Mutex::new(None),
        }
    }

    /// Reads the gauges again unless they were read less than [`MAX_AGE`] ago.
    pub async fn refresh(&self, state: &AppState) {
        let mut refreshed = self.refreshed.lock().await;
        if refreshed.is_some_and(|at| at.elapsed() < MAX_AGE) {
            return;
        }
        // Marked first: a database that fails is asked again only after MAX_AGE too.
        *refreshed = Some(Instant::now());
        if super::check_readiness(state).await.is_empty() {
            let timeout = state.http.readiness_timeout;
            match tokio::time::timeout(timeout, read_database(state)).await {
                Ok(Ok(())) => {}
                Ok(Err(err)) => {
                    tracing::warn!(error = %err, "metrics: reading the database's figures failed");
                }
                Err(_) => tracing::warn!(
                    timeout_ms = timeout.as_millis(),
                    "metrics: reading the database's figures timed out"
                ),
            }
        }
        read_disk(self.data_dir.clone()).await;
    }
}

async fn read_database(state: &AppState) -> Result<(), StoreError> {
    let db = &state.db;
    let now = state.auth.clock.now();
    let shifts = checkout::shifts::open_shifts_by_store(db).await?;
    let low = stock::low_stock_by_store(db, now).await?;
    let backlog = outbox::backlog(db).await?;
    per_store(OPEN_SHIFTS, shifts);
    per_store(LOW_STOCK, low);
    metrics::gauge!(OUTBOX_BACKLOG).set(backlog.pending as f64);
    let age = match backlog.oldest.as_deref().map(time::from_db) {
        Some(Ok(oldest)) => (now - oldest).num_milliseconds().max(0) as f64 / 1000.0,
        Some(Err(_)) => {
            return Err(StoreError::corrupt(
                "outbox_events.created_at",
                "not a time",
            ));
        }
        None => 0.0,
    };
    metrics::gauge!(OUTBOX_OLDEST_AGE).set(age);
    Ok(())
}

fn per_store(name: &'static str, figures: Vec<PerStore>) {
    for PerStore { code, value } in figures {
        metrics::gauge!(name, "store" => code).set(value as f64);
    }
}

/// Free and total bytes of the filesystem holding `dir`. `statvfs` may block on a network
/// filesystem, so it runs on the blocking pool; a failure is logged and leaves the gauges.
async fn read_disk(dir: PathBuf) {
    let read = tokio::task::spawn_blocking(move || rustix::fs::statvfs(&dir)).await;
    match read {
        Ok(Ok(fs)) => {
            // f_bavail: the blocks an unprivileged process (ringup) may still use.
            let free = fs.f_bavail.saturating_mul(fs.f_frsize);
            let size = fs.f_blocks.saturating_mul(fs.f_frsize);
            metrics::gauge!(DATA_DIR_FREE).set(free as f64);
            metrics::gauge!(DATA_DIR_SIZE).set(size as f64);
        }
        Ok(Err(err)) => {
            tracing::warn!(error = %err, "metrics: statvfs of the data directory failed")
        }
        Err(err) => tracing::warn!(error = %err, "metrics: statvfs of the data directory failed"),
    }
}

/// Describes this module's gauges to the recorder.
pub fn describe() {
    use metrics::{Unit, describe_gauge};
    describe_gauge!(OPEN_SHIFTS, "Shifts open now, by store code");
    describe_gauge!(
        LOW_STOCK,
        "Active products whose available stock is at or below their low-stock threshold, by store code"
    );
    describe_gauge!(OUTBOX_BACKLOG, "Outbox events not delivered yet");
    describe_gauge!(
        OUTBOX_OLDEST_AGE,
        Unit::Seconds,
        "Age of the oldest outbox event not delivered yet (0 when there is none)"
    );
    describe_gauge!(
        READY,
        "1 when the last readiness check (by /readyz or a scrape) passed, else 0"
    );
    describe_gauge!(
        DATA_DIR_FREE,
        Unit::Bytes,
        "Bytes ringup may still write on the filesystem holding the data directory"
    );
    describe_gauge!(
        DATA_DIR_SIZE,
        Unit::Bytes,
        "Size of the filesystem holding the data directory"
    );
}

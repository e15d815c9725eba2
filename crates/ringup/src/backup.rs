//! `ringup backup`, `ringup restore` and the server's scheduled backups
//! (`RINGUP_BACKUP_EVERY`), around [`ringup_app::backup`].
//!
//! The schedule: the first backup is due one interval after the newest one already in the
//! directory (at once when there is none), each next one an interval after the last success; a
//! failed backup is logged and tried again after a shorter pause. Metrics say when the last one
//! succeeded, so an alert can fire when backups stop (`deploy/prometheus/alerts.yml`).

use std::path::Path;
use std::time::Duration;

use chrono::Utc;
use ringup_app::backup::{self, BackupError, Created};
use ringup_store::Db;
use tokio::task::JoinHandle;

use crate::settings::BackupSettings;

/// The longest wait before a failed scheduled backup is tried again.
const RETRY_AFTER_FAILURE: Duration = Duration::from_secs(300);

/// Takes one backup into `dir` and applies the retention, as the server's schedule does.
pub async fn take(db: &Db, dir: &Path, settings: &BackupSettings) -> Result<Created, BackupError> {
    let started = Utc::now();
    let outcome = backup::create(db, dir, started).await;
    match &outcome {
        Ok(created) => {
            metrics::counter!("ringup_backups_total", "result" => "ok").increment(1);
            metrics::gauge!("ringup_backup_last_success_timestamp_seconds")
                .set(started.timestamp() as f64);
            metrics::gauge!("ringup_backup_last_duration_seconds")
                .set(created.elapsed.as_secs_f64());
            metrics::gauge!("ringup_backup_last_size_bytes").set(created.bytes as f64);
            match backup::prune(dir, settings.retention, Utc::now()) {
                Ok(removed) => {
                    for path in removed {
                        tracing::info!(path = %path.display(), "old backup removed by retention");
                    }
                }
                Err(err) => tracing::warn!(error = %err, "applying backup retention failed"),
            }
        }
        Err(_) => metrics::counter!("ringup_backups_total", "result" => "error").increment(1),
    }
    outcome
}

/// Starts the server's backup schedule, when one is set. Also publishes the interval and the
/// time of the newest backup already on disk, so the backup-age alert survives a restart.
pub fn schedule(db: Db, settings: BackupSettings) -> Option<JoinHandle<()>> {
    let every = settings.every;
    metrics::gauge!("ringup_backup_interval_seconds")
        .set(every.map(|d| d.as_secs_f64()).unwrap_or(0.0));
    let newest = newest_backup(&settings.dir);
    metrics::gauge!("ringup_backup_last_success_timestamp_seconds")
        .set(newest.map(|at| at.timestamp() as f64).unwrap_or(0.0));
    let every = every?;
    Some(tokio::spawn(async move {
        let mut due = newest
            .and_then(|at| chrono::Duration::from_std(every).ok().map(|e| at + e))
            .unwrap_or_else(Utc::now);
        loop {
            let wait = (due - Utc::now()).to_std().unwrap_or_default();
            tokio::time::sleep(wait).await;
            match take(&db, &settings.dir, &settings).await {
                Ok(created) => {
                    tracing::info!(
                        path = %created.path.display(),
                        bytes = created.bytes,
                        rows = created.manifest.rows(),
                        elapsed_ms = created.elapsed.as_millis() as u64,
                        "scheduled backup written"
                    );
                    due = Utc::now() + chrono::Duration::from_std(every).unwrap_or_default();
                }
                Err(err) => {
                    tracing::error!(error = %err, "scheduled backup failed");
                    let pause = every.min(RETRY_AFTER_FAILURE);
                    due = Utc::now() + chrono::Duration::from_std(pause).unwrap_or_default();
                }
            }
        }
    }))
}

/// When the newest backup in `dir` was taken, by its name.
fn newest_backup(dir: &Path) -> Option<chrono::DateTime<Utc>> {
    std::fs::read_dir(dir)
        .ok()?
        .filter_map(Result::ok)
        .filter_map(|e| e.file_name().to_str().and_then(backup::is_backup_name))
        .max()
}

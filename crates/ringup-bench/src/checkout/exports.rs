//! Exports beside the tills: while wrk sells, `--exports` tasks of the admin ask in a loop for
//! the largest reports the API allows (the ten-year sales report by day, 3,660 rows, as PDF
//! with its chart, XLSX and CSV; the ten-year chart as PNG; the stock movements as CSV), so the
//! bench shows what the report lane lets exports cost a checkout.
//!
//! A `503` is the lane refusing an export that waited too long for a place: counted, not an
//! error. Any other answer but `200` is an error.

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Result, anyhow, bail};
use chrono::{Duration as Days, Utc};

/// The longest period a report takes (API.md: at most 3,660 days).
const DAYS: i64 = 3_659;

/// What the export tasks did while the load ran.
#[derive(Debug, Default)]
pub(super) struct ExportFigures {
    pub(super) tasks: usize,
    pub(super) done: u64,
    /// Refused by the lane (503).
    pub(super) refused: u64,
    pub(super) bytes: u64,
    /// Seconds each export took, request to last byte, with its path.
    pub(super) seconds: Vec<(usize, f64)>,
    pub(super) paths: Vec<String>,
}

impl ExportFigures {
    fn add(&mut self, other: ExportFigures) {
        self.done += other.done;
        self.refused += other.refused;
        self.bytes += other.bytes;
        self.seconds.extend(other.seconds);
    }

    /// The slowest export, in milliseconds.
    pub(super) fn max_ms(&self) -> f64 {
        self.seconds.iter().map(|(_, s)| *s).fold(0.0, f64::max) * 1_000.0
    }

    /// The median export, in milliseconds.
    pub(super) fn p50_ms(&self) -> f64 {
        median_ms(self.seconds.iter().map(|(_, s)| *s).collect())
    }

    /// Each report asked for, how many were sent and their median in milliseconds.
    pub(super) fn by_path(&self) -> Vec<(&str, usize, f64)> {
        self.paths
            .iter()
            .enumerate()
            .map(|(i, path)| {
                let times: Vec<f64> = self
                    .seconds
                    .iter()
                    .filter(|(p, _)| *p == i)
                    .map(|(_, s)| *s)
                    .collect();
                (path.as_str(), times.len(), median_ms(times))
            })
            .collect()
    }
}

fn median_ms(mut seconds: Vec<f64>) -> f64 {
    seconds.sort_by(f64::total_cmp);
    seconds
        .get(seconds.len() / 2)
        .map_or(f64::NAN, |s| s * 1_000.0)
}

/// The reports the tasks ask for, in turn.
fn paths() -> Vec<String> {
    let to = Utc::now().date_naive();
    let from = to - Days::days(DAYS);
    let period = format!("from={from}&to={to}");
    vec![
        format!("/api/v1/reports/sales?{period}&group_by=day&format=pdf"),
        format!("/api/v1/reports/sales?{period}&group_by=day&format=xlsx"),
        format!("/api/v1/reports/sales?{period}&group_by=day&format=csv"),
        format!("/api/v1/reports/sales/chart?{period}&format=png"),
        format!("/api/v1/reports/stock-movements?{period}&format=csv"),
    ]
}

/// Runs `load` while `tasks` export tasks loop over the reports with `client` (the admin's),
/// and stops them when it ends.
pub(super) async fn beside<T>(
    client: &reqwest::Client,
    base: &str,
    tasks: usize,
    load: impl Future<Output = Result<T>>,
) -> Result<(T, ExportFigures)> {
    let stop = Arc::new(AtomicBool::new(false));
    let paths = Arc::new(paths());
    let handles: Vec<_> = (0..tasks)
        .map(|task| {
            let (client, stop, paths) = (client.clone(), Arc::clone(&stop), Arc::clone(&paths));
            let base = base.to_owned();
            tokio::spawn(async move { export_loop(&client, &base, &paths, task, &stop).await })
        })
        .collect();
    let loaded = load.await;
    stop.store(true, Ordering::Relaxed);
    let mut figures = ExportFigures {
        tasks,
        paths: paths.to_vec(),
        ..ExportFigures::default()
    };
    for handle in handles {
        figures.add(handle.await.map_err(|e| anyhow!("an export task: {e}"))??);
    }
    Ok((loaded?, figures))
}

async fn export_loop(
    client: &reqwest::Client,
    base: &str,
    paths: &[String],
    task: usize,
    stop: &AtomicBool,
) -> Result<ExportFigures> {
    let mut figures = ExportFigures::default();
    // Each task starts at a different report, so the lane sees a mix.
    for (index, path) in paths.iter().enumerate().cycle().skip(task) {
        if stop.load(Ordering::Relaxed) {
            break;
        }
        let started = Instant::now();
        let response = client.get(format!("{base}{path}")).send().await?;
        let status = response.status();
        let body = response.bytes().await?;
        match status {
            reqwest::StatusCode::OK => {
                figures.done += 1;
                figures.bytes += body.len() as u64;
                figures
                    .seconds
                    .push((index, started.elapsed().as_secs_f64()));
            }
            reqwest::StatusCode::SERVICE_UNAVAILABLE => {
                figures.refused += 1;
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            other => bail!(
                "GET {path} answered {other}: {}",
                String::from_utf8_lossy(&body)
            ),
        }
    }
    Ok(figures)
}

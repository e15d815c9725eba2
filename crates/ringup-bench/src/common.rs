//! What every scenario shares: the benchmark database (a SQLite file, or a fresh PostgreSQL
//! database), the server started in-process on loopback, logging in, the closed-loop load
//! driver with its latency summary, stock seeding that keeps the ledger whole, and reading the
//! process's memory.

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use rand::SeedableRng;
use rand::rngs::StdRng;
use ringup::settings::{RawSettings, Settings};
use ringup::startup::Application;
use ringup_core::catalog::gs1_check_digit;
use ringup_core::ids::{ProductId, StoreId};
use ringup_store::{DatabaseUrl, Db, Engine, commit};
use sqlx::{Connection, Executor, PgConnection};
use tokio::sync::oneshot;

pub const ADMIN_PASSWORD: &str = "Bench-Horse-Battery-42";
/// Rows per multi-row insert when seeding.
pub const BATCH: usize = 1_000;
pub const WARM_UP: Duration = Duration::from_secs(2);

/// Where the benchmark's database lives: a SQLite file in the temporary directory, or a fresh
/// database on the server `BENCH_POSTGRES_URL` names (dropped at the end).
pub struct BenchDatabase {
    pub url: DatabaseUrl,
    admin: Option<DatabaseUrl>,
}

impl BenchDatabase {
    pub async fn create(dir: &std::path::Path) -> Result<BenchDatabase> {
        match std::env::var("BENCH_POSTGRES_URL")
            .ok()
            .filter(|v| !v.is_empty())
        {
            Some(admin) => {
                let admin = DatabaseUrl::parse(&admin).context("BENCH_POSTGRES_URL is invalid")?;
                if admin.engine() != Engine::Postgres {
                    bail!("BENCH_POSTGRES_URL must be a postgres:// URL");
                }
                let name = format!("ringup_bench_{}", uuid::Uuid::now_v7().simple());
                let mut conn = PgConnection::connect(admin.expose())
                    .await
                    .with_context(|| format!("cannot reach {admin}"))?;
                conn.execute(sqlx::AssertSqlSafe(format!("create database \"{name}\"")))
                    .await
                    .context("create the benchmark database")?;
                let _ = conn.close().await;
                Ok(BenchDatabase {
                    url: admin.with_database(&name),
                    admin: Some(admin),
                })
            }
            None => Ok(BenchDatabase {
                url: DatabaseUrl::sqlite_file(&dir.join("ringup-bench.db"))
                    .context("sqlite URL")?,
                admin: None,
            }),
        }
    }

    pub async fn drop_now(&self) {
        if let (Some(admin), Some(name)) = (&self.admin, self.url.database_name())
            && let Ok(mut conn) = PgConnection::connect(admin.expose()).await
        {
            let _ = conn
                .execute(sqlx::AssertSqlSafe(format!(
                    "drop database if exists \"{name}\" with (force)"
                )))
                .await;
            let _ = conn.close().await;
        }
    }
}

/// ringup started in-process on loopback with the binary's settings, startup, router and
/// middleware; stop it with [`Server::stop`].
pub struct Server {
    pub base: String,
    pub db: Db,
    pub admin_username: String,
    pub db_connections: u32,
    shutdown: oneshot::Sender<()>,
    handle: tokio::task::JoinHandle<std::io::Result<()>>,
}

impl Server {
    /// `db_connections`: the server's `db_max_connections`, when not its default.
    pub async fn start(
        database: &BenchDatabase,
        dir: &std::path::Path,
        db_connections: Option<u32>,
    ) -> Result<Server> {
        let defaults = RawSettings::defaults();
        let raw = RawSettings {
            bind: "127.0.0.1:0".into(),
            data_dir: dir.join("data"),
            database_url: Some(database.url.expose().to_owned()),
            log: "warn".into(),
            admin_password: Some(ADMIN_PASSWORD.into()),
            login_rate_per_minute: "100000".into(),
            db_max_connections: db_connections
                .map_or_else(|| defaults.db_max_connections.clone(), |n| n.to_string()),
            ..defaults
        };
        let settings = Settings::from_cli(&raw, false).context("settings")?;
        let admin_username = settings.admin_username.clone();
        let db_connections = settings.db_max_connections;
        let app = Application::build(settings)
            .await
            .context("the server starts")?;
        let base = format!("http://127.0.0.1:{}", app.port());
        let db = app.db().clone();
        let (shutdown, rx) = oneshot::channel::<()>();
        let handle = tokio::spawn(app.run_until(async move {
            let _ = rx.await;
        }));
        Ok(Server {
            base,
            db,
            admin_username,
            db_connections,
            shutdown,
            handle,
        })
    }

    pub async fn stop(self) -> Result<()> {
        let _ = self.shutdown.send(());
        self.handle.await??;
        Ok(())
    }
}

/// Logs in and returns the access token.
pub async fn login(base: &str, username: &str, password: &str) -> Result<String> {
    let response = reqwest::Client::new()
        .post(format!("{base}/api/v1/auth/login"))
        .json(&serde_json::json!({ "username": username, "password": password }))
        .send()
        .await?;
    if response.status() != reqwest::StatusCode::OK {
        bail!("login of {username} answered {}", response.status());
    }
    let body: serde_json::Value = response.json().await?;
    Ok(body
        .get("access_token")
        .and_then(serde_json::Value::as_str)
        .context("no access_token")?
        .to_owned())
}

/// An HTTP client that sends `token` as its bearer token, keeping `connections` idle.
pub fn bearer_client(token: &str, connections: usize) -> Result<reqwest::Client> {
    let mut headers = reqwest::header::HeaderMap::new();
    headers.insert(
        reqwest::header::AUTHORIZATION,
        format!("Bearer {token}").parse()?,
    );
    Ok(reqwest::Client::builder()
        .pool_max_idle_per_host(connections)
        .default_headers(headers)
        .build()?)
}

pub struct Outcome {
    /// Requests started after the warm-up and finished within the measured window, sorted.
    pub latencies: Vec<Duration>,
    /// Failures within the measured window.
    pub errors: u64,
    pub first_error: Option<String>,
    pub seconds: f64,
    /// Successes over the whole run, warm-up and the tail included.
    pub ok_total: u64,
    /// Failures over the whole run, warm-up and the tail included.
    pub errors_total: u64,
}

impl Outcome {
    /// The latency at quantile `q` in milliseconds (nearest rank).
    pub fn percentile(&self, q: f64) -> f64 {
        if self.latencies.is_empty() {
            return f64::NAN;
        }
        let rank =
            ((q * self.latencies.len() as f64).ceil() as usize).clamp(1, self.latencies.len());
        self.latencies
            .get(rank - 1)
            .map_or(f64::NAN, |d| d.as_secs_f64() * 1_000.0)
    }

    /// Completed requests per second of the measured window.
    pub fn throughput(&self) -> f64 {
        self.latencies.len() as f64 / self.seconds
    }

    pub fn print(&self, label: &str) {
        self.print_as(label, "requests", "req/s");
    }

    pub fn print_as(&self, label: &str, what: &str, rate: &str) {
        let max = self
            .latencies
            .last()
            .map_or(f64::NAN, |d| d.as_secs_f64() * 1_000.0);
        println!(
            "{label}\n  {} {what}, {:.0} {rate}, p50 {:.2} ms, p90 {:.2} ms, p99 {:.2} ms, max \
             {:.2} ms, errors {}{}",
            self.latencies.len(),
            self.throughput(),
            self.percentile(0.50),
            self.percentile(0.90),
            self.percentile(0.99),
            max,
            self.errors,
            self.first_error
                .as_ref()
                .map(|e| format!(" (first: {e})"))
                .unwrap_or_default()
        );
    }
}

/// A closed loop: `concurrency` tasks (task `t` gets `t` and its own seeded generator) issue
/// requests back to back for the warm-up and then `duration`; only requests started after the
/// warm-up and finished within it are timed, but every outcome is counted.
pub async fn run_load<F, Fut>(concurrency: usize, duration: Duration, request: F) -> Result<Outcome>
where
    F: Fn(usize, &mut StdRng) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<()>> + Send + 'static,
{
    let request = Arc::new(request);
    let begin = Instant::now();
    let measure_from = begin + WARM_UP;
    let end = measure_from + duration;
    let mut tasks = Vec::with_capacity(concurrency);
    for t in 0..concurrency {
        let request = Arc::clone(&request);
        tasks.push(tokio::spawn(async move {
            let mut rng = StdRng::seed_from_u64(1_000 + t as u64);
            let mut latencies = Vec::with_capacity(64 * 1024);
            let (mut errors, mut ok_total, mut errors_total) = (0u64, 0u64, 0u64);
            let mut first_error = None;
            loop {
                let started = Instant::now();
                if started >= end {
                    break;
                }
                let outcome = request(t, &mut rng).await;
                let finished = Instant::now();
                let measured = started >= measure_from && finished <= end;
                match outcome {
                    Ok(()) => {
                        ok_total += 1;
                        if measured {
                            latencies.push(finished - started);
                        }
                    }
                    Err(e) => {
                        errors_total += 1;
                        if measured {
                            errors += 1;
                        }
                        first_error.get_or_insert_with(|| format!("{e:#}"));
                    }
                }
            }
            (latencies, errors, first_error, ok_total, errors_total)
        }));
    }
    let mut outcome = Outcome {
        latencies: Vec::new(),
        errors: 0,
        first_error: None,
        seconds: duration.as_secs_f64(),
        ok_total: 0,
        errors_total: 0,
    };
    for task in tasks {
        let (latencies, errors, first_error, ok_total, errors_total) =
            task.await.context("load task")?;
        outcome.latencies.extend(latencies);
        outcome.errors += errors;
        outcome.ok_total += ok_total;
        outcome.errors_total += errors_total;
        if outcome.first_error.is_none() {
            outcome.first_error = first_error;
        }
    }
    outcome.latencies.sort_unstable();
    Ok(outcome)
}

/// Receives `units` of every product in `store`: the levels in one statement, the movements
/// (`receiving`, so the ledger adds up) in multi-row statements of `BATCH` rows.
pub async fn seed_stock(
    db: &Db,
    store: StoreId,
    products: &[ProductId],
    units: i64,
    at: chrono::DateTime<chrono::Utc>,
) -> Result<()> {
    let now = &ringup_store::platform::time::to_db(at);
    let mut tx = db.begin_write().await?;
    sqlx::query(
        "insert into stock_levels (store_id, product_id, on_hand, updated_at) \
         select $1, id, $2, $3 from products",
    )
    .bind(store.to_string())
    .bind(units)
    .bind(now)
    .execute(&mut *tx)
    .await?;
    for chunk in products.chunks(BATCH) {
        let values: Vec<String> = (0..chunk.len())
            .map(|i| {
                format!(
                    "(${}, $1, ${}, $2, 'receiving', 'adjustment', $3)",
                    4 + 2 * i,
                    5 + 2 * i
                )
            })
            .collect();
        let sql = sqlx::AssertSqlSafe(format!(
            "insert into stock_movements (id, store_id, product_id, delta, kind, ref_type, \
             created_at) values {}",
            values.join(", ")
        ));
        let mut query = sqlx::query(sql)
            .bind(store.to_string())
            .bind(units)
            .bind(now.to_owned());
        for product in chunk {
            query = query
                .bind(ringup_core::ids::StockMovementId::new().to_string())
                .bind(product.to_string());
        }
        query.execute(&mut *tx).await?;
    }
    commit(tx).await?;
    Ok(())
}

/// Refreshes PostgreSQL's statistics (plans made on empty tables stay bad); nothing on SQLite.
pub async fn analyze(db: &Db) -> Result<()> {
    if db.engine() == Engine::Postgres {
        let mut tx = db.begin_write().await?;
        sqlx::query("analyze").execute(&mut *tx).await?;
        commit(tx).await?;
    }
    Ok(())
}

/// A valid EAN-13 for product `n`: the in-store prefix 20, ten digits of `n`, the check digit.
pub fn ean13(n: usize) -> String {
    let body = format!("20{:010}", n % 10_000_000_000);
    let digits: Vec<u8> = body.bytes().map(|b| b - b'0').collect();
    format!("{body}{}", gs1_check_digit(&digits))
}

/// A line of `/proc/self/status` (e.g. `VmRSS:`), without its label.
pub fn proc_status(label: &str) -> Option<String> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    status
        .lines()
        .find_map(|line| line.strip_prefix(label))
        .map(|v| v.trim().to_owned())
}

/// A `/proc/self/status` size line (`VmHWM:`, `VmRSS:`) in MiB.
pub fn proc_status_mib(label: &str) -> Option<f64> {
    let value = proc_status(label)?;
    let kib: f64 = value.strip_suffix("kB")?.trim().parse().ok()?;
    Some(kib / 1024.0)
}

/// Resets the process's peak RSS (`VmHWM`) to its current RSS (Linux: `5` to
/// `/proc/self/clear_refs`); `false` if the kernel refused.
pub fn reset_peak_rss() -> bool {
    std::fs::write("/proc/self/clear_refs", "5").is_ok()
}

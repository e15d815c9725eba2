//! `ringup-bench`: load benchmarks for ringup, run against the real server started in-process
//! on loopback (same settings, startup, router and middleware as the binary).
//!
//! `ringup-bench catalog` seeds 20 stores and a global catalog of products, then measures
//! barcode lookup and a 50-item product page over HTTP at a fixed concurrency.

// A benchmark binary: failing loudly on a broken setup is the right behaviour.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use clap::{Parser, Subcommand};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use ringup::settings::{RawSettings, Settings};
use ringup::startup::Application;
use ringup_core::catalog::gs1_check_digit;
use ringup_core::ids::{ProductId, StoreId, TaxClassId};
use ringup_core::rate::RateBp;
use ringup_store::products::{ProductValues, insert_product};
use ringup_store::stores::{NewStoreRow, insert_store};
use ringup_store::{DatabaseUrl, Db, Engine, commit};
use sqlx::{Connection, Executor, PgConnection};
use tokio::sync::oneshot;

const ADMIN_PASSWORD: &str = "Bench-Horse-Battery-42";
const STORES: usize = 20;
const BATCH: usize = 1_000;
const PAGE_SIZE: usize = 50;
const CURSORS: usize = 200;
const WARM_UP: Duration = Duration::from_secs(2);

#[derive(Parser)]
#[command(
    name = "ringup-bench",
    about = "Load benchmarks for ringup over HTTP on loopback"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Barcode lookup and a 50-item product page against a seeded catalog.
    Catalog {
        /// Measured seconds per scenario (after a 2 s warm-up).
        #[arg(long, default_value_t = 10)]
        seconds: u64,
        /// Concurrent closed-loop clients.
        #[arg(long, default_value_t = 32)]
        concurrency: usize,
        /// Products in the catalog.
        #[arg(long, default_value_t = 100_000)]
        products: usize,
    },
}

#[tokio::main]
async fn main() -> Result<()> {
    match Cli::parse().command {
        Command::Catalog {
            seconds,
            concurrency,
            products,
        } => catalog(seconds, concurrency.max(1), products.max(1)).await,
    }
}

/// Where the benchmark's database lives: a SQLite file in the temporary directory, or a fresh
/// database on the server `BENCH_POSTGRES_URL` names (dropped at the end).
struct BenchDatabase {
    url: DatabaseUrl,
    admin: Option<DatabaseUrl>,
}

impl BenchDatabase {
    async fn create(dir: &std::path::Path) -> Result<BenchDatabase> {
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

    async fn drop_now(&self) {
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

async fn catalog(seconds: u64, concurrency: usize, products: usize) -> Result<()> {
    let dir = tempfile::tempdir().context("temporary directory")?;
    let database = BenchDatabase::create(dir.path()).await?;
    let result = catalog_on(&database, dir.path(), seconds, concurrency, products).await;
    database.drop_now().await;
    result
}

async fn catalog_on(
    database: &BenchDatabase,
    dir: &std::path::Path,
    seconds: u64,
    concurrency: usize,
    products: usize,
) -> Result<()> {
    let raw = RawSettings {
        bind: "127.0.0.1:0".into(),
        data_dir: dir.join("data"),
        database_url: Some(database.url.expose().to_owned()),
        log: "warn".into(),
        admin_password: Some(ADMIN_PASSWORD.into()),
        login_rate_per_minute: "100000".into(),
        ..RawSettings::defaults()
    };
    let settings = Settings::from_cli(&raw, false).context("settings")?;
    let admin_username = settings.admin_username.clone();
    let db_connections = settings.db_max_connections;
    let app = Application::build(settings)
        .await
        .context("the server starts")?;
    let base = format!("http://127.0.0.1:{}", app.port());
    let db = app.db().clone();
    let engine = db.engine();
    let (shutdown, rx) = oneshot::channel::<()>();
    let server = tokio::spawn(app.run_until(async move {
        let _ = rx.await;
    }));

    println!(
        "ringup-bench catalog: engine {}, {} stores, {} products, concurrency {}, {} s per \
         scenario after {} s warm-up, server db_max_connections {}",
        engine.name(),
        STORES,
        products,
        concurrency,
        seconds,
        WARM_UP.as_secs(),
        db_connections
    );

    let token = login(&base, &admin_username).await?;

    let started = Instant::now();
    let (barcodes, stores) = seed(&db, products).await?;
    println!(
        "seeded {} stores, 1 tax class, {} products, and every product stocked in every store \
         ({} stock levels, each with its receiving movement) in {:.2} s ({} rows per \
         transaction{})",
        STORES,
        barcodes.len(),
        barcodes.len() * STORES,
        started.elapsed().as_secs_f64(),
        BATCH,
        if engine == Engine::Postgres {
            ", then analyze"
        } else {
            ""
        }
    );

    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(concurrency)
        .default_headers({
            let mut headers = reqwest::header::HeaderMap::new();
            headers.insert(
                reqwest::header::AUTHORIZATION,
                format!("Bearer {token}").parse()?,
            );
            headers
        })
        .build()?;

    let started = Instant::now();
    let cursors = collect_cursors(&client, &base, products).await?;
    println!(
        "page cursors: walked all {} pages of {} from the start in {:.2} s and kept {} cursors \
         spread evenly over the catalog; each page request picks one at random",
        products.div_ceil(PAGE_SIZE),
        PAGE_SIZE,
        started.elapsed().as_secs_f64(),
        cursors.len()
    );

    let duration = Duration::from_secs(seconds);
    let barcodes = Arc::new(barcodes);
    let barcode = run_scenario(&client, concurrency, duration, {
        let base = base.clone();
        move |client, rng| {
            let code = barcodes[rng.random_range(0..barcodes.len())].clone();
            let url = format!("{base}/api/v1/products?barcode={code}");
            async move {
                let response = client.get(url).send().await?;
                if response.status() != reqwest::StatusCode::OK {
                    bail!("status {}", response.status());
                }
                let body: serde_json::Value = response.json().await?;
                let items = body["items"].as_array().context("no items")?;
                if items.len() != 1 || items[0]["barcode"].as_str() != Some(code.as_str()) {
                    bail!("{} items for barcode {code}", items.len());
                }
                Ok(())
            }
        }
    })
    .await;
    barcode.print("barcode lookup  GET /api/v1/products?barcode=<random existing EAN-13>");

    let cursors = Arc::new(cursors);
    let page = run_scenario(&client, concurrency, duration, {
        let base = base.clone();
        let cursors = cursors.clone();
        move |client, rng| {
            let cursor = &cursors[rng.random_range(0..cursors.len())];
            let url = match cursor {
                Some(c) => format!("{base}/api/v1/products?limit={PAGE_SIZE}&cursor={c}"),
                None => format!("{base}/api/v1/products?limit={PAGE_SIZE}"),
            };
            async move {
                let response = client.get(url).send().await?;
                if response.status() != reqwest::StatusCode::OK {
                    bail!("status {}", response.status());
                }
                let body: serde_json::Value = response.json().await?;
                let items = body["items"].as_array().context("no items")?;
                if items.len() != PAGE_SIZE {
                    bail!("{} items on a page", items.len());
                }
                Ok(())
            }
        }
    })
    .await;
    page.print("product page    GET /api/v1/products?limit=50&cursor=<random page start>");

    let stores = Arc::new(stores);
    let stock = run_scenario(&client, concurrency, duration, {
        let base = base.clone();
        let cursors = cursors.clone();
        move |client, rng| {
            let store = stores[rng.random_range(0..stores.len())];
            // A product page's cursor is a product id, and so is a stock page's.
            let cursor = &cursors[rng.random_range(0..cursors.len())];
            let url = match cursor {
                Some(c) => {
                    format!("{base}/api/v1/stores/{store}/stock?limit={PAGE_SIZE}&cursor={c}")
                }
                None => format!("{base}/api/v1/stores/{store}/stock?limit={PAGE_SIZE}"),
            };
            async move {
                let response = client.get(url).send().await?;
                if response.status() != reqwest::StatusCode::OK {
                    bail!("status {}", response.status());
                }
                let body: serde_json::Value = response.json().await?;
                let items = body["items"].as_array().context("no items")?;
                if items.len() != PAGE_SIZE {
                    bail!("{} items on a stock page", items.len());
                }
                Ok(())
            }
        }
    })
    .await;
    stock.print("stock page      GET /api/v1/stores/<random>/stock?limit=50&cursor=<random>");

    println!(
        "process memory: {} (peak {}) — the server runs in-process, so this includes the load \
         generator and the seeding",
        proc_status("VmRSS:").unwrap_or_else(|| "unknown".into()),
        proc_status("VmHWM:").unwrap_or_else(|| "unknown".into()),
    );

    let _ = shutdown.send(());
    server.await??;

    println!(
        "catalog {}: barcode p50 {:.2} ms p99 {:.2} ms, page p50 {:.2} ms p99 {:.2} ms, \
         stock page p50 {:.2} ms p99 {:.2} ms",
        engine.name(),
        barcode.percentile(0.50),
        barcode.percentile(0.99),
        page.percentile(0.50),
        page.percentile(0.99),
        stock.percentile(0.50),
        stock.percentile(0.99)
    );
    Ok(())
}

async fn login(base: &str, username: &str) -> Result<String> {
    let response = reqwest::Client::new()
        .post(format!("{base}/api/v1/auth/login"))
        .json(&serde_json::json!({ "username": username, "password": ADMIN_PASSWORD }))
        .send()
        .await?;
    if response.status() != reqwest::StatusCode::OK {
        bail!("login answered {}", response.status());
    }
    let body: serde_json::Value = response.json().await?;
    Ok(body["access_token"]
        .as_str()
        .context("no access_token")?
        .to_owned())
}

const ADJECTIVES: [&str; 16] = [
    "Organic", "Classic", "Fresh", "Crunchy", "Spicy", "Sweet", "Smoked", "Golden", "Creamy",
    "Wild", "Roasted", "Light", "Dark", "Salted", "Tangy", "Rustic",
];
const NOUNS: [&str; 16] = [
    "Apple",
    "Bread",
    "Coffee",
    "Tea",
    "Cheese",
    "Butter",
    "Yogurt",
    "Honey",
    "Pasta",
    "Rice",
    "Salsa",
    "Cookies",
    "Granola",
    "Juice",
    "Chocolate",
    "Almonds",
];

/// Seeds the stores, one tax class, the products, and a receiving of every product in every
/// store (a level and its movement, as the ledger requires); returns every product's barcode
/// and the stores.
async fn seed(db: &Db, products: usize) -> Result<(Vec<String>, Vec<StoreId>)> {
    let now = ringup_store::time::to_db(chrono::Utc::now());
    let tax_class = TaxClassId::new();
    let stores: Vec<StoreId> = (0..STORES).map(|_| StoreId::new()).collect();
    {
        let mut tx = db.begin_write().await?;
        for (i, id) in stores.iter().enumerate() {
            let code = format!("S{i:02}");
            let name = format!("Store {i:02}");
            insert_store(
                &mut tx,
                &NewStoreRow {
                    id: *id,
                    code: &code,
                    name: &name,
                    currency: "EUR",
                    timezone: "Europe/Berlin",
                    prices_include_tax: true,
                    allow_negative_stock: false,
                    now: &now,
                },
            )
            .await?;
        }
        ringup_store::tax_classes::insert_tax_class(
            &mut tx,
            tax_class,
            "Standard",
            RateBp::new(1_900)?,
            &now,
        )
        .await?;
        commit(tx).await?;
    }

    let mut barcodes = Vec::with_capacity(products);
    let mut product_ids = Vec::with_capacity(products);
    let mut rng = StdRng::seed_from_u64(7);
    for start in (0..products).step_by(BATCH) {
        let mut tx = db.begin_write().await?;
        for n in start..(start + BATCH).min(products) {
            let id = ProductId::new();
            product_ids.push(id);
            let barcode = ean13(n);
            let sku = format!("SKU-{n:07}");
            let name = format!(
                "{} {} {n}",
                ADJECTIVES[rng.random_range(0..ADJECTIVES.len())],
                NOUNS[rng.random_range(0..NOUNS.len())]
            );
            let price = rng.random_range(50..10_000);
            insert_product(
                &mut tx,
                id,
                &ProductValues {
                    sku: &sku,
                    barcode: Some(&barcode),
                    name: &name,
                    category_id: None,
                    price,
                    cost: price / 2,
                    tax_class_id: tax_class,
                    low_stock_threshold: 5,
                    active: true,
                },
                &now,
            )
            .await?;
            barcodes.push(barcode);
        }
        commit(tx).await?;
    }

    for store in &stores {
        seed_stock(db, *store, &product_ids, &now).await?;
    }

    if db.engine() == Engine::Postgres {
        let mut tx = db.begin_write().await?;
        sqlx::query("analyze").execute(&mut *tx).await?;
        commit(tx).await?;
    }
    Ok((barcodes, stores))
}

/// Units every product is received with in every store.
const SEEDED_UNITS: i64 = 100;

/// Receives `SEEDED_UNITS` of every product in `store`: the levels in one statement, the
/// movements in multi-row statements of `BATCH` rows.
async fn seed_stock(db: &Db, store: StoreId, products: &[ProductId], now: &str) -> Result<()> {
    let mut tx = db.begin_write().await?;
    sqlx::query(
        "insert into stock_levels (store_id, product_id, on_hand, updated_at) \
         select $1, id, $2, $3 from products",
    )
    .bind(store.to_string())
    .bind(SEEDED_UNITS)
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
            .bind(SEEDED_UNITS)
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

/// A valid EAN-13 for product `n`: the in-store prefix 20, ten digits of `n`, the check digit.
fn ean13(n: usize) -> String {
    let body = format!("20{:010}", n % 10_000_000_000);
    let digits: Vec<u8> = body.bytes().map(|b| b - b'0').collect();
    format!("{body}{}", gs1_check_digit(&digits))
}

/// Walks every page from the start and keeps `CURSORS` page starts spread evenly over the
/// catalog (`None` is the first page); pages shorter than `PAGE_SIZE` are left out.
async fn collect_cursors(
    client: &reqwest::Client,
    base: &str,
    products: usize,
) -> Result<Vec<Option<String>>> {
    let full_pages = products / PAGE_SIZE;
    let every = (full_pages / CURSORS).max(1);
    let mut kept = Vec::new();
    let mut cursor: Option<String> = None;
    for page in 0..full_pages {
        if page % every == 0 && kept.len() < CURSORS {
            kept.push(cursor.clone());
        }
        let url = match &cursor {
            Some(c) => format!("{base}/api/v1/products?limit={PAGE_SIZE}&cursor={c}"),
            None => format!("{base}/api/v1/products?limit={PAGE_SIZE}"),
        };
        let response = client.get(url).send().await?;
        if response.status() != reqwest::StatusCode::OK {
            bail!("page walk answered {}", response.status());
        }
        let body: serde_json::Value = response.json().await?;
        match body["next_cursor"].as_str() {
            Some(next) => cursor = Some(next.to_owned()),
            None => break,
        }
    }
    if kept.is_empty() {
        bail!("no full page of products to measure");
    }
    Ok(kept)
}

struct Outcome {
    latencies: Vec<Duration>,
    errors: u64,
    first_error: Option<String>,
    seconds: f64,
}

impl Outcome {
    /// The latency at quantile `q` in milliseconds (nearest rank).
    fn percentile(&self, q: f64) -> f64 {
        if self.latencies.is_empty() {
            return f64::NAN;
        }
        let rank =
            ((q * self.latencies.len() as f64).ceil() as usize).clamp(1, self.latencies.len());
        self.latencies[rank - 1].as_secs_f64() * 1_000.0
    }

    fn print(&self, label: &str) {
        let max = self
            .latencies
            .last()
            .map_or(f64::NAN, |d| d.as_secs_f64() * 1_000.0);
        println!(
            "{label}\n  {} requests, {:.0} req/s, p50 {:.2} ms, p90 {:.2} ms, p99 {:.2} ms, max \
             {:.2} ms, errors {}{}",
            self.latencies.len(),
            self.latencies.len() as f64 / self.seconds,
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

/// A closed loop: `concurrency` tasks issue requests back to back for the warm-up and then
/// `duration`; only requests started after the warm-up and finished within it are recorded.
async fn run_scenario<F, Fut>(
    client: &reqwest::Client,
    concurrency: usize,
    duration: Duration,
    request: F,
) -> Outcome
where
    F: Fn(reqwest::Client, &mut StdRng) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<()>> + Send + 'static,
{
    let request = Arc::new(request);
    let begin = Instant::now();
    let measure_from = begin + WARM_UP;
    let end = measure_from + duration;
    let mut tasks = Vec::with_capacity(concurrency);
    for t in 0..concurrency {
        let client = client.clone();
        let request = Arc::clone(&request);
        tasks.push(tokio::spawn(async move {
            let mut rng = StdRng::seed_from_u64(1_000 + t as u64);
            let mut latencies = Vec::with_capacity(64 * 1024);
            let mut errors = 0u64;
            let mut first_error = None;
            loop {
                let started = Instant::now();
                if started >= end {
                    break;
                }
                let outcome = request(client.clone(), &mut rng).await;
                let finished = Instant::now();
                if started < measure_from || finished > end {
                    continue;
                }
                match outcome {
                    Ok(()) => latencies.push(finished - started),
                    Err(e) => {
                        errors += 1;
                        first_error.get_or_insert_with(|| e.to_string());
                    }
                }
            }
            (latencies, errors, first_error)
        }));
    }
    let mut outcome = Outcome {
        latencies: Vec::new(),
        errors: 0,
        first_error: None,
        seconds: duration.as_secs_f64(),
    };
    for task in tasks {
        let (latencies, errors, first_error) = task.await.expect("load task");
        outcome.latencies.extend(latencies);
        outcome.errors += errors;
        if outcome.first_error.is_none() {
            outcome.first_error = first_error;
        }
    }
    outcome.latencies.sort_unstable();
    outcome
}

/// A line of `/proc/self/status` (e.g. `VmRSS:`), without its label.
fn proc_status(label: &str) -> Option<String> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    status
        .lines()
        .find_map(|line| line.strip_prefix(label))
        .map(|v| v.trim().to_owned())
}

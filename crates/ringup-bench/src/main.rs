//! `ringup-bench`: load benchmarks for ringup on loopback.
//!
//! `ringup-bench catalog` starts the server in-process (same settings, startup, router and
//! middleware as the binary), seeds 20 stores and a global catalog of products, then measures
//! barcode lookup and a 50-item product page over HTTP at a fixed concurrency.
//!
//! `ringup-bench checkout` starts the release `ringup` binary as a child process, seeds a store,
//! drives `POST /api/v1/sales` with wrk (a process of its own), then runs the same sale through
//! the use case without HTTP, and verifies what both left behind (see `checkout/`).
//!
//! `ringup-bench ceiling` seeds checkout's world and issues the same sale transaction straight
//! to the engine, the fastest way each engine allows: the reference for checkout's HTTP figure
//! (see `ceiling/`).
//!
//! `ringup-bench reports` loads two years of sales for a chain of three stores in steps up to
//! 10 million lines and times the daily sales report at each step (see `reports/`).

// A benchmark binary: failing loudly on a broken setup is the right behaviour.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

mod backup;
mod ceiling;
mod checkout;
mod common;
mod reports;

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use clap::{Parser, Subcommand};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use ringup_core::ids::{ProductId, StoreId, TaxClassId};
use ringup_core::rate::RateBp;
use ringup_store::catalog::products::{ProductValues, insert_product};
use ringup_store::catalog::stores::{NewStoreRow, insert_store};
use ringup_store::{Db, Engine, commit};

use common::{
    ADMIN_PASSWORD, BATCH, BenchDatabase, Outcome, Server, WARM_UP, bearer_client, ean13, login,
    proc_status, run_load, seed_stock,
};

const STORES: usize = 20;
const PAGE_SIZE: usize = 50;
const CURSORS: usize = 200;

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
    /// `POST /api/v1/sales` over HTTP, then the same sale transaction without HTTP.
    Checkout(checkout::CheckoutArgs),
    /// The same sale transaction with no HTTP and no use-case code, the fastest way the engine
    /// allows (SQLite: one writer thread, four durability/commit modes; PostgreSQL: one round
    /// trip per sale).
    Ceiling(ceiling::CeilingArgs),
    /// The daily sales report over 30 and 365 days, for a store and the chain, as the sales
    /// grow from 10 thousand to 10 million lines.
    Reports(reports::ReportsArgs),
    /// `ringup backup` and `ringup restore` as the database grows, beside the engine's own
    /// copy of the same database.
    Backup(backup::BackupArgs),
}

#[tokio::main]
async fn main() -> Result<()> {
    match Cli::parse().command {
        Command::Catalog {
            seconds,
            concurrency,
            products,
        } => catalog(seconds, concurrency.max(1), products.max(1)).await,
        Command::Checkout(args) => checkout::run(args).await,
        Command::Ceiling(args) => ceiling::run(args).await,
        Command::Reports(args) => reports::run(args).await,
        Command::Backup(args) => backup::run(args).await,
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
    let server = Server::start(database, dir, None).await?;
    let (base, db) = (server.base.clone(), server.db.clone());
    let engine = db.engine();

    println!(
        "ringup-bench catalog: engine {}, {} stores, {} products, concurrency {}, {} s per \
         scenario after {} s warm-up, server db_max_connections {}",
        engine.name(),
        STORES,
        products,
        concurrency,
        seconds,
        WARM_UP.as_secs(),
        server.db_connections
    );

    let token = login(&base, &server.admin_username, ADMIN_PASSWORD).await?;

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

    let client = bearer_client(&token, concurrency)?;

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

    server.stop().await?;

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
    let now = chrono::Utc::now();
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
                    country: "DE",
                    at: now,
                },
            )
            .await?;
        }
        ringup_store::catalog::tax_classes::insert_tax_class(
            &mut tx,
            tax_class,
            "Standard",
            RateBp::new(1_900)?,
            now,
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
                now,
            )
            .await?;
            barcodes.push(barcode);
        }
        commit(tx).await?;
    }

    for store in &stores {
        seed_stock(db, *store, &product_ids, SEEDED_UNITS, now).await?;
    }

    common::analyze(db).await?;
    Ok((barcodes, stores))
}

/// Units every product is received with in every store.
const SEEDED_UNITS: i64 = 100;

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

/// The catalog scenarios' closed loop: every request gets a clone of `client`.
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
    let client = client.clone();
    run_load(concurrency, duration, move |_, rng| {
        request(client.clone(), rng)
    })
    .await
    .expect("load task")
}

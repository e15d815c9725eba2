//! `ringup-bench ceiling`: the sale transaction straight to the engine, the fastest way each
//! engine allows — the reference the HTTP figure of `checkout` is held against.
//!
//! The same transaction as `ringup_app::checkout::sales::create_sale` (same tables, same
//! statements in the same order, same rows: `sql.rs` lists them), with no HTTP and no use-case
//! code: every value is worked out in the load task before the sale reaches the engine
//! (`job.rs`), and the engine gets only the statements.
//!
//! - SQLite (`sqlite/`): one writer thread with a synchronous driver runs whole transactions,
//!   in four modes: `synchronous` NORMAL or FULL, one sale per transaction or group commit.
//! - PostgreSQL (`postgres.rs`, when `BENCH_POSTGRES_URL` is set): the transaction is one
//!   server-side function, so a sale is one round trip. A priming load (the warm-up alone)
//!   and `analyze` come first, so plans are made on tables with a history, not on the empty
//!   `sales` of a fresh seed.
//!
//! The world is checkout's (`checkout::seed`): one store (or `--stores`), products with ten
//! million units each, registers with one open shift each, a cashier with a commission; carts
//! are checkout's too (1–5 distinct products, 1–3 units, split tenders). Afterwards checkout's
//! `verify` checks what was written: one sale row per answered sale, gapless numbers, shift
//! totals and outbox events for every sale, stock taken equal to units sold, the ledger, and
//! the audit chains (which proves the chain links computed here, in Rust or in PL/pgSQL, are
//! the store's). Any failure exits non-zero.
//!
//! `checkout` can run [`measure`] in its own run, on its own world, after its phases.

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, ensure};
use sqlx::Row;

use ringup_store::{DatabaseUrl, Db, DbOptions, Engine};

use crate::checkout::seed::{create_cashier, open_shifts, seed};
use crate::checkout::verify::verify;
use crate::checkout::{
    BenchStore, CASHIER, CASHIER_PASSWORD, CheckoutArgs, STOCK_UNITS, Till, World, read_products,
};
use crate::common::{
    ADMIN_PASSWORD, BenchDatabase, Outcome, Server, WARM_UP, bearer_client, login,
};

mod job;
mod postgres;
mod sql;
mod sqlite;

#[derive(clap::Args)]
pub struct CeilingArgs {
    /// Measured seconds per mode (after a 2 s warm-up).
    #[arg(long, default_value_t = 10)]
    seconds: u64,
    /// Concurrent closed-loop tasks.
    #[arg(long, default_value_t = 32)]
    concurrency: usize,
    /// Products in the catalog.
    #[arg(long, default_value_t = 200)]
    products: usize,
    /// Stores; the registers are dealt out over them.
    #[arg(long, default_value_t = 1)]
    stores: usize,
    /// Registers, one open shift each; task `i` sells at register `i % registers`.
    #[arg(long, default_value_t = 32)]
    registers: usize,
}

/// One way of issuing the sale and what it achieved.
#[derive(Clone, Debug)]
pub(crate) struct CeilingFigure {
    pub(crate) engine: Engine,
    /// How the sale was issued (`synchronous=FULL, group commit …`).
    pub(crate) label: String,
    pub(crate) sales_per_second: f64,
    pub(crate) p50_ms: f64,
    pub(crate) p99_ms: f64,
}

pub async fn run(args: CeilingArgs) -> Result<()> {
    let args = CheckoutArgs {
        seconds: args.seconds.max(1),
        concurrency: args.concurrency.max(1),
        one_client_seconds: 1,
        products: args.products.max(5),
        stores: args.stores.max(1),
        registers: args.registers.max(args.stores.max(1)),
        db_connections: None,
        ringup_bin: None,
        no_ceiling: false,
        sqlite_synchronous: "full".to_owned(),
        exports: 0,
        webhooks: false,
        outage_seconds: 0,
    };
    let dir = tempfile::tempdir().context("temporary directory")?;
    let database = BenchDatabase::create(dir.path()).await?;
    let result = run_on(&database, dir.path(), &args).await;
    database.drop_now().await;
    result
}

/// Seeds checkout's world with the server started in-process (the cashier and shifts over
/// HTTP, as checkout makes them), stops the server, then measures the ceiling on that world
/// through a `Db` of its own (for the counts and checks), so nothing else writes meanwhile.
async fn run_on(
    database: &BenchDatabase,
    dir: &std::path::Path,
    args: &CheckoutArgs,
) -> Result<()> {
    let server = Server::start(database, dir, None).await?;
    let (base, db) = (server.base.clone(), server.db.clone());
    let engine = db.engine();
    println!(
        "ringup-bench ceiling: engine {}, {} store(s), {} products, {} registers, concurrency \
         {}, {} s per mode after {} s warm-up",
        engine.name(),
        args.stores,
        args.products,
        args.registers,
        args.concurrency,
        args.seconds,
        WARM_UP.as_secs(),
    );

    let started = Instant::now();
    let (stores, registers) = seed(&db, args).await?;
    let admin = login(&base, &server.admin_username, ADMIN_PASSWORD).await?;
    let cashier = create_cashier(&bearer_client(&admin, 1)?, &base, &stores).await?;
    let token = login(&base, CASHIER, CASHIER_PASSWORD).await?;
    let shifts = open_shifts(&bearer_client(&token, 1)?, &base, &registers).await?;
    let products = read_products(&db).await?;
    println!(
        "seeded checkout's world in {:.2} s: {} store(s), {} products with {} units each per \
         store, {} registers; cashier `{CASHIER}` and {} open shifts made over HTTP",
        started.elapsed().as_secs_f64(),
        stores.len(),
        products.len(),
        STOCK_UNITS,
        registers.len(),
        shifts.len()
    );
    let world = Arc::new(world(stores, &registers, &shifts, products, cashier));

    server.stop().await?;

    let db = Db::connect(&database.url, &DbOptions::default())
        .await
        .context("the bench's connection to the database")?;
    let measured = measure(&db, &database.url, &world, args.seconds, args.concurrency).await;
    db.close().await;
    print_table(&measured?);
    Ok(())
}

fn world(
    stores: Vec<BenchStore>,
    registers: &[(usize, ringup_core::ids::RegisterId)],
    shifts: &[ringup_core::ids::ShiftId],
    products: Vec<ringup_store::checkout::sales::SaleProduct>,
    cashier: ringup_core::ids::UserId,
) -> World {
    let tills = registers
        .iter()
        .zip(shifts)
        .map(|(&(store, register), &shift)| Till {
            store,
            register,
            shift,
        })
        .collect();
    World {
        stores,
        tills,
        products,
        cashier,
    }
}

/// Sells on `world` (its shifts must be open) the fastest way `url`'s engine allows, each way
/// for `seconds` after the warm-up with `concurrency` tasks, printing each as it finishes;
/// then checks everything in the database with checkout's `verify` (so sales made before, by
/// other phases, must be sound too). `db` is the server's, for the checks; `url` names the
/// same database. An error if any sale failed or any check did not hold.
pub(crate) async fn measure(
    db: &Db,
    url: &DatabaseUrl,
    world: &Arc<World>,
    seconds: u64,
    concurrency: usize,
) -> Result<Vec<CeilingFigure>> {
    let before: i64 = sqlx::query("select count(*) as n from sales")
        .fetch_one(db.reader())
        .await?
        .try_get("n")?;
    let duration = Duration::from_secs(seconds.max(1));
    let concurrency = concurrency.max(1);
    let mut tally = Tally::default();
    match url.engine() {
        Engine::Sqlite => {
            let path = sqlite::path_of(url)?;
            for mode in sqlite::MODES {
                let (outcome, stats) =
                    sqlite::measure_mode(&path, mode, world, concurrency, duration).await?;
                let label = mode.label();
                outcome.print_as(
                    &format!("ceiling sqlite  {label}, one writer thread (rusqlite)"),
                    "sales",
                    "sales/s",
                );
                println!(
                    "  whole run, warm-up and tail included: {} sales, {} errors; {} \
                     transactions, {:.1} sales per transaction",
                    outcome.ok_total,
                    outcome.errors_total,
                    stats.transactions,
                    stats.sales as f64 / stats.transactions.max(1) as f64
                );
                tally.figure(url.engine(), label, &outcome);
            }
        }
        Engine::Postgres => {
            postgres::install(url).await?;
            let postgres::Measured { primed, outcome } =
                postgres::measure(url, world, concurrency, duration).await?;
            println!(
                "primed with {} sales ({} s, {} errors), then analyze, as the tables now hold \
                 a history",
                primed.ok_total,
                WARM_UP.as_secs(),
                primed.errors_total
            );
            tally.count("priming", &primed);
            let label = "one round trip per sale (a PL/pgSQL function, autocommit)".to_owned();
            outcome.print_as(
                &format!("ceiling postgresql  {label}, a connection per task ({concurrency})"),
                "sales",
                "sales/s",
            );
            println!(
                "  whole run, warm-up and tail included: {} sales, {} errors",
                outcome.ok_total, outcome.errors_total
            );
            tally.figure(url.engine(), label, &outcome);
        }
    }

    let started = Instant::now();
    let Tally {
        made,
        failed,
        figures,
    } = tally;
    let expected = u64::try_from(before)? + made;
    let summary = verify(db, expected).await?;
    println!(
        "ceiling verified in {:.2} s ({before} sales before, {made} made by the ceiling): \
         {summary}",
        started.elapsed().as_secs_f64()
    );
    ensure!(failed.is_empty(), "{}", failed.join("; "));
    Ok(figures)
}

/// Sales made and failed over every load, and the figures of the measured ones.
#[derive(Default)]
struct Tally {
    made: u64,
    failed: Vec<String>,
    figures: Vec<CeilingFigure>,
}

impl Tally {
    fn count(&mut self, what: &str, outcome: &Outcome) {
        self.made += outcome.ok_total;
        if outcome.errors_total > 0 {
            self.failed.push(format!(
                "{what}: {} sales failed (first: {})",
                outcome.errors_total,
                outcome.first_error.as_deref().unwrap_or("?")
            ));
        }
    }

    fn figure(&mut self, engine: Engine, label: String, outcome: &Outcome) {
        self.count(&label, outcome);
        self.figures.push(CeilingFigure {
            engine,
            label,
            sales_per_second: outcome.throughput(),
            p50_ms: outcome.percentile(0.50),
            p99_ms: outcome.percentile(0.99),
        });
    }
}

/// The figures as a table: way, sales/s, p50, p99.
pub(crate) fn print_table(figures: &[CeilingFigure]) {
    let width = figures
        .iter()
        .map(|f| f.label.chars().count())
        .max()
        .unwrap_or(0);
    println!(
        "{:<10}  {:<width$}  {:>8}  {:>8}  {:>8}",
        "engine", "ceiling", "sales/s", "p50 ms", "p99 ms"
    );
    for f in figures {
        println!(
            "{:<10}  {:<width$}  {:>8.0}  {:>8.2}  {:>8.2}",
            f.engine.name(),
            f.label,
            f.sales_per_second,
            f.p50_ms,
            f.p99_ms
        );
    }
}

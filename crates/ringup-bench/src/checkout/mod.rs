//! `ringup-bench checkout`: the complete sale, over HTTP against the release server and
//! straight to the use case.
//!
//! The server is the release `ringup` binary, started as a child process on loopback (see
//! `server`), and the HTTP load comes from wrk, a process of its own (see `wrk`): the
//! throughput, latency and memory measured are the server's, not shared with a load generator
//! or the seeding in the same process.
//!
//! Seeds one store (or `--stores`), two tax classes (16 % and 0 %), `--products` products with
//! ten million units each (received, so the ledger adds up) and `--registers` registers straight
//! through ringup-store, over the bench's own connection to the server's database; then a
//! cashier (created over HTTP by the admin, so the password gets the server's argon2 hash) with
//! a 2.5 % commission, who opens one shift per register over HTTP.
//!
//! 1. HTTP: a few thousand `POST /api/v1/sales` bodies are made and priced beforehand with the
//!    domain's pricing (random carts: 1–5 distinct products, 1–3 units each, sometimes a line
//!    percent discount, sometimes a cart amount discount, paid in cash with change, by card
//!    exactly, or split cash + mobile money; body `k` sells at register `k % registers`), and a
//!    few are sent first as probes whose answers' totals and change are checked. Then wrk sends
//!    them with a fresh `Idempotency-Key` each: a 2 s warm-up (figures discarded), the measured
//!    run at `--concurrency` connections, and one connection alone. Any answer but 201 is an
//!    error (503, back-pressure, is named as such).
//! 2. The HTTP shifts are closed over HTTP (X report, then close with the expected cash) and
//!    fresh ones opened; the server's peak RSS is read and the server stopped with SIGTERM.
//! 3. Direct: as many tasks as HTTP connections call the use case the handler calls,
//!    `ringup_app::checkout::sales::create_sale`, through the bench's own `Db` (the server's
//!    pool sizes): the same reads, pricing and transaction (key claim, sale, outbox and audit
//!    events, stored reply, commit), with the server stopped so two processes never write the
//!    same database at once.
//! 4. Verification: the Z reports' sales count lies between the 201s received and those plus
//!    the requests wrk wrote but had no answer to when it stopped; one sale row per sale made,
//!    gapless numbers per store, shift totals and outbox events that account for every sale,
//!    sold quantities equal to the stock taken, `check_ledger` without offences, and the audit
//!    chains intact. Any failure exits non-zero.
//!
//! The run and its phases are here; `seed` makes the world they sell in, `cart` makes and
//! prices each sale, `server` runs the server process, `wrk` the load generator, and `verify`
//! checks what the phases left behind.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, anyhow, ensure};
use sqlx::Row;

use ringup_core::ids::{ProductId, RegisterId, ShiftId, StoreId, UserId};
use ringup_store::checkout::sales::{self, SaleProduct};
use ringup_store::{Db, DbOptions, Engine};

use self::direct::direct_phase;
use self::http::{http_phase, implied_mean_ms, make_bodies, print_http, print_phase, probe};
use self::seed::{close_shifts, create_cashier, open_shifts, seed};
use self::server::{ServerConfig, ServerProcess, ringup_binary};
use self::verify::verify;
use crate::common::{
    ADMIN_PASSWORD, BenchDatabase, WARM_UP, analyze, bearer_client, login, proc_status_mib,
    reset_peak_rss,
};

pub(crate) mod cart;
mod direct;
mod exports;
mod http;
pub(crate) mod seed;
mod server;
pub(crate) mod verify;
mod webhooks;
mod wrk;

pub(crate) const CASHIER: &str = "bench-cashier";
pub(crate) const CASHIER_PASSWORD: &str = "Tulip-Harbor-Lantern-93";
pub(crate) const COMMISSION_BP: i64 = 250;
/// Units of every product received in every store: no sale is ever short.
pub(crate) const STOCK_UNITS: i64 = 10_000_000;
const SALES_PATH: &str = "/api/v1/sales";
/// About how many request bodies wrk cycles through.
const BODIES: usize = 4_096;
/// Bodies sent with reqwest before the load, their answers checked against the bench's pricing.
const PROBES: usize = 4;
/// wrk's threads under load: one per core of the machine the figures are taken on.
const WRK_THREADS: usize = 2;

#[derive(clap::Args)]
pub struct CheckoutArgs {
    /// Measured seconds of the HTTP load (after a 2 s warm-up) and of the direct phase.
    #[arg(long, default_value_t = 10)]
    pub(crate) seconds: u64,
    /// Concurrent connections (wrk) and tasks (direct).
    #[arg(long, default_value_t = 32)]
    pub(crate) concurrency: usize,
    /// Seconds of the one-connection run.
    #[arg(long, default_value_t = 5)]
    pub(crate) one_client_seconds: u64,
    /// Products in the catalog.
    #[arg(long, default_value_t = 200)]
    pub(crate) products: usize,
    /// Stores; the registers are dealt out over them.
    #[arg(long, default_value_t = 1)]
    pub(crate) stores: usize,
    /// Registers, one open shift each; request body `k` and direct task `k` use register
    /// `k % registers`.
    #[arg(long, default_value_t = 32)]
    pub(crate) registers: usize,
    /// The server's `db_max_connections` (its default when not given); the direct phase's
    /// pools get the same.
    #[arg(long)]
    pub(crate) db_connections: Option<u32>,
    /// The server binary (default: the `ringup` beside this executable).
    #[arg(long)]
    pub(crate) ringup_bin: Option<PathBuf>,
    /// The server's `RINGUP_SQLITE_SYNCHRONOUS`: `full` (its default: every group commit
    /// syncs the WAL) or `normal`; the direct phase's `Db` gets the same.
    #[arg(long, default_value = "full")]
    pub(crate) sqlite_synchronous: String,
    /// Skip the ceiling phase (the same sale straight to the engine, `ringup-bench ceiling`).
    #[arg(long)]
    pub(crate) no_ceiling: bool,
    /// Also run the load again while this many tasks export the largest reports in a loop
    /// (the report lane's cost to the tills); 0 skips it.
    #[arg(long, default_value_t = 0)]
    pub(crate) exports: usize,
    /// Also measure webhook delivery: throughput with two endpoints subscribed (one answers
    /// after 5 s), commit → delivery latency at half capacity, and the heal after an outage.
    #[arg(long)]
    pub(crate) webhooks: bool,
    /// Seconds the webhook receiver is down in the outage measurement.
    #[arg(long, default_value_t = 60)]
    pub(crate) outage_seconds: u64,
}

pub async fn run(args: CheckoutArgs) -> Result<()> {
    let args = CheckoutArgs {
        seconds: args.seconds.max(1),
        concurrency: args.concurrency.max(1),
        one_client_seconds: args.one_client_seconds.max(1),
        products: args.products.max(5),
        stores: args.stores.max(1),
        registers: args.registers.max(args.stores.max(1)),
        db_connections: args.db_connections,
        ringup_bin: args.ringup_bin,
        no_ceiling: args.no_ceiling,
        sqlite_synchronous: args.sqlite_synchronous,
        exports: args.exports,
        webhooks: args.webhooks,
        outage_seconds: args.outage_seconds,
    };
    let wrk = wrk::find()?;
    let binary = ringup_binary(args.ringup_bin.as_deref())?;
    if cfg!(debug_assertions) {
        eprintln!(
            "warning: this is a debug build of ringup-bench; the server beside it is probably \
             one too. Measure with `cargo build --release -p ringup -p ringup-bench`."
        );
    }
    let dir = tempfile::tempdir().context("temporary directory")?;
    let database = BenchDatabase::create(dir.path()).await?;
    let result = run_on(&database, dir.path(), &args, &wrk, &binary).await;
    database.drop_now().await;
    result
}

/// A store as checkout needs it.
#[derive(Clone)]
pub(crate) struct BenchStore {
    pub(crate) id: StoreId,
    pub(crate) code: String,
    pub(crate) prices_include_tax: bool,
    pub(crate) allow_negative: bool,
    /// Its sales count in the reports on this zone's local days.
    pub(crate) time_zone: chrono_tz::Tz,
}

/// A register, its store (an index into the stores) and its current open shift.
#[derive(Clone, Copy)]
pub(crate) struct Till {
    pub(crate) store: usize,
    pub(crate) register: RegisterId,
    pub(crate) shift: ShiftId,
}

/// Everything a sale is made of, shared by the load tasks.
#[derive(Clone)]
pub(crate) struct World {
    pub(crate) stores: Vec<BenchStore>,
    pub(crate) tills: Vec<Till>,
    /// As `products_for_sale` reads them, in seeding order.
    pub(crate) products: Vec<SaleProduct>,
    pub(crate) cashier: UserId,
}

impl World {
    pub(crate) fn till(&self, task: usize) -> Result<(&Till, &BenchStore)> {
        let till = self
            .tills
            .get(task % self.tills.len().max(1))
            .context("no registers")?;
        let store = self.stores.get(till.store).context("no such store")?;
        Ok((till, store))
    }
}

async fn run_on(
    database: &BenchDatabase,
    dir: &Path,
    args: &CheckoutArgs,
    wrk_path: &Path,
    binary: &Path,
) -> Result<()> {
    let db_connections = match args.db_connections {
        Some(n) => n,
        None => ringup::settings::DEFAULT_DB_MAX_CONNECTIONS
            .parse()
            .context("the server's default db_max_connections")?,
    };
    let server = ServerProcess::start(&ServerConfig {
        binary,
        database_url: database.url.expose(),
        dir,
        db_connections,
        sqlite_synchronous: &args.sqlite_synchronous,
    })
    .await?;
    let base = server.base.clone();
    // The bench's own connection to the server's database (the same SQLite file, which WAL
    // lets two processes share; the same PostgreSQL database): the seeding, the direct phase
    // and the verification go through it. The server has migrated it by now.
    let db = Db::connect(
        &database.url,
        &DbOptions {
            max_connections: db_connections,
            durability: args
                .sqlite_synchronous
                .parse()
                .map_err(|e: String| anyhow!("--sqlite-synchronous: {e}"))?,
            ..DbOptions::default()
        },
    )
    .await
    .context("the bench's connection to the server's database")?;
    let engine = db.engine();
    println!(
        "ringup-bench checkout: engine {}, {} store(s), {} products, {} registers, concurrency \
         {}, {} s measured after {} s warm-up, one client {} s; server {} (pid {}, ready in \
         {:.0} ms on a fresh database, db_max_connections {db_connections}, resident {:.1} MiB)",
        engine.name(),
        args.stores,
        args.products,
        args.registers,
        args.concurrency,
        args.seconds,
        WARM_UP.as_secs(),
        args.one_client_seconds,
        binary.display(),
        server.pid,
        server.ready_after.as_secs_f64() * 1_000.0,
        server.status_mib("VmRSS:").unwrap_or(f64::NAN),
    );

    let started = Instant::now();
    let (stores, registers) = seed(&db, args).await?;
    println!(
        "seeded {} store(s), 2 tax classes (1600 and 0 bp, prices include tax), {} products \
         with {} units each per store (levels plus receiving movements) and {} registers in \
         {:.2} s{}, through the bench's own connection",
        stores.len(),
        args.products,
        STOCK_UNITS,
        registers.len(),
        started.elapsed().as_secs_f64(),
        if engine == Engine::Postgres {
            ", then analyze"
        } else {
            ""
        }
    );

    let started = Instant::now();
    let admin = login(
        &base,
        ringup::settings::DEFAULT_ADMIN_USERNAME,
        ADMIN_PASSWORD,
    )
    .await?;
    let admin = bearer_client(&admin, 1)?;
    let cashier = create_cashier(&admin, &base, &stores).await?;
    let token = login(&base, CASHIER, CASHIER_PASSWORD).await?;
    let client = bearer_client(&token, 1)?;
    let shifts = open_shifts(&client, &base, &registers).await?;
    println!(
        "cashier `{CASHIER}` ({COMMISSION_BP} bp commission) created and logged in, and {} \
         shifts opened, over HTTP in {:.2} s; server memory now: resident {:.1} MiB, peak {:.1} \
         MiB (the setup's four argon2id runs of 19 MiB each: the admin's and the cashier's \
         passwords, set and verified)",
        shifts.len(),
        started.elapsed().as_secs_f64(),
        server.status_mib("VmRSS:").unwrap_or(f64::NAN),
        server.status_mib("VmHWM:").unwrap_or(f64::NAN),
    );

    let world = Arc::new(World {
        tills: registers
            .iter()
            .zip(&shifts)
            .map(|(&(store, register), &shift)| Till {
                store,
                register,
                shift,
            })
            .collect(),
        products: read_products(&db).await?,
        stores,
        cashier,
    });

    // Bodies for an even number of threads over whole rounds of the registers (see `wrk`).
    let round = world.tills.len().max(1) * WRK_THREADS;
    let bodies = make_bodies(&world, BODIES.div_ceil(round) * round)?;
    let bodies_path = dir.join("sale-bodies.jsonl");
    wrk::write_bodies(
        &bodies_path,
        &bodies.iter().map(|b| b.text.clone()).collect::<Vec<_>>(),
    )?;
    let probes = probe(&client, &base, bodies.get(..PROBES).unwrap_or(&bodies)).await?;
    println!(
        "{} sale bodies made and priced by the bench ({:.0} bytes each on average); {probes} \
         sent first with reqwest were answered 201 with the total and change the bench priced",
        bodies.len(),
        bodies.iter().map(|b| b.text.len()).sum::<usize>() as f64 / bodies.len().max(1) as f64,
    );

    // The setup's peak is not the load's: measure the load's own.
    let reset = server.reset_peak();
    let target = wrk::Target {
        wrk: wrk_path,
        base: &base,
        authority: &server.authority,
        token: &token,
        bodies: &bodies_path,
        dir,
    };
    let cashier_pool = bearer_client(&token, 64)?;
    let http = http_phase(&target, args, &db, &admin, &server, &cashier_pool, &bodies).await?;
    print_http(&http, args, engine);
    if let Some(figures) = &http.webhooks {
        webhooks::print(figures, args.concurrency);
    }

    let started = Instant::now();
    let counted = close_shifts(&client, &base, &shifts).await?;
    let paced = http.webhooks.as_ref().map_or(0, |w| w.paced_sales);
    let answered = probes + paced + http.all().iter().map(|(_, f)| f.created()).sum::<u64>();
    let unanswered: u64 = http.all().iter().map(|(_, f)| f.unanswered()).sum();
    ensure!(
        (answered..=answered + unanswered).contains(&counted),
        "the Z reports count {counted} sales, but {answered} were answered 201 and only \
         {unanswered} more requests went unanswered"
    );
    let fresh = open_shifts(&client, &base, &registers).await?;
    println!(
        "closed the {} HTTP shifts over HTTP (X report, then counted = expected) and opened {} \
         fresh ones in {:.2} s. The Z reports count {counted} sales: {probes} probes + {} \
         answered 201 by wrk + {} of the {unanswered} requests wrk had written but not seen \
         answered when it stopped (the server still committed them)",
        shifts.len(),
        fresh.len(),
        started.elapsed().as_secs_f64(),
        answered - probes,
        counted - answered,
    );
    let world = Arc::new(World {
        tills: world
            .tills
            .iter()
            .zip(&fresh)
            .map(|(till, &shift)| Till { shift, ..*till })
            .collect(),
        ..World::clone(&world)
    });

    let server_peak = server.status_mib("VmHWM:").unwrap_or(f64::NAN);
    let pid = server.pid;
    let exit = server.stop().await?;
    println!(
        "server peak RSS {server_peak:.1} MiB (VmHWM of pid {pid}, {}, read just before \
         stopping it); stopped by SIGTERM: {exit}",
        if reset {
            "reset just before the warm-up: the load's peak"
        } else {
            "since it started (it could not be reset): it includes the setup's argon2 hashes"
        }
    );
    ensure!(exit.success(), "the server exited with {exit}");

    analyze(&db).await?;
    let bench_reset = reset_peak_rss();
    // The bench's `Db` has the server's writer (group commit, checkpoints between batches).
    let direct = direct_phase(
        &db,
        &world,
        args.concurrency,
        Duration::from_secs(args.seconds),
    )
    .await?;
    let bench_peak = proc_status_mib("VmHWM:").unwrap_or(f64::NAN);
    print_phase(
        &format!(
            "direct  ringup_app::checkout::sales::create_sale, the handler's use case, no HTTP, \
             {} tasks, the server stopped",
            args.concurrency
        ),
        direct.throughput(),
        direct.percentile(0.50),
        direct.percentile(0.99),
        args.concurrency,
    );
    println!(
        "  {} sales measured (whole run, warm-up and tail included: {} sales, {} errors); the \
         bench process's peak RSS {bench_peak:.1} MiB ({})",
        direct.latencies.len(),
        direct.ok_total,
        direct.errors_total,
        if bench_reset {
            "reset before the phase"
        } else {
            "since it started"
        }
    );

    let started = Instant::now();
    let verified = verify(&db, counted + direct.ok_total).await;
    let summary = verified?;
    println!(
        "verified in {:.2} s: {summary}",
        started.elapsed().as_secs_f64()
    );

    // 3. The ceiling: the same sale on the same world, straight to the engine (it verifies
    // everything again afterwards, its own sales included).
    let ceilings = if args.no_ceiling {
        Vec::new()
    } else {
        let measured =
            crate::ceiling::measure(&db, &database.url, &world, args.seconds, args.concurrency)
                .await;
        measured?
    };
    db.close().await;

    let failures: Vec<String> = http
        .all()
        .iter()
        .filter_map(|(name, f)| f.errors().map(|e| format!("{name}: {e}")))
        .collect();
    ensure!(
        failures.is_empty(),
        "answers other than 201 over HTTP: {}",
        failures.join("; ")
    );
    ensure!(
        direct.errors_total == 0,
        "{} direct sales failed (first: {})",
        direct.errors_total,
        direct.first_error.as_deref().unwrap_or("?")
    );
    let (n, m) = (http.load.sales_per_second(), direct.throughput());
    println!(
        "checkout {}: {:.0} sales/s http, {:.0} sales/s direct, ratio {:.2}, p50 {:.2} ms, p99 \
         {:.2} ms (implied mean {:.2} ms), one client p50 {:.2} ms, server peak rss {:.0} MiB",
        engine.name(),
        n,
        m,
        if m > 0.0 { n / m } else { f64::NAN },
        http.load.p50_ms,
        http.load.p99_ms,
        implied_mean_ms(args.concurrency, n),
        http.one.p50_ms,
        server_peak
    );
    if let Some((load, exports)) = &http.beside_exports {
        println!(
            "  beside {} exporting tasks: {:.0} sales/s, p50 {:.2} ms, p99 {:.2} ms (implied mean \
             {:.2} ms), {} exports sent, {} refused by the lane; server peak rss {:.0} MiB before \
             the exports",
            exports.tasks,
            load.sales_per_second(),
            load.p50_ms,
            load.p99_ms,
            implied_mean_ms(args.concurrency, load.sales_per_second()),
            exports.done,
            exports.refused,
            http.peak_before_exports
        );
    }
    for ceiling in &ceilings {
        let c = ceiling.sales_per_second;
        println!(
            "  http against ceiling `{}`: {:.0} / {:.0} sales/s = {:.2}",
            ceiling.label,
            n,
            c,
            if c > 0.0 { n / c } else { f64::NAN }
        );
    }
    Ok(())
}

/// The products, as `products_for_sale` reads them, in SKU (seeding) order.
pub(crate) async fn read_products(db: &Db) -> Result<Vec<SaleProduct>> {
    let mut conn = db.read_conn().await?;
    let rows = sqlx::query("select id from products order by sku")
        .fetch_all(&mut *conn)
        .await?;
    let ids: Vec<ProductId> = rows
        .iter()
        .map(|r| {
            let id: String = r.try_get("id")?;
            ProductId::parse(&id).map_err(|e| anyhow!("product id {id}: {e}"))
        })
        .collect::<Result<_>>()?;
    let mut found = sales::products_for_sale(&mut conn, &ids).await?;
    ids.iter()
        .map(|id| found.remove(id).context("a seeded product is missing"))
        .collect()
}

//! `ringup-bench checkout`: the complete sale, over HTTP and straight to the store layer.
//!
//! Seeds one store (or `--stores`), two tax classes (16 % and 0 %), `--products` products with
//! ten million units each (received, so the ledger adds up), `--registers` registers, and a
//! cashier (created over HTTP by the admin, so the password gets the server's argon2 hash) with
//! a 2.5 % commission, who opens one shift per register over HTTP.
//!
//! 1. HTTP: `--concurrency` clients (client `i` sells at register `i % registers`) each
//!    `POST /api/v1/sales` back to back with a fresh `Idempotency-Key` and a random cart: 1–5
//!    distinct products, 1–3 units each, sometimes a line percent discount, sometimes a cart
//!    amount discount, paid in cash with change, by card exactly, or split cash + mobile money.
//!    The client prices the cart itself with the domain's pricing, so it pays exactly what is
//!    due, and checks the answer's total and change. Any answer but 201 is an error.
//! 2. Direct: the HTTP shifts are closed (X report, then close with the expected cash) and
//!    fresh ones opened; then as many tasks call the use case the handler calls,
//!    `ringup_app::checkout::sales::create_sale`, without HTTP: the same reads, pricing and
//!    transaction (key claim, sale, outbox and audit events, stored reply, commit), through
//!    the same `Db` the server uses (same pools).
//! 3. Verification: one sale row per success, gapless numbers per store, shift totals and
//!    outbox events that account for every sale, sold quantities equal to the stock taken,
//!    `check_ledger` without offences, and the audit chains intact. Any failure exits non-zero.
//!
//! The run and its two phases are here; `seed` makes the world they sell in (straight through
//! ringup-store, and the cashier and shifts over HTTP), `cart` makes and prices each sale, and
//! `verify` checks what the phases left behind.

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, anyhow, bail, ensure};
use chrono::Utc;
use serde_json::Value;
use sqlx::Row;

use ringup_api::checkout::sales::sale_view;
use ringup_app::checkout::sales::{LineRequest, NewSale, create_sale};
use ringup_app::write::{Idempotency, Origin, WriteRequest};
use ringup_app::{Actor, ActorKind};
use ringup_core::ids::{ProductId, RegisterId, ShiftId, StoreId, UserId};
use ringup_core::tokens::hash_token;
use ringup_core::users::Role;
use ringup_store::Db;
use ringup_store::checkout::sales::{self, SaleProduct};

use self::cart::Cart;
use self::seed::{close_shifts, create_cashier, int_field, open_shifts, seed};
use self::verify::verify;
use crate::common::{
    ADMIN_PASSWORD, BenchDatabase, Outcome, Server, WARM_UP, analyze, bearer_client, login,
    proc_status_mib, reset_peak_rss, run_load,
};

mod cart;
mod seed;
mod verify;

const CASHIER: &str = "bench-cashier";
const CASHIER_PASSWORD: &str = "Tulip-Harbor-Lantern-93";
const COMMISSION_BP: i64 = 250;
/// Units of every product received in every store: no sale is ever short.
const STOCK_UNITS: i64 = 10_000_000;
const SALES_PATH: &str = "/api/v1/sales";

#[derive(clap::Args)]
pub struct CheckoutArgs {
    /// Measured seconds per phase (after a 2 s warm-up).
    #[arg(long, default_value_t = 10)]
    seconds: u64,
    /// Concurrent closed-loop clients (HTTP) and tasks (direct).
    #[arg(long, default_value_t = 32)]
    concurrency: usize,
    /// Products in the catalog.
    #[arg(long, default_value_t = 200)]
    products: usize,
    /// Stores; the registers are dealt out over them.
    #[arg(long, default_value_t = 1)]
    stores: usize,
    /// Registers, one open shift each; client `i` uses register `i % registers`.
    #[arg(long, default_value_t = 32)]
    registers: usize,
    /// The server's `db_max_connections` (its default when not given).
    #[arg(long)]
    db_connections: Option<u32>,
}

pub async fn run(args: CheckoutArgs) -> Result<()> {
    let args = CheckoutArgs {
        seconds: args.seconds.max(1),
        concurrency: args.concurrency.max(1),
        products: args.products.max(5),
        stores: args.stores.max(1),
        registers: args.registers.max(args.stores.max(1)),
        db_connections: args.db_connections,
    };
    let dir = tempfile::tempdir().context("temporary directory")?;
    let database = BenchDatabase::create(dir.path()).await?;
    let result = run_on(&database, dir.path(), &args).await;
    database.drop_now().await;
    result
}

/// A store as checkout needs it.
#[derive(Clone)]
struct BenchStore {
    id: StoreId,
    code: String,
    prices_include_tax: bool,
    allow_negative: bool,
}

/// A register, its store (an index into the stores) and its current open shift.
#[derive(Clone, Copy)]
struct Till {
    store: usize,
    register: RegisterId,
    shift: ShiftId,
}

/// Everything a sale is made of, shared by the load tasks.
#[derive(Clone)]
struct World {
    stores: Vec<BenchStore>,
    tills: Vec<Till>,
    /// As `products_for_sale` reads them, in seeding order.
    products: Vec<SaleProduct>,
    cashier: UserId,
}

impl World {
    fn till(&self, task: usize) -> Result<(&Till, &BenchStore)> {
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
    dir: &std::path::Path,
    args: &CheckoutArgs,
) -> Result<()> {
    let server = Server::start(database, dir, args.db_connections).await?;
    let (base, db) = (server.base.clone(), server.db.clone());
    let engine = db.engine();
    println!(
        "ringup-bench checkout: engine {}, {} store(s), {} products, {} registers, concurrency \
         {}, {} s per phase after {} s warm-up, server db_max_connections {}",
        engine.name(),
        args.stores,
        args.products,
        args.registers,
        args.concurrency,
        args.seconds,
        WARM_UP.as_secs(),
        server.db_connections
    );

    let started = Instant::now();
    let (stores, registers) = seed(&db, args).await?;
    println!(
        "seeded {} store(s), 2 tax classes (1600 and 0 bp, prices include tax), {} products \
         with {} units each per store (levels plus receiving movements) and {} registers in \
         {:.2} s{}",
        stores.len(),
        args.products,
        STOCK_UNITS,
        registers.len(),
        started.elapsed().as_secs_f64(),
        if engine == ringup_store::Engine::Postgres {
            ", then analyze"
        } else {
            ""
        }
    );

    // Resident memory along the setup: each password hashed or verified is an argon2id run
    // (19 MiB of working memory).
    let rss = || proc_status_mib("VmRSS:").unwrap_or(f64::NAN);
    let mut resident = vec![format!("seeded {:.1}", rss())];
    let started = Instant::now();
    let admin = login(&base, &server.admin_username, ADMIN_PASSWORD).await?;
    resident.push(format!("admin logged in {:.1}", rss()));
    let admin = bearer_client(&admin, 1)?;
    let cashier = create_cashier(&admin, &base, &stores).await?;
    resident.push(format!("cashier created {:.1}", rss()));
    let token = login(&base, CASHIER, CASHIER_PASSWORD).await?;
    resident.push(format!("cashier logged in {:.1}", rss()));
    let client = bearer_client(&token, args.concurrency)?;
    let shifts = open_shifts(&client, &base, &registers).await?;
    resident.push(format!("shifts opened {:.1}", rss()));
    println!(
        "cashier `{CASHIER}` ({COMMISSION_BP} bp commission) created and logged in, and {} \
         shifts opened, over HTTP in {:.2} s",
        shifts.len(),
        started.elapsed().as_secs_f64()
    );
    println!(
        "resident memory (VmRSS, MiB) along the setup: server started (first admin hashed), {}",
        resident.join(", ")
    );

    // The products, read once for both phases (in SKU order, as seeded).
    let ids: Vec<ProductId> = {
        let mut conn = db.read_conn().await?;
        let rows = sqlx::query("select id from products order by sku")
            .fetch_all(&mut *conn)
            .await?;
        rows.iter()
            .map(|r| {
                let id: String = r.try_get("id")?;
                ProductId::parse(&id).map_err(|e| anyhow!("product id {id}: {e}"))
            })
            .collect::<Result<_>>()?
    };
    let products = {
        let mut conn = db.read_conn().await?;
        let mut found = sales::products_for_sale(&mut conn, &ids).await?;
        ids.iter()
            .map(|id| found.remove(id).context("a seeded product is missing"))
            .collect::<Result<Vec<_>>>()?
    };
    let tills: Vec<Till> = registers
        .iter()
        .zip(&shifts)
        .map(|(&(store, register), &shift)| Till {
            store,
            register,
            shift,
        })
        .collect();
    let world = Arc::new(World {
        stores,
        tills,
        products,
        cashier,
    });

    // The setup's peak (seeding, and four argon2id hashes of 19 MiB each: the admin's and the
    // cashier's passwords, set and verified) is not the load's: measure the load's own peak.
    let setup_peak = proc_status_mib("VmHWM:").context("VmHWM in /proc/self/status")?;
    let resting = proc_status_mib("VmRSS:").context("VmRSS in /proc/self/status")?;
    let reset = reset_peak_rss();
    let duration = Duration::from_secs(args.seconds);
    let http = http_phase(&client, &base, &world, args.concurrency, duration).await?;
    let rss = proc_status_mib("VmHWM:").context("VmHWM in /proc/self/status")?;
    http.print_as(
        "http    POST /api/v1/sales (1–5 lines, mixed tenders, a fresh Idempotency-Key each)",
        "sales",
        "sales/s",
    );
    println!(
        "  whole run, warm-up and tail included: {} sales, {} errors",
        http.ok_total, http.errors_total
    );
    if reset {
        println!(
            "server peak RSS under load {rss:.1} MiB (VmHWM, reset just before the HTTP phase; \
             the server runs in-process, so this also counts the load generator and its HTTP \
             client); {resting:.1} MiB resident when the load started, peak before it \
             {setup_peak:.1} MiB (seeding, argon2 hashes)"
        );
    } else {
        println!(
            "server peak RSS {rss:.1} MiB (VmHWM since the process started: it could not be \
             reset, so it includes the seeding and argon2 hashes; the server runs in-process, \
             so this also counts the load generator and its HTTP client)"
        );
    }

    let started = Instant::now();
    let counted = close_shifts(&client, &base, &shifts).await?;
    ensure!(
        counted == http.ok_total,
        "the Z reports count {counted} sales, but {} were answered 201",
        http.ok_total
    );
    let fresh = open_shifts(&client, &base, &registers).await?;
    let world = Arc::new(World {
        tills: world
            .tills
            .iter()
            .zip(&fresh)
            .map(|(till, &shift)| Till { shift, ..*till })
            .collect(),
        ..World::clone(&world)
    });
    println!(
        "closed the {} HTTP shifts over HTTP (X report, then counted = expected; the Z reports \
         count all {counted} sales) and opened {} fresh ones in {:.2} s",
        shifts.len(),
        fresh.len(),
        started.elapsed().as_secs_f64()
    );
    analyze(&db).await?;

    let direct = direct_phase(&db, &world, args.concurrency, duration).await?;
    direct.print_as(
        "direct  ringup_app::checkout::sales::create_sale, the handler's use case, no HTTP \
         (same Db and pools)",
        "sales",
        "sales/s",
    );
    println!(
        "  whole run, warm-up and tail included: {} sales, {} errors",
        direct.ok_total, direct.errors_total
    );

    let started = Instant::now();
    let verified = verify(&db, http.ok_total + direct.ok_total).await;
    server.stop().await?;
    let summary = verified?;
    println!(
        "verified in {:.2} s: {summary}",
        started.elapsed().as_secs_f64()
    );

    ensure!(
        http.errors_total == 0,
        "{} HTTP sales failed (first: {})",
        http.errors_total,
        http.first_error.as_deref().unwrap_or("?")
    );
    ensure!(
        direct.errors_total == 0,
        "{} direct sales failed (first: {})",
        direct.errors_total,
        direct.first_error.as_deref().unwrap_or("?")
    );
    let (n, m) = (http.throughput(), direct.throughput());
    println!(
        "checkout {}: {:.0} sales/s http, {:.0} sales/s direct, ratio {:.2}, p50 {:.2} ms, p99 \
         {:.2} ms, rss {:.0} MiB",
        engine.name(),
        n,
        m,
        if m > 0.0 { n / m } else { f64::NAN },
        http.percentile(0.50),
        http.percentile(0.99),
        rss
    );
    Ok(())
}

async fn http_phase(
    client: &reqwest::Client,
    base: &str,
    world: &Arc<World>,
    concurrency: usize,
    duration: Duration,
) -> Result<Outcome> {
    let client = client.clone();
    let url = format!("{base}{SALES_PATH}");
    let world = Arc::clone(world);
    run_load(concurrency, duration, move |task, rng| {
        let client = client.clone();
        let url = url.clone();
        let prepared = world.till(task).and_then(|(till, store)| {
            let cart = Cart::random(rng, &world.products, store.prices_include_tax)?;
            let body = cart.body(&world, till, store)?;
            let total = cart.priced.total.value();
            Ok((body, total, cart.paid() - total))
        });
        async move {
            let (body, total, change) = prepared?;
            let response = client
                .post(url)
                .header("idempotency-key", uuid::Uuid::now_v7().to_string())
                .json(&body)
                .send()
                .await?;
            let status = response.status();
            let text = response.text().await?;
            if status != reqwest::StatusCode::CREATED {
                let cut: String = text.chars().take(400).collect();
                bail!("status {status}: {cut}");
            }
            let sale: Value = serde_json::from_str(&text)?;
            if int_field(&sale, "total")? != total || int_field(&sale, "change")? != change {
                bail!("expected total {total} and change {change}, got {text}");
            }
            Ok(())
        }
    })
    .await
}

async fn direct_phase(
    db: &Db,
    world: &Arc<World>,
    concurrency: usize,
    duration: Duration,
) -> Result<Outcome> {
    let db = db.clone();
    let world = Arc::clone(world);
    let actor = Arc::new(Actor {
        kind: ActorKind::User(world.cashier),
        role: Role::Cashier,
        store_ids: world.stores.iter().map(|s| s.id).collect(),
    });
    run_load(concurrency, duration, move |task, rng| {
        let (db, world, actor) = (db.clone(), Arc::clone(&world), Arc::clone(&actor));
        let cart = world
            .till(task)
            .and_then(|(_, store)| Cart::random(rng, &world.products, store.prices_include_tax));
        async move { direct_sale(&db, &world, &actor, task, cart?).await }
    })
    .await
}

/// One sale through the use case, as the handler makes it once the body is parsed.
async fn direct_sale(db: &Db, world: &World, actor: &Actor, task: usize, cart: Cart) -> Result<()> {
    let (till, store) = world.till(task)?;
    let body = cart.body(world, till, store)?;
    let hash = hash_token(&format!("POST {SALES_PATH}\n{body}"));
    let key = uuid::Uuid::now_v7().to_string();
    let mut lines = Vec::with_capacity(cart.lines.len());
    for line in &cart.lines {
        let product = world
            .products
            .get(line.product)
            .context("no such product")?;
        lines.push(Some(LineRequest {
            product_id: product.id,
            quantity: line.quantity,
            discount: line.discount,
            unit_price: None,
        }));
    }
    let sale = NewSale {
        store_id: Some(store.id),
        register_id: Some(till.register),
        shift_id: Some(till.shift),
        customer_id: None,
        lines,
        discount: cart.discount,
        payments: cart.payments.clone(),
        note: None,
        problems: Vec::new(),
    };
    let origin = Origin {
        ip: Some("127.0.0.1".to_owned()),
        user_agent: Some("ringup-bench".to_owned()),
        request_id: Some(uuid::Uuid::now_v7().to_string()),
    };
    let request = WriteRequest {
        actor,
        at: Utc::now(),
        origin: &origin,
        idempotency: Some(Idempotency {
            key: &key,
            request_hash: &hash,
        }),
    };
    let written = create_sale(db, request, sale, sale_view)
        .await
        .map_err(|e| anyhow!("sale refused: {e:?}"))?;
    let Some(recorded) = written.outcome() else {
        bail!("idempotency key {key} was replayed");
    };
    let total = cart.priced.total.value();
    let change = cart.paid() - total;
    ensure!(
        recorded.total == total && recorded.change == change,
        "expected total {total} and change {change}, got {} and {}",
        recorded.total,
        recorded.change
    );
    Ok(())
}

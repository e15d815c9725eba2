//! The HTTP phase's client side: the sale bodies made and priced before the load, the probes
//! that hold the bench's pricing against the server's, the three wrk runs, and how their
//! figures are printed.

use std::time::Duration;

use anyhow::{Result, ensure};
use rand::SeedableRng;
use rand::rngs::StdRng;
use serde_json::Value;

use ringup_store::Engine;

use super::cart::Cart;
use super::seed::int_field;
use super::{CheckoutArgs, SALES_PATH, WRK_THREADS, World, wrk};
use crate::common::WARM_UP;

/// A request body made and priced before the load, with what its answer must say.
pub(super) struct Body {
    pub(super) text: String,
    pub(super) total: i64,
    pub(super) change: i64,
}

/// What the three wrk runs measured.
pub(super) struct HttpRuns {
    pub(super) warm: wrk::Figures,
    pub(super) load: wrk::Figures,
    pub(super) one: wrk::Figures,
}

impl HttpRuns {
    pub(super) fn all(&self) -> [(&'static str, &wrk::Figures); 3] {
        [
            ("warm-up", &self.warm),
            ("load", &self.load),
            ("one client", &self.one),
        ]
    }
}

/// `n` random carts, priced; body `k` sells at register `k % registers`, as client `k` did.
pub(super) fn make_bodies(world: &World, n: usize) -> Result<Vec<Body>> {
    let mut rng = StdRng::seed_from_u64(42);
    (0..n)
        .map(|k| {
            let (till, store) = world.till(k)?;
            let cart = Cart::random(&mut rng, &world.products, store.prices_include_tax)?;
            let total = cart.priced.total.value();
            Ok(Body {
                text: cart.body(world, till, store)?.to_string(),
                total,
                change: cart.paid() - total,
            })
        })
        .collect()
}

/// Sends `bodies` one by one and checks each answer's total and change: wrk does not read the
/// answers, so this is where the bench's pricing is held against the server's.
pub(super) async fn probe(client: &reqwest::Client, base: &str, bodies: &[Body]) -> Result<u64> {
    for body in bodies {
        let response = client
            .post(format!("{base}{SALES_PATH}"))
            .header("idempotency-key", uuid::Uuid::now_v7().to_string())
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .body(body.text.clone())
            .send()
            .await?;
        let status = response.status();
        let text = response.text().await?;
        ensure!(
            status == reqwest::StatusCode::CREATED,
            "a probe sale answered {status}: {text}"
        );
        let sale: Value = serde_json::from_str(&text)?;
        ensure!(
            int_field(&sale, "total")? == body.total && int_field(&sale, "change")? == body.change,
            "a probe sale: expected total {} and change {}, got {text}",
            body.total,
            body.change
        );
    }
    Ok(u64::try_from(bodies.len())?)
}

/// The warm-up (figures discarded), the measured run, and one connection alone. Between the
/// warm-up and the run the database is analysed (`db`): statistics taken on the fresh seed say
/// `sales` is empty, and PostgreSQL then plans the foreign-key checks on it as sequential scans
/// that grow with every sale; the plans the server cached are invalidated by the new statistics.
pub(super) async fn http_phase(
    target: &wrk::Target<'_>,
    args: &CheckoutArgs,
    db: &ringup_store::Db,
) -> Result<HttpRuns> {
    let threads = WRK_THREADS.min(args.concurrency);
    let loaded = |tag, duration| wrk::Run {
        tag,
        threads,
        connections: args.concurrency,
        duration,
    };
    let warm = wrk::run(target, &loaded("warm", WARM_UP)).await?;
    crate::common::analyze(db).await?;
    let load = wrk::run(target, &loaded("load", Duration::from_secs(args.seconds))).await?;
    let one = wrk::run(
        target,
        &wrk::Run {
            tag: "one",
            threads: 1,
            connections: 1,
            duration: Duration::from_secs(args.one_client_seconds),
        },
    )
    .await?;
    Ok(HttpRuns { warm, load, one })
}

/// The mean latency a closed loop of `concurrency` clients implies at `per_second` (Little's
/// law), in milliseconds.
pub(super) fn implied_mean_ms(concurrency: usize, per_second: f64) -> f64 {
    concurrency as f64 / per_second * 1_000.0
}

pub(super) fn print_phase(label: &str, per_second: f64, p50: f64, p99: f64, concurrency: usize) {
    let mean = implied_mean_ms(concurrency, per_second);
    println!(
        "{label}\n  {per_second:.0} sales/s, p50 {p50:.2} ms, p99 {p99:.2} ms; mean implied by \
         {concurrency} / throughput {mean:.2} ms (p99 = {:.2} × it)",
        p99 / mean
    );
}

pub(super) fn print_http(http: &HttpRuns, args: &CheckoutArgs, engine: Engine) {
    println!(
        "warm-up  wrk {} s at {} connections: {} sales, {:.0} sales/s (figures discarded)",
        WARM_UP.as_secs(),
        args.concurrency,
        http.warm.created(),
        http.warm.sales_per_second()
    );
    let load = &http.load;
    print_phase(
        &format!(
            "http    POST /api/v1/sales from wrk -t{} -c{} -d{}s (1–5 lines, mixed tenders, a \
             fresh Idempotency-Key each) against the release server",
            WRK_THREADS.min(args.concurrency),
            args.concurrency,
            args.seconds
        ),
        load.sales_per_second(),
        load.p50_ms,
        load.p99_ms,
        args.concurrency,
    );
    println!(
        "  {} answers in {:.2} s ({}), p90 {:.2} ms, max {:.2} ms, wrk's mean {:.2} ms",
        load.answered,
        load.seconds,
        load.statuses_text(),
        load.p90_ms,
        load.max_ms,
        load.mean_ms
    );
    println!("  wrk's own report:");
    for line in load.report.lines().filter(|l| !l.trim().is_empty()) {
        println!("    {line}");
    }
    let one = &http.one;
    let goal = match engine {
        Engine::Sqlite => "≤ 1 ms on SQLite",
        Engine::Postgres => "≤ 2 ms on PostgreSQL",
    };
    print_phase(
        &format!(
            "one client  wrk -t1 -c1 -d{}s (the issue's goal: p50 {goal})",
            args.one_client_seconds
        ),
        one.sales_per_second(),
        one.p50_ms,
        one.p99_ms,
        1,
    );
    println!(
        "  {} answers ({}), p90 {:.2} ms, max {:.2} ms",
        one.answered,
        one.statuses_text(),
        one.p90_ms,
        one.max_ms
    );
}

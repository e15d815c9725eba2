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
use super::exports::{self, ExportFigures};
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
    /// The same load again while exports run beside it (`--exports`).
    pub(super) beside_exports: Option<(wrk::Figures, ExportFigures)>,
    /// The server's peak RSS in MiB before the exports ran: the checkout load's own.
    pub(super) peak_before_exports: f64,
    pub(super) one: wrk::Figures,
    /// What the server's own histograms say of the one-client run.
    pub(super) one_inside: ServerTimes,
    /// The webhook phases (`--webhooks`).
    pub(super) webhooks: Option<super::webhooks::WebhookFigures>,
}

/// Time the server spent, from its `/metrics`: `POST /api/v1/sales` from request to response,
/// and the writer's batches (SQLite: from taking a write's turn to its COMMIT, WAL sync
/// included). Sums in seconds and counts, so two readings subtract to one phase's.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub(super) struct ServerTimes {
    pub(super) sales_seconds: f64,
    pub(super) sales: f64,
    pub(super) batch_seconds: f64,
    pub(super) batches: f64,
}

impl ServerTimes {
    fn since(self, before: ServerTimes) -> ServerTimes {
        ServerTimes {
            sales_seconds: self.sales_seconds - before.sales_seconds,
            sales: self.sales - before.sales,
            batch_seconds: self.batch_seconds - before.batch_seconds,
            batches: self.batches - before.batches,
        }
    }

    /// Reads them from a Prometheus text exposition.
    fn parse(text: &str) -> ServerTimes {
        let sales = ["route=\"/api/v1/sales\"", "method=\"POST\""];
        ServerTimes {
            sales_seconds: sum_of(text, "http_request_duration_seconds_sum", &sales),
            sales: sum_of(text, "http_request_duration_seconds_count", &sales),
            batch_seconds: sum_of(text, "ringup_write_batch_seconds_sum", &[]),
            batches: sum_of(text, "ringup_write_batch_seconds_count", &[]),
        }
    }
}

/// The sum of the samples of `metric` whose labels hold every one of `labels`.
fn sum_of(text: &str, metric: &str, labels: &[&str]) -> f64 {
    text.lines()
        .filter(|line| {
            line.strip_prefix(metric)
                .is_some_and(|rest| rest.starts_with('{') || rest.starts_with(' '))
        })
        .filter(|line| labels.iter().all(|label| line.contains(label)))
        .filter_map(|line| line.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}

async fn server_times(base: &str) -> Result<ServerTimes> {
    let text = reqwest::get(format!("{base}/metrics"))
        .await?
        .error_for_status()?
        .text()
        .await?;
    Ok(ServerTimes::parse(&text))
}

impl HttpRuns {
    pub(super) fn all(&self) -> Vec<(&'static str, &wrk::Figures)> {
        let mut all = vec![("warm-up", &self.warm), ("load", &self.load)];
        if let Some((figures, _)) = &self.beside_exports {
            all.push(("load beside exports", figures));
        }
        all.push(("one client", &self.one));
        if let Some(webhooks) = &self.webhooks {
            all.extend(
                webhooks
                    .with
                    .iter()
                    .map(|l| ("load with webhooks", &l.figures)),
            );
            all.extend(
                webhooks
                    .without
                    .iter()
                    .map(|l| ("load between them", &l.figures)),
            );
        }
        all
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
    exporter: &reqwest::Client,
    server: &super::server::ServerProcess,
    cashier: &reqwest::Client,
    bodies: &[Body],
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
    let peak_before_exports = server.status_mib("VmHWM:").unwrap_or(f64::NAN);
    let beside_exports = if args.exports > 0 {
        let run = loaded("exports", Duration::from_secs(args.seconds));
        let load = wrk::run(target, &run);
        Some(exports::beside(exporter, target.base, args.exports, load).await?)
    } else {
        None
    };
    let before = server_times(target.base).await?;
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
    let one_inside = server_times(target.base).await?.since(before);
    let webhooks = if args.webhooks {
        let run = loaded("webhooks", Duration::from_secs(args.seconds));
        let figures = super::webhooks::measure(
            target,
            &run,
            &super::webhooks::Senders {
                admin: exporter,
                cashier,
                bodies,
            },
            load.sales_per_second(),
            Duration::from_secs(args.outage_seconds),
            db,
            server.pid,
        )
        .await?;
        Some(figures)
    } else {
        None
    };
    Ok(HttpRuns {
        webhooks,
        warm,
        load,
        beside_exports,
        peak_before_exports,
        one,
        one_inside,
    })
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
    if let Some((load, exports)) = &http.beside_exports {
        print_phase(
            &format!(
                "beside exports  the same load while {} tasks of the admin export the ten-year \
                 sales report by day (PDF with chart, XLSX, CSV), its PNG chart and the stock \
                 movements (CSV) in a loop",
                exports.tasks
            ),
            load.sales_per_second(),
            load.p50_ms,
            load.p99_ms,
            args.concurrency,
        );
        println!(
            "  {} exports sent ({:.1} MiB; each p50 {:.0} ms, max {:.0} ms, the lane's wait \
             included), {} refused by the report lane (503); checkout p99 {:.2} ms against {:.2} \
             ms alone; server peak RSS {:.1} MiB before the exports",
            exports.done,
            exports.bytes as f64 / (1024.0 * 1024.0),
            exports.p50_ms(),
            exports.max_ms(),
            exports.refused,
            load.p99_ms,
            http.load.p99_ms,
            http.peak_before_exports
        );
        for (path, count, p50) in exports.by_path() {
            println!("    {count} × GET {path}: p50 {p50:.0} ms");
        }
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
    print_inside(&http.one_inside, one.mean_ms);
}

/// Where one client's time goes, by the server's own histograms (means over the run).
fn print_inside(inside: &ServerTimes, wrk_mean_ms: f64) {
    if inside.sales < 1.0 {
        return;
    }
    let server_ms = inside.sales_seconds / inside.sales * 1_000.0;
    println!(
        "  inside the server (its /metrics, this run only): {server_ms:.2} ms a sale from request \
         to response, of wrk's mean {wrk_mean_ms:.2} ms (the rest: wrk, loopback, the kernel)"
    );
    if inside.batches >= 1.0 {
        let write_ms = inside.batch_seconds / inside.batches * 1_000.0;
        println!(
            "  of which the writer's turn {write_ms:.2} ms a batch ({:.0} batches for {:.0} \
             sales: BEGIN, the write's statements, COMMIT and its WAL sync) and {:.2} ms the \
             rest (HTTP, authentication, the checks read before the write, pricing, JSON)",
            inside.batches,
            inside.sales,
            server_ms - write_ms * inside.batches / inside.sales
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn server_times_sum_the_sales_route_and_subtract() {
        let text = "\
# TYPE http_request_duration_seconds summary
http_request_duration_seconds_sum{method=\"POST\",route=\"/api/v1/sales\",status=\"201\"} 1.5
http_request_duration_seconds_sum{method=\"POST\",route=\"/api/v1/sales\",status=\"409\"} 0.5
http_request_duration_seconds_sum{method=\"GET\",route=\"/api/v1/sales\",status=\"200\"} 9
http_request_duration_seconds_count{method=\"POST\",route=\"/api/v1/sales\",status=\"201\"} 3
http_request_duration_seconds_count{method=\"POST\",route=\"/api/v1/sales\",status=\"409\"} 1
ringup_write_batch_seconds_sum 0.25
ringup_write_batch_seconds_count 2
ringup_write_batch_seconds_summed 7
";
        let now = ServerTimes::parse(text);
        assert_eq!(
            now,
            ServerTimes {
                sales_seconds: 2.0,
                sales: 4.0,
                batch_seconds: 0.25,
                batches: 2.0
            }
        );
        let then = ServerTimes {
            sales_seconds: 1.0,
            sales: 1.0,
            batch_seconds: 0.25,
            batches: 1.0,
        };
        assert_eq!(
            now.since(then),
            ServerTimes {
                sales_seconds: 1.0,
                sales: 3.0,
                batch_seconds: 0.0,
                batches: 1.0
            }
        );
    }
}

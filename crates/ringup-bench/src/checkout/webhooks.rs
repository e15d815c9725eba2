//! `ringup-bench checkout --webhooks`: what delivering every sale to webhooks costs the tills,
//! how fast a delivery arrives, how long a receiver outage takes to heal, and whether a slow
//! endpoint holds up the others.
//!
//! The receiver is an HTTP server in the bench process on loopback with pairs of endpoints,
//! each subscribed to `sale.completed` by the admin over the API: `/fast-<k>` answers 200 at
//! once (or 503 during the outage), `/slow-<k>` answers 200 after 5 s. Each arrival is timed
//! against the event's `created_at` (taken inside the sale's transaction, just before its
//! commit, by the server's clock — the same machine's), so "latency" is commit → received,
//! slightly over.
//!
//! 1. **Throughput with webhooks**: the wrk load, the same connections and duration, four
//!    times in the order with, without, without, with (a pair subscribed, then deleted, then a
//!    new pair subscribed), and the means compared (the issue: within 10 %). The server gets
//!    slower as its database grows, by several percent within one run, so a single run with
//!    webhooks after one without would charge that drift to the webhooks; in this order it
//!    falls on both sides alike.
//! 2. **Latency at half capacity**: sales paced by the bench at half the throughput measured
//!    without webhooks, for the run's duration; p50 and p99 of the fast endpoint's arrivals
//!    (goal: p99 under 250 ms) while the slow endpoint takes 5 s a delivery.
//! 3. **Outage**: `/fast` answers 503 for `--outage-seconds` (default 60) while the paced load
//!    goes on; then it answers 200 again and the load stops. Reported: how long until the fast
//!    endpoint has every `sale.completed` event in the database.
//!
//! A delivery counts once per event id (`webhook-id`): at-least-once may repeat one.
//!
//! Phase 1 also reads the CPU time the server process and this process (the receiver; the
//! bench does nothing else while wrk runs) used during each wrk run, from `/proc/<pid>/stat`,
//! and prints it per sale: what the webhooks cost the server, and what the receiver, which
//! shares the machine's two cores with it, took from the tills.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, anyhow, ensure};
use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use chrono::{DateTime, Utc};
use serde_json::{Value, json};
use tokio::sync::{Mutex, Semaphore};

use super::http::Body;
use super::wrk;

/// How long the slow endpoint takes to answer.
const SLOW: Duration = Duration::from_secs(5);
/// How long the bench waits for the deliveries to catch up before it reports a failure.
const PATIENCE: Duration = Duration::from_secs(600);

/// One endpoint's arrivals.
#[derive(Default)]
struct Arrivals {
    /// Event id → first arrival, and the latency to it (ms).
    first: HashMap<String, f64>,
    /// Every request (repeats and refusals included).
    requests: u64,
}

/// Arrivals by path (`fast-1`, `slow-1`, …).
#[derive(Default)]
struct Receiver {
    paths: Mutex<HashMap<String, Arrivals>>,
    outage: AtomicBool,
}

impl Receiver {
    async fn distinct(&self, path: &str) -> usize {
        self.paths
            .lock()
            .await
            .get(path)
            .map_or(0, |a| a.first.len())
    }

    async fn requests(&self, path: &str) -> u64 {
        self.paths.lock().await.get(path).map_or(0, |a| a.requests)
    }
}

async fn receive(
    State(receiver): State<Arc<Receiver>>,
    Path(which): Path<String>,
    headers: HeaderMap,
    body: String,
) -> StatusCode {
    let now = Utc::now();
    let slow = which.starts_with("slow");
    let refused = !slow && receiver.outage.load(Ordering::SeqCst);
    {
        let mut paths = receiver.paths.lock().await;
        let arrivals = paths.entry(which).or_default();
        arrivals.requests += 1;
        if refused {
            return StatusCode::SERVICE_UNAVAILABLE;
        }
        let id = headers
            .get("webhook-id")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        let created = serde_json::from_str::<Value>(&body)
            .ok()
            .and_then(|v| v["created_at"].as_str().map(str::to_owned))
            .and_then(|t| DateTime::parse_from_rfc3339(&t).ok())
            .map(|t| t.with_timezone(&Utc));
        let latency = created.map_or(f64::NAN, |c| {
            (now - c).num_microseconds().unwrap_or(0) as f64 / 1000.0
        });
        arrivals.first.entry(id).or_insert(latency);
    }
    if slow {
        tokio::time::sleep(SLOW).await;
    }
    StatusCode::OK
}

/// The server's SQLite writer thread.
const WRITER_THREAD: &str = ringup_store::platform::writer::THREAD_NAME;

/// CPU seconds (user and system, every thread) a process has used so far, from
/// `/proc/<pid>/stat` (`self` for this process); `None` where it cannot be read.
fn cpu_seconds(pid: &str) -> Option<f64> {
    stat_cpu_seconds(&std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?)
}

/// CPU seconds the threads of process `pid` named `name` have used so far, from
/// `/proc/<pid>/task/*/stat`; `None` where it cannot be read or no thread has that name.
fn thread_cpu_seconds(pid: &str, name: &str) -> Option<f64> {
    let mut total = None;
    for task in std::fs::read_dir(format!("/proc/{pid}/task"))
        .ok()?
        .flatten()
    {
        let Ok(stat) = std::fs::read_to_string(task.path().join("stat")) else {
            continue;
        };
        let comm = stat
            .find('(')
            .zip(stat.rfind(')'))
            .map(|(open, close)| &stat[open + 1..close]);
        if comm == Some(name) {
            *total.get_or_insert(0.0) += stat_cpu_seconds(&stat)?;
        }
    }
    total
}

/// The user and system time of a `stat` line of `/proc`, in seconds.
fn stat_cpu_seconds(stat: &str) -> Option<f64> {
    /// The unit of `/proc/<pid>/stat`'s times (`USER_HZ`), 100 on Linux.
    const TICKS_PER_SECOND: f64 = 100.0;
    // The command name (field 2) may hold spaces; the fields after it start past its `)`.
    let rest = &stat[stat.rfind(')')? + 1..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // utime and stime are fields 14 and 15 of the whole line, 12 and 13 after the name.
    let user: f64 = fields.get(11)?.parse().ok()?;
    let system: f64 = fields.get(12)?.parse().ok()?;
    Some((user + system) / TICKS_PER_SECOND)
}

/// Bytes process `pid` has handed to `write` and its kin so far (`wchar` of
/// `/proc/<pid>/io`: on SQLite, mostly the WAL's frames); `None` where it cannot be read.
fn written_bytes(pid: &str) -> Option<f64> {
    let io = std::fs::read_to_string(format!("/proc/{pid}/io")).ok()?;
    io.lines()
        .find_map(|line| line.strip_prefix("wchar:"))
        .and_then(|n| n.trim().parse().ok())
}

/// A wrk load and the CPU time the server and the receiver used during it.
pub(super) struct Load {
    pub(super) figures: wrk::Figures,
    pub(super) server_cpu: Option<f64>,
    /// Of it, the SQLite writer's thread (PostgreSQL has none).
    pub(super) writer_cpu: Option<f64>,
    pub(super) receiver_cpu: Option<f64>,
    /// Bytes the server wrote.
    pub(super) server_written: Option<f64>,
}

impl Load {
    /// Runs one wrk load, reading both processes' CPU time around it.
    async fn run(target: &wrk::Target<'_>, run: &wrk::Run<'_>, server_pid: u32) -> Result<Load> {
        let server = server_pid.to_string();
        let read = || {
            [
                cpu_seconds(&server),
                thread_cpu_seconds(&server, WRITER_THREAD),
                cpu_seconds("self"),
                written_bytes(&server),
            ]
        };
        let before = read();
        let figures = wrk::run(target, run).await?;
        let after = read();
        let spent = |i: usize| Some(after[i]? - before[i]?);
        Ok(Load {
            figures,
            server_cpu: spent(0),
            writer_cpu: spent(1),
            receiver_cpu: spent(2),
            server_written: spent(3),
        })
    }

    /// `amount` a sale over the load's sales, times `scale`.
    fn per_sale(&self, amount: Option<f64>, scale: f64) -> Option<f64> {
        let sales = self.figures.created();
        (sales > 0).then_some(amount? * scale / sales as f64)
    }
}

/// What the webhooks phase measured.
pub(super) struct WebhookFigures {
    /// The wrk loads with a pair of endpoints subscribed (first and last).
    pub(super) with: [Load; 2],
    /// The wrk loads between them, with none.
    pub(super) without: [Load; 2],
    pub(super) paced_rate: f64,
    /// Sales the paced sender had answered 201 (phases 2 and 3).
    pub(super) paced_sales: u64,
    pub(super) paced_failures: u64,
    pub(super) latency_p50_ms: f64,
    pub(super) latency_p99_ms: f64,
    pub(super) latency_max_ms: f64,
    pub(super) latency_samples: usize,
    pub(super) outage: Duration,
    /// From the receiver's return to every event delivered to it.
    pub(super) healed_after: Duration,
    pub(super) fast_requests: u64,
    pub(super) slow_delivered: usize,
}

/// Who sends what: the admin subscribes the endpoints, the cashier sells `bodies`.
pub(super) struct Senders<'a> {
    pub(super) admin: &'a reqwest::Client,
    pub(super) cashier: &'a reqwest::Client,
    pub(super) bodies: &'a [Body],
}

/// Runs the three phases against the running server; `capacity` is the throughput measured
/// without webhooks in the main load.
pub(super) async fn measure(
    target: &wrk::Target<'_>,
    run: &wrk::Run<'_>,
    senders: &Senders<'_>,
    capacity: f64,
    outage: Duration,
    db: &ringup_store::Db,
    server_pid: u32,
) -> Result<WebhookFigures> {
    let Senders {
        admin,
        cashier,
        bodies,
    } = *senders;
    let receiver = Arc::new(Receiver::default());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .context("the webhook receiver's port")?;
    let address = listener.local_addr()?;
    let app = Router::new()
        .route("/{which}", post(receive))
        .with_state(receiver.clone());
    let server = tokio::spawn(async move { axum::serve(listener, app).await });
    let endpoints = Endpoints {
        admin,
        base: target.base,
        receiver: format!("http://{address}"),
    };

    // 1. Throughput: with, without, without, with.
    let first = endpoints.subscribe(db, 1).await?;
    let with_first = Load::run(target, run, server_pid).await?;
    first.wait_for_all(db, &receiver).await?;
    endpoints.delete(&first).await?;
    let without = [
        Load::run(target, run, server_pid).await?,
        Load::run(target, run, server_pid).await?,
    ];
    let pair = endpoints.subscribe(db, 2).await?;
    let with_last = Load::run(target, run, server_pid).await?;
    pair.wait_for_all(db, &receiver).await?;
    let fast = pair.fast.as_str();

    // 2. Half capacity, paced, to the second pair.
    let rate = (capacity / 2.0).max(1.0);
    let before: HashSet<String> = receiver
        .paths
        .lock()
        .await
        .get(fast)
        .map(|a| a.first.keys().cloned().collect())
        .unwrap_or_default();
    let sent = Arc::new(AtomicU64::new(0));
    let failed = Arc::new(AtomicU64::new(0));
    pace(
        cashier,
        target.base,
        bodies,
        rate,
        run.duration,
        &sent,
        &failed,
    )
    .await;
    pair.wait_for_all(db, &receiver).await?;
    let mut latencies: Vec<f64> = receiver
        .paths
        .lock()
        .await
        .get(fast)
        .map(|a| {
            a.first
                .iter()
                .filter(|(id, _)| !before.contains(*id))
                .map(|(_, ms)| *ms)
                .filter(|ms| ms.is_finite())
                .collect()
        })
        .unwrap_or_default();
    latencies.sort_by(f64::total_cmp);
    let at = |q: f64| {
        latencies
            .get(((latencies.len() as f64 - 1.0) * q).round() as usize)
            .copied()
            .unwrap_or(f64::NAN)
    };

    // 3. The outage: the paced load goes on while the fast endpoint refuses.
    receiver.outage.store(true, Ordering::SeqCst);
    pace(cashier, target.base, bodies, rate, outage, &sent, &failed).await;
    receiver.outage.store(false, Ordering::SeqCst);
    let returned = Instant::now();
    pair.wait_for_all(db, &receiver).await?;
    let healed_after = returned.elapsed();

    let figures = WebhookFigures {
        with: [with_first, with_last],
        without,
        paced_rate: rate,
        paced_sales: sent.load(Ordering::SeqCst),
        paced_failures: failed.load(Ordering::SeqCst),
        latency_p50_ms: at(0.50),
        latency_p99_ms: at(0.99),
        latency_max_ms: latencies.last().copied().unwrap_or(f64::NAN),
        latency_samples: latencies.len(),
        outage,
        healed_after,
        fast_requests: receiver.requests(fast).await,
        slow_delivered: receiver.distinct(&pair.slow).await,
    };
    server.abort();
    Ok(figures)
}

/// How the bench subscribes and deletes endpoint pairs, as the admin over the API.
struct Endpoints<'a> {
    admin: &'a reqwest::Client,
    base: &'a str,
    /// The receiver's origin.
    receiver: String,
}

/// A pair of endpoints and the sales made since it was subscribed.
struct Pair {
    fast: String,
    slow: String,
    ids: Vec<String>,
    /// Sales in the database when the pair was subscribed (the server idle).
    baseline: usize,
}

impl Endpoints<'_> {
    /// Subscribes pair `k` once the server is idle, so every sale counted after this is one
    /// whose event the pair is sent.
    async fn subscribe(&self, db: &ringup_store::Db, k: usize) -> Result<Pair> {
        let baseline = idle(db).await?;
        let (fast, slow) = (format!("fast-{k}"), format!("slow-{k}"));
        let mut ids = Vec::new();
        for which in [&fast, &slow] {
            let body = json!({"url": format!("{}/{which}", self.receiver),
                "events": ["sale.completed"], "store_ids": [],
                "description": format!("bench {which}"), "enabled": true});
            let response = self
                .admin
                .post(format!("{}/api/v1/webhooks", self.base))
                .json(&body)
                .send()
                .await?;
            let status = response.status();
            let value: Value = response.json().await.unwrap_or(Value::Null);
            ensure!(status == 201, "POST /api/v1/webhooks: {status} {value}");
            let id = value["id"].as_str().context("the endpoint's id")?;
            ids.push(id.to_owned());
        }
        Ok(Pair {
            fast,
            slow,
            ids,
            baseline,
        })
    }

    /// Deletes a pair (its attempts go with it).
    async fn delete(&self, pair: &Pair) -> Result<()> {
        for id in &pair.ids {
            let response = self
                .admin
                .delete(format!("{}/api/v1/webhooks/{id}", self.base))
                .send()
                .await?;
            let status = response.status();
            ensure!(status == 204, "DELETE /api/v1/webhooks/{id}: {status}");
        }
        Ok(())
    }
}

impl Pair {
    /// Waits until the fast endpoint has every sale made since the pair was subscribed.
    async fn wait_for_all(&self, db: &ringup_store::Db, receiver: &Receiver) -> Result<()> {
        let n = idle(db).await? - self.baseline;
        wait_for(receiver, &self.fast, n).await
    }
}

/// The sales in the database once no more are being made: the count unchanged for 300 ms
/// (wrk has stopped, and the requests it left in flight are done).
async fn idle(db: &ringup_store::Db) -> Result<usize> {
    let mut last = sales_in_db(db).await?;
    loop {
        tokio::time::sleep(Duration::from_millis(300)).await;
        let now = sales_in_db(db).await?;
        if now == last {
            return Ok(now);
        }
        last = now;
    }
}

/// Sales committed so far (each wrote one `sale.completed` event).
async fn sales_in_db(db: &ringup_store::Db) -> Result<usize> {
    let row: (i64,) = sqlx::query_as("select cast(count(*) as bigint) from sales")
        .fetch_one(db.reader())
        .await?;
    usize::try_from(row.0).map_err(|_| anyhow!("a negative count"))
}

/// Waits until endpoint `path` has `n` distinct events.
async fn wait_for(receiver: &Receiver, path: &str, n: usize) -> Result<()> {
    let deadline = Instant::now() + PATIENCE;
    loop {
        let got = receiver.distinct(path).await;
        if got >= n {
            return Ok(());
        }
        ensure!(
            Instant::now() < deadline,
            "/{path} has {got} of {n} events after {} s",
            PATIENCE.as_secs()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Sends sales at `rate` per second for `duration`, each with a fresh key, at most 256 in
/// flight; counts the 201s and the rest.
async fn pace(
    client: &reqwest::Client,
    base: &str,
    bodies: &[Body],
    rate: f64,
    duration: Duration,
    sent: &Arc<AtomicU64>,
    failed: &Arc<AtomicU64>,
) {
    let in_flight = Arc::new(Semaphore::new(256));
    let mut tick = tokio::time::interval(Duration::from_secs_f64(1.0 / rate));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let end = Instant::now() + duration;
    let mut tasks = tokio::task::JoinSet::new();
    let mut k = 0usize;
    while Instant::now() < end {
        tick.tick().await;
        let Some(body) = bodies.get(k % bodies.len().max(1)) else {
            return;
        };
        k += 1;
        let Ok(permit) = in_flight.clone().acquire_owned().await else {
            return;
        };
        let request = client
            .post(format!("{base}/api/v1/sales"))
            .header("content-type", "application/json")
            .header("idempotency-key", uuid::Uuid::now_v7().to_string())
            .body(body.text.clone());
        let (sent, failed) = (sent.clone(), failed.clone());
        tasks.spawn(async move {
            let ok = matches!(request.send().await, Ok(r) if r.status() == 201);
            if ok { &sent } else { &failed }.fetch_add(1, Ordering::SeqCst);
            drop(permit);
        });
    }
    while tasks.join_next().await.is_some() {}
}

/// Sales a second over both loads.
fn mean(loads: &[Load; 2]) -> f64 {
    loads
        .iter()
        .map(|l| l.figures.sales_per_second())
        .sum::<f64>()
        / 2.0
}

/// What `which` reads of a load, a sale, times `scale` (1,000 for CPU milliseconds), over
/// both loads; `NaN` where it could not be read.
fn per_sale(loads: &[Load; 2], which: fn(&Load) -> Option<f64>, scale: f64) -> f64 {
    let each: Option<Vec<f64>> = loads.iter().map(|l| l.per_sale(which(l), scale)).collect();
    each.map_or(f64::NAN, |v| v.iter().sum::<f64>() / v.len() as f64)
}

/// Prints the phase.
pub(super) fn print(figures: &WebhookFigures, concurrency: usize) {
    let (with, without) = (mean(&figures.with), mean(&figures.without));
    let each = |loads: &[Load; 2]| -> String {
        loads
            .iter()
            .map(|l| &l.figures)
            .map(|f| {
                format!(
                    "{:.0} (p50 {:.2} ms, p99 {:.2} ms)",
                    f.sales_per_second(),
                    f.p50_ms,
                    f.p99_ms
                )
            })
            .collect::<Vec<_>>()
            .join(" and ")
    };
    println!(
        "webhooks  pairs of endpoints subscribed to sale.completed on a receiver in the bench \
         process: /fast-k answers at once, /slow-k after {} s",
        SLOW.as_secs()
    );
    println!(
        "  throughput (wrk, {concurrency} connections, in the order with, without, without, \
         with): with webhooks {} → mean {with:.0} sales/s; without {} → mean {without:.0}; \
         {:.2} × (goal ≥ 0.90)",
        each(&figures.with),
        each(&figures.without),
        if without > 0.0 {
            with / without
        } else {
            f64::NAN
        }
    );
    let server = |l: &Load| l.server_cpu;
    let writer = |l: &Load| l.writer_cpu;
    let receiver = |l: &Load| l.receiver_cpu;
    let written = |l: &Load| l.server_written;
    let both = |which: fn(&Load) -> Option<f64>, scale: f64| {
        (
            per_sale(&figures.with, which, scale),
            per_sale(&figures.without, which, scale),
        )
    };
    let (server, writer, receiver, written) = (
        both(server, 1000.0),
        both(writer, 1000.0),
        both(receiver, 1000.0),
        both(written, 1.0 / 1024.0),
    );
    // PostgreSQL's server has no writer thread, and its database's CPU is not the server's.
    let of_which = if writer.0.is_nan() {
        String::new()
    } else {
        format!(
            ", of which its SQLite writer thread {:.3} / {:.3} ms",
            writer.0, writer.1
        )
    };
    println!(
        "  CPU a sale (both cores: 2,000 ms a second in all), with webhooks / without: the \
         server {:.3} / {:.3} ms{of_which}; the receiver (this process) {:.3} / {:.3} ms. The \
         server wrote {:.1} / {:.1} KiB a sale",
        server.0, server.1, receiver.0, receiver.1, written.0, written.1
    );
    println!(
        "  at half capacity ({:.0} sales/s paced by the bench): commit → /fast received p50 \
         {:.1} ms, p99 {:.1} ms, max {:.1} ms over {} deliveries (goal: p99 < 250 ms), while \
         /slow took {} s per delivery ({} delivered in all)",
        figures.paced_rate,
        figures.latency_p50_ms,
        figures.latency_p99_ms,
        figures.latency_max_ms,
        figures.latency_samples,
        SLOW.as_secs(),
        figures.slow_delivered
    );
    println!(
        "  outage: /fast answered 503 for {} s under the same load; every event had reached it \
         {:.1} s after it answered 200 again ({} requests to /fast in all; {} paced sales, {} \
         refused)",
        figures.outage.as_secs(),
        figures.healed_after.as_secs_f64(),
        figures.fast_requests,
        figures.paced_sales,
        figures.paced_failures
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Works on this thread until `cpu` (a CPU-time reading, in seconds) has moved by 50 ms
    /// (five ticks); a loaded machine only makes that take longer.
    fn busy_until_it_moves(cpu: impl Fn() -> f64) {
        let before = cpu();
        let started = Instant::now();
        let mut x: u64 = 1;
        loop {
            x = std::hint::black_box(x.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1));
            let now = cpu();
            if now - before >= 0.05 {
                return;
            }
            assert!(
                started.elapsed() < Duration::from_secs(30),
                "the CPU time never moved: {before} → {now}"
            );
        }
    }

    #[test]
    fn cpu_seconds_grows_with_the_work_this_process_does() {
        busy_until_it_moves(|| cpu_seconds("self").expect("this process's CPU time"));
        assert_eq!(cpu_seconds("0"), None);
    }

    /// A thread is found by its name, and only its own work counts.
    #[test]
    fn thread_cpu_seconds_counts_the_named_thread() {
        const NAME: &str = "bench-probe";
        std::thread::Builder::new()
            .name(NAME.to_owned())
            .spawn(|| {
                busy_until_it_moves(|| {
                    thread_cpu_seconds("self", NAME).expect("the probe thread's CPU time")
                });
            })
            .expect("a probe thread")
            .join()
            .expect("the probe thread ran");
        assert_eq!(thread_cpu_seconds("self", WRITER_THREAD), None);
        assert_eq!(thread_cpu_seconds("0", NAME), None);
    }

    #[test]
    fn written_bytes_count_what_this_process_writes() {
        let dir = tempfile::tempdir().expect("a scratch directory");
        let before = written_bytes("self").expect("this process's written bytes");
        std::fs::write(dir.path().join("bytes"), vec![7_u8; 65_536]).expect("a scratch file");
        let after = written_bytes("self").expect("this process's written bytes");
        assert!(after - before >= 65_536.0, "{before} → {after}");
        assert_eq!(written_bytes("0"), None);
    }
}

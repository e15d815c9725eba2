//! `ringup-bench checkout --webhooks`: what delivering every sale to webhooks costs the tills,
//! how fast a delivery arrives, how long a receiver outage takes to heal, and whether a slow
//! endpoint holds up the others.
//!
//! The receiver is an HTTP server in the bench process on loopback with two endpoints, each
//! subscribed to `sale.completed` by the admin over the API: `/fast` answers 200 at once (or
//! 503 during the outage), `/slow` answers 200 after 5 s. Each arrival is timed against the
//! event's `created_at` (taken inside the sale's transaction, just before its commit, by the
//! server's clock — the same machine's), so "latency" is commit → received, slightly over.
//!
//! 1. **Throughput with webhooks**: the wrk load again, the same connections and duration, with
//!    both endpoints subscribed; compared with the run without (the issue: within 10 %).
//! 2. **Latency at half capacity**: sales paced by the bench at half the throughput measured
//!    without webhooks, for the run's duration; p50 and p99 of the fast endpoint's arrivals
//!    (goal: p99 under 250 ms) while the slow endpoint takes 5 s a delivery.
//! 3. **Outage**: `/fast` answers 503 for `--outage-seconds` (default 60) while the paced load
//!    goes on; then it answers 200 again and the load stops. Reported: how long until the fast
//!    endpoint has every `sale.completed` event in the database.
//!
//! A delivery counts once per event id (`webhook-id`): at-least-once may repeat one.

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

#[derive(Default)]
struct Receiver {
    fast: Mutex<Arrivals>,
    slow: Mutex<Arrivals>,
    outage: AtomicBool,
}

async fn receive(
    State(receiver): State<Arc<Receiver>>,
    Path(which): Path<String>,
    headers: HeaderMap,
    body: String,
) -> StatusCode {
    let now = Utc::now();
    let slow = which == "slow";
    let arrivals = if slow { &receiver.slow } else { &receiver.fast };
    let refused = !slow && receiver.outage.load(Ordering::SeqCst);
    {
        let mut arrivals = arrivals.lock().await;
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

/// What the webhooks phase measured.
pub(super) struct WebhookFigures {
    /// The wrk load with both endpoints subscribed.
    pub(super) load: wrk::Figures,
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
/// without webhooks.
pub(super) async fn measure(
    target: &wrk::Target<'_>,
    run: &wrk::Run<'_>,
    senders: &Senders<'_>,
    capacity: f64,
    outage: Duration,
    db: &ringup_store::Db,
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
    // Sales from before the endpoints existed are never sent to them: count from here. (The
    // server is idle now, so every earlier event has been positioned and fanned out to none.)
    let baseline = sales_in_db(db).await?;
    for which in ["fast", "slow"] {
        let body = json!({"url": format!("http://{address}/{which}"), "events": ["sale.completed"],
            "store_ids": [], "description": format!("bench {which}"), "enabled": true});
        let response = admin
            .post(format!("{}/api/v1/webhooks", target.base))
            .json(&body)
            .send()
            .await?;
        let status = response.status();
        let text = response.text().await.unwrap_or_default();
        ensure!(status == 201, "POST /api/v1/webhooks: {status} {text}");
    }

    // 1. The wrk load with webhooks.
    let load = wrk::run(target, run).await?;
    let measured_at = sales_in_db(db).await? - baseline;
    wait_for(&receiver, measured_at).await?;

    // 2. Half capacity, paced.
    let rate = (capacity / 2.0).max(1.0);
    let before: HashSet<String> = receiver.fast.lock().await.first.keys().cloned().collect();
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
    let settle_to = sales_in_db(db).await? - baseline;
    wait_for(&receiver, settle_to).await?;
    let mut latencies: Vec<f64> = receiver
        .fast
        .lock()
        .await
        .first
        .iter()
        .filter(|(id, _)| !before.contains(*id))
        .map(|(_, ms)| *ms)
        .filter(|ms| ms.is_finite())
        .collect();
    latencies.sort_by(f64::total_cmp);
    let at = |q: f64| {
        latencies
            .get(((latencies.len() as f64 - 1.0) * q).round() as usize)
            .copied()
            .unwrap_or(f64::NAN)
    };

    // 3. The outage: the paced load goes on while /fast refuses.
    receiver.outage.store(true, Ordering::SeqCst);
    pace(cashier, target.base, bodies, rate, outage, &sent, &failed).await;
    receiver.outage.store(false, Ordering::SeqCst);
    let returned = Instant::now();
    let total = sales_in_db(db).await? - baseline;
    wait_for(&receiver, total).await?;
    let healed_after = returned.elapsed();

    let figures = WebhookFigures {
        load,
        paced_rate: rate,
        paced_sales: sent.load(Ordering::SeqCst),
        paced_failures: failed.load(Ordering::SeqCst),
        latency_p50_ms: at(0.50),
        latency_p99_ms: at(0.99),
        latency_max_ms: latencies.last().copied().unwrap_or(f64::NAN),
        latency_samples: latencies.len(),
        outage,
        healed_after,
        fast_requests: receiver.fast.lock().await.requests,
        slow_delivered: receiver.slow.lock().await.first.len(),
    };
    server.abort();
    Ok(figures)
}

/// Sales committed so far (each wrote one `sale.completed` event).
async fn sales_in_db(db: &ringup_store::Db) -> Result<usize> {
    let row: (i64,) = sqlx::query_as("select cast(count(*) as bigint) from sales")
        .fetch_one(db.reader())
        .await?;
    usize::try_from(row.0).map_err(|_| anyhow!("a negative count"))
}

/// Waits until the fast endpoint has `n` distinct events.
async fn wait_for(receiver: &Receiver, n: usize) -> Result<()> {
    let deadline = Instant::now() + PATIENCE;
    loop {
        let got = receiver.fast.lock().await.first.len();
        if got >= n {
            return Ok(());
        }
        ensure!(
            Instant::now() < deadline,
            "the fast endpoint has {got} of {n} events after {} s",
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

/// Prints the phase.
pub(super) fn print(figures: &WebhookFigures, without: f64, concurrency: usize) {
    let with = figures.load.sales_per_second();
    println!(
        "webhooks  two endpoints subscribed to sale.completed on a receiver in the bench \
         process: /fast answers at once, /slow after {} s",
        SLOW.as_secs()
    );
    println!(
        "  throughput with webhooks {with:.0} sales/s (wrk, {concurrency} connections, p50 {:.2} \
         ms, p99 {:.2} ms) against {without:.0} without: {:.2} × (goal ≥ 0.90)",
        figures.load.p50_ms,
        figures.load.p99_ms,
        if without > 0.0 {
            with / without
        } else {
            f64::NAN
        }
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

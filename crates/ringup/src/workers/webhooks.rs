//! The webhook delivery worker: claims due attempts (the relay queued them with their
//! events), sends them signed the Standard Webhooks way, and records each outcome.
//!
//! It claims *runs*: a lane's due attempts in position order (up to
//! [`delivery::RUN_LENGTH`]), sent one after another on the endpoint's kept-alive connection
//! until one fails, then recorded in one transaction. It looks for work when the node's event
//! stream moves (new events mean new attempts), when an attempt is queued outside the relay
//! (a test event, a redelivery), when a run ends (the lane's next events are due), and every
//! second (retries that fell due). Runs go concurrently, at most [`MAX_IN_FLIGHT`] at once and
//! [`PER_ENDPOINT`] per endpoint (a claim takes no more for an endpoint at its bound), so a
//! slow endpoint holds a few slots and never the others' deliveries.
//!
//! The HTTP client connects within 5 s, gives up on an answer after 10 s, follows no redirect
//! (a 3xx is a failure) and resolves names through [`GuardedResolver`], which drops private
//! addresses unless they are allowed; a URL with a literal address is checked before sending.
//! So a name that resolved to a public address when the endpoint was saved cannot later point
//! the worker at the internal network.
//!
//! Once an hour it purges finished attempts older than the events' retention (8 days).
//!
//! Stopping: no new claims; runs in flight stop after their current send and record what
//! they sent, within a short grace; an attempt whose outcome was not recorded is sent again
//! after its lease (at least once).

use std::collections::{HashMap, HashSet};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rand::Rng as _;
use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use ringup_app::events::Stream;
use ringup_app::meters;
use ringup_app::webhooks::delivery::{self, Attempt, Claimed, Room, Run};
use ringup_core::clock::Clock;
use ringup_core::webhooks::address::{is_public, parse_url};
use ringup_core::webhooks::{Secret, signature_header};
use ringup_store::Db;
use tokio::sync::{Notify, Semaphore, watch};
use tokio::task::JoinHandle;

/// Runs in flight on this node, at most.
const MAX_IN_FLIGHT: usize = 64;
/// Runs in flight to one endpoint, at most (before it is left out of claims).
const PER_ENDPOINT: usize = 8;
/// How often the worker looks for due retries when nothing wakes it.
const IDLE: Duration = Duration::from_secs(1);
/// Connecting to an endpoint, at most.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// A whole attempt (connect, send, answer), at most.
const TOTAL_TIMEOUT: Duration = Duration::from_secs(10);
/// How often finished attempts past their retention are purged.
const PURGE_EVERY: Duration = Duration::from_secs(3600);
/// How long a lane that ran dry waits before recording its run and claiming the next one.
const GATHER: Duration = Duration::from_millis(25);
/// How long runs in flight may take to finish when the server stops.
const STOP_GRACE: Duration = Duration::from_secs(3);

/// The running worker.
pub struct WebhookWorker {
    task: JoinHandle<()>,
    stop: watch::Sender<bool>,
}

impl WebhookWorker {
    /// Stops claiming and waits (briefly) for the sends in flight.
    pub async fn stop(self) {
        self.stop.send_replace(true);
        let mut task = self.task;
        if tokio::time::timeout(STOP_GRACE + Duration::from_secs(1), &mut task)
            .await
            .is_err()
        {
            task.abort();
        }
    }
}

/// Everything a send needs.
#[derive(Clone)]
struct Shared {
    db: Db,
    clock: Arc<dyn Clock>,
    client: reqwest::Client,
    allow_private: bool,
    /// Runs in flight.
    in_flight: Arc<Mutex<InFlight>>,
    /// Raised when a run ends.
    done: Arc<Notify>,
    /// Raised when the server stops: runs send nothing more.
    stopping: watch::Receiver<bool>,
}

/// The runs in flight on this node.
#[derive(Default)]
struct InFlight {
    /// Per endpoint id.
    per_endpoint: HashMap<String, usize>,
    /// Their (endpoint id, lane).
    lanes: HashSet<(String, String)>,
}

impl InFlight {
    fn start(&mut self, lane: &(String, String)) {
        *self.per_endpoint.entry(lane.0.clone()).or_insert(0) += 1;
        self.lanes.insert(lane.clone());
    }

    fn end(&mut self, lane: &(String, String)) {
        if let Some(n) = self.per_endpoint.get_mut(&lane.0) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                self.per_endpoint.remove(&lane.0);
            }
        }
        self.lanes.remove(lane);
    }
}

/// Starts the worker. `wake` is the doorbell of the API's test and redelivery routes.
pub fn spawn(
    db: Db,
    stream: &Stream,
    clock: Arc<dyn Clock>,
    allow_private: bool,
    wake: Arc<Notify>,
) -> Result<WebhookWorker, reqwest::Error> {
    let client = client(allow_private)?;
    let (stop, stopped) = watch::channel(false);
    let shared = Shared {
        db,
        clock,
        client,
        allow_private,
        in_flight: Arc::new(Mutex::new(InFlight::default())),
        done: Arc::new(Notify::new()),
        stopping: stopped.clone(),
    };
    let task = tokio::spawn(run(shared, stream.last(), wake, stopped));
    Ok(WebhookWorker { task, stop })
}

/// The client every send uses.
fn client(allow_private: bool) -> Result<reqwest::Client, reqwest::Error> {
    reqwest::Client::builder()
        .connect_timeout(CONNECT_TIMEOUT)
        .timeout(TOTAL_TIMEOUT)
        .redirect(reqwest::redirect::Policy::none())
        .dns_resolver(Arc::new(GuardedResolver { allow_private }))
        .user_agent(concat!("ringup-webhooks/", env!("CARGO_PKG_VERSION")))
        .build()
}

/// Resolves host names, keeping only public addresses unless private ones are allowed.
struct GuardedResolver {
    allow_private: bool,
}

impl Resolve for GuardedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let host = name.as_str().to_owned();
        let allow_private = self.allow_private;
        Box::pin(async move {
            let found: Vec<SocketAddr> =
                tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            let kept: Vec<SocketAddr> = found
                .into_iter()
                .filter(|a| allow_private || is_public(a.ip()))
                .collect();
            if kept.is_empty() {
                return Err("the host resolves to no public address".into());
            }
            let addrs: Addrs = Box::new(kept.into_iter());
            Ok(addrs)
        })
    }
}

async fn run(
    shared: Shared,
    mut last: watch::Receiver<i64>,
    wake: Arc<Notify>,
    mut stopped: watch::Receiver<bool>,
) {
    let slots = Arc::new(Semaphore::new(MAX_IN_FLIGHT));
    let mut failing = false;
    let mut purged_at = Instant::now();
    loop {
        if *stopped.borrow() {
            break;
        }
        if purged_at.elapsed() >= PURGE_EVERY {
            purged_at = Instant::now();
            match delivery::purge(&shared.db, shared.clock.now()).await {
                Ok(0) => {}
                Ok(n) => tracing::info!(purged = n, "old webhook attempts purged"),
                Err(err) => tracing::warn!(error = %err, "purging old webhook attempts failed"),
            }
        }
        let free = slots.available_permits();
        let mut full_batch = false;
        if free > 0 {
            let (in_flight, lanes_in_flight) = shared
                .in_flight
                .lock()
                .map(|f| (f.per_endpoint.clone(), f.lanes.clone()))
                .unwrap_or_default();
            let room = Room {
                limit: free,
                per_endpoint: PER_ENDPOINT,
                in_flight,
                lanes_in_flight,
                run_length: delivery::RUN_LENGTH,
            };
            match delivery::claim(&shared.db, shared.clock.now(), room).await {
                Ok(claimed) => {
                    if failing {
                        failing = false;
                        tracing::info!("webhook claims work again");
                    }
                    full_batch = claimed.len() == free;
                    for run in claimed {
                        let Ok(permit) = slots.clone().try_acquire_owned() else {
                            break;
                        };
                        let lane = (run.webhook_id.clone(), run.lane.clone());
                        if let Ok(mut f) = shared.in_flight.lock() {
                            f.start(&lane);
                        }
                        let shared = shared.clone();
                        tokio::spawn(async move {
                            deliver(&shared, run).await;
                            if let Ok(mut f) = shared.in_flight.lock() {
                                f.end(&lane);
                            }
                            drop(permit);
                            shared.done.notify_one();
                        });
                    }
                }
                Err(err) => {
                    if !failing {
                        failing = true;
                        tracing::warn!(error = %err, "claiming webhook deliveries failed; retrying");
                    }
                }
            }
        }
        if full_batch {
            continue;
        }
        tokio::select! {
            changed = last.changed() => {
                if changed.is_err() {
                    // The stream is gone (the server stops): keep the timer only.
                    tokio::time::sleep(IDLE).await;
                }
            }
            () = wake.notified() => {}
            () = shared.done.notified() => {}
            () = tokio::time::sleep(IDLE) => {}
            _ = stopped.changed() => {}
        }
    }
    // Stopping: give the sends in flight a moment to finish and record their outcome.
    let deadline = Instant::now() + STOP_GRACE;
    while slots.available_permits() < MAX_IN_FLIGHT && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Sends a lane's runs one after another: each run's attempts in order until one fails, the
/// sending budget is spent or the server stops; recording a run claims the lane's next one.
async fn deliver(shared: &Shared, first: Run) {
    // Shared with the writer's record of it, which runs on the writer's thread: its attempts
    // carry their bodies, too many to copy for each record.
    let mut run = Arc::new(first);
    while let Some(next) = deliver_run(shared, &run).await {
        run = Arc::new(next);
    }
}

/// Sends one run and records it; answers the lane's next run, if it goes on.
async fn deliver_run(shared: &Shared, run: &Arc<Run>) -> Option<Run> {
    let started = Instant::now();
    let mut sent: Vec<Attempt> = Vec::with_capacity(run.attempts.len());
    let mut took: Vec<Duration> = Vec::with_capacity(run.attempts.len());
    for claimed in &run.attempts {
        let spent = started.elapsed() >= delivery::SENDING_BUDGET;
        if !sent.is_empty() && (spent || *shared.stopping.borrow()) {
            break;
        }
        let began = Instant::now();
        let attempt = send(shared, run, claimed).await;
        took.push(began.elapsed());
        let succeeded = attempt.succeeded;
        sent.push(attempt);
        if !succeeded {
            break;
        }
    }
    let jitter = rand::rng().random_range(0.0..=1.0);
    let mut tries = 0;
    let go_on = !*shared.stopping.borrow();
    let ran_dry = run.attempts.len() < delivery::RUN_LENGTH
        && sent.len() == run.attempts.len()
        && sent.iter().all(|a| a.succeeded);
    if go_on && ran_dry {
        // The lane ran dry: let the events right behind gather, so the next run is worth its
        // turn on the writer.
        tokio::time::sleep(GATHER).await;
    }
    let (recorded, next) = loop {
        tries += 1;
        let now = shared.clock.now();
        match delivery::record(&shared.db, run, &sent, now, jitter, go_on).await {
            Ok(done) => break done,
            Err(err) if tries < RECORD_TRIES => {
                tracing::debug!(error = %err, "recording a webhook run failed; trying again");
                tokio::time::sleep(Duration::from_millis(200 * tries)).await;
            }
            Err(err) => {
                tracing::warn!(webhook = %run.webhook_id, sent = sent.len(), error = %err, "recording a webhook run failed; its attempts are sent again after their lease");
                return None;
            }
        }
    };
    for elapsed in took.iter().take(recorded.succeeded) {
        meters::webhook_delivered("succeeded", *elapsed);
    }
    if let (Some(result), Some(elapsed)) = (recorded.failed, took.last()) {
        meters::webhook_delivered(result, *elapsed);
    }
    let written = recorded.succeeded + usize::from(recorded.failed.is_some());
    if written < sent.len() {
        tracing::info!(webhook = %run.webhook_id, sent = sent.len(), recorded = written, "a webhook run outlived its lease; the later claim's outcomes stand");
    }
    next
}

/// Times a run tries to record its outcome before leaving it to the lease.
const RECORD_TRIES: u64 = 3;

async fn send(shared: &Shared, run: &Run, claimed: &Claimed) -> Attempt {
    let failed = |error: String| Attempt {
        succeeded: false,
        response_status: None,
        latency_ms: 0,
        error: Some(error),
    };
    // A literal address never reaches the resolver: check it here, on every attempt.
    if let Err(err) = parse_url(&run.url, shared.allow_private) {
        return failed(format!("not sent: the URL {err}"));
    }
    let signature = match Secret::parse(&run.secret).and_then(|current| {
        let previous = run
            .previous_secret
            .as_deref()
            .and_then(|p| Secret::parse(p).ok());
        let timestamp = unix_now();
        signature_header(
            &current,
            previous.as_ref(),
            &claimed.event_id,
            timestamp,
            &claimed.body,
        )
        .map(|s| (s, timestamp))
    }) {
        Ok(signed) => signed,
        Err(err) => return failed(format!("not sent: the stored secret {err}")),
    };
    let started = Instant::now();
    let answer = shared
        .client
        .post(&run.url)
        .header("webhook-id", &claimed.event_id)
        .header("webhook-timestamp", signature.1.to_string())
        .header("webhook-signature", signature.0)
        .header(reqwest::header::CONTENT_TYPE, "application/json")
        .body(claimed.body.clone())
        .send()
        .await;
    let latency_ms = i64::try_from(started.elapsed().as_millis()).unwrap_or(i64::MAX);
    match answer {
        Ok(response) => {
            let status = response.status();
            let error = if status.is_success() {
                None
            } else if status.is_redirection() {
                Some(format!(
                    "answered {} (a redirect, not followed)",
                    status.as_u16()
                ))
            } else {
                Some(format!("answered {}", status.as_u16()))
            };
            Attempt {
                succeeded: status.is_success(),
                response_status: Some(status.as_u16()),
                latency_ms,
                error,
            }
        }
        Err(err) => Attempt {
            latency_ms,
            ..failed(describe(&err))
        },
    }
}

/// Why a send got no answer, in words for the delivery log (no URL: it is in the endpoint).
fn describe(err: &reqwest::Error) -> String {
    let kind = if err.is_timeout() {
        "no answer within 10 s"
    } else if err.is_connect() {
        "could not connect"
    } else {
        "the request failed"
    };
    let mut cause = String::new();
    let mut source = std::error::Error::source(err);
    while let Some(next) = source {
        cause = next.to_string();
        source = next.source();
    }
    if cause.is_empty() {
        kind.to_owned()
    } else {
        format!("{kind}: {cause}")
    }
}

/// The attempt's `webhook-timestamp`: the real time (not the server's test clock), which is
/// what receivers compare it with.
fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

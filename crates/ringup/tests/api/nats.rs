//! NATS JetStream (`RINGUP_NATS_URL`): the real binary publishes every event to a real
//! nats-server, in position order, the envelope as body and the event id as `Nats-Msg-Id`; a
//! restart goes on from its cursor without publishing anything twice; a NATS server that is
//! down at start, or goes down later, holds up no sale, and every event reaches it once it is
//! back (docs/OPERATIONS.md, "Streaming to a data platform").
//!
//! The NATS server is the one `RINGUP_TEST_NATS_URL` names (CI sets it; the tests fail when it
//! does not answer), else one the test starts itself from the `nats-server` binary; without
//! either they print why and pass without checking anything. Each test publishes to a stream
//! and subject prefix of its own (the hidden settings `RINGUP_NATS_STREAM` and
//! `RINGUP_NATS_SUBJECT_PREFIX`), so runs on both engines can share one server.

use std::path::PathBuf;
use std::process::Stdio;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use async_nats::jetstream;
use serde_json::Value;
use tempfile::TempDir;
use tokio::process::{Child, Command};

use crate::checkout_support::{SALES, key, line, pay, sale_body, shop};

/// The variable naming the NATS server the suite must use.
const TEST_NATS_URL: &str = "RINGUP_TEST_NATS_URL";

/// The `nats-server` binary, if this machine has one.
fn nats_server_binary() -> Option<PathBuf> {
    let mut candidates = vec![PathBuf::from("/usr/sbin/nats-server")];
    if let Some(path) = std::env::var_os("PATH") {
        candidates.extend(std::env::split_paths(&path).map(|dir| dir.join("nats-server")));
    }
    candidates.into_iter().find(|p| p.is_file())
}

/// A nats-server process of the test's own, with JetStream, on a port of its own; its store
/// outlives a stop, so a restarted server still has the stream.
struct PrivateNats {
    binary: PathBuf,
    port: u16,
    store: TempDir,
    child: Option<Child>,
}

impl PrivateNats {
    /// A server that is not running yet (its port is free now).
    fn reserve(binary: PathBuf) -> PrivateNats {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .unwrap()
            .port();
        PrivateNats {
            binary,
            port,
            store: tempfile::tempdir().unwrap(),
            child: None,
        }
    }

    fn url(&self) -> String {
        format!("nats://127.0.0.1:{}", self.port)
    }

    /// Starts the server and waits (10 s at most) until it accepts connections.
    async fn start(&mut self) {
        let child = Command::new(&self.binary)
            .args([
                "-a",
                "127.0.0.1",
                "-p",
                &self.port.to_string(),
                "-js",
                "-sd",
            ])
            .arg(self.store.path())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .unwrap();
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(10);
        while async_nats::connect(self.url()).await.is_err() {
            assert!(Instant::now() < deadline, "nats-server did not start");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Kills the server (SIGKILL: no goodbye to its clients).
    async fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            child.start_kill().unwrap();
            child.wait().await.unwrap();
        }
    }
}

/// The NATS server a test publishes to.
struct Nats {
    url: String,
    /// The test's own server, when `RINGUP_TEST_NATS_URL` is not set.
    _own: Option<PrivateNats>,
}

/// `RINGUP_TEST_NATS_URL` (which must answer), else a server of the test's own, else `None`
/// with the reason printed.
async fn nats_under_test() -> Option<Nats> {
    if let Ok(url) = std::env::var(TEST_NATS_URL) {
        if let Err(err) = async_nats::connect(url.as_str()).await {
            panic!("{TEST_NATS_URL}={url} does not answer: {err}");
        }
        return Some(Nats { url, _own: None });
    }
    let Some(binary) = nats_server_binary() else {
        println!("skipped: neither {TEST_NATS_URL} nor a nats-server binary");
        return None;
    };
    let mut own = PrivateNats::reserve(binary);
    own.start().await;
    Some(Nats {
        url: own.url(),
        _own: Some(own),
    })
}

/// A stream and subject prefix no other test (or run) uses.
struct Names {
    stream: String,
    prefix: String,
}

impl Names {
    fn new() -> Names {
        static N: AtomicU64 = AtomicU64::new(0);
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0);
        let tag = format!(
            "{}_{}_{}",
            std::process::id(),
            nanos,
            N.fetch_add(1, Ordering::Relaxed)
        );
        Names {
            stream: format!("RINGUP_TEST_{tag}"),
            prefix: format!("ringup_test.{tag}.events"),
        }
    }

    /// The binary's environment for publishing to `url`.
    fn env<'a>(&'a self, url: &'a str) -> Vec<(&'a str, &'a str)> {
        vec![
            ("RINGUP_NATS_URL", url),
            ("RINGUP_NATS_STREAM", self.stream.as_str()),
            ("RINGUP_NATS_SUBJECT_PREFIX", self.prefix.as_str()),
        ]
    }
}

/// One message of the stream, as a data platform reads it.
#[derive(Debug)]
struct Message {
    subject: String,
    msg_id: Option<String>,
    body: Value,
}

/// Every message of the stream, oldest first (none when it does not exist yet).
async fn messages(url: &str, names: &Names) -> Vec<Message> {
    let js = jetstream::new(async_nats::connect(url).await.unwrap());
    let Ok(mut stream) = js.get_stream(&names.stream).await else {
        return Vec::new();
    };
    let state = stream.info().await.unwrap().state.clone();
    let mut messages = Vec::new();
    if state.messages == 0 {
        return messages;
    }
    for sequence in state.first_sequence..=state.last_sequence {
        let message = stream.get_raw_message(sequence).await.unwrap();
        messages.push(Message {
            subject: message.subject.to_string(),
            msg_id: message
                .headers
                .get("Nats-Msg-Id")
                .map(|v| v.as_str().to_owned()),
            body: serde_json::from_slice(&message.payload).unwrap(),
        });
    }
    messages
}

/// Deletes the test's stream (a server shared by many runs keeps no test's leftovers).
async fn delete_stream(url: &str, names: &Names) {
    let js = jetstream::new(async_nats::connect(url).await.unwrap());
    let _ = js.delete_stream(&names.stream).await;
}

/// A running `ringup serve` and how to reach it as the admin.
struct Served {
    child: Child,
    base: String,
    admin: String,
    client: reqwest::Client,
}

impl Served {
    /// Every event, oldest first, as `/api/v1/events` lists them.
    async fn events(&self) -> Vec<Value> {
        let mut items = Vec::new();
        let mut path = "/api/v1/events?limit=200".to_owned();
        loop {
            let page: Value = self
                .client
                .get(format!("{}{path}", self.base))
                .bearer_auth(&self.admin)
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            items.extend(page["items"].as_array().unwrap().iter().cloned());
            match page["next_cursor"].as_str() {
                Some(cursor) => path = format!("/api/v1/events?limit=200&cursor={cursor}"),
                None => return items,
            }
        }
    }

    /// Every event once `sales` sales are among them (positions are handed out just after
    /// commit; 10 s at most).
    async fn events_with(&self, sales: usize) -> Vec<Value> {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let events = self.events().await;
            if sales_in(&events) >= sales || Instant::now() > deadline {
                assert_eq!(sales_in(&events), sales, "sales among the events");
                return events;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Sells `body` once; the sale is answered 201 in well under the NATS timeouts.
    async fn sell(&self, token: &str, body: &Value) {
        let started = Instant::now();
        let response = self
            .client
            .post(format!("{}{SALES}", self.base))
            .bearer_auth(token)
            .header("idempotency-key", key())
            .json(body)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 201, "{:?}", response.text().await);
        assert!(
            started.elapsed() < Duration::from_secs(3),
            "a sale waited for NATS: {:?}",
            started.elapsed()
        );
    }

    /// The value of the sample `name` (with its labels) on `/metrics`, 0 when absent.
    async fn metric(&self, sample: &str) -> f64 {
        let text = self
            .client
            .get(format!("{}/metrics", self.base))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        text.lines()
            .find_map(|l| l.strip_prefix(sample)?.strip_prefix(' '))
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or(0.0)
    }

    async fn published(&self, result: &str) -> f64 {
        self.metric(&format!(
            "ringup_nats_published_total{{result=\"{result}\"}}"
        ))
        .await
    }

    /// Waits (30 s at most) until the publisher has every event acknowledged: `published`
    /// counted and no lag.
    async fn caught_up(&self, published: usize) {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let (done, lag) = (
                self.published("published").await,
                self.metric("ringup_nats_lag_events").await,
            );
            if done == published as f64 && lag == 0.0 {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "{done} of {published} published, lag {lag}"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    async fn kill(mut self) {
        self.child.start_kill().unwrap();
        self.child.wait().await.unwrap();
    }
}

/// Waits (30 s at most) until the stream holds `n` messages; answers them.
async fn stream_holds(url: &str, names: &Names, n: usize) -> Vec<Message> {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let got = messages(url, names).await;
        if got.len() >= n || Instant::now() > deadline {
            assert_eq!(got.len(), n, "messages in the stream");
            return got;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The stream is exactly `events`: one message each, in their order, the body the envelope,
/// the subject its type under the prefix and the message id its id.
fn assert_published(messages: &[Message], events: &[Value], names: &Names) {
    assert_eq!(messages.len(), events.len());
    for (message, event) in messages.iter().zip(events) {
        let id = event["id"].as_str().unwrap();
        let kind = event["type"].as_str().unwrap();
        assert_eq!(message.msg_id.as_deref(), Some(id), "{message:?}");
        assert_eq!(message.subject, format!("{}.{kind}", names.prefix));
        assert_eq!(&message.body, event, "the envelope as the API shows it");
    }
}

/// A shop served by the real binary publishing to `nats`: a cashier's token and a sale body.
struct Till {
    cashier: String,
    body: Value,
    database_url: String,
    data_dir: PathBuf,
    admin: String,
    engine: ringup_store::Engine,
    /// Keeps the test database (PostgreSQL) and data directory alive.
    _shop: crate::checkout_support::Shop,
}

impl Till {
    async fn new() -> Till {
        let mut s = shop().await;
        let cashier = s.staff("cashier").await;
        let item = s.stocked(250, &s.standard, 1_000).await;
        let shift = s.open(&cashier.token, &s.register, 0).await;
        let body = sale_body(&shift, vec![line(&item, 1)], vec![pay("cash", 250)]);
        let (database_url, data_dir) = (
            s.app.settings.database_url.expose().to_owned(),
            s.app.settings.data_dir.clone(),
        );
        s.w.app.stop().await.unwrap();
        Till {
            cashier: cashier.token,
            body,
            database_url,
            data_dir,
            admin: s.admin.clone(),
            engine: s.app.engine(),
            _shop: s,
        }
    }

    async fn serve(&self, env: &[(&str, &str)]) -> Served {
        let (child, base) = crate::crash::start_with(&self.database_url, &self.data_dir, env).await;
        Served {
            child,
            base,
            admin: self.admin.clone(),
            client: reqwest::Client::new(),
        }
    }
}

fn sales_in(events: &[Value]) -> usize {
    events
        .iter()
        .filter(|e| e["type"] == "sale.completed")
        .count()
}

#[tokio::test]
async fn every_event_reaches_jetstream_once_in_order_and_a_restart_goes_on_from_the_cursor() {
    // Arrange: a shop whose setup events are already in the database, served with NATS.
    let Some(nats) = nats_under_test().await else {
        return;
    };
    let names = Names::new();
    let till = Till::new().await;
    let served = till.serve(&names.env(&nats.url)).await;

    // Act: five sales.
    for _ in 0..5 {
        served.sell(&till.cashier, &till.body).await;
    }

    // Assert: the setup's events and the sales', each once, in commit order.
    let events = served.events_with(5).await;
    served.caught_up(events.len()).await;
    let stream = stream_holds(&nats.url, &names, events.len()).await;
    assert_published(&stream, &events, &names);
    assert_eq!(served.published("duplicate").await, 0.0);

    // Act: killed and started again on the same database, three more sales.
    served.kill().await;
    let served = till.serve(&names.env(&nats.url)).await;
    for _ in 0..3 {
        served.sell(&till.cashier, &till.body).await;
    }

    // Assert: only the new events were published (the cursor held), each once.
    let all = served.events_with(8).await;
    let new = all.len() - events.len();
    served.caught_up(new).await;
    let stream = stream_holds(&nats.url, &names, all.len()).await;
    assert_published(&stream, &all, &names);
    assert_eq!(
        served.published("duplicate").await,
        0.0,
        "the restart published an event again"
    );
    served.kill().await;
    delete_stream(&nats.url, &names).await;
}

#[tokio::test]
async fn sales_go_on_while_nats_is_down_and_reach_it_once_it_is_back() {
    // Arrange: a NATS server of the test's own that is not running yet.
    let Some(binary) = nats_server_binary() else {
        assert!(
            std::env::var_os(TEST_NATS_URL).is_none(),
            "{TEST_NATS_URL} is set but no nats-server binary is installed"
        );
        println!("skipped: no nats-server binary to stop and start");
        return;
    };
    let mut nats = PrivateNats::reserve(binary);
    let names = Names::new();
    let till = Till::new().await;

    // Act: ringup starts with NATS unreachable and sells.
    let served = till.serve(&names.env(&nats.url())).await;
    for _ in 0..3 {
        served.sell(&till.cashier, &till.body).await;
    }
    assert_eq!(served.published("published").await, 0.0);
    nats.start().await;

    // Assert: once NATS is up, everything is published, in order.
    let events = served.events_with(3).await;
    served.caught_up(events.len()).await;
    let stream = stream_holds(&nats.url(), &names, events.len()).await;
    assert_published(&stream, &events, &names);

    // Act: NATS dies while ringup sells, then comes back (with its stored stream).
    nats.kill().await;
    for _ in 0..4 {
        served.sell(&till.cashier, &till.body).await;
    }
    nats.start().await;

    // Assert: the sales made during the outage arrive, nothing twice, nothing lost.
    let all = served.events_with(7).await;
    let deadline = Instant::now() + Duration::from_secs(60);
    while served.metric("ringup_nats_lag_events").await != 0.0
        || served.published("published").await + served.published("duplicate").await
            < all.len() as f64
    {
        assert!(Instant::now() < deadline, "not caught up after the outage");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let stream = stream_holds(&nats.url(), &names, all.len()).await;
    assert_published(&stream, &all, &names);
    served.kill().await;
}

#[tokio::test]
async fn one_node_of_several_publishes_and_another_takes_over_when_it_dies() {
    // Arrange: two nodes on one PostgreSQL database, both with NATS.
    let Some(nats) = nats_under_test().await else {
        return;
    };
    let names = Names::new();
    let till = Till::new().await;
    if till.engine != ringup_store::Engine::Postgres {
        println!("skipped: several nodes share a PostgreSQL database only");
        return;
    }
    let env = names.env(&nats.url);
    let (a, b) = (till.serve(&env).await, till.serve(&env).await);

    // Act: both sell.
    for _ in 0..3 {
        a.sell(&till.cashier, &till.body).await;
        b.sell(&till.cashier, &till.body).await;
    }

    // Assert: every event once; one node published them all, the other none.
    let events = a.events_with(6).await;
    let stream = stream_holds(&nats.url, &names, events.len()).await;
    assert_published(&stream, &events, &names);
    let (leader, standby) = if a.metric("ringup_nats_connected").await == 1.0 {
        (a, b)
    } else {
        (b, a)
    };
    leader.caught_up(events.len()).await;
    assert_eq!(standby.metric("ringup_nats_connected").await, 0.0);
    assert_eq!(standby.published("published").await, 0.0);
    assert_eq!(leader.published("duplicate").await, 0.0);

    // Act: the publishing node dies; the other goes on selling.
    leader.kill().await;
    for _ in 0..2 {
        standby.sell(&till.cashier, &till.body).await;
    }

    // Assert: the other node took over from the cursor: the new events, each once.
    let all = standby.events_with(8).await;
    standby.caught_up(all.len() - events.len()).await;
    let stream = stream_holds(&nats.url, &names, all.len()).await;
    assert_published(&stream, &all, &names);
    assert_eq!(standby.published("duplicate").await, 0.0);
    standby.kill().await;
    delete_stream(&nats.url, &names).await;
}

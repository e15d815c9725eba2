//! Traces over OTLP, end to end: the real binary exports to a real receiver process
//! (`otlp-receiver`, which decodes the protobuf requests and writes each span as a JSON line).
//! A request that carries a W3C `traceparent` continues that trace; its span is named by the
//! route template and has a child span per write transaction, also when SQLite's writer task
//! serves the write; the server's JSON log lines of the request carry the same trace id; no
//! span holds a password or a token; shutdown sends what is still queued. A collector that
//! never answers slows no request, is reported once, and does not hold up shutdown. With traces
//! off, log lines still carry a caller's trace id. The setting is refused, naming it, when it
//! is not an http(s) base address.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use reqwest::Client;
use ringup_testkit::TestDatabase;
use serde_json::{Value, json};
use tempfile::TempDir;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

const RINGUP: &str = env!("CARGO_BIN_EXE_ringup");
const RECEIVER: &str = env!("CARGO_BIN_EXE_otlp-receiver");
const ADMIN_PASSWORD: &str = "Vermilion-Harbor-Quill-93";

/// The caller's trace, as a `traceparent` names it.
const LOGIN_TRACE: &str = "0af7651916cd43dd8448eb211c80319c";
const LOGIN_PARENT: &str = "b7ad6b7169203331";
const STORE_TRACE: &str = "4bf92f3577b34da6a3ce929d0e0e4736";
const STORE_PARENT: &str = "00f067aa0ba902b7";

fn traceparent(trace: &str, parent: &str) -> String {
    format!("00-{trace}-{parent}-01")
}

fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

/// A running `otlp-receiver` writing spans to `out`, and its base address.
async fn start_receiver(out: &Path) -> (Child, String) {
    let mut child = Command::new(RECEIVER)
        .args(["--listen", "127.0.0.1:0", "--out"])
        .arg(out)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("otlp-receiver starts");
    let stdout = child.stdout.take().unwrap();
    let mut first = String::new();
    tokio::time::timeout(
        Duration::from_secs(10),
        BufReader::new(stdout).read_line(&mut first),
    )
    .await
    .expect("otlp-receiver names its address within 10 s")
    .unwrap();
    let address = first
        .trim()
        .strip_prefix("otlp-receiver listening on ")
        .unwrap_or_else(|| panic!("unexpected first line: {first:?}"))
        .to_owned();
    (child, address)
}

/// A running `ringup serve`, logging JSON to `<dir>/server.log`.
struct Server {
    child: Child,
    base: String,
    log: PathBuf,
}

async fn start_server(dir: &Path, database: &TestDatabase, env: &[(&str, &str)]) -> Server {
    let bind = format!("127.0.0.1:{}", free_port());
    let log = dir.join("server.log");
    let mut child = Command::new(RINGUP)
        .current_dir(dir)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("RINGUP_BIND", &bind)
        .env("RINGUP_DATA_DIR", dir.join("data"))
        .env("DATABASE_URL", database.url().expose())
        .env("RINGUP_ADMIN_PASSWORD", ADMIN_PASSWORD)
        .env("RINGUP_LOG", "info")
        .env("RINGUP_LOG_FORMAT", "json")
        .env("RINGUP_SHUTDOWN_GRACE", "5")
        .envs(env.iter().copied())
        .arg("serve")
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(&log).unwrap())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("ringup starts");
    let base = format!("http://{bind}");
    let deadline = Instant::now() + Duration::from_secs(30);
    while reqwest::get(format!("{base}/healthz")).await.is_err() {
        if let Some(status) = child.try_wait().unwrap() {
            let output = child.wait_with_output().await.unwrap();
            panic!(
                "ringup exited with {status} at start: {}",
                String::from_utf8_lossy(&output.stderr)
            );
        }
        assert!(Instant::now() < deadline, "/healthz did not answer in 30 s");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    Server { child, base, log }
}

impl Server {
    /// SIGTERM, then the exit status, within `limit`.
    async fn stop_within(mut self, limit: Duration) -> (Option<i32>, Vec<Value>) {
        let pid = self.child.id().expect("running").to_string();
        let kill = Command::new("kill").args(["-TERM", &pid]).status().await;
        assert!(kill.unwrap().success());
        let status = tokio::time::timeout(limit, self.child.wait())
            .await
            .unwrap_or_else(|_| panic!("ringup did not exit within {limit:?} of SIGTERM"))
            .unwrap();
        (status.code(), json_lines(&self.log))
    }
}

/// The JSON lines of a file (the server also prints a line or two for people).
fn json_lines(path: &Path) -> Vec<Value> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .filter(|line| line.starts_with('{'))
        .map(|line| serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}")))
        .collect()
}

async fn login(client: &Client, base: &str, trace: Option<String>) -> Value {
    let mut request = client
        .post(format!("{base}/api/v1/auth/login"))
        .json(&json!({"username": "admin", "password": ADMIN_PASSWORD}));
    if let Some(trace) = trace {
        request = request.header("traceparent", trace);
    }
    let response = request.send().await.unwrap();
    assert_eq!(response.status(), 200);
    response.json().await.unwrap()
}

/// The spans with `name`.
fn named<'a>(spans: &'a [Value], name: &str) -> Vec<&'a Value> {
    spans.iter().filter(|s| s["name"] == name).collect()
}

fn the_one<'a>(spans: &'a [Value], name: &str) -> &'a Value {
    let found = named(spans, name);
    assert_eq!(found.len(), 1, "one span {name}: {spans:#?}");
    found[0]
}

#[tokio::test]
async fn requests_continue_the_callers_trace_with_a_span_per_transaction_and_logs_carry_it() {
    // Arrange: a receiver, and the server exporting to it.
    let dir = TempDir::new().unwrap();
    let database = TestDatabase::create(dir.path()).await;
    let spans_file = dir.path().join("spans.jsonl");
    let (mut receiver, endpoint) = start_receiver(&spans_file).await;
    let server = start_server(
        dir.path(),
        &database,
        &[("OTEL_EXPORTER_OTLP_ENDPOINT", endpoint.as_str())],
    )
    .await;
    let client = Client::new();
    let base = server.base.clone();

    // Act: log in and create a store, each continuing a caller's trace; read the store back
    // (its route has a parameter); then stop the server, which sends what it still holds.
    let session = login(&client, &base, Some(traceparent(LOGIN_TRACE, LOGIN_PARENT))).await;
    let access = session["access_token"].as_str().unwrap().to_owned();
    let refresh = session["refresh_token"].as_str().unwrap().to_owned();
    let created = client
        .post(format!("{base}/api/v1/stores"))
        .bearer_auth(&access)
        .header("traceparent", traceparent(STORE_TRACE, STORE_PARENT))
        .header("x-request-id", "otel-create-store")
        .json(&json!({"code": "OTL1", "name": "Traced", "currency": "KES", "timezone": "Africa/Nairobi"}))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), 201);
    let store: Value = created.json().await.unwrap();
    let store_id = store["id"].as_str().unwrap().to_owned();
    let read = client
        .get(format!("{base}/api/v1/stores/{store_id}"))
        .bearer_auth(&access)
        .header("x-request-id", "otel-read-store")
        .send()
        .await
        .unwrap();
    assert_eq!(read.status(), 200);
    let (code, logs) = server.stop_within(Duration::from_secs(20)).await;
    assert_eq!(code, Some(0));
    receiver.start_kill().unwrap();
    receiver.wait().await.unwrap();
    let spans = json_lines(&spans_file);

    // Assert: the request's span continues the caller's trace, named by the route template.
    let create = the_one(&spans, "POST /api/v1/stores");
    assert_eq!(create["trace_id"], STORE_TRACE);
    assert_eq!(create["parent_span_id"], STORE_PARENT);
    assert_eq!(create["kind"], 2, "a server span");
    let attributes = &create["attributes"];
    assert_eq!(attributes["http.request.method"], "POST");
    assert_eq!(attributes["http.route"], "/api/v1/stores");
    assert_eq!(attributes["http.response.status_code"], 201);
    assert_eq!(attributes["request_id"], "otel-create-store");
    assert_eq!(create["resource"]["service.name"], "ringup");

    // … with its write transaction as a child, served by the writer on SQLite.
    let create_id = create["span_id"].as_str().unwrap();
    let transactions: Vec<_> = named(&spans, "db.transaction")
        .into_iter()
        .filter(|s| s["parent_span_id"] == create_id)
        .collect();
    assert_eq!(transactions.len(), 1, "{spans:#?}");
    let transaction = &transactions[0]["attributes"];
    assert_eq!(transactions[0]["trace_id"], STORE_TRACE);
    assert_eq!(transaction["ringup.db.outcome"], "committed");
    let sqlite = database.url().expose().starts_with("sqlite");
    let system = if sqlite { "sqlite" } else { "postgresql" };
    assert_eq!(transaction["db.system.name"], system);
    if sqlite {
        assert!(transaction["ringup.db.batch_size"].as_i64() >= Some(1));
    }

    // The login continues its own caller's trace, and its writes are its children too; its log
    // lines carry that trace. (Its span was once lost at random: a filter read a stale
    // verdict, docs/OPERATIONS.md, Traces. So is every request's span checked, the start-up
    // probe's included, on both engines.)
    let login_span = the_one(&spans, "POST /api/v1/auth/login");
    assert_eq!(login_span["trace_id"], LOGIN_TRACE);
    assert_eq!(login_span["parent_span_id"], LOGIN_PARENT);
    let login_id = login_span["span_id"].as_str().unwrap();
    assert!(
        named(&spans, "db.transaction")
            .iter()
            .any(|s| s["parent_span_id"] == login_id && s["trace_id"] == LOGIN_TRACE),
        "{spans:#?}"
    );
    let login_lines: Vec<&Value> = logs
        .iter()
        .filter(|line| line["span"]["http.route"] == "/api/v1/auth/login")
        .collect();
    assert!(!login_lines.is_empty(), "{logs:#?}");
    assert!(
        login_lines.iter().all(|l| l["trace_id"] == LOGIN_TRACE),
        "{login_lines:#?}"
    );
    the_one(&spans, "GET /healthz");

    // A request without traceparent starts its own trace, named by the template, not the path.
    let read_span = the_one(&spans, "GET /api/v1/stores/{id}");
    assert_eq!(read_span["parent_span_id"], "");
    assert_eq!(read_span["attributes"]["http.route"], "/api/v1/stores/{id}");
    assert!(
        spans
            .iter()
            .all(|s| !s["name"].as_str().unwrap().contains(&store_id))
    );

    // The server's log lines of each request carry that request's trace id.
    let lines_of = |request_id: &str| -> Vec<&Value> {
        logs.iter()
            .filter(|line| line["span"]["request_id"] == request_id)
            .collect()
    };
    let create_lines = lines_of("otel-create-store");
    assert!(!create_lines.is_empty(), "{logs:#?}");
    assert!(
        create_lines.iter().all(|l| l["trace_id"] == STORE_TRACE),
        "{create_lines:#?}"
    );
    let read_lines = lines_of("otel-read-store");
    assert!(!read_lines.is_empty(), "{logs:#?}");
    assert!(
        read_lines
            .iter()
            .all(|l| l["trace_id"] == read_span["trace_id"])
    );

    // Nothing secret in any span.
    let exported = serde_json::to_string(&spans).unwrap();
    for secret in [ADMIN_PASSWORD, access.as_str(), refresh.as_str()] {
        assert!(
            !exported.contains(secret),
            "a secret was exported: {exported}"
        );
    }
    let keys: HashMap<&str, usize> = spans
        .iter()
        .flat_map(|s| s["attributes"].as_object().unwrap().keys())
        .fold(HashMap::new(), |mut seen, key| {
            *seen.entry(key.as_str()).or_default() += 1;
            seen
        });
    for key in keys.keys() {
        let lower = key.to_ascii_lowercase();
        assert!(
            !["password", "token", "authorization", "cookie", "secret"]
                .iter()
                .any(|word| lower.contains(word)),
            "attribute {key}"
        );
    }
    database.drop_now().await;
}

#[tokio::test]
async fn a_collector_that_never_answers_slows_no_request_and_is_reported_once() {
    // Arrange: a "collector" that accepts connections and never answers.
    let dir = TempDir::new().unwrap();
    let database = TestDatabase::create(dir.path()).await;
    let silent = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let endpoint = format!("http://{}", silent.local_addr().unwrap());
    let held = tokio::spawn(async move {
        let mut open = Vec::new();
        while let Ok((connection, _)) = silent.accept().await {
            open.push(connection);
        }
    });
    let server = start_server(
        dir.path(),
        &database,
        &[
            ("OTEL_EXPORTER_OTLP_ENDPOINT", endpoint.as_str()),
            // Export often, each attempt held 2 s by the silent collector before it fails.
            ("OTEL_BSP_SCHEDULE_DELAY", "100"),
            ("OTEL_EXPORTER_OTLP_TIMEOUT", "2000"),
        ],
    )
    .await;
    let client = Client::new();

    // Act: requests and writes (new stores) for a while, each timed.
    let session = login(&client, &server.base, None).await;
    let access = session["access_token"].as_str().unwrap();
    let started = Instant::now();
    let mut took = Vec::new();
    let mut requests = 0;
    while started.elapsed() < Duration::from_millis(3500) {
        let sent = Instant::now();
        if requests % 5 == 0 {
            let created = client
                .post(format!("{}/api/v1/stores", server.base))
                .bearer_auth(access)
                .json(&json!({"code": format!("S{requests}"), "name": "Store", "currency": "KES", "timezone": "Africa/Nairobi"}))
                .send()
                .await
                .unwrap();
            assert_eq!(created.status(), 201);
        } else {
            let response = client
                .get(format!("{}/healthz", server.base))
                .send()
                .await
                .unwrap();
            assert_eq!(response.status(), 200);
        }
        took.push(sent.elapsed());
        requests += 1;
    }
    let stopping = Instant::now();
    let (code, logs) = server.stop_within(Duration::from_secs(20)).await;
    let stop_took = stopping.elapsed();
    held.abort();

    // Assert: no request waited for the collector (an export attempt waits 2 s: a request
    // that waited for one would take that long, and every request ends spans); the outage is
    // logged once; shutdown gave up on the collector in time, cleanly.
    took.sort();
    let (median, slowest) = (took[took.len() / 2], took[took.len() - 1]);
    assert!(requests >= 10, "{requests} requests in 3.5 s");
    assert!(median < Duration::from_millis(250), "median {median:?}");
    assert!(slowest < Duration::from_millis(1500), "slowest {slowest:?}");
    let failing: Vec<_> = logs
        .iter()
        .filter(|l| {
            l["message"]
                .as_str()
                .is_some_and(|m| m.starts_with("trace export failing"))
        })
        .collect();
    assert_eq!(failing.len(), 1, "{logs:#?}");
    assert_eq!(code, Some(0));
    assert!(
        stop_took < Duration::from_secs(12),
        "shutdown took {stop_took:?}"
    );
    database.drop_now().await;
}

#[tokio::test]
async fn with_traces_off_log_lines_carry_the_callers_trace_id_and_no_other() {
    // Arrange
    let dir = TempDir::new().unwrap();
    let database = TestDatabase::create(dir.path()).await;
    let server = start_server(dir.path(), &database, &[]).await;
    let client = Client::new();

    // Act: one request with a traceparent, one without.
    for (request_id, trace) in [
        ("off-traced", Some(traceparent(STORE_TRACE, STORE_PARENT))),
        ("off-untraced", None),
    ] {
        let mut request = client
            .get(format!("{}/healthz", server.base))
            .header("x-request-id", request_id);
        if let Some(trace) = trace {
            request = request.header("traceparent", trace);
        }
        assert_eq!(request.send().await.unwrap().status(), 200);
    }
    let (code, logs) = server.stop_within(Duration::from_secs(20)).await;

    // Assert
    assert_eq!(code, Some(0));
    let of = |request_id: &str| -> Vec<&Value> {
        logs.iter()
            .filter(|line| line["span"]["request_id"] == request_id)
            .collect()
    };
    let (traced, untraced) = (of("off-traced"), of("off-untraced"));
    assert!(!traced.is_empty() && !untraced.is_empty(), "{logs:#?}");
    assert!(
        traced.iter().all(|l| l["trace_id"] == STORE_TRACE),
        "{traced:#?}"
    );
    assert!(
        untraced.iter().all(|l| l.get("trace_id").is_none()),
        "{untraced:#?}"
    );
    database.drop_now().await;
}

#[tokio::test]
async fn an_endpoint_that_is_not_an_http_address_is_refused_naming_the_setting() {
    // Arrange
    let dir = TempDir::new().unwrap();
    let run = |env: Vec<(&str, &str)>, args: Vec<&str>| {
        let mut command = Command::new(RINGUP);
        command
            .current_dir(dir.path())
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("RINGUP_DATA_DIR", dir.path().join("data"))
            .envs(env)
            .args(args)
            .arg("migrate")
            .stdin(Stdio::null())
            .kill_on_drop(true);
        command.output()
    };

    // Act
    let refused = run(
        vec![("OTEL_EXPORTER_OTLP_ENDPOINT", "collector:4318")],
        vec![],
    )
    .await
    .unwrap();
    let closed = format!("http://127.0.0.1:{}", free_port());
    let flag_wins = run(
        vec![("OTEL_EXPORTER_OTLP_ENDPOINT", "collector:4318")],
        vec!["--otel-exporter-otlp-endpoint", closed.as_str()],
    )
    .await
    .unwrap();

    // Assert
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert_eq!(refused.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("OTEL_EXPORTER_OTLP_ENDPOINT")
            && stderr.contains("--otel-exporter-otlp-endpoint"),
        "{stderr}"
    );
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert_eq!(
        flag_wins.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&flag_wins.stderr)
    );
}

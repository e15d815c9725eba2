//! Webhooks (docs/API.md "Webhooks"): endpoints, and deliveries to a real receiver process
//! (`tests/support/webhook_receiver.py`) that verifies every request with the reference
//! `standardwebhooks` library.
//!
//! - `manage`: create (the secret shown once), read, change, delete, validation, private
//!   addresses, access;
//! - `delivery`: signed deliveries, retries with a stable id, order per store through an
//!   outage, rotation, redirects, the circuit breaker, a test event, redelivery, the log, a
//!   slow endpoint beside a fast one, and a backlog sent in runs that stop at a failure;
//! - `claims`: racing claimers never take the same attempt; a lost claim is sent after its
//!   lease;
//! - `crash`: killing the server mid-delivery loses nothing;
//! - `retention`: the events purge keeps what pending attempts will send (they carry no copy
//!   of their event), and an attempt whose event is gone anyway ends without holding the lane.

mod claims;
mod crash;
mod delivery;
mod manage;
mod retention;

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use reqwest::Method;
use serde_json::{Value, json};
use tempfile::TempDir;
use tokio::process::{Child, Command};

use crate::stock::{World, world_with};

pub(crate) const WEBHOOKS: &str = "/api/v1/webhooks";

/// A world whose server may send to loopback (the receiver). Its `admin` is an admin API key
/// of the `enterprise` tier: the tests move the server's clock by hours (retries, the circuit,
/// rotation), past any access token's life, and poll the delivery log often.
pub(crate) async fn hook_world() -> World {
    let mut w = world_with(|raw| raw.events.webhooks_allow_private = "true".into()).await;
    let response = w
        .app
        .authed(Method::POST, "/api/v1/api-keys", &w.admin)
        .json(&json!({"name": "webhook tests", "tier": "enterprise", "role": "admin"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 201);
    let key: Value = response.json().await.unwrap();
    w.admin = key["key"].as_str().unwrap().to_owned();
    w
}

/// The receiver process: one port, endpoints by path. Killed when dropped.
pub(crate) struct Receiver {
    pub port: u16,
    dir: TempDir,
    child: Option<Child>,
}

fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

fn script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/support/webhook_receiver.py")
}

const HINT: &str = "the webhook tests need Python 3 with standardwebhooks: \
    `python3 -m pip install standardwebhooks`";

impl Receiver {
    pub(crate) async fn start() -> Receiver {
        crate::support::ensure_python_packages("standardwebhooks", &["standardwebhooks"]);
        let mut receiver = Receiver {
            port: free_port(),
            dir: TempDir::new().unwrap(),
            child: None,
        };
        std::fs::write(receiver.dir.path().join("control.json"), "{}").unwrap();
        receiver.up().await;
        receiver
    }

    /// Starts the process (again) on the same port and directory.
    pub(crate) async fn up(&mut self) {
        let mut child = Command::new("python3")
            .arg(script())
            .arg(self.port.to_string())
            .arg(self.dir.path())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start python3 ({e}); {HINT}"));
        let deadline = Instant::now() + Duration::from_secs(15);
        while tokio::net::TcpStream::connect(("127.0.0.1", self.port))
            .await
            .is_err()
        {
            if let Some(status) = child.try_wait().unwrap() {
                let output = child.wait_with_output().await.unwrap();
                panic!(
                    "the receiver exited ({status}); {HINT}\n{}",
                    String::from_utf8_lossy(&output.stderr)
                );
            }
            assert!(
                Instant::now() < deadline,
                "the receiver did not listen in 15 s"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        self.child = Some(child);
    }

    /// Kills the process (the port refuses connections until [`Receiver::up`]).
    pub(crate) async fn down(&mut self) {
        if let Some(mut child) = self.child.take() {
            child.kill().await.unwrap();
        }
    }

    /// The URL of endpoint `name`.
    pub(crate) fn url(&self, name: &str) -> String {
        format!("http://127.0.0.1:{}/{name}", self.port)
    }

    /// Sets how endpoint `name` verifies (`secrets`) and answers (`mode`).
    pub(crate) fn set(&self, name: &str, secrets: &[&str], mode: &str) {
        let path = self.dir.path().join("control.json");
        let mut control: Value =
            serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        control[name] = json!({"secrets": secrets, "mode": mode});
        let tmp = self.dir.path().join("control.json.tmp");
        std::fs::write(&tmp, control.to_string()).unwrap();
        std::fs::rename(tmp, path).unwrap();
    }

    fn lines(&self, file: &str) -> Vec<Value> {
        std::fs::read_to_string(self.dir.path().join(file))
            .unwrap_or_default()
            .lines()
            .filter_map(|l| serde_json::from_str(l).ok())
            .collect()
    }

    /// Every request endpoint `name` answered, in order of arrival.
    pub(crate) fn received(&self, name: &str) -> Vec<Value> {
        self.lines("received.jsonl")
            .into_iter()
            .filter(|r| r["path"] == name)
            .collect()
    }

    /// Every request endpoint `name` began to receive (recorded before answering).
    pub(crate) fn started(&self, name: &str) -> Vec<Value> {
        self.lines("started.jsonl")
            .into_iter()
            .filter(|r| r["path"] == name)
            .collect()
    }

    /// Waits (up to `secs`) until endpoint `name` answered at least `n` requests.
    pub(crate) async fn wait_for(&self, name: &str, n: usize, secs: u64) -> Vec<Value> {
        let deadline = Instant::now() + Duration::from_secs(secs);
        loop {
            let got = self.received(name);
            if got.len() >= n {
                return got;
            }
            assert!(
                Instant::now() < deadline,
                "{name}: {} of {n} requests in {secs} s: {got:?}",
                got.len()
            );
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    }
}

/// A received request's body as JSON.
pub(crate) fn body_of(request: &Value) -> Value {
    serde_json::from_str(request["body"].as_str().unwrap()).unwrap()
}

/// A received request's `webhook-id`.
pub(crate) fn id_of(request: &Value) -> String {
    request["headers"]["webhook-id"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// Creates an endpoint as the admin; the 201 body (with its secret).
pub(crate) async fn create(w: &World, body: &Value) -> Value {
    let response = w
        .app
        .authed(Method::POST, WEBHOOKS, &w.admin)
        .json(body)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    let value: Value = response.json().await.unwrap_or(Value::Null);
    assert_eq!(status, 201, "{body}: {value}");
    value
}

/// An endpoint of every event at `url`; its id and secret.
pub(crate) async fn hook(w: &World, url: &str, events: &[&str]) -> (String, String) {
    let created = create(w, &json!({"url": url, "events": events})).await;
    (
        created["id"].as_str().unwrap().to_owned(),
        created["secret"].as_str().unwrap().to_owned(),
    )
}

/// GET `path` as the admin, expecting 200.
pub(crate) async fn read(w: &World, path: &str) -> Value {
    let response = w
        .app
        .authed(Method::GET, path, &w.admin)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    let value: Value = response.json().await.unwrap_or(Value::Null);
    assert_eq!(status, 200, "{path}: {value}");
    value
}

/// The delivery log of endpoint `id`, newest first (first page of 200).
pub(crate) async fn log(w: &World, id: &str) -> Vec<Value> {
    read(w, &format!("{WEBHOOKS}/{id}/deliveries?limit=200")).await["items"]
        .as_array()
        .unwrap()
        .clone()
}

/// Waits (up to `secs`) until endpoint `id`'s log satisfies `done`.
pub(crate) async fn log_until(
    w: &World,
    id: &str,
    secs: u64,
    done: impl Fn(&[Value]) -> bool,
) -> Vec<Value> {
    let deadline = Instant::now() + Duration::from_secs(secs);
    loop {
        let items = log(w, id).await;
        if done(&items) {
            return items;
        }
        assert!(
            Instant::now() < deadline,
            "the log never got there: {items:?}"
        );
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

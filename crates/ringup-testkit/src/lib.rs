//! The integration-test harness: [`spawn_app`] starts the real server (same settings parsing,
//! startup, router and middleware as the binary) on `127.0.0.1:0` with a fresh database.
//!
//! The database is a SQLite file in a temporary directory, or — when
//! `RINGUP_TEST_DATABASE_URL` is set to a PostgreSQL server — a new database on that server,
//! created for the test and dropped after it, so tests run in parallel on either engine.

// Test support: a setup step that fails fails the test with a message naming the step, and a
// probe route panics on purpose to exercise the panic catcher.
#![allow(clippy::expect_used, clippy::panic)]

mod binary;
mod fixtures;
mod pg;
mod probes;

use std::path::Path;

use ringup::settings::{RawSettings, Settings};
use std::sync::Arc;

use ringup::startup::{AppOptions, Application};
use ringup_core::clock::ManualClock;
use ringup_store::{Db, Engine};
use tempfile::TempDir;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

pub use binary::{ServedBinary, serve_binary_at};
pub use fixtures::{TestApiKey, TestUser, USER_PASSWORD};
pub use pg::TestDatabase;
pub use probes::{Echo, probe_routes};

/// The variable that points the suite at a PostgreSQL server.
pub const TEST_DATABASE_URL: &str = "RINGUP_TEST_DATABASE_URL";

/// The first admin's credentials in every test app.
pub const ADMIN_USERNAME: &str = "admin";
pub const ADMIN_PASSWORD: &str = "Correct-Horse-Battery-42";

/// A running server and what a test needs to talk to it.
pub struct TestApp {
    /// `http://127.0.0.1:<port>`
    pub address: String,
    pub port: u16,
    pub client: reqwest::Client,
    pub db: Db,
    pub settings: Settings,
    /// The server's clock: starts at the real time and moves only when a test moves it.
    pub clock: ManualClock,
    data_dir: TempDir,
    shutdown: Option<oneshot::Sender<()>>,
    server: Option<JoinHandle<std::io::Result<()>>>,
    database: TestDatabase,
}

/// Starts a server with default settings (and the probe routes).
pub async fn spawn_app() -> TestApp {
    spawn_app_with(|_| {}).await
}

/// Starts a server after `configure` has changed the raw settings, exactly as flags or
/// environment variables would.
pub async fn spawn_app_with(configure: impl FnOnce(&mut RawSettings)) -> TestApp {
    let data_dir = tempfile::tempdir().expect("temporary data directory");
    let database = TestDatabase::create(data_dir.path()).await;
    let mut raw = RawSettings {
        bind: "127.0.0.1:0".into(),
        data_dir: data_dir.path().join("data"),
        database_url: Some(database.url().expose().to_owned()),
        log: "warn".into(),
        admin_password: Some(ADMIN_PASSWORD.into()),
        db_max_connections: "4".into(),
        shutdown_grace: "5".into(),
        ..RawSettings::defaults()
    };
    configure(&mut raw);
    let settings = Settings::from_cli(&raw, false).expect("test settings are valid");
    let clock = ManualClock::new(chrono::Utc::now());
    let options = AppOptions {
        extra: Some(probe_routes()),
        clock: Arc::new(clock.clone()),
    };
    let app = Application::build_with(settings.clone(), options)
        .await
        .expect("the server starts");
    let port = app.port();
    let db = app.db().clone();
    let (tx, rx) = oneshot::channel::<()>();
    let server = tokio::spawn(app.run_until(async move {
        let _ = rx.await;
    }));
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("HTTP client");
    TestApp {
        address: format!("http://127.0.0.1:{port}"),
        port,
        client,
        db,
        settings,
        clock,
        data_dir,
        shutdown: Some(tx),
        server: Some(server),
        database,
    }
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.address, path)
    }

    pub fn engine(&self) -> Engine {
        self.db.engine()
    }

    pub fn data_dir(&self) -> &Path {
        self.data_dir.path()
    }

    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.client
            .get(self.url(path))
            .send()
            .await
            .expect("request sent")
    }

    pub async fn post_json(&self, path: &str, body: &serde_json::Value) -> reqwest::Response {
        self.client
            .post(self.url(path))
            .json(body)
            .send()
            .await
            .expect("request sent")
    }

    /// Signals shutdown (as SIGTERM would) without waiting for it.
    pub fn begin_shutdown(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }

    /// Signals shutdown and waits for the server to finish; returns what `run_until` returned.
    pub async fn stop(&mut self) -> std::io::Result<()> {
        self.begin_shutdown();
        match self.server.take() {
            Some(handle) => handle.await.expect("server task did not panic"),
            None => Ok(()),
        }
    }

    /// Takes the database away from the running server: PostgreSQL drops the database (forcing
    /// its connections closed); SQLite closes the server's pools.
    pub async fn sabotage_database(&self) {
        match self.engine() {
            Engine::Postgres => self.database.drop_now().await,
            Engine::Sqlite => self.db.close().await,
        }
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        self.begin_shutdown();
    }
}

/// Reads a JSON body, failing the test with the raw text when it is not JSON.
pub async fn json_of(response: reqwest::Response) -> serde_json::Value {
    let text = response.text().await.expect("body");
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("not JSON ({e}): {text}"))
}

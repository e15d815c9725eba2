//! Startup: prepare the data directory and secret, connect and migrate the database, bind the
//! listener, and serve until told to stop. Every failure here names the setting behind it, so
//! `main` can print one line and exit non-zero before anything listens.

use ringup_store::reports::rebuild;
use std::fmt;
use std::future::Future;
use std::io::{self, Write};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use rand::Rng;
use ringup_api::auth::{Auth, AuthPolicy};
use ringup_api::mail::Mailer;
use ringup_api::{AppState, HttpConfig};
use ringup_core::clock::{Clock, SystemClock};
use ringup_store::{Db, DbOptions, StoreError, WriterOptions};
use tokio::net::TcpListener;
use tokio::sync::Notify;

use crate::serve::ConnectionLimits;
use crate::settings::{MIN_SECRET_LEN, Secret, Settings, origin_text};

/// How long a report waits for a place in the lane before it is refused with 503.
const REPORT_PATIENCE: Duration = Duration::from_secs(10);
/// Error fingerprints counted in memory between two flushes at most (docs/OPERATIONS.md,
/// "Errors"); occurrences of further new fingerprints are dropped and counted.
const ERROR_GROUPS_BUFFERED: usize = 1024;
/// Events a stream client may fall behind the newest before it is dropped (it reconnects
/// and resumes from the stored events with `Last-Event-ID`).
const EVENT_STREAM_CAPACITY: usize = 1024;

/// Why ringup could not start.
#[derive(Debug)]
pub enum StartupError {
    DataDir { dir: PathBuf, source: io::Error },
    Secret { path: PathBuf, reason: String },
    Database { url: String, source: StoreError },
    Migrate(StoreError),
    Bind { addr: SocketAddr, source: io::Error },
    Metrics(String),
    Auth(String),
    Mail(String),
    Bootstrap(crate::bootstrap::BootstrapError),
}

impl fmt::Display for StartupError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StartupError::DataDir { dir, source } => write!(
                f,
                "invalid setting RINGUP_DATA_DIR (--data-dir): {} is not a writable directory: {source}",
                dir.display()
            ),
            StartupError::Secret { path, reason } => write!(
                f,
                "invalid setting RINGUP_SECRET (--secret): the secret kept in {} {reason}",
                path.display()
            ),
            StartupError::Database { url, source } => {
                let cause = std::error::Error::source(source)
                    .map(|c| c.to_string())
                    .unwrap_or_else(|| source.to_string());
                write!(
                    f,
                    "invalid setting DATABASE_URL (--database-url): cannot open {url}: {cause}"
                )
            }
            StartupError::Migrate(source) => {
                let cause = std::error::Error::source(source)
                    .map(|c| c.to_string())
                    .unwrap_or_else(|| source.to_string());
                write!(f, "database migration failed: {cause}")
            }
            StartupError::Bind { addr, source } => write!(
                f,
                "invalid setting RINGUP_BIND (--bind): cannot listen on {addr}: {source}"
            ),
            StartupError::Metrics(reason) => write!(f, "metrics recorder: {reason}"),
            StartupError::Auth(reason) => write!(f, "authentication setup: {reason}"),
            StartupError::Mail(reason) => {
                write!(
                    f,
                    "invalid setting RINGUP_SMTP_URL (--smtp-url) or RINGUP_MAIL_FROM: {reason}"
                )
            }
            StartupError::Bootstrap(err) => write!(f, "{err}"),
        }
    }
}

impl std::error::Error for StartupError {}

/// Creates the data directory if needed and proves it is writable.
pub fn prepare_data_dir(dir: &Path) -> Result<(), StartupError> {
    let fail = |source| StartupError::DataDir {
        dir: dir.to_path_buf(),
        source,
    };
    std::fs::create_dir_all(dir).map_err(fail)?;
    let probe = dir.join(".write-test");
    std::fs::write(&probe, b"ok").map_err(fail)?;
    std::fs::remove_file(&probe).map_err(fail)?;
    Ok(())
}

/// The configured secret, or the one kept in `<data dir>/secret`, generated (48 random
/// characters, file mode 0600) on first start.
pub fn load_or_create_secret(settings: &Settings) -> Result<Secret, StartupError> {
    if let Some(secret) = &settings.secret {
        return Ok(secret.clone());
    }
    let path = settings.data_dir.join("secret");
    let fail = |reason: String| StartupError::Secret {
        path: path.clone(),
        reason,
    };
    match create_secret_file(&path) {
        Ok(secret) => return Ok(secret),
        Err(err) if err.kind() == io::ErrorKind::AlreadyExists => {}
        Err(err) => return Err(fail(format!("could not be created: {err}"))),
    }
    let text =
        std::fs::read_to_string(&path).map_err(|e| fail(format!("could not be read: {e}")))?;
    let text = text.trim();
    if text.chars().count() < MIN_SECRET_LEN {
        return Err(fail(format!("is shorter than {MIN_SECRET_LEN} characters")));
    }
    Ok(Secret::new(text.to_owned()))
}

fn create_secret_file(path: &Path) -> io::Result<Secret> {
    let value: String = rand::rng()
        .sample_iter(rand::distr::Alphanumeric)
        .take(48)
        .map(char::from)
        .collect();
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(path)?;
    file.write_all(value.as_bytes())?;
    file.sync_all()?;
    Ok(Secret::new(value))
}

/// Connects to the configured database and applies migrations.
pub async fn open_database(settings: &Settings) -> Result<Db, StartupError> {
    let options = DbOptions {
        max_connections: settings.db_max_connections,
        durability: settings.sqlite_synchronous,
        writer: WriterOptions {
            queue: settings.write_queue,
            ..WriterOptions::default()
        },
        ..DbOptions::default()
    };
    let db = Db::connect(&settings.database_url, &options)
        .await
        .map_err(|source| StartupError::Database {
            url: settings.database_url.to_string(),
            source,
        })?;
    db.migrate().await.map_err(StartupError::Migrate)?;
    ringup_store::platform::meta::record_initialised(&db)
        .await
        .map_err(StartupError::Migrate)?;
    // A migration that added rollups leaves them to be computed from the sales already there.
    if rebuild::is_stale(&db)
        .await
        .map_err(StartupError::Migrate)?
    {
        let rebuilt = rebuild::rebuild(&db).await.map_err(StartupError::Migrate)?;
        tracing::info!(rows = rebuilt.rows, "report rollups rebuilt from the sales");
    }
    Ok(db)
}

/// What tests (and only tests) change about an application.
pub struct AppOptions {
    /// Routes merged under the same middleware (the test kit's probes).
    pub extra: Option<Router<AppState>>,
    /// The clock of every time-based rule (token expiry, lockouts, reset links).
    pub clock: Arc<dyn Clock>,
}

impl Default for AppOptions {
    fn default() -> Self {
        AppOptions {
            extra: None,
            clock: Arc::new(SystemClock),
        }
    }
}

/// A ringup server, bound and ready to serve.
pub struct Application {
    listener: TcpListener,
    router: Router,
    db: Db,
    address: SocketAddr,
    shutdown_grace: Duration,
    connection_limits: ConnectionLimits,
    auth: Arc<Auth>,
    errors: ringup_app::errors::Recorder,
    first_admin: Option<crate::bootstrap::FirstAdmin>,
    backup: crate::settings::BackupSettings,
    events: ringup_app::events::Stream,
    webhooks: ringup_api::state::WebhookConfig,
    mail_signal: Arc<Notify>,
    database_url: ringup_store::DatabaseUrl,
    /// Where events are also published (`RINGUP_NATS_URL`), if anywhere.
    nats: Option<crate::workers::nats::Target>,
}

impl Application {
    /// Prepares everything and binds the listener (port 0 picks a free port).
    pub async fn build(settings: Settings) -> Result<Application, StartupError> {
        Self::build_with(settings, AppOptions::default()).await
    }

    /// As [`Application::build`], with test options.
    pub async fn build_with(
        settings: Settings,
        options: AppOptions,
    ) -> Result<Application, StartupError> {
        prepare_data_dir(&settings.data_dir)?;
        let secret = load_or_create_secret(&settings)?;
        let db = open_database(&settings).await?;
        let mailer = Mailer::new(
            settings.smtp_url.as_ref().map(|u| u.expose().as_str()),
            settings.smtp_timeout,
            settings.data_dir.join("mail"),
            &settings.mail_from,
        )
        .map_err(|e| StartupError::Mail(e.to_string()))?;
        let minutes = chrono::Duration::minutes(i64::from(settings.lockout_minutes));
        let policy = AuthPolicy {
            lockout_failures: i64::from(settings.lockout_failures),
            lockout_window: minutes,
            lockout_duration: minutes,
            login_per_ip_per_minute: settings.login_rate_per_minute,
            reset_per_hour: settings.password_reset_rate_per_hour,
            api_key_rates: settings.limits.api_key_rates,
            ..AuthPolicy::default()
        };
        let auth = Arc::new(
            Auth::new(
                secret.expose().as_bytes(),
                options.clock.clone(),
                policy,
                mailer,
                settings.public_url.as_str(),
            )
            .map_err(|e| StartupError::Auth(e.to_string()))?,
        );
        // Before the first admin, so its creation is measured like every other operation.
        let metrics = ringup_api::ops::prometheus().map_err(StartupError::Metrics)?;
        let first_admin =
            crate::bootstrap::ensure_first_admin(&db, &settings, &auth.hasher, options.clock.now())
                .await
                .map_err(StartupError::Bootstrap)?;
        let http = HttpConfig {
            body_limit: settings.body_limit,
            request_timeout: settings.request_timeout,
            cors_origins: settings
                .cors_origins
                .iter()
                .filter_map(|url| origin_text(url).parse().ok())
                .collect(),
            hsts: settings.hsts,
            ..HttpConfig::default()
        };
        let errors =
            ringup_app::errors::Recorder::new(options.clock.clone(), ERROR_GROUPS_BUFFERED);
        let events = ringup_app::events::Stream::new(EVENT_STREAM_CAPACITY);
        let webhooks = ringup_api::state::WebhookConfig {
            allow_private: settings.events.webhooks_allow_private,
            ..Default::default()
        };
        let mail_signal = Arc::new(Notify::new());
        let state = AppState {
            db: db.clone(),
            metrics,
            http,
            auth: auth.clone(),
            reports: ringup_app::reports::Lane::new(settings.report_lane, REPORT_PATIENCE),
            figures: Arc::new(ringup_api::ops::Figures::new(settings.data_dir.clone())),
            errors: errors.clone(),
            events: events.clone(),
            webhooks: webhooks.clone(),
            mail_signal: mail_signal.clone(),
        };
        let router = ringup_api::app(state, options.extra);
        let listener =
            TcpListener::bind(settings.bind)
                .await
                .map_err(|source| StartupError::Bind {
                    addr: settings.bind,
                    source,
                })?;
        let address = listener.local_addr().map_err(|source| StartupError::Bind {
            addr: settings.bind,
            source,
        })?;
        Ok(Application {
            listener,
            router,
            db,
            address,
            shutdown_grace: settings.shutdown_grace,
            connection_limits: ConnectionLimits {
                header_read_timeout: settings.limits.header_read_timeout,
                max_connections: settings.limits.max_connections,
            },
            auth,
            errors,
            first_admin,
            backup: settings.backup.clone(),
            events,
            webhooks,
            mail_signal,
            database_url: settings.database_url.clone(),
            nats: crate::workers::nats::Target::from_settings(&settings.events),
        })
    }

    /// The first admin created by this start, if the database had no users.
    pub fn first_admin(&self) -> Option<&crate::bootstrap::FirstAdmin> {
        self.first_admin.as_ref()
    }

    pub fn address(&self) -> SocketAddr {
        self.address
    }

    pub fn port(&self) -> u16 {
        self.address.port()
    }

    pub fn db(&self) -> &Db {
        &self.db
    }

    /// Serves until `shutdown` completes, then stops accepting, gives requests in flight the
    /// grace period to finish, closes the pool and returns. Connections are bounded as
    /// [`crate::serve`] says.
    pub async fn run_until<F>(self, shutdown: F) -> io::Result<()>
    where
        F: Future<Output = ()> + Send + 'static,
    {
        let stopping = Arc::new(Notify::new());
        let signal = {
            let stopping = stopping.clone();
            let stream = self.events.clone();
            async move {
                shutdown.await;
                tracing::info!("shutting down: no new connections, finishing requests in flight");
                // Event streams never finish by themselves: end them now, so they do not
                // hold the server open for the grace period.
                stream.close();
                stopping.notify_one();
            }
        };
        let serve = crate::serve::serve(self.listener, self.router, self.connection_limits, signal);
        let grace = self.shutdown_grace;
        let auth = self.auth.clone();
        let db = self.db.clone();
        let housekeeping = tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_secs(60));
            for minute in 0u64.. {
                tick.tick().await;
                auth.forget_idle_limits();
                if minute % 60 == 0 {
                    purge_idempotency_keys(&db, auth.clock.now()).await;
                }
            }
        });
        let backups = crate::backup::schedule(self.db.clone(), self.backup.clone());
        let errors = crate::workers::errors::spawn(self.db.clone(), self.errors, self.auth.clone());
        let events = crate::workers::events::spawn(
            self.db.clone(),
            &self.database_url,
            self.events.clone(),
            self.auth.clock.clone(),
        );
        // Connects in the background: an unreachable NATS never keeps ringup from serving.
        let nats = self.nats.map(|target| {
            crate::workers::nats::describe();
            crate::workers::nats::spawn(
                self.db.clone(),
                &self.database_url,
                target,
                self.events.clone(),
                self.auth.clock.clone(),
            )
        });
        let webhooks = match crate::workers::webhooks::spawn(
            self.db.clone(),
            &self.events,
            self.auth.clock.clone(),
            self.webhooks.allow_private,
            self.webhooks.wake.clone(),
        ) {
            Ok(worker) => Some(worker),
            Err(err) => {
                tracing::error!(error = %err, "the webhook worker could not start; webhooks are not delivered");
                None
            }
        };
        let mail = crate::workers::mail::spawn(
            self.db.clone(),
            self.auth.clone(),
            self.events.last(),
            self.mail_signal.clone(),
        );
        let deadline = async move {
            stopping.notified().await;
            tokio::time::sleep(grace).await;
        };
        tokio::select! {
            () = serve => {},
            () = deadline => tracing::warn!(grace_secs = grace.as_secs(), "grace period over; abandoning requests still in flight"),
        }
        housekeeping.abort();
        if let Some(backups) = backups {
            backups.abort();
        }
        errors.stop().await;
        if let Some(nats) = nats {
            nats.stop().await;
        }
        if let Some(webhooks) = webhooks {
            webhooks.stop().await;
        }
        mail.stop();
        events.stop();
        self.db.close().await;
        tracing::info!("stopped");
        Ok(())
    }
}

/// Deletes idempotency keys past their retention (docs/API.md: kept at least 24 h). A failure is
/// logged and retried an hour later; an expired key left in place only replays longer.
pub async fn purge_idempotency_keys(db: &Db, now: chrono::DateTime<chrono::Utc>) {
    let purged = async {
        let mut tx = db.begin_write().await?;
        let n = ringup_store::platform::idempotency::purge_expired(&mut tx, now).await?;
        ringup_store::commit(tx).await?;
        Ok::<u64, ringup_store::StoreError>(n)
    };
    match purged.await {
        Ok(n) => tracing::debug!(purged = n, "expired idempotency keys purged"),
        Err(err) => tracing::warn!(error = %err, "purging expired idempotency keys failed"),
    }
}

/// Completes on Ctrl-C or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut stream) => {
                stream.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::settings::RawSettings;

    fn settings_in(dir: &Path) -> Settings {
        let raw = RawSettings {
            data_dir: dir.to_path_buf(),
            ..RawSettings::defaults()
        };
        Settings::from_cli(&raw, false).unwrap()
    }

    #[test]
    fn secret_is_generated_once_with_private_mode() {
        let dir = tempfile::tempdir().unwrap();
        let settings = settings_in(dir.path());
        let first = load_or_create_secret(&settings).unwrap();
        let second = load_or_create_secret(&settings).unwrap();
        assert_eq!(first, second);
        assert!(first.expose().len() >= MIN_SECRET_LEN);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(dir.path().join("secret"))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }

    #[test]
    fn a_short_kept_secret_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("secret"), "short").unwrap();
        let err = load_or_create_secret(&settings_in(dir.path())).unwrap_err();
        assert!(err.to_string().contains("RINGUP_SECRET"), "{err}");
    }

    #[test]
    fn data_dir_under_a_file_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("file");
        std::fs::write(&file, "x").unwrap();
        let err = prepare_data_dir(&file.join("data")).unwrap_err();
        assert!(
            err.to_string()
                .starts_with("invalid setting RINGUP_DATA_DIR"),
            "{err}"
        );
    }
}

//! The NATS JetStream publisher (`RINGUP_NATS_URL`): every event, in position order, to the
//! subject `<prefix>.<type>` (`ringup.events.sale.completed`) of the stream `RINGUP_EVENTS`,
//! the envelope JSON as payload and the event id as `Nats-Msg-Id`, so JetStream drops a second
//! copy of an event within the stream's duplicate window.
//!
//! At least once, by a cursor ([`events::NATS`], a row of `event_cursors`): a window of events
//! is published without waiting, the acks are awaited in order, and only then does the cursor
//! move past the acknowledged ones. A crash in between publishes them again after the restart
//! with the same message ids, which JetStream drops as duplicates.
//!
//! One publisher at a time: on PostgreSQL a node publishes only while it holds a session-level
//! advisory lock on a connection of its own ([`Lease`]); the other nodes wait and take over
//! when that connection ends (its node stopped or lost the database). Should two ever overlap
//! (the lock's connection died while its node was still publishing), both publish the same
//! events with the same message ids, JetStream keeps one of each, and the cursor only moves
//! forward. A SQLite database is served by one node, which always publishes.
//!
//! It never holds up a request: it reads committed events and writes one small cursor update
//! per window. When NATS is unreachable, at start or later, it logs once, retries with a
//! backoff doubling up to [`MAX_BACKOFF`], and logs again when publishing works again; the
//! events wait in the database (kept 8 days) and go out in order once NATS is back.

use std::sync::Arc;
use std::time::Duration;

use async_nats::HeaderMap;
use async_nats::jetstream::{self, stream};
use ringup_app::events::{self, NATS, Stream};
use ringup_core::clock::Clock;
use ringup_store::events::StreamEvent;
use ringup_store::{DatabaseUrl, Db, Engine, StoreError};
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::settings::EventSettings;

/// The stream events go to unless `RINGUP_NATS_STREAM` says otherwise.
pub const DEFAULT_STREAM: &str = "RINGUP_EVENTS";
/// The subject prefix unless `RINGUP_NATS_SUBJECT_PREFIX` says otherwise.
pub const DEFAULT_PREFIX: &str = "ringup.events";
/// How long JetStream remembers a message id (a stream this publisher creates).
const DUPLICATE_WINDOW: Duration = Duration::from_secs(120);
/// How long a stream this publisher creates keeps a message (as the database keeps events).
const MAX_AGE: Duration = Duration::from_secs(8 * 24 * 3600);
/// Events read from the database at a time.
const BATCH: usize = 512;
/// Publishes in flight before their acks are awaited (and the cursor advanced).
const WINDOW: usize = 64;
/// How long the publisher waits for a new event before looking anyway.
const IDLE: Duration = Duration::from_secs(1);
/// How often a node without the lease tries to take it.
const STANDBY: Duration = Duration::from_secs(5);
/// The first pause after a failure; it doubles up to [`MAX_BACKOFF`].
const FIRST_BACKOFF: Duration = Duration::from_secs(1);
const MAX_BACKOFF: Duration = Duration::from_secs(30);
/// How long a connection attempt to NATS may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// How long shutdown waits for the publisher to finish its window.
const STOP_PATIENCE: Duration = Duration::from_secs(5);
/// The PostgreSQL advisory lock key of the publisher's lease ("ringnats").
const LEASE_KEY: i64 = 0x7269_6e67_6e61_7473;

const PUBLISHED: &str = "ringup_nats_published_total";
const LAG: &str = "ringup_nats_lag_events";
const CONNECTED: &str = "ringup_nats_connected";

/// Where events are published.
#[derive(Clone, Debug)]
pub struct Target {
    url: String,
    stream: String,
    prefix: String,
}

impl Target {
    /// The target `settings` configure, if any.
    pub fn from_settings(settings: &EventSettings) -> Option<Target> {
        let url = settings.nats_url.as_ref()?;
        Some(Target {
            url: url.expose().as_str().to_owned(),
            stream: settings
                .nats_stream
                .clone()
                .unwrap_or_else(|| DEFAULT_STREAM.to_owned()),
            prefix: settings
                .nats_subject_prefix
                .clone()
                .unwrap_or_else(|| DEFAULT_PREFIX.to_owned()),
        })
    }
}

/// The subject of an event of `event_type`.
pub fn subject(prefix: &str, event_type: &str) -> String {
    format!("{prefix}.{event_type}")
}

/// The running publisher; [`NatsWorker::stop`] ends it.
pub struct NatsWorker {
    stop: watch::Sender<bool>,
    task: JoinHandle<()>,
}

/// Starts the publisher. It connects in the background: an unreachable NATS never fails the
/// start.
pub fn spawn(
    db: Db,
    database_url: &DatabaseUrl,
    target: Target,
    stream: Stream,
    clock: Arc<dyn Clock>,
) -> NatsWorker {
    let (stop, stopped) = watch::channel(false);
    let publisher = Publisher {
        db,
        database_url: database_url.clone(),
        target,
        stream,
        clock,
    };
    NatsWorker {
        stop,
        task: tokio::spawn(publisher.run(stopped)),
    }
}

impl NatsWorker {
    /// Ends the publisher once its window is acknowledged (a few seconds at most; what it had
    /// not recorded is published again by the next start, and dropped by JetStream).
    pub async fn stop(self) {
        let _ = self.stop.send(true);
        let task = self.task;
        let abort = task.abort_handle();
        if tokio::time::timeout(STOP_PATIENCE, task).await.is_err() {
            abort.abort();
        }
        metrics::gauge!(CONNECTED).set(0.0);
    }
}

/// Why publishing stopped for a while.
#[derive(Debug, thiserror::Error)]
enum Failure {
    #[error("NATS: {0}")]
    Nats(String),
    #[error("database: {0}")]
    Database(#[from] StoreError),
    #[error("the publisher's lock connection: {0}")]
    Lease(String),
}

fn nats(err: impl std::fmt::Display) -> Failure {
    Failure::Nats(err.to_string())
}

/// The right to publish: nothing on SQLite (one node); on PostgreSQL a connection of the
/// publisher's own that holds the advisory lock [`LEASE_KEY`] for as long as it lives.
enum Lease {
    Sole,
    Locked(sqlx::PgConnection),
}

impl Lease {
    /// Takes the lease if no other node holds it (`None`: another does).
    async fn take(db: &Db, url: &DatabaseUrl) -> Result<Option<Lease>, Failure> {
        if db.engine() != Engine::Postgres {
            return Ok(Some(Lease::Sole));
        }
        use sqlx::Connection;
        let lease = |e: sqlx::Error| Failure::Lease(e.to_string());
        let mut conn = sqlx::PgConnection::connect(url.expose())
            .await
            .map_err(lease)?;
        let locked: bool = sqlx::query_scalar("select pg_try_advisory_lock($1)")
            .bind(LEASE_KEY)
            .fetch_one(&mut conn)
            .await
            .map_err(lease)?;
        Ok(locked.then_some(Lease::Locked(conn)))
    }

    /// Whether the lease is still held (its connection still answers).
    async fn check(&mut self) -> Result<(), Failure> {
        match self {
            Lease::Sole => Ok(()),
            Lease::Locked(conn) => sqlx::query("select 1")
                .execute(conn)
                .await
                .map(|_| ())
                .map_err(|e| Failure::Lease(e.to_string())),
        }
    }
}

struct Publisher {
    db: Db,
    database_url: DatabaseUrl,
    target: Target,
    stream: Stream,
    clock: Arc<dyn Clock>,
}

impl Publisher {
    async fn run(self, mut stopped: watch::Receiver<bool>) {
        let mut health = Health {
            failing: false,
            backoff: FIRST_BACKOFF,
        };
        metrics::gauge!(CONNECTED).set(0.0);
        loop {
            if *stopped.borrow() {
                return;
            }
            let pause = match self.session(&mut stopped, &mut health).await {
                Ok(Session::Stopped) => return,
                Ok(Session::Standby) => STANDBY,
                Err(err) => {
                    metrics::gauge!(CONNECTED).set(0.0);
                    if !health.failing {
                        health.failing = true;
                        tracing::warn!(error = %err, stream = %self.target.stream,
                            "NATS publishing stopped; retrying with backoff until it works");
                    }
                    let pause = health.backoff;
                    health.backoff = (health.backoff * 2).min(MAX_BACKOFF);
                    pause
                }
            };
            tokio::select! {
                () = tokio::time::sleep(pause) => {}
                _ = stopped.changed() => return,
            }
        }
    }

    /// Takes the lease, connects, makes sure of the stream, and publishes until something
    /// fails or the worker stops.
    async fn session(
        &self,
        stopped: &mut watch::Receiver<bool>,
        health: &mut Health,
    ) -> Result<Session, Failure> {
        let Some(mut lease) = Lease::take(&self.db, &self.database_url).await? else {
            // Another node publishes; this one only reports how far behind that one is.
            let cursor = NATS.position(&self.db).await?;
            metrics::gauge!(LAG).set(NATS.lag(&self.db, cursor).await? as f64);
            return Ok(Session::Standby);
        };
        let client = async_nats::ConnectOptions::new()
            .name("ringup")
            .connection_timeout(CONNECT_TIMEOUT)
            // Reconnecting is this worker's job: a client that gave up is replaced by a new
            // one, so nothing it buffered while cut off is sent long after.
            .max_reconnects(Some(2))
            .connect(self.target.url.as_str())
            .await
            .map_err(nats)?;
        let js = jetstream::new(client);
        js.get_or_create_stream(stream::Config {
            name: self.target.stream.clone(),
            subjects: vec![format!("{}.>", self.target.prefix)],
            duplicate_window: DUPLICATE_WINDOW,
            max_age: MAX_AGE,
            storage: stream::StorageType::File,
            ..stream::Config::default()
        })
        .await
        .map_err(nats)?;
        metrics::gauge!(CONNECTED).set(1.0);
        let mut cursor = NATS.position(&self.db).await?;
        let mut last = self.stream.last();
        loop {
            if *stopped.borrow() {
                return Ok(Session::Stopped);
            }
            let batch = NATS.batch(&self.db, cursor, BATCH).await?;
            for window in batch.chunks(WINDOW) {
                let (acked, failure) = self.publish(&js, window).await;
                if let Some(position) = acked {
                    NATS.advance(&self.db, position, self.clock.now()).await?;
                    cursor = position;
                }
                if let Some(failure) = failure {
                    return Err(failure);
                }
            }
            // A whole batch went out (or there was none): publishing works.
            health.backoff = FIRST_BACKOFF;
            if health.failing {
                health.failing = false;
                tracing::info!(stream = %self.target.stream, cursor, "NATS publishing works again");
            }
            metrics::gauge!(LAG).set(NATS.lag(&self.db, cursor).await? as f64);
            if batch.len() == BATCH {
                continue;
            }
            tokio::select! {
                _ = last.changed() => {}
                () = tokio::time::sleep(IDLE) => {}
                _ = stopped.changed() => return Ok(Session::Stopped),
            }
            lease.check().await?;
        }
    }

    /// Publishes `window` without waiting, then awaits the acks in order. Answers the
    /// position of the last event acknowledged in an unbroken run from the first, and the
    /// failure that broke it, if any.
    async fn publish(
        &self,
        js: &jetstream::Context,
        window: &[StreamEvent],
    ) -> (Option<i64>, Option<Failure>) {
        let mut pending = Vec::with_capacity(window.len());
        let mut failure = None;
        for event in window {
            let mut headers = HeaderMap::new();
            headers.insert("Nats-Msg-Id", event.id.as_str());
            let payload = events::envelope(event);
            let subject = subject(&self.target.prefix, &event.event_type);
            match js
                .publish_with_headers(subject, headers, payload.into())
                .await
            {
                Ok(ack) => pending.push((event.position, ack)),
                Err(err) => {
                    failure = Some(nats(err));
                    break;
                }
            }
        }
        let mut acked = None;
        for (position, ack) in pending {
            match ack.await {
                Ok(ack) => {
                    let result = if ack.duplicate {
                        "duplicate"
                    } else {
                        "published"
                    };
                    metrics::counter!(PUBLISHED, "result" => result).increment(1);
                    acked = Some(position);
                }
                Err(err) => {
                    metrics::counter!(PUBLISHED, "result" => "failed").increment(1);
                    return (acked, Some(nats(err)));
                }
            }
        }
        if failure.is_some() {
            metrics::counter!(PUBLISHED, "result" => "failed").increment(1);
        }
        (acked, failure)
    }
}

/// Whether publishing is failing (so an outage is logged once) and the next pause.
struct Health {
    failing: bool,
    backoff: Duration,
}

/// How a session ended without failing.
enum Session {
    /// The worker was told to stop.
    Stopped,
    /// Another node holds the lease.
    Standby,
}

/// Describes the publisher's metrics to the recorder.
pub fn describe() {
    metrics::describe_counter!(
        PUBLISHED,
        "Events handed to NATS JetStream, by result (published, duplicate, failed)"
    );
    metrics::describe_gauge!(
        LAG,
        "Positioned events the NATS publisher has not had acknowledged yet"
    );
    metrics::describe_gauge!(
        CONNECTED,
        "1 while this node publishes to NATS JetStream, else 0"
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_event_goes_to_its_type_under_the_prefix() {
        assert_eq!(
            subject(DEFAULT_PREFIX, "sale.completed"),
            "ringup.events.sale.completed"
        );
        assert_eq!(subject("t1.events", "stock.low"), "t1.events.stock.low");
    }

    #[test]
    fn no_target_without_a_url_and_defaults_without_names() {
        assert!(Target::from_settings(&EventSettings::default()).is_none());
        let raw = crate::settings::RawEvents {
            nats_url: Some("nats://127.0.0.1:4222".into()),
            ..crate::settings::RawEvents::defaults()
        };
        let target = EventSettings::from_raw(&raw)
            .ok()
            .and_then(|s| Target::from_settings(&s));
        assert!(target.is_some_and(|t| t.stream == DEFAULT_STREAM
            && t.prefix == DEFAULT_PREFIX
            && t.url.starts_with("nats://127.0.0.1:4222")));
    }
}

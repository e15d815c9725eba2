//! The event workers of a node: the relay, which positions committed outbox events as soon as
//! a write announces them (and every second, for events another node's crash left behind);
//! the stream reader, which publishes them to the node's clients; on PostgreSQL a listener
//! that wakes the reader when another node's relay positioned events; and the hourly purge of
//! events past their retention.
//!
//! None of them is on a request's path: a write only raises a signal after its commit.

use std::time::Duration;

use ringup_app::events::{self, Stream};
use ringup_core::clock::Clock;
use ringup_store::events::NOTIFY_CHANNEL;
use ringup_store::{DatabaseUrl, Db, Engine};
use std::sync::Arc;
use tokio::task::JoinHandle;

/// How long the relay and the reader wait for a signal before looking anyway.
const IDLE: Duration = Duration::from_secs(1);
/// How long the relay waits after a write announced events before it positions them.
const GATHER: Duration = Duration::from_millis(20);
/// How often events past their retention are purged.
const PURGE_EVERY: Duration = Duration::from_secs(3600);

/// The running workers; dropping them does not stop them, [`EventWorkers::stop`] does.
pub struct EventWorkers {
    tasks: Vec<JoinHandle<()>>,
    stream: Stream,
}

/// Starts the relay, the stream reader, the purge and (PostgreSQL) the listener.
pub fn spawn(db: Db, url: &DatabaseUrl, stream: Stream, clock: Arc<dyn Clock>) -> EventWorkers {
    let mut tasks = vec![
        tokio::spawn(relay(db.clone(), stream.clone(), clock.clone())),
        tokio::spawn(stream.clone().run(db.clone(), IDLE)),
        tokio::spawn(purge(db.clone(), clock)),
    ];
    if db.engine() == Engine::Postgres {
        tasks.push(tokio::spawn(listen(url.clone(), stream.clone())));
    }
    EventWorkers { tasks, stream }
}

impl EventWorkers {
    /// Ends every stream subscription and the workers. Events not positioned yet are
    /// positioned by the next start (or by another node).
    pub fn stop(self) {
        self.stream.close();
        for task in self.tasks {
            task.abort();
        }
    }
}

async fn relay(db: Db, stream: Stream, clock: Arc<dyn Clock>) {
    let signal = db.events_signal().clone();
    let mut failing = false;
    loop {
        match events::relay(&db, clock.now()).await {
            Ok(relayed) => {
                if relayed.is_some() {
                    stream.wake();
                }
                if failing {
                    failing = false;
                    tracing::info!("event relay works again");
                }
            }
            Err(err) => {
                if !failing {
                    failing = true;
                    tracing::warn!(error = %err, "event relay failed; retrying every second");
                }
            }
        }
        tokio::select! {
            () = signal.notified() => {
                // Let the writes right behind this one commit too, so they are positioned in
                // one turn of the writer rather than a turn after each sale (which a lone till
                // would wait behind on SQLite).
                tokio::time::sleep(GATHER).await;
            }
            () = tokio::time::sleep(IDLE) => {}
        }
    }
}

async fn purge(db: Db, clock: Arc<dyn Clock>) {
    let mut tick = tokio::time::interval(PURGE_EVERY);
    loop {
        tick.tick().await;
        match events::purge(&db, clock.now()).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(purged = n, "events past their retention purged"),
            Err(err) => tracing::warn!(error = %err, "purging old events failed"),
        }
    }
}

/// PostgreSQL: wakes the stream reader whenever any node's relay positioned events. A lost
/// connection is reconnected; meanwhile the reader still looks every second.
async fn listen(url: DatabaseUrl, stream: Stream) {
    loop {
        match sqlx::postgres::PgListener::connect(url.expose()).await {
            Ok(mut listener) => {
                if let Err(err) = listener.listen(NOTIFY_CHANNEL).await {
                    tracing::warn!(error = %err, "LISTEN for events failed");
                } else {
                    loop {
                        match listener.recv().await {
                            Ok(_) => stream.wake(),
                            Err(err) => {
                                tracing::warn!(error = %err, "the event listener lost its connection");
                                break;
                            }
                        }
                    }
                }
            }
            Err(err) => tracing::warn!(error = %err, "the event listener could not connect"),
        }
        tokio::time::sleep(Duration::from_secs(5)).await;
    }
}

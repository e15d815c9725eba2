//! The node's live stream of positioned events: one reader task ([`Stream::run`]) reads what is
//! new from the database whenever it is woken — by this node's relay, or on PostgreSQL by
//! another node's (`LISTEN`) — and publishes each event once, in position order, to a bounded
//! broadcast channel. Connected clients subscribe to it; a client that falls more than the
//! channel's capacity behind is told so ([`Next::Lagged`]) and dropped, so a slow client never
//! slows the server or the other clients. Consumers that must not miss anything (webhooks,
//! mail, NATS) keep their own position and read the database; they only watch
//! [`Stream::last`] to know when to look.

use std::sync::Arc;
use std::time::Duration;

use ringup_store::Db;
use ringup_store::events::{self as store, Selection, StreamEvent};
use tokio::sync::{Notify, broadcast, watch};

/// Events read from the database per query when catching up.
const READ_BATCH: usize = 500;

/// An event as the stream hands it out: its row, and its envelope JSON, drawn once for all
/// clients.
#[derive(Debug)]
pub struct Published {
    pub event: StreamEvent,
    pub json: String,
}

/// The node's stream. Cheap to clone.
#[derive(Clone, Debug)]
pub struct Stream {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    sender: broadcast::Sender<Arc<Published>>,
    /// The last position published (what a new subscriber without a resume point starts
    /// after), and what the consumers watch.
    last: watch::Sender<i64>,
    wake: Notify,
    /// Raised at shutdown: every subscription ends, so no stream holds the server open.
    closed: watch::Sender<bool>,
}

/// What a subscription yields next.
#[derive(Debug)]
pub enum Next {
    Event(Arc<Published>),
    /// The subscriber fell too far behind and lost events: it must reconnect and resume.
    Lagged,
    /// The server is shutting down.
    Closed,
}

/// One client's place in the live stream.
pub struct Subscription {
    receiver: broadcast::Receiver<Arc<Published>>,
    closed: watch::Receiver<bool>,
    /// The position the live part starts after.
    pub start: i64,
}

impl Subscription {
    /// The next published event (every event, in position order: the caller filters).
    pub async fn next(&mut self) -> Next {
        if *self.closed.borrow() {
            return Next::Closed;
        }
        tokio::select! {
            received = self.receiver.recv() => match received {
                Ok(published) => Next::Event(published),
                Err(broadcast::error::RecvError::Lagged(_)) => Next::Lagged,
                Err(broadcast::error::RecvError::Closed) => Next::Closed,
            },
            _ = self.closed.changed() => Next::Closed,
        }
    }
}

impl Stream {
    /// A stream whose subscribers may fall `capacity` events behind before they are dropped.
    pub fn new(capacity: usize) -> Stream {
        let (sender, _) = broadcast::channel(capacity.max(1));
        Stream {
            inner: Arc::new(Inner {
                sender,
                last: watch::channel(0).0,
                wake: Notify::new(),
                closed: watch::channel(false).0,
            }),
        }
    }

    /// Subscribes: the subscription yields every event published from now on.
    pub fn subscribe(&self) -> Subscription {
        // Subscribe before reading `last`: an event published in between is both above
        // `start` and in the channel, never in neither.
        let receiver = self.inner.sender.subscribe();
        Subscription {
            receiver,
            closed: self.inner.closed.subscribe(),
            start: *self.inner.last.borrow(),
        }
    }

    /// Tells the reader task that new positions exist.
    pub fn wake(&self) {
        self.inner.wake.notify_one();
    }

    /// The last position published, to watch for new events.
    pub fn last(&self) -> watch::Receiver<i64> {
        self.inner.last.subscribe()
    }

    /// Ends every subscription (shutdown).
    pub fn close(&self) {
        self.inner.closed.send_replace(true);
    }

    /// Clients connected now.
    pub fn subscribers(&self) -> usize {
        self.inner.sender.receiver_count()
    }

    /// The reader task: starts after the last position the database has (earlier events are
    /// read by whoever resumes from them), then publishes what is new each time it is woken,
    /// and at least every `idle` (a missed wake costs that much latency, never an event).
    pub async fn run(self, db: Db, idle: Duration) {
        let mut last = loop {
            match store::last_position(&db).await {
                Ok(position) => break position,
                Err(err) => {
                    tracing::warn!(error = %err, "event stream: reading the last position failed");
                    tokio::time::sleep(idle).await;
                }
            }
        };
        self.inner.last.send_replace(last);
        let mut closed = self.inner.closed.subscribe();
        loop {
            tokio::select! {
                () = self.inner.wake.notified() => {}
                () = tokio::time::sleep(idle) => {}
                _ = closed.changed() => return,
            }
            loop {
                let events = match store::after(&db, last, &Selection::default(), READ_BATCH).await
                {
                    Ok(events) => events,
                    Err(err) => {
                        tracing::warn!(error = %err, "event stream: reading new events failed");
                        break;
                    }
                };
                let done = events.len() < READ_BATCH;
                for event in events {
                    last = event.position;
                    let json = super::envelope(&event);
                    // No subscriber is fine: the send only fails when nobody listens.
                    let _ = self.inner.sender.send(Arc::new(Published { event, json }));
                }
                self.inner.last.send_replace(last);
                if done {
                    break;
                }
            }
        }
    }
}

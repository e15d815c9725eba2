//! One client's feed of events, shared by the SSE and WebSocket endpoints: first the stored
//! events after its resume point, then the node's live stream, with no gap and no repeat
//! between the two.
//!
//! The feed subscribes to the live stream *before* it reads the stored events, so an event
//! that commits while it reads is in the subscription if it is not in what it read; live
//! events at or below the last position it sent are skipped. A client the live stream drops
//! for falling behind ([`Next::Lagged`]) gets the end of its feed and resumes with
//! `Last-Event-ID`.

use std::collections::VecDeque;

use ringup_app::events::{Next, Reader, Stream, Subscription, envelope};
use ringup_store::Db;

/// Stored events read per query while catching up.
const BACKLOG_PAGE: usize = 200;

/// An event as a client receives it.
pub struct Item {
    pub id: String,
    pub event_type: String,
    pub json: String,
}

pub struct Feed {
    db: Db,
    reader: Reader,
    subscription: Subscription,
    /// The last position sent (or skipped as not this reader's).
    last: i64,
    /// Stored events read and not sent yet.
    pending: VecDeque<Item>,
    /// Whether the stored events are all read: from then on only the live stream counts.
    caught_up: bool,
}

/// Why a feed ended.
pub enum End {
    /// The client fell behind the live stream; it should reconnect and resume.
    Lagged,
    /// The server is shutting down (or the database failed while catching up).
    Closed,
}

impl Feed {
    /// A feed resuming after `after` (a position), or with new events only.
    pub fn new(db: Db, stream: &Stream, reader: Reader, after: Option<i64>) -> Feed {
        let subscription = stream.subscribe();
        let last = after.unwrap_or(subscription.start);
        Feed {
            db,
            reader,
            subscription,
            last,
            pending: VecDeque::new(),
            caught_up: after.is_none(),
        }
    }

    /// The next event this client sees.
    pub async fn next(&mut self) -> Result<Item, End> {
        loop {
            if let Some(item) = self.pending.pop_front() {
                return Ok(item);
            }
            if !self.caught_up {
                let events = self
                    .reader
                    .after(&self.db, self.last, BACKLOG_PAGE)
                    .await
                    .map_err(|err| {
                        tracing::warn!(error = %err, "reading stored events for a stream failed");
                        End::Closed
                    })?;
                self.caught_up = events.len() < BACKLOG_PAGE;
                for event in events {
                    self.last = event.position;
                    self.pending.push_back(Item {
                        json: envelope(&event),
                        id: event.id,
                        event_type: event.event_type,
                    });
                }
                continue;
            }
            match self.subscription.next().await {
                Next::Event(published) => {
                    let event = &published.event;
                    if event.position <= self.last {
                        continue;
                    }
                    self.last = event.position;
                    if self.reader.sees(event) {
                        return Ok(Item {
                            id: event.id.clone(),
                            event_type: event.event_type.clone(),
                            json: published.json.clone(),
                        });
                    }
                }
                Next::Lagged => return Err(End::Lagged),
                Next::Closed => return Err(End::Closed),
            }
        }
    }
}

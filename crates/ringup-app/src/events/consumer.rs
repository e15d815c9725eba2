//! A consumer that must see every event, once it is positioned, in position order, and keeps its
//! place in `event_cursors` so a restart goes on where the last run stopped: the NATS publisher
//! uses it, and any other consumer that reads the stream by position can.
//!
//! The pattern is at-least-once: read a batch after the cursor ([`Consumer::batch`]), hand it on,
//! and only then record how far it got ([`Consumer::advance`]). A crash between the two hands
//! the same events on again after the restart, so what receives them deduplicates by event id
//! (JetStream does so by the `Nats-Msg-Id` header). The cursor only ever moves forward: an
//! advance to a position at or below the stored one changes nothing, so a slow node that
//! finishes after a faster one cannot move it back.

use chrono::{DateTime, Utc};
use ringup_store::events::{self as store, Selection, StreamEvent};
use ringup_store::{Db, StoreError, Tx as _};

/// One consumer's place in the stream, named in `event_cursors.consumer`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Consumer {
    name: &'static str,
}

impl Consumer {
    /// The consumer called `name` (unique among consumers: it is the cursor's key).
    pub const fn new(name: &'static str) -> Consumer {
        Consumer { name }
    }

    pub fn name(self) -> &'static str {
        self.name
    }

    /// The position every event up to which was handled (0 before the first run).
    pub async fn position(self, db: &Db) -> Result<i64, StoreError> {
        store::cursor(db, self.name).await
    }

    /// Up to `limit` events after `position`, oldest first (every type and store).
    pub async fn batch(
        self,
        db: &Db,
        position: i64,
        limit: usize,
    ) -> Result<Vec<StreamEvent>, StoreError> {
        store::after(db, position, &Selection::default(), limit).await
    }

    /// Records that every event up to `position` was handled, in a write transaction of its
    /// own (one small statement: it waits for its turn on SQLite's writer like any write).
    pub async fn advance(
        self,
        db: &Db,
        position: i64,
        at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let name = self.name;
        db.write_direct(move |mut tx| async move {
            store::advance_cursor(&mut tx, name, position, at).await?;
            tx.commit().await
        })
        .await
    }

    /// How many positioned events this consumer has not handled yet, with the cursor at
    /// `position`.
    pub async fn lag(self, db: &Db, position: i64) -> Result<i64, StoreError> {
        Ok((store::last_position(db).await? - position).max(0))
    }
}

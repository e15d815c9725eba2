//! Events after they commit: the relay that puts them in commit order ([`relay`]), the
//! node's live stream of them ([`Stream`]), and what a caller may read ([`Reader`]).
//!
//! A business write appends its events to the outbox in its own transaction
//! (`crate::write::Effects::event`) and, once committed, raises the database's event signal.
//! The relay wakes on it, gives the committed rows their stream positions (one short write
//! transaction for any number of them) and wakes the [`Stream`], which reads what is new
//! from the database and hands it to every connected client and to the node's consumers
//! (webhooks, mail, NATS), each of which keeps its own place by position.

mod consumer;
mod stream;

pub use consumer::Consumer;
pub use stream::{Next, Published, Stream, Subscription};

/// The NATS JetStream publisher's place in the stream (`crates/ringup/src/workers/nats.rs`).
pub const NATS: Consumer = Consumer::new("nats");

use chrono::{DateTime, Utc};
use ringup_core::events::{Pattern, selects};
use ringup_core::ids::StoreId;
use ringup_store::events::{self as store, Selection, StreamEvent, TypePattern};
use ringup_store::{Db, StoreError, Tx as _};

use crate::authz::{Actor, ActorKind};
use crate::problem::FieldError;

/// Events positioned by one relay transaction, at most.
const RELAY_BATCH: usize = 500;

/// Positions every committed event that has none yet; answers the last position handed out
/// (`None` when there was nothing to do).
pub async fn relay(db: &Db, at: DateTime<Utc>) -> Result<Option<i64>, StoreError> {
    // A read first: the relay also runs every second, and an idle server should not take a
    // turn on the writer (SQLite) or a transaction to find nothing.
    if !store::has_unrelayed(db).await? {
        return Ok(None);
    }
    let mut last = None;
    loop {
        // A hot write (on SQLite the writer runs it): the relay's turn joins the sales'
        // group-committed batch instead of ending it and paying a commit of its own.
        let engine = db.engine();
        let (relayed, position) = db
            .write_direct(move |mut tx| async move {
                let relayed = store::relay(&mut tx, engine, at, RELAY_BATCH).await?;
                // In the same transaction: an event is positioned together with its webhook
                // deliveries, or not at all.
                crate::webhooks::fan_out(&mut tx, &relayed.events, at).await?;
                tx.commit().await?;
                Ok::<_, StoreError>((relayed.events.len(), relayed.last()))
            })
            .await?;
        let done = relayed < RELAY_BATCH;
        if let Some(position) = position {
            last = Some(position);
        }
        if done {
            return Ok(last);
        }
    }
}

/// Events older than this are purged (docs/API.md: kept at least 7 days).
pub fn retention() -> chrono::Duration {
    chrono::Duration::days(8)
}

/// Deletes the events past [`retention`], a batch at a time; answers how many.
pub async fn purge(db: &Db, now: DateTime<Utc>) -> Result<u64, StoreError> {
    let mut purged = 0;
    loop {
        let mut tx = db.begin_write().await?;
        let n = store::purge(&mut *tx, now - retention(), 1_000).await?;
        tx.commit().await?;
        purged += n;
        if n < 1_000 {
            return Ok(purged);
        }
    }
}

/// Why a read of the events was refused.
#[derive(Debug, thiserror::Error)]
pub enum EventsError {
    /// Employees and cashiers do not read events.
    #[error("not allowed")]
    Forbidden,
    #[error("invalid request")]
    Invalid(Vec<FieldError>),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// What a caller asked to read: the parsed `types`, `store_id` and resume point.
#[derive(Clone, Debug, Default)]
pub struct Query {
    pub types: Vec<Pattern>,
    pub store: Option<StoreId>,
    /// The event id to resume after (`?after=` or `Last-Event-ID`).
    pub after: Option<String>,
}

/// The events one caller may read, as the caller asked for them: the same rules for the list,
/// the SSE stream and the WebSocket.
#[derive(Clone, Debug)]
pub struct Reader {
    types: Vec<Pattern>,
    /// The store asked for and the visible ones, as stored text: [`Reader::sees`] runs for
    /// every live event and every client, so they are drawn once here.
    store: Option<String>,
    /// `None`: every store (admins).
    visible: Option<Vec<String>>,
}

impl Reader {
    /// The reader of `actor` for `query`: admins, managers and API keys read events; managers
    /// and API keys only their stores' (and those of no store). A `store_id` the caller cannot
    /// see is 422, as for the reports.
    pub fn new(actor: &Actor, query: &Query) -> Result<Reader, EventsError> {
        let allowed = actor.is_admin()
            || actor.role == ringup_core::users::Role::Manager
            || matches!(actor.kind, ActorKind::ApiKey(_));
        if !allowed {
            return Err(EventsError::Forbidden);
        }
        if let Some(store) = query.store
            && !actor.sees_store(store)
        {
            return Err(EventsError::Invalid(vec![FieldError::new(
                "store_id",
                "is not a store you can see",
            )]));
        }
        Ok(Reader {
            types: query.types.clone(),
            store: query.store.map(|s| s.to_string()),
            visible: actor
                .store_scope()
                .map(|stores| stores.iter().map(ToString::to_string).collect()),
        })
    }

    /// Whether this reader sees `event`.
    pub fn sees(&self, event: &StreamEvent) -> bool {
        if !selects(&self.types, &event.event_type) {
            return false;
        }
        let store = event.store_id.as_deref();
        if self.store.is_some() && self.store.as_deref() != store {
            return false;
        }
        match (&self.visible, store) {
            (None, _) | (Some(_), None) => true,
            (Some(visible), Some(store)) => visible.iter().any(|s| s == store),
        }
    }

    fn selection(&self) -> Selection {
        Selection {
            types: self
                .types
                .iter()
                .map(|p| match p {
                    Pattern::Any => TypePattern::Any,
                    Pattern::Exact(t) => TypePattern::Exact(t.clone()),
                    Pattern::Prefix(p) => TypePattern::Prefix(p.clone()),
                })
                .collect(),
            store: self.store.clone(),
            visible_stores: self.visible.clone(),
        }
    }

    /// Up to `limit` events this reader sees after `position`, in commit order.
    pub async fn after(
        &self,
        db: &Db,
        position: i64,
        limit: usize,
    ) -> Result<Vec<StreamEvent>, StoreError> {
        store::after(db, position, &self.selection(), limit).await
    }
}

/// The position to resume after, from an event id (`?after=` or `Last-Event-ID`): an id that
/// is no event (never was, or purged) is 422 naming `field`.
pub async fn resume_point(db: &Db, after: &str, field: &str) -> Result<i64, EventsError> {
    match store::position_of(db, after).await? {
        Some(position) => Ok(position),
        None => Err(EventsError::Invalid(vec![FieldError::new(
            field,
            "is not a known event id",
        )])),
    }
}

/// The JSON an API client gets for `event`.
pub fn envelope(event: &StreamEvent) -> String {
    ringup_core::events::envelope(
        &event.id,
        &event.event_type,
        &event.created_at,
        event.store_id.as_deref(),
        &event.data,
    )
}

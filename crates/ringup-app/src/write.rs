//! The tail every business write shares, written once: claim the idempotency key → do the work
//! → append the outbox events → link the audit events → keep the response for replays →
//! commit. An operation opens a [`Write`] with [`Write::begin`] (which claims the key and
//! answers a replay before anything else runs), does its work on [`Write::tx`], and ends with
//! [`Write::finish`], which writes the effects and commits; dropping a `Write` instead rolls
//! everything back, the key included. No operation touches a transaction's start or end.
//!
//! Which connection runs the transaction, and how, is decided by the store's `begin_write`
//! (SQLite: a turn on the group-committing writer; PostgreSQL: a pooled transaction); callers
//! only see [`Written`]. The hot writes (a sale, a void, a return, a stock movement, a shift
//! action, and the relay's and webhook worker's bookkeeping) run theirs through
//! [`Db::write_direct`] instead: the part from the key's claim to the commit is a closure over
//! an [`OwnedRequest`] and owned inputs (`write_direct!`, which opens it with
//! [`Write::open`]), whose store functions issue every statement through
//! `ringup_store::Sql`. On SQLite the writer runs that closure itself, on its own thread and
//! synchronous connection, so it must only run statements (its checks and pricing inputs are
//! read before); on PostgreSQL it runs in place on a pooled transaction.
//!
//! A write whose transaction the database gave up (a deadlock, a
//! serialization failure, a failed group commit) runs again from the start, a bounded number
//! of times ([`retrying`]): safe because nothing of the failed attempt was kept, the key claim
//! included. So each operation's public function is only that retry around a private
//! `<operation>_once`, one attempt from `begin` to `finish`, which takes its command by
//! reference (or a fresh clone of it, when it consumes it).
//!
//! A write nobody signed in asks for (logging in, refreshing or ending a session, a
//! password-reset link, the first admin) is an [`AnonymousWrite`]: the same transaction and
//! effects, but no actor, so no idempotency key (keys are scoped to an actor) and no reply to
//! keep; its operation names whom each audit event concerns once it knows.

use chrono::{DateTime, Utc};
use ringup_core::ids::StoreId;
use ringup_store::audit::{self, NewAuditEvent};
use ringup_store::platform::idempotency::{self, Claim};
use ringup_store::platform::{outbox, time};
use ringup_store::{Conn, Db, DirectTx, Sql, StoreError, Tx, WriteTx};
use serde::Serialize;

use crate::authz::Actor;
use crate::meters::{self, Operation, Outcome};

/// How long an idempotency key is remembered.
pub fn retention() -> chrono::Duration {
    chrono::Duration::hours(24)
}

/// Where a request came from, as the audit log records it.
#[derive(Clone, Debug, Default)]
pub struct Origin {
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    pub request_id: Option<String>,
}

/// An idempotency key and the hash of the request it came with.
#[derive(Clone, Copy, Debug)]
pub struct Idempotency<'a> {
    pub key: &'a str,
    pub request_hash: &'a str,
}

/// Everything a write needs besides its command: who acts, when, from where, and the
/// request's idempotency key (keys are scoped to the actor).
#[derive(Clone, Copy, Debug)]
pub struct WriteRequest<'a> {
    pub actor: &'a Actor,
    pub at: DateTime<Utc>,
    pub origin: &'a Origin,
    pub idempotency: Option<Idempotency<'a>>,
}

/// A [`WriteRequest`] that owns what it names, so that a write can run where the request's
/// borrows cannot go: on SQLite's writer ([`Db::write_direct`]).
#[derive(Clone, Debug)]
pub struct OwnedRequest {
    actor: Actor,
    at: DateTime<Utc>,
    origin: Origin,
    idempotency: Option<(String, String)>,
}

impl OwnedRequest {
    pub fn of(request: WriteRequest<'_>) -> OwnedRequest {
        OwnedRequest {
            actor: request.actor.clone(),
            at: request.at,
            origin: request.origin.clone(),
            idempotency: request
                .idempotency
                .map(|key| (key.key.to_owned(), key.request_hash.to_owned())),
        }
    }

    pub fn request(&self) -> WriteRequest<'_> {
        WriteRequest {
            actor: &self.actor,
            at: self.at,
            origin: &self.origin,
            idempotency: self
                .idempotency
                .as_ref()
                .map(|(key, request_hash)| Idempotency { key, request_hash }),
        }
    }
}

impl WriteRequest<'_> {
    /// Whether the request carries an idempotency key: only then may a write whose connection
    /// was lost run again ([`retrying`]), as a commit that did happen is replayed, not redone.
    pub fn is_keyed(&self) -> bool {
        self.idempotency.is_some()
    }
}

/// Everything an [`AnonymousWrite`] needs besides its command: when, and from where.
#[derive(Clone, Copy, Debug)]
pub struct AnonymousRequest<'a> {
    pub at: DateTime<Utc>,
    pub origin: &'a Origin,
}

/// The answer kept for a key and sent again on a replay: status and JSON body.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Reply {
    pub status: u16,
    pub body: String,
}

/// A resource as clients see it: its JSON text, fields in the view's own order. It is the
/// reply (and so what a replay sends again) and the payload of the operation's outbox event.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Shown(String);

impl Shown {
    /// The JSON of a view.
    pub fn json<V: Serialize>(view: &V) -> Result<Shown, ViewError> {
        Ok(Shown(serde_json::to_string(view)?))
    }

    /// The reply of an operation that answers no body (204): kept as `null`.
    pub fn nothing() -> Shown {
        Shown("null".to_owned())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// How a caller shows an outcome to clients (views live with the HTTP layer).
pub type View<T> = fn(&T) -> Result<Shown, ViewError>;

/// Why a view could not be drawn (a bug, or a stored value that cannot be shown).
pub type ViewError = Box<dyn std::error::Error + Send + Sync>;

/// What a write did: its outcome and the reply it stored, or the reply of the request that
/// used the key first.
#[derive(Debug)]
pub enum Written<T> {
    Fresh { outcome: T, reply: Reply },
    Replayed(Reply),
}

impl<T> Written<T> {
    /// The outcome of a fresh write (`None` for a replay).
    pub fn outcome(&self) -> Option<&T> {
        match self {
            Written::Fresh { outcome, .. } => Some(outcome),
            Written::Replayed(_) => None,
        }
    }
}

/// Why a write's shared tail refused: the key's rules, or storage.
#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    /// The key was used before with a different request.
    #[error("the Idempotency-Key was already used with a different request")]
    KeyReused,
    /// The key's first request has not finished.
    #[error("a request with this Idempotency-Key is still being processed")]
    KeyInFlight,
    /// The outcome could not be shown (a bug, or a stored value that cannot be shown).
    #[error("could not draw the reply")]
    View(#[source] ViewError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Opens the [`Write`] of `request` in the calling operation, or returns from that operation
/// with the reply of the key's first request (`Ok(Written::Replayed(..))`): the one early
/// return every keyed operation shares, so none writes it by hand.
///
/// `begin_or_replay!(open tx, request, signal)` opens it in `tx`, a transaction
/// [`Db::write_direct`] handed over ([`Write::open`]).
macro_rules! begin_or_replay {
    (@answer $begun:expr) => {
        match $begun.await? {
            $crate::write::Begun::Fresh(write) => write,
            $crate::write::Begun::Replayed(reply) => {
                return Ok($crate::write::Written::Replayed(reply));
            }
        }
    };
    (open $tx:expr, $request:expr, $signal:expr) => {
        $crate::write::begin_or_replay!(@answer $crate::write::Write::open($tx, $request, $signal))
    };
    ($db:expr, $request:expr) => {
        $crate::write::begin_or_replay!(@answer $crate::write::Write::begin($db, $request))
    };
}
pub(crate) use begin_or_replay;

/// Runs the rest of a hot write through [`Db::write_direct`] (on SQLite, on the writer's
/// thread): opens its [`Write`] in the transaction handed over, or answers the key's replay,
/// then evaluates `$body` with the write bound to `$write` and the request (an
/// [`OwnedRequest`]'s view, so the body owns everything it reads) to `$request`. `$body` runs
/// inside an `async move` block: it moves what it uses, only runs statements, and its
/// `return` ends the write. Evaluates to the future of the operation's result.
macro_rules! write_direct {
    ($db:expr, $request:expr, |$write:ident, $req:ident| $body:block) => {{
        let owned = $crate::write::OwnedRequest::of($request);
        let signal = $db.events_signal().clone();
        $db.write_direct(move |tx| async move {
            let $req = owned.request();
            #[allow(unused_mut)]
            let mut $write = $crate::write::begin_or_replay!(open tx, $req, &signal);
            let _ = &$req;
            $body
        })
    }};
}
pub(crate) use write_direct;

/// An open business write: its transaction holds the idempotency key (if any) until
/// [`Write::finish`] commits or the `Write` is dropped.
pub struct Write<'r, T = WriteTx> {
    tx: T,
    request: WriteRequest<'r>,
    signal: EventSignal,
}

/// What a write raises after committing outbox events: it wakes this node's relay, which
/// positions them for the stream and the webhooks within milliseconds of the commit.
pub type EventSignal = std::sync::Arc<tokio::sync::Notify>;

/// The signal to raise once `effects` have committed: only if they appended events.
fn announcing<'s>(signal: &'s EventSignal, effects: &Effects) -> Option<&'s EventSignal> {
    (!effects.outbox.is_empty()).then_some(signal)
}

/// What [`Write::begin`] found.
pub enum Begun<'r, T = WriteTx> {
    Fresh(Write<'r, T>),
    /// The key's request was answered before: send this again and do nothing else.
    Replayed(Reply),
}

/// The effects a write leaves besides its own rows: outbox events and audit events.
#[derive(Default)]
pub struct Effects {
    outbox: Vec<(&'static str, Option<StoreId>, Shown)>,
    audit: Vec<NewAuditEvent>,
}

impl Effects {
    pub fn new() -> Effects {
        Effects::default()
    }

    /// An event for the outbox (delivered to webhooks and the event stream) about `store`
    /// (`None`: the whole chain, as a product is), its data the resource as the API shows it.
    pub fn event(
        mut self,
        event_type: &'static str,
        store: Option<StoreId>,
        payload: &Shown,
    ) -> Effects {
        self.outbox.push((event_type, store, payload.clone()));
        self
    }

    /// A link of the audit chain.
    pub fn audit(mut self, event: NewAuditEvent) -> Effects {
        self.audit.push(event);
        self
    }
}

impl<'r> Write<'r> {
    /// Starts the write's transaction and claims its key. A replay answers here, before the
    /// operation checks anything again: the original answer stands.
    pub async fn begin(db: &Db, request: WriteRequest<'r>) -> Result<Begun<'r>, WriteError> {
        Write::claim(db.begin_write().await?, request, db.events_signal()).await
    }
}

impl<'r> Write<'r, DirectTx> {
    /// [`Write::begin`] in `tx`, a transaction [`Db::write_direct`] handed over; `signal` is
    /// the database's [`Db::events_signal`].
    pub async fn open(
        tx: DirectTx,
        request: WriteRequest<'r>,
        signal: &EventSignal,
    ) -> Result<Begun<'r, DirectTx>, WriteError> {
        Write::claim(tx, request, signal).await
    }
}

impl<'r, T: Tx> Write<'r, T> {
    /// Claims the request's key in `tx`; a replay commits and answers.
    async fn claim(
        mut tx: T,
        request: WriteRequest<'r>,
        signal: &EventSignal,
    ) -> Result<Begun<'r, T>, WriteError> {
        if let Some(key) = request.idempotency {
            let claim = idempotency::claim(
                &mut tx,
                &request.actor.actor_id(),
                key.key,
                key.request_hash,
                request.at,
                request.at + retention(),
            )
            .await?;
            match claim {
                Claim::Fresh => {}
                Claim::Replay { status, body } => {
                    // The first request may sit in the same uncommitted batch: the reply is
                    // sent again only once what it describes has committed.
                    tx.commit().await?;
                    return Ok(Begun::Replayed(Reply { status, body }));
                }
                Claim::Mismatch => return Err(WriteError::KeyReused),
                Claim::InFlight => return Err(WriteError::KeyInFlight),
            }
        }
        Ok(Begun::Fresh(Write {
            tx,
            request,
            signal: signal.clone(),
        }))
    }

    /// The transaction, for the operation's own statements.
    pub fn tx(&mut self) -> &mut T {
        &mut self.tx
    }

    /// The write's time: every row it writes, and its audit events, carry this one.
    pub fn at(&self) -> DateTime<Utc> {
        self.request.at
    }

    pub fn actor(&self) -> &'r Actor {
        self.request.actor
    }

    /// An audit event by this write's actor, from its origin, in `store` (or the global chain).
    pub fn audit_event(&self, action: &str, store: Option<StoreId>) -> NewAuditEvent {
        audit_event(self.request.at, self.request.origin, action, store)
            .by(self.request.actor.actor_id())
    }

    /// Writes the effects and commits, keeping no reply: for writes whose request carries no
    /// idempotency key (a keyed request must end with [`Write::finish`]).
    pub async fn commit(mut self, effects: Effects) -> Result<(), WriteError> {
        if self.request.idempotency.is_some() {
            return Err(WriteError::Store(StoreError::corrupt(
                "idempotency",
                "a keyed write must keep its reply",
            )));
        }
        append_effects(&mut self.tx, &effects, self.request.at).await?;
        let raise = announcing(&self.signal, &effects);
        self.tx.commit_raising(raise).await?;
        Ok(())
    }

    /// Keeps `status` and `reply` as the key's reply, writes the effects, and commits.
    pub async fn finish<O>(
        mut self,
        outcome: O,
        effects: Effects,
        status: u16,
        reply: Shown,
    ) -> Result<Written<O>, WriteError> {
        let Shown(body) = reply;
        if let Some(key) = self.request.idempotency {
            idempotency::complete(
                &mut self.tx,
                &self.request.actor.actor_id(),
                key.key,
                status,
                &body,
                self.request.at,
            )
            .await?;
        }
        // Last, right before COMMIT: the audit link takes the store's chain head, which every
        // write of that store waits for until this one commits.
        append_effects(&mut self.tx, &effects, self.request.at).await?;
        let raise = announcing(&self.signal, &effects);
        self.tx.commit_raising(raise).await?;
        Ok(Written::Fresh {
            outcome,
            reply: Reply { status, body },
        })
    }
}

/// An open write nobody signed in asked for ([`AnonymousRequest`]). It holds no idempotency
/// key, so it ends with [`AnonymousWrite::commit`], which keeps no reply; dropping it instead
/// rolls everything back.
pub struct AnonymousWrite<'r> {
    tx: WriteTx,
    request: AnonymousRequest<'r>,
    signal: EventSignal,
}

impl<'r> AnonymousWrite<'r> {
    /// Starts the write's transaction.
    pub async fn begin(
        db: &Db,
        request: AnonymousRequest<'r>,
    ) -> Result<AnonymousWrite<'r>, StoreError> {
        Ok(AnonymousWrite {
            tx: db.begin_write().await?,
            request,
            signal: db.events_signal().clone(),
        })
    }

    /// The transaction, for the operation's own statements.
    pub fn tx(&mut self) -> &mut Conn {
        &mut self.tx
    }

    /// The write's time: every row it writes, and its audit events, carry this one.
    pub fn at(&self) -> DateTime<Utc> {
        self.request.at
    }

    /// An audit event from this write's origin, in `store` (or the global chain). It names no
    /// actor: the operation adds whom it concerns, once known, with `.by(..)`.
    pub fn audit_event(&self, action: &str, store: Option<StoreId>) -> NewAuditEvent {
        audit_event(self.request.at, self.request.origin, action, store)
    }

    /// Writes the effects and commits.
    pub async fn commit(mut self, effects: Effects) -> Result<(), StoreError> {
        append_effects(&mut self.tx, &effects, self.request.at).await?;
        let raise = announcing(&self.signal, &effects);
        Tx::commit_raising(self.tx, raise).await?;
        Ok(())
    }
}

/// How many times a write runs again after a transient failure, at most.
pub const RETRIES: u32 = 3;

/// A domain error that may carry the store error a write failed with.
pub trait StoreFailure {
    fn store_error(&self) -> Option<&StoreError>;
}

impl StoreFailure for WriteError {
    fn store_error(&self) -> Option<&StoreError> {
        match self {
            WriteError::Store(err) => Some(err),
            _ => None,
        }
    }
}

impl StoreFailure for StoreError {
    fn store_error(&self) -> Option<&StoreError> {
        Some(self)
    }
}

/// Each domain's error carries a store error in its `Write` variant.
macro_rules! store_failure_of_write_variant {
    ($($error:ty),* $(,)?) => {$(
        impl StoreFailure for $error {
            fn store_error(&self) -> Option<&StoreError> {
                match self {
                    Self::Write(err) => err.store_error(),
                    _ => None,
                }
            }
        }
    )*};
}

store_failure_of_write_variant!(
    crate::catalog::CatalogError,
    crate::checkout::CheckoutError,
    crate::stock::StockError,
    crate::users::UsersError,
    crate::users::AuthError,
    crate::webhooks::WebhooksError,
);

/// Runs the business operation `operation` (`sale.create`: a literal, which becomes a metric
/// label), and runs it again (up to [`RETRIES`] times, after a short growing pause) while
/// it fails in a way the database says is worth retrying: the transaction was rolled back as a
/// deadlock victim or serialization failure, or its group commit failed. A lost connection is
/// retried only for a keyed write (`keyed`): its commit may have happened, and only the key's
/// replay makes running it again safe.
///
/// Every operation passes through here, so this is where its time is measured
/// (`ringup_db_operation_seconds{operation, outcome}`): from its first read to its last
/// commit, retries included, as its caller waits for it.
pub async fn retrying<T, E, F, Fut>(operation: Operation, keyed: bool, mut run: F) -> Result<T, E>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, E>>,
    E: StoreFailure,
{
    let started = std::time::Instant::now();
    let mut attempt = 0;
    loop {
        let result = run().await;
        let retry = match &result {
            Err(err) if attempt < RETRIES => err
                .store_error()
                .is_some_and(|err| err.is_transient() || (keyed && err.is_unavailable())),
            _ => false,
        };
        if !retry {
            let outcome = match &result {
                Ok(_) => Outcome::Ok,
                Err(err) if err.store_error().is_some() => Outcome::Failed,
                Err(_) => Outcome::Refused,
            };
            meters::operation_timed(operation, outcome, started.elapsed());
            return result;
        }
        attempt += 1;
        meters::write_retried(operation);
        if let Some(err) = result.err().as_ref().and_then(StoreFailure::store_error) {
            tracing::warn!(attempt, operation, error = %err, "transient database failure; running the write again");
        }
        tokio::time::sleep(pause(attempt)).await;
    }
}

/// The pause before attempt `attempt + 1`: 2, 4, 8 ms, plus up to as much again of jitter
/// (from the clock's nanoseconds) so writes that collided do not collide again in step.
fn pause(attempt: u32) -> std::time::Duration {
    let base = 1u64 << attempt.min(6);
    let jitter = u64::from(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or_default(),
    ) % (base * 1000);
    std::time::Duration::from_micros(base * 1000 + jitter)
}

/// An audit event at `at` from `origin`, in `store` (or the global chain), by nobody yet.
fn audit_event(
    at: DateTime<Utc>,
    origin: &Origin,
    action: &str,
    store: Option<StoreId>,
) -> NewAuditEvent {
    NewAuditEvent {
        at: time::to_db(at),
        action: action.to_owned(),
        store_id: store,
        ip: origin.ip.clone(),
        user_agent: origin.user_agent.clone(),
        request_id: origin.request_id.clone(),
        details: serde_json::json!({}),
        ..NewAuditEvent::default()
    }
}

/// Appends a write's outbox events, then its audit events, in its transaction.
async fn append_effects(
    tx: &mut impl Sql,
    effects: &Effects,
    at: DateTime<Utc>,
) -> Result<(), StoreError> {
    for (event_type, store, payload) in &effects.outbox {
        let store = store.map(|s| s.to_string());
        outbox::append_json(tx, event_type, store.as_deref(), payload.as_str(), at).await?;
    }
    for event in &effects.audit {
        audit::append(tx, event).await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::cell::Cell;
    use std::sync::Arc;

    use super::*;

    /// Runs `retrying` on a write that fails with `error()` its first `failures` times, then
    /// succeeds; answers whether it succeeded and how many times it ran.
    async fn run(
        keyed: bool,
        failures: u32,
        error: impl Fn() -> StoreError,
    ) -> (Result<u32, StoreError>, u32) {
        let calls = Cell::new(0);
        let result = retrying("test.run", keyed, || {
            calls.set(calls.get() + 1);
            let outcome = if calls.get() > failures {
                Ok(calls.get())
            } else {
                Err(error())
            };
            std::future::ready(outcome)
        })
        .await;
        (result, calls.get())
    }

    fn batch_failed() -> StoreError {
        StoreError::BatchFailed(Arc::new(sqlx::Error::PoolClosed))
    }

    #[tokio::test]
    async fn a_transient_failure_runs_the_write_again_until_it_succeeds() {
        let (result, calls) = run(false, 2, batch_failed).await;
        assert_eq!((result.ok(), calls), (Some(3), 3));
    }

    #[tokio::test]
    async fn a_write_that_keeps_failing_stops_after_the_last_retry() {
        let (result, calls) = run(true, u32::MAX, batch_failed).await;
        assert!(
            matches!(result, Err(StoreError::BatchFailed(_))),
            "{result:?}"
        );
        assert_eq!(calls, RETRIES + 1);
    }

    #[tokio::test]
    async fn a_refusal_or_a_missing_row_runs_once() {
        let unique = || StoreError::UniqueViolation {
            constraint: Some("tax_classes_name_key".to_owned()),
            source: sqlx::Error::RowNotFound,
        };
        let (result, calls) = run(true, 1, unique).await;
        assert!(matches!(result, Err(StoreError::UniqueViolation { .. })));
        assert_eq!(calls, 1);
        let (result, calls) = run(true, 1, || StoreError::NotFound).await;
        assert!(matches!(result, Err(StoreError::NotFound)));
        assert_eq!(calls, 1);
    }

    #[tokio::test]
    async fn a_lost_connection_runs_again_only_under_a_key() {
        let lost = || StoreError::Unavailable(sqlx::Error::PoolTimedOut);
        let (result, calls) = run(false, 1, lost).await;
        assert!(matches!(result, Err(StoreError::Unavailable(_))));
        assert_eq!(calls, 1);
        let (result, calls) = run(true, 1, lost).await;
        assert_eq!((result.ok(), calls), (Some(2), 2));
    }

    #[tokio::test]
    async fn a_domain_error_carries_its_store_error_to_the_retry() {
        let calls = Cell::new(0);
        let result: Result<(), crate::catalog::CatalogError> = retrying("test.run", false, || {
            calls.set(calls.get() + 1);
            let failed = crate::catalog::CatalogError::from(batch_failed());
            std::future::ready(if calls.get() == 1 {
                Err(failed)
            } else {
                Ok(())
            })
        })
        .await;
        assert!(result.is_ok());
        assert_eq!(calls.get(), 2);
        let refused: Result<(), _> = retrying("test.run", true, || {
            calls.set(calls.get() + 1);
            std::future::ready(Err(crate::catalog::CatalogError::NotFound))
        })
        .await;
        assert!(refused.is_err());
        assert_eq!(calls.get(), 3);
    }

    #[derive(Serialize)]
    struct Backwards {
        zulu: i64,
        alpha: i64,
    }

    #[test]
    fn a_view_keeps_its_field_order() {
        let shown = Shown::json(&Backwards { zulu: 1, alpha: 2 });
        assert_eq!(
            shown.ok().as_ref().map(Shown::as_str),
            Some(r#"{"zulu":1,"alpha":2}"#)
        );
    }
}

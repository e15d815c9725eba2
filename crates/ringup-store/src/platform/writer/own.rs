//! The writer's turns on its own synchronous connection ([`crate::platform::direct`]), and the
//! batch that serves them under one `BEGIN IMMEDIATE` and one `COMMIT`.
//!
//! A turn is one of two kinds. A **run** ([`Writer::run`](super::Writer::run)) hands the
//! writer the write itself: the writer awaits it in place, on its own thread, so the write's
//! statements follow the previous write's with no task to wake and schedule in between. A
//! **lease** lends the connection to a write that runs in its own task and gives it back; it
//! serves the background writes that open their transaction first and decide later.

use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Instant;

use futures::FutureExt;
use tokio::sync::{Notify, mpsc, oneshot};
use tracing::{Instrument, Span};

use super::{Batch, Committed, Connections, Kept, Ticket, Turn, answer, next_of};
use crate::platform::direct;
use crate::platform::error::{StoreError, StoreResult};
use crate::platform::sql::{Row, Sql, Stmt};

/// A write the writer runs itself: given the lease, it runs its statements and ends the
/// lease (kept or dropped) before it completes.
pub(super) type Work =
    Box<dyn FnOnce(DirectLease) -> Pin<Box<dyn Future<Output = ()> + Send>> + Send>;

/// A queued run: the write, and the span of its transaction.
pub(super) struct Run {
    pub(super) work: Work,
    pub(super) span: Span,
}

impl std::fmt::Debug for Run {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Run").field("span", &self.span).finish()
    }
}

/// A turn on the writer's own connection.
#[derive(Debug)]
pub(super) enum OwnTurn {
    Lease(Turn<DirectLease>),
    Run(Run),
}

impl OwnTurn {
    fn span(&self) -> &Span {
        match self {
            OwnTurn::Lease(turn) => &turn.span,
            OwnTurn::Run(run) => &run.span,
        }
    }
}

/// Picks a turn on the writer's own connection out of the queue.
fn own_turn(ticket: Ticket) -> Result<OwnTurn, Ticket> {
    match ticket {
        Ticket::Own(turn) => Ok(turn),
        other => Err(other),
    }
}

/// What a write on the writer's own connection says when its turn ends; the connection comes
/// back with it. A kept write names where to hear of the commit, and what to raise after it.
#[derive(Debug)]
enum DirectVerdict {
    Keep(
        rusqlite::Connection,
        oneshot::Sender<Committed>,
        Option<Arc<Notify>>,
    ),
    Discard(rusqlite::Connection),
}

/// A write's turn on the writer's own synchronous connection, inside the batch transaction
/// and its own savepoint: the connection itself, lent and given back. [`DirectLease::keep`]
/// ends it keeping the work; dropping it undoes the work.
#[derive(Debug)]
pub struct DirectLease {
    conn: Option<rusqlite::Connection>,
    verdict: Option<oneshot::Sender<DirectVerdict>>,
    /// A run's lease: where its caller hears of the commit. Keeping it then returns at once
    /// (the writer, which runs the write, commits after it).
    deferred: Option<oneshot::Sender<Committed>>,
}

impl DirectLease {
    fn conn(&self) -> StoreResult<&rusqlite::Connection> {
        self.conn
            .as_ref()
            .ok_or(StoreError::Unavailable(sqlx::Error::PoolClosed))
    }

    /// Keeps the write's work and, for a lease, waits until its batch has committed; for a
    /// run, returns at once (its caller waits for the commit). `raise` is raised once the
    /// batch has committed.
    pub async fn keep(mut self, raise: Option<Arc<Notify>>) -> StoreResult<()> {
        let closed = || StoreError::Unavailable(sqlx::Error::PoolClosed);
        let (conn, verdict) = (self.conn.take(), self.verdict.take());
        let (Some(conn), Some(verdict)) = (conn, verdict) else {
            return Err(closed());
        };
        if let Some(done) = self.deferred.take() {
            return verdict
                .send(DirectVerdict::Keep(conn, done, raise))
                .map_err(|_| closed());
        }
        let (done, committed) = oneshot::channel();
        verdict
            .send(DirectVerdict::Keep(conn, done, raise))
            .map_err(|_| closed())?;
        match committed.await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(err)) => Err(StoreError::BatchFailed(err)),
            Err(_) => Err(closed()),
        }
    }
}

impl Drop for DirectLease {
    fn drop(&mut self) {
        if let (Some(conn), Some(verdict)) = (self.conn.take(), self.verdict.take()) {
            // The writer waits for this; if it is gone, so is the batch.
            let _ = verdict.send(DirectVerdict::Discard(conn));
        }
    }
}

/// Statements run right here: each is a few microseconds of SQLite, and the write holds the
/// writer's turn anyway.
impl Sql for DirectLease {
    fn is_postgres(&self) -> bool {
        false
    }

    async fn run(&mut self, stmt: Stmt<'_>) -> StoreResult<u64> {
        direct::execute(self.conn()?, stmt)
    }

    async fn rows(&mut self, stmt: Stmt<'_>) -> StoreResult<Vec<Row>> {
        direct::fetch_all(self.conn()?, stmt)
    }
}

/// Makes `work` a [`Run`]: it runs only if its caller still waits (`result` open), with a
/// lease whose commit its caller hears of on `done`, and sends what it returns on `result`.
/// A panic in it loses only that write: its lease, dropped while unwinding, undoes it.
pub(super) fn run_of<T, F, Fut>(
    work: F,
    result: oneshot::Sender<T>,
    done: oneshot::Sender<Committed>,
) -> Work
where
    F: FnOnce(DirectLease) -> Fut + Send + 'static,
    Fut: Future<Output = T> + Send + 'static,
    T: Send + 'static,
{
    Box::new(move |mut lease: DirectLease| {
        Box::pin(async move {
            if result.is_closed() {
                return;
            }
            lease.deferred = Some(done);
            match AssertUnwindSafe(work(lease)).catch_unwind().await {
                Ok(output) => {
                    let _ = result.send(output);
                }
                Err(_) => tracing::error!("a write panicked on the writer; it was undone"),
            }
        })
    })
}

/// `BEGIN IMMEDIATE`; a connection left inside a transaction is rolled back first. It may wait
/// (up to the busy timeout) for another process's lock: the writer's thread is its own.
fn begin(conn: &rusqlite::Connection) -> rusqlite::Result<()> {
    if conn.execute_batch("begin immediate").is_ok() {
        return Ok(());
    }
    let _ = conn.execute_batch("rollback");
    conn.execute_batch("begin immediate")
}

fn commit(conn: &rusqlite::Connection) -> rusqlite::Result<()> {
    let committed = conn.execute_batch("commit");
    if committed.is_err() {
        let _ = conn.execute_batch("rollback");
    }
    committed
}

/// A batch on the writer's own connection: `first`, then every queued turn on it up to
/// `max`, one `BEGIN IMMEDIATE` and one `COMMIT` (which syncs the WAL, right here on the
/// writer's thread).
pub(super) async fn direct_batch(
    connections: &mut Connections,
    first: OwnTurn,
    tickets: &mut mpsc::Receiver<Ticket>,
    max: usize,
    started: Instant,
) -> Batch {
    let mut held = None;
    let mut batch = Batch {
        size: 0,
        started,
        held: None,
    };
    let began = connections
        .take_direct()
        .and_then(|conn| match begin(&conn) {
            Ok(()) => Ok(conn),
            Err(err) => {
                connections.direct = Some(conn);
                Err(direct::sqlx_error(err))
            }
        });
    let mut conn = match began {
        Ok(conn) => conn,
        Err(err) => {
            refuse(first, err);
            return batch;
        }
    };
    let mut kept = Vec::new();
    let mut next = Some(first);
    let mut served = 0;
    while let Some(turn) = next.take() {
        served += 1;
        let span = turn.span().clone();
        match serve(conn, turn).instrument(span.clone()).await {
            Ok((back, keep)) => {
                conn = back;
                kept.extend(keep.map(|(waiter, raise)| Kept {
                    waiter,
                    span,
                    raise,
                }));
            }
            Err((back, err)) => {
                tracing::error!(error = %err, "a write's savepoint could not be closed; the batch is rolled back");
                if let Some(back) = &back {
                    let _ = back.execute_batch("rollback");
                }
                connections.direct = back;
                answer(kept, &Err(Arc::new(err)));
                batch.held = held;
                return batch;
            }
        }
        if served < max {
            next = next_of(tickets, &mut held, own_turn);
        }
    }
    batch.size = kept.len();
    batch.held = held;
    let commit_started = Instant::now();
    let committed = commit(&conn);
    metrics::histogram!("ringup_write_commit_seconds")
        .record(commit_started.elapsed().as_secs_f64());
    connections.direct = Some(conn);
    let outcome = committed.map_err(|err| {
        let err = direct::sqlx_error(err);
        tracing::error!(error = %err, writes = batch.size, "group commit failed; the batch is rolled back");
        Arc::new(err)
    });
    answer(kept, &outcome);
    batch
}

/// Tells a turn that its batch could not begin.
fn refuse(turn: OwnTurn, err: sqlx::Error) {
    match turn {
        OwnTurn::Lease(turn) => {
            let _ = turn.lease.send(Err(err.into()));
        }
        // Dropping the run drops its result sender: its caller hears the writer is gone.
        OwnTurn::Run(run) => {
            tracing::error!(error = %err, "the writer could not begin a batch");
            drop(run);
        }
    }
}

/// What serving one turn left: the connection and, if the write kept its work, where to tell
/// it of the commit and what to raise after it; or the error that ends the batch, with the
/// connection unless it was lost.
type Served = Result<
    (
        rusqlite::Connection,
        Option<(oneshot::Sender<Committed>, Option<Arc<Notify>>)>,
    ),
    (Option<rusqlite::Connection>, sqlx::Error),
>;

/// Serves one turn under its savepoint: runs the write in place, or lends it the connection,
/// and takes the connection back with the write's verdict.
async fn serve(conn: rusqlite::Connection, turn: OwnTurn) -> Served {
    if let Err(err) = conn.execute_batch("savepoint write") {
        if let OwnTurn::Lease(turn) = turn {
            let _ = turn
                .lease
                .send(Err(StoreError::Unavailable(sqlx::Error::PoolClosed)));
        }
        return Err((Some(conn), direct::sqlx_error(err)));
    }
    let (verdict, heard) = oneshot::channel();
    let lease = DirectLease {
        conn: Some(conn),
        verdict: Some(verdict),
        deferred: None,
    };
    match turn {
        // A write that stopped waiting drops the lease it is sent, which discards.
        OwnTurn::Lease(turn) => {
            let _ = turn.lease.send(Ok(lease));
        }
        OwnTurn::Run(run) => (run.work)(lease).await,
    }
    let (conn, keep, close) = match heard.await {
        Ok(DirectVerdict::Keep(conn, waiter, raise)) => {
            (conn, Some((waiter, raise)), "release savepoint write")
        }
        Ok(DirectVerdict::Discard(conn)) => (
            conn,
            None,
            "rollback to savepoint write; release savepoint write",
        ),
        // Only a lease forgotten without being dropped keeps the connection.
        Err(_) => return Err((None, sqlx::Error::WorkerCrashed)),
    };
    match conn.execute_batch(close) {
        Ok(()) => Ok((conn, keep)),
        Err(err) => Err((Some(conn), direct::sqlx_error(err))),
    }
}

/// A passive WAL checkpoint on the writer's own connection, right here on its thread.
pub(super) fn wal_checkpoint(connections: &mut Connections) {
    let Some(conn) = connections.direct.as_ref() else {
        return;
    };
    let started = Instant::now();
    let result = conn.execute_batch("pragma wal_checkpoint(passive)");
    metrics::histogram!("ringup_wal_checkpoint_seconds").record(started.elapsed().as_secs_f64());
    if let Err(err) = result {
        tracing::warn!(error = %err, "WAL checkpoint failed; the next one retries");
    }
}

//! The writer's turns on its own synchronous connection ([`crate::platform::direct`]): the
//! lease that lends the connection itself to a write, and the batch that serves such leases
//! under one `BEGIN IMMEDIATE` and one `COMMIT`.

use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::{mpsc, oneshot};
use tracing::Instrument;

use super::{Batch, Committed, Connections, Kept, Ticket, Turn, answer, direct_ticket, next_of};
use crate::platform::direct;
use crate::platform::error::{StoreError, StoreResult};
use crate::platform::sql::{Row, Sql, Stmt};

/// What a write on the writer's own connection says when its turn ends; the connection comes
/// back with it.
#[derive(Debug)]
enum DirectVerdict {
    Keep(rusqlite::Connection, oneshot::Sender<Committed>),
    Discard(rusqlite::Connection),
}

/// A write's turn on the writer's own synchronous connection, inside the batch transaction
/// and its own savepoint: the connection itself, lent and given back. [`DirectLease::keep`]
/// ends it keeping the work; dropping it undoes the work.
#[derive(Debug)]
pub struct DirectLease {
    conn: Option<rusqlite::Connection>,
    verdict: Option<oneshot::Sender<DirectVerdict>>,
}

impl DirectLease {
    fn conn(&self) -> StoreResult<&rusqlite::Connection> {
        self.conn
            .as_ref()
            .ok_or(StoreError::Unavailable(sqlx::Error::PoolClosed))
    }

    /// Keeps the write's work and waits until its batch has committed.
    pub async fn keep(mut self) -> StoreResult<()> {
        let closed = || StoreError::Unavailable(sqlx::Error::PoolClosed);
        let (conn, verdict) = (self.conn.take(), self.verdict.take());
        let (Some(conn), Some(verdict)) = (conn, verdict) else {
            return Err(closed());
        };
        let (done, committed) = oneshot::channel();
        verdict
            .send(DirectVerdict::Keep(conn, done))
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

/// Statements run right here, on the write's own thread: each is a few microseconds of
/// SQLite, and the write holds the writer's turn anyway.
impl Sql for DirectLease {
    async fn run(&mut self, stmt: Stmt<'_>) -> StoreResult<u64> {
        direct::execute(self.conn()?, stmt)
    }

    async fn rows(&mut self, stmt: Stmt<'_>) -> StoreResult<Vec<Row>> {
        direct::fetch_all(self.conn()?, stmt)
    }
}

/// Runs `work` on the writer's own connection on a blocking thread (a `BEGIN IMMEDIATE` may
/// wait on another process's lock; a `COMMIT` syncs the WAL; a checkpoint syncs the database)
/// and hands the connection back (`None` only if `work` panicked).
pub(super) async fn blocking<T: Send + 'static>(
    conn: rusqlite::Connection,
    work: fn(&rusqlite::Connection) -> rusqlite::Result<T>,
) -> (Option<rusqlite::Connection>, Result<T, sqlx::Error>) {
    let ran = tokio::task::spawn_blocking(move || {
        let result = work(&conn);
        (conn, result)
    })
    .await;
    match ran {
        Ok((conn, result)) => (Some(conn), result.map_err(direct::sqlx_error)),
        Err(err) => (
            None,
            Err(sqlx::Error::WorkerCrashed).inspect_err(|_| {
                tracing::error!(error = %err, "the writer's blocking step stopped");
            }),
        ),
    }
}

/// `BEGIN IMMEDIATE` right here when the file's write lock is free (the usual case: the
/// writer is its only writer), so a batch does not wait for a blocking thread; busy fails at
/// once instead of waiting, and the caller then waits on a blocking thread.
fn begin_now(conn: &rusqlite::Connection, busy_timeout: Duration) -> rusqlite::Result<()> {
    conn.busy_timeout(Duration::ZERO)?;
    let began = conn.execute_batch("begin immediate");
    conn.busy_timeout(busy_timeout)?;
    began
}

fn begin_direct(conn: &rusqlite::Connection) -> rusqlite::Result<()> {
    if conn.execute_batch("begin immediate").is_ok() {
        return Ok(());
    }
    let _ = conn.execute_batch("rollback");
    conn.execute_batch("begin immediate")
}

fn commit_direct(conn: &rusqlite::Connection) -> rusqlite::Result<()> {
    let committed = conn.execute_batch("commit");
    if committed.is_err() {
        let _ = conn.execute_batch("rollback");
    }
    committed
}

/// A batch on the writer's own connection: `first`, then every queued direct write up to
/// `max`, one `BEGIN IMMEDIATE` and one `COMMIT`.
pub(super) async fn direct_batch(
    connections: &mut Connections,
    first: Turn<DirectLease>,
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
    let conn = match connections.take_direct() {
        Ok(conn) => conn,
        Err(err) => {
            let _ = first.lease.send(Err(err.into()));
            return batch;
        }
    };
    let (conn, began) = match begin_now(&conn, connections.opener.busy_timeout) {
        Ok(()) => (Some(conn), Ok(())),
        // Another process holds the file, or the connection is in a bad state: wait for it
        // (up to the busy timeout) off the runtime's threads.
        Err(_) => blocking(conn, begin_direct).await,
    };
    let (Some(mut conn), Ok(())) = (conn, began.as_ref()) else {
        let err = began.err().unwrap_or(sqlx::Error::WorkerCrashed);
        let _ = first.lease.send(Err(err.into()));
        return batch;
    };
    let mut kept = Vec::new();
    let mut next = Some(first);
    let mut served = 0;
    while let Some(turn) = next.take() {
        served += 1;
        let span = turn.span.clone();
        match serve_direct(conn, turn.lease)
            .instrument(span.clone())
            .await
        {
            Ok((back, waiter)) => {
                conn = back;
                kept.extend(waiter.map(|waiter| Kept { waiter, span }));
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
            next = next_of(tickets, &mut held, direct_ticket);
        }
    }
    batch.size = kept.len();
    batch.held = held;
    let commit_started = Instant::now();
    let (conn, committed) = blocking(conn, commit_direct).await;
    metrics::histogram!("ringup_write_commit_seconds")
        .record(commit_started.elapsed().as_secs_f64());
    connections.direct = conn;
    let outcome = committed.map_err(|err| {
        tracing::error!(error = %err, writes = batch.size, "group commit failed; the batch is rolled back");
        Arc::new(err)
    });
    answer(kept, &outcome);
    batch
}

/// What serving one write on the writer's own connection left: the connection and the write's
/// commit waiter (`None`: it undid its work), or the error that ends the batch, with the
/// connection unless it was lost.
type Served = Result<
    (rusqlite::Connection, Option<oneshot::Sender<Committed>>),
    (Option<rusqlite::Connection>, sqlx::Error),
>;

/// Lends the writer's own connection to one write under its savepoint and takes it back.
async fn serve_direct(
    conn: rusqlite::Connection,
    turn: oneshot::Sender<StoreResult<DirectLease>>,
) -> Served {
    if let Err(err) = conn.execute_batch("savepoint write") {
        let _ = turn.send(Err(StoreError::Unavailable(sqlx::Error::PoolClosed)));
        return Err((Some(conn), direct::sqlx_error(err)));
    }
    let (verdict, heard) = oneshot::channel();
    let lease = DirectLease {
        conn: Some(conn),
        verdict: Some(verdict),
    };
    // A write that stopped waiting drops the lease it is sent, which discards.
    let _ = turn.send(Ok(lease));
    let (conn, waiter, close) = match heard.await {
        Ok(DirectVerdict::Keep(conn, waiter)) => (conn, Some(waiter), "release savepoint write"),
        Ok(DirectVerdict::Discard(conn)) => (
            conn,
            None,
            "rollback to savepoint write; release savepoint write",
        ),
        // Only a lease forgotten without being dropped keeps the connection.
        Err(_) => return Err((None, sqlx::Error::WorkerCrashed)),
    };
    match conn.execute_batch(close) {
        Ok(()) => Ok((conn, waiter)),
        Err(err) => Err((Some(conn), direct::sqlx_error(err))),
    }
}

//! SQLite's writer: one thread owns the write connection and runs every business write through
//! it with **group commit**.
//!
//! A write asks for a turn; the writer serves it inside the open batch transaction, under a
//! `SAVEPOINT` of its own. The write runs its statements, then either keeps its work
//! (`RELEASE`) or drops it (`ROLLBACK TO`: a refused sale undoes only itself). The writer then
//! serves the next queued write in the same transaction, up to [`WriterOptions::max_batch`],
//! and commits once: one `BEGIN IMMEDIATE`, one `COMMIT` and one WAL sync for the whole
//! batch. Only then does each kept write learn that it committed, so nothing is answered
//! before it is durable.
//!
//! A turn is served one of three ways:
//! - a **run** ([`Writer::run`], the hot writes through `Db::write_direct`): the write hands
//!   the writer its statements as a future, and the writer awaits it in place on its own
//!   synchronous connection ([`crate::platform::direct`]). One write follows the other with
//!   no task of the server's to wake and schedule in between, so a busy server (HTTP, webhook
//!   deliveries) does not stretch the writer's turns;
//! - a **direct lease** ([`DirectLease`]): the same connection lent to a write that runs in its
//!   own task and gives it back (background writes that open their transaction first);
//! - a **lease** ([`Lease`]) of the pooled sqlx connection, for writes whose store functions
//!   take `&mut AnyConnection`. A queued write of the other connection ends the batch; it
//!   opens the next one.
//!
//! The writer runs on a thread of its own (with a single-threaded runtime for the leases'
//! hand-offs): its COMMITs and WAL checkpoints block that thread only.
//!
//! Invariants:
//! - A write's answer waits for its batch's COMMIT; a failed COMMIT fails every write of the
//!   batch (none was answered, so a retry with the same idempotency key is safe).
//! - A write that ends without keeping its work (a refusal, an error, a cancelled request, a
//!   panic) rolls back to its savepoint: the rest of the batch stands.
//! - The queue is bounded: when it is full a write is refused at once ([`StoreError::Overloaded`],
//!   answered 503 with `Retry-After`) instead of waiting behind an unbounded backlog.
//! - WAL checkpoints run here, between batches and after the batch's writes have their answers,
//!   so no reader's checkpoint competes with a commit and no commit pays for one.
//!
//! Each queued write carries its transaction's span ([`crate::platform::trace`]): the writer
//! serves the write's turn inside it, so its savepoint, and anything logged while it serves
//! the turn, belong to the request that asked for the write; the group commit records on each
//! committed write's span how many writes it committed together.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use sqlx::pool::PoolConnection;
use sqlx::{Any, AnyConnection, AnyPool, Executor};
use tokio::sync::{Mutex, Notify, OwnedMutexGuard, mpsc, oneshot};
use tracing::{Instrument, Span};

use crate::platform::direct::{self, Opener};
use crate::platform::error::{StoreError, StoreResult};
use crate::platform::trace;

mod own;

pub use own::DirectLease;
use own::{OwnTurn, Run, direct_batch, run_of, wal_checkpoint};

/// The name of the writer's thread (as `top -H`, `perf` and `/proc/<pid>/task` show it).
pub const THREAD_NAME: &str = "ringup-writer";

/// How the writer batches and checkpoints.
#[derive(Clone, Copy, Debug)]
pub struct WriterOptions {
    /// Writes waiting for their turn before new ones are refused.
    pub queue: usize,
    /// Writes committed together at most.
    pub max_batch: usize,
    /// Writes committed between two WAL checkpoints (a passive checkpoint, run by the writer
    /// after the batch that reaches this count has its answers).
    pub checkpoint_every: u64,
}

impl Default for WriterOptions {
    fn default() -> Self {
        WriterOptions {
            queue: 1024,
            max_batch: 64,
            checkpoint_every: 512,
        }
    }
}

/// The handle writes queue on. Cheap to clone; the writer task stops when the last handle goes.
#[derive(Clone, Debug)]
pub(crate) struct Writer {
    queue: mpsc::Sender<Ticket>,
    capacity: usize,
    refused: Arc<AtomicU64>,
}

/// The queue's state, for metrics.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct QueueStats {
    /// Writes waiting for their turn now.
    pub depth: usize,
    pub capacity: usize,
    /// Writes refused because the queue was full, since start.
    pub refused: u64,
}

/// How a [`Writer::run`] ended, once its batch was committed: with the write's work kept, or
/// undone (the write dropped its lease: a refusal, an error).
#[derive(Debug)]
pub(crate) enum Ran<T> {
    Committed(T),
    Discarded(T),
}

/// A write waiting for its turn: which connection it wants, and where to send its lease (or,
/// for a run, the write itself).
#[derive(Debug)]
enum Ticket {
    Pooled(Turn<Lease>),
    /// A turn on the writer's own connection: a run or a direct lease.
    Own(OwnTurn),
}

/// Where a write's lease goes, and the span of the write's transaction.
#[derive(Debug)]
struct Turn<L> {
    lease: oneshot::Sender<StoreResult<L>>,
    span: Span,
}

/// A write that kept its work: it waits on `waiter` for its batch's commit, and has `raise`
/// raised once it is durable.
struct Kept {
    waiter: oneshot::Sender<Committed>,
    span: Span,
    raise: Option<Arc<Notify>>,
}

/// Whether a batch committed, as each write that kept its work learns it.
type Committed = Result<(), Arc<sqlx::Error>>;

/// What a write says when its turn ends.
#[derive(Debug)]
enum Verdict {
    /// Keep the work; say on this channel whether the batch committed.
    Keep(oneshot::Sender<Committed>),
    /// Undo the work (roll back to the write's savepoint).
    Discard,
}

/// The batch's connection: the writer and the write whose turn it is take it in turn.
type Shared = Arc<Mutex<PoolConnection<Any>>>;

/// A write's turn on the writer's connection, inside the batch transaction and its own
/// savepoint. [`Lease::keep`] ends it keeping the work; dropping it undoes the work.
#[derive(Debug)]
pub struct Lease {
    conn: OwnedMutexGuard<PoolConnection<Any>>,
    verdict: Option<oneshot::Sender<Verdict>>,
}

impl Lease {
    /// The connection, for the write's statements.
    pub fn conn(&mut self) -> &mut AnyConnection {
        &mut self.conn
    }

    /// The connection, read-only (for `Deref`).
    pub fn conn_ref(&self) -> &AnyConnection {
        &self.conn
    }

    /// Keeps the write's work and waits until its batch has committed.
    pub async fn keep(mut self) -> StoreResult<()> {
        let (done, committed) = oneshot::channel();
        let verdict = self.verdict.take();
        // Giving the connection back first: the writer locks it as soon as it hears the verdict.
        drop(self);
        verdict
            .ok_or(StoreError::Unavailable(sqlx::Error::PoolClosed))?
            .send(Verdict::Keep(done))
            .map_err(|_| StoreError::Unavailable(sqlx::Error::PoolClosed))?;
        match committed.await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(err)) => Err(StoreError::BatchFailed(err)),
            Err(_) => Err(StoreError::Unavailable(sqlx::Error::PoolClosed)),
        }
    }
}

impl Drop for Lease {
    fn drop(&mut self) {
        if let Some(verdict) = self.verdict.take() {
            // The writer waits for this; if it is gone, so is the batch.
            let _ = verdict.send(Verdict::Discard);
        }
    }
}

impl Writer {
    /// Starts the writer on `pool` (one connection) and the connection `opener` opens, on a
    /// thread of its own: its commits sync the WAL there, and the writes it runs in place
    /// ([`Writer::run`]) never wait for the server's tasks to be scheduled.
    pub(crate) fn start(
        pool: AnyPool,
        direct: rusqlite::Connection,
        opener: Opener,
        options: WriterOptions,
    ) -> StoreResult<Writer> {
        let capacity = options.queue.max(1);
        let (queue, tickets) = mpsc::channel(capacity);
        let connections = Connections {
            pool,
            direct: Some(direct),
            opener,
        };
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|err| StoreError::Unavailable(sqlx::Error::Io(err)))?;
        std::thread::Builder::new()
            .name(THREAD_NAME.to_owned())
            .spawn(move || runtime.block_on(serve_batches(connections, tickets, options)))
            .map_err(|err| StoreError::Unavailable(sqlx::Error::Io(err)))?;
        Ok(Writer {
            queue,
            capacity,
            refused: Arc::new(AtomicU64::new(0)),
        })
    }

    /// Runs `work` on the writer's thread, as a turn of a group-committed batch on the
    /// writer's own connection: `work` gets the lease and ends it (kept or dropped) before it
    /// completes. Answers once the batch has committed: what `work` returned if it kept its
    /// work ([`Ran::Committed`]), or if it dropped it ([`Ran::Discarded`]). Waits at most
    /// `timeout` for the write to run, and is refused at once when the queue is full.
    ///
    /// `work` must only run statements on the lease: anything else it waited for would stall
    /// every write behind it.
    pub(crate) async fn run<T, F, Fut>(
        &self,
        timeout: Duration,
        span: Span,
        work: F,
    ) -> StoreResult<Ran<T>>
    where
        F: FnOnce(DirectLease) -> Fut + Send + 'static,
        Fut: Future<Output = T> + Send + 'static,
        T: Send + 'static,
    {
        let (result, output) = oneshot::channel();
        let (done, committed) = oneshot::channel();
        let work = run_of(work, result, done);
        self.queue_up(Ticket::Own(OwnTurn::Run(Run { work, span })))?;
        let output = match tokio::time::timeout(timeout, output).await {
            Ok(Ok(output)) => output,
            Ok(Err(_)) => return Err(StoreError::Unavailable(sqlx::Error::PoolClosed)),
            Err(_) => return Err(StoreError::Unavailable(sqlx::Error::PoolTimedOut)),
        };
        match committed.await {
            Ok(Ok(())) => Ok(Ran::Committed(output)),
            Ok(Err(err)) => Err(StoreError::BatchFailed(err)),
            Err(_) => Ok(Ran::Discarded(output)),
        }
    }

    /// Waits for a turn on the writer's pooled connection, at most `timeout`, for the
    /// transaction of `span`. Refused at once when the queue is full.
    pub(crate) async fn lease(&self, timeout: Duration, span: Span) -> StoreResult<Lease> {
        let (lease, leased) = oneshot::channel();
        self.queue_up(Ticket::Pooled(Turn { lease, span }))?;
        wait_for_turn(leased, timeout).await
    }

    /// Waits for a turn on the writer's own synchronous connection, at most `timeout`, for
    /// the transaction of `span`. Refused at once when the queue is full.
    pub(crate) async fn lease_direct(
        &self,
        timeout: Duration,
        span: Span,
    ) -> StoreResult<DirectLease> {
        let (lease, leased) = oneshot::channel();
        self.queue_up(Ticket::Own(OwnTurn::Lease(Turn { lease, span })))?;
        wait_for_turn(leased, timeout).await
    }

    fn queue_up(&self, ticket: Ticket) -> StoreResult<()> {
        self.queue.try_send(ticket).map_err(|err| match err {
            mpsc::error::TrySendError::Full(_) => {
                self.refused.fetch_add(1, Ordering::Relaxed);
                StoreError::Overloaded
            }
            mpsc::error::TrySendError::Closed(_) => {
                StoreError::Unavailable(sqlx::Error::PoolClosed)
            }
        })
    }

    pub(crate) fn stats(&self) -> QueueStats {
        QueueStats {
            depth: self.capacity.saturating_sub(self.queue.capacity()),
            capacity: self.capacity,
            refused: self.refused.load(Ordering::Relaxed),
        }
    }
}

async fn wait_for_turn<L>(
    leased: oneshot::Receiver<StoreResult<L>>,
    timeout: Duration,
) -> StoreResult<L> {
    match tokio::time::timeout(timeout, leased).await {
        Ok(Ok(lease)) => lease,
        Ok(Err(_)) => Err(StoreError::Unavailable(sqlx::Error::PoolClosed)),
        Err(_) => Err(StoreError::Unavailable(sqlx::Error::PoolTimedOut)),
    }
}

/// The writer's two connections to the file.
struct Connections {
    pool: AnyPool,
    /// Lent out during a write's turn and given back with its verdict; `None` only after it
    /// was lost (a write task that never gave it back), and then opened again.
    direct: Option<rusqlite::Connection>,
    opener: Opener,
}

impl Connections {
    fn take_direct(&mut self) -> Result<rusqlite::Connection, sqlx::Error> {
        match self.direct.take() {
            Some(conn) => Ok(conn),
            None => self.opener.open().map_err(direct::sqlx_error),
        }
    }
}

/// How a batch ended.
struct Batch {
    /// Writes committed (or failed) together.
    size: usize,
    started: Instant,
    /// A queued write of the other kind, which opens the next batch.
    held: Option<Ticket>,
}

/// The writer's loop: one batch after another until every handle is gone.
async fn serve_batches(
    mut connections: Connections,
    mut tickets: mpsc::Receiver<Ticket>,
    options: WriterOptions,
) {
    let mut since_checkpoint = 0u64;
    let mut held = None;
    loop {
        let first = match held.take() {
            Some(ticket) => ticket,
            None => match tickets.recv().await {
                Some(ticket) => ticket,
                None => break,
            },
        };
        let started = Instant::now();
        let mut checkpoint = false;
        let batch = match first {
            Ticket::Pooled(turn) => {
                pooled_batch(
                    &connections.pool,
                    turn,
                    &mut tickets,
                    options.max_batch,
                    started,
                )
                .await
            }
            Ticket::Own(turn) => {
                direct_batch(
                    &mut connections,
                    turn,
                    &mut tickets,
                    options.max_batch,
                    started,
                )
                .await
            }
        };
        held = batch.held;
        if batch.size > 0 {
            metrics::histogram!("ringup_write_batch_size").record(batch.size as f64);
            metrics::histogram!("ringup_write_batch_seconds")
                .record(batch.started.elapsed().as_secs_f64());
            since_checkpoint += batch.size as u64;
            checkpoint = since_checkpoint >= options.checkpoint_every;
        }
        if checkpoint {
            since_checkpoint = 0;
            wal_checkpoint(&mut connections);
        }
    }
}

/// The next queued write for this batch, if it is of the same kind; one of the other kind is
/// handed back as `held`.
fn next_of<T>(
    tickets: &mut mpsc::Receiver<Ticket>,
    held: &mut Option<Ticket>,
    pick: fn(Ticket) -> Result<T, Ticket>,
) -> Option<T> {
    match pick(tickets.try_recv().ok()?) {
        Ok(turn) => Some(turn),
        Err(other) => {
            *held = Some(other);
            None
        }
    }
}

fn pooled_ticket(ticket: Ticket) -> Result<Turn<Lease>, Ticket> {
    match ticket {
        Ticket::Pooled(turn) => Ok(turn),
        other => Err(other),
    }
}

/// Tells every kept write how its batch ended, and with how many writes.
fn answer(kept: Vec<Kept>, outcome: &Committed) {
    let writes = kept.len();
    for Kept {
        waiter,
        span,
        raise,
    } in kept
    {
        trace::record_batch_size(&span, writes);
        if let (Some(raise), Ok(())) = (raise, outcome) {
            raise.notify_one();
        }
        let _ = waiter.send(outcome.clone());
    }
}

/// A batch on the pooled connection: `first`, then every queued pooled write up to `max`.
async fn pooled_batch(
    pool: &AnyPool,
    first: Turn<Lease>,
    tickets: &mut mpsc::Receiver<Ticket>,
    max: usize,
    started: Instant,
) -> Batch {
    let mut held = None;
    let conn = match pool.acquire().await {
        Ok(conn) => Arc::new(Mutex::new(conn)),
        Err(err) => {
            let _ = first.lease.send(Err(err.into()));
            return Batch {
                size: 0,
                started,
                held,
            };
        }
    };
    let kept = pooled_writes(&conn, first, tickets, &mut held, max).await;
    let Some(kept) = kept else {
        return Batch {
            size: 0,
            started,
            held,
        };
    };
    let size = kept.len();
    let mut conn = conn.lock().await;
    let outcome = match conn.execute("commit").await {
        Ok(_) => Ok(()),
        Err(err) => {
            tracing::error!(error = %err, writes = size, "group commit failed; the batch is rolled back");
            let _ = conn.execute("rollback").await;
            Err(Arc::new(err))
        }
    };
    answer(kept, &outcome);
    Batch {
        size,
        started,
        held,
    }
}

/// Opens the batch transaction and serves `first`, then every queued pooled write up to `max`.
/// Returns the commit waiters of the writes that kept their work, or `None` when the batch had
/// to be abandoned (rolled back, its writes told so).
async fn pooled_writes(
    conn: &Shared,
    first: Turn<Lease>,
    tickets: &mut mpsc::Receiver<Ticket>,
    held: &mut Option<Ticket>,
    max: usize,
) -> Option<Vec<Kept>> {
    if let Err(err) = begin(&mut *conn.lock().await).await {
        let _ = first.lease.send(Err(err.into()));
        return None;
    }
    let mut kept = Vec::new();
    let mut next = Some(first);
    let mut served = 0;
    while let Some(turn) = next.take() {
        served += 1;
        let span = turn.span.clone();
        match serve(conn, turn.lease).instrument(span.clone()).await {
            Ok(Some(waiter)) => kept.push(Kept {
                waiter,
                span,
                raise: None,
            }),
            Ok(None) => {}
            Err(err) => {
                tracing::error!(error = %err, "a write's savepoint could not be closed; the batch is rolled back");
                let _ = conn.lock().await.execute("rollback").await;
                answer(kept, &Err(Arc::new(err)));
                return None;
            }
        }
        if served < max {
            next = next_of(tickets, held, pooled_ticket);
        }
    }
    Some(kept)
}

/// `BEGIN IMMEDIATE`; a connection left inside a transaction (a writer task cancelled mid-batch
/// at shutdown) is rolled back first.
async fn begin(conn: &mut AnyConnection) -> Result<(), sqlx::Error> {
    if conn.execute("begin immediate").await.is_ok() {
        return Ok(());
    }
    let _ = conn.execute("rollback").await;
    conn.execute("begin immediate").await.map(drop)
}

/// Lends the pooled connection to one write under its savepoint and takes it back. `Some`: the
/// write kept its work and waits for the commit on the sender; `None`: it undid it (or stopped
/// waiting for its turn).
async fn serve(
    conn: &Shared,
    turn: oneshot::Sender<StoreResult<Lease>>,
) -> Result<Option<oneshot::Sender<Committed>>, sqlx::Error> {
    if let Err(err) = conn.lock().await.execute("savepoint write").await {
        let _ = turn.send(Err(StoreError::Unavailable(sqlx::Error::PoolClosed)));
        return Err(err);
    }
    let (verdict, heard) = oneshot::channel();
    let lease = Lease {
        conn: conn.clone().lock_owned().await,
        verdict: Some(verdict),
    };
    // A write that stopped waiting drops the lease it is sent, which discards.
    let _ = turn.send(Ok(lease));
    let verdict = heard.await.unwrap_or(Verdict::Discard);
    // The lease gave the connection back before its verdict arrived (or as it was dropped).
    let mut conn = conn.lock().await;
    match verdict {
        Verdict::Keep(waiter) => {
            conn.execute("release savepoint write").await?;
            Ok(Some(waiter))
        }
        Verdict::Discard => {
            conn.execute("rollback to savepoint write").await?;
            conn.execute("release savepoint write").await?;
            Ok(None)
        }
    }
}

#[cfg(test)]
mod tests;

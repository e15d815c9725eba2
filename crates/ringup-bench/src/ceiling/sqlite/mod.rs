//! SQLite, the fastest way it allows: one writer thread owns a rusqlite connection (WAL,
//! foreign keys on, every statement a cached prepared statement) and runs whole sale
//! transactions, fed by a bounded channel from the load tasks; each sale is answered through
//! a oneshot once its transaction has committed.
//!
//! Four modes: `synchronous = NORMAL` or `FULL`, each with one sale per transaction (`BEGIN
//! IMMEDIATE` … `COMMIT`) or group commit (the writer takes up to [`GROUP`] queued sales into
//! one transaction, each in its own `SAVEPOINT`, released or rolled back to on refusal, then
//! one `COMMIT`, then every answer). A refused sale answers an error and leaves nothing.
//!
//! As the server does, the writer never checkpoints inside a commit (`wal_autocheckpoint` is
//! only a safety net); a second connection on its own thread runs a passive checkpoint every
//! second.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result, anyhow};
use rusqlite::Connection;
use tokio::sync::{mpsc, oneshot};

use self::sale::{Refusal, Texts, sale};
use super::job::SaleJob;
use crate::checkout::World;
use crate::common::{Outcome, run_load};

mod sale;

/// The most queued sales one group-commit transaction takes.
pub(super) const GROUP: usize = 32;

/// How the writer makes sales durable and how many share a transaction.
#[derive(Clone, Copy, Debug)]
pub(super) struct Mode {
    pub(super) full: bool,
    pub(super) group: bool,
}

/// The four modes, in the order they are measured.
pub(super) const MODES: [Mode; 4] = [
    Mode {
        full: false,
        group: false,
    },
    Mode {
        full: true,
        group: false,
    },
    Mode {
        full: false,
        group: true,
    },
    Mode {
        full: true,
        group: true,
    },
];

impl Mode {
    pub(super) fn label(self) -> String {
        format!(
            "synchronous={}, {}",
            if self.full { "FULL" } else { "NORMAL" },
            if self.group {
                format!("group commit (≤ {GROUP} sales per transaction, a savepoint each)")
            } else {
                "one sale per transaction".to_owned()
            }
        )
    }
}

/// What the writer did: transactions committed and sales made in them.
#[derive(Clone, Copy, Debug, Default)]
pub(super) struct WriterStats {
    pub(super) transactions: u64,
    pub(super) sales: u64,
}

/// A sale waiting for the writer, and where its answer goes.
struct Pending {
    job: SaleJob,
    reply: oneshot::Sender<Result<String, Refusal>>,
}

/// Runs the load against a fresh writer in `mode`: `concurrency` tasks, the warm-up, then
/// `duration` measured.
pub(super) async fn measure_mode(
    path: &Path,
    mode: Mode,
    world: &Arc<World>,
    concurrency: usize,
    duration: Duration,
) -> Result<(Outcome, WriterStats)> {
    let (sender, jobs) = mpsc::channel::<Pending>(concurrency.max(1));
    let (ready, opened) = oneshot::channel();
    let writer = {
        let path = path.to_owned();
        std::thread::Builder::new()
            .name("ceiling-writer".to_owned())
            .spawn(move || write_loop(&path, mode, jobs, ready))
            .context("start the writer thread")?
    };
    opened
        .await
        .context("the writer thread stopped")?
        .map_err(|e| anyhow!("the writer's connection to {}: {e}", path.display()))?;
    let checkpointer = Checkpointer::start(path)?;

    let world = Arc::clone(world);
    let outcome = run_load(concurrency, duration, move |task, rng| {
        let job = SaleJob::random(&world, task, rng);
        let sender = sender.clone();
        async move {
            let (reply, answer) = oneshot::channel();
            sender
                .send(Pending { job: job?, reply })
                .await
                .map_err(|_| anyhow!("the writer thread stopped"))?;
            answer
                .await
                .context("the writer dropped the sale")?
                .map_err(|refusal| anyhow!("sale refused: {refusal}"))?;
            Ok(())
        }
    })
    .await;
    // The load's closure, and with it the last sender, is gone: the writer drains and stops.
    let stats = tokio::task::spawn_blocking(move || writer.join())
        .await?
        .map_err(|_| anyhow!("the writer thread panicked"))?;
    checkpointer.stop()?;
    Ok((outcome?, stats))
}

/// The writer's connection, set up as the server sets up its own (plus `synchronous`).
fn open(path: &Path, full: bool) -> rusqlite::Result<Connection> {
    let conn = Connection::open(path)?;
    conn.busy_timeout(Duration::from_secs(5))?;
    let journal: String = conn.query_row("pragma journal_mode = wal", [], |r| r.get(0))?;
    if !journal.eq_ignore_ascii_case("wal") {
        return Err(rusqlite::Error::InvalidParameterName(format!(
            "journal_mode is {journal}, not wal"
        )));
    }
    conn.execute_batch(if full {
        "pragma synchronous = full"
    } else {
        "pragma synchronous = normal"
    })?;
    conn.execute_batch("pragma foreign_keys = on; pragma wal_autocheckpoint = 16384")?;
    // Every shape of every statement (1–5 lines, 1–2 payments) stays prepared.
    conn.set_prepared_statement_cache_capacity(256);
    Ok(conn)
}

/// The writer thread: opens its connection, says so through `ready`, then serves sales until
/// every sender is gone.
fn write_loop(
    path: &Path,
    mode: Mode,
    mut jobs: mpsc::Receiver<Pending>,
    ready: oneshot::Sender<Result<(), String>>,
) -> WriterStats {
    let conn = match open(path, mode.full) {
        Ok(conn) => conn,
        Err(e) => {
            let _ = ready.send(Err(e.to_string()));
            return WriterStats::default();
        }
    };
    let _ = ready.send(Ok(()));
    let mut texts = Texts::new();
    let mut stats = WriterStats::default();
    let mut batch = Vec::with_capacity(GROUP);
    while let Some(first) = jobs.blocking_recv() {
        batch.push(first);
        while mode.group && batch.len() < GROUP {
            match jobs.try_recv() {
                Ok(next) => batch.push(next),
                Err(_) => break,
            }
        }
        let answers = transaction(&conn, &mut texts, &batch, mode.group);
        let made = answers.iter().filter(|a| a.is_ok()).count();
        if made > 0 {
            stats.transactions += 1;
            stats.sales += made as u64;
        }
        for (pending, answer) in batch.drain(..).zip(answers) {
            let _ = pending.reply.send(answer);
        }
    }
    stats
}

/// Runs `batch` in one transaction, each sale in a savepoint when `savepoints` (group
/// commit); answers are sent only after the commit, so no sale is answered before it is
/// durable as the mode makes it.
fn transaction(
    conn: &Connection,
    texts: &mut Texts,
    batch: &[Pending],
    savepoints: bool,
) -> Vec<Result<String, Refusal>> {
    let all_fail = |why: String| -> Vec<Result<String, Refusal>> {
        batch.iter().map(|_| Err(why.clone())).collect()
    };
    if let Err(e) = run(conn, "begin immediate") {
        return all_fail(format!("begin: {e}"));
    }
    let mut answers = Vec::with_capacity(batch.len());
    for pending in batch {
        if savepoints && let Err(e) = run(conn, "savepoint sale") {
            let _ = run(conn, "rollback");
            return all_fail(format!("savepoint: {e}"));
        }
        let answer = match sale(conn, texts, &pending.job) {
            Ok(made) => made,
            Err(e) => Err(format!("sqlite: {e}")),
        };
        if savepoints {
            let undone = match answer {
                Ok(_) => Ok(()),
                Err(_) => run(conn, "rollback to sale"),
            };
            if let Err(e) = undone.and_then(|()| run(conn, "release sale")) {
                let _ = run(conn, "rollback");
                return all_fail(format!("savepoint: {e}"));
            }
        }
        answers.push(answer);
    }
    if !savepoints && answers.iter().any(Result::is_err) {
        let _ = run(conn, "rollback");
        return answers;
    }
    match run(conn, "commit") {
        Ok(()) => answers,
        Err(e) => {
            let _ = run(conn, "rollback");
            all_fail(format!("commit: {e}"))
        }
    }
}

/// Runs a statement that returns no rows, prepared once.
fn run(conn: &Connection, sql: &str) -> rusqlite::Result<()> {
    conn.prepare_cached(sql)?.execute([])?;
    Ok(())
}

/// A passive WAL checkpoint every second on a connection of its own, as the server's
/// `Db::checkpoint` does, so the writer's commits never copy the WAL back themselves.
struct Checkpointer {
    stop: std::sync::mpsc::Sender<()>,
    thread: std::thread::JoinHandle<()>,
}

impl Checkpointer {
    fn start(path: &Path) -> Result<Checkpointer> {
        let conn = Connection::open(path).context("the checkpointer's connection")?;
        conn.busy_timeout(Duration::from_secs(5))?;
        let (stop, stopped) = std::sync::mpsc::channel::<()>();
        let thread = std::thread::Builder::new()
            .name("ceiling-checkpoint".to_owned())
            .spawn(move || {
                while let Err(std::sync::mpsc::RecvTimeoutError::Timeout) =
                    stopped.recv_timeout(Duration::from_secs(1))
                {
                    let _ = conn.query_row("pragma wal_checkpoint(passive)", [], |_| Ok(()));
                }
            })
            .context("start the checkpointer thread")?;
        Ok(Checkpointer { stop, thread })
    }

    fn stop(self) -> Result<()> {
        let _ = self.stop.send(());
        self.thread
            .join()
            .map_err(|_| anyhow!("the checkpointer thread panicked"))
    }
}

/// The SQLite file a `sqlite://` URL names.
pub(super) fn path_of(url: &ringup_store::DatabaseUrl) -> Result<PathBuf> {
    url.sqlite_path()
        .with_context(|| format!("{url} names no SQLite file"))
}

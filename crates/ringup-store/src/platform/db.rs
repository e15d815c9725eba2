//! The database handle: which engine, the pools, and the few places where the engines differ.
//!
//! Invariants:
//! - On SQLite every write goes through the writer ([`crate::platform::writer`]): one
//!   connection, writes queued in a bounded queue and group-committed, each in its own
//!   savepoint of a `BEGIN IMMEDIATE` batch. Reads use a separate pool of read connections (WAL
//!   lets them run beside the writer). The writer's connection syncs every commit
//!   (`synchronous = full`) unless [`Durability::Normal`] is chosen.
//! - On PostgreSQL writes run on their own pool, reads on another; write transactions are plain
//!   `BEGIN`.
//! - A [`DatabaseUrl`] never prints its password (`Debug` and `Display` redact it).

use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;
use std::sync::{Arc, Once};
use std::time::Duration;

use futures::future::BoxFuture;
use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::pool::PoolConnectionMetadata;
use sqlx::{AnyConnection, AnyPool, Executor, Transaction};
use url::Url;

use crate::platform::direct::{self, Opener};
use crate::platform::error::{StoreError, StoreResult};
use crate::platform::trace::{self, Connection, TxSpan};
use crate::platform::tx::DirectTx;
use crate::platform::writer::{Lease, QueueStats, Ran, Writer, WriterOptions};

/// A connection of the read pool ([`Db::read_conn`]).
pub type ReadConn = sqlx::pool::PoolConnection<sqlx::Any>;

/// The two engines ringup runs on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Engine {
    Sqlite,
    Postgres,
}

impl Engine {
    pub fn name(self) -> &'static str {
        match self {
            Engine::Sqlite => "sqlite",
            Engine::Postgres => "postgres",
        }
    }
}

/// A validated database URL: `sqlite://<path>` or `postgres://…` / `postgresql://…`.
#[derive(Clone, PartialEq, Eq)]
pub struct DatabaseUrl {
    url: Url,
    engine: Engine,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum DatabaseUrlError {
    #[error("not a URL: {0}")]
    Syntax(String),
    #[error("unknown database scheme `{0}` (expected sqlite:// or postgres://)")]
    Scheme(String),
    #[error("a sqlite:// URL needs a file path")]
    MissingPath,
}

impl DatabaseUrl {
    pub fn parse(raw: &str) -> Result<Self, DatabaseUrlError> {
        let url = Url::parse(raw).map_err(|e| DatabaseUrlError::Syntax(e.to_string()))?;
        let engine = match url.scheme() {
            "sqlite" => Engine::Sqlite,
            "postgres" | "postgresql" => Engine::Postgres,
            other => return Err(DatabaseUrlError::Scheme(other.to_owned())),
        };
        let this = DatabaseUrl { url, engine };
        if engine == Engine::Sqlite && this.sqlite_path().is_none() {
            return Err(DatabaseUrlError::MissingPath);
        }
        Ok(this)
    }

    /// The URL of a SQLite database file.
    pub fn sqlite_file(path: &std::path::Path) -> Result<Self, DatabaseUrlError> {
        Self::parse(&format!("sqlite://{}", path.display()))
    }

    pub fn engine(&self) -> Engine {
        self.engine
    }

    /// The file of a `sqlite://` URL (`sqlite://./data/x.db`, `sqlite:///abs/x.db`).
    pub fn sqlite_path(&self) -> Option<PathBuf> {
        if self.engine != Engine::Sqlite {
            return None;
        }
        let rest = self.url.as_str().strip_prefix("sqlite://")?;
        let path = rest.split('?').next().unwrap_or_default();
        (!path.is_empty() && path != ":memory:").then(|| PathBuf::from(path))
    }

    /// The full URL, password included: for connecting only, never for printing.
    pub fn expose(&self) -> &str {
        self.url.as_str()
    }

    /// The same server with another database name (PostgreSQL), for tests and tooling.
    pub fn with_database(&self, name: &str) -> Self {
        let mut url = self.url.clone();
        url.set_path(&format!("/{name}"));
        DatabaseUrl {
            url,
            engine: self.engine,
        }
    }

    /// The database name of a PostgreSQL URL.
    pub fn database_name(&self) -> Option<&str> {
        self.url
            .path()
            .strip_prefix('/')
            .filter(|name| !name.is_empty())
    }

    fn redacted(&self) -> String {
        let mut url = self.url.clone();
        if url.password().is_some() {
            // Setting a password only fails for URLs that cannot have one, which this has.
            let _ = url.set_password(Some("***"));
        }
        url.to_string()
    }
}

impl FromStr for DatabaseUrl {
    type Err = DatabaseUrlError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl fmt::Display for DatabaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.redacted())
    }
}

impl fmt::Debug for DatabaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("DatabaseUrl")
            .field(&self.redacted())
            .finish()
    }
}

/// Pool and timeout settings.
#[derive(Clone, Debug)]
pub struct DbOptions {
    /// Read connections on SQLite; all connections on PostgreSQL.
    pub max_connections: u32,
    /// How long a request waits for a connection before the database counts as unavailable.
    pub acquire_timeout: Duration,
    /// How long a SQLite connection waits on a lock held by another process.
    pub busy_timeout: Duration,
    /// When an answered SQLite write is safe (PostgreSQL: its server's own settings).
    pub durability: Durability,
    /// SQLite's writer: queue, batch and checkpoint sizes.
    pub writer: WriterOptions,
}

impl Default for DbOptions {
    fn default() -> Self {
        DbOptions {
            max_connections: 8,
            acquire_timeout: Duration::from_secs(10),
            busy_timeout: Duration::from_secs(5),
            durability: Durability::Full,
            writer: WriterOptions::default(),
        }
    }
}

/// What survives what, for SQLite writes that were answered.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Durability {
    /// `synchronous = full`: every batch's WAL is synced before its writes are answered, so an
    /// answered sale survives a power cut as well as a crash. The default.
    Full,
    /// `synchronous = normal`: the WAL is synced only at checkpoints. An answered write
    /// survives a crash of ringup, but a power cut or an operating-system crash can lose the
    /// last writes that were already answered.
    Normal,
}

impl Durability {
    pub(crate) fn pragma(self) -> &'static str {
        match self {
            Durability::Full => "pragma synchronous = full",
            Durability::Normal => "pragma synchronous = normal",
        }
    }
}

impl FromStr for Durability {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "full" => Ok(Durability::Full),
            "normal" => Ok(Durability::Normal),
            other => Err(format!("`{other}` is not `full` or `normal`")),
        }
    }
}

/// Sizes of the pools, for metrics.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PoolStats {
    pub name: &'static str,
    pub size: u32,
    pub idle: usize,
    pub max: u32,
}

/// The database: engine plus pools. Cheap to clone.
#[derive(Clone, Debug)]
pub struct Db {
    engine: Engine,
    read: AnyPool,
    write: AnyPool,
    /// SQLite's writer (none on PostgreSQL).
    writer: Option<Writer>,
    acquire_timeout: Duration,
    /// Raised after a write that appended outbox events commits: wakes this node's relay.
    events: Arc<tokio::sync::Notify>,
}

/// The one transaction of a business write, from [`Db::begin_write`]: it derefs to the
/// connection its statements run on. End it with [`WriteTx::commit`]; dropping it rolls back.
#[derive(Debug)]
pub struct WriteTx(Open, TxSpan);

#[derive(Debug)]
enum Open {
    /// PostgreSQL: a transaction of its own.
    Tx(Transaction<'static, sqlx::Any>),
    /// SQLite: a turn on the writer, inside a group-committed batch.
    Lease(Lease),
}

impl WriteTx {
    /// Commits: on SQLite, keeps the write in its batch and returns once the batch committed.
    pub async fn commit(self) -> StoreResult<()> {
        let WriteTx(open, span) = self;
        let committed = match open {
            Open::Tx(tx) => tx.commit().await.map_err(StoreError::from),
            Open::Lease(lease) => lease.keep().await,
        };
        span.finish(&committed);
        committed
    }
}

impl std::ops::Deref for WriteTx {
    type Target = AnyConnection;
    fn deref(&self) -> &AnyConnection {
        match &self.0 {
            Open::Tx(tx) => tx,
            Open::Lease(lease) => lease.conn_ref(),
        }
    }
}

impl std::ops::DerefMut for WriteTx {
    fn deref_mut(&mut self) -> &mut AnyConnection {
        match &mut self.0 {
            Open::Tx(tx) => tx,
            Open::Lease(lease) => lease.conn(),
        }
    }
}

static SQLITE_MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");
static POSTGRES_MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/postgres");

fn install_drivers() {
    static ONCE: Once = Once::new();
    ONCE.call_once(sqlx::any::install_default_drivers);
}

impl Db {
    /// Opens the pools. For SQLite the file (and its directory) is created if missing and the
    /// journal is switched to WAL. Connecting fails fast when the server cannot be reached.
    pub async fn connect(url: &DatabaseUrl, options: &DbOptions) -> StoreResult<Db> {
        install_drivers();
        match url.engine() {
            Engine::Sqlite => Self::connect_sqlite(url, options).await,
            Engine::Postgres => Self::connect_postgres(url, options).await,
        }
    }

    async fn connect_sqlite(url: &DatabaseUrl, options: &DbOptions) -> StoreResult<Db> {
        let mut connect_url = url.url.clone();
        connect_url
            .query_pairs_mut()
            .clear()
            .append_pair("mode", "rwc");
        let connect = AnyConnectOptions::from_str(connect_url.as_str())?;
        let busy_ms = options.busy_timeout.as_millis();
        let options_durability = options.durability;
        let write = AnyPoolOptions::new()
            .max_connections(1)
            .min_connections(1)
            .acquire_timeout(options.acquire_timeout)
            .idle_timeout(None)
            .max_lifetime(None)
            .after_connect(move |conn, meta| {
                sqlite_session(conn, meta, busy_ms, Some(options_durability))
            })
            .connect_with(connect.clone())
            .await?;
        // WAL is a property of the file: set it once through the writer, before readers open.
        sqlx::query("pragma journal_mode = wal")
            .execute(&write)
            .await?;
        let read = AnyPoolOptions::new()
            .max_connections(options.max_connections.max(1))
            .acquire_timeout(options.acquire_timeout)
            .after_connect(move |conn, meta| sqlite_session(conn, meta, busy_ms, None))
            .connect_with(connect)
            .await?;
        let opener =
            Opener {
                path: url.sqlite_path().ok_or(StoreError::Unavailable(
                    sqlx::Error::Configuration("a sqlite:// URL needs a file path".into()),
                ))?,
                busy_timeout: options.busy_timeout,
                durability: options.durability,
            };
        let direct = opener.open().map_err(direct::store_error)?;
        Ok(Db {
            engine: Engine::Sqlite,
            read,
            writer: Some(Writer::start(
                write.clone(),
                direct,
                opener,
                options.writer,
            )?),
            write,
            acquire_timeout: options.acquire_timeout,
            events: Arc::default(),
        })
    }

    async fn connect_postgres(url: &DatabaseUrl, options: &DbOptions) -> StoreResult<Db> {
        let connect = AnyConnectOptions::from_str(url.expose())?;
        // One direct attempt first: the pool would retry a refused connection until its
        // acquire timeout and then report only "pool timed out"; this fails fast and says why.
        let probe = tokio::time::timeout(
            options.acquire_timeout,
            <AnyConnection as sqlx::Connection>::connect_with(&connect),
        )
        .await
        .map_err(|_| StoreError::Unavailable(sqlx::Error::PoolTimedOut))?;
        let probe = probe.map_err(StoreError::Unavailable)?;
        let _ = sqlx::Connection::close(probe).await;
        // Two pools, as on SQLite: reads (validation before a sale, lists, reports) never
        // queue behind write transactions that hold their connections while they wait on row
        // locks — the checkout bench measured that queue as most of the HTTP overhead.
        let pool = || {
            AnyPoolOptions::new()
                .max_connections(options.max_connections.max(1))
                .acquire_timeout(options.acquire_timeout)
                // A health check per checkout costs a round trip; broken connections surface
                // as errors on use and are replaced by the pool.
                .test_before_acquire(false)
        };
        let write = pool().connect_with(connect.clone()).await?;
        let read = pool().connect_with(connect).await?;
        Ok(Db {
            engine: Engine::Postgres,
            read,
            write,
            writer: None,
            acquire_timeout: options.acquire_timeout,
            events: Arc::default(),
        })
    }

    pub fn engine(&self) -> Engine {
        self.engine
    }

    /// Whether a read costs a network round trip (PostgreSQL), so that independent reads are
    /// worth running side by side on several read connections. On SQLite a read is CPU in
    /// this process, and side by side on two cores was measured slower.
    pub fn reads_are_round_trips(&self) -> bool {
        self.engine == Engine::Postgres
    }

    /// The pool for reads. On SQLite its connections are read-only.
    pub fn reader(&self) -> &AnyPool {
        &self.read
    }

    /// A read connection, for several reads in a row.
    pub async fn read_conn(&self) -> StoreResult<ReadConn> {
        Ok(self.read.acquire().await?)
    }

    /// What a write that appended outbox events raises after its commit, and what the relay
    /// waits on ([`crate::events::relay`]). A raise with nobody waiting is kept for the next
    /// wait, so none is lost.
    pub fn events_signal(&self) -> &Arc<tokio::sync::Notify> {
        &self.events
    }

    /// Starts the one transaction of a business write. Commit it, or it rolls back on drop.
    /// On SQLite it waits for its turn on the writer, and is refused at once with
    /// [`StoreError::Overloaded`] when the writer's queue is full.
    pub async fn begin_write(&self) -> StoreResult<WriteTx> {
        let (open, span) = match &self.writer {
            Some(writer) => {
                let span = TxSpan::begin(self.engine, Connection::Writer);
                let lease = writer.lease(self.acquire_timeout, span.span().clone());
                span.began(lease.await.map(Open::Lease))?
            }
            None => {
                let span = TxSpan::begin(self.engine, Connection::Pool);
                let tx = self.write.begin().await.map_err(StoreError::from);
                span.began(tx.map(Open::Tx))?
            }
        };
        Ok(WriteTx(open, span))
    }

    /// Starts the transaction of a hot write ([`DirectTx`]): on SQLite a turn on the writer's
    /// own connection, queued like [`Db::begin_write`]'s; on PostgreSQL a pooled transaction.
    pub async fn begin_direct(&self) -> StoreResult<DirectTx> {
        Ok(match &self.writer {
            Some(writer) => {
                let span = TxSpan::begin(self.engine, Connection::WriterOwn);
                let lease = writer.lease_direct(self.acquire_timeout, span.span().clone());
                let (lease, span) = span.began(lease.await)?;
                DirectTx::lease(lease, span)
            }
            None => {
                let span = TxSpan::begin(self.engine, Connection::Pool);
                let tx = self.write.begin().await.map_err(StoreError::from);
                let (tx, span) = span.began(tx)?;
                DirectTx::pooled(tx, span)
            }
        })
    }

    /// Runs a hot write: `work` gets its transaction ([`DirectTx`]) and ends it, committing
    /// it or dropping it. On SQLite the writer runs it, on its own thread, as a turn of a
    /// group-committed batch, and what it returned comes back once that batch committed (a
    /// failed batch commit answers [`StoreError::BatchFailed`] instead); on PostgreSQL it runs
    /// right here on a pooled transaction.
    ///
    /// `work` must only run statements on its transaction: on SQLite, anything else it waited
    /// for would stall every write queued behind it.
    pub async fn write_direct<T, E, F, Fut>(&self, work: F) -> Result<T, E>
    where
        F: FnOnce(DirectTx) -> Fut + Send + 'static,
        Fut: Future<Output = Result<T, E>> + Send + 'static,
        T: Send + 'static,
        E: From<StoreError> + Send + 'static,
    {
        let Some(writer) = &self.writer else {
            return work(self.begin_direct().await?).await;
        };
        let span = TxSpan::begin(self.engine, Connection::WriterOwn);
        let turn = span.span().clone();
        let ran = writer
            .run(self.acquire_timeout, turn.clone(), move |lease| {
                work(DirectTx::lease(lease, span))
            })
            .await
            .inspect_err(|err| trace::record_failure(&turn, err))?;
        match ran {
            Ran::Committed(result) | Ran::Discarded(result @ Err(_)) => result,
            Ran::Discarded(Ok(_)) => Err(StoreError::corrupt(
                "write",
                "a write returned success without committing its work",
            )
            .into()),
        }
    }

    /// The SQLite writer's queue (none on PostgreSQL), for metrics.
    pub fn write_queue(&self) -> Option<QueueStats> {
        self.writer.as_ref().map(Writer::stats)
    }

    /// Applies pending migrations for this engine.
    pub async fn migrate(&self) -> StoreResult<()> {
        let migrator = match self.engine {
            Engine::Sqlite => &SQLITE_MIGRATOR,
            Engine::Postgres => &POSTGRES_MIGRATOR,
        };
        migrator.run(&self.write).await?;
        Ok(())
    }

    /// The migration versions this engine's migrator knows, in order.
    pub fn migration_versions(engine: Engine) -> Vec<(i64, String)> {
        let migrator = match engine {
            Engine::Sqlite => &SQLITE_MIGRATOR,
            Engine::Postgres => &POSTGRES_MIGRATOR,
        };
        migrator
            .iter()
            .map(|m| (m.version, m.description.to_string()))
            .collect()
    }

    /// Answers when both the read and the write path can run a query within `timeout`.
    pub async fn ping(&self, timeout: Duration) -> StoreResult<()> {
        let check = async {
            sqlx::query("select 1").execute(&self.read).await?;
            if self.engine == Engine::Sqlite {
                sqlx::query("select 1").execute(&self.write).await?;
            }
            Ok::<(), sqlx::Error>(())
        };
        match tokio::time::timeout(timeout, check).await {
            Ok(result) => result.map_err(StoreError::Unavailable),
            Err(_) => Err(StoreError::Unavailable(sqlx::Error::PoolTimedOut)),
        }
    }

    /// Pool sizes, for the metrics endpoint.
    pub fn pool_stats(&self) -> Vec<PoolStats> {
        let stats = |name, pool: &AnyPool| PoolStats {
            name,
            size: pool.size(),
            idle: pool.num_idle(),
            max: pool.options().get_max_connections(),
        };
        vec![stats("read", &self.read), stats("write", &self.write)]
    }

    /// Closes the pools, waiting for checked-out connections to come back.
    pub async fn close(&self) {
        self.read.close().await;
        self.write.close().await;
    }
}

/// Commits a write transaction, mapping the error like every other store error.
pub async fn commit(tx: WriteTx) -> StoreResult<()> {
    tx.commit().await
}

/// `$start, $start+1, …` for `n` values (`placeholders(3, 1)` is `$3`): the only SQL ringup
/// builds at run time is numbered placeholders like these, never values, and this is the one
/// place that writes them (why not `sqlx::QueryBuilder`: `docs/ARCHITECTURE.md`).
pub fn placeholders(start: usize, n: usize) -> String {
    (start..start + n)
        .map(|i| format!("${i}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The rows of a multi-row `values` list: `template` once per row, each `?` in it replaced by
/// the next numbered placeholder from `$first` on, so with `w` marks per row the `k`-th mark
/// of row `r` is `$(first + r·w + k)`. Fixed placeholders (`$1`) and casts stay as written:
/// `value_rows(3, 2, "($1, cast(? as bigint))")` is `($1, cast($3 as bigint)), ($1, cast($4 as bigint))`.
/// Templates are constants of the caller's code; the SQL sent never contains a `?`.
pub fn value_rows(first: usize, rows: usize, template: &str) -> String {
    numbered_rows(first, rows, template, ", ")
}

/// A table of values as a query both engines accept, for `update … from (…) as v`: `template`
/// (a `select` of casts naming the columns) once per row, joined by `union all`, its `?` marks
/// numbered as [`value_rows`] numbers them. `select_rows(2, 2, "select cast(? as text) as id")`
/// is `select cast($2 as text) as id union all select cast($3 as text) as id`.
pub fn select_rows(first: usize, rows: usize, template: &str) -> String {
    numbered_rows(first, rows, template, " union all ")
}

fn numbered_rows(first: usize, rows: usize, template: &str, separator: &str) -> String {
    let mut next = first;
    let mut out = Vec::with_capacity(rows);
    for _ in 0..rows {
        let mut row = String::with_capacity(template.len() + 16);
        for part in template.split_inclusive('?') {
            match part.strip_suffix('?') {
                Some(text) => {
                    row.push_str(text);
                    row.push_str(&placeholders(next, 1));
                    next += 1;
                }
                None => row.push_str(part),
            }
        }
        out.push(row);
    }
    out.join(separator)
}

/// Per-connection SQLite settings for a server: foreign keys on, wait on locks instead of
/// failing; readers are read-only, the writer syncs as `durability` says (`None`: a reader).
fn sqlite_session(
    conn: &mut AnyConnection,
    _meta: PoolConnectionMetadata,
    busy_ms: u128,
    durability: Option<Durability>,
) -> BoxFuture<'_, Result<(), sqlx::Error>> {
    Box::pin(async move {
        conn.execute("pragma foreign_keys = on").await?;
        let busy = format!("pragma busy_timeout = {busy_ms}");
        conn.execute(sqlx::AssertSqlSafe(busy)).await?;
        match durability {
            None => {
                conn.execute("pragma query_only = on").await?;
            }
            Some(durability) => {
                conn.execute(durability.pragma()).await?;
                // The writer checkpoints between batches (`WriterOptions::checkpoint_every`),
                // after their answers; an automatic checkpoint inside a COMMIT would stall the
                // batch. This far larger threshold is only the safety net.
                conn.execute("pragma wal_autocheckpoint = 16384").await?;
            }
        }
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn url_engines_and_errors() {
        let pg = DatabaseUrl::parse("postgres://u:hunter2@localhost:5432/ringup").unwrap();
        assert_eq!(pg.engine(), Engine::Postgres);
        assert_eq!(pg.database_name(), Some("ringup"));
        let lite = DatabaseUrl::parse("sqlite://./data/ringup.db").unwrap();
        assert_eq!(lite.engine(), Engine::Sqlite);
        assert_eq!(lite.sqlite_path(), Some(PathBuf::from("./data/ringup.db")));
        let abs = DatabaseUrl::parse("sqlite:///var/lib/ringup/r.db").unwrap();
        assert_eq!(
            abs.sqlite_path(),
            Some(PathBuf::from("/var/lib/ringup/r.db"))
        );
        assert_eq!(
            DatabaseUrl::parse("mysql://x/y"),
            Err(DatabaseUrlError::Scheme("mysql".into()))
        );
        assert!(DatabaseUrl::parse("not a url").is_err());
        assert_eq!(
            DatabaseUrl::parse("sqlite://"),
            Err(DatabaseUrlError::MissingPath)
        );
    }

    #[test]
    fn password_never_printed() {
        let url = DatabaseUrl::parse("postgres://ringup:hunter2@db:5432/ringup").unwrap();
        for shown in [format!("{url}"), format!("{url:?}")] {
            assert!(!shown.contains("hunter2"), "{shown}");
            assert!(shown.contains("ringup:***@db"), "{shown}");
        }
        assert!(url.expose().contains("hunter2"));
    }

    #[test]
    fn placeholders_number_lists_and_value_rows() {
        assert_eq!(placeholders(3, 3), "$3, $4, $5");
        assert_eq!(placeholders(7, 1), "$7");
        assert_eq!(placeholders(1, 0), "");
        assert_eq!(
            value_rows(4, 2, "(?, cast(? as bigint), cast(? as bigint))"),
            "($4, cast($5 as bigint), cast($6 as bigint)), ($7, cast($8 as bigint), cast($9 as bigint))"
        );
        assert_eq!(
            value_rows(3, 2, "($1, ?, 0, $2)"),
            "($1, $3, 0, $2), ($1, $4, 0, $2)"
        );
        assert_eq!(value_rows(1, 0, "(?)"), "");
        assert_eq!(
            select_rows(2, 2, "select cast(? as text) as id, cast(? as bigint) as n"),
            "select cast($2 as text) as id, cast($3 as bigint) as n union all \
             select cast($4 as text) as id, cast($5 as bigint) as n"
        );
    }

    #[test]
    fn with_database_swaps_only_the_name() {
        let url = DatabaseUrl::parse("postgres://postgres@127.0.0.1:5432/test").unwrap();
        let other = url.with_database("ringup_t_1");
        assert_eq!(
            other.expose(),
            "postgres://postgres@127.0.0.1:5432/ringup_t_1"
        );
    }
}

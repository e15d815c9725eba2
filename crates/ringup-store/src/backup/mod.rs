//! Backups at the row level: what a backup reads ([`Snapshot`]) and what a restore writes
//! ([`Import`]), on either engine, so a backup taken on SQLite restores on PostgreSQL and back.
//!
//! Invariants:
//! - A snapshot is one read transaction (`repeatable read, read only` on PostgreSQL; a WAL read
//!   transaction on SQLite): every table is read as of the same instant while sales go on, so a
//!   sale is in the backup with all its lines, payments, movements, rollups and audit event, or
//!   not at all.
//! - Every table of the schema is copied except the migrator's own (`_sqlx_migrations`): the
//!   list comes from the database's catalog, so a table added by a later migration is backed up
//!   without a change here. Tables come parents first (by their foreign keys).
//! - Every column is a 64-bit integer or text on both engines (`lib.rs`); a column of another
//!   type stops the backup rather than copy it wrong.
//! - Names in the SQL built here come from the target database's own catalog, never from a
//!   backup file: a restore looks each table and column of the file up in the catalog first.

mod catalog;
mod import;

pub use catalog::{Column, Kind, Table};
pub use import::Import;

use futures::TryStreamExt;
use sqlx::{Row as _, Transaction};

use crate::platform::db::{Db, Engine};
use crate::platform::error::{StoreError, StoreResult};
use crate::platform::sql::Value;

/// The migrator's bookkeeping table: recreated by migrating the target, never copied.
const MIGRATIONS_TABLE: &str = "_sqlx_migrations";

/// One consistent read of the whole database.
pub struct Snapshot {
    tx: Transaction<'static, sqlx::Any>,
    engine: Engine,
}

impl Snapshot {
    /// Opens the read transaction. On SQLite the snapshot is fixed by the first read, which
    /// this does at once (the schema version).
    pub async fn open(db: &Db) -> StoreResult<(Snapshot, i64)> {
        let mut tx = db.reader().begin().await?;
        if db.engine() == Engine::Postgres {
            sqlx::query("set transaction isolation level repeatable read, read only")
                .execute(&mut *tx)
                .await?;
        }
        let version = schema_version(&mut tx).await?;
        Ok((
            Snapshot {
                tx,
                engine: db.engine(),
            },
            version,
        ))
    }

    /// The tables to copy, parents before children.
    pub async fn tables(&mut self) -> StoreResult<Vec<Table>> {
        catalog::tables(&mut self.tx, self.engine).await
    }

    /// Reads every row of `table` and sends them to `out` in batches of up to `batch` rows
    /// (wrapped by `wrap`), each row's values in the order of `table.columns`. Waits while
    /// `out` is full, so a slow consumer slows the read instead of filling memory.
    pub async fn read<M>(
        &mut self,
        table: &Table,
        batch: usize,
        out: &tokio::sync::mpsc::Sender<M>,
        wrap: impl Fn(Vec<Vec<Value>>) -> M,
    ) -> Result<u64, ReadError> {
        let sql = format!(
            "select {} from {}",
            table.column_list(),
            quoted(&table.name)
        );
        let mut rows = sqlx::query(sqlx::AssertSqlSafe(sql)).fetch(&mut *self.tx);
        let mut pending = Vec::with_capacity(batch);
        let mut count = 0u64;
        while let Some(row) = rows.try_next().await.map_err(StoreError::from)? {
            pending.push(decode_row(&row, table)?);
            count += 1;
            if pending.len() == batch {
                let full = std::mem::replace(&mut pending, Vec::with_capacity(batch));
                out.send(wrap(full)).await.map_err(|_| ReadError::Closed)?;
            }
        }
        if !pending.is_empty() {
            out.send(wrap(pending))
                .await
                .map_err(|_| ReadError::Closed)?;
        }
        Ok(count)
    }

    /// Ends the read transaction.
    pub async fn close(self) -> StoreResult<()> {
        Ok(self.tx.rollback().await?)
    }
}

/// Why [`Snapshot::read`] stopped: the database, or the consumer went away.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("the consumer of the rows stopped")]
    Closed,
}

/// The newest migration applied to the database (0 before any).
pub async fn schema_version(conn: &mut sqlx::AnyConnection) -> StoreResult<i64> {
    let sql = format!("select coalesce(max(version), 0) as version from {MIGRATIONS_TABLE}");
    let row = sqlx::query(sqlx::AssertSqlSafe(sql))
        .fetch_one(&mut *conn)
        .await?;
    Ok(row.try_get::<i64, _>("version")?)
}

fn decode_row(row: &sqlx::any::AnyRow, table: &Table) -> StoreResult<Vec<Value>> {
    let corrupt = |column: &Column, err: sqlx::Error| StoreError::Corrupt {
        what: "a row being backed up",
        detail: format!("{}.{}: {err}", table.name, column.name),
    };
    table
        .columns
        .iter()
        .enumerate()
        .map(|(i, column)| match column.kind {
            Kind::Int => row
                .try_get::<Option<i64>, _>(i)
                .map(Value::Int)
                .map_err(|e| corrupt(column, e)),
            Kind::Text => row
                .try_get::<Option<String>, _>(i)
                .map(Value::Text)
                .map_err(|e| corrupt(column, e)),
        })
        .collect()
}

/// An identifier of the catalog, quoted for both engines.
fn quoted(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

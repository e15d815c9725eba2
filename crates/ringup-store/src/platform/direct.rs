//! The SQLite writer's own connection: rusqlite, synchronous, statements run on the calling
//! thread with no hand-off (sqlx's driver sends each statement to a worker thread and waits).
//!
//! It opens the same file as the pools, with the writer's settings, after the pools have put
//! the file in WAL mode. Its statements are the store's own, `$n` placeholders read as SQLite's
//! numbered `?n` (which bind by number, as sqlx binds `$n`); its errors become the same
//! [`StoreError`]s as the pooled connection's (a unique violation names its columns, a range
//! guard its table, busy and locked are transient), through [`LiteError`], which carries the
//! extended result code the way sqlx reports SQLite's.

use std::borrow::Cow;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use rusqlite::types::ValueRef;
use rusqlite::{Connection, OpenFlags};
use sqlx::error::{DatabaseError, ErrorKind};

use crate::platform::db::Durability;
use crate::platform::error::{StoreError, StoreResult};
use crate::platform::sql::{Cell, Row, Stmt, Value};

/// How to open the writer's connection (again, should it be lost).
#[derive(Clone, Debug)]
pub(crate) struct Opener {
    pub path: PathBuf,
    pub busy_timeout: Duration,
    pub durability: Durability,
}

impl Opener {
    pub fn open(&self) -> rusqlite::Result<Connection> {
        open(&self.path, self.busy_timeout, self.durability)
    }
}

/// Opens the writer's connection with the settings of the pools' writer: foreign keys on,
/// wait on another process's lock, sync as `durability` says, checkpoints left to the writer.
fn open(
    path: &Path,
    busy_timeout: Duration,
    durability: Durability,
) -> rusqlite::Result<Connection> {
    let flags = OpenFlags::SQLITE_OPEN_READ_WRITE
        | OpenFlags::SQLITE_OPEN_CREATE
        | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let conn = Connection::open_with_flags(path, flags)?;
    conn.busy_timeout(busy_timeout)?;
    conn.execute_batch("pragma foreign_keys = on")?;
    conn.execute_batch(durability.pragma())?;
    // As on the pooled writer (`db::sqlite_session`): the writer checkpoints between batches.
    conn.execute_batch("pragma wal_autocheckpoint = 16384")?;
    // Multi-row statements differ by row count (1–5 lines, 1–3 payments): keep them all.
    conn.set_prepared_statement_cache_capacity(128);
    Ok(conn)
}

/// Runs a statement that returns no rows.
pub(crate) fn execute(conn: &Connection, stmt: Stmt<'_>) -> StoreResult<u64> {
    let mut prepared = prepare(conn, &stmt).map_err(store_error)?;
    let changed = prepared.raw_execute().map_err(store_error)?;
    Ok(u64::try_from(changed).unwrap_or(u64::MAX))
}

/// Runs a statement and reads every row.
pub(crate) fn fetch_all(conn: &Connection, stmt: Stmt<'_>) -> StoreResult<Vec<Row>> {
    read_rows(conn, &stmt).map_err(store_error)
}

fn read_rows(conn: &Connection, stmt: &Stmt<'_>) -> rusqlite::Result<Vec<Row>> {
    let mut prepared = prepare(conn, stmt)?;
    let columns: Arc<[String]> = prepared
        .column_names()
        .into_iter()
        .map(str::to_owned)
        .collect();
    let mut rows = prepared.raw_query();
    let mut out = Vec::new();
    while let Some(row) = rows.next()? {
        let mut cells = Vec::with_capacity(columns.len());
        for i in 0..columns.len() {
            cells.push(match row.get_ref(i)? {
                ValueRef::Null => Cell::Null,
                ValueRef::Integer(v) => Cell::Int(v),
                ValueRef::Real(v) => Cell::Real(v),
                ValueRef::Text(bytes) => Cell::Text(
                    String::from_utf8(bytes.to_vec())
                        .map_err(|e| rusqlite::Error::Utf8Error(i, e.utf8_error()))?,
                ),
                ValueRef::Blob(_) => {
                    return Err(rusqlite::Error::InvalidColumnType(
                        i,
                        columns.get(i).cloned().unwrap_or_default(),
                        rusqlite::types::Type::Blob,
                    ));
                }
            });
        }
        out.push(Row::direct(columns.clone(), cells));
    }
    Ok(out)
}

/// The cached statement for `stmt`, its values bound by number.
fn prepare<'c>(
    conn: &'c Connection,
    stmt: &Stmt<'_>,
) -> rusqlite::Result<rusqlite::CachedStatement<'c>> {
    let mut prepared = conn.prepare_cached(&numbered(&stmt.sql))?;
    for (i, value) in (1..).zip(&stmt.params) {
        match value {
            Value::Int(v) => prepared.raw_bind_parameter(i, v)?,
            Value::Text(v) => prepared.raw_bind_parameter(i, v)?,
        }
    }
    Ok(prepared)
}

/// The store's `$n` placeholders as SQLite's numbered `?n` (a bare `$n` would be a *named*
/// parameter there, bound in order of first appearance). The store's statements hold no `$`
/// anywhere else: every value is bound.
pub(crate) fn numbered(sql: &str) -> Cow<'_, str> {
    if sql.contains('$') {
        Cow::Owned(sql.replace('$', "?"))
    } else {
        Cow::Borrowed(sql)
    }
}

/// A rusqlite error as a store error, classified like sqlx's.
pub(crate) fn store_error(err: rusqlite::Error) -> StoreError {
    StoreError::from(sqlx_error(err))
}

/// A rusqlite error in sqlx's clothes, for the places that keep a `sqlx::Error`.
pub(crate) fn sqlx_error(err: rusqlite::Error) -> sqlx::Error {
    sqlx::Error::Database(Box::new(LiteError::from(err)))
}

/// An error of the writer's connection, with SQLite's extended result code (`None` for an
/// error rusqlite raised itself, such as a value it could not convert).
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub(crate) struct LiteError {
    message: String,
    code: Option<i32>,
    #[source]
    source: rusqlite::Error,
}

impl From<rusqlite::Error> for LiteError {
    fn from(source: rusqlite::Error) -> Self {
        let (message, code) = match &source {
            rusqlite::Error::SqliteFailure(failure, message) => (
                message.clone().unwrap_or_else(|| failure.to_string()),
                Some(failure.extended_code),
            ),
            other => (other.to_string(), None),
        };
        LiteError {
            message,
            code,
            source,
        }
    }
}

impl DatabaseError for LiteError {
    fn message(&self) -> &str {
        &self.message
    }

    fn code(&self) -> Option<Cow<'_, str>> {
        self.code.map(|c| Cow::Owned(c.to_string()))
    }

    fn as_error(&self) -> &(dyn std::error::Error + Send + Sync + 'static) {
        self
    }

    fn as_error_mut(&mut self) -> &mut (dyn std::error::Error + Send + Sync + 'static) {
        self
    }

    fn into_error(self: Box<Self>) -> Box<dyn std::error::Error + Send + Sync + 'static> {
        self
    }

    fn kind(&self) -> ErrorKind {
        use rusqlite::ffi;
        match self.code {
            Some(ffi::SQLITE_CONSTRAINT_UNIQUE | ffi::SQLITE_CONSTRAINT_PRIMARYKEY) => {
                ErrorKind::UniqueViolation
            }
            Some(ffi::SQLITE_CONSTRAINT_FOREIGNKEY) => ErrorKind::ForeignKeyViolation,
            Some(ffi::SQLITE_CONSTRAINT_NOTNULL) => ErrorKind::NotNullViolation,
            Some(ffi::SQLITE_CONSTRAINT_CHECK) => ErrorKind::CheckViolation,
            _ => ErrorKind::Other,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::platform::sql::stmt;

    fn scratch() -> (tempfile::TempDir, Connection) {
        let dir = tempfile::tempdir().unwrap();
        let conn = open(
            &dir.path().join("t.db"),
            Duration::from_millis(50),
            Durability::Full,
        )
        .unwrap();
        conn.execute_batch(
            "create table t (id text primary key, n bigint not null, note text);
             create trigger t_bound before insert on t when new.n > 100
               begin select raise(abort, 'ringup-bounds: t'); end;",
        )
        .unwrap();
        (dir, conn)
    }

    #[test]
    fn placeholders_bind_by_number_and_rows_read_by_name() {
        let (_dir, conn) = scratch();
        let n = execute(
            &conn,
            stmt("insert into t (id, n, note) values ($2, $1, $3), ($4, $1, $3)")
                .bind(5i64)
                .bind("a")
                .bind(None::<String>)
                .bind("b"),
        )
        .unwrap();
        assert_eq!(n, 2);
        let rows = fetch_all(
            &conn,
            stmt("select id, n, note from t where n = $1 order by id").bind(5i64),
        )
        .unwrap();
        let ids: Vec<String> = rows.iter().map(|r| r.text("id").unwrap()).collect();
        assert_eq!(ids, ["a", "b"]);
        assert_eq!(rows[0].int("n").unwrap(), 5);
        assert_eq!(rows[0].opt_text("note").unwrap(), None);
    }

    #[test]
    fn errors_are_classified_like_the_pooled_connection_s() {
        let (_dir, conn) = scratch();
        let insert = |id: &str, n: i64| {
            execute(
                &conn,
                stmt("insert into t (id, n) values ($1, $2)")
                    .bind(id)
                    .bind(n),
            )
        };
        insert("a", 1).unwrap();
        match insert("a", 2) {
            Err(StoreError::UniqueViolation { source, .. }) => {
                let db = source.as_database_error().unwrap();
                assert_eq!(db.message(), "UNIQUE constraint failed: t.id");
            }
            other => panic!("expected a unique violation, got {other:?}"),
        }
        assert!(matches!(
            insert("b", 101),
            Err(StoreError::OutOfRange { what, .. }) if what == "t"
        ));
        assert!(matches!(
            execute(&conn, stmt("select no_such_column from t")),
            Err(StoreError::Database(_))
        ));
    }

    #[test]
    fn a_lock_held_by_another_connection_is_transient() {
        let (dir, conn) = scratch();
        let other = open(
            &dir.path().join("t.db"),
            Duration::from_millis(10),
            Durability::Full,
        )
        .unwrap();
        other.execute_batch("begin immediate").unwrap();
        let err = execute(&conn, stmt("insert into t (id, n) values ('x', 1)")).unwrap_err();
        assert!(err.is_transient(), "{err:?}");
    }

    #[test]
    fn only_dollar_placeholders_change() {
        assert_eq!(numbered("select $1, $12"), "select ?1, ?12");
        assert!(matches!(numbered("select 1"), Cow::Borrowed(_)));
    }
}

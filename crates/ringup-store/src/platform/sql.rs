//! One way to issue a write's statements on either connection a write can hold: a pooled sqlx
//! connection (PostgreSQL, and SQLite writes that are not on the fast path), or the SQLite
//! writer's own synchronous connection ([`crate::platform::direct`]).
//!
//! The store functions of the hot writes (a sale, its void, a return, a stock movement, the
//! idempotency key, the outbox and the audit chain) take `&mut impl Sql`, so each statement is
//! written once, in the dialect both engines accept, with the store's `$n` placeholders; what
//! differs between the two connections (binding, reading rows, errors) lives in the two
//! implementations here and in `direct`.
//!
//! Why not sqlx alone: sqlx's SQLite driver hands every statement to a worker thread and waits
//! for the answer, ~90 µs a statement on this machine under load; a sale is 16 statements, all
//! inside the writer's serial section. On the writer's own connection a statement costs a few
//! microseconds (docs/ARCHITECTURE.md, "The write path").

use std::borrow::Cow;
use std::future::Future;
use std::sync::Arc;

use sqlx::any::AnyRow;
use sqlx::pool::PoolConnection;
use sqlx::{AnyConnection, Row as _};

use crate::platform::error::{StoreError, StoreResult};

/// A value bound to a placeholder. Nulls carry their type: PostgreSQL checks a parameter's
/// declared type against its column.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Value {
    Int(Option<i64>),
    Text(Option<String>),
}

impl From<i64> for Value {
    fn from(value: i64) -> Self {
        Value::Int(Some(value))
    }
}

impl From<Option<i64>> for Value {
    fn from(value: Option<i64>) -> Self {
        Value::Int(value)
    }
}

impl From<String> for Value {
    fn from(value: String) -> Self {
        Value::Text(Some(value))
    }
}

impl From<&str> for Value {
    fn from(value: &str) -> Self {
        Value::Text(Some(value.to_owned()))
    }
}

impl From<&String> for Value {
    fn from(value: &String) -> Self {
        Value::Text(Some(value.clone()))
    }
}

impl From<Option<String>> for Value {
    fn from(value: Option<String>) -> Self {
        Value::Text(value)
    }
}

impl From<&Option<String>> for Value {
    fn from(value: &Option<String>) -> Self {
        Value::Text(value.clone())
    }
}

impl From<Option<&str>> for Value {
    fn from(value: Option<&str>) -> Self {
        Value::Text(value.map(str::to_owned))
    }
}

/// A statement and the values of its placeholders, in `$n` order.
#[derive(Clone, Debug)]
pub struct Stmt<'q> {
    pub(crate) sql: Cow<'q, str>,
    pub(crate) params: Vec<Value>,
    /// Kept prepared on its connection (the default), or planned anew on every run.
    pub(crate) prepared: bool,
}

/// A statement with no values bound yet; `$1` is the first [`Stmt::bind`].
pub fn stmt<'q>(sql: impl Into<Cow<'q, str>>) -> Stmt<'q> {
    Stmt {
        sql: sql.into(),
        params: Vec::new(),
        prepared: true,
    }
}

impl<'q> Stmt<'q> {
    /// The statement with its text owned, to be kept past the borrow it was made from.
    pub fn into_owned(self) -> Stmt<'static> {
        Stmt {
            sql: Cow::Owned(self.sql.into_owned()),
            params: self.params,
            prepared: self.prepared,
        }
    }

    /// The statement's text, with the store's `$n` placeholders.
    pub fn text(&self) -> &str {
        &self.sql
    }

    /// The values bound so far, `$1` first.
    pub fn values(&self) -> &[Value] {
        &self.params
    }

    /// Plans the statement anew on every run, with its values, on a pooled connection
    /// (PostgreSQL's unnamed statement) instead of keeping it prepared. PostgreSQL's plan of a
    /// prepared statement is kept by its connection and, after five runs, may be a generic
    /// plan made once: one made while a table was still empty reads it with sequential scans
    /// for the life of the connection. For the few queries whose good plan depends on how
    /// large their tables are now (the webhook claim's, whose tables start empty and grow by
    /// thousands of rows a minute); a plan costs a fraction of a millisecond. SQLite's plans
    /// do not depend on it, and the writer's own connection keeps every statement prepared.
    pub fn planned_each_run(mut self) -> Self {
        self.prepared = false;
        self
    }

    /// Binds the next placeholder.
    pub fn bind(mut self, value: impl Into<Value>) -> Self {
        self.params.push(value.into());
        self
    }
}

/// A row read by a statement, its columns read by name.
pub struct Row(Inner);

enum Inner {
    Pooled(AnyRow),
    Direct {
        columns: Arc<[String]>,
        cells: Vec<Cell>,
    },
}

/// A value as the writer's SQLite connection read it.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Cell {
    Null,
    Int(i64),
    Real(f64),
    Text(String),
}

impl Row {
    pub(crate) fn direct(columns: Arc<[String]>, cells: Vec<Cell>) -> Row {
        Row(Inner::Direct { columns, cells })
    }

    fn cell<'c>(columns: &[String], cells: &'c [Cell], column: &str) -> StoreResult<&'c Cell> {
        columns
            .iter()
            .position(|c| c == column)
            .and_then(|i| cells.get(i))
            .ok_or_else(|| unreadable(column, "no such column"))
    }

    /// An integer column.
    pub fn int(&self, column: &str) -> StoreResult<i64> {
        self.opt_int(column)?
            .ok_or_else(|| unreadable(column, "is null"))
    }

    /// An integer column that may be null.
    pub fn opt_int(&self, column: &str) -> StoreResult<Option<i64>> {
        match &self.0 {
            Inner::Pooled(row) => Ok(row.try_get::<Option<i64>, _>(column)?),
            Inner::Direct { columns, cells } => match Row::cell(columns, cells, column)? {
                Cell::Null => Ok(None),
                Cell::Int(v) => Ok(Some(*v)),
                Cell::Real(_) | Cell::Text(_) => Err(unreadable(column, "is not an integer")),
            },
        }
    }

    /// A text column.
    pub fn text(&self, column: &str) -> StoreResult<String> {
        self.opt_text(column)?
            .ok_or_else(|| unreadable(column, "is null"))
    }

    /// A text column that may be null.
    pub fn opt_text(&self, column: &str) -> StoreResult<Option<String>> {
        match &self.0 {
            Inner::Pooled(row) => Ok(row.try_get::<Option<String>, _>(column)?),
            Inner::Direct { columns, cells } => match Row::cell(columns, cells, column)? {
                Cell::Null => Ok(None),
                Cell::Text(v) => Ok(Some(v.clone())),
                Cell::Int(_) | Cell::Real(_) => Err(unreadable(column, "is not text")),
            },
        }
    }
}

fn unreadable(column: &str, why: &str) -> StoreError {
    StoreError::corrupt("row", format!("column `{column}` {why}"))
}

/// A connection or transaction a write's statements run on.
pub trait Sql: Send {
    /// Runs a statement that returns no rows; answers how many rows it changed.
    fn run(&mut self, stmt: Stmt<'_>) -> impl Future<Output = StoreResult<u64>> + Send;

    /// Runs a statement and reads every row it returns.
    fn rows(&mut self, stmt: Stmt<'_>) -> impl Future<Output = StoreResult<Vec<Row>>> + Send;

    /// The one row a statement returns ([`StoreError::NotFound`] when it returns none).
    fn row(&mut self, stmt: Stmt<'_>) -> impl Future<Output = StoreResult<Row>> + Send {
        async move { self.optional_row(stmt).await?.ok_or(StoreError::NotFound) }
    }

    /// [`Sql::row`] for a statement that neither reads what the deferred statements
    /// ([`Sql::defer`]) write nor writes what they read: on PostgreSQL's [`crate::DirectTx`]
    /// it travels with them as **one** statement (theirs as `WITH` items, it the main one),
    /// so taking a row lock right before commit costs no round trip of its own. PostgreSQL
    /// calls the order of the parts unpredictable (its executor runs the main statement first
    /// and unread `WITH` items after it); a deadlock an order could cause is rolled back and
    /// the write retried ([`StoreError::is_transient`]). Everywhere else it is [`Sql::row`].
    fn row_with_deferred(
        &mut self,
        stmt: Stmt<'_>,
    ) -> impl Future<Output = StoreResult<Row>> + Send {
        async move {
            self.optional_row_with_deferred(stmt)
                .await?
                .ok_or(StoreError::NotFound)
        }
    }

    /// [`Sql::row_with_deferred`] for a statement that may return no row. The deferred
    /// statements ran either way.
    fn optional_row_with_deferred(
        &mut self,
        stmt: Stmt<'_>,
    ) -> impl Future<Output = StoreResult<Option<Row>>> + Send {
        self.optional_row(stmt)
    }

    /// Whether the statements run on PostgreSQL, where the database computes some of what
    /// SQLite's writer computes between statements (the audit chain's hash), saving a round
    /// trip.
    fn is_postgres(&self) -> bool;

    /// The first row a statement returns, if any.
    fn optional_row(
        &mut self,
        stmt: Stmt<'_>,
    ) -> impl Future<Output = StoreResult<Option<Row>>> + Send {
        async move { Ok(self.rows(stmt).await?.into_iter().next()) }
    }

    /// Runs a statement whose answer the write does not need, now or together with the next
    /// ones: a transaction that sends statements over the network (PostgreSQL's
    /// [`crate::DirectTx`]) holds deferred statements and sends them as **one** statement right
    /// before its next statement or its commit, so a sale's inserts cost one round trip instead
    /// of one each. Its errors surface there. Statements deferred together run on one snapshot:
    /// none may depend on another's effect (a child row's foreign key to a parent inserted
    /// beside it is fine: keys are checked at the end of the statement). Everywhere else it
    /// runs at once.
    fn defer(&mut self, stmt: Stmt<'static>) -> impl Future<Output = StoreResult<()>> + Send {
        async move { self.run(stmt).await.map(drop) }
    }
}

/// Deferred statements as one PostgreSQL statement: every one but the last as a data-modifying
/// `WITH` item, the last as the main statement, each one's `$n` moved past the values of those
/// before it.
pub(crate) fn one_statement(stmts: Vec<Stmt<'static>>) -> Option<Stmt<'static>> {
    let count = stmts.len();
    let mut items = Vec::with_capacity(count);
    let mut params = Vec::new();
    for (i, stmt) in stmts.into_iter().enumerate() {
        let text = shift_placeholders(&stmt.sql, params.len());
        items.push(if i + 1 < count {
            format!("d{i} as ({text})")
        } else {
            text
        });
        params.extend(stmt.params);
    }
    let main = items.pop()?;
    let sql = if items.is_empty() {
        main
    } else if let Some(rest) = main.strip_prefix("with ") {
        // A main statement with `WITH` items of its own lists them after the deferred ones.
        format!("with {}, {rest}", items.join(", "))
    } else {
        format!("with {} {main}", items.join(", "))
    };
    Some(Stmt {
        sql: Cow::Owned(sql),
        params,
        prepared: true,
    })
}

/// `sql` with every `$n` written `$(n + by)`. The store's statements hold no `$` but their
/// placeholders (every value is bound).
/// `main` (a PostgreSQL statement with `main_values` values of its own, bound first) with
/// `items` before it as data-modifying `WITH` items, their `$n` moved past `main`'s: the text,
/// and the items' values to bind after `main`'s.
pub fn with_items(main: &str, main_values: usize, items: Vec<Stmt<'static>>) -> Stmt<'static> {
    let mut params = Vec::new();
    let mut texts = Vec::with_capacity(items.len());
    for (i, item) in items.into_iter().enumerate() {
        texts.push(format!(
            "d{i} as ({})",
            shift_placeholders(&item.sql, main_values + params.len())
        ));
        params.extend(item.params);
    }
    let sql = if texts.is_empty() {
        main.to_owned()
    } else {
        format!("with {} {main}", texts.join(", "))
    };
    Stmt {
        sql: Cow::Owned(sql),
        params,
        prepared: true,
    }
}

fn shift_placeholders(sql: &str, by: usize) -> String {
    if by == 0 {
        return sql.to_owned();
    }
    let mut out = String::with_capacity(sql.len() + 16);
    let mut rest = sql;
    while let Some(at) = rest.find('$') {
        let (before, after) = rest.split_at(at);
        out.push_str(before);
        let digits = after
            .get(1..)
            .unwrap_or_default()
            .chars()
            .take_while(char::is_ascii_digit)
            .count();
        let number = after.get(1..=digits).and_then(|d| d.parse::<usize>().ok());
        match number {
            Some(n) => {
                out.push('$');
                out.push_str(&(n + by).to_string());
            }
            None => out.push('$'),
        }
        rest = after.get(1 + digits..).unwrap_or_default();
    }
    out.push_str(rest);
    out
}

/// The statement as sqlx takes it, values bound.
fn pooled(stmt: Stmt<'_>) -> sqlx::query::Query<'static, sqlx::Any, sqlx::any::AnyArguments> {
    let mut query =
        sqlx::query(sqlx::AssertSqlSafe(stmt.sql.into_owned())).persistent(stmt.prepared);
    for value in stmt.params {
        query = match value {
            Value::Int(v) => query.bind(v),
            Value::Text(v) => query.bind(v),
        };
    }
    query
}

impl Sql for AnyConnection {
    fn is_postgres(&self) -> bool {
        self.backend_name() == "PostgreSQL"
    }

    async fn run(&mut self, stmt: Stmt<'_>) -> StoreResult<u64> {
        Ok(pooled(stmt).execute(&mut *self).await?.rows_affected())
    }

    async fn rows(&mut self, stmt: Stmt<'_>) -> StoreResult<Vec<Row>> {
        let rows = pooled(stmt).fetch_all(&mut *self).await?;
        Ok(rows.into_iter().map(|r| Row(Inner::Pooled(r))).collect())
    }
}

/// A connection of a pool (`db.read_conn()`), so a store function taking `&mut impl Sql` reads
/// on the read pool as it writes inside a transaction.
impl Sql for PoolConnection<sqlx::Any> {
    fn is_postgres(&self) -> bool {
        Sql::is_postgres(&**self)
    }

    async fn run(&mut self, stmt: Stmt<'_>) -> StoreResult<u64> {
        Sql::run(&mut **self, stmt).await
    }

    async fn rows(&mut self, stmt: Stmt<'_>) -> StoreResult<Vec<Row>> {
        Sql::rows(&mut **self, stmt).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn direct_row() -> Row {
        Row::direct(
            vec!["n".to_owned(), "s".to_owned(), "z".to_owned()].into(),
            vec![Cell::Int(7), Cell::Text("x".into()), Cell::Null],
        )
    }

    #[test]
    fn a_direct_row_reads_by_name_and_refuses_the_wrong_type() {
        let row = direct_row();
        assert_eq!(row.int("n").unwrap(), 7);
        assert_eq!(row.text("s").unwrap(), "x");
        assert_eq!(row.opt_int("z").unwrap(), None);
        assert_eq!(row.opt_text("z").unwrap(), None);
        assert!(matches!(row.int("s"), Err(StoreError::Corrupt { .. })));
        assert!(matches!(row.text("n"), Err(StoreError::Corrupt { .. })));
        assert!(matches!(row.int("z"), Err(StoreError::Corrupt { .. })));
        assert!(matches!(
            row.int("missing"),
            Err(StoreError::Corrupt { .. })
        ));
    }

    #[test]
    fn items_go_before_a_main_statement_with_their_placeholders_after_its_own() {
        let one = with_items(
            "select f($1, $2)",
            2,
            vec![
                stmt("insert into a (x) values ($1)").bind(1i64),
                stmt("update b set v = $2 where id = $1")
                    .bind("b")
                    .bind(2i64),
            ],
        );
        assert_eq!(
            one.text(),
            "with d0 as (insert into a (x) values ($3)), \
             d1 as (update b set v = $5 where id = $4) select f($1, $2)"
        );
        assert_eq!(
            one.values(),
            [
                Value::Int(Some(1)),
                Value::Text(Some("b".into())),
                Value::Int(Some(2))
            ]
        );
        assert_eq!(with_items("select 1", 0, vec![]).text(), "select 1");
    }

    #[test]
    fn deferred_statements_become_one_with_their_placeholders_moved() {
        let one = one_statement(vec![
            stmt("insert into a (x, y) values ($1, $2)")
                .bind(1i64)
                .bind("p"),
            stmt("insert into b (x) values ($1), ($1)").bind(2i64),
            stmt("update c set v = $2 where id = $1")
                .bind("c")
                .bind(3i64),
        ])
        .unwrap();
        assert_eq!(
            one.sql,
            "with d0 as (insert into a (x, y) values ($1, $2)), \
             d1 as (insert into b (x) values ($3), ($3)) update c set v = $5 where id = $4"
        );
        assert_eq!(
            one.params,
            vec![
                Value::Int(Some(1)),
                Value::Text(Some("p".into())),
                Value::Int(Some(2)),
                Value::Text(Some("c".into())),
                Value::Int(Some(3)),
            ]
        );
        let nested = one_statement(vec![
            stmt("insert into a (x) values ($1)").bind(1i64),
            stmt("with h as (select $1 as y) insert into b select y from h").bind(2i64),
        ])
        .unwrap();
        assert_eq!(
            nested.sql,
            "with d0 as (insert into a (x) values ($1)), \
             h as (select $2 as y) insert into b select y from h"
        );
        let alone = one_statement(vec![stmt("delete from t where id = $1").bind(9i64)]).unwrap();
        assert_eq!(alone.sql, "delete from t where id = $1");
        assert!(one_statement(vec![]).is_none());
        assert_eq!(
            shift_placeholders("$1, $10, cast($2 as bigint)", 10),
            "$11, $20, cast($12 as bigint)"
        );
    }

    #[test]
    fn values_keep_their_type_when_null() {
        let s = stmt("select $1, $2, $3")
            .bind(1i64)
            .bind(None::<String>)
            .bind(None::<i64>);
        assert_eq!(
            s.params,
            vec![Value::Int(Some(1)), Value::Text(None), Value::Int(None)]
        );
    }
}

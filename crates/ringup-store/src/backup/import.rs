//! Writing a backup's rows into a migrated database, in one transaction: a restore that fails
//! half-way leaves the database as it was.

use std::collections::{HashMap, HashSet};

use super::catalog::{self, Kind, Table};
use super::quoted;
use crate::platform::db::{Db, value_rows};
use crate::platform::error::{StoreError, StoreResult};
use crate::platform::sql::{Sql, Value, stmt};
use crate::platform::tx::{DirectTx, Tx};

/// Facts about the installation rather than business data: a freshly migrated database
/// already has a row here, and a restore replaces them with the backup's.
const INSTALLATION_TABLE: &str = "app_meta";

/// Placeholders per statement, below both engines' limits (SQLite 32,766, PostgreSQL 65,535).
const MAX_PARAMS: usize = 30_000;
const MAX_ROWS: usize = 1_000;

/// The restore's transaction and the target's schema.
pub struct Import {
    tx: DirectTx,
    tables: HashMap<String, Table>,
    order: Vec<String>,
}

impl Import {
    /// Reads the target's catalog and opens the write transaction (on SQLite a turn on the
    /// writer, held until [`Import::commit`]).
    pub async fn begin(db: &Db) -> StoreResult<Import> {
        let mut conn = db.read_conn().await?;
        let tables = catalog::tables(&mut conn, db.engine()).await?;
        drop(conn);
        let tx = db.begin_direct().await?;
        Ok(Import {
            tx,
            order: tables.iter().map(|t| t.name.clone()).collect(),
            tables: tables.into_iter().map(|t| (t.name.clone(), t)).collect(),
        })
    }

    /// The target's table named `name`.
    pub fn table(&self, name: &str) -> Option<&Table> {
        self.tables.get(name)
    }

    /// The tables that hold business data (any table but the installation facts).
    pub async fn tables_with_rows(&mut self) -> StoreResult<Vec<String>> {
        let mut found = Vec::new();
        for name in self.order.iter().filter(|n| *n != INSTALLATION_TABLE) {
            let sql = format!("select 1 as present from {} limit 1", quoted(name));
            if !self.tx.rows(stmt(sql)).await?.is_empty() {
                found.push(name.clone());
            }
        }
        Ok(found)
    }

    /// Deletes every row of every table, children first (a restore with `--force`, and the
    /// installation facts of every restore).
    pub async fn wipe(&mut self, everything: bool) -> StoreResult<()> {
        for name in self.order.iter().rev() {
            if everything || name == INSTALLATION_TABLE {
                self.tx
                    .run(stmt(format!("delete from {}", quoted(name))))
                    .await?;
            }
        }
        Ok(())
    }

    /// Inserts the rows of one table, each holding the values of `columns` in that order.
    /// Every column must exist in the target with the same kind, and every value must be of
    /// its column's kind; columns of the target that the backup lacks take their defaults.
    /// A table that references itself may come in any order: its rows are written parents
    /// first.
    pub async fn insert(
        &mut self,
        table: &str,
        columns: &[String],
        mut rows: Vec<Vec<Value>>,
    ) -> StoreResult<u64> {
        let target = self.tables.get(table).ok_or_else(|| {
            mismatch(format!(
                "the backup has a table `{table}` that this database does not have"
            ))
        })?;
        let mut kinds = Vec::with_capacity(columns.len());
        for name in columns {
            let (_, column) = target.column(name).ok_or_else(|| {
                mismatch(format!(
                    "the backup has a column `{table}.{name}` that this database does not have"
                ))
            })?;
            kinds.push(column.kind);
        }
        for row in &rows {
            check_row(table, columns, &kinds, row)?;
        }
        if !target.self_refs.is_empty() {
            let refs: Vec<(usize, usize)> = target
                .self_refs
                .iter()
                .filter_map(|&(child, parent)| {
                    let position = |i: usize| {
                        let name = &target.columns.get(i)?.name;
                        columns.iter().position(|c| c == name)
                    };
                    Some((position(child)?, position(parent)?))
                })
                .collect();
            rows = parents_first(rows, &refs);
        }
        let list = columns
            .iter()
            .map(|c| quoted(c))
            .collect::<Vec<_>>()
            .join(", ");
        let template = format!(
            "({})",
            kinds
                .iter()
                .map(|k| match k {
                    Kind::Int => "cast(? as bigint)",
                    Kind::Text => "?",
                })
                .collect::<Vec<_>>()
                .join(", ")
        );
        let per_statement = (MAX_PARAMS / columns.len().max(1)).clamp(1, MAX_ROWS);
        let mut written = 0;
        let mut rows = rows.into_iter().peekable();
        while rows.peek().is_some() {
            let chunk: Vec<Vec<Value>> = rows.by_ref().take(per_statement).collect();
            let sql = format!(
                "insert into {} ({list}) values {}",
                quoted(table),
                value_rows(1, chunk.len(), &template)
            );
            let mut insert = stmt(sql);
            for value in chunk.into_iter().flatten() {
                insert = insert.bind(value);
            }
            written += self.tx.run(insert).await?;
        }
        Ok(written)
    }

    pub async fn commit(self) -> StoreResult<()> {
        self.tx.commit().await
    }
}

fn mismatch(detail: String) -> StoreError {
    StoreError::Corrupt {
        what: "the backup",
        detail,
    }
}

fn check_row(table: &str, columns: &[String], kinds: &[Kind], row: &[Value]) -> StoreResult<()> {
    if row.len() != kinds.len() {
        return Err(mismatch(format!(
            "a row of `{table}` has {} values for {} columns",
            row.len(),
            kinds.len()
        )));
    }
    for ((value, kind), name) in row.iter().zip(kinds).zip(columns) {
        let fits = matches!(
            (value, kind),
            (Value::Int(_), Kind::Int) | (Value::Text(_), Kind::Text)
        );
        if !fits {
            return Err(mismatch(format!(
                "`{table}.{name}` holds a value of the wrong kind"
            )));
        }
    }
    Ok(())
}

/// Orders the rows of a table that references itself so that a row comes after the row it
/// references (`refs`: (child column, parent column) positions). Rows whose parent is missing
/// or in a cycle keep their place at the end, for the database to refuse by name.
fn parents_first(rows: Vec<Vec<Value>>, refs: &[(usize, usize)]) -> Vec<Vec<Value>> {
    let key = |row: &[Value], i: usize| row.get(i).cloned();
    let mut placed: HashSet<(usize, Value)> = HashSet::new();
    let mut waiting = rows;
    let mut ordered = Vec::with_capacity(waiting.len());
    loop {
        let before = waiting.len();
        let (ready, rest): (Vec<_>, Vec<_>) = waiting.into_iter().partition(|row| {
            refs.iter().all(|&(child, parent)| match key(row, child) {
                None | Some(Value::Int(None)) | Some(Value::Text(None)) => true,
                Some(value) => placed.contains(&(parent, value)),
            })
        });
        for row in &ready {
            for &(_, parent) in refs {
                if let Some(value) = key(row, parent) {
                    placed.insert((parent, value));
                }
            }
        }
        ordered.extend(ready);
        waiting = rest;
        if waiting.is_empty() || waiting.len() == before {
            break;
        }
    }
    ordered.extend(waiting);
    ordered
}

#[cfg(test)]
mod tests {
    use super::*;

    fn category(id: &str, parent: Option<&str>) -> Vec<Value> {
        vec![Value::from(id), Value::from(parent)]
    }

    #[test]
    fn children_of_a_self_referencing_table_come_after_their_parents() {
        let rows = vec![
            category("c", Some("b")),
            category("b", Some("a")),
            category("a", None),
            category("d", None),
        ];
        let ordered = parents_first(rows, &[(1, 0)]);
        let ids: Vec<Value> = ordered.iter().map(|r| r[0].clone()).collect();
        assert_eq!(
            ids,
            [
                Value::from("a"),
                Value::from("d"),
                Value::from("b"),
                Value::from("c")
            ]
        );
    }

    #[test]
    fn rows_in_a_cycle_keep_their_place_at_the_end() {
        let rows = vec![
            category("x", Some("y")),
            category("y", Some("x")),
            category("z", None),
        ];
        let ordered = parents_first(rows, &[(1, 0)]);
        assert_eq!(ordered[0][0], Value::from("z"));
        assert_eq!(ordered.len(), 3);
    }

    #[test]
    fn a_value_of_the_wrong_kind_is_refused_by_column() {
        let columns = vec!["id".to_owned(), "qty".to_owned()];
        let err = check_row(
            "stock_levels",
            &columns,
            &[Kind::Text, Kind::Int],
            &[Value::from("a"), Value::from("12")],
        )
        .unwrap_err();
        assert!(err.to_string().contains("backup"), "{err}");
        let StoreError::Corrupt { detail, .. } = err else {
            panic!("not a mismatch")
        };
        assert!(detail.contains("stock_levels.qty"), "{detail}");
    }
}

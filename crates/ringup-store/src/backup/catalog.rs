//! The tables and columns of the schema as the database's own catalog describes them: the one
//! place where reading the catalog differs between the engines.

use std::collections::{BTreeMap, BTreeSet};

use sqlx::{AnyConnection, Row as _};

use super::{MIGRATIONS_TABLE, quoted};
use crate::platform::db::Engine;
use crate::platform::error::{StoreError, StoreResult};

/// What a column holds: every column of the schema is one of these on both engines.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    Int,
    Text,
}

#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Column {
    pub name: String,
    pub kind: Kind,
}

/// A table, its columns in the catalog's order, and its foreign keys.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Table {
    pub name: String,
    pub columns: Vec<Column>,
    /// The tables this one references, itself excluded.
    pub parents: BTreeSet<String>,
    /// Foreign keys to itself, as (child column, parent column) indexes into `columns`: rows
    /// must be written parents first.
    pub self_refs: Vec<(usize, usize)>,
}

impl Table {
    /// The quoted column names, comma-separated.
    pub(super) fn column_list(&self) -> String {
        self.columns
            .iter()
            .map(|c| quoted(&c.name))
            .collect::<Vec<_>>()
            .join(", ")
    }

    pub fn column(&self, name: &str) -> Option<(usize, &Column)> {
        self.columns
            .iter()
            .enumerate()
            .find(|(_, c)| c.name == name)
    }
}

/// Every table but the migrator's, parents before children.
pub(super) async fn tables(conn: &mut AnyConnection, engine: Engine) -> StoreResult<Vec<Table>> {
    let names: Vec<String> = match engine {
        Engine::Sqlite => {
            sqlx::query_scalar(
                "select name from sqlite_master where type = 'table' \
                 and name not like 'sqlite_%' order by name",
            )
            .fetch_all(&mut *conn)
            .await?
        }
        Engine::Postgres => {
            sqlx::query_scalar(
                "select table_name::text from information_schema.tables \
                 where table_schema = current_schema() and table_type = 'BASE TABLE' \
                 order by table_name",
            )
            .fetch_all(&mut *conn)
            .await?
        }
    };
    let mut tables = Vec::new();
    for name in names.into_iter().filter(|n| n != MIGRATIONS_TABLE) {
        let columns = columns(conn, engine, &name).await?;
        let mut table = Table {
            name,
            columns,
            parents: BTreeSet::new(),
            self_refs: Vec::new(),
        };
        for (from, parent, to) in foreign_keys(conn, engine, &table.name).await? {
            if parent != table.name {
                table.parents.insert(parent);
                continue;
            }
            let index = |column: &str| table.column(column).map(|(i, _)| i);
            if let (Some(from), Some(to)) = (index(&from), index(&to)) {
                table.self_refs.push((from, to));
            }
        }
        tables.push(table);
    }
    parents_first(tables)
}

async fn columns(
    conn: &mut AnyConnection,
    engine: Engine,
    table: &str,
) -> StoreResult<Vec<Column>> {
    let rows = match engine {
        Engine::Sqlite => {
            sqlx::query("select name, lower(type) as type from pragma_table_info($1) order by cid")
                .bind(table)
                .fetch_all(&mut *conn)
                .await?
        }
        Engine::Postgres => {
            sqlx::query(
                "select column_name::text as name, data_type::text as type \
                 from information_schema.columns \
                 where table_schema = current_schema() and table_name = $1 \
                 order by ordinal_position",
            )
            .bind(table)
            .fetch_all(&mut *conn)
            .await?
        }
    };
    rows.iter()
        .map(|row| {
            let name: String = row.try_get("name")?;
            let declared: String = row.try_get("type")?;
            let kind = kind_of(&declared).ok_or_else(|| StoreError::Corrupt {
                what: "the schema",
                detail: format!("{table}.{name} has type `{declared}`, not integer or text"),
            })?;
            Ok(Column { name, kind })
        })
        .collect()
}

/// The kind of a declared column type, on either engine.
fn kind_of(declared: &str) -> Option<Kind> {
    match declared {
        "integer" | "bigint" | "int" | "smallint" => Some(Kind::Int),
        "text" | "character varying" => Some(Kind::Text),
        _ => None,
    }
}

/// `(column, referenced table, referenced column)` for each foreign key of `table`.
async fn foreign_keys(
    conn: &mut AnyConnection,
    engine: Engine,
    table: &str,
) -> StoreResult<Vec<(String, String, String)>> {
    let rows = match engine {
        Engine::Sqlite => {
            sqlx::query(
                "select \"from\" as from_column, \"table\" as parent, \"to\" as to_column \
                 from pragma_foreign_key_list($1)",
            )
            .bind(table)
            .fetch_all(&mut *conn)
            .await?
        }
        Engine::Postgres => {
            sqlx::query(
                "select kcu.column_name::text as from_column, ccu.table_name::text as parent, \
                        ccu.column_name::text as to_column \
                 from information_schema.table_constraints tc \
                 join information_schema.key_column_usage kcu \
                   on kcu.constraint_name = tc.constraint_name \
                  and kcu.table_schema = tc.table_schema \
                 join information_schema.constraint_column_usage ccu \
                   on ccu.constraint_name = tc.constraint_name \
                  and ccu.table_schema = tc.table_schema \
                 where tc.constraint_type = 'FOREIGN KEY' \
                   and tc.table_schema = current_schema() and tc.table_name = $1",
            )
            .bind(table)
            .fetch_all(&mut *conn)
            .await?
        }
    };
    rows.iter()
        .map(|row| {
            // SQLite leaves `to` empty for a key that references the parent's primary key.
            let to: Option<String> = row.try_get("to_column")?;
            Ok((
                row.try_get("from_column")?,
                row.try_get("parent")?,
                to.filter(|t| !t.is_empty())
                    .unwrap_or_else(|| "id".to_owned()),
            ))
        })
        .collect()
}

/// Orders tables so every table comes after the tables it references (Kahn's algorithm, ties
/// by name so the order is stable). A cycle between tables cannot be copied row by row.
fn parents_first(tables: Vec<Table>) -> StoreResult<Vec<Table>> {
    let mut waiting: BTreeMap<String, Table> =
        tables.into_iter().map(|t| (t.name.clone(), t)).collect();
    let mut ordered: Vec<Table> = Vec::with_capacity(waiting.len());
    while !waiting.is_empty() {
        let placed: BTreeSet<&str> = ordered.iter().map(|t| t.name.as_str()).collect();
        let ready: Vec<String> = waiting
            .values()
            .filter(|t| {
                t.parents
                    .iter()
                    .all(|p| placed.contains(p.as_str()) || !waiting.contains_key(p))
            })
            .map(|t| t.name.clone())
            .collect();
        if ready.is_empty() {
            return Err(StoreError::Corrupt {
                what: "the schema",
                detail: format!(
                    "foreign keys form a cycle between {}",
                    waiting.keys().cloned().collect::<Vec<_>>().join(", ")
                ),
            });
        }
        for name in ready {
            if let Some(table) = waiting.remove(&name) {
                ordered.push(table);
            }
        }
    }
    Ok(ordered)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table(name: &str, parents: &[&str]) -> Table {
        Table {
            name: name.into(),
            columns: Vec::new(),
            parents: parents.iter().map(|p| (*p).to_owned()).collect(),
            self_refs: Vec::new(),
        }
    }

    fn names(tables: &[Table]) -> Vec<&str> {
        tables.iter().map(|t| t.name.as_str()).collect()
    }

    #[test]
    fn tables_come_after_the_tables_they_reference() {
        let ordered = parents_first(vec![
            table("sale_lines", &["sales", "products"]),
            table("sales", &["stores"]),
            table("products", &[]),
            table("stores", &[]),
        ])
        .unwrap_or_default();
        assert_eq!(
            names(&ordered),
            ["products", "stores", "sales", "sale_lines"]
        );
    }

    #[test]
    fn a_cycle_between_tables_is_refused_by_name() {
        let err = parents_first(vec![table("a", &["b"]), table("b", &["a"])])
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(err.contains("cycle between a, b"), "{err}");
    }

    #[test]
    fn both_engines_declared_types_map_to_the_two_kinds() {
        assert_eq!(kind_of("bigint"), Some(Kind::Int));
        assert_eq!(kind_of("integer"), Some(Kind::Int));
        assert_eq!(kind_of("text"), Some(Kind::Text));
        assert_eq!(kind_of("real"), None);
        assert_eq!(kind_of("bytea"), None);
    }
}

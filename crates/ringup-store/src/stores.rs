//! Stores: the scope of every role and every stock and sales figure.
//!
//! Invariant: `code` is unique. This module holds what identity needs (existence checks and
//! inserting a store); the catalog capability adds the rest.

use sqlx::{AnyConnection, Row};

use ringup_core::ids::StoreId;

use crate::db::placeholders;
use crate::error::StoreResult;

pub struct NewStoreRow<'a> {
    pub id: StoreId,
    pub code: &'a str,
    pub name: &'a str,
    pub currency: &'a str,
    pub timezone: &'a str,
    pub prices_include_tax: bool,
    pub allow_negative_stock: bool,
    pub now: &'a str,
}

pub async fn insert_store(conn: &mut AnyConnection, store: &NewStoreRow<'_>) -> StoreResult<()> {
    sqlx::query(
        "insert into stores (id, code, name, currency, timezone, prices_include_tax, \
         allow_negative_stock, created_at, updated_at) values ($1, $2, $3, $4, $5, $6, $7, $8, $8)",
    )
    .bind(store.id.to_string())
    .bind(store.code)
    .bind(store.name)
    .bind(store.currency)
    .bind(store.timezone)
    .bind(i64::from(store.prices_include_tax))
    .bind(i64::from(store.allow_negative_stock))
    .bind(store.now)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// The ids among `ids` that name no store, in the order given.
pub async fn missing_stores(
    conn: &mut AnyConnection,
    ids: &[StoreId],
) -> StoreResult<Vec<StoreId>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let sql = sqlx::AssertSqlSafe(format!(
        "select id from stores where id in ({})",
        placeholders(1, ids.len())
    ));
    let mut query = sqlx::query(sql);
    for id in ids {
        query = query.bind(id.to_string());
    }
    let found: Vec<String> = query
        .fetch_all(&mut *conn)
        .await?
        .iter()
        .map(|r| r.try_get::<String, _>("id"))
        .collect::<Result<_, _>>()?;
    Ok(ids
        .iter()
        .filter(|id| !found.contains(&id.to_string()))
        .copied()
        .collect())
}

//! Stores and their registers: the scope of every role and every stock and sales figure.
//!
//! Invariants: a store's `code` is unique; a register's name is unique within its store; a
//! store's `country` is an upper-case ISO 3166-1 alpha-2 code (checked by the caller).

use chrono::{DateTime, Utc};
use sqlx::AnyConnection;

use ringup_core::ids::{RegisterId, StoreId};

use crate::platform::db::{Db, placeholders};
use crate::platform::decode::{flag, parsed};
use crate::platform::error::{StoreError, StoreResult};
use crate::platform::page::{After, Page, page_of};
use crate::platform::row::Flag;
use crate::platform::sql::{Sql, stmt};
use crate::platform::time;

#[derive(Clone, Debug, PartialEq, Eq, sqlx::FromRow)]
pub struct StoreRow {
    #[sqlx(try_from = "String")]
    pub id: StoreId,
    pub code: String,
    pub name: String,
    pub currency: String,
    pub timezone: String,
    #[sqlx(try_from = "Flag")]
    pub prices_include_tax: bool,
    #[sqlx(try_from = "Flag")]
    pub allow_negative_stock: bool,
    /// ISO 3166-1 alpha-2: the country national phone numbers are read in.
    pub country: String,
    /// `HH:MM` in the store's zone: when its daily summary mail goes out (migration 0013).
    pub daily_summary_at: String,
    pub created_at: String,
    pub updated_at: String,
}

/// A figure of each store, named by its code (what `/metrics` labels a store with: a code is
/// short and chosen by people, an id is neither).
#[derive(Clone, Debug, PartialEq, Eq, sqlx::FromRow)]
pub struct PerStore {
    pub code: String,
    pub value: i64,
}

impl StoreRow {
    /// The store's IANA zone, in which its business days are counted.
    pub fn time_zone(&self) -> StoreResult<chrono_tz::Tz> {
        self.timezone
            .parse()
            .map_err(|_| StoreError::corrupt("stores.timezone", self.timezone.clone()))
    }
}

const STORE_COLUMNS: &str = "id, code, name, currency, timezone, prices_include_tax, \
     allow_negative_stock, country, daily_summary_at, created_at, updated_at";

/// One store, if it exists, on a read connection or inside a write.
pub async fn find_store(conn: &mut impl Sql, id: StoreId) -> StoreResult<Option<StoreRow>> {
    let sql = format!("select {STORE_COLUMNS} from stores where id = $1");
    let Some(row) = conn.optional_row(stmt(sql).bind(id.to_string())).await? else {
        return Ok(None);
    };
    Ok(Some(StoreRow {
        id: parsed(&row, "id", "stores.id")?,
        code: row.text("code")?,
        name: row.text("name")?,
        currency: row.text("currency")?,
        timezone: row.text("timezone")?,
        prices_include_tax: flag(&row, "prices_include_tax")?,
        allow_negative_stock: flag(&row, "allow_negative_stock")?,
        country: row.text("country")?,
        daily_summary_at: row.text("daily_summary_at")?,
        created_at: row.text("created_at")?,
        updated_at: row.text("updated_at")?,
    }))
}

/// Every store, in id order (the mail worker looks at each store's summary time).
pub async fn all_stores(db: &Db) -> StoreResult<Vec<StoreRow>> {
    let sql = sqlx::AssertSqlSafe(format!("select {STORE_COLUMNS} from stores order by id"));
    Ok(sqlx::query_as(sql).fetch_all(db.reader()).await?)
}

/// Stores in id order; with `scope`, only those stores.
pub async fn list_stores(
    db: &Db,
    scope: Option<&[StoreId]>,
    after: Option<&After>,
    limit: usize,
) -> StoreResult<Page<StoreRow>> {
    let in_scope = match scope {
        None => String::new(),
        Some(ids) => format!("and id in ({})", placeholders(3, ids.len().max(1))),
    };
    let sql = sqlx::AssertSqlSafe(format!(
        "select {STORE_COLUMNS} from stores where id > $1 {in_scope} order by id limit $2"
    ));
    let mut query = sqlx::query_as(sql)
        .bind(after.map(|a| a.0.clone()).unwrap_or_default())
        .bind(i64::try_from(limit).unwrap_or(i64::MAX).saturating_add(1));
    if let Some(ids) = scope {
        if ids.is_empty() {
            query = query.bind(String::new());
        }
        for id in ids {
            query = query.bind(id.to_string());
        }
    }
    let stores: Vec<StoreRow> = query.fetch_all(db.reader()).await?;
    Ok(page_of(stores, limit, |s| s.id.to_string()))
}

/// Changes to a store; `None` leaves a field as it is.
#[derive(Default)]
pub struct StorePatchRow<'a> {
    pub name: Option<&'a str>,
    pub currency: Option<&'a str>,
    pub timezone: Option<&'a str>,
    pub prices_include_tax: Option<bool>,
    pub allow_negative_stock: Option<bool>,
    pub country: Option<&'a str>,
    pub daily_summary_at: Option<&'a str>,
}

/// Applies a patch; false when the store does not exist.
pub async fn update_store(
    conn: &mut AnyConnection,
    id: StoreId,
    patch: &StorePatchRow<'_>,
    at: DateTime<Utc>,
) -> StoreResult<bool> {
    let now: &str = &time::to_db(at);
    let n = sqlx::query(
        "update stores set name = coalesce($2, name), currency = coalesce($3, currency), \
         timezone = coalesce($4, timezone), \
         prices_include_tax = coalesce($5, prices_include_tax), \
         allow_negative_stock = coalesce($6, allow_negative_stock), \
         country = coalesce($8, country), \
         daily_summary_at = coalesce($9, daily_summary_at), updated_at = $7 where id = $1",
    )
    .bind(id.to_string())
    .bind(patch.name)
    .bind(patch.currency)
    .bind(patch.timezone)
    .bind(patch.prices_include_tax.map(i64::from))
    .bind(patch.allow_negative_stock.map(i64::from))
    .bind(now)
    .bind(patch.country)
    .bind(patch.daily_summary_at)
    .execute(&mut *conn)
    .await?
    .rows_affected();
    Ok(n > 0)
}

#[derive(Clone, Debug, PartialEq, Eq, sqlx::FromRow)]
pub struct RegisterRow {
    #[sqlx(try_from = "String")]
    pub id: RegisterId,
    #[sqlx(try_from = "String")]
    pub store_id: StoreId,
    pub name: String,
    #[sqlx(try_from = "Flag")]
    pub active: bool,
    pub created_at: String,
    pub updated_at: String,
}

const REGISTER_COLUMNS: &str = "id, store_id, name, active, created_at, updated_at";

pub async fn insert_register(
    conn: &mut AnyConnection,
    id: RegisterId,
    store: StoreId,
    name: &str,
    at: DateTime<Utc>,
) -> StoreResult<RegisterRow> {
    let now: &str = &time::to_db(at);
    let sql = sqlx::AssertSqlSafe(format!(
        "insert into registers (id, store_id, name, active, created_at, updated_at) \
         values ($1, $2, $3, 1, $4, $4) returning {REGISTER_COLUMNS}"
    ));
    Ok(sqlx::query_as(sql)
        .bind(id.to_string())
        .bind(store.to_string())
        .bind(name)
        .bind(now)
        .fetch_one(&mut *conn)
        .await?)
}

/// A store's registers in id order.
pub async fn list_registers(
    db: &Db,
    store: StoreId,
    after: Option<&After>,
    limit: usize,
) -> StoreResult<Page<RegisterRow>> {
    let sql = sqlx::AssertSqlSafe(format!(
        "select {REGISTER_COLUMNS} from registers where store_id = $1 and id > $2 \
         order by id limit $3"
    ));
    let registers: Vec<RegisterRow> = sqlx::query_as(sql)
        .bind(store.to_string())
        .bind(after.map(|a| a.0.clone()).unwrap_or_default())
        .bind(i64::try_from(limit).unwrap_or(i64::MAX).saturating_add(1))
        .fetch_all(db.reader())
        .await?;
    Ok(page_of(registers, limit, |r| r.id.to_string()))
}

pub struct NewStoreRow<'a> {
    pub id: StoreId,
    pub code: &'a str,
    pub name: &'a str,
    pub currency: &'a str,
    pub timezone: &'a str,
    pub prices_include_tax: bool,
    pub allow_negative_stock: bool,
    /// ISO 3166-1 alpha-2 (`KE` unless the caller says otherwise).
    pub country: &'a str,
    pub at: DateTime<Utc>,
}

pub async fn insert_store(conn: &mut AnyConnection, store: &NewStoreRow<'_>) -> StoreResult<()> {
    sqlx::query(
        "insert into stores (id, code, name, currency, timezone, prices_include_tax, \
         allow_negative_stock, country, created_at, updated_at) \
         values ($1, $2, $3, $4, $5, $6, $7, $9, $8, $8)",
    )
    .bind(store.id.to_string())
    .bind(store.code)
    .bind(store.name)
    .bind(store.currency)
    .bind(store.timezone)
    .bind(i64::from(store.prices_include_tax))
    .bind(i64::from(store.allow_negative_stock))
    .bind(time::to_db(store.at))
    .bind(store.country)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// The ids among `ids` that name no store, in the order given.
pub async fn missing_stores(conn: &mut impl Sql, ids: &[StoreId]) -> StoreResult<Vec<StoreId>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let sql = format!(
        "select id from stores where id in ({})",
        placeholders(1, ids.len())
    );
    let mut query = stmt(sql);
    for id in ids {
        query = query.bind(id.to_string());
    }
    let found = conn
        .rows(query)
        .await?
        .iter()
        .map(|row| parsed(row, "id", "stores.id"))
        .collect::<StoreResult<Vec<StoreId>>>()?;
    Ok(ids
        .iter()
        .filter(|id| !found.contains(id))
        .copied()
        .collect())
}

//! Tax classes: a named rate in basis points that products point at.
//!
//! Invariants: a tax class's `name` is unique; its rate is 0..=10000 basis points (the schema's
//! check constraint backs the `RateBp` the callers pass).

use chrono::{DateTime, Utc};
use sqlx::AnyConnection;

use ringup_core::ids::TaxClassId;
use ringup_core::rate::RateBp;

use crate::platform::db::Db;
use crate::platform::error::StoreResult;
use crate::platform::page::{After, Page, page_of};
use crate::platform::time;

#[derive(Clone, Debug, PartialEq, Eq, sqlx::FromRow)]
pub struct TaxClassRow {
    #[sqlx(try_from = "String")]
    pub id: TaxClassId,
    pub name: String,
    #[sqlx(try_from = "i64")]
    pub rate_bp: RateBp,
    pub created_at: String,
    pub updated_at: String,
}

const TAX_CLASS_COLUMNS: &str = "id, name, rate_bp, created_at, updated_at";

/// Inserts a tax class; a taken name is a unique violation on `tax_classes.name`.
pub async fn insert_tax_class(
    conn: &mut AnyConnection,
    id: TaxClassId,
    name: &str,
    rate: RateBp,
    at: DateTime<Utc>,
) -> StoreResult<TaxClassRow> {
    let now: &str = &time::to_db(at);
    let sql = sqlx::AssertSqlSafe(format!(
        "insert into tax_classes (id, name, rate_bp, created_at, updated_at) \
         values ($1, $2, $3, $4, $4) returning {TAX_CLASS_COLUMNS}"
    ));
    Ok(sqlx::query_as(sql)
        .bind(id.to_string())
        .bind(name)
        .bind(rate.value())
        .bind(now)
        .fetch_one(&mut *conn)
        .await?)
}

/// One tax class, if it exists.
pub async fn find_tax_class(
    conn: &mut AnyConnection,
    id: TaxClassId,
) -> StoreResult<Option<TaxClassRow>> {
    let sql = sqlx::AssertSqlSafe(format!(
        "select {TAX_CLASS_COLUMNS} from tax_classes where id = $1"
    ));
    Ok(sqlx::query_as(sql)
        .bind(id.to_string())
        .fetch_optional(&mut *conn)
        .await?)
}

/// Tax classes in id order.
pub async fn list_tax_classes(
    db: &Db,
    after: Option<&After>,
    limit: usize,
) -> StoreResult<Page<TaxClassRow>> {
    let sql = sqlx::AssertSqlSafe(format!(
        "select {TAX_CLASS_COLUMNS} from tax_classes where id > $1 order by id limit $2"
    ));
    let classes: Vec<TaxClassRow> = sqlx::query_as(sql)
        .bind(after.map(|a| a.0.clone()).unwrap_or_default())
        .bind(i64::try_from(limit).unwrap_or(i64::MAX).saturating_add(1))
        .fetch_all(db.reader())
        .await?;
    Ok(page_of(classes, limit, |c| c.id.to_string()))
}

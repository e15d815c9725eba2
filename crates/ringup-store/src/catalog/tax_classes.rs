//! Tax classes: a named rate in basis points that products point at.
//!
//! Invariants: a tax class's `name` is unique; its rate is 0..=10000 basis points (the schema's
//! check constraint backs the `RateBp` the callers pass).

use sqlx::{AnyConnection, Row, any::AnyRow};

use ringup_core::ids::TaxClassId;
use ringup_core::rate::RateBp;

use crate::platform::db::Db;
use crate::platform::error::{StoreError, StoreResult};
use crate::platform::page::{After, Page, page_of};

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TaxClassRow {
    pub id: TaxClassId,
    pub name: String,
    pub rate_bp: RateBp,
    pub created_at: String,
    pub updated_at: String,
}

const TAX_CLASS_COLUMNS: &str = "id, name, rate_bp, created_at, updated_at";

fn tax_class_from_row(row: &AnyRow) -> StoreResult<TaxClassRow> {
    let id: String = row.try_get("id")?;
    let rate: i64 = row.try_get("rate_bp")?;
    Ok(TaxClassRow {
        id: TaxClassId::parse(&id).map_err(|e| StoreError::corrupt("tax_classes.id", e))?,
        name: row.try_get("name")?,
        rate_bp: RateBp::new(rate).map_err(|e| StoreError::corrupt("tax_classes.rate_bp", e))?,
        created_at: row.try_get("created_at")?,
        updated_at: row.try_get("updated_at")?,
    })
}

/// Inserts a tax class; a taken name is a unique violation on `tax_classes.name`.
pub async fn insert_tax_class(
    conn: &mut AnyConnection,
    id: TaxClassId,
    name: &str,
    rate: RateBp,
    now: &str,
) -> StoreResult<TaxClassRow> {
    let sql = sqlx::AssertSqlSafe(format!(
        "insert into tax_classes (id, name, rate_bp, created_at, updated_at) \
         values ($1, $2, $3, $4, $4) returning {TAX_CLASS_COLUMNS}"
    ));
    let row = sqlx::query(sql)
        .bind(id.to_string())
        .bind(name)
        .bind(rate.value())
        .bind(now)
        .fetch_one(&mut *conn)
        .await?;
    tax_class_from_row(&row)
}

/// One tax class, if it exists.
pub async fn find_tax_class(
    conn: &mut AnyConnection,
    id: TaxClassId,
) -> StoreResult<Option<TaxClassRow>> {
    let sql = sqlx::AssertSqlSafe(format!(
        "select {TAX_CLASS_COLUMNS} from tax_classes where id = $1"
    ));
    let row = sqlx::query(sql)
        .bind(id.to_string())
        .fetch_optional(&mut *conn)
        .await?;
    row.as_ref().map(tax_class_from_row).transpose()
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
    let rows = sqlx::query(sql)
        .bind(after.map(|a| a.0.clone()).unwrap_or_default())
        .bind(i64::try_from(limit).unwrap_or(i64::MAX).saturating_add(1))
        .fetch_all(db.reader())
        .await?;
    let classes = rows
        .iter()
        .map(tax_class_from_row)
        .collect::<StoreResult<Vec<_>>>()?;
    Ok(page_of(classes, limit, |c| c.id.to_string()))
}

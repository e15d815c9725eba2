//! Products: the catalog's sellable items.
//!
//! Invariants: `sku_key` (the upper-cased SKU) is unique, so SKUs are unique ignoring case;
//! `barcode` is unique exactly as sent; `name_key` is the lower-cased name. Prefix searches are
//! range predicates on those keys (`key >= q and key < q || U+10FFFF`), never `LIKE`, so they
//! use the indexes on both engines. Archiving sets `active = 0` and keeps the row.

use chrono::{DateTime, Utc};
use sqlx::AnyConnection;

use ringup_core::ids::{CategoryId, ProductId, TaxClassId};

use crate::platform::db::{Db, placeholders};
use crate::platform::decode::parsed;
use crate::platform::error::StoreResult;
use crate::platform::filter::Conditions;
use crate::platform::page::{After, Page, page_of};
use crate::platform::row::{Flag, NullableId};
use crate::platform::sql::{Sql, stmt};
use crate::platform::time;

#[derive(Clone, Debug, PartialEq, Eq, sqlx::FromRow)]
pub struct ProductRow {
    #[sqlx(try_from = "String")]
    pub id: ProductId,
    pub sku: String,
    pub barcode: Option<String>,
    pub name: String,
    #[sqlx(try_from = "NullableId<CategoryId>")]
    pub category_id: Option<CategoryId>,
    pub price: i64,
    pub cost: i64,
    #[sqlx(try_from = "String")]
    pub tax_class_id: TaxClassId,
    pub low_stock_threshold: i64,
    #[sqlx(try_from = "Flag")]
    pub active: bool,
    pub created_at: String,
    pub updated_at: String,
}

const PRODUCT_COLUMNS: &str = "id, sku, barcode, name, category_id, price, cost, tax_class_id, \
     low_stock_threshold, active, created_at, updated_at";

/// A product's stored values; `sku_key` and `name_key` are derived from `sku` and `name` here.
pub struct ProductValues<'a> {
    pub sku: &'a str,
    pub barcode: Option<&'a str>,
    pub name: &'a str,
    pub category_id: Option<CategoryId>,
    pub price: i64,
    pub cost: i64,
    pub tax_class_id: TaxClassId,
    pub low_stock_threshold: i64,
    pub active: bool,
}

/// The SKU's search and uniqueness key.
pub fn sku_key(sku: &str) -> String {
    sku.to_uppercase()
}

/// The name's search key.
pub fn name_key(name: &str) -> String {
    name.to_lowercase()
}

pub async fn insert_product(
    conn: &mut AnyConnection,
    id: ProductId,
    values: &ProductValues<'_>,
    at: DateTime<Utc>,
) -> StoreResult<ProductRow> {
    let now: &str = &time::to_db(at);
    let sql = sqlx::AssertSqlSafe(format!(
        "insert into products (id, sku, sku_key, barcode, name, name_key, category_id, price, \
         cost, tax_class_id, low_stock_threshold, active, created_at, updated_at) \
         values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $13) \
         returning {PRODUCT_COLUMNS}"
    ));
    Ok(sqlx::query_as(sql)
        .bind(id.to_string())
        .bind(values.sku)
        .bind(sku_key(values.sku))
        .bind(values.barcode)
        .bind(values.name)
        .bind(name_key(values.name))
        .bind(values.category_id.map(|c| c.to_string()))
        .bind(values.price)
        .bind(values.cost)
        .bind(values.tax_class_id.to_string())
        .bind(values.low_stock_threshold)
        .bind(i64::from(values.active))
        .bind(now)
        .fetch_one(&mut *conn)
        .await?)
}

/// Replaces a product's values (the SKU never changes); false when it does not exist.
pub async fn update_product(
    conn: &mut AnyConnection,
    id: ProductId,
    values: &ProductValues<'_>,
    at: DateTime<Utc>,
) -> StoreResult<bool> {
    let now: &str = &time::to_db(at);
    let n = sqlx::query(
        "update products set barcode = $2, name = $3, name_key = $4, category_id = $5, \
         price = $6, cost = $7, tax_class_id = $8, low_stock_threshold = $9, active = $10, \
         updated_at = $11 where id = $1",
    )
    .bind(id.to_string())
    .bind(values.barcode)
    .bind(values.name)
    .bind(name_key(values.name))
    .bind(values.category_id.map(|c| c.to_string()))
    .bind(values.price)
    .bind(values.cost)
    .bind(values.tax_class_id.to_string())
    .bind(values.low_stock_threshold)
    .bind(i64::from(values.active))
    .bind(now)
    .execute(&mut *conn)
    .await?
    .rows_affected();
    Ok(n > 0)
}

/// One product, archived or not, if it exists.
pub async fn find_product(
    conn: &mut AnyConnection,
    id: ProductId,
) -> StoreResult<Option<ProductRow>> {
    let sql = sqlx::AssertSqlSafe(format!(
        "select {PRODUCT_COLUMNS} from products where id = $1"
    ));
    Ok(sqlx::query_as(sql)
        .bind(id.to_string())
        .fetch_optional(&mut *conn)
        .await?)
}

/// Whether a tax class with this id exists.
pub async fn tax_class_exists(conn: &mut AnyConnection, id: TaxClassId) -> StoreResult<bool> {
    let row = sqlx::query("select 1 from tax_classes where id = $1")
        .bind(id.to_string())
        .fetch_optional(&mut *conn)
        .await?;
    Ok(row.is_some())
}

/// Whether a category with this id exists.
pub async fn category_exists(conn: &mut AnyConnection, id: CategoryId) -> StoreResult<bool> {
    let row = sqlx::query("select 1 from categories where id = $1")
        .bind(id.to_string())
        .fetch_optional(&mut *conn)
        .await?;
    Ok(row.is_some())
}

/// Which of `ids` name existing products (archived ones included).
pub async fn existing_products(
    conn: &mut impl Sql,
    ids: &[ProductId],
) -> StoreResult<Vec<ProductId>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let sql = format!(
        "select id from products where id in ({})",
        placeholders(1, ids.len())
    );
    let mut query = stmt(sql);
    for id in ids {
        query = query.bind(id.to_string());
    }
    let rows = conn.rows(query).await?;
    rows.iter()
        .map(|row| parsed(row, "id", "products.id"))
        .collect()
}

/// List filters; `None` does not filter.
#[derive(Default)]
pub struct ProductFilter<'a> {
    /// A prefix of the name or of the SKU, ignoring case.
    pub q: Option<&'a str>,
    /// The exact barcode.
    pub barcode: Option<&'a str>,
    pub category_id: Option<CategoryId>,
    pub active: Option<bool>,
}

/// Products matching `filter`, in id order.
pub async fn list_products(
    db: &Db,
    filter: &ProductFilter<'_>,
    after: Option<&After>,
    limit: usize,
) -> StoreResult<Page<ProductRow>> {
    let mut conditions = Conditions::after_cursor("id");
    if let Some(q) = filter.q {
        let lower = name_key(q);
        let upper = sku_key(q);
        let (n_lo, n_hi) = (
            conditions.param(lower.clone()),
            conditions.param(format!("{lower}\u{10FFFF}")),
        );
        let (s_lo, s_hi) = (
            conditions.param(upper.clone()),
            conditions.param(format!("{upper}\u{10FFFF}")),
        );
        conditions.push(format!(
            "((name_key >= {n_lo} and name_key < {n_hi}) \
             or (sku_key >= {s_lo} and sku_key < {s_hi}))"
        ));
    }
    if let Some(barcode) = filter.barcode {
        let p = conditions.param(barcode);
        conditions.push(format!("barcode = {p}"));
    }
    if let Some(category) = filter.category_id {
        let p = conditions.param(category.to_string());
        conditions.push(format!("category_id = {p}"));
    }
    if let Some(active) = filter.active {
        // A constant, not a value from the request.
        conditions.push(format!("active = {}", i64::from(active)));
    }
    let mut conn = db.read_conn().await?;
    let select = format!("select {PRODUCT_COLUMNS} from products");
    let products: Vec<ProductRow> = conditions
        .fetch(&mut conn, &select, "order by id limit $2", after, limit)
        .await?;
    Ok(page_of(products, limit, |p| p.id.to_string()))
}

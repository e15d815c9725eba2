//! Categories: a tree of product groupings.
//!
//! Invariants: a category's `parent_id`, when set, names an existing category (a foreign key);
//! a new category can only point at one that already exists, so the tree has no cycles.

use sqlx::{AnyConnection, Row, any::AnyRow};

use ringup_core::ids::CategoryId;

use crate::platform::db::Db;
use crate::platform::error::{StoreError, StoreResult};
use crate::platform::page::{After, Page, page_of};

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CategoryRow {
    pub id: CategoryId,
    pub name: String,
    pub parent_id: Option<CategoryId>,
    pub created_at: String,
    pub updated_at: String,
}

const CATEGORY_COLUMNS: &str = "id, name, parent_id, created_at, updated_at";

fn category_from_row(row: &AnyRow) -> StoreResult<CategoryRow> {
    let id: String = row.try_get("id")?;
    let parent: Option<String> = row.try_get("parent_id")?;
    Ok(CategoryRow {
        id: CategoryId::parse(&id).map_err(|e| StoreError::corrupt("categories.id", e))?,
        name: row.try_get("name")?,
        parent_id: parent
            .as_deref()
            .map(CategoryId::parse)
            .transpose()
            .map_err(|e| StoreError::corrupt("categories.parent_id", e))?,
        created_at: row.try_get("created_at")?,
        updated_at: row.try_get("updated_at")?,
    })
}

/// Inserts a category; the caller checks first that the parent exists (in the same
/// transaction).
pub async fn insert_category(
    conn: &mut AnyConnection,
    id: CategoryId,
    name: &str,
    parent: Option<CategoryId>,
    now: &str,
) -> StoreResult<CategoryRow> {
    let sql = sqlx::AssertSqlSafe(format!(
        "insert into categories (id, name, parent_id, created_at, updated_at) \
         values ($1, $2, $3, $4, $4) returning {CATEGORY_COLUMNS}"
    ));
    let row = sqlx::query(sql)
        .bind(id.to_string())
        .bind(name)
        .bind(parent.map(|p| p.to_string()))
        .bind(now)
        .fetch_one(&mut *conn)
        .await?;
    category_from_row(&row)
}

/// One category, if it exists.
pub async fn find_category(
    conn: &mut AnyConnection,
    id: CategoryId,
) -> StoreResult<Option<CategoryRow>> {
    let sql = sqlx::AssertSqlSafe(format!(
        "select {CATEGORY_COLUMNS} from categories where id = $1"
    ));
    let row = sqlx::query(sql)
        .bind(id.to_string())
        .fetch_optional(&mut *conn)
        .await?;
    row.as_ref().map(category_from_row).transpose()
}

/// Categories in id order.
pub async fn list_categories(
    db: &Db,
    after: Option<&After>,
    limit: usize,
) -> StoreResult<Page<CategoryRow>> {
    let sql = sqlx::AssertSqlSafe(format!(
        "select {CATEGORY_COLUMNS} from categories where id > $1 order by id limit $2"
    ));
    let rows = sqlx::query(sql)
        .bind(after.map(|a| a.0.clone()).unwrap_or_default())
        .bind(i64::try_from(limit).unwrap_or(i64::MAX).saturating_add(1))
        .fetch_all(db.reader())
        .await?;
    let categories = rows
        .iter()
        .map(category_from_row)
        .collect::<StoreResult<Vec<_>>>()?;
    Ok(page_of(categories, limit, |c| c.id.to_string()))
}

//! Categories: a tree of product groupings.
//!
//! Invariants: a category's `parent_id`, when set, names an existing category (a foreign key);
//! a new category can only point at one that already exists, so the tree has no cycles.

use chrono::{DateTime, Utc};
use sqlx::AnyConnection;

use ringup_core::ids::CategoryId;

use crate::platform::db::Db;
use crate::platform::error::StoreResult;
use crate::platform::page::{After, Page, page_of};
use crate::platform::row::NullableId;
use crate::platform::time;

#[derive(Clone, Debug, PartialEq, Eq, sqlx::FromRow)]
pub struct CategoryRow {
    #[sqlx(try_from = "String")]
    pub id: CategoryId,
    pub name: String,
    #[sqlx(try_from = "NullableId<CategoryId>")]
    pub parent_id: Option<CategoryId>,
    pub created_at: String,
    pub updated_at: String,
}

const CATEGORY_COLUMNS: &str = "id, name, parent_id, created_at, updated_at";

/// Inserts a category; the caller checks first that the parent exists (in the same
/// transaction).
pub async fn insert_category(
    conn: &mut AnyConnection,
    id: CategoryId,
    name: &str,
    parent: Option<CategoryId>,
    at: DateTime<Utc>,
) -> StoreResult<CategoryRow> {
    let now: &str = &time::to_db(at);
    let sql = sqlx::AssertSqlSafe(format!(
        "insert into categories (id, name, parent_id, created_at, updated_at) \
         values ($1, $2, $3, $4, $4) returning {CATEGORY_COLUMNS}"
    ));
    Ok(sqlx::query_as(sql)
        .bind(id.to_string())
        .bind(name)
        .bind(parent.map(|p| p.to_string()))
        .bind(now)
        .fetch_one(&mut *conn)
        .await?)
}

/// One category, if it exists.
pub async fn find_category(
    conn: &mut AnyConnection,
    id: CategoryId,
) -> StoreResult<Option<CategoryRow>> {
    let sql = sqlx::AssertSqlSafe(format!(
        "select {CATEGORY_COLUMNS} from categories where id = $1"
    ));
    Ok(sqlx::query_as(sql)
        .bind(id.to_string())
        .fetch_optional(&mut *conn)
        .await?)
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
    let categories: Vec<CategoryRow> = sqlx::query_as(sql)
        .bind(after.map(|a| a.0.clone()).unwrap_or_default())
        .bind(i64::try_from(limit).unwrap_or(i64::MAX).saturating_add(1))
        .fetch_all(db.reader())
        .await?;
    Ok(page_of(categories, limit, |c| c.id.to_string()))
}

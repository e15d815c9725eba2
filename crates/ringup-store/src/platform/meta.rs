//! `app_meta`: small facts about the installation, one row per key (for example when the
//! database was first initialised). Writes are upserts in one statement, so concurrent writers
//! of the same key never fail; the last one wins.

use chrono::Utc;

use crate::platform::db::Db;
use crate::platform::error::StoreResult;
use crate::platform::time;

#[derive(sqlx::FromRow)]
struct ValueRow {
    value: String,
}

/// Reads one value.
pub async fn get(db: &Db, key: &str) -> StoreResult<Option<String>> {
    let row: Option<ValueRow> = sqlx::query_as("select value from app_meta where key = $1")
        .bind(key)
        .fetch_optional(db.reader())
        .await?;
    Ok(row.map(|r| r.value))
}

/// Sets one value, creating the key if needed.
pub async fn put(db: &Db, key: &str, value: &str) -> StoreResult<()> {
    let now = time::to_db(Utc::now());
    let mut tx = db.begin_write().await?;
    sqlx::query(
        "insert into app_meta (key, value, created_at, updated_at) values ($1, $2, $3, $3) \
         on conflict (key) do update set value = excluded.value, updated_at = excluded.updated_at",
    )
    .bind(key)
    .bind(value)
    .bind(&now)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(())
}

/// Records the first start of this database; later calls keep the first value.
pub async fn record_initialised(db: &Db) -> StoreResult<String> {
    let now = time::to_db(Utc::now());
    let mut tx = db.begin_write().await?;
    sqlx::query(
        "insert into app_meta (key, value, created_at, updated_at) \
         values ('initialised_at', $1, $1, $1) on conflict (key) do nothing",
    )
    .bind(&now)
    .execute(&mut *tx)
    .await?;
    let first: ValueRow = sqlx::query_as("select value from app_meta where key = 'initialised_at'")
        .fetch_one(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(first.value)
}

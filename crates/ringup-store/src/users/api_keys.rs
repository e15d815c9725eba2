//! API keys for integrations. Only the SHA-256 of a key is stored (keys carry 256 random bits),
//! with its first characters for recognising it in lists. A revoked key stops working at once:
//! every lookup checks `revoked_at`.

use chrono::{DateTime, Utc};
use sqlx::AnyConnection;

use ringup_core::ids::{ApiKeyId, StoreId, UserId};

use super::StoreOf;
use crate::platform::db::Db;
use crate::platform::error::StoreResult;
use crate::platform::page::{After, Page, page_of};
use crate::platform::time;

/// A key as `COLUMNS` reads it; `store_ids` is filled in by a second query.
#[derive(Clone, Debug, PartialEq, Eq, sqlx::FromRow)]
pub struct ApiKeyRow {
    #[sqlx(try_from = "String")]
    pub id: ApiKeyId,
    pub name: String,
    pub key_prefix: String,
    pub tier: String,
    pub role: String,
    #[sqlx(skip)]
    pub store_ids: Vec<StoreId>,
    pub created_by: Option<String>,
    pub last_used_at: Option<String>,
    pub revoked_at: Option<String>,
    pub created_at: String,
}

pub struct NewApiKeyRow<'a> {
    pub id: ApiKeyId,
    pub name: &'a str,
    pub key_hash: &'a str,
    pub key_prefix: &'a str,
    pub tier: &'a str,
    pub role: &'a str,
    pub store_ids: &'a [StoreId],
    pub created_by: Option<UserId>,
    pub at: DateTime<Utc>,
}

const COLUMNS: &str =
    "id, name, key_prefix, tier, role, created_by, last_used_at, revoked_at, created_at";

async fn load_stores(conn: &mut AnyConnection, key: &mut ApiKeyRow) -> StoreResult<()> {
    let rows: Vec<StoreOf> = sqlx::query_as(
        "select store_id from api_key_stores where api_key_id = $1 order by store_id",
    )
    .bind(key.id.to_string())
    .fetch_all(&mut *conn)
    .await?;
    key.store_ids = rows.into_iter().map(|r| r.store_id).collect();
    Ok(())
}

pub async fn insert_api_key(conn: &mut AnyConnection, key: &NewApiKeyRow<'_>) -> StoreResult<()> {
    sqlx::query(
        "insert into api_keys (id, name, key_hash, key_prefix, tier, role, created_by, \
         created_at, updated_at) values ($1, $2, $3, $4, $5, $6, $7, $8, $8)",
    )
    .bind(key.id.to_string())
    .bind(key.name)
    .bind(key.key_hash)
    .bind(key.key_prefix)
    .bind(key.tier)
    .bind(key.role)
    .bind(key.created_by.map(|u| u.to_string()))
    .bind(time::to_db(key.at))
    .execute(&mut *conn)
    .await?;
    for store in key.store_ids {
        sqlx::query(
            "insert into api_key_stores (api_key_id, store_id, created_at, updated_at) \
             values ($1, $2, $3, $3)",
        )
        .bind(key.id.to_string())
        .bind(store.to_string())
        .bind(time::to_db(key.at))
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

/// The live (not revoked) key with this hash.
pub async fn find_live_by_hash(db: &Db, key_hash: &str) -> StoreResult<Option<ApiKeyRow>> {
    let mut conn = db.reader().acquire().await?;
    let sql = sqlx::AssertSqlSafe(format!(
        "select {COLUMNS} from api_keys where key_hash = $1 and revoked_at is null"
    ));
    let row: Option<ApiKeyRow> = sqlx::query_as(sql)
        .bind(key_hash)
        .fetch_optional(&mut *conn)
        .await?;
    let Some(mut key) = row else { return Ok(None) };
    load_stores(&mut conn, &mut key).await?;
    Ok(Some(key))
}

/// Whether a key is still live: checked on every request so revocation is immediate.
pub async fn is_live(db: &Db, id: ApiKeyId) -> StoreResult<bool> {
    let row = sqlx::query("select 1 as live from api_keys where id = $1 and revoked_at is null")
        .bind(id.to_string())
        .fetch_optional(db.reader())
        .await?;
    Ok(row.is_some())
}

pub async fn find_api_key(
    conn: &mut AnyConnection,
    id: ApiKeyId,
) -> StoreResult<Option<ApiKeyRow>> {
    let sql = sqlx::AssertSqlSafe(format!("select {COLUMNS} from api_keys where id = $1"));
    let row: Option<ApiKeyRow> = sqlx::query_as(sql)
        .bind(id.to_string())
        .fetch_optional(&mut *conn)
        .await?;
    let Some(mut key) = row else { return Ok(None) };
    load_stores(conn, &mut key).await?;
    Ok(Some(key))
}

pub async fn list_api_keys(
    db: &Db,
    after: Option<&After>,
    limit: usize,
) -> StoreResult<Page<ApiKeyRow>> {
    let mut conn = db.reader().acquire().await?;
    let sql = sqlx::AssertSqlSafe(format!(
        "select {COLUMNS} from api_keys where id > $1 order by id limit $2"
    ));
    let mut keys: Vec<ApiKeyRow> = sqlx::query_as(sql)
        .bind(after.map(|a| a.0.clone()).unwrap_or_default())
        .bind(i64::try_from(limit).unwrap_or(i64::MAX).saturating_add(1))
        .fetch_all(&mut *conn)
        .await?;
    for key in &mut keys {
        load_stores(&mut conn, key).await?;
    }
    Ok(page_of(keys, limit, |k| k.id.to_string()))
}

/// Revokes a key; false when it does not exist or was already revoked.
pub async fn revoke_api_key(
    conn: &mut AnyConnection,
    id: ApiKeyId,
    at: DateTime<Utc>,
) -> StoreResult<bool> {
    let now: &str = &time::to_db(at);
    let n = sqlx::query(
        "update api_keys set revoked_at = $2, updated_at = $2 where id = $1 and revoked_at is null",
    )
    .bind(id.to_string())
    .bind(now)
    .execute(&mut *conn)
    .await?
    .rows_affected();
    Ok(n > 0)
}

/// Records use, at most once a minute per key, so busy keys do not write on every request.
pub async fn touch_last_used(
    db: &Db,
    id: ApiKeyId,
    at: DateTime<Utc>,
    stale_before: DateTime<Utc>,
) -> StoreResult<()> {
    let now: &str = &time::to_db(at);
    let stale_before: &str = &time::to_db(stale_before);
    let mut tx = db.begin_write().await?;
    sqlx::query(
        "update api_keys set last_used_at = $2 where id = $1 \
         and (last_used_at is null or last_used_at < $3)",
    )
    .bind(id.to_string())
    .bind(now)
    .bind(stale_before)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(())
}

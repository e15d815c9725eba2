//! Users and their store memberships.
//!
//! Invariants: `username_key` and `email_key` are the lower-cased username and address and are
//! unique, so uniqueness ignores case on both engines; a user's stores are replaced as a whole
//! inside the caller's transaction; password hashes never leave this module except through
//! [`Credentials`], which the login path alone uses.

pub mod api_keys;
pub mod logins;
pub mod password_resets;
pub mod sessions;

use chrono::{DateTime, Utc};
use sqlx::AnyConnection;

use ringup_core::ids::{StoreId, UserId};

use crate::platform::db::{Db, placeholders};
use crate::platform::error::StoreResult;
use crate::platform::page::{After, Page, page_of};
use crate::platform::row::{Count, Flag};
use crate::platform::time;

/// A user as `USER_COLUMNS` reads it; `store_ids` is filled in by a second query.
#[derive(Clone, Debug, PartialEq, Eq, sqlx::FromRow)]
pub struct UserRow {
    #[sqlx(try_from = "String")]
    pub id: UserId,
    pub username: String,
    pub email: String,
    pub role: String,
    #[sqlx(try_from = "Flag")]
    pub active: bool,
    pub commission_rate_bp: i64,
    /// Whether the user gets the low-stock mails of their stores (migration 0013).
    #[sqlx(try_from = "Flag")]
    pub notify_low_stock: bool,
    /// Whether the user gets the daily summary mails of their stores.
    #[sqlx(try_from = "Flag")]
    pub notify_daily_summary: bool,
    #[sqlx(skip)]
    pub store_ids: Vec<StoreId>,
    pub created_at: String,
    pub updated_at: String,
}

/// What login needs: the user and the stored password hash.
#[derive(Clone)]
pub struct Credentials {
    pub user: UserRow,
    pub password_hash: String,
}

pub struct NewUserRow<'a> {
    pub id: UserId,
    pub username: &'a str,
    pub username_key: &'a str,
    pub email: &'a str,
    pub email_key: &'a str,
    pub password_hash: &'a str,
    pub role: &'a str,
    pub commission_rate_bp: i64,
    pub store_ids: &'a [StoreId],
    pub at: DateTime<Utc>,
}

/// Changes to a user; `None` leaves a field as it is.
#[derive(Default)]
pub struct UserPatchRow<'a> {
    pub role: Option<&'a str>,
    pub active: Option<bool>,
    pub commission_rate_bp: Option<i64>,
    pub store_ids: Option<&'a [StoreId]>,
    pub notify_low_stock: Option<bool>,
    pub notify_daily_summary: Option<bool>,
}

const USER_COLUMNS: &str = "id, username, email, role, active, commission_rate_bp, \
     notify_low_stock, notify_daily_summary, created_at, updated_at";

#[derive(sqlx::FromRow)]
struct CredentialsRow {
    #[sqlx(flatten)]
    user: UserRow,
    password_hash: String,
}

#[derive(sqlx::FromRow)]
struct PasswordHashRow {
    password_hash: String,
}

#[derive(sqlx::FromRow)]
struct CommissionRow {
    commission_rate_bp: i64,
}

/// One store of a user or an API key (`user_stores`, `api_key_stores`).
#[derive(sqlx::FromRow)]
struct StoreOf {
    #[sqlx(try_from = "String")]
    store_id: StoreId,
}

/// Inserts a user and its store memberships. Unique violations come back as
/// [`crate::StoreError::UniqueViolation`]; see [`crate::StoreError::taken_field`].
pub async fn insert_user(conn: &mut AnyConnection, user: &NewUserRow<'_>) -> StoreResult<()> {
    sqlx::query(
        "insert into users (id, username, username_key, email, email_key, password_hash, role, \
         active, commission_rate_bp, created_at, updated_at) \
         values ($1, $2, $3, $4, $5, $6, $7, 1, $8, $9, $9)",
    )
    .bind(user.id.to_string())
    .bind(user.username)
    .bind(user.username_key)
    .bind(user.email)
    .bind(user.email_key)
    .bind(user.password_hash)
    .bind(user.role)
    .bind(user.commission_rate_bp)
    .bind(time::to_db(user.at))
    .execute(&mut *conn)
    .await?;
    replace_stores(conn, user.id, user.store_ids, &time::to_db(user.at)).await
}

async fn replace_stores(
    conn: &mut AnyConnection,
    user: UserId,
    store_ids: &[StoreId],
    now: &str,
) -> StoreResult<()> {
    sqlx::query("delete from user_stores where user_id = $1")
        .bind(user.to_string())
        .execute(&mut *conn)
        .await?;
    for store in store_ids {
        sqlx::query(
            "insert into user_stores (user_id, store_id, created_at, updated_at) \
             values ($1, $2, $3, $3)",
        )
        .bind(user.to_string())
        .bind(store.to_string())
        .bind(now)
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

async fn load_stores(conn: &mut AnyConnection, users: &mut [UserRow]) -> StoreResult<()> {
    for user in users.iter_mut() {
        let rows: Vec<StoreOf> =
            sqlx::query_as("select store_id from user_stores where user_id = $1 order by store_id")
                .bind(user.id.to_string())
                .fetch_all(&mut *conn)
                .await?;
        user.store_ids = rows.into_iter().map(|r| r.store_id).collect();
    }
    Ok(())
}

/// The user with this id, with its stores.
pub async fn find_user(conn: &mut AnyConnection, id: UserId) -> StoreResult<Option<UserRow>> {
    let sql = sqlx::AssertSqlSafe(format!("select {USER_COLUMNS} from users where id = $1"));
    let row: Option<UserRow> = sqlx::query_as(sql)
        .bind(id.to_string())
        .fetch_optional(&mut *conn)
        .await?;
    let Some(row) = row else { return Ok(None) };
    let mut users = vec![row];
    load_stores(conn, &mut users).await?;
    Ok(users.pop())
}

/// As [`find_user`], on the read pool.
pub async fn get_user(db: &Db, id: UserId) -> StoreResult<Option<UserRow>> {
    let mut conn = db.reader().acquire().await?;
    find_user(&mut conn, id).await
}

/// The user and password hash for a login attempt (`username_key` is lower-cased).
pub async fn find_credentials(db: &Db, username_key: &str) -> StoreResult<Option<Credentials>> {
    let mut conn = db.reader().acquire().await?;
    let sql = sqlx::AssertSqlSafe(format!(
        "select {USER_COLUMNS}, password_hash from users where username_key = $1"
    ));
    let row: Option<CredentialsRow> = sqlx::query_as(sql)
        .bind(username_key)
        .fetch_optional(&mut *conn)
        .await?;
    let Some(CredentialsRow {
        user,
        password_hash,
    }) = row
    else {
        return Ok(None);
    };
    let mut users = vec![user];
    load_stores(&mut conn, &mut users).await?;
    Ok(users.pop().map(|user| Credentials {
        user,
        password_hash,
    }))
}

/// The stored hash of a user's password.
pub async fn password_hash_of(conn: &mut AnyConnection, id: UserId) -> StoreResult<String> {
    let row: PasswordHashRow = sqlx::query_as("select password_hash from users where id = $1")
        .bind(id.to_string())
        .fetch_one(&mut *conn)
        .await?;
    Ok(row.password_hash)
}

/// The active user with this e-mail address (`email_key` is lower-cased).
pub async fn find_active_by_email(db: &Db, email_key: &str) -> StoreResult<Option<UserRow>> {
    let mut conn = db.reader().acquire().await?;
    let sql = sqlx::AssertSqlSafe(format!(
        "select {USER_COLUMNS} from users where email_key = $1 and active = 1"
    ));
    Ok(sqlx::query_as(sql)
        .bind(email_key)
        .fetch_optional(&mut *conn)
        .await?)
}

/// The e-mail addresses of every active admin, for mail meant for whoever runs the server.
pub async fn active_admin_emails(conn: &mut AnyConnection) -> StoreResult<Vec<String>> {
    let rows: Vec<(String,)> = sqlx::query_as(
        "select email from users where role = 'admin' and active = 1 and email <> '' order by id",
    )
    .fetch_all(&mut *conn)
    .await?;
    Ok(rows.into_iter().map(|(email,)| email).collect())
}

/// Which users a list may show: all, or those with one of `roles` in at least one of `stores`.
pub enum UserScope<'a> {
    All,
    Within {
        stores: &'a [StoreId],
        roles: &'a [&'a str],
    },
}

/// Users in id order, limited to `scope`.
pub async fn list_users(
    db: &Db,
    scope: UserScope<'_>,
    after: Option<&After>,
    limit: usize,
) -> StoreResult<Page<UserRow>> {
    let mut conn = db.reader().acquire().await?;
    let after = after.map(|a| a.0.clone()).unwrap_or_default();
    let fetch = i64::try_from(limit).unwrap_or(i64::MAX).saturating_add(1);
    let mut users: Vec<UserRow> = match scope {
        UserScope::All => {
            let sql = sqlx::AssertSqlSafe(format!(
                "select {USER_COLUMNS} from users where id > $1 order by id limit $2"
            ));
            sqlx::query_as(sql)
                .bind(after)
                .bind(fetch)
                .fetch_all(&mut *conn)
                .await?
        }
        UserScope::Within { stores, roles } => {
            let stores_at = 3;
            let roles_at = stores_at + stores.len().max(1);
            let sql = sqlx::AssertSqlSafe(format!(
                "select {USER_COLUMNS} from users u where id > $1 and role in ({}) and exists ( \
                 select 1 from user_stores us where us.user_id = u.id and us.store_id in ({})) \
                 order by id limit $2",
                placeholders(roles_at, roles.len().max(1)),
                placeholders(stores_at, stores.len().max(1)),
            ));
            let mut query = sqlx::query_as(sql).bind(after).bind(fetch);
            if stores.is_empty() {
                query = query.bind(String::new());
            }
            for store in stores {
                query = query.bind(store.to_string());
            }
            if roles.is_empty() {
                query = query.bind(String::new());
            }
            for role in roles {
                query = query.bind(*role);
            }
            query.fetch_all(&mut *conn).await?
        }
    };
    load_stores(&mut conn, &mut users).await?;
    Ok(page_of(users, limit, |u| u.id.to_string()))
}

/// Applies a patch; returns false when the user does not exist.
pub async fn update_user(
    conn: &mut AnyConnection,
    id: UserId,
    patch: &UserPatchRow<'_>,
    at: DateTime<Utc>,
) -> StoreResult<bool> {
    let now: &str = &time::to_db(at);
    let updated = sqlx::query(
        "update users set role = coalesce($2, role), \
         active = coalesce($3, active), \
         commission_rate_bp = coalesce($4, commission_rate_bp), \
         notify_low_stock = coalesce($6, notify_low_stock), \
         notify_daily_summary = coalesce($7, notify_daily_summary), \
         updated_at = $5 where id = $1",
    )
    .bind(id.to_string())
    .bind(patch.role)
    .bind(patch.active.map(i64::from))
    .bind(patch.commission_rate_bp)
    .bind(now)
    .bind(patch.notify_low_stock.map(i64::from))
    .bind(patch.notify_daily_summary.map(i64::from))
    .execute(&mut *conn)
    .await?
    .rows_affected();
    if updated == 0 {
        return Ok(false);
    }
    if let Some(stores) = patch.store_ids {
        replace_stores(conn, id, stores, now).await?;
    }
    Ok(true)
}

pub async fn set_password_hash(
    conn: &mut AnyConnection,
    id: UserId,
    hash: &str,
    at: DateTime<Utc>,
) -> StoreResult<()> {
    let now: &str = &time::to_db(at);
    sqlx::query("update users set password_hash = $2, updated_at = $3 where id = $1")
        .bind(id.to_string())
        .bind(hash)
        .bind(now)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// How many users exist: the first admin is created only when there are none.
pub async fn count_users(conn: &mut AnyConnection) -> StoreResult<i64> {
    let count: Count = sqlx::query_as("select count(*) as n from users")
        .fetch_one(&mut *conn)
        .await?;
    Ok(count.n)
}

/// The commission rate of a seller (0 for an unknown user).
pub async fn commission_rate_of(conn: &mut AnyConnection, user: UserId) -> StoreResult<i64> {
    let row: Option<CommissionRow> =
        sqlx::query_as("select commission_rate_bp from users where id = $1")
            .bind(user.to_string())
            .fetch_optional(&mut *conn)
            .await?;
    Ok(row.map_or(0, |r| r.commission_rate_bp))
}

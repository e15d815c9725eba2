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

use sqlx::{AnyConnection, Row, any::AnyRow};

use ringup_core::ids::{StoreId, UserId};

use crate::platform::db::{Db, placeholders};
use crate::platform::error::{StoreError, StoreResult};
use crate::platform::page::{After, Page, page_of};

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UserRow {
    pub id: UserId,
    pub username: String,
    pub email: String,
    pub role: String,
    pub active: bool,
    pub commission_rate_bp: i64,
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
    pub now: &'a str,
}

/// Changes to a user; `None` leaves a field as it is.
#[derive(Default)]
pub struct UserPatchRow<'a> {
    pub role: Option<&'a str>,
    pub active: Option<bool>,
    pub commission_rate_bp: Option<i64>,
    pub store_ids: Option<&'a [StoreId]>,
}

const USER_COLUMNS: &str =
    "id, username, email, role, active, commission_rate_bp, created_at, updated_at";

fn user_from_row(row: &AnyRow) -> StoreResult<UserRow> {
    let id: String = row.try_get("id")?;
    Ok(UserRow {
        id: UserId::parse(&id).map_err(|e| StoreError::corrupt("users.id", e))?,
        username: row.try_get("username")?,
        email: row.try_get("email")?,
        role: row.try_get("role")?,
        active: row.try_get::<i64, _>("active")? != 0,
        commission_rate_bp: row.try_get("commission_rate_bp")?,
        store_ids: Vec::new(),
        created_at: row.try_get("created_at")?,
        updated_at: row.try_get("updated_at")?,
    })
}

/// Inserts a user and its store memberships. Unique violations come back as
/// [`StoreError::UniqueViolation`]; see [`StoreError::is_unique_on`].
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
    .bind(user.now)
    .execute(&mut *conn)
    .await?;
    replace_stores(conn, user.id, user.store_ids, user.now).await
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
        let rows =
            sqlx::query("select store_id from user_stores where user_id = $1 order by store_id")
                .bind(user.id.to_string())
                .fetch_all(&mut *conn)
                .await?;
        user.store_ids = rows
            .iter()
            .map(|r| {
                let id: String = r.try_get("store_id")?;
                StoreId::parse(&id).map_err(|e| StoreError::corrupt("user_stores.store_id", e))
            })
            .collect::<StoreResult<_>>()?;
    }
    Ok(())
}

/// The user with this id, with its stores.
pub async fn find_user(conn: &mut AnyConnection, id: UserId) -> StoreResult<Option<UserRow>> {
    let sql = sqlx::AssertSqlSafe(format!("select {USER_COLUMNS} from users where id = $1"));
    let row = sqlx::query(sql)
        .bind(id.to_string())
        .fetch_optional(&mut *conn)
        .await?;
    let Some(row) = row else { return Ok(None) };
    let mut users = vec![user_from_row(&row)?];
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
    let row = sqlx::query(sql)
        .bind(username_key)
        .fetch_optional(&mut *conn)
        .await?;
    let Some(row) = row else { return Ok(None) };
    let password_hash: String = row.try_get("password_hash")?;
    let mut users = vec![user_from_row(&row)?];
    load_stores(&mut conn, &mut users).await?;
    Ok(users.pop().map(|user| Credentials {
        user,
        password_hash,
    }))
}

/// The stored hash of a user's password.
pub async fn password_hash_of(conn: &mut AnyConnection, id: UserId) -> StoreResult<String> {
    let row = sqlx::query("select password_hash from users where id = $1")
        .bind(id.to_string())
        .fetch_one(&mut *conn)
        .await?;
    Ok(row.try_get("password_hash")?)
}

/// The active user with this e-mail address (`email_key` is lower-cased).
pub async fn find_active_by_email(db: &Db, email_key: &str) -> StoreResult<Option<UserRow>> {
    let mut conn = db.reader().acquire().await?;
    let sql = sqlx::AssertSqlSafe(format!(
        "select {USER_COLUMNS} from users where email_key = $1 and active = 1"
    ));
    let row = sqlx::query(sql)
        .bind(email_key)
        .fetch_optional(&mut *conn)
        .await?;
    row.as_ref().map(user_from_row).transpose()
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
    let rows = match scope {
        UserScope::All => {
            let sql = sqlx::AssertSqlSafe(format!(
                "select {USER_COLUMNS} from users where id > $1 order by id limit $2"
            ));
            sqlx::query(sql)
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
            let mut query = sqlx::query(sql).bind(after).bind(fetch);
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
    let mut users = rows
        .iter()
        .map(user_from_row)
        .collect::<StoreResult<Vec<_>>>()?;
    load_stores(&mut conn, &mut users).await?;
    Ok(page_of(users, limit, |u| u.id.to_string()))
}

/// Applies a patch; returns false when the user does not exist.
pub async fn update_user(
    conn: &mut AnyConnection,
    id: UserId,
    patch: &UserPatchRow<'_>,
    now: &str,
) -> StoreResult<bool> {
    let updated = sqlx::query(
        "update users set role = coalesce($2, role), \
         active = coalesce($3, active), \
         commission_rate_bp = coalesce($4, commission_rate_bp), \
         updated_at = $5 where id = $1",
    )
    .bind(id.to_string())
    .bind(patch.role)
    .bind(patch.active.map(i64::from))
    .bind(patch.commission_rate_bp)
    .bind(now)
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
    now: &str,
) -> StoreResult<()> {
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
    let row = sqlx::query("select count(*) as n from users")
        .fetch_one(&mut *conn)
        .await?;
    Ok(row.try_get("n")?)
}

/// The commission rate of a seller (0 for an unknown user).
pub async fn commission_rate_of(conn: &mut AnyConnection, user: UserId) -> StoreResult<i64> {
    let row = sqlx::query("select commission_rate_bp from users where id = $1")
        .bind(user.to_string())
        .fetch_optional(&mut *conn)
        .await?;
    Ok(match row {
        Some(row) => row.try_get("commission_rate_bp")?,
        None => 0,
    })
}

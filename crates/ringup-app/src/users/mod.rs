//! Users' use cases: creating and changing users, API keys ([`api_keys`]), sessions
//! ([`sessions`]: login, refresh, logout) and passwords ([`passwords`]: change and reset).
//!
//! Admins manage everyone; managers manage cashiers and employees whose every store is one of
//! theirs ([`Actor::may_manage_user`]), and nobody deactivates themselves or changes their own
//! role. A store id the actor may not see is answered as if it did not exist. Every refusal is
//! a [`UsersError`]; the HTTP layer maps it to a problem in one place (`ringup-api`'s
//! `http/error.rs`). A username or e-mail address another user has comes back as the store's
//! unique violation, which that same mapping names.
//!
//! Signing in and the other writes of identity refuse with an [`AuthError`]: a caller that
//! is not (or no longer) who it claims is answered 401, the same for every reason, and a
//! locked-out username 429. Passwords are hashed and checked by functions the caller passes
//! (its hashing pool, where a full pool is [`AuthError::Busy`] or [`UsersError::Busy`]), so no
//! slow hash ever runs inside a write transaction.

pub mod api_keys;
pub mod passwords;
pub mod sessions;

use ringup_core::ids::{StoreId, UserId};
use ringup_core::rate::RateBp;
use ringup_core::users::{Email, Password, PasswordRule, Role, Username};
use ringup_store::catalog::stores;
use ringup_store::users::{self, NewUserRow, UserPatchRow, UserRow};
use ringup_store::{Db, StoreError};

use crate::authz::Actor;
use crate::problem::FieldError;
use crate::write::{
    AnonymousRequest, AnonymousWrite, Effects, View, WriteError, WriteRequest, Written,
    begin_or_replay, retrying,
};

/// Why a users operation was refused.
#[derive(Debug, thiserror::Error)]
pub enum UsersError {
    /// Broken rules of the request, each naming its field.
    #[error("the request breaks {} rule(s)", .0.len())]
    Invalid(Vec<FieldError>),
    /// The actor may not manage this user (its role or stores, before or after the change).
    #[error("not allowed")]
    Forbidden,
    #[error("not found")]
    NotFound,
    /// The new password could not be hashed now (every hashing slot is taken): retry shortly.
    #[error("the password could not be hashed now")]
    Busy,
    #[error(transparent)]
    Write(#[from] WriteError),
}

impl From<StoreError> for UsersError {
    fn from(err: StoreError) -> Self {
        UsersError::Write(WriteError::Store(err))
    }
}

/// Why signing in, refreshing or ending a session, or changing or resetting a password was
/// refused.
#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    /// Wrong or unknown credentials, an unknown, spent or revoked refresh token, or a user who
    /// is gone or deactivated: one answer for every reason, so it tells nothing.
    #[error("valid credentials are required")]
    Unauthorized,
    /// The caller may not do this (an API key has no password to change).
    #[error("not allowed")]
    Forbidden,
    /// Logins for this username are refused until the lock ends, in whole seconds rounded up:
    /// a client that waits as long as told is never refused again.
    #[error("logins for this username are locked for {retry_after_secs} s")]
    LockedOut { retry_after_secs: u64 },
    /// Broken rules of the request, each naming its field.
    #[error("the request breaks {} rule(s)", .0.len())]
    Invalid(Vec<FieldError>),
    /// A password could not be hashed or checked now (every hashing slot is taken): retry
    /// shortly.
    #[error("the password could not be hashed now")]
    Busy,
    /// Hashing or checking a password failed (a bug, or a stored hash that cannot be read).
    #[error("password hashing failed")]
    Hashing(#[source] Box<dyn std::error::Error + Send + Sync>),
    #[error(transparent)]
    Write(#[from] WriteError),
}

impl From<StoreError> for AuthError {
    fn from(err: StoreError) -> Self {
        AuthError::Write(WriteError::Store(err))
    }
}

/// One entry, on `field`, per broken password rule.
pub fn password_errors(field: &str, rules: &[PasswordRule]) -> Vec<FieldError> {
    rules
        .iter()
        .map(|rule| FieldError::new(field, rule.message()))
        .collect()
}

/// Refuses, naming each one by its index in `sent`, the store ids that do not exist or that
/// the actor may not see (docs/API.md: an id in a body the caller may not see is answered as
/// if it did not exist).
async fn require_stores_exist(
    db: &Db,
    actor: &Actor,
    sent: &[String],
    ids: &[StoreId],
) -> Result<(), UsersError> {
    let mut missing = stores::missing_stores(&mut *db.read_conn().await?, ids).await?;
    for id in ids {
        if !actor.sees_store(*id) && !missing.contains(id) {
            missing.push(*id);
        }
    }
    if missing.is_empty() {
        return Ok(());
    }
    let problems = missing
        .iter()
        .map(|id| {
            let i = sent
                .iter()
                .position(|r| StoreId::parse(r).ok() == Some(*id))
                .unwrap_or(0);
            FieldError::new(format!("store_ids[{i}]"), "no such store")
        })
        .collect();
    Err(UsersError::Invalid(problems))
}

/// A new user, every field checked.
pub struct NewUser {
    pub username: Username,
    pub email: Email,
    pub password: Password,
    pub role: Role,
    /// The stores, each once.
    pub store_ids: Vec<StoreId>,
    /// The store ids as the client wrote them: problems name their index here, and the audit
    /// log records them as sent.
    pub store_ids_sent: Vec<String>,
    pub commission_rate: RateBp,
}

/// Creates a user. The stores must exist and the actor must be allowed to manage a user of
/// this role in them before the password is hashed, by `hash` (the caller's hashing pool,
/// which answers [`UsersError::Busy`] when it is full): hashing is the expensive part.
pub async fn create_user<H, F>(
    db: &Db,
    request: WriteRequest<'_>,
    user: NewUser,
    hash: H,
    view: View<UserRow>,
) -> Result<Written<UserRow>, UsersError>
where
    H: FnOnce(&Password) -> F,
    F: Future<Output = Result<String, UsersError>>,
{
    let actor = request.actor;
    require_stores_exist(db, actor, &user.store_ids_sent, &user.store_ids).await?;
    if !actor.may_manage_user(user.role, &user.store_ids) {
        return Err(UsersError::Forbidden);
    }
    let password_hash = hash(&user.password).await?;
    retrying("user.create", request.is_keyed(), || {
        create_user_once(db, request, &user, &password_hash, view)
    })
    .await
}

/// The write of [`create_user`], once: the checks and the slow hash came before it, and are
/// not repeated when it runs again.
async fn create_user_once(
    db: &Db,
    request: WriteRequest<'_>,
    user: &NewUser,
    password_hash: &str,
    view: View<UserRow>,
) -> Result<Written<UserRow>, UsersError> {
    let mut write = begin_or_replay!(db, request);
    let id = UserId::new();
    let at = write.at();
    users::insert_user(
        write.tx(),
        &NewUserRow {
            id,
            username: user.username.as_str(),
            username_key: &user.username.normalized(),
            email: user.email.as_str(),
            email_key: &user.email.normalized(),
            password_hash,
            role: user.role.as_str(),
            commission_rate_bp: user.commission_rate.value(),
            store_ids: &user.store_ids,
            at,
        },
    )
    .await?;
    let audit = write
        .audit_event("user.created", None)
        .on("user", id)
        .with(serde_json::json!({
            "username": user.username.as_str(), "role": user.role.as_str(),
            "store_ids": user.store_ids_sent,
            "commission_rate_bp": user.commission_rate.value(),
        }));
    let row = users::find_user(write.tx(), id)
        .await?
        .ok_or(UsersError::NotFound)?;
    let shown = view(&row).map_err(WriteError::View)?;
    Ok(write
        .finish(row, Effects::new().audit(audit), 201, shown)
        .await?)
}

/// Changes to a user, every field checked; `None` leaves a field as it is.
pub struct UserChanges {
    pub role: Option<Role>,
    /// The new stores, each once.
    pub store_ids: Option<Vec<StoreId>>,
    pub active: Option<bool>,
    pub commission_rate: Option<RateBp>,
    /// Mail opt-outs (`false`: no such mail). A user may always change their own.
    pub notify_low_stock: Option<bool>,
    pub notify_daily_summary: Option<bool>,
    /// The role as the client wrote it (roles parse ignoring case), for the audit log.
    pub role_sent: Option<String>,
    /// The store ids as the client wrote them: problems name their index here, and the audit
    /// log records them as sent.
    pub store_ids_sent: Option<Vec<String>>,
}

/// Changes `current` (as the caller read it, after checking the actor may see it). The actor
/// must be allowed to manage the user both as it is and as it will be. Deactivating a user
/// revokes every session in the same transaction; a caller that caches sessions or principals
/// forgets the user's after this returns.
pub async fn update_user(
    db: &Db,
    request: WriteRequest<'_>,
    current: UserRow,
    changes: UserChanges,
    view: View<UserRow>,
) -> Result<Written<UserRow>, UsersError> {
    retrying("user.update", request.is_keyed(), || {
        update_user_once(db, request, &current, &changes, view)
    })
    .await
}

async fn update_user_once(
    db: &Db,
    request: WriteRequest<'_>,
    current: &UserRow,
    changes: &UserChanges,
    view: View<UserRow>,
) -> Result<Written<UserRow>, UsersError> {
    let actor = request.actor;
    if let (Some(sent), Some(ids)) = (&changes.store_ids_sent, &changes.store_ids) {
        require_stores_exist(db, actor, sent, ids).await?;
    }
    let current_role =
        Role::parse(&current.role).map_err(|e| StoreError::corrupt("users.role", e))?;
    let new_role = changes.role.unwrap_or(current_role);
    let new_stores = changes.store_ids.as_deref().unwrap_or(&current.store_ids);
    let is_self = actor.user_id() == Some(current.id);
    let changes_self =
        changes.active == Some(false) || changes.role.is_some_and(|role| role != current_role);
    let only_notifications = changes.role.is_none()
        && changes.store_ids.is_none()
        && changes.active.is_none()
        && changes.commission_rate.is_none();
    let allowed = (is_self && only_notifications)
        || (actor.may_manage_user(current_role, &current.store_ids)
            && actor.may_manage_user(new_role, new_stores)
            && !(is_self && changes_self));
    if !allowed {
        return Err(UsersError::Forbidden);
    }
    let mut write = begin_or_replay!(db, request);
    let at = write.at();
    let patch = UserPatchRow {
        role: changes.role.map(Role::as_str),
        active: changes.active,
        commission_rate_bp: changes.commission_rate.map(RateBp::value),
        store_ids: changes.store_ids.as_deref(),
        notify_low_stock: changes.notify_low_stock,
        notify_daily_summary: changes.notify_daily_summary,
    };
    users::update_user(write.tx(), current.id, &patch, at).await?;
    if changes.active == Some(false) {
        users::sessions::revoke_user_sessions(write.tx(), current.id, "deactivated", at).await?;
    }
    let audit = write
        .audit_event("user.updated", None)
        .on("user", current.id)
        .with(serde_json::json!({
            "role": changes.role_sent, "store_ids": changes.store_ids_sent,
            "active": changes.active, "commission_rate_bp": patch.commission_rate_bp,
            "notify_low_stock": changes.notify_low_stock,
            "notify_daily_summary": changes.notify_daily_summary,
        }));
    let row = users::find_user(write.tx(), current.id)
        .await?
        .ok_or(UsersError::NotFound)?;
    let shown = view(&row).map_err(WriteError::View)?;
    Ok(write
        .finish(row, Effects::new().audit(audit), 200, shown)
        .await?)
}

/// The first admin, every field checked, and its password already hashed.
pub struct FirstAdmin {
    pub username: Username,
    pub email: Email,
    pub password_hash: String,
}

/// Creates the first admin of an empty database (nobody signed in asks: the server does, at
/// start). Another node may have created the first user since the caller looked, so the
/// users are counted again under the write lock: `None` when there are any.
pub async fn create_first_admin(
    db: &Db,
    request: AnonymousRequest<'_>,
    admin: FirstAdmin,
) -> Result<Option<UserId>, StoreError> {
    retrying("user.create_first_admin", false, || {
        create_first_admin_once(db, request, &admin)
    })
    .await
}

async fn create_first_admin_once(
    db: &Db,
    request: AnonymousRequest<'_>,
    admin: &FirstAdmin,
) -> Result<Option<UserId>, StoreError> {
    let mut write = AnonymousWrite::begin(db, request).await?;
    if users::count_users(write.tx()).await? > 0 {
        return Ok(None);
    }
    let id = UserId::new();
    let at = write.at();
    users::insert_user(
        write.tx(),
        &NewUserRow {
            id,
            username: admin.username.as_str(),
            username_key: &admin.username.normalized(),
            email: admin.email.as_str(),
            email_key: &admin.email.normalized(),
            password_hash: &admin.password_hash,
            role: Role::Admin.as_str(),
            commission_rate_bp: 0,
            store_ids: &[],
            at,
        },
    )
    .await?;
    let audit = write
        .audit_event("user.created", None)
        .on("user", id)
        .with(serde_json::json!({
            "username": admin.username.as_str(), "role": "admin", "first_admin": true,
        }));
    write.commit(Effects::new().audit(audit)).await?;
    Ok(Some(id))
}

//! The first admin: created on an empty database before the server listens, from
//! `RINGUP_ADMIN_USERNAME` / `RINGUP_ADMIN_PASSWORD`, or with a random password that is
//! printed once to the terminal and never logged.

use ringup_api::auth::hasher::Hasher;
use ringup_core::ids::UserId;
use ringup_core::tokens::random_token;
use ringup_core::users::{Email, Password, Role, Username};
use ringup_store::audit::NewAuditEvent;
use ringup_store::users::NewUserRow;
use ringup_store::{Db, StoreError, audit, platform::time, users};

use crate::settings::Settings;

#[derive(Debug, thiserror::Error)]
pub enum BootstrapError {
    #[error("invalid setting {0}")]
    Setting(String),
    #[error("could not create the first admin: {0}")]
    Store(#[from] StoreError),
    #[error("could not hash the first admin's password: {0}")]
    Hash(String),
}

/// What was created, if anything: the admin's username and, when ringup chose it, the
/// password to show once.
pub struct FirstAdmin {
    pub username: String,
    pub generated_password: Option<String>,
}

/// A random password that passes the policy: 43 random URL-safe characters plus one of each
/// character class.
fn generated_password() -> String {
    format!("{}aA1!", random_token())
}

pub async fn ensure_first_admin(
    db: &Db,
    settings: &Settings,
    hasher: &Hasher,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<Option<FirstAdmin>, BootstrapError> {
    {
        let mut conn = db.read_conn().await?;
        if users::count_users(&mut conn).await? > 0 {
            return Ok(None);
        }
    }
    let username = Username::parse(&settings.admin_username).map_err(|e| {
        BootstrapError::Setting(format!("RINGUP_ADMIN_USERNAME (--admin-username): {e}"))
    })?;
    let email = Email::parse(&settings.admin_email)
        .map_err(|e| BootstrapError::Setting(format!("RINGUP_ADMIN_EMAIL (--admin-email): {e}")))?;
    let (raw, generated) = match &settings.admin_password {
        Some(given) => (given.expose().to_owned(), false),
        None => (generated_password(), true),
    };
    let password = Password::new(&raw, Some(username.as_str())).map_err(|rules| {
        let broken: Vec<String> = rules.iter().map(|r| r.message()).collect();
        BootstrapError::Setting(format!(
            "RINGUP_ADMIN_PASSWORD (--admin-password): {}",
            broken.join("; ")
        ))
    })?;
    let hash = hasher
        .hash(password.expose().to_owned())
        .await
        .map_err(|e| BootstrapError::Hash(e.to_string()))?;
    let now_text = time::to_db(now);
    let id = UserId::new();
    let mut tx = db.begin_write().await?;
    // Another node may have created the first user meanwhile: check again under the lock.
    if users::count_users(&mut tx).await? > 0 {
        return Ok(None);
    }
    users::insert_user(
        &mut tx,
        &NewUserRow {
            id,
            username: username.as_str(),
            username_key: &username.normalized(),
            email: email.as_str(),
            email_key: &email.normalized(),
            password_hash: &hash,
            role: Role::Admin.as_str(),
            commission_rate_bp: 0,
            store_ids: &[],
            now: &now_text,
        },
    )
    .await?;
    audit::append(
        &mut tx,
        &NewAuditEvent {
            at: now_text.clone(),
            action: "user.created".into(),
            target_type: Some("user".into()),
            target_id: Some(id.to_string()),
            details: serde_json::json!({
                "username": username.as_str(), "role": "admin", "first_admin": true,
            }),
            ..NewAuditEvent::default()
        },
    )
    .await?;
    ringup_store::commit(tx).await?;
    Ok(Some(FirstAdmin {
        username: username.as_str().to_owned(),
        generated_password: generated.then_some(raw),
    }))
}

//! The first admin: created on an empty database before the server listens, from
//! `RINGUP_ADMIN_USERNAME` / `RINGUP_ADMIN_PASSWORD`, or with a random password that is
//! printed once to the terminal and never logged.

use ringup_api::auth::hasher::Hasher;
use ringup_app::users;
use ringup_app::write::{AnonymousRequest, Origin};
use ringup_core::ids::UserId;
use ringup_core::tokens::random_token;
use ringup_core::users::{Email, Password, Username};
use ringup_store::{Db, StoreError};

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
    pub id: UserId,
    pub username: String,
    pub generated_password: Option<String>,
}

/// A random password that passes the policy: 43 random URL-safe characters plus one of each
/// character class.
pub fn generated_password() -> String {
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
        if ringup_store::users::count_users(&mut conn).await? > 0 {
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
    let origin = Origin::default();
    let request = AnonymousRequest {
        at: now,
        origin: &origin,
    };
    let (created, generated_password) = (username.as_str().to_owned(), generated.then_some(raw));
    let admin = users::FirstAdmin {
        username,
        email,
        password_hash: hash,
    };
    // `None`: another node created the first user meanwhile.
    Ok(users::create_first_admin(db, request, admin)
        .await?
        .map(|id| FirstAdmin {
            id,
            username: created,
            generated_password,
        }))
}

//! Password hashing with argon2id (OWASP parameters: 19 MiB, 2 iterations, 1 lane).
//!
//! Each hash takes tens of milliseconds of CPU and 19 MiB of memory, so hashing runs on the
//! blocking pool behind a semaphore with one permit per core: a login flood queues here instead
//! of starving the async runtime or exhausting memory. A request that cannot get a permit
//! within `max_wait` is told to retry (429 with `Retry-After`), never 503.

use std::sync::Arc;
use std::time::Duration;

use argon2::{Algorithm, Argon2, Params, PasswordHasher as _, PasswordVerifier as _, Version};
use ringup_app::meters::{self, RateLimit};
use ringup_app::users::AuthError;
use tokio::sync::Semaphore;

#[derive(Debug, thiserror::Error)]
pub enum HashError {
    #[error("too many password checks at once")]
    Busy,
    #[error("password hashing failed: {0}")]
    Failed(String),
}

/// How the use cases see a hashing failure: a full pool is a reason to retry (429), not a
/// failure of the server; anything else is one (500).
impl From<HashError> for AuthError {
    fn from(err: HashError) -> Self {
        match err {
            HashError::Busy => AuthError::Busy,
            failed @ HashError::Failed(_) => AuthError::Hashing(Box::new(failed)),
        }
    }
}

#[derive(Clone)]
pub struct Hasher {
    permits: Arc<Semaphore>,
    max_wait: Duration,
    params: Params,
}

/// A real argon2id hash (same parameters) of a random password nobody knows, verified against
/// when the user does not exist, so unknown and known usernames take the same time. Kept as a
/// constant so startup does not spend a hash on it; a test checks its parameters match.
const DUMMY_HASH: &str = "$argon2id$v=19$m=19456,t=2,p=1$zYoQKpIESxMyIo4gWotZ4g$jfnlNGzA1vLjHxGC7UEsHbjg7AIjwpBZ6+jkLPkam3A";

impl Hasher {
    pub fn new(concurrency: usize, max_wait: Duration) -> Result<Hasher, HashError> {
        let params =
            Params::new(19 * 1024, 2, 1, None).map_err(|e| HashError::Failed(e.to_string()))?;
        Ok(Hasher {
            permits: Arc::new(Semaphore::new(concurrency.max(1))),
            max_wait,
            params,
        })
    }

    fn argon(params: Params) -> Argon2<'static> {
        Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
    }

    async fn run<T: Send + 'static>(
        &self,
        work: impl FnOnce(Argon2<'static>) -> T + Send + 'static,
    ) -> Result<T, HashError> {
        let permit = tokio::time::timeout(self.max_wait, self.permits.clone().acquire_owned())
            .await
            .ok()
            .and_then(Result::ok)
            .ok_or_else(|| {
                meters::rate_limited(RateLimit::PasswordHashing);
                HashError::Busy
            })?;
        let params = self.params.clone();
        let result = tokio::task::spawn_blocking(move || {
            let out = work(Self::argon(params));
            drop(permit);
            out
        })
        .await
        .map_err(|e| HashError::Failed(e.to_string()))?;
        Ok(result)
    }

    /// Hashes a new password into a PHC string.
    pub async fn hash(&self, password: String) -> Result<String, HashError> {
        self.run(move |argon| {
            argon
                .hash_password(password.as_bytes())
                .map(|h| h.to_string())
                .map_err(|e| HashError::Failed(e.to_string()))
        })
        .await?
    }

    /// Checks a password against a stored hash; `None` checks against the dummy hash and
    /// always answers false, in the same time as a real check.
    pub async fn verify(&self, password: String, hash: Option<String>) -> Result<bool, HashError> {
        let real = hash.is_some();
        let hash = hash.unwrap_or_else(|| DUMMY_HASH.to_owned());
        let matched = self
            .run(move |argon| {
                argon
                    .verify_password(password.as_bytes(), hash.as_str())
                    .is_ok()
            })
            .await?;
        Ok(real && matched)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_dummy_hash_uses_the_live_parameters() {
        assert!(DUMMY_HASH.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"));
    }

    #[tokio::test]
    async fn hashes_verify_and_unknown_users_never_match() {
        let hasher = Hasher::new(2, Duration::from_secs(5)).unwrap();
        let hash = hasher.hash("Quartz-Lantern-Orbit-77".into()).await.unwrap();
        assert!(
            hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
            "{hash}"
        );
        assert!(
            hasher
                .verify("Quartz-Lantern-Orbit-77".into(), Some(hash.clone()))
                .await
                .unwrap()
        );
        assert!(
            !hasher
                .verify("quartz-lantern-orbit-77".into(), Some(hash))
                .await
                .unwrap()
        );
        assert!(!hasher.verify("anything".into(), None).await.unwrap());
    }

    #[tokio::test]
    async fn a_saturated_hasher_answers_busy_instead_of_queueing_forever() {
        let hasher = Hasher::new(1, Duration::from_millis(1)).unwrap();
        let held = hasher.permits.clone().acquire_owned().await.unwrap();
        let err = hasher.hash("x".into()).await.unwrap_err();
        assert!(matches!(err, HashError::Busy));
        drop(held);
        assert!(hasher.hash("x".into()).await.is_ok());
    }
}

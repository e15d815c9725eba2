//! Identity and access over HTTP: login, token refresh with rotation and reuse detection,
//! logout, password change and reset, and the caller's own profile.

pub mod api_key_rate;
pub mod cookies;
pub mod handlers;
pub mod hasher;
pub mod limits;
pub mod passwords;
pub mod principal;
pub mod tokens;

/// Every `/api/v1/auth/*` route and `/api/v1/me`.
pub fn router() -> utoipa_axum::router::OpenApiRouter<crate::state::AppState> {
    handlers::router().merge(passwords::router())
}

use std::sync::Arc;
use std::time::Duration;

use ringup_app::meters::RateLimit;
use ringup_app::users::sessions::SessionPolicy;
use ringup_core::clock::Clock;

use crate::mail::Mailer;
use api_key_rate::{ApiKeyLimits, TierQuotas};
use hasher::Hasher;
use limits::Limit;
use principal::SessionCache;
use tokens::TokenKeys;

/// Limits and lifetimes; every one is a setting.
#[derive(Clone, Debug)]
pub struct AuthPolicy {
    pub lockout_failures: i64,
    pub lockout_window: chrono::Duration,
    pub lockout_duration: chrono::Duration,
    pub refresh_ttl: chrono::Duration,
    pub reset_ttl: chrono::Duration,
    pub login_per_ip_per_minute: u32,
    pub reset_per_hour: u32,
    /// Requests per minute of an API key, by tier.
    pub api_key_rates: TierQuotas,
}

impl Default for AuthPolicy {
    fn default() -> Self {
        AuthPolicy {
            lockout_failures: 5,
            lockout_window: chrono::Duration::minutes(5),
            lockout_duration: chrono::Duration::minutes(5),
            refresh_ttl: chrono::Duration::days(30),
            reset_ttl: chrono::Duration::minutes(30),
            login_per_ip_per_minute: 30,
            reset_per_hour: 3,
            api_key_rates: TierQuotas::default(),
        }
    }
}

impl AuthPolicy {
    /// What the session use cases need of the policy.
    pub fn sessions(&self) -> SessionPolicy {
        SessionPolicy {
            lockout_failures: self.lockout_failures,
            lockout_window: self.lockout_window,
            lockout_duration: self.lockout_duration,
            refresh_ttl: self.refresh_ttl,
        }
    }
}

/// Everything authentication needs, shared by the handlers and the `Principal` extractor.
pub struct Auth {
    pub keys: TokenKeys,
    /// Signs the CSRF tokens of cookie sessions, binding each to its session.
    pub csrf: cookies::CsrfKey,
    pub hasher: Hasher,
    pub clock: Arc<dyn Clock>,
    pub policy: AuthPolicy,
    pub cache: SessionCache,
    pub login_per_ip: Limit,
    pub reset_per_ip: Limit,
    pub reset_per_address: Limit,
    pub api_key_limits: ApiKeyLimits,
    pub mailer: Mailer,
    /// Base of links in mail, without a trailing slash.
    pub public_url: String,
    /// Cookies get `Secure` when ringup is reached over https.
    pub secure_cookies: bool,
}

impl Auth {
    pub fn new(
        secret: &[u8],
        clock: Arc<dyn Clock>,
        policy: AuthPolicy,
        mailer: Mailer,
        public_url: &str,
    ) -> Result<Auth, hasher::HashError> {
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
        let api_key_limits = ApiKeyLimits::new(policy.api_key_rates, clock.clone());
        Ok(Auth {
            keys: TokenKeys::new(secret),
            csrf: cookies::CsrfKey::new(secret),
            hasher: Hasher::new(cores, Duration::from_secs(5))?,
            clock,
            cache: SessionCache::new(Duration::from_secs(300)),
            login_per_ip: Limit::new(
                RateLimit::LoginPerIp,
                policy.login_per_ip_per_minute,
                Duration::from_secs(60),
            ),
            reset_per_ip: Limit::new(
                RateLimit::ResetPerIp,
                policy.reset_per_hour,
                Duration::from_secs(3600),
            ),
            reset_per_address: Limit::new(
                RateLimit::ResetPerAddress,
                policy.reset_per_hour,
                Duration::from_secs(3600),
            ),
            api_key_limits,
            policy,
            mailer,
            public_url: public_url.trim_end_matches('/').to_owned(),
            secure_cookies: public_url.starts_with("https://"),
        })
    }

    /// Forgets idle rate-limit state; run periodically.
    pub fn forget_idle_limits(&self) {
        self.login_per_ip.forget_idle();
        self.reset_per_ip.forget_idle();
        self.reset_per_address.forget_idle();
        self.api_key_limits.forget_idle();
    }
}

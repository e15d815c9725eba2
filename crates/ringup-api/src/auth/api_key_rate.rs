//! API keys are limited per key by tier (docs/API.md "Rate limits"): per minute `free` 60, `basic`
//! 600, `pro` 6,000, `enterprise` 60,000 (each a setting), with a burst of a tenth of that,
//! at least 10 — but never more than the quota itself, so a tiny quota is still a quota.
//!
//! Invariants:
//! - Only a live, authenticated key is counted, keyed by its id. An unknown or revoked key
//!   leaves no state (its route answers 401), so the state is bounded by the keys issued, and
//!   [`ApiKeyLimits::forget_idle`] (run every minute) drops keys whose bucket is full again.
//! - Every response to a request made with a live key carries `RateLimit-Limit` (the
//!   per-minute quota), `RateLimit-Remaining` and `RateLimit-Reset`; over the limit the request
//!   is refused with 429 and `Retry-After` before its handler runs.
//! - A user's own session (access token or cookie) is never counted here.
//! - Time is the application clock's monotonic reading ([`AppClock`]): a wall-clock step does
//!   not move a limit, and tests move it by moving the clock.
//!
//! Per node for now: with several nodes a key gets the quota on each (shared limits through
//! Redis are later work; the seam is [`super::limits`]).

use std::sync::Arc;
use std::time::Duration;

use axum::extract::{FromRequestParts, Request, State};
use axum::middleware::Next;
use axum::response::Response;
use ringup_app::meters::RateLimit;
use ringup_core::clock::Clock;
use ringup_core::ids::ApiKeyId;
use ringup_core::tokens::looks_like_api_key;

use super::limits::{AppClock, Limit, RateHeaders};
use super::principal::{Principal, PrincipalKind, Refused, bearer};
use crate::http::error::ApiError;
use crate::state::AppState;

/// What an API key may spend, chosen when it is issued.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Tier {
    Free,
    Basic,
    Pro,
    Enterprise,
}

/// A tier name that is none of the four.
#[derive(Debug, thiserror::Error)]
#[error("unknown API key tier `{0}`")]
pub struct UnknownTier(String);

impl Tier {
    pub const ALL: [Tier; 4] = [Tier::Free, Tier::Basic, Tier::Pro, Tier::Enterprise];

    pub fn as_str(self) -> &'static str {
        match self {
            Tier::Free => "free",
            Tier::Basic => "basic",
            Tier::Pro => "pro",
            Tier::Enterprise => "enterprise",
        }
    }

    /// The lower-case name, exactly as stored and sent.
    pub fn parse(text: &str) -> Result<Tier, UnknownTier> {
        Tier::ALL
            .into_iter()
            .find(|tier| tier.as_str() == text)
            .ok_or_else(|| UnknownTier(text.to_owned()))
    }
}

/// Requests per minute of each tier.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TierQuotas {
    pub free: u32,
    pub basic: u32,
    pub pro: u32,
    pub enterprise: u32,
}

impl Default for TierQuotas {
    fn default() -> Self {
        TierQuotas {
            free: 60,
            basic: 600,
            pro: 6_000,
            enterprise: 60_000,
        }
    }
}

impl TierQuotas {
    pub fn per_minute(&self, tier: Tier) -> u32 {
        match tier {
            Tier::Free => self.free,
            Tier::Basic => self.basic,
            Tier::Pro => self.pro,
            Tier::Enterprise => self.enterprise,
        }
    }
}

/// Requests a key may make at once: a tenth of its per-minute quota, at least 10, at most
/// the quota (and at least one).
pub fn burst_of(per_minute: u32) -> u32 {
    (per_minute / 10).max(10).min(per_minute).max(1)
}

/// One limit per tier, each keyed by API key id.
pub struct ApiKeyLimits {
    quotas: TierQuotas,
    limits: [Limit<AppClock>; 4],
}

impl ApiKeyLimits {
    pub fn new(quotas: TierQuotas, clock: Arc<dyn Clock>) -> ApiKeyLimits {
        let limit = |tier: Tier| {
            let per_minute = quotas.per_minute(tier).max(1);
            Limit::with_clock(
                RateLimit::ApiKey,
                per_minute,
                burst_of(per_minute),
                Duration::from_secs(60) / per_minute,
                AppClock(clock.clone()),
            )
        };
        ApiKeyLimits {
            quotas,
            limits: Tier::ALL.map(limit),
        }
    }

    pub fn quotas(&self) -> TierQuotas {
        self.quotas
    }

    fn limit(&self, tier: Tier) -> &Limit<AppClock> {
        let [free, basic, pro, enterprise] = &self.limits;
        match tier {
            Tier::Free => free,
            Tier::Basic => basic,
            Tier::Pro => pro,
            Tier::Enterprise => enterprise,
        }
    }

    /// Counts one request of `key`: headers when allowed, 429 with `Retry-After` when not.
    pub fn check(&self, key: ApiKeyId, tier: Tier) -> Result<RateHeaders, (ApiError, RateHeaders)> {
        self.limit(tier).check(&key.to_string())
    }

    /// Drops the state of keys whose bucket is full again.
    pub fn forget_idle(&self) {
        self.limits.iter().for_each(Limit::forget_idle);
    }

    /// Keys with state kept, over all tiers.
    pub fn tracked_keys(&self) -> usize {
        self.limits.iter().map(Limit::tracked_keys).sum()
    }
}

/// Middleware: a request with an API key is authenticated here, counted against its key's
/// tier, refused with 429 when over, and its response given the `RateLimit-*` headers. The
/// principal is left in the request so the handler does not look the key up again; a refused
/// key is marked so the handler answers 401 without a second lookup. Anything else (no
/// credentials, a user's token or cookie) passes untouched.
pub async fn limit_api_keys(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let (mut parts, body) = req.into_parts();
    if !bearer(&parts).is_some_and(|token| looks_like_api_key(&token)) {
        return next.run(Request::from_parts(parts, body)).await;
    }
    let principal = Principal::from_request_parts(&mut parts, &state).await;
    let (key, tier) = match principal {
        Ok(Principal {
            kind: PrincipalKind::ApiKey { key, tier },
            ..
        }) => (key, tier),
        Err(ApiError::Unauthorized) => {
            parts.extensions.insert(Refused);
            return next.run(Request::from_parts(parts, body)).await;
        }
        // A user principal cannot come from an `rk_` token; a store error is met again, and
        // answered, by the handler's own extractor.
        _ => return next.run(Request::from_parts(parts, body)).await,
    };
    match state.auth.api_key_limits.check(key, tier) {
        Ok(rate) => {
            let mut response = next.run(Request::from_parts(parts, body)).await;
            rate.apply(response.headers_mut());
            response
        }
        Err(limited) => super::handlers::rate_limited(limited),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ringup_core::clock::ManualClock;

    #[test]
    fn bursts_are_a_tenth_at_least_ten_never_above_the_quota() {
        let quotas = TierQuotas::default();
        let bursts = Tier::ALL.map(|tier| burst_of(quotas.per_minute(tier)));
        assert_eq!(bursts, [10, 60, 600, 6_000]);
        assert_eq!(burst_of(3), 3);
        assert_eq!(burst_of(0), 1);
    }

    #[test]
    fn tiers_round_trip_and_reject_other_names() {
        for tier in Tier::ALL {
            assert_eq!(Tier::parse(tier.as_str()).unwrap(), tier);
        }
        assert!(Tier::parse("Free").is_err());
        assert!(Tier::parse("gold").is_err());
    }

    #[test]
    fn a_key_gets_its_burst_refills_with_time_and_idle_state_is_dropped() {
        let clock = ManualClock::new(chrono::Utc::now());
        let limits = ApiKeyLimits::new(TierQuotas::default(), Arc::new(clock.clone()));
        let key = ApiKeyId::new();
        for left in (0..10).rev() {
            let rate = limits.check(key, Tier::Free).unwrap();
            assert_eq!((rate.limit, rate.remaining), (60, left));
        }
        let (err, rate) = limits.check(key, Tier::Free).unwrap_err();
        assert_eq!(err.status().as_u16(), 429);
        assert_eq!(rate.reset_secs, 1, "one request a second comes back");
        assert!(limits.check(ApiKeyId::new(), Tier::Free).is_ok());
        assert_eq!(limits.tracked_keys(), 2);

        clock.advance(chrono::Duration::seconds(1));
        assert_eq!(limits.check(key, Tier::Free).unwrap().remaining, 0);
        clock.advance(chrono::Duration::seconds(60));
        limits.forget_idle();
        assert_eq!(limits.tracked_keys(), 0, "full buckets are forgotten");
    }
}

//! Request-rate limits keyed by client IP or e-mail address (GCRA, via `governor`), with the
//! `RateLimit-*` headers a client needs to pace itself. Limits live in process memory: one
//! node's view. (With Redis configured they move there; that seam is this module.)

use std::net::IpAddr;
use std::num::NonZeroU32;
use std::time::Duration;

use axum::http::{HeaderMap, HeaderName, HeaderValue};
use governor::clock::{Clock as _, DefaultClock};
use governor::middleware::StateInformationMiddleware;
use governor::state::keyed::DefaultKeyedStateStore;
use governor::{Quota, RateLimiter};

use crate::error::ApiError;

type Keyed =
    RateLimiter<String, DefaultKeyedStateStore<String>, DefaultClock, StateInformationMiddleware>;

/// One named limit: `burst` requests, refilled evenly over `period`.
pub struct Limit {
    limiter: Keyed,
    burst: u32,
    period: Duration,
}

/// The outcome of a check, as headers to add to the response.
#[derive(Debug, Clone)]
pub struct RateHeaders {
    pub limit: u32,
    pub remaining: u32,
    pub reset_secs: u64,
}

impl RateHeaders {
    pub fn apply(&self, headers: &mut HeaderMap) {
        let pairs = [
            ("ratelimit-limit", self.limit as u64),
            ("ratelimit-remaining", self.remaining as u64),
            ("ratelimit-reset", self.reset_secs),
        ];
        for (name, value) in pairs {
            headers.insert(HeaderName::from_static(name), HeaderValue::from(value));
        }
    }
}

impl Limit {
    /// `burst` requests per `period` (at least one of each).
    pub fn new(burst: u32, period: Duration) -> Limit {
        let burst_nz = NonZeroU32::new(burst.max(1)).unwrap_or(NonZeroU32::MIN);
        let per_cell = period / burst.max(1);
        let quota = Quota::with_period(per_cell.max(Duration::from_millis(1)))
            .unwrap_or_else(|| Quota::per_second(burst_nz))
            .allow_burst(burst_nz);
        Limit {
            limiter: RateLimiter::keyed(quota).with_middleware::<StateInformationMiddleware>(),
            burst: burst.max(1),
            period,
        }
    }

    /// Counts one request for `key`: headers when allowed, 429 with `Retry-After` when not.
    pub fn check(&self, key: &str) -> Result<RateHeaders, (ApiError, RateHeaders)> {
        match self.limiter.check_key(&key.to_owned()) {
            Ok(snapshot) => {
                let remaining = snapshot.remaining_burst_capacity();
                let used = self.burst.saturating_sub(remaining);
                let reset = self.period.as_secs() * u64::from(used) / u64::from(self.burst);
                Ok(RateHeaders {
                    limit: self.burst,
                    remaining,
                    reset_secs: reset,
                })
            }
            Err(not_until) => {
                let wait = not_until.wait_time_from(DefaultClock::default().now());
                let secs = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
                let secs = secs.max(1);
                Err((
                    ApiError::RateLimited {
                        retry_after_secs: secs,
                    },
                    RateHeaders {
                        limit: self.burst,
                        remaining: 0,
                        reset_secs: secs,
                    },
                ))
            }
        }
    }

    /// Drops state of keys that are back to a full bucket, bounding memory.
    pub fn forget_idle(&self) {
        self.limiter.retain_recent();
        self.limiter.shrink_to_fit();
    }
}

/// The key for a client address: IPv6 clients are grouped by /64, which one household or
/// device usually controls.
pub fn ip_key(ip: IpAddr) -> String {
    match ip {
        IpAddr::V4(v4) => v4.to_string(),
        IpAddr::V6(v6) => {
            let [a, b, c, d, ..] = v6.segments();
            format!("{a:x}:{b:x}:{c:x}:{d:x}::/64")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn allows_the_burst_then_refuses_with_retry_after() {
        let limit = Limit::new(3, Duration::from_secs(3600));
        for expected in [2, 1, 0] {
            assert_eq!(limit.check("a").unwrap().remaining, expected);
        }
        let (err, headers) = limit.check("a").unwrap_err();
        assert_eq!(err.status().as_u16(), 429);
        assert!(
            headers.reset_secs > 0 && headers.reset_secs <= 1200,
            "{headers:?}"
        );
        assert!(limit.check("b").is_ok(), "keys are independent");
    }

    #[test]
    fn ipv6_clients_share_their_64() {
        let a: IpAddr = "2001:db8:1:2::1".parse().unwrap();
        let b: IpAddr = "2001:db8:1:2:ffff::9".parse().unwrap();
        assert_eq!(ip_key(a), ip_key(b));
    }
}

//! Request-rate limits keyed by client IP, e-mail address or API key (GCRA, via `governor`),
//! with the `RateLimit-*` headers a client needs to pace itself. Limits live in process memory:
//! one node's view. (Shared limits through Redis are later work — `REDIS_URL` is accepted but
//! not read yet — and this module is their seam.)
//!
//! governor's state snapshot gives what the headers need: the burst capacity left after a
//! request, and for a refusal the earliest time the next one is allowed. The time until the
//! bucket is full again is the cells used times the refill period, so no hand-written GCRA.
//!
//! Each limit knows its kind, and counts what it refuses in `ringup_rate_limited_total{limit}`
//! (the kind, never the key: keys are addresses and ids).

use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::Duration;

use axum::http::{HeaderMap, HeaderName, HeaderValue};
use governor::clock::{Clock as GovernorClock, DefaultClock};
use governor::middleware::StateInformationMiddleware;
use governor::state::keyed::DefaultKeyedStateStore;
use governor::{Quota, RateLimiter};
use ringup_app::meters::{self, RateLimit};
use ringup_core::clock::Clock;

use crate::http::error::ApiError;

type Keyed<C> = RateLimiter<String, DefaultKeyedStateStore<String>, C, StateInformationMiddleware>;

/// governor's view of the application's [`Clock`]: its monotonic reading, so a wall-clock step
/// never moves a limit and a test that moves the clock moves the limit with it.
#[derive(Clone)]
pub struct AppClock(pub Arc<dyn Clock>);

impl GovernorClock for AppClock {
    type Instant = Duration;

    fn now(&self) -> Duration {
        self.0.monotonic()
    }
}

/// One named limit: at most `burst` requests at once, one more allowed every `per_cell`.
pub struct Limit<C: GovernorClock = DefaultClock> {
    kind: RateLimit,
    limiter: Keyed<C>,
    clock: C,
    /// What `RateLimit-Limit` says.
    quota: u32,
    burst: u32,
    per_cell: Duration,
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
    /// `burst` requests per `period` (at least one of each), on the process's clock; the
    /// headers show `burst` as the limit.
    pub fn new(kind: RateLimit, burst: u32, period: Duration) -> Limit {
        let burst = burst.max(1);
        Limit::with_clock(kind, burst, burst, period / burst, DefaultClock::default())
    }
}

impl<C: GovernorClock + Clone> Limit<C> {
    /// `burst` requests at once (at least one), then one every `per_cell`; the headers show
    /// `quota` as the limit.
    pub fn with_clock(
        kind: RateLimit,
        quota: u32,
        burst: u32,
        per_cell: Duration,
        clock: C,
    ) -> Limit<C> {
        let burst = burst.max(1);
        let burst_nz = NonZeroU32::new(burst).unwrap_or(NonZeroU32::MIN);
        let per_cell = per_cell.max(Duration::from_micros(1));
        let rule = Quota::with_period(per_cell)
            .unwrap_or_else(|| Quota::per_second(burst_nz))
            .allow_burst(burst_nz);
        let state = DefaultKeyedStateStore::default();
        Limit {
            kind,
            limiter: Keyed::<C>::new(rule, state, clock.clone()),
            clock,
            quota,
            burst,
            per_cell,
        }
    }

    /// Counts one request for `key`: headers when allowed, 429 with `Retry-After` when not.
    /// `RateLimit-Reset` is the time until the bucket is full again (rounded up to a second);
    /// refused, it is the time until the next request is allowed, as `Retry-After`.
    pub fn check(&self, key: &str) -> Result<RateHeaders, (ApiError, RateHeaders)> {
        match self.limiter.check_key(&key.to_owned()) {
            Ok(snapshot) => {
                let remaining = snapshot.remaining_burst_capacity();
                let used = self.burst.saturating_sub(remaining);
                let refill = self.per_cell.checked_mul(used).unwrap_or(Duration::MAX);
                Ok(RateHeaders {
                    limit: self.quota,
                    remaining,
                    reset_secs: whole_seconds(refill),
                })
            }
            Err(not_until) => {
                meters::rate_limited(self.kind);
                let secs = whole_seconds(not_until.wait_time_from(self.clock.now())).max(1);
                Err((
                    ApiError::RateLimited {
                        retry_after_secs: secs,
                    },
                    RateHeaders {
                        limit: self.quota,
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

    /// Keys with state kept (an estimate while requests run).
    pub fn tracked_keys(&self) -> usize {
        self.limiter.len()
    }
}

/// Seconds, rounded up: a client that waits this long is not refused for being early.
fn whole_seconds(duration: Duration) -> u64 {
    duration.as_secs() + u64::from(duration.subsec_nanos() > 0)
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
        let limit = Limit::new(RateLimit::LoginPerIp, 3, Duration::from_secs(3600));
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

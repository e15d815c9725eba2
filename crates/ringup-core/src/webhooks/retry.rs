//! When a failed attempt is tried again, when it is given up, and when an endpoint's circuit
//! opens.
//!
//! The schedule: the n-th retry waits `5 s · 2^(n-1)`, capped at an hour, scaled by a jitter
//! factor between ½ and 1 (so endpoints that failed together do not all retry together): the
//! first retry comes within 5 s, the wait never exceeds an hour, and for a fixed jitter it
//! never shrinks. A failure at least [`give_up_after`] after the first attempt is final
//! (`dead`): with hourly retries by then, an event is tried for 3 days and at most an hour
//! more.

use chrono::{DateTime, Duration, Utc};

/// The wait before the first retry, before jitter.
const FIRST_RETRY_SECS: i64 = 5;
/// The longest wait between two attempts.
const MAX_RETRY_SECS: i64 = 3600;

/// Failures in a row that open an endpoint's circuit.
pub const CIRCUIT_THRESHOLD: i64 = 10;

/// How long an attempt is retried, counted from the first attempt.
pub fn give_up_after() -> Duration {
    Duration::days(3)
}

/// The wait after failed attempt number `attempt` (1 for the first), `jitter` in `[0, 1]`
/// (clamped): `base · (½ + ½·jitter)` with `base = min(5 s · 2^(attempt-1), 1 h)`.
pub fn retry_delay(attempt: i64, jitter: f64) -> Duration {
    let doublings = attempt.saturating_sub(1).clamp(0, 20);
    let base = FIRST_RETRY_SECS
        .saturating_mul(1_i64 << doublings)
        .min(MAX_RETRY_SECS);
    let jitter = if jitter.is_finite() {
        jitter.clamp(0.0, 1.0)
    } else {
        1.0
    };
    // In milliseconds: base ≤ 3,600,000 ms, so the product is exact in an f64.
    let base_ms = base * 1000;
    #[allow(clippy::cast_possible_truncation, clippy::cast_precision_loss)]
    let ms = (base_ms as f64 * (0.5 + 0.5 * jitter)).round() as i64;
    Duration::milliseconds(ms.clamp(base_ms / 2, base_ms))
}

/// What happens after a failed attempt.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AfterFailure {
    /// Try again at this time.
    RetryAt(DateTime<Utc>),
    /// Give up: the attempt is `dead`.
    Dead,
}

/// The fate of failed attempt `attempt` of an event first attempted at `first`, failing `now`.
pub fn after_failure(
    attempt: i64,
    first: DateTime<Utc>,
    now: DateTime<Utc>,
    jitter: f64,
) -> AfterFailure {
    if now - first >= give_up_after() {
        AfterFailure::Dead
    } else {
        AfterFailure::RetryAt(now + retry_delay(attempt, jitter))
    }
}

/// An endpoint's circuit breaker: closed, it is sent to whenever an attempt is due; open
/// after [`CIRCUIT_THRESHOLD`] failures in a row, it gets one probe a minute until one
/// succeeds, which closes it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Circuit {
    pub consecutive_failures: i64,
    /// `Some(time of the next probe)` while open.
    pub next_probe_at: Option<DateTime<Utc>>,
}

/// The time between two probes of an open circuit.
pub fn probe_interval() -> Duration {
    Duration::minutes(1)
}

impl Circuit {
    pub fn closed() -> Circuit {
        Circuit {
            consecutive_failures: 0,
            next_probe_at: None,
        }
    }

    pub fn is_open(&self) -> bool {
        self.next_probe_at.is_some()
    }

    /// After a successful attempt: closed, no failures.
    pub fn succeeded(self) -> Circuit {
        Circuit::closed()
    }

    /// After a failed attempt at `now`: one more failure; open (or still open) from the
    /// threshold on, with the next probe a minute later.
    pub fn failed(self, now: DateTime<Utc>) -> Circuit {
        let consecutive_failures = self.consecutive_failures.saturating_add(1);
        let next_probe_at =
            (consecutive_failures >= CIRCUIT_THRESHOLD).then(|| now + probe_interval());
        Circuit {
            consecutive_failures,
            next_probe_at,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn the_first_retry_is_within_ten_seconds_and_the_wait_caps_at_an_hour() {
        assert!(retry_delay(1, 1.0) <= Duration::seconds(10));
        assert!(retry_delay(1, 0.0) >= Duration::milliseconds(2500));
        assert_eq!(retry_delay(2, 1.0), Duration::seconds(10));
        assert_eq!(retry_delay(100, 1.0), Duration::hours(1));
        assert_eq!(retry_delay(i64::MAX, 1.0), Duration::hours(1));
        assert_eq!(retry_delay(0, 1.0), Duration::seconds(5));
        assert_eq!(retry_delay(3, f64::NAN), Duration::seconds(20));
    }

    #[test]
    fn an_event_is_retried_for_three_days_then_dead() {
        let first = Utc::now();
        // Fail every attempt with the shortest waits: it still takes 3 days to die.
        let mut now = first;
        let mut attempt = 1;
        while let AfterFailure::RetryAt(at) = after_failure(attempt, first, now, 0.0) {
            assert!(at > now);
            now = at;
            attempt += 1;
            assert!(attempt < 1000);
        }
        assert!(now - first >= Duration::days(3));
        assert!(now - first <= Duration::days(3) + Duration::hours(1));
    }

    #[test]
    fn the_circuit_opens_at_ten_failures_and_closes_on_success() {
        let now = Utc::now();
        let mut circuit = Circuit::closed();
        for _ in 0..9 {
            circuit = circuit.failed(now);
            assert!(!circuit.is_open());
        }
        circuit = circuit.failed(now);
        assert!(circuit.is_open());
        assert_eq!(circuit.next_probe_at, Some(now + Duration::minutes(1)));
        let later = now + Duration::minutes(1);
        circuit = circuit.failed(later);
        assert_eq!(circuit.next_probe_at, Some(later + Duration::minutes(1)));
        assert_eq!(circuit.succeeded(), Circuit::closed());
    }

    proptest! {
        #[test]
        fn the_schedule_is_bounded_and_never_shrinks(attempt in 1i64..200, jitter in 0.0f64..=1.0) {
            let this = retry_delay(attempt, jitter);
            let next = retry_delay(attempt + 1, jitter);
            prop_assert!(next >= this);
            prop_assert!(this >= Duration::milliseconds(2500));
            prop_assert!(this <= Duration::hours(1));
        }

        #[test]
        fn no_attempt_is_retried_past_three_days(
            attempt in 1i64..100, age_secs in 0i64..400_000, jitter in 0.0f64..=1.0
        ) {
            let first = Utc::now();
            let now = first + Duration::seconds(age_secs);
            match after_failure(attempt, first, now, jitter) {
                AfterFailure::Dead => prop_assert!(now - first >= give_up_after()),
                AfterFailure::RetryAt(at) => {
                    prop_assert!(now - first < give_up_after());
                    prop_assert!(at > now);
                }
            }
        }
    }
}

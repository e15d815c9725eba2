//! The time source.
//!
//! Invariants: domain code never reads the system clock directly; it asks a `Clock`, so tests
//! can freeze and move time (token expiry, lockout windows, reset links). All times are UTC.
//! Clones of a `ManualClock` share one instant: moving one moves them all.
//! [`Clock::monotonic`] never goes backwards on the real clock (the OS's monotonic clock, not
//! the wall clock an NTP step can move), so rules that measure intervals (rate limits) use it.

use std::sync::{Arc, Mutex, OnceLock, PoisonError};
use std::time::Instant;

use chrono::{DateTime, Duration, Utc};

/// Where "now" comes from.
pub trait Clock: Send + Sync + 'static {
    fn now(&self) -> DateTime<Utc>;

    /// Time elapsed since a fixed point of this clock, for measuring intervals. The real
    /// clock reads the OS's monotonic clock (from the first reading in the process); a manual
    /// clock its own instant, so a test that moves `now` moves this too.
    fn monotonic(&self) -> std::time::Duration {
        static ORIGIN: OnceLock<Instant> = OnceLock::new();
        ORIGIN.get_or_init(Instant::now).elapsed()
    }
}

/// The real wall clock.
#[derive(Clone, Copy, Debug, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
}

/// A clock that only moves when told to; for tests.
#[derive(Clone, Debug)]
pub struct ManualClock {
    at: Arc<Mutex<DateTime<Utc>>>,
}

impl ManualClock {
    pub fn new(start: DateTime<Utc>) -> Self {
        Self {
            at: Arc::new(Mutex::new(start)),
        }
    }

    /// Moves time by `by` (backwards when negative), saturating at chrono's representable
    /// range rather than panicking.
    pub fn advance(&self, by: Duration) {
        let mut at = self.at.lock().unwrap_or_else(PoisonError::into_inner);
        *at = at
            .checked_add_signed(by)
            .unwrap_or(if by < Duration::zero() {
                DateTime::<Utc>::MIN_UTC
            } else {
                DateTime::<Utc>::MAX_UTC
            });
    }

    pub fn set(&self, at: DateTime<Utc>) {
        *self.at.lock().unwrap_or_else(PoisonError::into_inner) = at;
    }
}

impl Clock for ManualClock {
    fn now(&self) -> DateTime<Utc> {
        // The guarded value is a plain `Copy` instant, so a poisoned lock still holds a
        // consistent value.
        *self.at.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The instant since the Unix epoch; zero before it.
    fn monotonic(&self) -> std::time::Duration {
        (self.now() - DateTime::UNIX_EPOCH)
            .to_std()
            .unwrap_or_default()
    }
}

impl<C: Clock + ?Sized> Clock for Arc<C> {
    fn now(&self) -> DateTime<Utc> {
        (**self).now()
    }
    fn monotonic(&self) -> std::time::Duration {
        (**self).monotonic()
    }
}

impl<C: Clock + ?Sized> Clock for Box<C> {
    fn now(&self) -> DateTime<Utc> {
        (**self).now()
    }
    fn monotonic(&self) -> std::time::Duration {
        (**self).monotonic()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn start() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 1, 2, 3, 4, 5).unwrap()
    }

    #[test]
    fn manual_clock_stands_still_until_moved() {
        let clock = ManualClock::new(start());
        assert_eq!(clock.now(), start());
        assert_eq!(clock.now(), start());
    }

    #[test]
    fn advance_and_set_move_time() {
        let clock = ManualClock::new(start());
        clock.advance(Duration::minutes(30));
        assert_eq!(clock.now(), start() + Duration::minutes(30));
        clock.advance(Duration::seconds(-10));
        assert_eq!(
            clock.now(),
            start() + Duration::minutes(30) - Duration::seconds(10)
        );
        clock.set(start());
        assert_eq!(clock.now(), start());
    }

    #[test]
    fn monotonic_readings_follow_a_manual_clock_through_an_arc() {
        let clock = ManualClock::new(start());
        let shared: Arc<dyn Clock> = Arc::new(clock.clone());
        let before = shared.monotonic();
        clock.advance(Duration::seconds(90));
        assert_eq!(
            shared.monotonic() - before,
            std::time::Duration::from_secs(90)
        );
        let real = SystemClock;
        let first = real.monotonic();
        assert!(real.monotonic() >= first);
    }

    #[test]
    fn advance_saturates_instead_of_panicking() {
        let clock = ManualClock::new(DateTime::<Utc>::MAX_UTC);
        clock.advance(Duration::days(1));
        assert_eq!(clock.now(), DateTime::<Utc>::MAX_UTC);
        clock.set(DateTime::<Utc>::MIN_UTC);
        clock.advance(Duration::days(-1));
        assert_eq!(clock.now(), DateTime::<Utc>::MIN_UTC);
    }

    #[test]
    fn clones_share_one_instant() {
        let clock = ManualClock::new(start());
        let other = clock.clone();
        clock.advance(Duration::hours(1));
        assert_eq!(other.now(), start() + Duration::hours(1));
    }

    #[test]
    fn works_behind_a_trait_object_across_threads() {
        let manual = ManualClock::new(start());
        let shared: Arc<dyn Clock> = Arc::new(manual.clone());
        let handle = {
            let shared = Arc::clone(&shared);
            std::thread::spawn(move || shared.now())
        };
        assert_eq!(handle.join().unwrap(), start());
        manual.advance(Duration::seconds(1));
        assert_eq!(shared.now(), start() + Duration::seconds(1));
    }

    #[test]
    fn system_clock_is_near_now() {
        let before = Utc::now();
        let now = SystemClock.now();
        assert!(now >= before && now <= Utc::now());
    }
}

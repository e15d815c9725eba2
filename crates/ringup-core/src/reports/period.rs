//! The days a report covers, how they group into weeks and months, and how a store's local
//! days map to instants.
//!
//! Invariants: a `Period` has `from <= to` and at most [`MAX_DAYS`] days, both inclusive, so
//! it and the period just before it ([`Period::previous`]) are valid dates; week keys are ISO
//! 8601 weeks (Monday first, the week-year of the Thursday: `2026-W49`), month keys `2026-12`,
//! and the keys of a period list every week or month that holds one of its days, ascending.

use chrono::{DateTime, Datelike, Duration, LocalResult, NaiveDate, TimeZone as _, Utc};
use chrono_tz::Tz;

/// The longest report: ten years and change (API.md "Reports").
pub const MAX_DAYS: i64 = 3_660;

/// Why `from` and `to` do not make a period.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum PeriodError {
    #[error("must be a date written YYYY-MM-DD")]
    Malformed,
    #[error("must not be before from")]
    Reversed,
    #[error("must be at most 3660 days after from")]
    TooLong,
}

/// A range of local days, both ends included.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Period {
    from: NaiveDate,
    to: NaiveDate,
}

impl Period {
    pub fn new(from: NaiveDate, to: NaiveDate) -> Result<Period, PeriodError> {
        if to < from {
            return Err(PeriodError::Reversed);
        }
        if (to - from).num_days() >= MAX_DAYS {
            return Err(PeriodError::TooLong);
        }
        // The previous period must exist too (dates far before year 1 do not).
        let period = Period { from, to };
        period.start_of_previous().ok_or(PeriodError::Malformed)?;
        Ok(period)
    }

    pub fn from(&self) -> NaiveDate {
        self.from
    }

    pub fn to(&self) -> NaiveDate {
        self.to
    }

    /// How many days, both ends counted.
    pub fn days(&self) -> i64 {
        (self.to - self.from).num_days() + 1
    }

    fn start_of_previous(&self) -> Option<NaiveDate> {
        self.from.checked_sub_signed(Duration::days(self.days()))
    }

    /// The same number of days just before `from`.
    pub fn previous(&self) -> Period {
        // `new` proved the start exists; `from` itself is the fallback only in theory.
        let from = self.start_of_previous().unwrap_or(self.from);
        let to = self.from.pred_opt().unwrap_or(self.from);
        Period { from, to }
    }

    /// Whether `day` is in the period.
    pub fn contains(&self, day: NaiveDate) -> bool {
        self.from <= day && day <= self.to
    }

    /// Every day, ascending.
    pub fn each_day(&self) -> impl Iterator<Item = NaiveDate> + use<> {
        let to = self.to;
        self.from.iter_days().take_while(move |d| *d <= to)
    }
}

/// A day written `YYYY-MM-DD`, nothing else (no sign, no missing zeros, no time).
pub fn parse_day(s: &str) -> Result<NaiveDate, PeriodError> {
    let well_formed = s.len() == 10
        && s.bytes().enumerate().all(|(i, b)| {
            if i == 4 || i == 7 {
                b == b'-'
            } else {
                b.is_ascii_digit()
            }
        });
    if !well_formed {
        return Err(PeriodError::Malformed);
    }
    NaiveDate::parse_from_str(s, "%Y-%m-%d").map_err(|_| PeriodError::Malformed)
}

/// How the time-keyed rows of a sales report group days.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TimeGroup {
    Day,
    Week,
    Month,
}

impl TimeGroup {
    /// The key of the row `day` falls in.
    pub fn key(self, day: NaiveDate) -> String {
        match self {
            TimeGroup::Day => day.format("%Y-%m-%d").to_string(),
            TimeGroup::Week => {
                let week = day.iso_week();
                format!("{:04}-W{:02}", week.year(), week.week())
            }
            TimeGroup::Month => format!("{:04}-{:02}", day.year(), day.month()),
        }
    }

    /// The keys of every row of `period`, ascending, each once (zeros included by the caller).
    pub fn keys(self, period: &Period) -> Vec<String> {
        let mut keys: Vec<String> = Vec::new();
        for day in period.each_day() {
            let key = self.key(day);
            if keys.last() != Some(&key) {
                keys.push(key);
            }
        }
        keys
    }
}

/// The store's local day at instant `at`.
pub fn local_day(at: DateTime<Utc>, tz: Tz) -> NaiveDate {
    at.with_timezone(&tz).date_naive()
}

/// The first instant of local day `day` in `tz`: local midnight, or where a daylight-saving
/// change skips midnight (some zones move their clocks at 00:00), the first local time that
/// exists that day. An ambiguous midnight takes its earlier instant.
pub fn day_start(day: NaiveDate, tz: Tz) -> DateTime<Utc> {
    let midnight = day.and_time(chrono::NaiveTime::MIN);
    // Gaps are at most a few hours; step through them a quarter of an hour at a time (every
    // zone's offsets are whole quarter hours).
    for quarter in 0..=16 {
        let local = midnight + Duration::minutes(15 * quarter);
        match tz.from_local_datetime(&local) {
            LocalResult::Single(t) => return t.with_timezone(&Utc),
            LocalResult::Ambiguous(early, _) => return early.with_timezone(&Utc),
            LocalResult::None => continue,
        }
    }
    Utc.from_utc_datetime(&midnight)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]
    use super::*;
    use proptest::prelude::*;

    fn day(s: &str) -> NaiveDate {
        parse_day(s).unwrap()
    }

    #[test]
    fn a_period_counts_both_ends_and_knows_the_one_before() {
        let p = Period::new(day("2026-12-01"), day("2026-12-31")).unwrap();
        assert_eq!(p.days(), 31);
        let prev = p.previous();
        assert_eq!(
            (prev.from(), prev.to()),
            (day("2026-10-31"), day("2026-11-30"))
        );
        let one = Period::new(day("2026-03-01"), day("2026-03-01")).unwrap();
        assert_eq!(one.days(), 1);
        assert_eq!(one.previous().from(), day("2026-02-28"));
        assert_eq!(one.previous().to(), day("2026-02-28"));
    }

    #[test]
    fn bad_periods_are_refused() {
        assert_eq!(
            Period::new(day("2026-12-02"), day("2026-12-01")),
            Err(PeriodError::Reversed)
        );
        let from = day("2000-01-01");
        assert!(Period::new(from, from + Duration::days(MAX_DAYS - 1)).is_ok());
        assert_eq!(
            Period::new(from, from + Duration::days(MAX_DAYS)),
            Err(PeriodError::TooLong)
        );
        assert_eq!(
            Period::new(NaiveDate::MIN, NaiveDate::MIN),
            Err(PeriodError::Malformed)
        );
    }

    #[test]
    fn only_plain_dates_parse() {
        assert_eq!(
            day("2026-02-28"),
            NaiveDate::from_ymd_opt(2026, 2, 28).unwrap()
        );
        for bad in [
            "",
            "2026-2-28",
            "2026-02-30",
            "26-02-28",
            "2026/02/28",
            "+2026-02-2",
            "2026-02-28T",
            "２０２６-02-28",
            "2026-13-01",
            " 2026-02-28",
        ] {
            assert_eq!(parse_day(bad), Err(PeriodError::Malformed), "{bad:?}");
        }
    }

    #[test]
    fn weeks_are_iso_weeks_and_months_calendar_months() {
        assert_eq!(TimeGroup::Week.key(day("2026-12-06")), "2026-W49");
        // 2027-01-01 is a Friday: ISO week 53 of 2026.
        assert_eq!(TimeGroup::Week.key(day("2027-01-01")), "2026-W53");
        // 2024-12-30 is a Monday: week 1 of 2025.
        assert_eq!(TimeGroup::Week.key(day("2024-12-30")), "2025-W01");
        assert_eq!(TimeGroup::Month.key(day("2026-12-06")), "2026-12");
        assert_eq!(TimeGroup::Day.key(day("2026-01-05")), "2026-01-05");
    }

    #[test]
    fn keys_list_every_bucket_touching_the_period() {
        let p = Period::new(day("2026-11-29"), day("2026-12-08")).unwrap();
        assert_eq!(
            TimeGroup::Week.keys(&p),
            ["2026-W48", "2026-W49", "2026-W50"]
        );
        assert_eq!(TimeGroup::Month.keys(&p), ["2026-11", "2026-12"]);
        assert_eq!(TimeGroup::Day.keys(&p).len(), 10);
    }

    #[test]
    fn local_days_follow_the_store_zone_across_daylight_saving() {
        let ny: Tz = "America/New_York".parse().unwrap();
        // 2026-03-08 is 23 hours long in New York, 2026-11-01 is 25.
        let short = day("2026-03-08");
        let long = day("2026-11-01");
        let len = |d: NaiveDate| day_start(d.succ_opt().unwrap(), ny) - day_start(d, ny);
        assert_eq!(len(short), Duration::hours(23));
        assert_eq!(len(long), Duration::hours(25));
        assert_eq!(len(day("2026-06-01")), Duration::hours(24));
        // 03:30 UTC on 1 Nov is 23:30 on 31 Oct in New York (EDT, -4).
        let at = Utc.with_ymd_and_hms(2026, 11, 1, 3, 30, 0).unwrap();
        assert_eq!(local_day(at, ny), day("2026-10-31"));
        let london: Tz = "Europe/London".parse().unwrap();
        let at = Utc.with_ymd_and_hms(2026, 7, 1, 23, 30, 0).unwrap();
        assert_eq!(local_day(at, london), day("2026-07-02"));
    }

    #[test]
    fn a_day_that_skips_midnight_starts_at_its_first_local_time() {
        // Chile moves its clocks at 24:00 in September: 2026-09-06 starts at 01:00 local.
        let santiago: Tz = "America/Santiago".parse().unwrap();
        let d = day("2026-09-06");
        let start = day_start(d, santiago);
        assert_eq!(local_day(start, santiago), d);
        assert_eq!(
            local_day(start - Duration::seconds(1), santiago),
            d.pred_opt().unwrap()
        );
    }

    proptest! {
        #[test]
        fn day_start_is_the_first_instant_of_the_local_day(
            days in 0i64..20_000,
            zone in prop::sample::select(vec![
                "America/New_York", "Europe/London", "Africa/Nairobi", "Asia/Kolkata",
                "Australia/Lord_Howe", "America/Santiago", "Pacific/Chatham", "UTC",
            ]),
        ) {
            let tz: Tz = zone.parse().unwrap();
            let d = day("1990-01-01") + Duration::days(days);
            let start = day_start(d, tz);
            prop_assert_eq!(local_day(start, tz), d);
            prop_assert!(local_day(start - Duration::seconds(1), tz) < d);
        }

        #[test]
        fn the_previous_period_ends_the_day_before_and_is_as_long(
            start in 0i64..40_000, len in 1i64..=MAX_DAYS,
        ) {
            let from = day("1950-01-01") + Duration::days(start);
            let p = Period::new(from, from + Duration::days(len - 1)).unwrap();
            let prev = p.previous();
            prop_assert_eq!(prev.days(), p.days());
            prop_assert_eq!(prev.to().succ_opt().unwrap(), p.from());
            prop_assert_eq!(p.each_day().count() as i64, p.days());
        }
    }
}

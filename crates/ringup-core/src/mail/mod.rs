//! Mail notifications, the pure rules (docs/ARCHITECTURE.md "Mail"): when a store's daily
//! summary is due, how long a failed mail waits before its next attempt, and the text of the
//! low-stock and daily-summary mails.
//!
//! Invariants: a summary time is `HH:MM` between 00:00 and 23:59; the retry delay never
//! shrinks from one attempt to the next and never exceeds [`MAX_RETRY_DELAY`]; a mail is given
//! up after [`MAX_ATTEMPTS`] attempts.

use chrono::{DateTime, NaiveDate, NaiveTime, Utc};
use chrono_tz::Tz;

use crate::reports::SalesFigures;
/// The store-local day of an instant (what "once per product per day" counts in).
pub use crate::reports::local_day;

/// Attempts at a mail before it is marked failed.
pub const MAX_ATTEMPTS: i64 = 8;
/// The wait before the second attempt; each later wait doubles, up to [`MAX_RETRY_DELAY`].
pub const FIRST_RETRY_DELAY: chrono::Duration = chrono::Duration::seconds(10);
/// The longest wait between two attempts.
pub const MAX_RETRY_DELAY: chrono::Duration = chrono::Duration::hours(1);
/// At most one low-stock mail per store in this long.
pub const LOW_STOCK_INTERVAL: chrono::Duration = chrono::Duration::hours(1);
/// How long the first low-stock notice of a store waits for others to join it in one mail.
pub const LOW_STOCK_GATHER: chrono::Duration = chrono::Duration::minutes(5);

/// The local time a store's daily summary goes out: `HH:MM`, 00:00 to 23:59.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct SummaryTime(NaiveTime);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("must be a time of day written HH:MM, from 00:00 to 23:59")]
pub struct SummaryTimeError;

impl SummaryTime {
    /// The default: 22:00.
    pub fn default_time() -> SummaryTime {
        SummaryTime(NaiveTime::from_hms_opt(22, 0, 0).unwrap_or(NaiveTime::MIN))
    }

    /// Parses exactly `HH:MM` (two digits each).
    pub fn parse(text: &str) -> Result<SummaryTime, SummaryTimeError> {
        let bytes = text.as_bytes();
        if bytes.len() != 5
            || bytes.get(2) != Some(&b':')
            || !text
                .char_indices()
                .all(|(i, c)| i == 2 || c.is_ascii_digit())
        {
            return Err(SummaryTimeError);
        }
        let hours: u32 = text
            .get(0..2)
            .and_then(|h| h.parse().ok())
            .ok_or(SummaryTimeError)?;
        let minutes: u32 = text
            .get(3..5)
            .and_then(|m| m.parse().ok())
            .ok_or(SummaryTimeError)?;
        NaiveTime::from_hms_opt(hours, minutes, 0)
            .filter(|_| hours < 24 && minutes < 60)
            .map(SummaryTime)
            .ok_or(SummaryTimeError)
    }

    /// `HH:MM`.
    pub fn as_text(&self) -> String {
        self.0.format("%H:%M").to_string()
    }
}

/// The local date whose summary is due at `now` in zone `tz` for a store that wants it at
/// `at`: today's once the local time has reached `at`, none before.
pub fn summary_due(now: DateTime<Utc>, tz: Tz, at: SummaryTime) -> Option<NaiveDate> {
    let local = now.with_timezone(&tz);
    (local.time() >= at.0).then(|| local.date_naive())
}

/// How long to wait after failed attempt number `attempts` (1 for the first) before the next
/// one; `None` when that was the last allowed attempt.
pub fn retry_delay(attempts: i64) -> Option<chrono::Duration> {
    if attempts >= MAX_ATTEMPTS {
        return None;
    }
    let doublings = u32::try_from(attempts.saturating_sub(1).clamp(0, 20)).unwrap_or(20);
    let delay = FIRST_RETRY_DELAY
        .checked_mul(2_i32.saturating_pow(doublings))
        .unwrap_or(MAX_RETRY_DELAY);
    Some(delay.min(MAX_RETRY_DELAY))
}

/// A product listed in a low-stock mail.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LowStockLine {
    pub sku: String,
    pub name: String,
    pub available: i64,
    pub threshold: i64,
}

/// A mail's subject and plain-text body.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MailText {
    pub subject: String,
    pub body: String,
}

/// The low-stock mail of a store: every product listed, by SKU.
pub fn low_stock_mail(store_code: &str, store_name: &str, lines: &[LowStockLine]) -> MailText {
    let mut sorted: Vec<&LowStockLine> = lines.iter().collect();
    sorted.sort_by(|a, b| a.sku.cmp(&b.sku));
    let mut body = format!(
        "These products fell to or below their low-stock threshold in {store_name} ({store_code}):\n\n"
    );
    for line in sorted {
        body.push_str(&format!(
            "- {} {}: {} available (threshold {})\n",
            line.sku, line.name, line.available, line.threshold
        ));
    }
    body.push_str(
        "\nYou get at most one such mail per store an hour, and each product at most once a day.\n",
    );
    MailText {
        subject: format!(
            "Low stock in {store_name} ({store_code}): {} product{}",
            lines.len(),
            if lines.len() == 1 { "" } else { "s" }
        ),
        body,
    }
}

/// The figures of a store's day for its summary mail (minor units of `currency`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DaySummary {
    /// The day's totals, as the sales report sums them.
    pub figures: SalesFigures,
    /// Best sellers by total: (label, total).
    pub top_products: Vec<(String, i64)>,
}

/// `1234` with 2 decimals → `12.34`.
fn money(minor: i64, decimals: u32) -> String {
    if decimals == 0 {
        return minor.to_string();
    }
    let scale = 10_i64.saturating_pow(decimals);
    let sign = if minor < 0 { "-" } else { "" };
    let abs = minor.unsigned_abs();
    let scale = scale.unsigned_abs();
    format!(
        "{sign}{}.{:0width$}",
        abs / scale,
        abs % scale,
        width = decimals as usize
    )
}

/// The daily summary mail of a store for `day`.
pub fn summary_mail(
    store_code: &str,
    store_name: &str,
    day: NaiveDate,
    currency: &str,
    decimals: u32,
    summary: &DaySummary,
) -> MailText {
    let figures = &summary.figures;
    let m = |v: i64| format!("{} {currency}", money(v, decimals));
    let mut body = format!("Sales of {store_name} ({store_code}) on {day}:\n\n");
    body.push_str(&format!("Sales:      {}\n", figures.sales));
    body.push_str(&format!("Gross:      {}\n", m(figures.gross)));
    body.push_str(&format!("Discounts:  {}\n", m(figures.discounts)));
    body.push_str(&format!("Net:        {}\n", m(figures.net)));
    body.push_str(&format!("Tax:        {}\n", m(figures.tax)));
    body.push_str(&format!("Total:      {}\n", m(figures.total)));
    body.push_str(&format!("Returns:    {}\n", figures.returns));
    body.push_str(&format!("Refunds:    {}\n", m(figures.refunds)));
    if !summary.top_products.is_empty() {
        body.push_str("\nTop products:\n");
        for (label, total) in &summary.top_products {
            body.push_str(&format!("- {label}: {}\n", m(*total)));
        }
    }
    MailText {
        subject: format!("Daily summary of {store_name} ({store_code}) for {day}"),
        body,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use proptest::prelude::*;

    #[test]
    fn summary_times_are_hh_mm_within_a_day() {
        assert_eq!(
            SummaryTime::parse("22:00").map(|t| t.as_text()),
            Ok("22:00".into())
        );
        assert_eq!(
            SummaryTime::parse("00:00").map(|t| t.as_text()),
            Ok("00:00".into())
        );
        assert_eq!(
            SummaryTime::parse("23:59").map(|t| t.as_text()),
            Ok("23:59".into())
        );
        for bad in [
            "24:00", "23:60", "7:00", "07:0", "07-00", "", "ab:cd", "+1:00", "07:00 ",
        ] {
            assert_eq!(SummaryTime::parse(bad), Err(SummaryTimeError), "{bad}");
        }
    }

    #[test]
    fn a_summary_is_due_from_its_local_time_on_that_local_day() {
        let Ok(at) = SummaryTime::parse("22:00") else {
            unreachable!("valid")
        };
        let tz: Tz = chrono_tz::Africa::Nairobi; // UTC+3
        let before = Utc.with_ymd_and_hms(2026, 3, 1, 18, 59, 0).single();
        let after = Utc.with_ymd_and_hms(2026, 3, 1, 19, 0, 0).single();
        let next_morning = Utc.with_ymd_and_hms(2026, 3, 1, 21, 30, 0).single();
        let (Some(before), Some(after), Some(next_morning)) = (before, after, next_morning) else {
            unreachable!("valid dates")
        };
        assert_eq!(summary_due(before, tz, at), None);
        assert_eq!(
            summary_due(after, tz, at),
            NaiveDate::from_ymd_opt(2026, 3, 1)
        );
        // 00:30 on the 2nd in Nairobi: the 2nd's summary is not due yet.
        assert_eq!(summary_due(next_morning, tz, at), None);
    }

    #[test]
    fn retries_back_off_then_give_up() {
        assert_eq!(retry_delay(1), Some(chrono::Duration::seconds(10)));
        assert_eq!(retry_delay(2), Some(chrono::Duration::seconds(20)));
        assert_eq!(
            retry_delay(MAX_ATTEMPTS - 1).map(|d| d <= MAX_RETRY_DELAY),
            Some(true)
        );
        assert_eq!(retry_delay(MAX_ATTEMPTS), None);
    }

    #[test]
    fn a_low_stock_mail_lists_every_product() {
        let text = low_stock_mail(
            "NBO1",
            "Nairobi",
            &[
                LowStockLine {
                    sku: "B-2".into(),
                    name: "Bread".into(),
                    available: 1,
                    threshold: 5,
                },
                LowStockLine {
                    sku: "A-1".into(),
                    name: "Milk".into(),
                    available: 0,
                    threshold: 3,
                },
            ],
        );
        assert!(text.subject.contains("2 products"), "{}", text.subject);
        let milk = text.body.find("A-1 Milk");
        let bread = text.body.find("B-2 Bread");
        assert!(
            matches!((milk, bread), (Some(m), Some(b)) if m < b),
            "{}",
            text.body
        );
    }

    #[test]
    fn money_is_written_with_the_currency_decimals() {
        assert_eq!(money(1234, 2), "12.34");
        assert_eq!(money(-5, 2), "-0.05");
        assert_eq!(money(700, 0), "700");
    }

    proptest! {
        #[test]
        fn retry_delays_never_shrink_and_stay_capped(attempts in 1_i64..MAX_ATTEMPTS) {
            let this = retry_delay(attempts);
            let next = retry_delay(attempts + 1);
            prop_assert!(this.is_some_and(|d| d <= MAX_RETRY_DELAY && d >= FIRST_RETRY_DELAY));
            if let (Some(this), Some(next)) = (this, next) {
                prop_assert!(next >= this);
            }
        }

        #[test]
        fn every_valid_time_round_trips(h in 0_u32..24, m in 0_u32..60) {
            let text = format!("{h:02}:{m:02}");
            prop_assert_eq!(SummaryTime::parse(&text).map(|t| t.as_text()), Ok(text));
        }

        #[test]
        fn out_of_range_times_are_refused(h in 24_u32..100, m in 0_u32..100) {
            let text = format!("{h:02}:{m:02}");
            prop_assert!(SummaryTime::parse(&text).is_err());
        }
    }
}

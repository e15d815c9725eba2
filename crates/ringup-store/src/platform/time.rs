//! Timestamps as stored: RFC 3339 in UTC with exactly six fractional digits and a `Z`
//! (`2026-11-25T01:59:40.123456Z`). Fixed width means text order is time order, so range
//! filters and indexes work the same on both engines without engine-specific types.

use chrono::{DateTime, SecondsFormat, Utc};

/// Formats `at` the way every timestamp column stores it.
pub fn to_db(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Micros, true)
}

/// Parses a stored timestamp. Only text written by [`to_db`] is expected here.
pub fn from_db(text: &str) -> Result<DateTime<Utc>, chrono::ParseError> {
    DateTime::parse_from_rfc3339(text).map(|at| at.with_timezone(&Utc))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn stored_text_is_fixed_width_and_round_trips() {
        let whole = Utc.with_ymd_and_hms(2026, 1, 2, 3, 4, 5).single();
        let Some(whole) = whole else {
            unreachable!("valid date")
        };
        let text = to_db(whole);
        assert_eq!(text, "2026-01-02T03:04:05.000000Z");
        assert_eq!(from_db(&text).ok(), Some(whole));
        let later = whole + chrono::Duration::microseconds(1);
        assert!(to_db(later) > text, "text order must be time order");
    }
}

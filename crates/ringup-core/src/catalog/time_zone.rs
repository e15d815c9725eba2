//! Time zones. Invariant: a `TimeZone` is a zone of the IANA tz database (as compiled into
//! chrono-tz), named exactly as the database spells it. Matching is case-sensitive, so the
//! name kept is the name given; links such as `US/Eastern` are valid names and are kept as
//! given rather than resolved to their target.

use std::str::FromStr;

use chrono_tz::Tz;

/// Why a string is not a time zone.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum TimeZoneError {
    #[error("must be an IANA time zone name such as Africa/Nairobi or Europe/London")]
    Unknown,
}

/// A store's local time zone, used for business days and receipt times.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct TimeZone(Tz);

impl TimeZone {
    pub fn parse(s: &str) -> Result<TimeZone, TimeZoneError> {
        Tz::from_str(s)
            .map(TimeZone)
            .map_err(|_| TimeZoneError::Unknown)
    }

    /// The zone's name in the tz database, such as `Africa/Nairobi`.
    pub fn as_str(&self) -> &'static str {
        self.0.name()
    }

    /// The zone itself, for converting instants to local time.
    pub fn tz(self) -> Tz {
        self.0
    }
}

text_newtype_conversions!(TimeZone, TimeZoneError);

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{TimeZone as _, Utc};
    use proptest::prelude::*;

    #[test]
    fn accepts_iana_names_and_keeps_them() {
        for good in [
            "Africa/Nairobi",
            "Africa/Dar_es_Salaam",
            "Africa/Kampala",
            "Europe/London",
            "America/Argentina/Buenos_Aires",
            "UTC",
            "Etc/UTC",
            "Etc/GMT+3",
            "US/Eastern",
        ] {
            let zone = TimeZone::parse(good).unwrap();
            assert_eq!(zone.as_str(), good);
            assert_eq!(zone.to_string(), good);
        }
    }

    #[test]
    fn rejects_unknown_names_and_other_spellings() {
        for bad in [
            "",
            "Nairobi",
            "africa/nairobi",
            "AFRICA/NAIROBI",
            " Africa/Nairobi",
            "Africa/Nairobi ",
            "Africa/Atlantis",
            "EAT",
            "+03:00",
            "UTC+3",
        ] {
            assert_eq!(TimeZone::parse(bad), Err(TimeZoneError::Unknown), "{bad:?}");
        }
        assert_eq!(
            TimeZoneError::Unknown.to_string(),
            "must be an IANA time zone name such as Africa/Nairobi or Europe/London"
        );
    }

    #[test]
    fn tz_converts_to_local_time() {
        let nairobi = TimeZone::parse("Africa/Nairobi").unwrap().tz();
        let noon_utc = Utc.with_ymd_and_hms(2026, 1, 1, 12, 0, 0).unwrap();
        let local = noon_utc.with_timezone(&nairobi);
        assert_eq!(local.format("%H:%M").to_string(), "15:00");
    }

    #[test]
    fn serde_round_trip_and_failures() {
        let zone = TimeZone::parse("Africa/Nairobi").unwrap();
        let json = serde_json::to_string(&zone).unwrap();
        assert_eq!(json, "\"Africa/Nairobi\"");
        assert_eq!(serde_json::from_str::<TimeZone>(&json).unwrap(), zone);

        let err = serde_json::from_str::<TimeZone>("\"Mars/Olympus\"").unwrap_err();
        assert!(err.to_string().contains("IANA time zone name"), "{err}");
    }

    proptest! {
        #[test]
        fn parse_never_panics(s in any::<String>()) {
            if let Ok(zone) = TimeZone::parse(&s) {
                prop_assert_eq!(zone.as_str(), s.as_str());
            }
        }
    }
}

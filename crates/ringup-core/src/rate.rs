//! Rates in basis points.
//!
//! Invariants: a `RateBp` is a whole number of basis points between 0 and 10000 inclusive
//! (0% to 100%; 1 bp = 0.01%). Rates are integers so they never drift the way binary floats do;
//! applying one to money, and the rounding that needs, belongs to the money code, not here.

use std::fmt;
use std::str::FromStr;

/// Why a value is not a rate.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum RateError {
    #[error("must be between 0 and 10000 basis points (0% to 100%), got {value}")]
    OutOfRange { value: i64 },
    #[error("must be a whole number of basis points between 0 and 10000")]
    NotANumber,
}

/// A rate (commission, tax, discount) in basis points, 0..=10000.
#[derive(
    Clone,
    Copy,
    Debug,
    Default,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    serde::Serialize,
    serde::Deserialize,
)]
#[serde(try_from = "i64", into = "i64")]
pub struct RateBp(i64);

impl RateBp {
    pub const ZERO: RateBp = RateBp(0);
    /// 100%.
    pub const MAX: RateBp = RateBp(10_000);

    pub fn new(value: i64) -> Result<RateBp, RateError> {
        if (Self::ZERO.0..=Self::MAX.0).contains(&value) {
            Ok(RateBp(value))
        } else {
            Err(RateError::OutOfRange { value })
        }
    }

    pub fn value(self) -> i64 {
        self.0
    }
}

impl TryFrom<i64> for RateBp {
    type Error = RateError;

    fn try_from(value: i64) -> Result<Self, Self::Error> {
        RateBp::new(value)
    }
}

impl From<RateBp> for i64 {
    fn from(rate: RateBp) -> i64 {
        rate.0
    }
}

/// Parses a plain integer such as `"250"` (query strings, CSV imports); no `%`, no decimals.
impl FromStr for RateBp {
    type Err = RateError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let value: i64 = s.trim().parse().map_err(|_| RateError::NotANumber)?;
        RateBp::new(value)
    }
}

impl fmt::Display for RateBp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} bp", self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn bounds_are_inclusive() {
        assert_eq!(RateBp::new(0).unwrap().value(), 0);
        assert_eq!(RateBp::new(1).unwrap().value(), 1);
        assert_eq!(RateBp::new(10_000).unwrap().value(), 10_000);
        assert_eq!(RateBp::new(-1), Err(RateError::OutOfRange { value: -1 }));
        assert_eq!(
            RateBp::new(10_001),
            Err(RateError::OutOfRange { value: 10_001 })
        );
        assert!(RateBp::new(i64::MIN).is_err());
        assert!(RateBp::new(i64::MAX).is_err());
    }

    #[test]
    fn default_is_zero() {
        assert_eq!(RateBp::default(), RateBp::ZERO);
        assert_eq!(RateBp::default().value(), 0);
    }

    #[test]
    fn serde_is_a_bare_integer() {
        let rate = RateBp::new(250).unwrap();
        assert_eq!(serde_json::to_string(&rate).unwrap(), "250");
        assert_eq!(serde_json::from_str::<RateBp>("250").unwrap(), rate);
    }

    #[test]
    fn serde_rejects_out_of_range_with_a_message() {
        for bad in ["-1", "10001"] {
            let err = serde_json::from_str::<RateBp>(bad).unwrap_err();
            assert!(
                err.to_string()
                    .contains("must be between 0 and 10000 basis points"),
                "{err}"
            );
        }
        assert!(serde_json::from_str::<RateBp>("1.5").is_err());
        assert!(serde_json::from_str::<RateBp>("\"250\"").is_err());
    }

    #[test]
    fn from_str_parses_plain_integers() {
        assert_eq!("250".parse::<RateBp>().unwrap().value(), 250);
        assert_eq!(" 0 ".parse::<RateBp>().unwrap().value(), 0);
        assert_eq!("2.5".parse::<RateBp>(), Err(RateError::NotANumber));
        assert_eq!("5%".parse::<RateBp>(), Err(RateError::NotANumber));
        assert_eq!(
            "10001".parse::<RateBp>(),
            Err(RateError::OutOfRange { value: 10_001 })
        );
    }

    #[test]
    fn display_names_the_unit() {
        assert_eq!(RateBp::new(75).unwrap().to_string(), "75 bp");
    }

    proptest! {
        #[test]
        fn new_accepts_exactly_the_range(value in any::<i64>()) {
            prop_assert_eq!(RateBp::new(value).is_ok(), (0..=10_000).contains(&value));
        }

        #[test]
        fn parse_never_panics(s in any::<String>()) {
            if let Ok(rate) = s.parse::<RateBp>() {
                prop_assert!((0..=10_000).contains(&rate.value()));
            }
        }

        #[test]
        fn valid_rates_round_trip_through_text(value in 0i64..=10_000) {
            let rate = RateBp::new(value).unwrap();
            prop_assert_eq!(rate.value().to_string().parse::<RateBp>().unwrap(), rate);
        }
    }
}

//! Amounts of money. Invariant: a `Money` is a whole number of minor units (cents for KES or
//! USD, shillings for UGX) between 0 and [`Money::MAX`] (10¹², docs/API.md "Conventions"). Every
//! operation is checked: one that would leave that range gives `None`, never a wrapped,
//! negative or oversized amount. The bound keeps every sum the domain forms (a sale of 500
//! lines, a shift's running totals, a drawer's expected cash) far inside `i64`, and it is the
//! same bound the database enforces on every money column (migration 0008). The currency is
//! not part of the value; it is the store's (`CurrencyCode`), and `minor_units()` says how to
//! show it.

/// Why a number is not an amount of money.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum MoneyError {
    #[error("must not be negative (a whole number of minor units such as cents), got {value}")]
    Negative { value: i64 },
    #[error(
        "must be at most {max} minor units, got {value}",
        max = Money::MAX.0
    )]
    TooLarge { value: i64 },
}

/// A price, cost or total, in minor units.
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
pub struct Money(i64);

impl Money {
    pub const ZERO: Money = Money(0);
    /// The largest amount ringup accepts or stores anywhere: 10¹² minor units.
    pub const MAX: Money = Money(1_000_000_000_000);

    pub fn new(minor_units: i64) -> Result<Money, MoneyError> {
        if minor_units < 0 {
            Err(MoneyError::Negative { value: minor_units })
        } else if minor_units > Self::MAX.0 {
            Err(MoneyError::TooLarge { value: minor_units })
        } else {
            Ok(Money(minor_units))
        }
    }

    /// Whether `minor_units` is an amount (0..=`MAX`), for figures kept as bare `i64`.
    pub fn fits(minor_units: i64) -> bool {
        (0..=Self::MAX.0).contains(&minor_units)
    }

    /// The amount in minor units.
    pub const fn value(self) -> i64 {
        self.0
    }

    /// `None` past `MAX`.
    pub fn checked_add(self, other: Money) -> Option<Money> {
        self.0
            .checked_add(other.0)
            .and_then(|sum| Money::new(sum).ok())
    }

    /// `None` when `other` is larger: an amount of money is never negative, so a caller that
    /// can legitimately go below zero (a refund exceeding a balance) must say what it means.
    pub fn checked_sub(self, other: Money) -> Option<Money> {
        self.0
            .checked_sub(other.0)
            .and_then(|diff| Money::new(diff).ok())
    }

    /// `None` past `MAX` or when `factor` is negative (so the product would be).
    pub fn checked_mul(self, factor: i64) -> Option<Money> {
        self.0
            .checked_mul(factor)
            .and_then(|product| Money::new(product).ok())
    }
}

integer_newtype_conversions!(Money, MoneyError);

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn money(value: i64) -> Money {
        Money::new(value).unwrap()
    }

    #[test]
    fn zero_and_positive_are_money_negative_is_not() {
        assert_eq!(Money::new(0).unwrap(), Money::ZERO);
        assert_eq!(Money::default(), Money::ZERO);
        assert_eq!(money(1).value(), 1);
        assert_eq!(money(1_000_000_000_000), Money::MAX);
        assert_eq!(Money::new(-1), Err(MoneyError::Negative { value: -1 }));
        assert!(Money::new(i64::MIN).is_err());
        assert_eq!(
            Money::new(1_000_000_000_001),
            Err(MoneyError::TooLarge {
                value: 1_000_000_000_001
            })
        );
        assert_eq!(
            Money::new(i64::MAX),
            Err(MoneyError::TooLarge { value: i64::MAX })
        );
        assert!(Money::fits(0) && Money::fits(Money::MAX.value()));
        assert!(!Money::fits(-1) && !Money::fits(Money::MAX.value() + 1));
        assert_eq!(
            MoneyError::Negative { value: -5 }.to_string(),
            "must not be negative (a whole number of minor units such as cents), got -5"
        );
    }

    #[test]
    fn checked_add() {
        assert_eq!(money(150).checked_add(money(50)), Some(money(200)));
        assert_eq!(Money::ZERO.checked_add(Money::ZERO), Some(Money::ZERO));
        assert_eq!(Money::MAX.checked_add(money(1)), None);
        assert_eq!(Money::MAX.checked_add(Money::ZERO), Some(Money::MAX));
    }

    #[test]
    fn checked_sub_never_goes_negative() {
        assert_eq!(money(150).checked_sub(money(50)), Some(money(100)));
        assert_eq!(money(50).checked_sub(money(50)), Some(Money::ZERO));
        assert_eq!(money(50).checked_sub(money(51)), None);
        assert_eq!(Money::ZERO.checked_sub(Money::MAX), None);
    }

    #[test]
    fn checked_mul() {
        assert_eq!(money(250).checked_mul(3), Some(money(750)));
        assert_eq!(money(250).checked_mul(0), Some(Money::ZERO));
        assert_eq!(Money::ZERO.checked_mul(-3), Some(Money::ZERO));
        assert_eq!(money(250).checked_mul(-1), None);
        assert_eq!(Money::MAX.checked_mul(2), None);
        assert_eq!(money(500_000_000_001).checked_mul(2), None);
        assert_eq!(money(1).checked_mul(i64::MAX), None);
    }

    #[test]
    fn conversions_and_display() {
        assert_eq!(Money::try_from(99).unwrap(), money(99));
        assert_eq!(Money::try_from(-1), Err(MoneyError::Negative { value: -1 }));
        assert_eq!(i64::from(money(99)), 99);
        assert_eq!(money(12_345).to_string(), "12345");
        assert!(money(1) > Money::ZERO);
    }

    #[test]
    fn serde_is_a_bare_integer() {
        let price = money(12_345);
        assert_eq!(serde_json::to_string(&price).unwrap(), "12345");
        assert_eq!(serde_json::from_str::<Money>("12345").unwrap(), price);
        assert_eq!(serde_json::from_str::<Money>("0").unwrap(), Money::ZERO);
    }

    #[test]
    fn serde_rejects_negative_and_non_integers() {
        let err = serde_json::from_str::<Money>("-1").unwrap_err();
        assert!(err.to_string().contains("must not be negative"), "{err}");
        assert!(serde_json::from_str::<Money>("1.5").is_err());
        assert!(serde_json::from_str::<Money>("\"100\"").is_err());
        assert!(serde_json::from_str::<Money>("9223372036854775808").is_err());
        let err = serde_json::from_str::<Money>("9223372036854775807").unwrap_err();
        assert!(err.to_string().contains("at most 1000000000000"), "{err}");
    }

    proptest! {
        #[test]
        fn new_accepts_exactly_the_range(value in any::<i64>()) {
            prop_assert_eq!(Money::new(value).is_ok(), (0..=1_000_000_000_000).contains(&value));
        }

        #[test]
        fn results_stay_in_range_or_are_none(
            a in 0i64..=Money::MAX.value(),
            b in 0i64..=Money::MAX.value(),
            k in any::<i64>(),
        ) {
            let (a, b) = (money(a), money(b));
            let wide = |m: Money| i128::from(m.value());
            let exact = [
                (a.checked_add(b), wide(a) + wide(b)),
                (a.checked_sub(b), wide(a) - wide(b)),
                (a.checked_mul(k), wide(a) * i128::from(k)),
            ];
            for (result, exact) in exact {
                let in_range = (0..=wide(Money::MAX)).contains(&exact);
                prop_assert_eq!(result.is_some(), in_range);
                if let Some(m) = result {
                    prop_assert_eq!(wide(m), exact);
                }
            }
        }

        #[test]
        fn add_then_sub_is_identity(a in 0i64..=Money::MAX.value() / 2, b in 0i64..=Money::MAX.value() / 2) {
            let (a, b) = (money(a), money(b));
            let sum = a.checked_add(b).unwrap();
            prop_assert_eq!(sum.checked_sub(b), Some(a));
            prop_assert_eq!(sum.checked_sub(a), Some(b));
        }
    }
}

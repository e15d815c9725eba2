//! Amounts of money. Invariant: a `Money` is a non-negative whole number of minor units (cents
//! for KES or USD, shillings for UGX) in an `i64`. Every operation is checked: one that would
//! overflow or go below zero gives `None`, never a wrapped or negative amount. The currency is
//! not part of the value; it is the store's (`CurrencyCode`), and `minor_units()` says how to
//! show it.

/// Why a number is not an amount of money.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum MoneyError {
    #[error("must not be negative (a whole number of minor units such as cents), got {value}")]
    Negative { value: i64 },
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

    pub fn new(minor_units: i64) -> Result<Money, MoneyError> {
        if minor_units >= 0 {
            Ok(Money(minor_units))
        } else {
            Err(MoneyError::Negative { value: minor_units })
        }
    }

    /// The amount in minor units.
    pub fn value(self) -> i64 {
        self.0
    }

    /// `None` on overflow.
    pub fn checked_add(self, other: Money) -> Option<Money> {
        self.0.checked_add(other.0).map(Money)
    }

    /// `None` when `other` is larger: an amount of money is never negative, so a caller that
    /// can legitimately go below zero (a refund exceeding a balance) must say what it means.
    pub fn checked_sub(self, other: Money) -> Option<Money> {
        self.0
            .checked_sub(other.0)
            .and_then(|diff| Money::new(diff).ok())
    }

    /// `None` on overflow or when `factor` is negative (so the product would be).
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
        assert_eq!(money(i64::MAX).value(), i64::MAX);
        assert_eq!(Money::new(-1), Err(MoneyError::Negative { value: -1 }));
        assert!(Money::new(i64::MIN).is_err());
        assert_eq!(
            MoneyError::Negative { value: -5 }.to_string(),
            "must not be negative (a whole number of minor units such as cents), got -5"
        );
    }

    #[test]
    fn checked_add() {
        assert_eq!(money(150).checked_add(money(50)), Some(money(200)));
        assert_eq!(Money::ZERO.checked_add(Money::ZERO), Some(Money::ZERO));
        assert_eq!(money(i64::MAX).checked_add(money(1)), None);
        assert_eq!(
            money(i64::MAX).checked_add(Money::ZERO),
            Some(money(i64::MAX))
        );
    }

    #[test]
    fn checked_sub_never_goes_negative() {
        assert_eq!(money(150).checked_sub(money(50)), Some(money(100)));
        assert_eq!(money(50).checked_sub(money(50)), Some(Money::ZERO));
        assert_eq!(money(50).checked_sub(money(51)), None);
        assert_eq!(Money::ZERO.checked_sub(money(i64::MAX)), None);
    }

    #[test]
    fn checked_mul() {
        assert_eq!(money(250).checked_mul(3), Some(money(750)));
        assert_eq!(money(250).checked_mul(0), Some(Money::ZERO));
        assert_eq!(Money::ZERO.checked_mul(-3), Some(Money::ZERO));
        assert_eq!(money(250).checked_mul(-1), None);
        assert_eq!(money(i64::MAX).checked_mul(2), None);
        assert_eq!(money(i64::MAX / 2 + 1).checked_mul(2), None);
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
    }

    proptest! {
        #[test]
        fn new_accepts_exactly_non_negative(value in any::<i64>()) {
            prop_assert_eq!(Money::new(value).is_ok(), value >= 0);
        }

        #[test]
        fn results_are_never_negative(a in 0i64.., b in 0i64.., k in any::<i64>()) {
            let (a, b) = (money(a), money(b));
            let results = [a.checked_add(b), a.checked_sub(b), a.checked_mul(k)];
            for m in results.into_iter().flatten() {
                prop_assert!(m.value() >= 0);
            }
        }

        #[test]
        fn add_then_sub_is_identity(a in 0i64..=i64::MAX / 2, b in 0i64..=i64::MAX / 2) {
            let (a, b) = (money(a), money(b));
            let sum = a.checked_add(b).unwrap();
            prop_assert_eq!(sum.checked_sub(b), Some(a));
            prop_assert_eq!(sum.checked_sub(a), Some(b));
        }
    }
}

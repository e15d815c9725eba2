//! Stock quantities, all whole units in an `i64`. Invariants: a `Quantity` (how many of a
//! product a line, transfer or reservation moves) is 1..=1_000_000; a `SignedQuantity` (a stock
//! delta given in an adjustment) is non-zero and within ±1_000_000 (docs/API.md "Conventions":
//! stock deltas are bounded like quantities); a `LowStockThreshold` is 0..=[`LEVEL_MAX`], the
//! range a stock level itself must stay in. The bounds keep every sum of them far from `i64`
//! overflow.

/// The largest number of units a stock level may hold, and the deepest it may go below zero
/// in a store that allows negative stock: 10⁹. A change that would take a level past it is
/// refused, and the database refuses such a level too (migration 0008).
pub const LEVEL_MAX: i64 = 1_000_000_000;

/// Why a number is not a quantity, delta or threshold.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum QuantityError {
    #[error(
        "must be a whole number between {min} and {max}, got {value}",
        min = Quantity::MIN.0,
        max = Quantity::MAX.0
    )]
    OutOfRange { value: i64 },
    #[error("must not be zero")]
    ZeroDelta,
    #[error(
        "must be a whole number between -{max} and {max}, got {value}",
        max = SignedQuantity::MAX_ABS
    )]
    DeltaOutOfRange { value: i64 },
    #[error(
        "must be a whole number between 0 and {max}, got {value}",
        max = LowStockThreshold::MAX.0
    )]
    ThresholdOutOfRange { value: i64 },
}

/// A positive number of units: 1..=1_000_000.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
#[serde(try_from = "i64", into = "i64")]
pub struct Quantity(i64);

impl Quantity {
    pub const MIN: Quantity = Quantity(1);
    pub const MAX: Quantity = Quantity(1_000_000);

    pub fn new(value: i64) -> Result<Quantity, QuantityError> {
        if (Self::MIN.0..=Self::MAX.0).contains(&value) {
            Ok(Quantity(value))
        } else {
            Err(QuantityError::OutOfRange { value })
        }
    }

    pub const fn value(self) -> i64 {
        self.0
    }
}

integer_newtype_conversions!(Quantity, QuantityError);

/// A change to a stock level: positive adds stock, negative removes it, never zero (a movement
/// that moves nothing is not recorded).
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
#[serde(try_from = "i64", into = "i64")]
pub struct SignedQuantity(i64);

impl SignedQuantity {
    /// The largest size of a delta in either direction: a quantity's bound.
    pub const MAX_ABS: i64 = Quantity::MAX.0;

    pub fn new(value: i64) -> Result<SignedQuantity, QuantityError> {
        if value == 0 {
            Err(QuantityError::ZeroDelta)
        } else if (-Self::MAX_ABS..=Self::MAX_ABS).contains(&value) {
            Ok(SignedQuantity(value))
        } else {
            Err(QuantityError::DeltaOutOfRange { value })
        }
    }

    pub fn value(self) -> i64 {
        self.0
    }

    /// Stock coming in (receiving, `transfer_in`, a return).
    pub fn increase(quantity: Quantity) -> SignedQuantity {
        SignedQuantity(quantity.0)
    }

    /// Stock going out (a sale, `transfer_out`).
    pub fn decrease(quantity: Quantity) -> SignedQuantity {
        SignedQuantity(-quantity.0)
    }

    /// The delta that undoes this one; the range is symmetric, so it always exists.
    pub fn reversed(self) -> SignedQuantity {
        SignedQuantity(-self.0)
    }

    pub fn is_increase(self) -> bool {
        self.0 > 0
    }
}

integer_newtype_conversions!(SignedQuantity, QuantityError);

/// The `available` level at or below which a product counts as low on stock:
/// 0..=1_000_000_000. Zero means "low only when none is available".
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
pub struct LowStockThreshold(i64);

impl LowStockThreshold {
    pub const ZERO: LowStockThreshold = LowStockThreshold(0);
    pub const MAX: LowStockThreshold = LowStockThreshold(LEVEL_MAX);

    pub fn new(value: i64) -> Result<LowStockThreshold, QuantityError> {
        if (Self::ZERO.0..=Self::MAX.0).contains(&value) {
            Ok(LowStockThreshold(value))
        } else {
            Err(QuantityError::ThresholdOutOfRange { value })
        }
    }

    pub fn value(self) -> i64 {
        self.0
    }

    /// Whether `available` units count as low stock (docs/API.md: `available ≤ threshold`).
    pub fn is_low(self, available: i64) -> bool {
        available <= self.0
    }
}

integer_newtype_conversions!(LowStockThreshold, QuantityError);

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn quantity_bounds_are_inclusive() {
        assert_eq!(Quantity::new(1).unwrap(), Quantity::MIN);
        assert_eq!(Quantity::new(1_000_000).unwrap(), Quantity::MAX);
        assert_eq!(Quantity::new(42).unwrap().value(), 42);
        for bad in [0, -1, 1_000_001, i64::MIN, i64::MAX] {
            assert_eq!(
                Quantity::new(bad),
                Err(QuantityError::OutOfRange { value: bad })
            );
        }
        assert_eq!(
            QuantityError::OutOfRange { value: 0 }.to_string(),
            "must be a whole number between 1 and 1000000, got 0"
        );
    }

    #[test]
    fn signed_quantity_bounds() {
        assert_eq!(SignedQuantity::new(1).unwrap().value(), 1);
        assert_eq!(SignedQuantity::new(-1).unwrap().value(), -1);
        assert_eq!(SignedQuantity::new(1_000_000).unwrap().value(), 1_000_000);
        assert_eq!(SignedQuantity::new(-1_000_000).unwrap().value(), -1_000_000);
        assert_eq!(SignedQuantity::new(0), Err(QuantityError::ZeroDelta));
        for bad in [1_000_001, -1_000_001, i64::MIN, i64::MAX] {
            assert_eq!(
                SignedQuantity::new(bad),
                Err(QuantityError::DeltaOutOfRange { value: bad })
            );
        }
        assert_eq!(QuantityError::ZeroDelta.to_string(), "must not be zero");
        assert_eq!(
            QuantityError::DeltaOutOfRange { value: -1_000_001 }.to_string(),
            "must be a whole number between -1000000 and 1000000, got -1000001"
        );
    }

    #[test]
    fn signed_quantity_from_quantity() {
        let five = Quantity::new(5).unwrap();
        assert_eq!(SignedQuantity::increase(five).value(), 5);
        assert_eq!(SignedQuantity::decrease(five).value(), -5);
        assert!(SignedQuantity::increase(five).is_increase());
        assert!(!SignedQuantity::decrease(five).is_increase());
        assert_eq!(
            SignedQuantity::decrease(five).reversed(),
            SignedQuantity::increase(five)
        );
        let extreme = SignedQuantity::new(-1_000_000).unwrap();
        assert_eq!(extreme.reversed().value(), 1_000_000);
    }

    #[test]
    fn threshold_bounds() {
        assert_eq!(LowStockThreshold::new(0).unwrap(), LowStockThreshold::ZERO);
        assert_eq!(LowStockThreshold::default(), LowStockThreshold::ZERO);
        assert_eq!(
            LowStockThreshold::new(1_000_000_000).unwrap(),
            LowStockThreshold::MAX
        );
        for bad in [-1, 1_000_000_001, i64::MIN, i64::MAX] {
            assert_eq!(
                LowStockThreshold::new(bad),
                Err(QuantityError::ThresholdOutOfRange { value: bad })
            );
        }
        assert_eq!(
            QuantityError::ThresholdOutOfRange { value: -1 }.to_string(),
            "must be a whole number between 0 and 1000000000, got -1"
        );
    }

    #[test]
    fn low_stock_is_at_or_below_the_threshold() {
        let threshold = LowStockThreshold::new(5).unwrap();
        assert!(threshold.is_low(4));
        assert!(threshold.is_low(5));
        assert!(!threshold.is_low(6));
        assert!(threshold.is_low(-3));
        assert!(LowStockThreshold::ZERO.is_low(0));
        assert!(!LowStockThreshold::ZERO.is_low(1));
    }

    #[test]
    fn conversions_and_display() {
        assert_eq!(i64::from(Quantity::new(3).unwrap()), 3);
        assert_eq!(SignedQuantity::try_from(-3).unwrap().to_string(), "-3");
        assert_eq!(LowStockThreshold::try_from(10).unwrap().to_string(), "10");
        assert_eq!(
            Quantity::try_from(0),
            Err(QuantityError::OutOfRange { value: 0 })
        );
    }

    #[test]
    fn serde_round_trips_as_bare_integers() {
        let q = Quantity::new(12).unwrap();
        assert_eq!(serde_json::to_string(&q).unwrap(), "12");
        assert_eq!(serde_json::from_str::<Quantity>("12").unwrap(), q);

        let d = SignedQuantity::new(-7).unwrap();
        assert_eq!(serde_json::to_string(&d).unwrap(), "-7");
        assert_eq!(serde_json::from_str::<SignedQuantity>("-7").unwrap(), d);

        let t = LowStockThreshold::new(0).unwrap();
        assert_eq!(serde_json::to_string(&t).unwrap(), "0");
        assert_eq!(serde_json::from_str::<LowStockThreshold>("0").unwrap(), t);
    }

    #[test]
    fn serde_rejects_with_the_messages() {
        let err = serde_json::from_str::<Quantity>("0").unwrap_err();
        assert!(
            err.to_string().contains("between 1 and 1000000, got 0"),
            "{err}"
        );
        let err = serde_json::from_str::<SignedQuantity>("0").unwrap_err();
        assert!(err.to_string().contains("must not be zero"), "{err}");
        let err = serde_json::from_str::<SignedQuantity>("1000001").unwrap_err();
        assert!(
            err.to_string().contains("between -1000000 and 1000000"),
            "{err}"
        );
        let err = serde_json::from_str::<LowStockThreshold>("-1").unwrap_err();
        assert!(
            err.to_string().contains("between 0 and 1000000000, got -1"),
            "{err}"
        );
        assert!(serde_json::from_str::<Quantity>("1.5").is_err());
        assert!(serde_json::from_str::<Quantity>("\"2\"").is_err());
    }

    proptest! {
        #[test]
        fn constructors_accept_exactly_their_ranges(value in any::<i64>()) {
            prop_assert_eq!(
                Quantity::new(value).is_ok(),
                (1..=1_000_000).contains(&value)
            );
            prop_assert_eq!(
                SignedQuantity::new(value).is_ok(),
                value != 0 && (-1_000_000..=1_000_000).contains(&value)
            );
            prop_assert_eq!(
                LowStockThreshold::new(value).is_ok(),
                (0..=1_000_000_000).contains(&value)
            );
        }

        #[test]
        fn small_boundaries_are_exhaustive(value in -2_000_000_000i64..=2_000_000_000) {
            if let Ok(delta) = SignedQuantity::new(value) {
                prop_assert_eq!(delta.reversed().reversed(), delta);
                prop_assert_eq!(delta.is_increase(), value > 0);
            }
        }
    }
}

//! One product's stock in one store and the arithmetic of changing it.

use crate::catalog::LowStockThreshold;

/// A product's stock in a store at one moment.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct StockLevel {
    /// Units in the store: the sum of every movement.
    pub on_hand: i64,
    /// Units promised by live (unreleased, unexpired) reservations.
    pub reserved: i64,
}

/// Why a change was refused: it needed more than is available.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("only {available} available, {requested} needed")]
pub struct Shortfall {
    pub available: i64,
    pub requested: i64,
}

impl StockLevel {
    pub fn new(on_hand: i64, reserved: i64) -> StockLevel {
        StockLevel { on_hand, reserved }
    }

    /// Units that can still be sold, moved or reserved.
    pub fn available(self) -> i64 {
        self.on_hand.saturating_sub(self.reserved)
    }

    /// The level after a movement of `delta` units. An increase always succeeds; a decrease
    /// fails when it would leave `available` below zero, unless negative stock is allowed.
    pub fn apply(self, delta: i64, allow_negative: bool) -> Result<StockLevel, Shortfall> {
        let after = StockLevel {
            on_hand: self.on_hand.saturating_add(delta),
            reserved: self.reserved,
        };
        if delta < 0 && !allow_negative && after.available() < 0 {
            return Err(Shortfall {
                available: self.available(),
                requested: delta.saturating_neg(),
            });
        }
        Ok(after)
    }

    /// The level after reserving `quantity` units, which must all be available.
    pub fn reserve(self, quantity: i64) -> Result<StockLevel, Shortfall> {
        if quantity > self.available() {
            return Err(Shortfall {
                available: self.available(),
                requested: quantity,
            });
        }
        Ok(StockLevel {
            on_hand: self.on_hand,
            reserved: self.reserved.saturating_add(quantity),
        })
    }

    /// The delta a count of `counted` units records against this level.
    pub fn count_delta(self, counted: i64) -> i64 {
        counted.saturating_sub(self.on_hand)
    }
}

/// Whether a change took `available` across the low-stock threshold downward: from above it to
/// at or below it. Only the crossing raises a `stock.low` event, so a product that stays low
/// does not raise one per sale.
pub fn crosses_low(before: StockLevel, after: StockLevel, threshold: LowStockThreshold) -> bool {
    !threshold.is_low(before.available()) && threshold.is_low(after.available())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn threshold(n: i64) -> LowStockThreshold {
        LowStockThreshold::new(n).unwrap()
    }

    #[test]
    fn a_decrease_may_not_take_available_below_zero() {
        let level = StockLevel::new(10, 4);
        assert_eq!(level.apply(-6, false), Ok(StockLevel::new(4, 4)));
        assert_eq!(
            level.apply(-7, false),
            Err(Shortfall {
                available: 6,
                requested: 7
            })
        );
        assert_eq!(level.apply(-7, true), Ok(StockLevel::new(3, 4)));
        assert_eq!(level.apply(5, false), Ok(StockLevel::new(15, 4)));
    }

    #[test]
    fn an_increase_is_never_refused_even_from_below_zero() {
        let level = StockLevel::new(-5, 0);
        assert_eq!(level.apply(2, false), Ok(StockLevel::new(-3, 0)));
    }

    #[test]
    fn reservations_need_available_stock_even_where_negative_stock_is_allowed() {
        let level = StockLevel::new(3, 1);
        assert_eq!(level.reserve(2), Ok(StockLevel::new(3, 3)));
        assert_eq!(
            level.reserve(3),
            Err(Shortfall {
                available: 2,
                requested: 3
            })
        );
    }

    #[test]
    fn a_count_records_the_difference() {
        assert_eq!(StockLevel::new(7, 2).count_delta(5), -2);
        assert_eq!(StockLevel::new(7, 2).count_delta(7), 0);
        assert_eq!(StockLevel::new(-3, 0).count_delta(4), 7);
    }

    #[test]
    fn low_stock_is_raised_only_on_the_downward_crossing() {
        let t = threshold(5);
        assert!(crosses_low(StockLevel::new(6, 0), StockLevel::new(5, 0), t));
        assert!(crosses_low(
            StockLevel::new(20, 0),
            StockLevel::new(20, 18),
            t
        ));
        assert!(!crosses_low(
            StockLevel::new(5, 0),
            StockLevel::new(4, 0),
            t
        ));
        assert!(!crosses_low(
            StockLevel::new(4, 0),
            StockLevel::new(9, 0),
            t
        ));
        assert!(!crosses_low(
            StockLevel::new(9, 0),
            StockLevel::new(6, 0),
            t
        ));
        assert!(crosses_low(
            StockLevel::new(1, 0),
            StockLevel::new(0, 0),
            threshold(0)
        ));
    }

    proptest! {
        /// Whatever the level and delta, an accepted change moves `on_hand` by exactly the
        /// delta, and without negative stock never leaves `available` below zero unless it
        /// was an increase.
        #[test]
        fn apply_is_exact_and_guarded(
            on_hand in -1_000i64..1_000,
            reserved in 0i64..1_000,
            delta in -2_000i64..2_000,
            allow_negative in any::<bool>(),
        ) {
            let level = StockLevel::new(on_hand, reserved);
            match level.apply(delta, allow_negative) {
                Ok(after) => {
                    prop_assert_eq!(after.on_hand, on_hand + delta);
                    prop_assert_eq!(after.reserved, reserved);
                    prop_assert!(allow_negative || delta >= 0 || after.available() >= 0);
                }
                Err(short) => {
                    prop_assert!(!allow_negative && delta < 0);
                    prop_assert!(on_hand + delta - reserved < 0);
                    prop_assert_eq!(short.requested, -delta);
                    prop_assert_eq!(short.available, on_hand - reserved);
                }
            }
        }

        /// A crossing is reported exactly when the threshold is passed downward.
        #[test]
        fn crossing_matches_its_definition(
            before in -50i64..50, after in -50i64..50, t in 0i64..40,
        ) {
            let crossed = crosses_low(StockLevel::new(before, 0), StockLevel::new(after, 0), threshold(t));
            prop_assert_eq!(crossed, before > t && after <= t);
        }
    }
}

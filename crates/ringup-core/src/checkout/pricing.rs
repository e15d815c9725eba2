//! Pricing a cart exactly, to the minor unit (API.md "Checkout"). CONTRACT: types fixed; helper
//! implements `price_cart` and its property tests.

use crate::ids::TaxClassId;

/// A line or cart discount as the client sends it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Discount {
    /// Basis points of what it applies to, 0..=10000 (checked by `Discount::percent`).
    PercentBp(i64),
    /// Minor units, >= 0 (checked by `Discount::amount`).
    Amount(i64),
}

/// Why a discount value is invalid on its own (before knowing what it applies to).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum DiscountError {
    #[error("must be between 0 and 10000 basis points")]
    PercentOutOfRange,
    #[error("must not be negative")]
    NegativeAmount,
}

impl Discount {
    pub fn percent(bp: i64) -> Result<Discount, DiscountError> {
        if (0..=10_000).contains(&bp) {
            Ok(Discount::PercentBp(bp))
        } else {
            Err(DiscountError::PercentOutOfRange)
        }
    }

    pub fn amount(minor: i64) -> Result<Discount, DiscountError> {
        if minor >= 0 {
            Ok(Discount::Amount(minor))
        } else {
            Err(DiscountError::NegativeAmount)
        }
    }
}

/// One line to price, in request order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LineInput {
    /// Minor units per unit, >= 0.
    pub unit_price: i64,
    /// Units, > 0.
    pub quantity: i64,
    pub discount: Option<Discount>,
    pub tax_class_id: TaxClassId,
    /// 0..=10000.
    pub tax_rate_bp: i64,
}

/// One priced line (same order as the input).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PricedLine {
    /// unit_price × quantity.
    pub gross: i64,
    /// The line's own discount.
    pub line_discount: i64,
    /// Its share of the cart discount.
    pub cart_share: i64,
    /// line_discount + cart_share (the response line's `discount`).
    pub discount: i64,
    /// gross − discount: what tax is computed on.
    pub amount: i64,
    pub net: i64,
    pub tax: i64,
    pub total: i64,
    pub tax_class_id: TaxClassId,
    pub tax_rate_bp: i64,
}

/// Per tax class, in order of first appearance among the lines.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TaxBucket {
    pub tax_class_id: TaxClassId,
    pub rate_bp: i64,
    pub net: i64,
    pub tax: i64,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PricedCart {
    pub lines: Vec<PricedLine>,
    /// Σ gross.
    pub subtotal: i64,
    /// The cart discount as one amount (percent already rounded).
    pub cart_discount: i64,
    /// Σ line discounts + cart discount.
    pub discount_total: i64,
    pub net_total: i64,
    pub tax_total: i64,
    /// Σ line totals.
    pub total: i64,
    pub tax_breakdown: Vec<TaxBucket>,
}

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum PricingError {
    /// Line `index`'s discount exceeds unit_price × quantity.
    #[error("is larger than the line's amount")]
    LineDiscountTooLarge { index: usize },
    /// The cart discount exceeds the sum of line amounts.
    #[error("is larger than the sum of the line amounts")]
    CartDiscountTooLarge,
    /// Some amount does not fit in i64.
    #[error("is too large")]
    Overflow,
}

/// Prices a cart per API.md. `prices_include_tax` is the store's setting.
pub fn price_cart(
    lines: &[LineInput],
    cart_discount: Option<Discount>,
    prices_include_tax: bool,
) -> Result<PricedCart, PricingError> {
    let _ = (lines, cart_discount, prices_include_tax);
    todo!("helper implements")
}

/// `round(net_total × rate_bp / 10000)`, half-up.
pub fn commission(net_total: i64, rate_bp: i64) -> Option<i64> {
    super::div_round_half_up(i128::from(net_total) * i128::from(rate_bp), 10_000)
        .and_then(|v| i64::try_from(v).ok())
}

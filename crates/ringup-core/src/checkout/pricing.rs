//! Pricing a cart exactly, to the minor unit (docs/API.md "Checkout").
//!
//! Invariants of every `PricedCart` that `price_cart` returns (property-tested below):
//! - per line: `discount = line_discount + cart_share`, `amount = gross − discount ≥ 0`,
//!   `net + tax = total`;
//! - the parts add up exactly: Σ gross = `subtotal`, Σ discount = `discount_total`,
//!   `subtotal − discount_total` = Σ amount, Σ cart_share = `cart_discount`, Σ net =
//!   `net_total`, Σ tax = `tax_total`, Σ total = `total`, and the tax breakdown sums to the same
//!   net and tax;
//! - `subtotal` and `total` (and so every other figure) are at most `Money::MAX`;
//! - every division rounds half-up exactly once, at the step docs/API.md names: a percent line
//!   discount, a percent cart discount, each line's tax. The cart discount is spread with
//!   floors plus whole leftover units, so it is never rounded again.

use std::cmp::Reverse;

use super::div_round_half_up;
use crate::catalog::{Money, MoneyError, Quantity};
use crate::ids::TaxClassId;
use crate::rate::RateBp;

/// Basis points in a whole (100 %).
const BP_PER_WHOLE: i64 = 10_000;

/// A line or cart discount as the client sends it. Its value is in range by its type; whether
/// it fits what it applies to is `price_cart`'s to say.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Discount {
    /// A share of what it applies to.
    PercentBp(RateBp),
    /// An amount off what it applies to.
    Amount(Money),
}

/// Why a discount value is invalid on its own (before knowing what it applies to).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum DiscountError {
    #[error("must be between 0 and 10000 basis points")]
    PercentOutOfRange,
    #[error("must not be negative")]
    NegativeAmount,
    #[error("must be at most {} minor units", Money::MAX)]
    AmountTooLarge,
}

impl Discount {
    /// A percent discount of `bp` basis points, checked as a [`RateBp`].
    pub fn percent(bp: i64) -> Result<Discount, DiscountError> {
        RateBp::new(bp)
            .map(Discount::PercentBp)
            .map_err(|_| DiscountError::PercentOutOfRange)
    }

    /// An amount discount of `minor` minor units, checked as [`Money`].
    pub fn amount(minor: i64) -> Result<Discount, DiscountError> {
        Money::new(minor)
            .map(Discount::Amount)
            .map_err(|e| match e {
                MoneyError::Negative { .. } => DiscountError::NegativeAmount,
                MoneyError::TooLarge { .. } => DiscountError::AmountTooLarge,
            })
    }
}

/// One line to price, in request order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LineInput {
    /// Per unit.
    pub unit_price: Money,
    pub quantity: Quantity,
    pub discount: Option<Discount>,
    pub tax_class_id: TaxClassId,
    pub tax_rate_bp: RateBp,
}

/// One priced line (same order as the input). Its figures are the working amounts of the
/// pricing rules, stored as they are on the sale's line; each is in `0..=Money::MAX` (at most
/// the cart's subtotal or total).
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
    pub tax_rate_bp: RateBp,
}

/// Per tax class, in order of first appearance among the lines.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TaxBucket {
    pub tax_class_id: TaxClassId,
    pub rate_bp: RateBp,
    pub net: i64,
    pub tax: i64,
}

/// A priced cart. Its figures are amounts of money (what the sale row stores, what is paid):
/// each is at most `subtotal` or `total`, and those two are at most `Money::MAX`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PricedCart {
    pub lines: Vec<PricedLine>,
    /// Σ gross.
    pub subtotal: Money,
    /// The cart discount as one amount (percent already rounded).
    pub cart_discount: Money,
    /// Σ line discounts + cart discount.
    pub discount_total: Money,
    pub net_total: Money,
    pub tax_total: Money,
    /// Σ line totals.
    pub total: Money,
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
    /// Some amount of the sale is beyond what ringup stores (`Money::MAX`, 10¹² minor units),
    /// or an intermediate figure does not fit in i64.
    #[error(
        "is too large: a sale's amounts may not exceed {} minor units",
        Money::MAX
    )]
    Overflow,
}

/// Prices a cart per docs/API.md. `prices_include_tax` is the store's setting.
///
/// Prices, quantities, rates and discounts are in range by their types. A discount larger
/// than what it applies to is refused: `LineDiscountTooLarge` / `CartDiscountTooLarge`.
/// Errors are reported for the first failing line, in request order.
pub fn price_cart(
    lines: &[LineInput],
    cart_discount: Option<Discount>,
    prices_include_tax: bool,
) -> Result<PricedCart, PricingError> {
    // Gross and own discount per line; "line amount" is what the cart discount is spread over.
    let mut grosses = Vec::with_capacity(lines.len());
    let mut line_discounts = Vec::with_capacity(lines.len());
    let mut line_amounts = Vec::with_capacity(lines.len());
    for (index, line) in lines.iter().enumerate() {
        // In i64, not `Money`: a gross past `Money::MAX` is refused only once every line's
        // discount has been checked, so the first failing line is still the one reported.
        let gross = line
            .unit_price
            .value()
            .checked_mul(line.quantity.value())
            .ok_or(PricingError::Overflow)?;
        let line_discount = match line.discount {
            None => 0,
            Some(discount) => discount_off(discount, gross)?
                .ok_or(PricingError::LineDiscountTooLarge { index })?,
        };
        grosses.push(gross);
        line_discounts.push(line_discount);
        line_amounts.push(
            gross
                .checked_sub(line_discount)
                .ok_or(PricingError::Overflow)?,
        );
    }

    let amounts_sum = checked_sum(line_amounts.iter().copied())?;
    let cart_discount = match cart_discount {
        None => 0,
        Some(discount) => {
            discount_off(discount, amounts_sum)?.ok_or(PricingError::CartDiscountTooLarge)?
        }
    };
    let cart_shares = allocate(cart_discount, &line_amounts, amounts_sum)?;

    let mut priced = Vec::with_capacity(lines.len());
    let parts = lines
        .iter()
        .zip(grosses)
        .zip(line_discounts)
        .zip(line_amounts)
        .zip(cart_shares);
    for ((((line, gross), line_discount), line_amount), cart_share) in parts {
        let discount = line_discount
            .checked_add(cart_share)
            .ok_or(PricingError::Overflow)?;
        let amount = line_amount
            .checked_sub(cart_share)
            .ok_or(PricingError::Overflow)?;
        let (net, tax, total) = tax_line(amount, line.tax_rate_bp, prices_include_tax)?;
        priced.push(PricedLine {
            gross,
            line_discount,
            cart_share,
            discount,
            amount,
            net,
            tax,
            total,
            tax_class_id: line.tax_class_id,
            tax_rate_bp: line.tax_rate_bp,
        });
    }

    // Each figure of the cart lies between 0 and the subtotal (a discount, net or amount) or
    // the total (a tax), so one of them is past `Money::MAX` exactly when one of those two is.
    let money = |figure: i64| Money::new(figure).map_err(|_| PricingError::Overflow);
    Ok(PricedCart {
        subtotal: money(checked_sum(priced.iter().map(|l| l.gross))?)?,
        cart_discount: money(cart_discount)?,
        discount_total: money(checked_sum(priced.iter().map(|l| l.discount))?)?,
        net_total: money(checked_sum(priced.iter().map(|l| l.net))?)?,
        tax_total: money(checked_sum(priced.iter().map(|l| l.tax))?)?,
        total: money(checked_sum(priced.iter().map(|l| l.total))?)?,
        tax_breakdown: tax_breakdown(&priced)?,
        lines: priced,
    })
}

/// What `discount` takes off `base` (half-up for a percent), or `Ok(None)` when it is more
/// than `base`.
fn discount_off(discount: Discount, base: i64) -> Result<Option<i64>, PricingError> {
    let off = match discount {
        Discount::PercentBp(bp) => mul_div_round(base, bp.value(), i128::from(BP_PER_WHOLE))?,
        Discount::Amount(amount) => amount.value(),
    };
    Ok((0..=base).contains(&off).then_some(off))
}

/// Spreads `cart` over lines whose amounts are `amounts` (summing to `sum`, `0 ≤ cart ≤ sum`):
/// each line gets `floor(cart × amount / sum)`, and the units those floors leave over go one
/// each to the lines with the largest amounts, ties to the earlier line (docs/API.md).
///
/// The leftover is Σ of the floors' fractional parts, so it is smaller than the number of lines
/// with a fraction, and every line it reaches has a positive amount. Each share is within one
/// unit of the exact proportional share (exactly one above it when the largest-amount rule of
/// docs/API.md hands a unit to a line whose exact share was whole). A line never gets more than
/// its amount: a leftover exists only when `cart < sum`, and then every exact share is below
/// its amount.
fn allocate(cart: i64, amounts: &[i64], sum: i64) -> Result<Vec<i64>, PricingError> {
    if cart == 0 {
        return Ok(vec![0; amounts.len()]);
    }
    if sum <= 0 {
        // Nothing to spread a non-zero discount over (`discount_off` already refuses this).
        return Err(PricingError::CartDiscountTooLarge);
    }
    let mut shares = amounts
        .iter()
        .map(|&amount| {
            // i64 × i64 always fits in i128.
            let floor = (i128::from(cart) * i128::from(amount)).div_euclid(i128::from(sum));
            i64::try_from(floor).map_err(|_| PricingError::Overflow)
        })
        .collect::<Result<Vec<i64>, PricingError>>()?;
    let leftover = cart
        .checked_sub(checked_sum(shares.iter().copied())?)
        .ok_or(PricingError::Overflow)?;
    let leftover = usize::try_from(leftover).map_err(|_| PricingError::Overflow)?;

    let mut by_size: Vec<(usize, i64)> = amounts.iter().copied().enumerate().collect();
    // Stable sort: equal amounts keep request order, so ties go to the earlier line.
    by_size.sort_by_key(|&(_, amount)| Reverse(amount));
    for &(index, _) in by_size.iter().take(leftover) {
        if let Some(share) = shares.get_mut(index) {
            *share = share.checked_add(1).ok_or(PricingError::Overflow)?;
        }
    }
    Ok(shares)
}

/// `(net, tax, total)` of a line whose amount after all discounts is `amount`.
fn tax_line(
    amount: i64,
    rate: RateBp,
    prices_include_tax: bool,
) -> Result<(i64, i64, i64), PricingError> {
    let overflow = || PricingError::Overflow;
    let rate_bp = rate.value();
    if prices_include_tax {
        let divisor = i128::from(BP_PER_WHOLE) + i128::from(rate_bp);
        let tax = mul_div_round(amount, rate_bp, divisor)?;
        Ok((amount.checked_sub(tax).ok_or_else(overflow)?, tax, amount))
    } else {
        let tax = mul_div_round(amount, rate_bp, i128::from(BP_PER_WHOLE))?;
        Ok((amount, tax, amount.checked_add(tax).ok_or_else(overflow)?))
    }
}

/// One bucket per tax class in order of first appearance, carrying that first line's rate.
fn tax_breakdown(lines: &[PricedLine]) -> Result<Vec<TaxBucket>, PricingError> {
    let mut buckets: Vec<TaxBucket> = Vec::new();
    for line in lines {
        match buckets
            .iter_mut()
            .find(|b| b.tax_class_id == line.tax_class_id)
        {
            Some(bucket) => {
                bucket.net = bucket
                    .net
                    .checked_add(line.net)
                    .ok_or(PricingError::Overflow)?;
                bucket.tax = bucket
                    .tax
                    .checked_add(line.tax)
                    .ok_or(PricingError::Overflow)?;
            }
            None => buckets.push(TaxBucket {
                tax_class_id: line.tax_class_id,
                rate_bp: line.tax_rate_bp,
                net: line.net,
                tax: line.tax,
            }),
        }
    }
    Ok(buckets)
}

/// `round(a × b / divisor)`, half-up, back in i64.
fn mul_div_round(a: i64, b: i64, divisor: i128) -> Result<i64, PricingError> {
    // i64 × i64 always fits in i128.
    div_round_half_up(i128::from(a) * i128::from(b), divisor)
        .and_then(|v| i64::try_from(v).ok())
        .ok_or(PricingError::Overflow)
}

fn checked_sum(values: impl IntoIterator<Item = i64>) -> Result<i64, PricingError> {
    values
        .into_iter()
        .try_fold(0_i64, i64::checked_add)
        .ok_or(PricingError::Overflow)
}

/// `round(net_total × rate_bp / 10000)`, half-up.
pub fn commission(net_total: i64, rate_bp: i64) -> Option<i64> {
    super::div_round_half_up(i128::from(net_total) * i128::from(rate_bp), 10_000)
        .and_then(|v| i64::try_from(v).ok())
}

#[cfg(test)]
mod tests;

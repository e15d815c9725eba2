//! A shift's running totals, and what one sale, void, return or cash movement adds to them.
//!
//! Invariants: the totals on a shift row are the sum of the [`ShiftTotals`] deltas of what
//! happened on it, applied in the same transaction as the event; a void applies the negation
//! of its sale's delta (plus one void), so a voided sale counts nowhere but in `voids_*`.

use super::payment::{Settlement, Tender, TenderMethod};
use super::pricing::PricedCart;
use super::shift::DrawerTotals;
use crate::catalog::Money;

/// An amount per tender method.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PerTender {
    pub cash: i64,
    pub card: i64,
    pub mobile_money: i64,
    pub voucher: i64,
    pub other: i64,
}

impl PerTender {
    pub fn get(&self, method: TenderMethod) -> i64 {
        match method {
            TenderMethod::Cash => self.cash,
            TenderMethod::Card => self.card,
            TenderMethod::MobileMoney => self.mobile_money,
            TenderMethod::Voucher => self.voucher,
            TenderMethod::Other => self.other,
        }
    }

    fn slot(&mut self, method: TenderMethod) -> &mut i64 {
        match method {
            TenderMethod::Cash => &mut self.cash,
            TenderMethod::Card => &mut self.card,
            TenderMethod::MobileMoney => &mut self.mobile_money,
            TenderMethod::Voucher => &mut self.voucher,
            TenderMethod::Other => &mut self.other,
        }
    }

    /// Σ of `tenders` per method; `None` on overflow.
    pub fn of(tenders: &[Tender]) -> Option<PerTender> {
        Self::of_amounts(tenders.iter().map(|t| (t.method, t.amount.value())))
    }

    /// Σ of `(method, amount)` per method, for amounts kept as bare `i64` (a sale's stored
    /// payments); `None` on overflow.
    pub fn of_amounts(amounts: impl IntoIterator<Item = (TenderMethod, i64)>) -> Option<PerTender> {
        let mut sums = PerTender::default();
        for (method, amount) in amounts {
            let slot = sums.slot(method);
            *slot = slot.checked_add(amount)?;
        }
        Some(sums)
    }

    fn negated(&self) -> PerTender {
        PerTender {
            cash: -self.cash,
            card: -self.card,
            mobile_money: -self.mobile_money,
            voucher: -self.voucher,
            other: -self.other,
        }
    }

    /// `(method, amount)` for all five methods in their fixed order.
    pub fn entries(&self) -> [(TenderMethod, i64); 5] {
        TenderMethod::ALL.map(|m| (m, self.get(m)))
    }
}

/// Running totals of a shift (or a delta to add to them).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ShiftTotals {
    pub sales_count: i64,
    /// Σ subtotal (before discounts).
    pub gross: i64,
    pub discounts: i64,
    pub tax: i64,
    pub net: i64,
    pub total: i64,
    /// Σ tendered per method (cash before change).
    pub tenders: PerTender,
    pub change_given: i64,
    pub voids_count: i64,
    pub voids_total: i64,
    pub returns_count: i64,
    /// Σ refunds given.
    pub returns_total: i64,
    pub refunds: PerTender,
    pub paid_in: i64,
    pub paid_out: i64,
}

impl ShiftTotals {
    /// What a completed sale adds.
    pub fn sale(cart: &PricedCart, settlement: &Settlement, tenders: &[Tender]) -> Option<Self> {
        Some(ShiftTotals {
            sales_count: 1,
            gross: cart.subtotal.value(),
            discounts: cart.discount_total.value(),
            tax: cart.tax_total.value(),
            net: cart.net_total.value(),
            total: cart.total.value(),
            tenders: PerTender::of(tenders)?,
            change_given: settlement.change.value(),
            ..ShiftTotals::default()
        })
    }

    /// What voiding a sale whose own delta was `sale` adds: the sale taken out, one void.
    pub fn void(sale: &ShiftTotals) -> Self {
        ShiftTotals {
            sales_count: -sale.sales_count,
            gross: -sale.gross,
            discounts: -sale.discounts,
            tax: -sale.tax,
            net: -sale.net,
            total: -sale.total,
            tenders: sale.tenders.negated(),
            change_given: -sale.change_given,
            voids_count: 1,
            voids_total: sale.total,
            ..ShiftTotals::default()
        }
    }

    /// What a return refunding `refunds` adds.
    pub fn refund(refunds: &[Tender]) -> Option<Self> {
        let per = PerTender::of(refunds)?;
        let total = refunds
            .iter()
            .try_fold(0i64, |sum, t| sum.checked_add(t.amount.value()))?;
        Some(ShiftTotals {
            returns_count: 1,
            returns_total: total,
            refunds: per,
            ..ShiftTotals::default()
        })
    }

    pub fn paid_in(amount: Money) -> Self {
        ShiftTotals {
            paid_in: amount.value(),
            ..ShiftTotals::default()
        }
    }

    pub fn paid_out(amount: Money) -> Self {
        ShiftTotals {
            paid_out: amount.value(),
            ..ShiftTotals::default()
        }
    }

    /// The drawer's cash figures for a shift that opened with `opening_float`.
    pub fn drawer(&self, opening_float: i64) -> DrawerTotals {
        DrawerTotals {
            opening_float,
            cash_taken: self.tenders.cash,
            change_given: self.change_given,
            cash_refunded: self.refunds.cash,
            paid_in: self.paid_in,
            paid_out: self.paid_out,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_void_takes_its_sale_out_and_counts_once() {
        let sale = ShiftTotals {
            sales_count: 1,
            gross: 1000,
            discounts: 100,
            tax: 124,
            net: 776,
            total: 900,
            tenders: PerTender {
                cash: 1000,
                ..PerTender::default()
            },
            change_given: 100,
            ..ShiftTotals::default()
        };
        let void = ShiftTotals::void(&sale);
        assert_eq!(void.sales_count + sale.sales_count, 0);
        assert_eq!(void.tenders.cash + sale.tenders.cash, 0);
        assert_eq!(void.change_given + sale.change_given, 0);
        assert_eq!((void.voids_count, void.voids_total), (1, 900));
    }

    #[test]
    fn per_tender_sums_by_method() {
        let tender = |method, amount| Tender {
            method,
            amount: Money::new(amount).unwrap(),
        };
        let tenders = [
            tender(TenderMethod::Cash, 5),
            tender(TenderMethod::Card, 7),
            tender(TenderMethod::Cash, 3),
        ];
        let per = PerTender::of(&tenders).unwrap();
        assert_eq!((per.cash, per.card, per.other), (8, 7, 0));
        assert_eq!(per.entries()[0], (TenderMethod::Cash, 8));
        let stored = tenders.iter().map(|t| (t.method, t.amount.value()));
        assert_eq!(PerTender::of_amounts(stored), Some(per));
        let too_much = [(TenderMethod::Card, i64::MAX), (TenderMethod::Card, 1)];
        assert_eq!(PerTender::of_amounts(too_much), None);
    }
}

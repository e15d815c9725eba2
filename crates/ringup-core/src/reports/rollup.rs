//! What one sale, void or return adds to the report rollups, and how contributions add up.
//!
//! The rollups keep, per store and local day: one row for the day, one row per cashier (counts and amounts of the
//! sales they rang up and the returns they made), one per product and tax rate (quantities and
//! the lines' own amounts, returns netted into separate columns), and one per tender.
//! Reports read those rows, never the sales (docs/ARCHITECTURE.md, "Reports read rollups").
//!
//! Invariants: a contribution's rows are sorted by key and each key appears once, so every
//! transaction touches rollup rows in the same order (no deadlock on PostgreSQL) and a single
//! multi-row upsert never meets the same row twice; `of_void(s)` is exactly the negation of
//! `of_sale(s)`; the tender rows of a sale take in exactly its total (cash net of change); all
//! arithmetic is checked (`None` on overflow).

use std::collections::BTreeMap;

use chrono::NaiveDate;

use crate::checkout::payment::TenderMethod;
use crate::ids::{ProductId, StoreId, TaxClassId, UserId};

/// A sale line as the rollups need it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LineFacts {
    pub product_id: ProductId,
    pub tax_class_id: TaxClassId,
    pub rate_bp: i64,
    pub quantity: i64,
    pub unit_price: i64,
    /// The line's own discount and its share of the cart discount.
    pub discount: i64,
    pub net: i64,
    pub tax: i64,
    pub total: i64,
}

/// A completed sale as the rollups need it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SaleFacts {
    pub cashier_id: UserId,
    pub gross: i64,
    pub discounts: i64,
    pub net: i64,
    pub tax: i64,
    pub total: i64,
    pub commission: i64,
    /// Change handed back, in cash.
    pub change: i64,
    pub lines: Vec<LineFacts>,
    pub payments: Vec<(TenderMethod, i64)>,
}

/// A returned line: how many units, what they refunded and the tax share of that refund.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReturnLineFacts {
    pub product_id: ProductId,
    pub tax_class_id: TaxClassId,
    pub rate_bp: i64,
    pub quantity: i64,
    pub refund: i64,
    pub refund_tax: i64,
}

/// A return as the rollups need it; it counts for the cashier who made it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReturnFacts {
    pub cashier_id: UserId,
    pub total: i64,
    pub lines: Vec<ReturnLineFacts>,
    pub refunds: Vec<(TenderMethod, i64)>,
}

/// A cashier's figures for a day.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CashierFigures {
    pub sales: i64,
    pub gross: i64,
    pub discounts: i64,
    pub net: i64,
    pub tax: i64,
    pub total: i64,
    pub commission: i64,
    pub returns: i64,
    pub refunds: i64,
}

/// The key of a line rollup row: a product at a tax class and rate.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct LineKey {
    pub product_id: ProductId,
    pub tax_class_id: TaxClassId,
    pub rate_bp: i64,
}

/// A product's figures for a day at one tax class and rate.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct LineFigures {
    pub quantity: i64,
    pub gross: i64,
    pub discounts: i64,
    pub net: i64,
    pub tax: i64,
    pub total: i64,
    pub returned: i64,
    pub refunds: i64,
    pub refund_tax: i64,
}

/// A tender's figures for a day: payments taken (cash net of change) and refunds paid out.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TenderFigures {
    pub payments: i64,
    pub taken: i64,
    pub refunds: i64,
}

/// What one sale, void or return adds to the rollups of its store and day.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Contribution {
    pub cashier_id: UserId,
    pub cashier: CashierFigures,
    /// Sorted by key, each key once.
    pub lines: Vec<(LineKey, LineFigures)>,
    /// Sorted by method, each method once.
    pub tenders: Vec<(TenderMethod, TenderFigures)>,
}

macro_rules! checked_sum {
    ($ty:ident { $($field:ident),* }) => {
        impl $ty {
            /// Field by field sum; `None` on overflow.
            pub fn checked_add(&self, other: &$ty) -> Option<$ty> {
                Some($ty { $($field: self.$field.checked_add(other.$field)?),* })
            }

            /// Every field negated; `None` on overflow.
            pub fn checked_neg(&self) -> Option<$ty> {
                Some($ty { $($field: self.$field.checked_neg()?),* })
            }

            /// Whether every field is zero.
            pub fn is_zero(&self) -> bool {
                *self == $ty::default()
            }
        }
    };
}

checked_sum!(CashierFigures {
    sales,
    gross,
    discounts,
    net,
    tax,
    total,
    commission,
    returns,
    refunds
});
checked_sum!(LineFigures {
    quantity,
    gross,
    discounts,
    net,
    tax,
    total,
    returned,
    refunds,
    refund_tax
});
checked_sum!(TenderFigures {
    payments,
    taken,
    refunds
});

/// Adds `figures` under `key`, keeping the map's sum checked.
fn add_into<K: Ord, F: Copy + Default>(
    map: &mut BTreeMap<K, F>,
    key: K,
    figures: F,
    add: impl Fn(&F, &F) -> Option<F>,
) -> Option<()> {
    let entry = map.entry(key).or_default();
    *entry = add(entry, &figures)?;
    Some(())
}

impl Contribution {
    /// What a completed sale adds: one sale for its cashier, its lines under their products,
    /// its payments under their tenders (the change taken off cash).
    pub fn of_sale(sale: &SaleFacts) -> Option<Contribution> {
        let cashier = CashierFigures {
            sales: 1,
            gross: sale.gross,
            discounts: sale.discounts,
            net: sale.net,
            tax: sale.tax,
            total: sale.total,
            commission: sale.commission,
            returns: 0,
            refunds: 0,
        };
        let mut lines = BTreeMap::new();
        for line in &sale.lines {
            let key = LineKey {
                product_id: line.product_id,
                tax_class_id: line.tax_class_id,
                rate_bp: line.rate_bp,
            };
            let figures = LineFigures {
                quantity: line.quantity,
                gross: line.unit_price.checked_mul(line.quantity)?,
                discounts: line.discount,
                net: line.net,
                tax: line.tax,
                total: line.total,
                ..LineFigures::default()
            };
            add_into(&mut lines, key, figures, LineFigures::checked_add)?;
        }
        let mut tenders = BTreeMap::new();
        for &(method, amount) in &sale.payments {
            let figures = TenderFigures {
                payments: 1,
                taken: amount,
                refunds: 0,
            };
            add_into(&mut tenders, method, figures, TenderFigures::checked_add)?;
        }
        if sale.change != 0 {
            let change = TenderFigures {
                taken: sale.change.checked_neg()?,
                ..TenderFigures::default()
            };
            add_into(
                &mut tenders,
                TenderMethod::Cash,
                change,
                TenderFigures::checked_add,
            )?;
        }
        Some(Contribution {
            cashier_id: sale.cashier_id,
            cashier,
            lines: lines.into_iter().collect(),
            tenders: tenders.into_iter().collect(),
        })
    }

    /// What voiding a sale adds: exactly the negation of the sale, on the sale's own day.
    pub fn of_void(sale: &SaleFacts) -> Option<Contribution> {
        Contribution::of_sale(sale)?.checked_neg()
    }

    /// What a return adds: one return and its refund for the cashier who made it, the
    /// returned quantities and refunds under their products, the refunds under their tenders.
    pub fn of_return(ret: &ReturnFacts) -> Option<Contribution> {
        let cashier = CashierFigures {
            returns: 1,
            refunds: ret.total,
            ..CashierFigures::default()
        };
        let mut lines = BTreeMap::new();
        for line in &ret.lines {
            let key = LineKey {
                product_id: line.product_id,
                tax_class_id: line.tax_class_id,
                rate_bp: line.rate_bp,
            };
            let figures = LineFigures {
                returned: line.quantity,
                refunds: line.refund,
                refund_tax: line.refund_tax,
                ..LineFigures::default()
            };
            add_into(&mut lines, key, figures, LineFigures::checked_add)?;
        }
        let mut tenders = BTreeMap::new();
        for &(method, amount) in &ret.refunds {
            let figures = TenderFigures {
                refunds: amount,
                ..TenderFigures::default()
            };
            add_into(&mut tenders, method, figures, TenderFigures::checked_add)?;
        }
        Some(Contribution {
            cashier_id: ret.cashier_id,
            cashier,
            lines: lines.into_iter().collect(),
            tenders: tenders.into_iter().collect(),
        })
    }

    /// Every figure negated.
    pub fn checked_neg(&self) -> Option<Contribution> {
        Some(Contribution {
            cashier_id: self.cashier_id,
            cashier: self.cashier.checked_neg()?,
            lines: self
                .lines
                .iter()
                .map(|(k, f)| Some((*k, f.checked_neg()?)))
                .collect::<Option<_>>()?,
            tenders: self
                .tenders
                .iter()
                .map(|(k, f)| Some((*k, f.checked_neg()?)))
                .collect::<Option<_>>()?,
        })
    }
}

/// The key of a day rollup row.
pub type DayKey = (StoreId, NaiveDate);
/// The key of a cashier rollup row.
pub type CashierKey = (StoreId, NaiveDate, UserId);
/// The key of a line rollup row.
pub type LineRowKey = (StoreId, NaiveDate, LineKey);
/// The key of a tender rollup row.
pub type TenderKey = (StoreId, NaiveDate, TenderMethod);

/// Rollup rows added up in memory: what `ringup rollups rebuild` writes and `ringup check`
/// compares with the stored rows. Rows whose figures are all zero are left out (a voided
/// sale's day with nothing else in it has no row to compare).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Rollups {
    /// The cashier rows summed over cashiers: one row per store and day.
    pub days: BTreeMap<DayKey, CashierFigures>,
    pub cashiers: BTreeMap<CashierKey, CashierFigures>,
    pub lines: BTreeMap<LineRowKey, LineFigures>,
    pub tenders: BTreeMap<TenderKey, TenderFigures>,
}

impl Rollups {
    /// Adds a contribution to the rows of `store` and `day`; `None` on overflow.
    pub fn add(&mut self, store: StoreId, day: NaiveDate, c: &Contribution) -> Option<()> {
        self.add_cashier((store, day, c.cashier_id), c.cashier)?;
        for (line, figures) in &c.lines {
            self.add_line((store, day, *line), *figures)?;
        }
        for (method, figures) in &c.tenders {
            self.add_tender((store, day, *method), *figures)?;
        }
        Some(())
    }

    /// Adds to one cashier row and to its store's day row; `None` on overflow.
    pub fn add_cashier(&mut self, key: CashierKey, figures: CashierFigures) -> Option<()> {
        let (store, day, _) = key;
        self.add_day((store, day), figures)?;
        self.add_cashier_row(key, figures)
    }

    /// Adds to one day row only (reading stored rows back); `None` on overflow.
    pub fn add_day(&mut self, key: DayKey, figures: CashierFigures) -> Option<()> {
        add_into(&mut self.days, key, figures, CashierFigures::checked_add)
    }

    /// Adds to one cashier row only (reading stored rows back); `None` on overflow.
    pub fn add_cashier_row(&mut self, key: CashierKey, figures: CashierFigures) -> Option<()> {
        add_into(
            &mut self.cashiers,
            key,
            figures,
            CashierFigures::checked_add,
        )
    }

    /// Adds to one line row; `None` on overflow.
    pub fn add_line(&mut self, key: LineRowKey, figures: LineFigures) -> Option<()> {
        add_into(&mut self.lines, key, figures, LineFigures::checked_add)
    }

    /// Adds to one tender row; `None` on overflow.
    pub fn add_tender(&mut self, key: TenderKey, figures: TenderFigures) -> Option<()> {
        add_into(&mut self.tenders, key, figures, TenderFigures::checked_add)
    }

    /// The same rows without those that add up to nothing.
    pub fn without_zeros(mut self) -> Rollups {
        self.days.retain(|_, f| !f.is_zero());
        self.cashiers.retain(|_, f| !f.is_zero());
        self.lines.retain(|_, f| !f.is_zero());
        self.tenders.retain(|_, f| !f.is_zero());
        self
    }
}

#[cfg(test)]
mod tests;

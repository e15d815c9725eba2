//! One sale's cart: random but realistic, priced with the domain's pricing exactly as the server
//! prices it, with its tenders, and written as a `POST /api/v1/sales` body.

use anyhow::{Context, Result, anyhow, ensure};
use rand::Rng;
use rand::rngs::StdRng;
use serde_json::{Value, json};

use ringup_core::catalog::{Money, Quantity};
use ringup_core::checkout::payment::TenderMethod;
use ringup_core::checkout::pricing::{Discount, LineInput, PricedCart, price_cart};
use ringup_core::rate::RateBp;
use ringup_store::checkout::sales::{PaymentRow, SaleProduct};

use super::{BenchStore, Till, World};

/// One cart line: a product (index into `World::products`), units, its own discount.
pub(crate) struct CartLine {
    pub(crate) product: usize,
    pub(crate) quantity: Quantity,
    pub(crate) discount: Option<Discount>,
}

/// A random, realistic cart, priced exactly as the server will price it, with its tenders.
pub(crate) struct Cart {
    pub(crate) lines: Vec<CartLine>,
    pub(crate) discount: Option<Discount>,
    pub(crate) priced: PricedCart,
    pub(crate) payments: Vec<PaymentRow>,
}

impl Cart {
    pub(crate) fn random(
        rng: &mut StdRng,
        products: &[SaleProduct],
        prices_include_tax: bool,
    ) -> Result<Cart> {
        let n = rng.random_range(1..=5usize).min(products.len());
        let picks = rand::seq::index::sample(rng, products.len(), n);
        let mut lines = Vec::with_capacity(n);
        let mut inputs = Vec::with_capacity(n);
        for product in picks.iter() {
            let p = products.get(product).context("no such product")?;
            let quantity = Quantity::new(rng.random_range(1..=3))?;
            // One line in five: 5, 10, 15 or 20 % off.
            let discount = if rng.random_bool(0.2) {
                Some(Discount::percent(500 * rng.random_range(1..=4))?)
            } else {
                None
            };
            inputs.push(LineInput {
                unit_price: Money::new(p.price)?,
                quantity,
                discount,
                tax_class_id: p.tax_class_id,
                tax_rate_bp: RateBp::new(p.tax_rate_bp)?,
            });
            lines.push(CartLine {
                product,
                quantity,
                discount,
            });
        }
        let price = |discount| {
            price_cart(&inputs, discount, prices_include_tax).map_err(|e| anyhow!("pricing: {e}"))
        };
        // One cart in six: a round amount off, at most a tenth of what the lines come to.
        let discount = if rng.random_bool(1.0 / 6.0) {
            let room = price(None)?.lines.iter().map(|l| l.amount).sum::<i64>() / 10;
            if room >= 1 {
                Some(Discount::amount(rng.random_range(1..=room.min(1_000)))?)
            } else {
                None
            }
        } else {
            None
        };
        let priced = price(discount)?;
        let total = priced.total.value();
        ensure!(total > 0, "a cart priced at {total}");
        let cash = |amount| PaymentRow {
            method: TenderMethod::Cash,
            amount,
            reference: None,
        };
        let payments = match rng.random_range(0..100) {
            // Cash, rounded up to the next 10.00 so there is change.
            0..45 => vec![cash((total / 1_000 + 1) * 1_000)],
            // Card, exactly.
            45..80 => vec![PaymentRow {
                method: TenderMethod::Card,
                amount: total,
                reference: Some(format!("AUTH{:06}", rng.random_range(0..1_000_000))),
            }],
            // Half by mobile money, the rest in cash rounded up to 5.00.
            _ => {
                let mobile = total / 2;
                let rest = total - mobile;
                let mut split = vec![cash((rest + 499) / 500 * 500)];
                if mobile > 0 {
                    split.push(PaymentRow {
                        method: TenderMethod::MobileMoney,
                        amount: mobile,
                        reference: Some(format!("QK{:08X}", rng.random::<u32>())),
                    });
                }
                split
            }
        };
        Ok(Cart {
            lines,
            discount,
            priced,
            payments,
        })
    }

    pub(crate) fn paid(&self) -> i64 {
        self.payments.iter().map(|p| p.amount).sum()
    }

    /// The `POST /api/v1/sales` body.
    pub(crate) fn body(&self, world: &World, till: &Till, store: &BenchStore) -> Result<Value> {
        let discount = |d: &Discount| match d {
            Discount::PercentBp(bp) => json!({ "percent_bp": bp }),
            Discount::Amount(amount) => json!({ "amount": amount }),
        };
        let lines = self
            .lines
            .iter()
            .map(|l| {
                let product = world.products.get(l.product).context("no such product")?;
                let mut line = json!({
                    "product_id": product.id.to_string(),
                    "quantity": l.quantity,
                });
                if let (Some(d), Some(object)) = (&l.discount, line.as_object_mut()) {
                    object.insert("discount".into(), discount(d));
                }
                Ok(line)
            })
            .collect::<Result<Vec<_>>>()?;
        let payments: Vec<Value> = self
            .payments
            .iter()
            .map(|p| match &p.reference {
                Some(r) => {
                    json!({ "method": p.method.as_str(), "amount": p.amount, "reference": r })
                }
                None => json!({ "method": p.method.as_str(), "amount": p.amount }),
            })
            .collect();
        let mut body = json!({
            "store_id": store.id.to_string(),
            "register_id": till.register.to_string(),
            "shift_id": till.shift.to_string(),
            "lines": lines,
            "payments": payments,
        });
        if let (Some(d), Some(object)) = (&self.discount, body.as_object_mut()) {
            object.insert("discount".into(), discount(d));
        }
        Ok(body)
    }
}

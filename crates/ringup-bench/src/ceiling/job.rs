//! One sale as the ceiling writes it: every value `create_sale` binds in its transaction,
//! worked out in the load task before the sale reaches the writer, so the serial section does
//! nothing but the statements. Only what the transaction itself decides is left open: the
//! store's number, which the reply, the outbox payload and the audit details carry, so those
//! texts are kept as the two halves around it.
//!
//! The values are the use case's own: the cart is priced with the domain's pricing, settled,
//! turned into shift totals and a commission with the core's functions, the reply is the API's
//! `sale_view` of the sale row, and the audit details are the same `json!` object.

use anyhow::{Context, Result, anyhow, ensure};
use chrono::Utc;
use rand::rngs::StdRng;

use ringup_api::checkout::sales::sale_view;
use ringup_app::write::retention;
use ringup_core::catalog::{LowStockThreshold, Money};
use ringup_core::checkout::payment::{Tender, settle};
use ringup_core::checkout::pricing::commission;
use ringup_core::checkout::totals::ShiftTotals;
use ringup_core::ids::{AuditEventId, OutboxEventId, SaleId, SaleLineId, StockMovementId};
use ringup_core::reports::{Contribution, local_day};
use ringup_core::tokens::hash_token;
use ringup_store::Stmt;
use ringup_store::checkout::sales::{PaymentRow, SaleLineRow, SaleRow};
use ringup_store::platform::time;
use ringup_store::reports::rollups;

use crate::checkout::cart::Cart;
use crate::checkout::{COMMISSION_BP, World};

/// Stands for the sale's number in the texts rendered before the number exists.
const NUMBER_SLOT: &str = "@@ceiling-sale-number@@";

/// A text that carries the sale's number: `head`, the number, `tail`.
pub(super) struct AroundNumber {
    pub(super) head: String,
    pub(super) tail: String,
}

impl AroundNumber {
    /// Splits `text` at the first [`NUMBER_SLOT`] (the view's `number` comes right after its
    /// `id`, before any free text such as product names).
    fn split(text: &str) -> Result<AroundNumber> {
        let (head, tail) = text
            .split_once(NUMBER_SLOT)
            .context("no number slot in the rendered text")?;
        Ok(AroundNumber {
            head: head.to_owned(),
            tail: tail.to_owned(),
        })
    }

    pub(super) fn with(&self, number: &str) -> String {
        let mut text = String::with_capacity(self.head.len() + number.len() + self.tail.len());
        text.push_str(&self.head);
        text.push_str(number);
        text.push_str(&self.tail);
        text
    }
}

/// One stock level the sale moves: its product, the units (negative), the product's low-stock
/// threshold, and the id of the `stock.low` event should the sale cross it.
pub(super) struct LevelMove {
    pub(super) product_id: String,
    pub(super) delta: i64,
    pub(super) threshold: LowStockThreshold,
    pub(super) low_event_id: String,
}

/// One `stock_movements` row.
pub(super) struct Movement {
    pub(super) id: String,
    pub(super) product_id: String,
    pub(super) delta: i64,
}

/// One `sale_lines` row (its `line_no` is its place, its `returned_quantity` 0).
pub(super) struct Line {
    pub(super) id: String,
    pub(super) product_id: String,
    pub(super) sku: String,
    pub(super) name: String,
    /// quantity, unit_price, discount, net, tax, total, tax_rate_bp.
    pub(super) amounts: [i64; 7],
    pub(super) tax_class_id: String,
}

/// One `sale_payments` row.
pub(super) struct Payment {
    pub(super) method: &'static str,
    pub(super) amount: i64,
    pub(super) reference: Option<String>,
}

/// Everything the sale transaction binds.
pub(super) struct SaleJob {
    /// The idempotency scope: the cashier's actor id.
    pub(super) scope: String,
    pub(super) key: String,
    pub(super) request_hash: String,
    /// The write's time as stored; every row carries it.
    pub(super) now: String,
    pub(super) expires_at: String,
    pub(super) shift_id: String,
    /// What the sale adds to the shift, in `delta_columns` order (the store's).
    pub(super) shift_delta: Vec<i64>,
    pub(super) store_id: String,
    pub(super) store_code: String,
    pub(super) allow_negative: bool,
    /// In product id order, as `move_many` locks them (two sales never lock in opposite order).
    pub(super) levels: Vec<LevelMove>,
    /// In line order.
    pub(super) movements: Vec<Movement>,
    pub(super) sale_id: String,
    pub(super) register_id: String,
    pub(super) cashier_id: String,
    /// subtotal, discount_total, net_total, tax_total, total, paid, change_given, commission.
    pub(super) totals: [i64; 8],
    pub(super) lines: Vec<Line>,
    pub(super) payments: Vec<Payment>,
    pub(super) outbox_id: String,
    /// The store's local day the sale counts on in the reports.
    pub(super) business_day: String,
    /// What the sale adds to the report rollups: the store's own statements.
    pub(super) rollups: Vec<Stmt<'static>>,
    /// The reply (201) and the `sale.completed` payload: the sale as clients see it.
    pub(super) view: AroundNumber,
    pub(super) audit_id: String,
    pub(super) ip: String,
    pub(super) user_agent: String,
    pub(super) request_id: String,
    /// The audit event's details: `{"number":…,"shift_id":…,"total":…}`.
    pub(super) details: AroundNumber,
}

impl SaleJob {
    /// A random, realistic sale for load task `task` (its register, as checkout deals them).
    pub(super) fn random(world: &World, task: usize, rng: &mut StdRng) -> Result<SaleJob> {
        let (till, store) = world.till(task)?;
        let cart = Cart::random(rng, &world.products, store.prices_include_tax)?;
        let at = Utc::now();
        let now = time::to_db(at);
        let day = local_day(at, store.time_zone);
        let priced = &cart.priced;
        let tenders = cart
            .payments
            .iter()
            .map(tender)
            .collect::<Result<Vec<_>>>()?;
        let settlement =
            settle(priced.total, &tenders).map_err(|e| anyhow!("the cart does not settle: {e}"))?;
        let delta = ShiftTotals::sale(priced, &settlement, &tenders).context("shift totals")?;
        let commission =
            commission(priced.net_total.value(), COMMISSION_BP).context("commission")?;

        let mut lines = Vec::with_capacity(cart.lines.len());
        for (line, p) in cart.lines.iter().zip(&priced.lines) {
            let product = world
                .products
                .get(line.product)
                .context("no such product")?;
            lines.push(SaleLineRow {
                id: SaleLineId::new(),
                product_id: product.id,
                sku: product.sku.clone(),
                name: product.name.clone(),
                quantity: line.quantity.value(),
                unit_price: product.price,
                discount: p.discount,
                net: p.net,
                tax: p.tax,
                total: p.total,
                tax_rate_bp: p.tax_rate_bp.value(),
                tax_class_id: p.tax_class_id,
                returned_quantity: 0,
                low_stock_threshold: product.low_stock_threshold,
            });
        }
        ensure!(lines.len() == cart.lines.len(), "a line was not priced");
        let sale = SaleRow {
            id: SaleId::new(),
            number: NUMBER_SLOT.to_owned(),
            store_id: store.id,
            register_id: till.register,
            shift_id: till.shift,
            cashier_id: world.cashier,
            customer_id: None,
            voided: false,
            subtotal: priced.subtotal.value(),
            discount_total: priced.discount_total.value(),
            net_total: priced.net_total.value(),
            tax_total: priced.tax_total.value(),
            total: priced.total.value(),
            paid: settlement.paid.value(),
            change: settlement.change.value(),
            commission,
            note: None,
            returns_count: 0,
            void_reason: None,
            voided_by: None,
            voided_at: None,
            created_at: now.clone(),
            business_day: Some(rollups::day_key(day)),
            lines,
            payments: cart.payments.clone(),
        };
        let shown = sale_view(&sale).map_err(|e| anyhow!("the sale view: {e}"))?;
        let contribution =
            Contribution::of_sale(&rollups::sale_facts(&sale)).context("rollup overflow")?;
        let details = serde_json::json!({
            "number": NUMBER_SLOT, "total": sale.total, "shift_id": sale.shift_id.to_string(),
        });
        let key = uuid::Uuid::now_v7().to_string();
        Ok(SaleJob {
            scope: world.cashier.to_string(),
            // The server hashes the request body; the reply stands in for it here.
            request_hash: hash_token(&format!("POST /api/v1/sales\n{key}\n{}", shown.as_str())),
            key,
            expires_at: time::to_db(at + retention()),
            shift_id: sale.shift_id.to_string(),
            shift_delta: ringup_store::checkout::shifts::delta_values(&delta).collect(),
            store_id: store.id.to_string(),
            store_code: store.code.clone(),
            allow_negative: store.allow_negative,
            levels: levels(&sale.lines),
            movements: sale
                .lines
                .iter()
                .map(|l| Movement {
                    id: StockMovementId::new().to_string(),
                    product_id: l.product_id.to_string(),
                    delta: l.quantity.saturating_neg(),
                })
                .collect(),
            sale_id: sale.id.to_string(),
            register_id: sale.register_id.to_string(),
            cashier_id: sale.cashier_id.to_string(),
            totals: [
                sale.subtotal,
                sale.discount_total,
                sale.net_total,
                sale.tax_total,
                sale.total,
                sale.paid,
                sale.change,
                sale.commission,
            ],
            lines: sale.lines.iter().map(line).collect(),
            payments: sale.payments.iter().map(payment).collect(),
            business_day: rollups::day_key(day),
            rollups: rollups::statements(store.id, day, &contribution),
            outbox_id: OutboxEventId::new().to_string(),
            view: AroundNumber::split(shown.as_str())?,
            audit_id: AuditEventId::new().to_string(),
            ip: "127.0.0.1".to_owned(),
            user_agent: "ringup-bench".to_owned(),
            request_id: uuid::Uuid::now_v7().to_string(),
            details: AroundNumber::split(&details.to_string())?,
            now,
        })
    }
}

/// A payment as the domain's tender (the cart only makes positive amounts).
fn tender(payment: &PaymentRow) -> Result<Tender> {
    Ok(Tender {
        method: payment.method,
        amount: Money::new(payment.amount)?,
    })
}

/// The lines' levels in product order, one per product (checkout's carts never repeat one,
/// but `move_many` would sum them, and so does this).
fn levels(lines: &[SaleLineRow]) -> Vec<LevelMove> {
    let mut by_product = std::collections::BTreeMap::new();
    for l in lines {
        let level = by_product
            .entry(l.product_id)
            .or_insert((0i64, l.low_stock_threshold));
        level.0 = level.0.saturating_sub(l.quantity);
    }
    by_product
        .into_iter()
        .map(|(product, (delta, threshold))| LevelMove {
            product_id: product.to_string(),
            delta,
            threshold,
            low_event_id: OutboxEventId::new().to_string(),
        })
        .collect()
}

fn line(l: &SaleLineRow) -> Line {
    Line {
        id: l.id.to_string(),
        product_id: l.product_id.to_string(),
        sku: l.sku.clone(),
        name: l.name.clone(),
        amounts: [
            l.quantity,
            l.unit_price,
            l.discount,
            l.net,
            l.tax,
            l.total,
            l.tax_rate_bp,
        ],
        tax_class_id: l.tax_class_id.to_string(),
    }
}

fn payment(p: &PaymentRow) -> Payment {
    Payment {
        method: p.method.as_str(),
        amount: p.amount,
        reference: p.reference.clone(),
    }
}

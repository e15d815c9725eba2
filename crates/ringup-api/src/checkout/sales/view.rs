//! How a sale reads over HTTP (docs/API.md "Checkout", the 201 body of `POST /api/v1/sales`).

use serde::Serialize;
use utoipa::ToSchema;

use ringup_core::ids::TaxClassId;
use ringup_store::checkout::sales::{PaymentRow, SaleLineRow, SaleRow};

#[derive(Clone, Serialize, ToSchema)]
pub struct SaleLineView {
    pub id: String,
    pub product_id: String,
    pub sku: String,
    pub name: String,
    pub quantity: i64,
    pub unit_price: i64,
    /// The line's own discount plus its share of the cart discount.
    pub discount: i64,
    pub net: i64,
    pub tax: i64,
    pub total: i64,
    pub tax_rate_bp: i64,
}

impl From<&SaleLineRow> for SaleLineView {
    fn from(l: &SaleLineRow) -> Self {
        SaleLineView {
            id: l.id.to_string(),
            product_id: l.product_id.to_string(),
            sku: l.sku.clone(),
            name: l.name.clone(),
            quantity: l.quantity,
            unit_price: l.unit_price,
            discount: l.discount,
            net: l.net,
            tax: l.tax,
            total: l.total,
            tax_rate_bp: l.tax_rate_bp,
        }
    }
}

#[derive(Clone, Serialize, ToSchema)]
pub struct PaymentView {
    pub method: &'static str,
    pub amount: i64,
    pub reference: Option<String>,
}

impl From<&PaymentRow> for PaymentView {
    fn from(p: &PaymentRow) -> Self {
        PaymentView {
            method: p.method.as_str(),
            amount: p.amount,
            reference: p.reference.clone(),
        }
    }
}

#[derive(Clone, Serialize, ToSchema)]
pub struct TaxBreakdownView {
    pub tax_class_id: String,
    pub rate_bp: i64,
    pub net: i64,
    pub tax: i64,
}

/// One entry per tax class, in order of first appearance, summing its lines.
pub fn tax_breakdown(lines: &[SaleLineRow]) -> Vec<TaxBreakdownView> {
    let mut buckets: Vec<(TaxClassId, TaxBreakdownView)> = Vec::new();
    for line in lines {
        match buckets.iter_mut().find(|(id, _)| *id == line.tax_class_id) {
            Some((_, bucket)) => {
                bucket.net = bucket.net.saturating_add(line.net);
                bucket.tax = bucket.tax.saturating_add(line.tax);
            }
            None => buckets.push((
                line.tax_class_id,
                TaxBreakdownView {
                    tax_class_id: line.tax_class_id.to_string(),
                    rate_bp: line.tax_rate_bp,
                    net: line.net,
                    tax: line.tax,
                },
            )),
        }
    }
    buckets.into_iter().map(|(_, b)| b).collect()
}

#[derive(Clone, Serialize, ToSchema)]
pub struct SaleView {
    pub id: String,
    /// `<STORE CODE>-000001`, gapless per store.
    pub number: String,
    /// `completed` or `voided`.
    pub status: &'static str,
    pub store_id: String,
    pub register_id: String,
    pub shift_id: String,
    pub cashier_id: String,
    pub customer_id: Option<String>,
    pub lines: Vec<SaleLineView>,
    pub subtotal: i64,
    pub discount_total: i64,
    pub net_total: i64,
    pub tax_total: i64,
    pub total: i64,
    pub paid: i64,
    pub change: i64,
    pub payments: Vec<PaymentView>,
    pub tax_breakdown: Vec<TaxBreakdownView>,
    pub commission: i64,
    pub note: Option<String>,
    pub created_at: String,
    pub voided_at: Option<String>,
    pub voided_by: Option<String>,
    pub void_reason: Option<String>,
}

impl From<&SaleRow> for SaleView {
    fn from(s: &SaleRow) -> Self {
        SaleView {
            id: s.id.to_string(),
            number: s.number.clone(),
            status: if s.voided { "voided" } else { "completed" },
            store_id: s.store_id.to_string(),
            register_id: s.register_id.to_string(),
            shift_id: s.shift_id.to_string(),
            cashier_id: s.cashier_id.to_string(),
            customer_id: s.customer_id.map(|c| c.to_string()),
            lines: s.lines.iter().map(SaleLineView::from).collect(),
            subtotal: s.subtotal,
            discount_total: s.discount_total,
            net_total: s.net_total,
            tax_total: s.tax_total,
            total: s.total,
            paid: s.paid,
            change: s.change,
            payments: s.payments.iter().map(PaymentView::from).collect(),
            tax_breakdown: tax_breakdown(&s.lines),
            commission: s.commission,
            note: s.note.clone(),
            created_at: s.created_at.clone(),
            voided_at: s.voided_at.clone(),
            voided_by: s.voided_by.clone(),
            void_reason: s.void_reason.clone(),
        }
    }
}

//! The body of `POST /api/v1/sales` and `POST /api/v1/returns`, validated field by field into
//! typed values; every broken rule becomes one `errors[]` entry naming its field.

use serde::Deserialize;
use utoipa::ToSchema;

use ringup_app::checkout::sales;
use ringup_core::catalog::{Money, Quantity};
use ringup_core::checkout::payment::TenderMethod;
use ringup_core::checkout::pricing::Discount;
use ringup_core::ids::{CustomerId, ProductId, RegisterId, ShiftId, StoreId};
use ringup_store::checkout::sales::PaymentRow;

use crate::http::error::FieldError;
use crate::http::validation::optional_text;

/// `{"percent_bp"}` or `{"amount"}`.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DiscountBody {
    /// 0–10000 basis points of what the discount applies to.
    #[serde(default)]
    pub percent_bp: Option<i64>,
    /// Minor units, ≥ 0.
    #[serde(default)]
    pub amount: Option<i64>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SaleLineBody {
    pub product_id: String,
    pub quantity: i64,
    #[serde(default)]
    pub discount: Option<DiscountBody>,
    /// Overrides the catalog price; admins and managers only.
    #[serde(default)]
    pub unit_price: Option<i64>,
}

/// A tender (or a refund).
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PaymentBody {
    /// `cash`, `card`, `mobile_money`, `voucher` or `other`.
    pub method: String,
    /// Minor units, > 0.
    pub amount: i64,
    /// Non-cash tenders only, e.g. a mobile-money transaction code.
    #[serde(default)]
    pub reference: Option<String>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewSale {
    pub store_id: String,
    pub register_id: String,
    pub shift_id: String,
    #[serde(default)]
    pub customer_id: Option<String>,
    pub lines: Vec<SaleLineBody>,
    /// A cart discount, spread over the lines.
    #[serde(default)]
    pub discount: Option<DiscountBody>,
    #[serde(default)]
    pub payments: Vec<PaymentBody>,
    #[serde(default)]
    pub note: Option<String>,
}

fn id<T>(
    field: &str,
    text: &str,
    parse: fn(&str) -> Result<T, ringup_core::ids::IdError>,
    what: &str,
    errors: &mut Vec<FieldError>,
) -> Option<T> {
    parse(text)
        .map_err(|_| errors.push(FieldError::new(field, format!("is not a known {what}"))))
        .ok()
}

pub fn parse_discount(
    field: &str,
    body: Option<&DiscountBody>,
    errors: &mut Vec<FieldError>,
) -> Option<Discount> {
    let body = body?;
    match (body.percent_bp, body.amount) {
        (Some(bp), None) => Discount::percent(bp)
            .map_err(|e| {
                errors.push(FieldError::new(
                    format!("{field}.percent_bp"),
                    e.to_string(),
                ))
            })
            .ok(),
        (None, Some(amount)) => Discount::amount(amount)
            .map_err(|e| errors.push(FieldError::new(format!("{field}.amount"), e.to_string())))
            .ok(),
        _ => {
            errors.push(FieldError::new(
                field,
                "must have exactly one of percent_bp and amount",
            ));
            None
        }
    }
}

/// Tenders or refunds: known methods, positive amounts, references on non-cash only.
pub fn parse_payments(
    field: &str,
    payments: &[PaymentBody],
    errors: &mut Vec<FieldError>,
) -> Vec<PaymentRow> {
    if payments.len() > 20 {
        errors.push(FieldError::new(field, "must have at most 20 entries"));
    }
    let mut parsed = Vec::new();
    for (i, p) in payments.iter().enumerate() {
        let method = TenderMethod::parse(&p.method);
        if method.is_none() {
            errors.push(FieldError::new(
                format!("{field}[{i}].method"),
                "must be cash, card, mobile_money, voucher or other",
            ));
        }
        let amount_field = format!("{field}[{i}].amount");
        match Money::new(p.amount) {
            Ok(Money::ZERO) => errors.push(FieldError::new(amount_field, "must be positive")),
            Ok(_) => {}
            Err(e) => errors.push(FieldError::new(amount_field, e.to_string())),
        }
        let reference = optional_text(
            &format!("{field}[{i}].reference"),
            p.reference.as_deref(),
            100,
            errors,
        );
        if method == Some(TenderMethod::Cash) && reference.is_some() {
            errors.push(FieldError::new(
                format!("{field}[{i}].reference"),
                "only non-cash tenders carry a reference",
            ));
        }
        if let Some(method) = method {
            parsed.push(PaymentRow {
                method,
                amount: p.amount,
                reference,
            });
        }
    }
    parsed
}

/// Checks every field that needs no database; what breaks a rule goes to the command's
/// `problems` (after `errors`, the caller's own), for the use case to answer with the rest.
pub fn parse_sale(body: &NewSale, mut errors: Vec<FieldError>) -> sales::NewSale {
    let errors = &mut errors;
    let store_id = id("store_id", &body.store_id, StoreId::parse, "store", errors);
    let register_id = id(
        "register_id",
        &body.register_id,
        RegisterId::parse,
        "register",
        errors,
    );
    let shift_id = id("shift_id", &body.shift_id, ShiftId::parse, "shift", errors);
    let customer_id = body
        .customer_id
        .as_deref()
        .and_then(|c| id("customer_id", c, CustomerId::parse, "customer", errors));
    if body.lines.is_empty() || body.lines.len() > 100 {
        errors.push(FieldError::new("lines", "must have 1 to 100 lines"));
    }
    let lines = body
        .lines
        .iter()
        .enumerate()
        .map(|(i, line)| {
            let product_id = id(
                &format!("lines[{i}].product_id"),
                &line.product_id,
                ProductId::parse,
                "product",
                errors,
            );
            let quantity = Quantity::new(line.quantity)
                .map_err(|e| {
                    errors.push(FieldError::new(
                        format!("lines[{i}].quantity"),
                        e.to_string(),
                    ))
                })
                .ok();
            let discount = parse_discount(
                &format!("lines[{i}].discount"),
                line.discount.as_ref(),
                errors,
            );
            // A price outside the range is reported; the line is still checked against the
            // catalog so one answer lists everything.
            let unit_price = line.unit_price.and_then(|price| {
                Money::new(price)
                    .map_err(|e| {
                        errors.push(FieldError::new(
                            format!("lines[{i}].unit_price"),
                            e.to_string(),
                        ))
                    })
                    .ok()
            });
            Some(sales::LineRequest {
                product_id: product_id?,
                quantity: quantity?,
                discount,
                unit_price,
            })
        })
        .collect();
    let discount = parse_discount("discount", body.discount.as_ref(), errors);
    let payments = parse_payments("payments", &body.payments, errors);
    let note = optional_text("note", body.note.as_deref(), 500, errors);
    sales::NewSale {
        store_id,
        register_id,
        shift_id,
        customer_id,
        lines,
        discount,
        payments,
        note,
        problems: std::mem::take(errors),
    }
}

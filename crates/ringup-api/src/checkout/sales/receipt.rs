//! A sale's receipt: JSON, 42-column printer text or PDF by `Accept`, and by e-mail.
//!
//! The receipt is built from the stored sale (what was charged, never re-priced), the store's
//! name, currency and time zone, and the cashier's name; the layout is the pure
//! `ringup_core::checkout::receipt`, the PDF draws the same lines.

use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use ringup_core::catalog::CurrencyCode;
use ringup_core::checkout::receipt::{
    Receipt, ReceiptLine, ReceiptPayment, ReceiptTax, render_text,
};
use ringup_core::users::Email;
use ringup_store::checkout::sales::SaleRow;
use ringup_store::{catalog::stores, users};

use crate::auth::principal::Principal;
use crate::checkout::receipt_pdf::render_pdf;
use crate::http::error::{ApiError, FieldError};
use crate::http::json::ApiJson;
use crate::state::AppState;

use super::view::tax_breakdown;
use super::visible_sale;

/// A receipt as JSON: the printed values, and the printed text.
#[derive(Serialize, ToSchema)]
pub struct ReceiptView {
    pub number: String,
    pub store_code: String,
    pub store_name: String,
    /// Local date and time of the sale in the store's time zone.
    pub date: String,
    pub cashier: String,
    pub currency: String,
    pub lines: Vec<ReceiptLineView>,
    pub subtotal: i64,
    pub discount_total: i64,
    pub tax_total: i64,
    pub total: i64,
    pub tax_breakdown: Vec<ReceiptTaxView>,
    pub payments: Vec<ReceiptPaymentView>,
    pub paid: i64,
    pub change: i64,
    pub voided: bool,
    pub customer: Option<String>,
    /// The 42-column printer text.
    pub text: String,
}

#[derive(Serialize, ToSchema)]
pub struct ReceiptLineView {
    pub name: String,
    pub sku: String,
    pub quantity: i64,
    pub unit_price: i64,
    pub discount: i64,
    pub total: i64,
}

#[derive(Serialize, ToSchema)]
pub struct ReceiptTaxView {
    pub rate_bp: i64,
    pub net: i64,
    pub tax: i64,
}

#[derive(Serialize, ToSchema)]
pub struct ReceiptPaymentView {
    pub method: String,
    pub amount: i64,
    pub reference: Option<String>,
}

impl From<&Receipt> for ReceiptView {
    fn from(r: &Receipt) -> Self {
        ReceiptView {
            number: r.number.clone(),
            store_code: r.store_code.clone(),
            store_name: r.store_name.clone(),
            date: r.date.clone(),
            cashier: r.cashier.clone(),
            currency: r.currency.clone(),
            lines: r
                .lines
                .iter()
                .map(|l| ReceiptLineView {
                    name: l.name.clone(),
                    sku: l.sku.clone(),
                    quantity: l.quantity,
                    unit_price: l.unit_price,
                    discount: l.discount,
                    total: l.total,
                })
                .collect(),
            subtotal: r.subtotal,
            discount_total: r.discount_total,
            tax_total: r.tax_total,
            total: r.total,
            tax_breakdown: r
                .tax_breakdown
                .iter()
                .map(|t| ReceiptTaxView {
                    rate_bp: t.rate_bp,
                    net: t.net,
                    tax: t.tax,
                })
                .collect(),
            payments: r
                .payments
                .iter()
                .map(|p| ReceiptPaymentView {
                    method: p.method.clone(),
                    amount: p.amount,
                    reference: p.reference.clone(),
                })
                .collect(),
            paid: r.paid,
            change: r.change,
            voided: r.voided,
            customer: r.customer.clone(),
            text: render_text(r),
        }
    }
}

/// `2026-11-25 14:03` in the store's time zone (UTC if the zone is unknown).
fn local_time(created_at: &str, timezone: &str) -> String {
    let Ok(at) = ringup_store::platform::time::from_db(created_at) else {
        return created_at.to_owned();
    };
    match timezone.parse::<chrono_tz::Tz>() {
        Ok(tz) => at.with_timezone(&tz).format("%Y-%m-%d %H:%M").to_string(),
        Err(_) => at.format("%Y-%m-%d %H:%M UTC").to_string(),
    }
}

async fn build_receipt(state: &AppState, sale: &SaleRow) -> Result<Receipt, ApiError> {
    let mut conn = state.db.read_conn().await?;
    let store = stores::find_store(&mut conn, sale.store_id)
        .await?
        .ok_or(ApiError::NotFound)?;
    let cashier = users::find_user(&mut conn, sale.cashier_id)
        .await?
        .map_or_else(|| sale.cashier_id.to_string(), |u| u.username);
    let customer = match sale.customer_id {
        Some(id) => ringup_store::checkout::customers::customer_name(&mut conn, id).await?,
        None => None,
    };
    let decimals = CurrencyCode::parse(&store.currency).map_or(2, |c| c.minor_units());
    Ok(Receipt {
        store_name: store.name.clone(),
        store_code: store.code.clone(),
        number: sale.number.clone(),
        date: local_time(&sale.created_at, &store.timezone),
        cashier,
        currency: store.currency.clone(),
        decimals,
        lines: sale
            .lines
            .iter()
            .map(|l| ReceiptLine {
                name: l.name.clone(),
                sku: l.sku.clone(),
                quantity: l.quantity,
                unit_price: l.unit_price,
                discount: l.discount,
                total: l.total,
            })
            .collect(),
        subtotal: sale.subtotal,
        discount_total: sale.discount_total,
        tax_total: sale.tax_total,
        total: sale.total,
        prices_include_tax: store.prices_include_tax,
        tax_breakdown: tax_breakdown(&sale.lines)
            .into_iter()
            .map(|t| ReceiptTax {
                rate_bp: t.rate_bp,
                net: t.net,
                tax: t.tax,
            })
            .collect(),
        payments: sale
            .payments
            .iter()
            .map(|p| ReceiptPayment {
                method: p.method.as_str().to_owned(),
                amount: p.amount,
                reference: p.reference.clone(),
            })
            .collect(),
        paid: sale.paid,
        change: sale.change,
        voided: sale.voided,
        customer,
    })
}

/// What the client accepts, in our terms.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Format {
    Json,
    Text,
    Pdf,
}

/// The first media range of `Accept` (in order, ignoring q-values) we can serve; JSON when
/// the header is absent or accepts anything. `None`: nothing acceptable (406).
fn negotiate(headers: &HeaderMap) -> Option<Format> {
    let Some(accept) = headers.get(header::ACCEPT) else {
        return Some(Format::Json);
    };
    let accept = accept.to_str().ok()?;
    for range in accept.split(',') {
        let media = range
            .split(';')
            .next()
            .unwrap_or("")
            .trim()
            .to_ascii_lowercase();
        match media.as_str() {
            "application/json" | "*/*" | "application/*" => return Some(Format::Json),
            "text/plain" | "text/*" => return Some(Format::Text),
            "application/pdf" => return Some(Format::Pdf),
            _ => {}
        }
    }
    None
}

/// The receipt of a sale, as JSON, 42-column text or PDF (by `Accept`).
#[utoipa::path(get, path = "/api/v1/sales/{id}/receipt", tag = "checkout",
    params(("id" = String, Path, description = "Sale id"),
        ("Accept" = String, Header,
            description = "application/json (default), text/plain or application/pdf")),
    security(("bearer" = [])),
    responses((status = 200, body = ReceiptView,
            description = "The receipt; as text/plain (42 columns) or application/pdf by Accept"),
        (status = 403), (status = 404), (status = 406)))]
pub async fn get_receipt(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let sale = visible_sale(&state, &principal, &id).await?;
    let format = negotiate(&headers).ok_or(ApiError::NotAcceptable)?;
    let receipt = build_receipt(&state, &sale).await?;
    Ok(match format {
        Format::Json => ApiJson(ReceiptView::from(&receipt)).into_response(),
        Format::Text => (
            [(
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/plain; charset=utf-8"),
            )],
            render_text(&receipt),
        )
            .into_response(),
        Format::Pdf => {
            let bytes = render_pdf(&receipt).map_err(ApiError::internal)?;
            let disposition = format!("inline; filename=\"receipt-{}.pdf\"", receipt.number);
            let mut response = (
                [(
                    header::CONTENT_TYPE,
                    HeaderValue::from_static("application/pdf"),
                )],
                bytes,
            )
                .into_response();
            if let Ok(value) = HeaderValue::from_str(&disposition) {
                response
                    .headers_mut()
                    .insert(header::CONTENT_DISPOSITION, value);
            }
            response
        }
    })
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EmailReceiptBody {
    pub email: String,
}

#[derive(Serialize, ToSchema)]
pub struct QueuedView {
    /// `queued`: the mail is in the durable mail queue; the mail worker sends it, retrying
    /// with backoff while the SMTP server fails.
    pub status: &'static str,
}

/// E-mail the receipt (the printer text as the body).
#[utoipa::path(post, path = "/api/v1/sales/{id}/receipt/email", tag = "checkout",
    request_body = EmailReceiptBody, params(("id" = String, Path, description = "Sale id")),
    security(("bearer" = [])),
    responses((status = 202, body = QueuedView), (status = 403), (status = 404),
        (status = 422)))]
pub async fn email_receipt(
    State(state): State<AppState>,
    principal: Principal,
    meta: crate::http::context::RequestMeta,
    Path(id): Path<String>,
    crate::http::json::ApiJson(body): crate::http::json::ApiJson<EmailReceiptBody>,
) -> Result<Response, ApiError> {
    let sale = visible_sale(&state, &principal, &id).await?;
    let to = Email::parse(&body.email)
        .map_err(|e| ApiError::Validation(vec![FieldError::new("email", e.to_string())]))?;
    let receipt = build_receipt(&state, &sale).await?;
    let subject = format!("Receipt {}", receipt.number);
    let text = render_text(&receipt);
    let request = state.write_request(&principal, &meta, None);
    ringup_app::mail::queue_receipt(
        &state.db,
        request,
        sale.store_id,
        &sale.id.to_string(),
        to.as_str(),
        &subject,
        &text,
    )
    .await?;
    // Wakes this node's mail worker (it also looks every second).
    state.mail_signal.notify_one();
    Ok((
        StatusCode::ACCEPTED,
        ApiJson(QueuedView { status: "queued" }),
    )
        .into_response())
}

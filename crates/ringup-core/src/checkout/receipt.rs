//! The printed receipt: 42-column text (and the lines a PDF is drawn from). CONTRACT: types
//! fixed; helper implements `render_text`, `format_amount` and tests.

/// Everything a receipt shows, already resolved to display values.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Receipt {
    pub store_name: String,
    pub store_code: String,
    /// e.g. `NRB1-000042`.
    pub number: String,
    /// Local date and time as printed, e.g. `2026-11-25 14:03`.
    pub date: String,
    pub cashier: String,
    /// The currency code, e.g. `KES`.
    pub currency: String,
    /// Decimals of the currency (2 for KES, 0 for JPY).
    pub decimals: u32,
    pub lines: Vec<ReceiptLine>,
    pub subtotal: i64,
    pub discount_total: i64,
    pub tax_total: i64,
    pub total: i64,
    /// Whether prices include tax (prints "incl." vs "VAT" wording).
    pub prices_include_tax: bool,
    pub tax_breakdown: Vec<ReceiptTax>,
    pub payments: Vec<ReceiptPayment>,
    pub paid: i64,
    pub change: i64,
    /// The sale was voided: the receipt says so prominently.
    pub voided: bool,
    pub customer: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReceiptLine {
    pub name: String,
    pub sku: String,
    pub quantity: i64,
    pub unit_price: i64,
    /// Line discount incl. cart share (0 → not printed).
    pub discount: i64,
    pub total: i64,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReceiptTax {
    pub rate_bp: i64,
    pub net: i64,
    pub tax: i64,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReceiptPayment {
    /// `cash`, `card`, `mobile_money`, `voucher`, `other`.
    pub method: String,
    pub amount: i64,
    pub reference: Option<String>,
}

/// Printer width in columns.
pub const WIDTH: usize = 42;

/// `123456` with 2 decimals → `1,234.56`; negative amounts get a leading `-`.
pub fn format_amount(minor: i64, decimals: u32) -> String {
    let _ = (minor, decimals);
    todo!("helper implements")
}

/// The receipt as lines of at most [`WIDTH`] characters, joined by `\n`, ending with `\n`.
pub fn render_text(receipt: &Receipt) -> String {
    let _ = receipt;
    todo!("helper implements")
}

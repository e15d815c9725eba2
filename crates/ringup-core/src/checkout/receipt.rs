//! The printed receipt: 42-column text for thermal printers, and the same lines for the PDF
//! (`ringup-api`'s `receipt_pdf`).
//!
//! Invariants: every printed line has at most [`WIDTH`] characters and no trailing spaces,
//! whatever the receipt holds (long names wrap on word boundaries, over-long words break,
//! control characters print as spaces); amounts end at column [`WIDTH`] and are all printed
//! by [`format_amount`]. The types are a contract the other layers are written against:
//! add to them, do not change their fields.

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

/// Width of the label column in the header fields (`Receipt:  NRB1-000042`).
const LABEL_WIDTH: usize = 10;

/// Width reserved at the right of a tax-breakdown row for `tax <amount>`, so the `net`
/// column lines up across rates for amounts of up to ten characters.
const TAX_CELL_WIDTH: usize = 14;

/// `123456` with 2 decimals → `1,234.56`; negative amounts get a leading `-`.
///
/// The integer part is grouped in threes with `,`; with 0 decimals there is no `.`
/// (`1235` → `1,235`). Exact for every `i64`, `i64::MIN` included, and for any `decimals`
/// (the string grows with `decimals`; currencies have 0 to 4).
pub fn format_amount(minor: i64, decimals: u32) -> String {
    format_signed(minor < 0, minor.unsigned_abs(), decimals)
}

/// `minor` printed as a deduction: `650` → `-6.50`, `0` → `0.00`, `-650` → `6.50`.
/// Never negates the `i64`, so `i64::MIN` cannot overflow.
fn format_deduction(minor: i64, decimals: u32) -> String {
    format_signed(minor > 0, minor.unsigned_abs(), decimals)
}

fn format_signed(negative: bool, magnitude: u64, decimals: u32) -> String {
    let decimals = decimals as usize;
    let mut digits = magnitude.to_string();
    if digits.len() <= decimals {
        // At least one digit before the point: 5 with 2 decimals is 0.05.
        let zeros = "0".repeat(decimals + 1 - digits.len());
        digits.insert_str(0, &zeros);
    }
    let (int_part, frac_part) = digits
        .split_at_checked(digits.len() - decimals)
        .unwrap_or((digits.as_str(), ""));
    let mut out = String::with_capacity(digits.len() + digits.len() / 3 + 2);
    if negative && magnitude != 0 {
        out.push('-');
    }
    // `int_part` is ASCII digits, so its byte length is its digit count.
    for (i, digit) in int_part.chars().enumerate() {
        if i > 0 && (int_part.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(digit);
    }
    if !frac_part.is_empty() {
        out.push('.');
        out.push_str(frac_part);
    }
    out
}

/// The receipt as lines of at most [`WIDTH`] characters, joined by `\n`, ending with `\n`.
pub fn render_text(receipt: &Receipt) -> String {
    let mut text = String::new();
    for line in render_lines(receipt) {
        text.push_str(&line);
        text.push('\n');
    }
    text
}

/// The lines [`render_text`] prints, without their `\n`: what a PDF or a printer driver draws.
///
/// Each line has at most [`WIDTH`] characters (`char`s: a printer column holds one; East
/// Asian wide characters, which take two on most printers, are not accounted for) and no
/// trailing spaces. Control characters in the receipt's strings are printed as spaces.
pub fn render_lines(receipt: &Receipt) -> Vec<String> {
    let d = receipt.decimals;
    let mut out = Layout::default();

    for line in wrap(&receipt.store_name, WIDTH) {
        out.centred(&line);
    }
    out.centred(&format!("Store {}", clean(&receipt.store_code)));
    out.blank();
    out.field("Receipt", &receipt.number);
    out.field("Date", &receipt.date);
    out.field("Cashier", &receipt.cashier);
    if let Some(customer) = receipt.customer.as_deref().filter(|c| !c.trim().is_empty()) {
        out.field("Customer", customer);
    }
    if receipt.voided {
        out.void_banner();
    }
    out.rule('=');

    for line in &receipt.lines {
        let name = if line.name.trim().is_empty() {
            &line.sku
        } else {
            &line.name
        };
        for part in wrap(name, WIDTH) {
            out.push(part);
        }
        out.row(
            &format!(
                "  {} x {}",
                line.quantity,
                format_amount(line.unit_price, d)
            ),
            &format_amount(line.total, d),
        );
        if line.discount > 0 {
            out.row("  Discount", &format_deduction(line.discount, d));
        }
    }
    out.rule('-');

    out.row("Subtotal", &format_amount(receipt.subtotal, d));
    if receipt.discount_total != 0 {
        out.row("Discount", &format_deduction(receipt.discount_total, d));
    }
    let tax_label = if receipt.prices_include_tax {
        "Incl. VAT"
    } else {
        "VAT"
    };
    out.row(tax_label, &format_amount(receipt.tax_total, d));
    out.row(
        &format!("TOTAL {}", clean(&receipt.currency)),
        &format_amount(receipt.total, d),
    );

    let rates = merge_rates(&receipt.tax_breakdown);
    if !rates.is_empty() {
        out.rule('-');
        for tax in &rates {
            out.tax_row(tax, d);
        }
    }

    out.rule('-');
    for payment in &receipt.payments {
        out.row(
            &method_name(&payment.method),
            &format_amount(payment.amount, d),
        );
        if let Some(reference) = payment
            .reference
            .as_deref()
            .filter(|r| !r.trim().is_empty())
        {
            out.prefixed("  Ref ", reference);
        }
    }
    if receipt.payments.len() > 1 {
        out.row("Paid", &format_amount(receipt.paid, d));
    }
    out.row("Change", &format_amount(receipt.change, d));

    if receipt.voided {
        out.void_banner();
    }
    out.rule('=');
    out.centred("Thank you for shopping with us");
    out.lines
}

/// A tender's method as printed: `mobile_money` → `Mobile money`; unknown methods get the
/// same treatment rather than an error, so a new method still prints.
fn method_name(method: &str) -> String {
    let spaced = clean(method).replace('_', " ");
    let mut chars = spaced.trim().chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => "Payment".to_owned(),
    }
}

/// One row per rate, in order of first appearance: the breakdown is per tax class, but two
/// classes at the same rate would print as two identical-looking rows. Rows whose sums would
/// overflow are kept apart rather than wrapped.
fn merge_rates(breakdown: &[ReceiptTax]) -> Vec<ReceiptTax> {
    let mut merged: Vec<ReceiptTax> = Vec::new();
    for tax in breakdown {
        let existing = merged.iter_mut().find(|m| m.rate_bp == tax.rate_bp);
        let sums = existing
            .as_ref()
            .and_then(|m| Some((m.net.checked_add(tax.net)?, m.tax.checked_add(tax.tax)?)));
        match (existing, sums) {
            (Some(m), Some((net, sum))) => {
                m.net = net;
                m.tax = sum;
            }
            _ => merged.push(tax.clone()),
        }
    }
    merged
}

/// `s` with control characters (newlines, tabs, escapes) turned into spaces, so a value can
/// neither start a line of its own nor move the printer's head.
fn clean(s: &str) -> String {
    s.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}

fn char_len(s: &str) -> usize {
    s.chars().count()
}

/// `text` wrapped greedily on whitespace into lines of at most `width` characters; a word
/// longer than `width` starts a new line and is broken every `width` characters.
fn wrap(text: &str, width: usize) -> Vec<String> {
    let width = width.max(1);
    let mut lines = Vec::new();
    let mut current = String::new();
    let mut current_len = 0;
    for word in text.split(|c: char| c.is_whitespace() || c.is_control()) {
        let word_len = char_len(word);
        if word_len == 0 {
            continue;
        }
        if word_len > width {
            if current_len > 0 {
                lines.push(std::mem::take(&mut current));
            }
            let chars: Vec<char> = word.chars().collect();
            current.clear();
            current_len = 0;
            for chunk in chars.chunks(width) {
                if chunk.len() == width {
                    lines.push(chunk.iter().collect());
                } else {
                    current = chunk.iter().collect();
                    current_len = chunk.len();
                }
            }
        } else if current_len == 0 {
            current = word.to_owned();
            current_len = word_len;
        } else if current_len + 1 + word_len <= width {
            current.push(' ');
            current.push_str(word);
            current_len += 1 + word_len;
        } else {
            lines.push(std::mem::replace(&mut current, word.to_owned()));
            current_len = word_len;
        }
    }
    if current_len > 0 {
        lines.push(current);
    }
    lines
}

/// The lines being built. Every line goes through [`Layout::push`], which keeps the width
/// invariant whatever the caller composed.
#[derive(Default)]
struct Layout {
    lines: Vec<String>,
}

impl Layout {
    fn push(&mut self, line: String) {
        let line = clean(line.trim_end());
        if char_len(&line) <= WIDTH {
            self.lines.push(line);
        } else {
            // Only reachable with absurd values (amounts or quantities of 20 digits).
            self.lines.extend(wrap(&line, WIDTH));
        }
    }

    fn blank(&mut self) {
        self.lines.push(String::new());
    }

    fn rule(&mut self, c: char) {
        self.lines.push(std::iter::repeat_n(c, WIDTH).collect());
    }

    fn centred(&mut self, text: &str) {
        for part in wrap(text, WIDTH) {
            let pad = (WIDTH - char_len(&part)) / 2;
            self.push(format!("{}{part}", " ".repeat(pad)));
        }
    }

    /// `left` at column 1 and `right` ending at column [`WIDTH`]; when both do not fit on one
    /// line, `right` goes right-aligned on the next.
    fn row(&mut self, left: &str, right: &str) {
        let (left_len, right_len) = (char_len(left), char_len(right));
        if left_len + 1 + right_len <= WIDTH {
            let gap = WIDTH - left_len - right_len;
            self.push(format!("{left}{}{right}", " ".repeat(gap)));
        } else {
            self.push(left.to_owned());
            self.push(format!("{right:>WIDTH$}"));
        }
    }

    /// `Label:   value`, the value wrapped in the column after the label.
    fn field(&mut self, label: &str, value: &str) {
        let prefix = format!("{:<LABEL_WIDTH$}", format!("{label}:"));
        self.prefixed(&prefix, value);
    }

    /// `prefix` then `value` wrapped to the rest of the width, continuation lines indented
    /// to line up under the first.
    fn prefixed(&mut self, prefix: &str, value: &str) {
        let indent = " ".repeat(char_len(prefix));
        let parts = wrap(value, WIDTH.saturating_sub(char_len(prefix)));
        if parts.is_empty() {
            self.push(prefix.to_owned());
        }
        for (i, part) in parts.into_iter().enumerate() {
            let lead = if i == 0 { prefix } else { indent.as_str() };
            self.push(format!("{lead}{part}"));
        }
    }

    /// `VAT 16.00%     net 1,228.88     tax 196.62`; when the three cells do not fit, the
    /// rate on one line and `net` and `tax` right-aligned on their own.
    fn tax_row(&mut self, tax: &ReceiptTax, d: u32) {
        let label = format!("VAT {}%", format_amount(tax.rate_bp, 2));
        let net = format!("net {}", format_amount(tax.net, d));
        let sum = format!("tax {}", format_amount(tax.tax, d));
        let sum_width = char_len(&sum).max(TAX_CELL_WIDTH);
        let net_end = WIDTH.saturating_sub(sum_width + 1);
        let (label_len, net_len) = (char_len(&label), char_len(&net));
        if label_len + 1 + net_len <= net_end {
            let gap = net_end - label_len - net_len;
            self.push(format!("{label}{}{net} {sum:>sum_width$}", " ".repeat(gap)));
        } else {
            self.push(label);
            self.row("  net", &format_amount(tax.net, d));
            self.row("  tax", &format_amount(tax.tax, d));
        }
    }

    fn void_banner(&mut self) {
        self.rule('*');
        self.centred("*** VOID ***");
        self.centred("This sale has been voided");
        self.rule('*');
    }
}

#[cfg(test)]
mod tests;

//! Receipts as PDF: the lines of [`render_lines`], drawn in built-in Courier on a page as wide
//! as an 80 mm thermal roll, so the PDF reads (and `pdftotext -layout` extracts) the same as
//! the text receipt.
//!
//! Invariants: no font file and no network (Courier is one of the PDF's 14 standard fonts,
//! which every reader carries); one page per `LINES_PER_PAGE` lines, each page only as tall
//! as its lines. The standard fonts are WinAnsi-encoded: Latin-1 letters and common
//! punctuation (`é`, `ß`, `—`) print, other characters print as `?`.

use printpdf::{
    BuiltinFont, Mm, Op, PdfDocument, PdfFontHandle, PdfPage, PdfParseErrorSeverity,
    PdfSaveOptions, Point, Pt, TextItem,
};
use ringup_core::checkout::receipt::{Receipt, WIDTH, render_lines};

/// Width of the paper.
const PAGE_WIDTH_MM: f32 = 80.0;
/// Courier is 600/1000 em wide per character: 42 columns at 8 pt are 201.6 pt (71.1 mm),
/// inside the 72 mm an 80 mm printer prints on.
const FONT_SIZE_PT: f32 = 8.0;
const CHAR_WIDTH_EM: f32 = 0.6;
const LINE_HEIGHT_PT: f32 = 10.0;
const MARGIN_PT: f32 = 14.0;
/// Keeps a page at about 1.4 m, well under the 200-inch limit PDF readers put on a page.
const LINES_PER_PAGE: usize = 400;

/// The PDF could not be produced.
#[derive(Debug, thiserror::Error)]
pub enum ReceiptPdfError {
    /// The PDF writer reported an error while serialising.
    #[error("the PDF writer failed: {0}")]
    Write(String),
}

/// The receipt as a PDF document, its text the same lines as the text receipt.
pub fn render_pdf(receipt: &Receipt) -> Result<Vec<u8>, ReceiptPdfError> {
    let lines = render_lines(receipt);
    let pages = lines
        .chunks(LINES_PER_PAGE)
        .map(draw_page)
        .collect::<Vec<_>>();
    // A receipt always has lines; this keeps the document valid if that ever changes.
    let pages = if pages.is_empty() {
        vec![draw_page(&[])]
    } else {
        pages
    };

    let mut document = PdfDocument::new(&format!("Receipt {}", receipt.number));
    document.with_pages(pages);
    let mut warnings = Vec::new();
    let bytes = document.save(&PdfSaveOptions::default(), &mut warnings);
    if let Some(error) = warnings
        .iter()
        .find(|w| w.severity == PdfParseErrorSeverity::Error)
    {
        return Err(ReceiptPdfError::Write(error.msg.clone()));
    }
    if bytes.is_empty() {
        return Err(ReceiptPdfError::Write("no bytes written".to_owned()));
    }
    Ok(bytes)
}

/// One page holding `lines`, top to bottom, the text block centred across the paper.
fn draw_page(lines: &[String]) -> PdfPage {
    let page_width = Pt::from(Mm(PAGE_WIDTH_MM)).0;
    let text_width = WIDTH as f32 * CHAR_WIDTH_EM * FONT_SIZE_PT;
    let left = ((page_width - text_width) / 2.0).max(0.0);
    let height = 2.0 * MARGIN_PT + LINE_HEIGHT_PT * lines.len().max(1) as f32;
    // The first baseline sits one font size below the top margin.
    let first_baseline = height - MARGIN_PT - FONT_SIZE_PT;

    let mut ops = Vec::with_capacity(lines.len() * 2 + 5);
    ops.push(Op::StartTextSection);
    ops.push(Op::SetFont {
        font: PdfFontHandle::Builtin(BuiltinFont::Courier),
        size: Pt(FONT_SIZE_PT),
    });
    ops.push(Op::SetLineHeight {
        lh: Pt(LINE_HEIGHT_PT),
    });
    ops.push(Op::SetTextCursor {
        pos: Point {
            x: Pt(left),
            y: Pt(first_baseline),
        },
    });
    for line in lines {
        if !line.is_empty() {
            ops.push(Op::ShowText {
                items: vec![TextItem::Text(line.clone())],
            });
        }
        // `T*`: down one line height, back to the left edge of the block.
        ops.push(Op::AddLineBreak);
    }
    ops.push(Op::EndTextSection);
    PdfPage::new(Mm(PAGE_WIDTH_MM), Mm::from(Pt(height)), ops)
}

#[cfg(test)]
mod tests {
    use super::*;
    use ringup_core::checkout::receipt::{
        ReceiptLine, ReceiptPayment, ReceiptTax, format_amount, render_text,
    };
    use std::io::Write;
    use std::process::Command;

    fn sample() -> Receipt {
        let line = |name: &str, quantity, unit_price, discount| ReceiptLine {
            name: name.into(),
            sku: "SKU".into(),
            quantity,
            unit_price,
            discount,
            total: unit_price * quantity - discount,
        };
        Receipt {
            store_name: "Duka Moja Supermarket".into(),
            store_code: "NRB1".into(),
            number: "NRB1-000042".into(),
            date: "2026-11-25 14:03".into(),
            cashier: "Amina Odhiambo".into(),
            currency: "KES".into(),
            decimals: 2,
            lines: vec![
                line("Cooking Oil 5L", 1, 125_000, 0),
                line(
                    "Fresh Milk Long Life UHT Full Cream 500ml Tetra Pak",
                    3,
                    6_500,
                    1_950,
                ),
                line("Café crème brûlée", 2, 6_000, 0),
            ],
            subtotal: 156_500,
            discount_total: 1_950,
            tax_total: 19_662,
            total: 154_550,
            prices_include_tax: true,
            tax_breakdown: vec![
                ReceiptTax {
                    rate_bp: 1600,
                    net: 122_888,
                    tax: 19_662,
                },
                ReceiptTax {
                    rate_bp: 0,
                    net: 12_000,
                    tax: 0,
                },
            ],
            payments: vec![
                ReceiptPayment {
                    method: "cash".into(),
                    amount: 100_000,
                    reference: None,
                },
                ReceiptPayment {
                    method: "mobile_money".into(),
                    amount: 60_000,
                    reference: Some("QK12AB34CD".into()),
                },
            ],
            paid: 160_000,
            change: 5_450,
            voided: false,
            customer: Some("Peter Kamau".into()),
        }
    }

    /// The text `pdftotext -layout` extracts from `pdf`. Fails (never skips) without
    /// pdftotext, which CI installs with poppler-utils.
    fn pdftotext(pdf: &[u8]) -> String {
        let mut file = tempfile::Builder::new().suffix(".pdf").tempfile().unwrap();
        file.write_all(pdf).unwrap();
        file.flush().unwrap();
        let output = match Command::new("pdftotext")
            .arg("-layout")
            .arg(file.path())
            .arg("-")
            .output()
        {
            Ok(output) => output,
            Err(e) => panic!(
                "could not run `pdftotext` ({e}): it is needed to check the receipt PDF; \
                 install poppler-utils (apt-get install poppler-utils)"
            ),
        };
        assert!(
            output.status.success(),
            "pdftotext failed ({}): {}",
            output.status,
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8(output.stdout).unwrap()
    }

    /// Runs of whitespace (spaces, newlines, form feeds) as one space, so wrapped names and
    /// the spacing pdftotext chooses compare equal.
    fn squash(text: &str) -> String {
        text.split_whitespace().collect::<Vec<_>>().join(" ")
    }

    #[test]
    fn pdf_text_shows_the_receipt() {
        let receipt = sample();
        let pdf = render_pdf(&receipt).unwrap();
        assert!(pdf.starts_with(b"%PDF-"), "not a PDF");
        let text = pdftotext(&pdf);
        let squashed = squash(&text);

        assert!(text.contains(&receipt.number), "number missing:\n{text}");
        assert!(
            text.contains(&receipt.store_name),
            "store name missing:\n{text}"
        );
        for line in &receipt.lines {
            assert!(
                squashed.contains(&squash(&line.name)),
                "item {:?} missing:\n{text}",
                line.name
            );
        }
        let total = format_amount(receipt.total, receipt.decimals);
        assert_eq!(total, "1,545.50");
        assert!(
            text.lines()
                .any(|l| l.contains("TOTAL KES") && l.trim_end().ends_with(&total)),
            "total {total} missing:\n{text}"
        );
        // Every line of the text receipt, in order.
        assert!(
            squashed.contains(&squash(&render_text(&receipt))),
            "PDF text differs from the text receipt:\n{text}"
        );
        assert_eq!(text.matches('\u{c}').count(), 1, "one page");
    }

    #[test]
    fn pdf_string_delimiters_and_non_latin_text_survive() {
        let mut receipt = sample();
        let template = receipt.lines.first().cloned().unwrap();
        receipt.lines = ["Soap (bar) \\ 100% <b>", "漢字 🍞 Ünïcödé"]
            .into_iter()
            .map(|name| ReceiptLine {
                name: name.into(),
                ..template.clone()
            })
            .collect();
        let text = pdftotext(&render_pdf(&receipt).unwrap());
        assert!(text.contains("Soap (bar) \\ 100% <b>"), "\n{text}");
        // WinAnsi has Latin-1 letters; other characters print as `?`.
        assert!(text.contains("?? ? Ünïcödé"), "\n{text}");
        assert!(text.contains(&receipt.number));
    }

    #[test]
    fn long_receipts_flow_onto_more_pages() {
        let mut receipt = sample();
        let template = receipt.lines.first().cloned().unwrap();
        receipt.lines = (1..=300)
            .map(|i| ReceiptLine {
                name: format!("Item number {i}"),
                ..template.clone()
            })
            .collect();
        let lines = render_lines(&receipt).len();
        assert!(lines > LINES_PER_PAGE);

        let text = pdftotext(&render_pdf(&receipt).unwrap());
        assert_eq!(
            text.matches('\u{c}').count(),
            lines.div_ceil(LINES_PER_PAGE),
            "page count"
        );
        assert!(squash(&text).contains(&squash(&render_text(&receipt))));
    }
}

//! The PDF receipt: the text `pdftotext -layout` extracts from it shows the text receipt's lines.

use super::{
    BREAD, Fixture, MILK, NAIROBI_MINUTES, OIL, STORE_NAME, fixture, local_date, pdf_receipt,
    pdftotext, squash, text_receipt,
};
use crate::checkout_support::{CODE, number};

#[tokio::test]
async fn the_pdf_receipt_reads_as_the_text_receipt() {
    // Arrange
    let Fixture { s, cashier, sale } = fixture().await;

    // Act
    let pdf = pdf_receipt(&s.app, &cashier.token, &sale).await;
    let text = text_receipt(&s.app, &cashier.token, &sale).await;
    let extracted = pdftotext(&pdf);

    // Assert
    let squashed = squash(&extracted);
    assert!(extracted.contains(&number(CODE, 1)), "{extracted}");
    assert!(extracted.contains(STORE_NAME), "{extracted}");
    for name in [OIL, MILK, BREAD] {
        assert!(squashed.contains(name), "{name}:\n{extracted}");
    }
    assert!(
        extracted
            .lines()
            .any(|l| l.contains("TOTAL KES") && l.trim_end().ends_with("1,510.06")),
        "total:\n{extracted}"
    );
    assert!(
        extracted.contains(&local_date(&sale, NAIROBI_MINUTES)),
        "{extracted}"
    );
    assert!(
        squashed.contains(&squash(&text)),
        "the PDF shows the text receipt's lines:\n{extracted}\n---\n{text}"
    );
}

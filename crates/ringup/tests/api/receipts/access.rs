//! Who gets a receipt, and in which formats: JSON, text and PDF to the store's sellers, 406 for
//! anything else, 404 outside the caller's stores, 403 for employees, 401 without a token, and
//! no mail for a refused request.

use std::time::Duration;

use ringup_core::ids::SaleId;
use serde_json::json;

use super::{Fixture, MAIL_TO, email, fixture, get_receipt, receipt_mails, receipt_path};
use crate::checkout_support::problem;

#[tokio::test]
async fn only_json_text_and_pdf_are_served_and_only_to_the_stores_sellers() {
    // Arrange
    let Fixture { s, cashier, sale } = fixture().await;
    let colleague = s.staff("cashier").await;
    let manager = s.staff("manager").await;
    let employee = s.staff("employee").await;
    let (other, _) = s.other_store("OTH2", false).await;
    let outsider = s.app.create_user("cashier", &[other]).await;
    let outside_manager = s.app.create_user("manager", &[other]).await;
    let unknown = json!({ "id": SaleId::new().to_string() });
    let malformed = json!({ "id": "not-a-sale" });
    let mail = json!({ "email": MAIL_TO });

    // Act + Assert: what the store's sellers get.
    for token in [&cashier.token, &colleague.token, &manager.token, &s.admin] {
        for accept in ["application/json", "text/plain", "application/pdf"] {
            let response = get_receipt(&s.app, token, &sale, accept).await;
            assert_eq!(response.status().as_u16(), 200, "Accept: {accept}");
        }
    }
    // Nothing acceptable: 406, as a problem.
    for accept in ["image/png", "text/html", "application/xml"] {
        let response = get_receipt(&s.app, &cashier.token, &sale, accept).await;
        problem(response, 406).await;
    }
    // Unknown sales.
    for missing in [&unknown, &malformed] {
        for accept in ["application/json", "text/plain", "application/pdf"] {
            problem(get_receipt(&s.app, &s.admin, missing, accept).await, 404).await;
        }
        problem(email(&s, &s.admin, missing, &mail).await, 404).await;
    }
    // Another store's staff do not see the sale at all.
    for token in [&outsider.token, &outside_manager.token] {
        for accept in [
            "application/json",
            "text/plain",
            "application/pdf",
            "image/png",
        ] {
            problem(get_receipt(&s.app, token, &sale, accept).await, 404).await;
        }
        problem(email(&s, token, &sale, &mail).await, 404).await;
    }
    // Employees: 403 on every checkout route.
    for accept in ["application/json", "text/plain", "application/pdf"] {
        problem(
            get_receipt(&s.app, &employee.token, &sale, accept).await,
            403,
        )
        .await;
    }
    problem(email(&s, &employee.token, &sale, &mail).await, 403).await;
    // Without a token: 401.
    let anonymous = s.app.get(&receipt_path(&sale)).await;
    assert_eq!(anonymous.status().as_u16(), 401);
    // None of the refused requests sent a receipt.
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(receipt_mails(&s.app), Vec::<String>::new());
}

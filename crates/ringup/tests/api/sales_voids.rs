//! Voids (docs/CHECKOUT.md "Sales"): managers and admins only, while the sale's shift is
//! open, once; stock comes back as `void` movements; the sale leaves its shift's figures and
//! counts as a void; audited `sale.voided`.

use serde_json::Value;

use crate::checkout_model::{Disc, Figures, price};
use crate::checkout_support::{
    SALES, Shop, cart_body, cl, conflict, expect, id, line, pay, problem, sale_body, shop, tender,
};
use crate::support::error_fields;

/// `(product, delta)` of every `void` movement, sorted.
async fn voided_moves(s: &Shop) -> Vec<(String, i64)> {
    let mut moves: Vec<(String, i64)> = s
        .moves("void")
        .await
        .iter()
        .map(|m| {
            (
                m["product_id"].as_str().unwrap().to_owned(),
                m["delta"].as_i64().unwrap(),
            )
        })
        .collect();
    moves.sort();
    moves
}

#[tokio::test]
async fn a_manager_voids_a_sale_once_and_its_stock_comes_back_as_void_movements() {
    // Arrange
    let s = shop().await;
    let cashier = s.staff("cashier").await;
    let manager = s.staff("manager").await;
    let other = s.app.create_store("OTH2").await;
    let outsider = s.app.create_user("manager", &[other]).await;
    let a = s.stocked(100, &s.standard, 10).await;
    let b = s.stocked(250, &s.reduced, 10).await;
    let shift = s.open(&cashier.token, &s.register, 0).await;
    let body = sale_body(
        &shift,
        vec![line(&a, 2), line(&b, 1)],
        vec![pay("cash", 500)],
    );
    let sale = s.sell(&cashier.token, &body).await;

    // Act
    let by_cashier = s.void(&cashier.token, &sale, "mistake").await;
    let by_outsider = s.void(&outsider.token, &sale, "mistake").await;
    let empty = s.void(&manager.token, &sale, "").await;
    let long = s.void(&manager.token, &sale, &"r".repeat(501)).await;
    let voided = expect(s.void(&manager.token, &sale, &"r".repeat(500)).await, 200).await;
    let twice = s.void(&manager.token, &sale, "again").await;
    let fetched = s.read(&format!("{SALES}/{}", id(&sale))).await;

    // Assert
    problem(by_cashier, 403).await;
    problem(by_outsider, 404).await;
    for response in [empty, long] {
        let problem = problem(response, 422).await;
        assert_eq!(error_fields(&problem), ["reason"]);
    }
    assert_eq!(voided["status"], "voided");
    assert_eq!(voided["voided_by"], manager.id.as_str());
    assert_eq!(voided["void_reason"], "r".repeat(500));
    s.assert_now(&voided, "voided_at");
    for field in ["id", "number", "lines", "total", "payments", "created_at"] {
        assert_eq!(voided[field], sale[field], "{field} is kept");
    }
    assert_eq!(fetched, voided);
    problem(twice, 409).await;
    let mut want = vec![(a.id.clone(), 2), (b.id.clone(), 1)];
    want.sort();
    assert_eq!(voided_moves(&s).await, want);
    assert_eq!(s.on_hand(s.store, &a.id).await, 10);
    assert_eq!(s.on_hand(s.store, &b.id).await, 10);
    let events = s.audited("sale.voided").await;
    assert_eq!(events.len(), 1, "{events:?}");
    assert_eq!(events[0]["target_id"], sale["id"]);
    assert_eq!(events[0]["actor_id"], manager.id.as_str());
    s.assert_ledger().await;
}

#[tokio::test]
async fn a_voided_sale_leaves_the_report_and_counts_as_a_void() {
    // Arrange
    let s = shop().await;
    let cashier = s.staff("cashier").await;
    let a = s.stocked(1160, &s.standard, 10).await;
    let shift = s.open(&cashier.token, &s.register, 5000).await;
    let kept_lines = [cl(&a, 1, None)];
    let kept_tenders = [tender("cash", 1200)];
    let voided_lines = [cl(&a, 3, Some(Disc::Percent(500)))];
    let voided_tenders = [tender("card", 1000), tender("cash", 3000)];
    let kept = cart_body(&shift, &kept_lines, None, &kept_tenders);
    let doomed = cart_body(&shift, &voided_lines, None, &voided_tenders);
    s.sell(&cashier.token, &kept).await;
    let sale = s.sell(&cashier.token, &doomed).await;

    // Act
    expect(s.void(&s.admin, &sale, "customer left").await, 200).await;
    let report = s.report(&shift).await;

    // Assert: 3480 − 174 = 3306 voided; only the kept sale remains.
    assert_eq!(sale["total"], 3306);
    let mut figures = Figures::float(5000);
    figures.sale(&price(&kept_lines, None, true), &kept_tenders, 1);
    let voided = price(&voided_lines, None, true);
    figures.sale(&voided, &voided_tenders, 1);
    figures.void(&voided, &voided_tenders);
    figures.assert_report(&report, None);
    assert_eq!(report["sales_count"], 1);
    assert_eq!(report["voids_count"], 1);
    assert_eq!(report["voids_total"], 3306);
    assert_eq!(report["expected_cash"], 5000 + 1200 - 40);
    assert_eq!(s.on_hand(s.store, &a.id).await, 9);
}

#[tokio::test]
async fn a_sale_cannot_be_voided_once_its_shift_is_closed() {
    // Arrange
    let s = shop().await;
    let cashier = s.staff("cashier").await;
    let a = s.stocked(100, &s.standard, 10).await;
    let shift = s.open(&cashier.token, &s.register, 0).await;
    let body = sale_body(&shift, vec![line(&a, 4)], vec![pay("cash", 400)]);
    let sale = s.sell(&cashier.token, &body).await;
    expect(s.close(&cashier.token, &shift, 400).await, 200).await;

    // Act
    let late = s.void(&s.admin, &sale, "too late").await;

    // Assert
    conflict(late, "shift-closed").await;
    let fetched: Value = s.read(&format!("{SALES}/{}", id(&sale))).await;
    assert_eq!(fetched["status"], "completed");
    assert!(s.moves("void").await.is_empty());
    assert_eq!(s.on_hand(s.store, &a.id).await, 6);
    assert_eq!(s.report(&shift).await["voids_count"], 0);
}

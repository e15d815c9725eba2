//! What transfers do to stock: approving moves it out of the source (`transfer_out`, 409 naming
//! every short line, available stock needed even where the source may go negative), receiving
//! moves it into the destination (`transfer_in`), and racing approvals move it once.

use futures::future::join_all;
use ringup_core::ids::StoreId;
use ringup_testkit::json_of;
use serde_json::json;

use super::{conflict, created, id, key, problem, world};
use crate::support::error_fields;

#[tokio::test]
async fn approving_moves_the_stock_out_of_the_source() {
    // Arrange
    let w = world(2).await;
    w.receive(w.a, &w.p[0], 10).await;
    w.receive(w.a, &w.p[1], 4).await;
    let manager = w.app.create_user("manager", &[w.a]).await;
    let transfer = w.request(&w.admin, &[(1, 4), (0, 3)]).await;

    // Act
    let approved = w.act_ok(&manager.token, &transfer, "approve").await;

    // Assert
    assert_eq!(approved["status"], "approved");
    assert_eq!(approved["approved_by"], manager.id.as_str());
    assert!(approved["approved_at"].is_string(), "{approved}");
    assert_eq!(approved["lines"], transfer["lines"]);
    let out = w.movements("transfer_out").await;
    assert_eq!(out.len(), 2, "{out:?}");
    for (p, q) in [(1, 4), (0, 3)] {
        let m = out.iter().find(|m| m["product_id"] == w.p[p]).unwrap();
        assert_eq!(m["delta"], -q, "{m}");
        assert_eq!(m["store_id"], w.a.to_string());
        assert_eq!(m["ref_type"], "transfer");
        assert_eq!(m["ref_id"], transfer["id"]);
        assert_eq!(m["actor_id"], manager.id.as_str());
    }
    assert_eq!(w.qty(w.a, 0).await, Some(7));
    assert_eq!(w.qty(w.a, 1).await, Some(0));
    assert_eq!(w.qty(w.b, 0).await.unwrap_or(0), 0, "not arrived");
    assert!(w.movements("transfer_in").await.is_empty());
    w.assert_ledger().await;
}

#[tokio::test]
async fn approving_a_short_transfer_is_409_naming_every_short_line_and_changes_nothing() {
    // Arrange
    let w = world(3).await;
    w.receive(w.a, &w.p[0], 10).await;
    w.receive(w.a, &w.p[1], 5).await;
    // Lines in another order than the products' ids: errors name body positions.
    let transfer = w.request(&w.admin, &[(2, 1), (0, 3), (1, 6)]).await;

    // Act
    let response = w.act(&w.admin, &transfer, "approve").await;

    // Assert
    let problem = conflict(response, "insufficient-stock").await;
    let fields = error_fields(&problem);
    assert_eq!(fields, ["lines[0].quantity", "lines[2].quantity"]);
    assert_eq!(w.status(&transfer).await, "requested");
    assert_eq!(w.qty(w.a, 0).await, Some(10), "fitting line unmoved");
    assert_eq!(w.qty(w.a, 1).await, Some(5));
    assert!(w.movements("transfer_out").await.is_empty());
    let stock = w.read(&format!("/api/v1/stores/{}/stock", w.a)).await;
    let levels = stock["items"].as_array().unwrap().len();
    assert_eq!(levels, 2, "no new level: {stock}");
    w.assert_ledger().await;
}

#[tokio::test]
async fn the_destination_receives_and_the_stock_enters_it() {
    // Arrange
    let w = world(2).await;
    w.receive(w.a, &w.p[0], 10).await;
    w.receive(w.a, &w.p[1], 10).await;
    w.receive(w.b, &w.p[0], 1).await;
    let employee_a = w.app.create_user("employee", &[w.a]).await.token;
    let manager_a = w.app.create_user("manager", &[w.a]).await.token;
    let employee_b = w.app.create_user("employee", &[w.b]).await;
    let transfer = w.request(&w.admin, &[(0, 3), (1, 2)]).await;
    w.act_ok(&manager_a, &transfer, "approve").await;

    // Act
    let by_source_employee = w.act(&employee_a, &transfer, "receive").await;
    let by_source_manager = w.act(&manager_a, &transfer, "receive").await;
    let received = w.act_ok(&employee_b.token, &transfer, "receive").await;

    // Assert
    problem(by_source_employee, 403).await;
    problem(by_source_manager, 403).await;
    assert_eq!(received["status"], "received");
    assert_eq!(received["received_by"], employee_b.id.as_str());
    assert!(received["received_at"].is_string() && received["approved_at"].is_string());
    let incoming = w.movements("transfer_in").await;
    assert_eq!(incoming.len(), 2, "{incoming:?}");
    for (p, q) in [(0, 3), (1, 2)] {
        let m = incoming.iter().find(|m| m["product_id"] == w.p[p]).unwrap();
        assert_eq!(m["delta"], q, "{m}");
        assert_eq!(m["store_id"], w.b.to_string());
        assert_eq!(m["ref_type"], "transfer");
        assert_eq!(m["ref_id"], transfer["id"]);
    }
    assert_eq!(w.qty(w.b, 0).await, Some(4));
    assert_eq!(w.qty(w.b, 1).await, Some(2));
    assert_eq!(w.qty(w.a, 0).await, Some(7), "left the source once");
    assert_eq!(w.qty(w.a, 1).await, Some(8));
    w.assert_ledger().await;
}

#[tokio::test]
async fn ten_concurrent_approvals_move_the_stock_exactly_once() {
    // Arrange
    let w = world(2).await;
    w.receive(w.a, &w.p[0], 50).await;
    w.receive(w.a, &w.p[1], 50).await;
    let manager = w.app.create_user("manager", &[w.a]).await.token;
    let transfer = w.request(&w.admin, &[(0, 5), (1, 7)]).await;

    // Act
    let responses = join_all((0..10).map(|_| w.act(&manager, &transfer, "approve"))).await;

    // Assert
    let mut approved = 0;
    for response in responses {
        if response.status().as_u16() == 200 {
            approved += 1;
        } else {
            conflict(response, "invalid-transition").await;
        }
    }
    assert_eq!(approved, 1);
    assert_eq!(w.status(&transfer).await, "approved");
    assert_eq!(w.movements("transfer_out").await.len(), 2);
    assert_eq!(w.qty(w.a, 0).await, Some(45));
    assert_eq!(w.qty(w.a, 1).await, Some(43));
    w.assert_ledger().await;
}

#[tokio::test]
async fn two_transfers_racing_for_the_last_units_approve_at_most_one() {
    // Arrange
    let w = world(1).await;
    w.receive(w.a, &w.p[0], 5).await;
    let manager = w.app.create_user("manager", &[w.a]).await.token;
    let first = w.request(&w.admin, &[(0, 4)]).await;
    let second = w.request(&w.admin, &[(0, 3)]).await;

    // Act
    let (one, two) = tokio::join!(
        w.act(&manager, &first, "approve"),
        w.act(&manager, &second, "approve")
    );

    // Assert
    let mut approved = 0;
    for (transfer, response) in [(&first, one), (&second, two)] {
        if response.status().as_u16() == 200 {
            approved += 1;
            assert_eq!(w.status(transfer).await, "approved");
        } else {
            let problem = conflict(response, "insufficient-stock").await;
            assert_eq!(error_fields(&problem), ["lines[0].quantity"]);
            assert_eq!(w.status(transfer).await, "requested");
        }
    }
    assert_eq!(approved, 1, "exactly one of them fits");
    let left = w.qty(w.a, 0).await.unwrap();
    assert!(left == 1 || left == 2, "left {left}");
    assert_eq!(w.movements("transfer_out").await.len(), 1);
    w.assert_ledger().await;
}

#[tokio::test]
async fn approval_needs_available_stock_even_where_the_source_may_go_negative() {
    // Arrange
    let w = world(1).await;
    let store = json!({"code": "NEG1", "name": "Negative", "currency": "KES",
        "timezone": "Africa/Nairobi", "allow_negative_stock": true});
    let negative = created(&w.app, &w.admin, "/api/v1/stores", &store).await;
    let source = StoreId::parse(id(&negative)).unwrap();
    w.receive(source, &w.p[0], 1).await;
    let body = w.body(source, w.b, &[(0, 5)]);
    let transfer = json_of(w.create(&w.admin, &body, Some(&key())).await).await;

    // Act
    let approve = w.act(&w.admin, &transfer, "approve").await;

    // Assert
    let problem = conflict(approve, "insufficient-stock").await;
    assert_eq!(error_fields(&problem), ["lines[0].quantity"]);
    assert_eq!(w.qty(source, 0).await, Some(1));
    assert_eq!(w.status(&transfer).await, "requested");
}

//! Who takes part: cashiers never; employees request; only the source's managers approve or
//! reject, and who may reject is decided before the reason is read; a manager of neither store
//! gets 404.

use reqwest::Method;
use serde_json::json;

use super::{TRANSFERS, id, key, problem, send, world};
use crate::support::error_fields;

#[tokio::test]
async fn cashiers_have_no_part_in_transfers() {
    // Arrange
    let w = world(1).await;
    let cashier = w.app.create_user("cashier", &[w.a, w.b]).await.token;
    let transfer = w.request(&w.admin, &[(0, 1)]).await;
    let body = w.body(w.a, w.b, &[(0, 1)]);

    // Act
    let create = w.create(&cashier, &body, Some(&key())).await;
    let list = send(&w.app, Method::GET, TRANSFERS, &cashier, None, None).await;
    let get = w.get(&cashier, &transfer).await;
    let cancel = w.act(&cashier, &transfer, "cancel").await;
    let approve = w.act(&cashier, &transfer, "approve").await;

    // Assert
    for response in [create, list, get, cancel, approve] {
        problem(response, 403).await;
    }
    assert_eq!(w.list(&w.admin, "").await.len(), 1);
    assert_eq!(w.status(&transfer).await, "requested");
}

#[tokio::test]
async fn an_employee_requests_but_only_the_source_manager_approves_or_rejects() {
    // Arrange
    let w = world(1).await;
    w.receive(w.a, &w.p[0], 5).await;
    let employee_b = w.app.create_user("employee", &[w.b]).await;
    let employee_a = w.app.create_user("employee", &[w.a]).await.token;
    let manager_b = w.app.create_user("manager", &[w.b]).await.token;

    // Act
    let transfer = w.request(&employee_b.token, &[(0, 2)]).await;
    let denied = [
        w.act(&employee_b.token, &transfer, "approve").await,
        w.act(&employee_a, &transfer, "approve").await,
        w.act(&manager_b, &transfer, "approve").await,
        w.act(&manager_b, &transfer, "reject").await,
        w.act(&employee_a, &transfer, "reject").await,
    ];

    // Assert
    assert_eq!(transfer["requested_by"], employee_b.id.as_str());
    for response in denied {
        problem(response, 403).await;
    }
    assert_eq!(w.status(&transfer).await, "requested");
    assert_eq!(w.qty(w.a, 0).await, Some(5));
    assert!(w.movements("transfer_out").await.is_empty());
}

#[tokio::test]
async fn a_manager_of_neither_store_gets_404() {
    // Arrange
    let w = world(1).await;
    w.receive(w.a, &w.p[0], 5).await;
    let c = w.app.create_store("OTHC").await;
    let outsider = w.app.create_user("manager", &[c]).await.token;
    let transfer = w.request(&w.admin, &[(0, 2)]).await;

    // Act
    let mut responses = vec![w.get(&outsider, &transfer).await];
    for action in ["approve", "reject", "receive", "cancel"] {
        responses.push(w.act(&outsider, &transfer, action).await);
    }

    // Assert
    for response in responses {
        problem(response, 404).await;
    }
    assert!(w.list(&outsider, "").await.is_empty());
    assert_eq!(w.status(&transfer).await, "requested");
    assert_eq!(w.qty(w.a, 0).await, Some(5));
}

#[tokio::test]
async fn who_may_reject_is_decided_before_the_reason_is_read() {
    // Arrange
    let w = world(1).await;
    let cashier = w.app.create_user("cashier", &[w.a, w.b]).await.token;
    let outsider_store = w.app.create_store("OUT1").await;
    let outsider = w.app.create_user("manager", &[outsider_store]).await.token;
    let transfer = w.request(&w.admin, &[(0, 1)]).await;
    let path = format!("{TRANSFERS}/{}/reject", id(&transfer));
    let empty = json!({"reason": ""});

    // Act
    let by_cashier = send(&w.app, Method::POST, &path, &cashier, Some(&empty), None).await;
    let by_outsider = send(&w.app, Method::POST, &path, &outsider, Some(&empty), None).await;
    let by_admin = send(&w.app, Method::POST, &path, &w.admin, Some(&empty), None).await;

    // Assert
    problem(by_cashier, 403).await;
    problem(by_outsider, 404).await;
    let invalid = problem(by_admin, 422).await;
    assert_eq!(error_fields(&invalid), ["reason"]);
    assert_eq!(w.status(&transfer).await, "requested");
}

//! The state machine: rejecting needs a reason, the requester or a manager cancels while
//! requested, every other transition is 409, and every step is audited by its actor on the store
//! it happens in.

use reqwest::Method;
use ringup_testkit::json_of;
use serde_json::{Value, json};

use super::{TRANSFERS, conflict, id, problem, send, world};
use crate::support::error_fields;

#[tokio::test]
async fn rejecting_needs_a_reason_and_moves_no_stock() {
    // Arrange
    let w = world(1).await;
    w.receive(w.a, &w.p[0], 5).await;
    let manager = w.app.create_user("manager", &[w.a]).await;
    let transfer = w.request(&w.admin, &[(0, 2)]).await;
    let path = format!("{TRANSFERS}/{}/reject", id(&transfer));
    let reject = |body: Value| {
        let (app, path, token) = (&w.app, path.clone(), manager.token.clone());
        async move { send(app, Method::POST, &path, &token, Some(&body), None).await }
    };
    let long = "x".repeat(501);

    // Act
    let mut refused = Vec::new();
    for body in [
        json!({}),
        json!({"reason": ""}),
        json!({"reason": " "}),
        json!({"reason": long}),
    ] {
        refused.push(reject(body).await);
    }
    let rejected = reject(json!({"reason": "we need them here"})).await;

    // Assert
    for response in refused {
        assert_eq!(error_fields(&problem(response, 422).await), ["reason"]);
    }
    assert_eq!(rejected.status().as_u16(), 200);
    let rejected = json_of(rejected).await;
    assert_eq!(rejected["status"], "rejected");
    assert_eq!(rejected["reject_reason"], "we need them here");
    assert_eq!(rejected["rejected_by"], manager.id.as_str());
    assert!(rejected["rejected_at"].is_string());
    assert_eq!(rejected["approved_by"], Value::Null);
    assert_eq!(w.qty(w.a, 0).await, Some(5));
    assert!(w.movements("transfer_out").await.is_empty());
}

#[tokio::test]
async fn the_requester_or_a_manager_cancels_only_while_requested() {
    // Arrange
    let w = world(1).await;
    w.receive(w.a, &w.p[0], 10).await;
    let requester = w.app.create_user("employee", &[w.b]).await;
    let employee_a = w.app.create_user("employee", &[w.a]).await.token;
    let manager_b = w.app.create_user("manager", &[w.b]).await.token;
    let first = w.request(&requester.token, &[(0, 1)]).await;
    let second = w.request(&requester.token, &[(0, 2)]).await;
    let third = w.request(&employee_a, &[(0, 3)]).await;

    // Act
    let not_requester = w.act(&employee_a, &first, "cancel").await;
    let cancelled = w.act_ok(&requester.token, &first, "cancel").await;
    let by_manager = w.act_ok(&manager_b, &third, "cancel").await;
    w.act_ok(&w.admin, &second, "approve").await;
    let too_late = w.act(&requester.token, &second, "cancel").await;

    // Assert
    problem(not_requester, 403).await;
    assert_eq!(cancelled["status"], "cancelled");
    assert_eq!(cancelled["cancelled_by"], requester.id.as_str());
    assert!(cancelled["cancelled_at"].is_string());
    assert_eq!(by_manager["status"], "cancelled");
    conflict(too_late, "invalid-transition").await;
    assert_eq!(w.status(&second).await, "approved");
    assert_eq!(w.qty(w.a, 0).await, Some(8), "only the approved one moved");
}

#[tokio::test]
async fn every_transition_the_state_machine_does_not_allow_is_409() {
    // Arrange: one transfer in every status; the admin may do anything.
    let w = world(1).await;
    w.receive(w.a, &w.p[0], 100).await;
    let mut made = Vec::new();
    for (quantity, steps) in [
        (1, &[][..]),
        (2, &["approve"][..]),
        (3, &["approve", "receive"][..]),
        (4, &["reject"][..]),
        (5, &["cancel"][..]),
    ] {
        let transfer = w.request(&w.admin, &[(0, quantity)]).await;
        for step in steps {
            w.act_ok(&w.admin, &transfer, step).await;
        }
        made.push(transfer);
    }
    let all = ["approve", "reject", "receive", "cancel"];
    let cases: [(&str, &[&str]); 5] = [
        ("requested", &["receive"]),
        ("approved", &["approve", "reject", "cancel"]),
        ("received", &all),
        ("rejected", &all),
        ("cancelled", &all),
    ];

    for (transfer, (status, actions)) in made.iter().zip(cases) {
        for action in actions {
            // Act
            let response = w.act(&w.admin, transfer, action).await;

            // Assert
            conflict(response, "invalid-transition").await;
            assert_eq!(w.status(transfer).await, status, "{action} on {status}");
        }
    }
    assert_eq!(w.movements("transfer_out").await.len(), 2);
    assert_eq!(w.movements("transfer_in").await.len(), 1);
    assert_eq!(w.qty(w.a, 0).await, Some(95));
    assert_eq!(w.qty(w.b, 0).await, Some(3));
    w.assert_ledger().await;
}

#[tokio::test]
async fn every_step_is_audited_by_its_actor_on_the_store_it_happens_in() {
    // Arrange
    let w = world(2).await;
    w.receive(w.a, &w.p[0], 10).await;
    w.receive(w.a, &w.p[1], 10).await;
    let manager_a = w.app.create_user("manager", &[w.a]).await;
    let employee_b = w.app.create_user("employee", &[w.b]).await;
    let received = w.request(&employee_b.token, &[(0, 3), (1, 2)]).await;
    let rejected = w.request(&employee_b.token, &[(0, 1)]).await;
    let cancelled = w.request(&employee_b.token, &[(1, 1)]).await;

    // Act
    w.act_ok(&manager_a.token, &received, "approve").await;
    w.act_ok(&employee_b.token, &received, "receive").await;
    w.act_ok(&manager_a.token, &rejected, "reject").await;
    w.act_ok(&employee_b.token, &cancelled, "cancel").await;

    // Assert
    let w = &w;
    let audited = |action: &'static str| async move {
        let path = format!("/api/v1/audit-events?limit=200&action={action}");
        w.read(&path).await["items"].as_array().unwrap().clone()
    };
    let requested = audited("transfer.requested").await;
    assert_eq!(requested.len(), 3, "{requested:?}");
    let first = &requested[0];
    assert_eq!(first["actor_id"], employee_b.id.as_str());
    assert_eq!(first["target_type"], "transfer");
    assert_eq!(first["target_id"], received["id"]);
    assert_eq!(first["store_id"], w.a.to_string(), "on the source's chain");
    let lines =
        json!([{"product_id": w.p[0], "quantity": 3}, {"product_id": w.p[1], "quantity": 2}]);
    assert_eq!(
        first["details"],
        json!({"from_store_id": w.a.to_string(), "to_store_id": w.b.to_string(), "lines": lines})
    );
    for (action, transfer, actor, store, details) in [
        (
            "transfer.approved",
            &received,
            &manager_a,
            w.a,
            json!({"from": "requested", "reason": null}),
        ),
        (
            "transfer.received",
            &received,
            &employee_b,
            w.b,
            json!({"from": "approved", "reason": null}),
        ),
        (
            "transfer.rejected",
            &rejected,
            &manager_a,
            w.a,
            json!({"from": "requested", "reason": "not needed"}),
        ),
        (
            "transfer.cancelled",
            &cancelled,
            &employee_b,
            w.a,
            json!({"from": "requested", "reason": null}),
        ),
    ] {
        let events = audited(action).await;
        assert_eq!(events.len(), 1, "{action}: {events:?}");
        let event = &events[0];
        assert_eq!(event["actor_id"], actor.id.as_str(), "{action}");
        assert_eq!(event["target_type"], "transfer", "{action}");
        assert_eq!(event["target_id"], transfer["id"], "{action}");
        assert_eq!(event["store_id"], store.to_string(), "{action}");
        assert_eq!(event["details"], details, "{action}");
    }
}

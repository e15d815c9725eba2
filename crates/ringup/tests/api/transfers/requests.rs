//! Requesting transfers: no stock check, an `Idempotency-Key` with replays, every invalid field
//! named, and lists filtered by status and store, showing only the caller's stores.

use reqwest::Method;
use ringup_core::ids::{ProductId, StoreId};
use ringup_testkit::json_of;
use serde_json::{Value, json};

use super::{TRANSFERS, created, id, key, problem, send, world};
use crate::support::{error_fields, header, is_uuid_v7};

#[tokio::test]
async fn a_manager_requests_a_transfer_without_any_stock_check() {
    // Arrange
    let w = world(2).await;
    let manager = w.app.create_user("manager", &[w.a]).await;
    let mut body = w.body(w.a, w.b, &[(1, 7), (0, 1_000_000)]);
    body["note"] = json!("for the weekend");

    // Act
    let transfer = created(&w.app, &manager.token, TRANSFERS, &body).await;

    // Assert
    assert!(is_uuid_v7(id(&transfer)), "{transfer}");
    assert_eq!(transfer["status"], "requested");
    assert_eq!(transfer["from_store_id"], w.a.to_string());
    assert_eq!(transfer["to_store_id"], w.b.to_string());
    assert_eq!(transfer["lines"], body["lines"], "lines echoed in order");
    assert_eq!(transfer["note"], "for the weekend");
    assert_eq!(transfer["requested_by"], manager.id.as_str());
    let unset = "approved_by received_by rejected_by reject_reason cancelled_by approved_at \
        received_at rejected_at cancelled_at";
    for field in unset.split_whitespace() {
        assert_eq!(transfer[field], Value::Null, "{field}: {transfer}");
    }
    assert!(transfer["created_at"].is_string() && transfer["updated_at"].is_string());
    let fetched = json_of(w.get(&manager.token, &transfer).await).await;
    assert_eq!(fetched, transfer);
    assert!(w.movements("transfer_out").await.is_empty());
    assert_eq!(w.qty(w.a, 0).await, None, "creating moves no stock");
}

#[tokio::test]
async fn creating_needs_an_idempotency_key_and_a_repeat_is_replayed() {
    // Arrange
    let w = world(1).await;
    let body = w.body(w.a, w.b, &[(0, 2)]);
    let mut other = body.clone();
    other["lines"][0]["quantity"] = json!(3);

    // Act
    let missing = w.create(&w.admin, &body, None).await;
    let first = w.create(&w.admin, &body, Some("t-1")).await;
    let again = w.create(&w.admin, &body, Some("t-1")).await;
    let changed = w.create(&w.admin, &other, Some("t-1")).await;

    // Assert
    let missing = problem(missing, 422).await;
    assert_eq!(error_fields(&missing), ["Idempotency-Key"]);
    assert_eq!(first.status().as_u16(), 201);
    assert_eq!(again.status().as_u16(), 201);
    let replayed = header(&again, "idempotent-replayed");
    assert_eq!(replayed.as_deref(), Some("true"));
    assert_eq!(json_of(first).await, json_of(again).await);
    let changed = problem(changed, 422).await;
    assert_eq!(error_fields(&changed), ["Idempotency-Key"]);
    assert_eq!(w.list(&w.admin, "").await.len(), 1, "one transfer made");
}

#[tokio::test]
async fn invalid_requests_are_422_naming_the_field() {
    // Arrange
    let w = world(2).await;
    let c = w.app.create_store("OTHC").await;
    let outsider = w.app.create_user("manager", &[c]).await.token;
    let (admin, ghost) = (w.admin.as_str(), StoreId::new());
    let (p0, p1) = (w.p[0].as_str(), w.p[1].as_str());
    let unknown = ProductId::new().to_string();
    let l = |p: &str, q: i64| json!({"product_id": p, "quantity": q});
    let wl = |lines: Value| {
        let mut body = w.body(w.a, w.b, &[]);
        body["lines"] = lines;
        body
    };
    let cases = [
        (admin, w.body(w.a, w.a, &[(0, 1)]), "to_store_id"),
        (admin, w.body(ghost, w.b, &[(0, 1)]), "from_store_id"),
        (admin, w.body(w.a, ghost, &[(0, 1)]), "to_store_id"),
        (&*outsider, w.body(w.a, w.b, &[(0, 1)]), "from_store_id"),
        (
            admin,
            wl(json!([l(p0, 1), l(&unknown, 1)])),
            "lines[1].product_id",
        ),
        (
            admin,
            wl(json!([l("not-a-uuid", 1)])),
            "lines[0].product_id",
        ),
        (
            admin,
            wl(json!([l(p0, 1), l(p1, 2), l(p0, 3)])),
            "lines[2].product_id",
        ),
        (admin, wl(json!([l(p0, 1), l(p1, 0)])), "lines[1].quantity"),
        (admin, wl(json!([l(p0, -1)])), "lines[0].quantity"),
        (admin, wl(json!([l(p0, 1_000_001)])), "lines[0].quantity"),
        (admin, wl(json!([])), "lines"),
    ];

    for (token, body, field) in cases {
        // Act
        let response = w.create(token, &body, Some(&key())).await;

        // Assert
        let problem = problem(response, 422).await;
        assert_eq!(error_fields(&problem), [field], "{body}: {problem}");
    }
    assert!(w.list(&w.admin, "").await.is_empty(), "nothing was created");
}

#[tokio::test]
async fn lists_filter_by_status_and_store_and_show_only_the_callers_stores() {
    // Arrange: A→B approved, B→C requested, C→A requested.
    let w = world(1).await;
    w.receive(w.a, &w.p[0], 5).await;
    let c = w.app.create_store("OTHC").await;
    let ab = w.request(&w.admin, &[(0, 1)]).await;
    w.act_ok(&w.admin, &ab, "approve").await;
    let bc = created(&w.app, &w.admin, TRANSFERS, &w.body(w.b, c, &[(0, 1)])).await;
    let ca = created(&w.app, &w.admin, TRANSFERS, &w.body(c, w.a, &[(0, 1)])).await;
    let (ab, bc, ca) = (id(&ab), id(&bc), id(&ca));
    let manager_a = w.app.create_user("manager", &[w.a]).await.token;
    let employee_b = w.app.create_user("employee", &[w.b]).await.token;
    let bad = format!("{TRANSFERS}?status=lost");

    // Act
    let everything = w.list(&w.admin, "").await;
    let requested = w.list(&w.admin, "status=requested").await;
    let approved = w.list(&w.admin, "status=approved").await;
    let touching_b = w.list(&w.admin, &format!("store_id={}", w.b)).await;
    let c_requested = w
        .list(&w.admin, &format!("store_id={c}&status=requested"))
        .await;
    let seen_by_a = w.list(&manager_a, "").await;
    let seen_by_b = w.list(&employee_b, "").await;
    let a_requested = w.list(&manager_a, "status=requested").await;
    let bad_status = send(&w.app, Method::GET, &bad, &w.admin, None, None).await;

    // Assert
    assert_eq!(everything, [ab, bc, ca], "oldest first");
    assert_eq!(requested, [bc, ca]);
    assert_eq!(approved, [ab]);
    assert_eq!(touching_b, [ab, bc]);
    assert_eq!(c_requested, [bc, ca]);
    assert_eq!(seen_by_a, [ab, ca]);
    assert_eq!(seen_by_b, [ab, bc]);
    assert_eq!(a_requested, [ca]);
    assert_eq!(error_fields(&problem(bad_status, 422).await), ["status"]);
}

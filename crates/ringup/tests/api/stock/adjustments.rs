//! Hand adjustments: every reason records a signed movement and returns the new level, sign and
//! shape rules name the field and write nothing, `Idempotency-Key` is required and replays, roles
//! decide who adjusts for which reason, and the product must be known.

use chrono::{DateTime, Utc};
use reqwest::Method;
use ringup_core::clock::Clock;
use ringup_core::ids::{ProductId, StoreId};
use ringup_testkit::json_of;
use serde_json::{Value, json};

use super::{adjustments, count, delta, deltas, levels, post_adjustment, with, world};
use crate::support::{assert_problem, error_fields, header};

#[tokio::test]
async fn every_reason_records_a_signed_movement_and_returns_the_new_level() {
    // Arrange
    let w = world().await;
    let manager = w.app.create_user("manager", &[w.store]).await;
    let p = w.product(0).await;
    let steps = [
        (delta(&p, 10, "receiving"), "receiving", 10, 10),
        (delta(&p, -2, "damage"), "damage", -2, 8),
        (delta(&p, -1, "theft"), "theft", -1, 7),
        (delta(&p, -3, "correction"), "correction", -3, 4),
        (delta(&p, 2, "correction"), "correction", 2, 6),
        (count(&p, 9), "count", 3, 9),
        (count(&p, 9), "count", 0, 9),
        (count(&p, 0), "count", -9, 0),
    ];

    for (mut body, kind, expected, on_hand) in steps {
        // Act
        body["note"] = json!(format!("{kind} note"));
        let m = w.adjusted(&manager.token, w.store, &body).await;

        // Assert
        let got = (m["kind"].as_str(), m["delta"].as_i64(), levels(&m));
        assert_eq!(got, (Some(kind), Some(expected), (on_hand, on_hand)), "{m}");
        assert_eq!(m["store_id"], w.store.to_string());
        assert_eq!(m["product_id"], p.as_str());
        assert_eq!(m["ref_type"], "adjustment");
        assert!(m["ref_id"].is_null(), "{m}");
        assert_eq!(m["actor_id"], manager.id.as_str());
        assert_eq!(m["note"], format!("{kind} note"));
        let at = DateTime::parse_from_rfc3339(m["created_at"].as_str().unwrap()).unwrap();
        assert_eq!(at.with_timezone(&Utc), w.app.clock.now());
        assert_eq!(w.on_hand(w.store, &p).await, on_hand);
    }
    let ledger = w.movements(&w.admin, &[("product_id", &p)]).await;
    assert_eq!(deltas(&ledger), [10, -2, -1, -3, 2, 3, 0, -9]);
    let counts = w.movements(&w.admin, &[("kind", "count")]).await;
    assert_eq!(deltas(&counts), [3, 0, -9], "with the zero count");
    w.assert_ledger().await;
}

#[tokio::test]
async fn sign_and_shape_rules_are_422_naming_the_field_and_write_nothing() {
    // Arrange
    let w = world().await;
    let p = w.product(0).await;
    w.receive(w.store, &p, 5).await;
    // Past a given delta's range (10⁶), and past a level's (10⁹) for a count.
    let (big, big_count) = (1_000_001_i64, 1_000_000_001_i64);
    let long = "n".repeat(501);
    // [field named, body without product_id]; "" when any field may be named.
    let cases = json!([
        ["delta", {"reason": "receiving", "delta": 0}],
        ["delta", {"reason": "receiving", "delta": -1}],
        ["delta", {"reason": "damage", "delta": 1}],
        ["delta", {"reason": "damage", "delta": 0}],
        ["delta", {"reason": "theft", "delta": 1}],
        ["delta", {"reason": "correction", "delta": 0}],
        ["delta", {"reason": "receiving", "delta": big}],
        ["delta", {"reason": "correction", "delta": -big}],
        ["delta", {"reason": "damage"}],
        ["delta", {"reason": "count", "counted": 3, "delta": 1}],
        ["counted", {"reason": "receiving", "delta": 1, "counted": 3}],
        ["counted", {"reason": "count"}],
        ["counted", {"reason": "count", "counted": -1}],
        ["counted", {"reason": "count", "counted": big_count}],
        ["note", {"reason": "receiving", "delta": 1, "note": long}],
        ["reason", {"reason": "gift", "delta": 1}],
        ["", {"reason": "receiving", "delta": 1, "qty": 1}],
    ]);

    for case in cases.as_array().unwrap() {
        // Act
        let (field, body) = (case[0].as_str().unwrap(), with(&p, case[1].clone()));
        let response = w.adjust(&w.admin, w.store, &body).await;

        // Assert
        let problem = assert_problem(response, 422, &adjustments(w.store)).await;
        let fields = error_fields(&problem);
        let named = field.is_empty() || fields.contains(&field.to_owned());
        assert!(named, "{body}: {problem}");
    }
    assert_eq!(deltas(&w.movements(&w.admin, &[]).await), [5]);
    assert_eq!(w.on_hand(w.store, &p).await, 5);
    // The limits themselves are accepted.
    let (most, note) = (1_000_000, "n".repeat(500));
    let body = json!({"product_id": p, "reason": "receiving", "delta": most, "note": note});
    w.adjusted(&w.admin, w.store, &body).await;
    let m = w.adjusted(&w.admin, w.store, &count(&p, most)).await;
    assert_eq!(m["delta"], -5);
    let m = w
        .adjusted(&w.admin, w.store, &count(&p, 1_000_000_000))
        .await;
    assert_eq!(m["delta"], 999_000_000);
}

#[tokio::test]
async fn idempotency_key_is_required_and_a_replay_answers_the_same_body_once() {
    // Arrange
    let w = world().await;
    let manager = w.app.create_user("manager", &[w.store]).await.token;
    let p = w.product(0).await;
    let body = delta(&p, 7, "receiving");
    let post = |key: Option<&'static str>, body: Value| {
        let (w, manager) = (&w, &manager);
        async move { post_adjustment(&w.app, manager, w.store, key, &body).await }
    };

    // Act
    let keyless = post(None, body.clone()).await;
    let first = post(Some("k-1"), body.clone()).await;
    let second = post(Some("k-1"), body.clone()).await;
    let other = post(Some("k-1"), delta(&p, 8, "receiving")).await;

    // Assert
    let problem = assert_problem(keyless, 422, &adjustments(w.store)).await;
    assert_eq!(error_fields(&problem), ["Idempotency-Key"]);
    assert_eq!(first.status().as_u16(), 201);
    assert_eq!(header(&first, "idempotent-replayed"), None);
    assert_eq!(second.status().as_u16(), 201);
    let replayed = header(&second, "idempotent-replayed");
    assert_eq!(replayed.as_deref(), Some("true"));
    assert_eq!(json_of(first).await, json_of(second).await);
    let problem = assert_problem(other, 422, &adjustments(w.store)).await;
    assert_eq!(error_fields(&problem), ["Idempotency-Key"]);
    assert_eq!(deltas(&w.movements(&w.admin, &[]).await), [7]);
    assert_eq!(w.on_hand(w.store, &p).await, 7);
    let events = w.audited(&w.admin).await;
    assert_eq!(events.len(), 1, "a replay records no event: {events:?}");
    // Keys belong to their caller: the admin's "k-1" is a new request.
    let admins = post_adjustment(&w.app, &w.admin, w.store, Some("k-1"), &body).await;
    assert_eq!(admins.status().as_u16(), 201);
    assert_eq!(header(&admins, "idempotent-replayed"), None);
    assert_eq!(w.on_hand(w.store, &p).await, 14);
}

#[tokio::test]
async fn roles_decide_who_adjusts_which_reason() {
    // Arrange
    let w = world().await;
    let s = w.store;
    let other = w.app.create_store("STK2").await;
    let employee = w.app.create_user("employee", &[s]).await.token;
    let cashier = w.app.create_user("cashier", &[s]).await.token;
    let outsider = w.app.create_user("manager", &[other]).await.token;
    let api_key = w.app.create_api_key("manager", &[s]).await.key;
    let p = w.product(0).await;
    w.receive(s, &p, 20).await;
    let path = adjustments(s);

    // Act / Assert: allowed
    w.adjusted(&employee, s, &delta(&p, 2, "receiving")).await;
    w.adjusted(&employee, s, &count(&p, 21)).await;
    let by_key = w.adjusted(&api_key, s, &delta(&p, -1, "correction")).await;
    assert!(by_key["actor_id"].as_str().is_some_and(|a| !a.is_empty()));

    // Act / Assert: refused
    for reason in ["damage", "theft", "correction"] {
        let response = w.adjust(&employee, s, &delta(&p, -1, reason)).await;
        assert_problem(response, 403, &path).await;
    }
    for body in [
        delta(&p, 1, "receiving"),
        count(&p, 3),
        delta(&p, -1, "damage"),
    ] {
        assert_problem(w.adjust(&cashier, s, &body).await, 403, &path).await;
    }
    let response = w.adjust(&outsider, s, &delta(&p, 1, "receiving")).await;
    assert_problem(response, 404, &path).await;
    let unknown = StoreId::new();
    let response = w.adjust(&w.admin, unknown, &delta(&p, 1, "damage")).await;
    assert_problem(response, 404, &adjustments(unknown)).await;
    assert_eq!(deltas(&w.movements(&w.admin, &[]).await), [20, 2, -1, -1]);
    assert_eq!(w.on_hand(s, &p).await, 20);
}

#[tokio::test]
async fn an_unknown_or_malformed_product_is_422_product_id() {
    // Arrange
    let w = world().await;
    let archived = w.product(0).await;
    let path = format!("/api/v1/products/{archived}");
    let response = w.app.authed(Method::DELETE, &path, &w.admin).send().await;
    assert!(response.unwrap().status().is_success());
    let unknown = ProductId::new().to_string();

    for product in [unknown.as_str(), "not-a-product", ""] {
        // Act
        let response = w
            .adjust(&w.admin, w.store, &delta(product, 1, "receiving"))
            .await;

        // Assert
        let problem = assert_problem(response, 422, &adjustments(w.store)).await;
        assert_eq!(error_fields(&problem), ["product_id"], "{product}");
    }
    assert!(w.movements(&w.admin, &[]).await.is_empty());
    // An archived product still has stock.
    w.receive(w.store, &archived, 2).await;
    assert_eq!(w.on_hand(w.store, &archived).await, 2);
}

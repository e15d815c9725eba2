//! Stock under concurrent requests (stock-design.md): racing decreases never take `available`
//! below zero and exactly as many succeed as there are units; mixed increases, decreases and
//! counts are serialised (each answer's level is the running sum of the ledger in id order
//! just after its movement) and leave the level equal to the sum of its movements; racing
//! duplicates of one `Idempotency-Key` make one movement; reservations racing decreases never
//! oversell. After every test the ledger check (`ringup check`'s store function) finds no
//! offence.

use std::collections::HashMap;

use chrono::Duration;
use futures::future::join_all;
use reqwest::{Method, Response};
use ringup_core::clock::Clock;
use serde_json::{Value, json};
use sqlx::Row;

use crate::stock::{World, delta, key, post_adjustment, world};
use crate::support::header;

/// Status, `Idempotent-Replayed` and body of one response.
type Outcome = (u16, Option<String>, Value);

async fn outcome(response: Response) -> Outcome {
    let status = response.status().as_u16();
    let replayed = header(&response, "idempotent-replayed");
    let text = response.text().await.unwrap();
    let body = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{status} {e}: {text}"));
    (status, replayed, body)
}

/// Sends every body at once as `token`, each with its own key (or all with `same_key`).
async fn race(w: &World, token: &str, bodies: &[Value], same_key: Option<&str>) -> Vec<Outcome> {
    let requests = bodies.iter().map(|body| {
        let key = same_key.map_or_else(key, str::to_owned);
        async move {
            let response = post_adjustment(&w.app, token, w.store, Some(&key), body).await;
            outcome(response).await
        }
    });
    join_all(requests).await
}

fn created(outcomes: &[Outcome]) -> Vec<&Value> {
    let ok = outcomes.iter().filter(|(status, _, _)| *status == 201);
    ok.map(|(_, _, body)| body).collect()
}

/// `(rows, sum of delta)` of the movements of `product` in the world's store, read from the
/// database.
async fn ledger(w: &World, product: &str) -> (i64, i64) {
    let row = sqlx::query(
        "select count(*) as n, cast(coalesce(sum(delta), 0) as bigint) as total \
         from stock_movements where store_id = $1 and product_id = $2",
    )
    .bind(w.store.to_string())
    .bind(product.to_owned())
    .fetch_one(w.app.db.reader())
    .await
    .unwrap();
    (row.try_get("n").unwrap(), row.try_get("total").unwrap())
}

/// Every status is 201 or 409, a 409 being `insufficient-stock`; and the successes were
/// serialised: replaying the ledger in id order, the running sum just after each answered
/// movement is the `on_hand` that answer reported, and never negative.
async fn assert_serialised(w: &World, product: &str, outcomes: &[Outcome]) {
    for (status, _, body) in outcomes {
        assert!([201, 409].contains(status), "{status}: {body}");
        if *status == 409 {
            assert_eq!(body["type"], "/problems/insufficient-stock", "{body}");
        }
    }
    let store = w.store.to_string();
    let query = [("store_id", store.as_str()), ("product_id", product)];
    let (mut running, mut after) = (0, HashMap::new());
    for m in w.movements(&w.admin, &query).await {
        running += m["delta"].as_i64().unwrap();
        assert!(running >= 0, "the level went negative at {m}");
        after.insert(m["id"].as_str().unwrap().to_owned(), running);
    }
    for m in created(outcomes)
        .into_iter()
        .filter(|m| m["delta"].is_i64())
    {
        let id = m["id"].as_str().unwrap();
        assert_eq!(after.get(id), m["on_hand"].as_i64().as_ref(), "{m}");
    }
    assert_eq!(ledger(w, product).await.1, running);
    assert_eq!(w.on_hand(w.store, product).await, running);
    w.assert_ledger().await;
}

#[tokio::test]
async fn racing_decreases_succeed_exactly_once_per_unit() {
    // Arrange
    let w = world().await;
    let manager = w.app.create_user("manager", &[w.store]).await.token;
    let p = w.product(0).await;
    let units = 10;
    w.receive(w.store, &p, units).await;
    let bodies: Vec<Value> = (0..30).map(|_| delta(&p, -1, "damage")).collect();

    // Act
    let outcomes = race(&w, &manager, &bodies, None).await;

    // Assert
    assert_serialised(&w, &p, &outcomes).await;
    let mut after: Vec<i64> = created(&outcomes)
        .iter()
        .map(|m| m["on_hand"].as_i64().unwrap())
        .collect();
    after.sort_unstable();
    assert_eq!(
        after,
        (0..units).collect::<Vec<_>>(),
        "each saw its own level"
    );
    for (status, _, body) in &outcomes {
        if *status == 409 {
            assert_eq!(body["errors"][0]["field"], "delta", "{body}");
        }
    }
    assert_eq!(w.on_hand(w.store, &p).await, 0);
    assert_eq!(ledger(&w, &p).await, (1 + units, 0));
}

#[tokio::test]
async fn racing_increases_and_decreases_leave_the_level_equal_to_its_movements() {
    // Arrange
    let w = world().await;
    let manager = w.app.create_user("manager", &[w.store]).await.token;
    let p = w.product(3).await;
    w.receive(w.store, &p, 5).await;
    let bodies: Vec<Value> = (0..40_i64)
        .map(|i| match i % 2 {
            0 => delta(&p, 1 + i % 3, "receiving"),
            _ => delta(
                &p,
                -(2 + i % 4),
                if i % 3 == 0 { "theft" } else { "damage" },
            ),
        })
        .collect();

    // Act
    let outcomes = race(&w, &manager, &bodies, None).await;

    // Assert
    assert_serialised(&w, &p, &outcomes).await;
    for (body, (status, _, answer)) in bodies.iter().zip(&outcomes) {
        if body["reason"] == "receiving" {
            assert_eq!(*status, 201, "an increase always succeeds: {answer}");
        }
    }
    let ok = created(&outcomes);
    let sum: i64 = ok.iter().map(|m| m["delta"].as_i64().unwrap()).sum();
    let rows = i64::try_from(ok.len()).unwrap() + 1;
    assert_eq!(ledger(&w, &p).await, (rows, 5 + sum));
}

#[tokio::test]
async fn racing_counts_and_decreases_are_serialised() {
    // Arrange: a count records the difference to the level it finds, so each count's
    // movement must leave the level at exactly the units counted.
    let w = world().await;
    let p = w.product(0).await;
    w.receive(w.store, &p, 10).await;
    let bodies: Vec<Value> = (0..30_i64)
        .map(|i| match i % 3 {
            0 => json!({"product_id": p, "reason": "count", "counted": 5 + i % 7}),
            _ => delta(&p, -1, "damage"),
        })
        .collect();

    // Act
    let outcomes = race(&w, &w.admin, &bodies, None).await;

    // Assert
    assert_serialised(&w, &p, &outcomes).await;
    for (body, (status, _, answer)) in bodies.iter().zip(&outcomes) {
        if body["reason"] == "count" {
            assert_eq!(
                *status, 201,
                "a count to a non-negative level succeeds: {answer}"
            );
            assert_eq!(answer["on_hand"], body["counted"], "{answer}");
        }
    }
}

#[tokio::test]
async fn racing_duplicates_of_one_key_make_one_movement() {
    // Arrange
    let w = world().await;
    let manager = w.app.create_user("manager", &[w.store]).await.token;
    let p = w.product(0).await;
    w.receive(w.store, &p, 3).await;
    let bodies: Vec<Value> = (0..20).map(|_| delta(&p, 4, "receiving")).collect();

    // Act
    let outcomes = race(&w, &manager, &bodies, Some("shared-key")).await;
    let again = post_adjustment(&w.app, &manager, w.store, Some("shared-key"), &bodies[0]);
    let (status, replayed, body) = outcome(again.await).await;

    // Assert
    let ok = created(&outcomes);
    assert!(!ok.is_empty(), "{outcomes:?}");
    let fresh = outcomes.iter().filter(|(s, r, _)| *s == 201 && r.is_none());
    assert_eq!(
        fresh.count(),
        1,
        "one original, the rest replays: {outcomes:?}"
    );
    for (status, replayed, body) in &outcomes {
        match status {
            201 => assert_eq!(body, ok[0]),
            409 => {
                let in_flight = "/problems/idempotency-key-in-flight";
                assert_eq!(body["type"], in_flight, "{body}");
            }
            _ => panic!("{status} {replayed:?}: {body}"),
        }
    }
    assert_eq!((status, replayed.as_deref()), (201, Some("true")));
    assert_eq!(&body, ok[0]);
    assert_eq!(ledger(&w, &p).await, (2, 7));
    assert_eq!(w.on_hand(w.store, &p).await, 7);
    w.assert_ledger().await;
}

#[tokio::test]
async fn reservations_racing_decreases_never_oversell() {
    // Arrange
    let w = world().await;
    let manager = w.app.create_user("manager", &[w.store]).await.token;
    let p = w.product(0).await;
    let units = 10;
    w.receive(w.store, &p, units).await;
    let expires_at = (w.app.clock.now() + Duration::hours(1)).to_rfc3339();
    let line = json!({"product_id": p, "quantity": 1});
    let reservation = json!({"lines": [line], "expires_at": expires_at});
    let path = format!("/api/v1/stores/{}/reservations", w.store);
    let damage = delta(&p, -1, "damage");

    // Act
    let requests = (0..30).map(|i| {
        let (w, path, manager) = (&w, &path, &manager);
        let (reservation, damage) = (&reservation, &damage);
        async move {
            let response = if i % 2 == 0 {
                let request = w.app.authed(Method::POST, path, manager).json(reservation);
                request.send().await.unwrap()
            } else {
                post_adjustment(&w.app, manager, w.store, Some(&key()), damage).await
            };
            outcome(response).await
        }
    });
    let outcomes = join_all(requests).await;

    // Assert
    assert_serialised(&w, &p, &outcomes).await;
    let ok = created(&outcomes);
    let damaged = ok.iter().filter(|m| m["delta"].is_i64()).count();
    let reserved = ok.len() - damaged;
    assert_eq!(ok.len(), 10, "every unit went exactly once: {outcomes:?}");
    for m in &ok {
        assert!(m["available"].as_i64().is_none_or(|a| a >= 0), "{m}");
    }
    let level = w.level(w.store, &p).await.unwrap();
    let damaged = i64::try_from(damaged).unwrap();
    let left = units - damaged;
    assert_eq!(level["on_hand"], left);
    assert_eq!(level["reserved"], i64::try_from(reserved).unwrap());
    assert_eq!(level["available"], 0);
    assert_eq!(ledger(&w, &p).await, (1 + damaged, left));
}

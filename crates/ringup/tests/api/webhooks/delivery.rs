//! Deliveries to a real receiver that verifies each request with the reference
//! `standardwebhooks` library: signatures, retries, order per store through an outage,
//! rotation, redirects, the circuit breaker, test events, redelivery, the delivery log, and a
//! slow endpoint beside a fast one.

use std::time::{Duration, Instant};

use chrono::Duration as Span;
use reqwest::Method;
use serde_json::{Value, json};

use super::{Receiver, WEBHOOKS, body_of, hook, hook_world, id_of, log, log_until, read};
use crate::checkout_support::{SALES, key, line, pay, sale_body, shop_in};

#[tokio::test]
async fn a_sale_is_delivered_signed_and_the_reference_library_verifies_it() {
    // Arrange
    let receiver = Receiver::start().await;
    let s = shop_in(hook_world().await).await;
    let (id, secret) = hook(&s, &receiver.url("sales"), &["sale.*"]).await;
    receiver.set(
        "sales",
        &[&secret, "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"],
        "ok",
    );
    let cashier = s.staff("cashier").await;
    let item = s.stocked(100, &s.standard, 10).await;
    let shift = s.open(&cashier.token, &s.register, 0).await;

    // Act
    let body = sale_body(&shift, vec![line(&item, 1)], vec![pay("cash", 100)]);
    let sold = s
        .app
        .authed(Method::POST, SALES, &cashier.token)
        .header("idempotency-key", key())
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(sold.status(), 201);
    let sale: Value = sold.json().await.unwrap();

    // Assert: exactly the sale (no stock or shift event: the filter is `sale.*`), verified with
    // the endpoint's secret and not with another.
    let got = receiver.wait_for("sales", 1, 10).await;
    let request = &got[0];
    assert_eq!(request["verified"], json!([true, false]), "{request}");
    assert_eq!(request["headers"]["content-type"], "application/json");
    let event = body_of(request);
    assert_eq!(event["type"], "sale.completed");
    assert_eq!(event["store_id"], s.store.to_string());
    assert_eq!(event["data"]["id"], sale["id"]);
    assert_eq!(id_of(request), event["id"].as_str().unwrap());
    let timestamp: i64 = request["headers"]["webhook-timestamp"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((timestamp - chrono::Utc::now().timestamp()).abs() < 60);
    // The same event, byte for byte as JSON, as the events API lists it (the attempt carries
    // no copy: it is built from the stored event when claimed).
    let listed = read(&s, "/api/v1/events?types=sale.*").await;
    assert_eq!(listed["items"][0], event);
    // The log.
    let items = log_until(&s, &id, 5, |l| {
        l.first().is_some_and(|d| d["status"] == "succeeded")
    })
    .await;
    assert_eq!(items.len(), 1, "{items:?}");
    let d = &items[0];
    assert_eq!(d["event_id"], event["id"]);
    assert_eq!(d["event_type"], "sale.completed");
    assert_eq!(d["attempt"], 1);
    assert_eq!(d["response_status"], 204);
    assert!(d["latency_ms"].as_i64().unwrap() >= 0);
    assert!(d["error"].is_null());
    for field in ["id", "created_at", "next_attempt_at"] {
        assert!(d[field].is_string(), "{field}: {d}");
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(receiver.received("sales").len(), 1, "delivered once");
}

#[tokio::test]
async fn a_failed_delivery_is_retried_with_the_same_id_signed_anew() {
    // Arrange: the endpoint fails.
    let receiver = Receiver::start().await;
    let w = hook_world().await;
    let (id, secret) = hook(&w, &receiver.url("flaky"), &["stock.*"]).await;
    receiver.set("flaky", &[&secret], "fail");
    let p = w.product(0).await;

    // Act: an event; it fails, is retried (the test clock moves past the retry), fails again,
    // and then succeeds.
    w.receive(w.store, &p, 3).await;
    receiver.wait_for("flaky", 1, 10).await;
    let first = log_until(&w, &id, 5, |l| l.len() == 2).await;
    assert_eq!(first[1]["status"], "failed", "{first:?}");
    assert_eq!(first[1]["response_status"], 500);
    assert_eq!(first[0]["status"], "pending");
    assert_eq!(first[0]["attempt"], 2);
    let due = chrono::DateTime::parse_from_rfc3339(first[0]["next_attempt_at"].as_str().unwrap())
        .unwrap();
    let failed_at =
        chrono::DateTime::parse_from_rfc3339(first[1]["created_at"].as_str().unwrap()).unwrap();
    assert!(
        due - failed_at <= Span::seconds(10),
        "first retry within 10 s: {first:?}"
    );
    w.app.clock.advance(Span::seconds(11));
    receiver.wait_for("flaky", 2, 10).await;
    receiver.set("flaky", &[&secret], "ok");
    log_until(&w, &id, 5, |l| l.len() == 3).await;
    w.app.clock.advance(Span::seconds(30));
    let got = receiver.wait_for("flaky", 3, 10).await;

    // Assert: one event id throughout, every attempt verified, the log complete.
    let ids: Vec<String> = got.iter().map(id_of).collect();
    assert!(ids.iter().all(|i| *i == ids[0]), "{ids:?}");
    assert!(
        got.iter().all(|r| r["verified"] == json!([true])),
        "{got:?}"
    );
    let statuses: Vec<u64> = got.iter().map(|r| r["status"].as_u64().unwrap()).collect();
    assert_eq!(statuses, [500, 500, 204]);
    let items = log_until(&w, &id, 5, |l| {
        l.first().is_some_and(|d| d["status"] == "succeeded")
    })
    .await;
    let attempts: Vec<(i64, &str)> = items
        .iter()
        .map(|d| {
            (
                d["attempt"].as_i64().unwrap(),
                d["status"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(attempts, [(3, "succeeded"), (2, "failed"), (1, "failed")]);
    assert!(items.iter().all(|d| d["event_id"] == items[0]["event_id"]));
}

#[tokio::test]
async fn a_receiver_down_for_a_while_gets_every_event_in_order_per_store() {
    // Arrange: two stores, the receiver down.
    let mut receiver = Receiver::start().await;
    let w = hook_world().await;
    let other = crate::webhooks::crash::second_store(&w).await;
    let (id, secret) = hook(&w, &receiver.url("all"), &["stock.adjusted"]).await;
    receiver.set("all", &[&secret], "ok");
    receiver.down().await;
    let p = w.product(0).await;

    // Act: stock moves in both stores while nobody answers.
    for n in 1..=6 {
        w.receive(w.store, &p, n).await;
        w.receive(other, &p, 100 + n).await;
    }
    log_until(&w, &id, 10, |l| l.iter().any(|d| d["status"] == "failed")).await;
    // The receiver returns; time passes (the test clock) until every retry has come due.
    receiver.up().await;
    let deadline = Instant::now() + Duration::from_secs(60);
    while receiver
        .received("all")
        .iter()
        .filter(|r| r["status"] == 204)
        .count()
        < 12
    {
        assert!(Instant::now() < deadline, "{:?}", log(&w, &id).await);
        w.app.clock.advance(Span::minutes(5));
        tokio::time::sleep(Duration::from_millis(200)).await;
    }

    // Assert: every event, each store's in commit order, all verified, none twice.
    let got = receiver.received("all");
    assert!(got.iter().all(|r| r["verified"] == json!([true])));
    let deltas = |store: String| -> Vec<i64> {
        got.iter()
            .map(body_of)
            .filter(|e| e["store_id"] == store.as_str())
            .map(|e| e["data"]["delta"].as_i64().unwrap())
            .collect()
    };
    assert_eq!(deltas(w.store.to_string()), [1, 2, 3, 4, 5, 6]);
    assert_eq!(deltas(other.to_string()), [101, 102, 103, 104, 105, 106]);
    let listed = read(&w, "/api/v1/events?types=stock.adjusted&limit=200").await;
    let mut expected: Vec<String> = listed["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["id"].as_str().unwrap().to_owned())
        .collect();
    let mut delivered: Vec<String> = got.iter().map(id_of).collect();
    expected.sort();
    delivered.sort();
    assert_eq!(delivered, expected);
}

#[tokio::test]
async fn after_a_rotation_both_secrets_verify_for_24_hours() {
    // Arrange
    let receiver = Receiver::start().await;
    let w = hook_world().await;
    let (id, old) = hook(&w, &receiver.url("rot"), &["product.*"]).await;

    // Act
    let rotated = w
        .app
        .authed(
            Method::POST,
            &format!("{WEBHOOKS}/{id}/rotate-secret"),
            &w.admin,
        )
        .send()
        .await
        .unwrap();
    assert_eq!(rotated.status(), 200);
    assert_eq!(rotated.headers().get("cache-control").unwrap(), "no-store");
    let rotated: Value = rotated.json().await.unwrap();
    let new = rotated["secret"].as_str().unwrap().to_owned();
    assert_ne!(new, old);
    receiver.set("rot", &[&old, &new], "ok");
    w.product(0).await;
    let got = receiver.wait_for("rot", 1, 10).await;

    // Assert: the library verifies with either secret alone.
    assert_eq!(got[0]["verified"], json!([true, true]), "{}", got[0]);
    let signatures = got[0]["headers"]["webhook-signature"].as_str().unwrap();
    assert_eq!(signatures.split(' ').count(), 2, "{signatures}");

    // A day later only the new secret signs.
    w.app.clock.advance(Span::hours(24) + Span::seconds(1));
    w.product(0).await;
    let got = receiver.wait_for("rot", 2, 10).await;
    assert_eq!(got[1]["verified"], json!([false, true]), "{}", got[1]);
    assert!(
        !read(&w, &format!("{WEBHOOKS}/{id}"))
            .await
            .to_string()
            .contains(&new)
    );
}

#[tokio::test]
async fn a_redirect_is_a_failure_and_is_not_followed() {
    // Arrange
    let receiver = Receiver::start().await;
    let w = hook_world().await;
    let (id, secret) = hook(&w, &receiver.url("moved"), &["product.*"]).await;
    receiver.set("moved", &[&secret], "redirect");
    receiver.set("elsewhere", &[&secret], "ok");

    // Act
    w.product(0).await;

    // Assert
    let items = log_until(&w, &id, 10, |l| l.iter().any(|d| d["status"] == "failed")).await;
    let failed = items.iter().find(|d| d["status"] == "failed").unwrap();
    assert_eq!(failed["response_status"], 302);
    assert!(
        failed["error"].as_str().unwrap().contains("redirect"),
        "{failed}"
    );
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(receiver.received("elsewhere").is_empty());
}

#[tokio::test]
async fn an_unanswered_attempt_records_no_status_and_an_error() {
    // Arrange: nothing listens on the endpoint's port.
    let w = hook_world().await;
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let (id, _) = hook(&w, &format!("http://127.0.0.1:{port}/x"), &["*"]).await;

    // Act
    w.product(0).await;

    // Assert
    let items = log_until(&w, &id, 10, |l| l.iter().any(|d| d["status"] == "failed")).await;
    let failed = items.iter().find(|d| d["status"] == "failed").unwrap();
    assert!(failed["response_status"].is_null(), "{failed}");
    assert!(
        failed["error"].as_str().unwrap().contains("connect"),
        "{failed}"
    );
}

#[tokio::test]
async fn the_circuit_opens_after_ten_failures_and_a_successful_probe_closes_it() {
    // Arrange
    let receiver = Receiver::start().await;
    let w = hook_world().await;
    let (id, secret) = hook(&w, &receiver.url("down"), &["product.*"]).await;
    receiver.set("down", &[&secret], "fail");
    let path = format!("{WEBHOOKS}/{id}");

    // Act: one event fails ten times (the test clock jumps past each retry).
    w.product(0).await;
    for n in 1..=10 {
        receiver.wait_for("down", n, 10).await;
        log_until(&w, &id, 10, |l| l.len() == n + 1).await;
        w.app.clock.advance(Span::hours(1));
    }

    // Assert: failing; no more than one probe a minute.
    let state = read(&w, &path).await;
    assert_eq!(state["state"], "failing", "{state}");
    assert_eq!(state["consecutive_failures"], 10);
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let before = receiver.received("down").len();
    assert!(before <= 11, "{before}");
    receiver.set("down", &[&secret], "ok");
    w.app.clock.advance(Span::seconds(61));
    let probed = receiver.wait_for("down", before + 1, 10).await;
    assert_eq!(probed.last().unwrap()["status"], 204);
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let state = read(&w, &path).await;
        if state["state"] == "enabled" {
            assert_eq!(state["consecutive_failures"], 0);
            break;
        }
        assert!(Instant::now() < deadline, "{state}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn a_test_event_reaches_the_endpoint_whatever_its_filter_and_redelivery_sends_again() {
    // Arrange: an endpoint of one store's stock only.
    let receiver = Receiver::start().await;
    let w = hook_world().await;
    let created = super::create(
        &w,
        &json!({"url": receiver.url("t"), "events": ["stock.low"],
            "store_ids": [w.store.to_string()]}),
    )
    .await;
    let id = created["id"].as_str().unwrap();
    let secret = created["secret"].as_str().unwrap();
    receiver.set("t", &[secret], "ok");

    // Act
    let test = w
        .app
        .authed(Method::POST, &format!("{WEBHOOKS}/{id}/test"), &w.admin)
        .send()
        .await
        .unwrap();
    assert_eq!(test.status(), 202);
    let test: Value = test.json().await.unwrap();
    let got = receiver.wait_for("t", 1, 10).await;

    // Assert
    let event = body_of(&got[0]);
    assert_eq!(event["type"], "webhook.test");
    assert_eq!(event["id"], test["event_id"]);
    assert_eq!(got[0]["verified"], json!([true]));

    // Redelivery: the same event (id and body) again, signed anew.
    let redo = w
        .app
        .authed(
            Method::POST,
            &format!("{WEBHOOKS}/{id}/redeliver"),
            &w.admin,
        )
        .json(&json!({"event_id": test["event_id"]}))
        .send()
        .await
        .unwrap();
    assert_eq!(redo.status(), 202);
    let got = receiver.wait_for("t", 2, 10).await;
    assert_eq!(id_of(&got[1]), id_of(&got[0]));
    assert_eq!(got[1]["body"], got[0]["body"]);
    assert_eq!(got[1]["verified"], json!([true]));
    let unknown = w
        .app
        .authed(
            Method::POST,
            &format!("{WEBHOOKS}/{id}/redeliver"),
            &w.admin,
        )
        .json(&json!({"event_id": ringup_core::ids::OutboxEventId::new().to_string()}))
        .send()
        .await
        .unwrap();
    assert_eq!(unknown.status(), 422);
    // A product event is not this endpoint's (no store filter match, not its type).
    w.product(0).await;
    tokio::time::sleep(Duration::from_millis(1200)).await;
    assert_eq!(receiver.received("t").len(), 2);
}

#[tokio::test]
async fn a_slow_endpoint_does_not_delay_a_fast_one() {
    // Arrange: one endpoint answers after 5 s, the other at once.
    let receiver = Receiver::start().await;
    let w = hook_world().await;
    let (_, slow) = hook(&w, &receiver.url("slow"), &["*"]).await;
    let (_, fast) = hook(&w, &receiver.url("fast"), &["*"]).await;
    receiver.set("slow", &[&slow], "sleep:5");
    receiver.set("fast", &[&fast], "ok");
    let p = w.product(0).await;

    // Act: events in three lanes (no store, and one store).
    let started = Instant::now();
    for n in 1..=3 {
        w.receive(w.store, &p, n).await;
    }

    // Assert: the fast endpoint has all four while the slow one is still on its first.
    receiver.wait_for("fast", 4, 4).await;
    assert!(started.elapsed() < Duration::from_secs(4));
    assert!(
        receiver.received("slow").len() <= 2,
        "{:?}",
        receiver.received("slow")
    );
    assert!(!receiver.started("slow").is_empty());
}

#[tokio::test]
async fn a_backlog_goes_out_in_runs_in_order_and_a_failure_mid_run_holds_the_rest() {
    // Arrange: 200 stock moves in one store while the receiver fails them all, so a backlog
    // of one lane builds up behind its head (and the circuit opens).
    let receiver = Receiver::start().await;
    let w = hook_world().await;
    let (_, secret) = hook(&w, &receiver.url("burst"), &["stock.adjusted"]).await;
    receiver.set("burst", &[&secret], "fail");
    let p = w.product(0).await;
    for n in 1..=200 {
        w.receive(w.store, &p, n).await;
    }
    receiver.wait_for("burst", 1, 20).await;

    // Act: the receiver comes back but fails every 7th request; time passes (the test clock)
    // so each retry and probe comes due.
    receiver.set("burst", &[&secret], "flaky:7");
    let deadline = Instant::now() + Duration::from_secs(90);
    let accepted = |receiver: &Receiver| -> Vec<Value> {
        receiver
            .received("burst")
            .into_iter()
            .filter(|r| r["status"] == 204)
            .collect()
    };
    while accepted(&receiver).len() < 200 {
        assert!(Instant::now() < deadline, "{}", accepted(&receiver).len());
        w.app.clock.advance(Span::seconds(10));
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    tokio::time::sleep(Duration::from_millis(500)).await;

    // Assert: every event accepted exactly once, in commit order, verified; the failures
    // mid-run were sent again with the same id before anything behind them.
    let got = receiver.received("burst");
    let accepted: Vec<i64> = got
        .iter()
        .filter(|r| r["status"] == 204)
        .map(|r| body_of(r)["data"]["delta"].as_i64().unwrap())
        .collect();
    assert_eq!(accepted, (1..=200).collect::<Vec<i64>>());
    assert!(got.iter().all(|r| r["verified"] == json!([true])));
    let refused: Vec<usize> = got
        .iter()
        .enumerate()
        .filter(|(_, r)| r["status"] == 500)
        .map(|(i, _)| i)
        .collect();
    let mid_run = refused
        .iter()
        .filter(|i| body_of(&got[**i])["data"]["delta"] != 1)
        .count();
    assert!(mid_run >= 20, "{mid_run}");
    for i in refused {
        assert_eq!(
            id_of(&got[i + 1]),
            id_of(&got[i]),
            "the lane moved past a failure"
        );
    }
}

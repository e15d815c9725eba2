//! Killing the server mid-delivery loses nothing: the real binary is killed with SIGKILL
//! while an attempt is in flight, started again on the same database, and every event still
//! reaches the receiver (the killed node's claim runs out and the attempt is sent again).

use std::collections::HashSet;
use std::time::{Duration, Instant};

use reqwest::Method;
use ringup_core::ids::StoreId;
use serde_json::{Value, json};

use super::{Receiver, body_of, hook, hook_world, id_of};
use crate::checkout_support::key;
use crate::stock::{World, adjustments, delta};

/// A second store, created over HTTP as `w.admin`.
pub(crate) async fn second_store(w: &World) -> StoreId {
    let body = json!({"code": "HOOK2", "name": "Second", "currency": "KES",
        "timezone": "Africa/Nairobi"});
    let response = w
        .app
        .authed(Method::POST, "/api/v1/stores", &w.admin)
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 201);
    let body: Value = response.json().await.unwrap();
    StoreId::parse(body["id"].as_str().unwrap()).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_kill_mid_delivery_loses_no_event() {
    // Arrange: an endpoint that takes 4 s to answer, set up in-process; then the real binary
    // on the same database.
    let receiver = Receiver::start().await;
    let mut w = hook_world().await;
    let (_, secret) = hook(&w, &receiver.url("crash"), &["stock.adjusted"]).await;
    receiver.set("crash", &[&secret], "sleep:4");
    let p = w.product(0).await;
    let (database_url, data_dir) = (
        w.app.settings.database_url.expose().to_owned(),
        w.app.settings.data_dir.clone(),
    );
    w.app.stop().await.unwrap();
    let env = [("RINGUP_WEBHOOKS_ALLOW_PRIVATE", "true")];
    let (mut child, base) = crate::crash::start_with(&database_url, &data_dir, &env).await;
    let client = reqwest::Client::new();

    // Act: three stock moves; the server is killed while the first is being delivered.
    for n in 1..=3 {
        let response = client
            .post(format!("{base}{}", adjustments(w.store)))
            .bearer_auth(&w.admin)
            .header("idempotency-key", key())
            .json(&delta(&p, n, "receiving"))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 201);
    }
    let deadline = Instant::now() + Duration::from_secs(15);
    while receiver.started("crash").is_empty() {
        assert!(Instant::now() < deadline, "no delivery began");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    child.start_kill().unwrap();
    child.wait().await.unwrap();
    receiver.set("crash", &[&secret], "ok");
    let (_child, _) = crate::crash::start_with(&database_url, &data_dir, &env).await;

    // Assert: after the killed node's lease, every event arrives, verified, in order.
    let deadline = Instant::now() + Duration::from_secs(60);
    let delivered = loop {
        let ok: Vec<Value> = receiver
            .received("crash")
            .into_iter()
            .filter(|r| r["status"] == 204 && r["headers"]["webhook-id"].is_string())
            .collect();
        let ids: HashSet<String> = ok.iter().map(id_of).collect();
        if ids.len() == 3 {
            break ok;
        }
        assert!(Instant::now() < deadline, "{ok:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert!(delivered.iter().all(|r| r["verified"] == json!([true])));
    let mut seen = Vec::new();
    for r in &delivered {
        let d = body_of(r)["data"]["delta"].as_i64().unwrap();
        if !seen.contains(&d) {
            seen.push(d);
        }
    }
    assert_eq!(seen, [1, 2, 3], "in commit order");
    // The first event was sent twice: once to the killed node's dead socket, once after.
    let first = id_of(&delivered[0]);
    let sent = receiver
        .started("crash")
        .iter()
        .filter(|r| r["id"] == first.as_str())
        .count();
    assert!(sent >= 2, "{sent}");
}

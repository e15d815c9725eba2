//! An attempt of an outbox event carries no copy of it: it is sent as the event, built when
//! claimed. So the events purge keeps every event a pending attempt still needs, an event gone
//! anyway (purged in the moment its redelivery was queued) ends its attempt without holding up
//! the lane or counting against the endpoint, and a redelivery needs the event to be there.

use chrono::Duration as Span;
use reqwest::Method;
use ringup_core::clock::Clock as _;
use serde_json::{Value, json};

use super::{Receiver, WEBHOOKS, body_of, hook, hook_world, log, log_until, read};

/// The `stock.adjusted` events the events API lists, oldest first.
async fn adjustments(w: &crate::stock::World) -> Vec<Value> {
    read(w, "/api/v1/events?types=stock.adjusted&limit=200").await["items"]
        .as_array()
        .unwrap()
        .clone()
}

async fn enable(w: &crate::stock::World, id: &str, enabled: bool) {
    let response = w
        .app
        .authed(Method::PATCH, &format!("{WEBHOOKS}/{id}"), &w.admin)
        .json(&json!({ "enabled": enabled }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
}

#[tokio::test]
async fn the_purge_keeps_the_events_of_pending_attempts_and_a_gone_one_is_buried() {
    // Arrange: two stock moves in one store while the endpoint fails; the first is retried,
    // the second waits behind it. Then the endpoint is disabled, so both stay pending.
    let receiver = Receiver::start().await;
    let w = hook_world().await;
    let (id, secret) = hook(&w, &receiver.url("kept"), &["stock.adjusted"]).await;
    receiver.set("kept", &[&secret], "fail");
    let p = w.product(0).await;
    w.receive(w.store, &p, 1).await;
    w.receive(w.store, &p, 2).await;
    log_until(&w, &id, 10, |l| l.iter().any(|d| d["status"] == "failed")).await;
    enable(&w, &id, false).await;
    let events = adjustments(&w).await;
    assert_eq!(events.len(), 2, "{events:?}");

    // Act 1: nine days pass (retention is eight) and the events are purged.
    w.app.clock.advance(Span::days(9));
    let purged = ringup_app::events::purge(&w.app.db, w.app.clock.now())
        .await
        .unwrap();

    // Assert 1: the other events went; the two a pending attempt will send stayed.
    assert!(purged > 0, "nothing was past its retention");
    assert_eq!(adjustments(&w).await, events);

    // Act 2: the first event goes anyway (as if purged while its redelivery was queued); the
    // receiver recovers and the endpoint is enabled again.
    let gone = events[0]["id"].as_str().unwrap();
    crate::audit::tamper(&w.app, "delete from outbox_events where id = $1", gone).await;
    receiver.set("kept", &[&secret], "ok");
    enable(&w, &id, true).await;
    let got = receiver.wait_for("kept", 2, 10).await;

    // Assert 2: the gone event's attempt is dead with the reason, not sent; the lane went on
    // to the second event, sent exactly as the events API showed it.
    let accepted: Vec<&Value> = got.iter().filter(|r| r["status"] == 204).collect();
    assert_eq!(accepted.len(), 1, "{got:?}");
    assert_eq!(body_of(accepted[0]), events[1]);
    assert!(
        got.iter()
            .filter(|r| super::id_of(r) == gone)
            .all(|r| r["status"] == 500),
        "the gone event was sent after it was gone: {got:?}"
    );
    let items = log_until(&w, &id, 5, |l| l.iter().any(|d| d["status"] == "succeeded")).await;
    let buried: Vec<&Value> = items.iter().filter(|d| d["status"] == "dead").collect();
    assert_eq!(buried.len(), 1, "{items:?}");
    assert_eq!(buried[0]["event_id"], events[0]["id"]);
    assert_eq!(
        buried[0]["error"],
        "the event was purged before it could be sent"
    );
    assert!(buried[0]["response_status"].is_null());
    let endpoint = read(&w, &format!("{WEBHOOKS}/{id}")).await;
    assert_eq!(endpoint["consecutive_failures"], 0, "{endpoint}");

    // Act 3: with nothing pending for it, the second event is purged too; it can no longer be
    // redelivered, as there is nothing to send.
    let purged = ringup_app::events::purge(&w.app.db, w.app.clock.now())
        .await
        .unwrap();
    assert!(purged >= 1);
    assert_eq!(adjustments(&w).await, Vec::<Value>::new());
    let redo = w
        .app
        .authed(
            Method::POST,
            &format!("{WEBHOOKS}/{id}/redeliver"),
            &w.admin,
        )
        .json(&json!({ "event_id": events[1]["id"] }))
        .send()
        .await
        .unwrap();
    assert_eq!(redo.status(), 422);
    assert_eq!(log(&w, &id).await.len(), items.len(), "nothing queued");
}

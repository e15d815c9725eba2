//! SQLite's group-committing writer, seen from clients: writes queued behind one another are
//! committed as one batch, and each still gets its own answer — an accepted sale 201, a sale
//! short of stock 409 (only its own savepoint undone), a replay of a key used earlier in the same
//! batch the first answer again (sent only once that batch committed). A full queue answers 503
//! with `Retry-After` at once and changes nothing.
//!
//! On PostgreSQL there is no writer: the same requests run in transactions of their own, and the
//! same answers must come back, so every test runs on both engines; only the holding of the
//! writer (to make the batch) is SQLite's.

use std::time::Duration;

use reqwest::Method;
use reqwest::Response;
use ringup_core::clock::Clock;
use ringup_store::{Engine, WriteTx};
use ringup_testkit::{ADMIN_PASSWORD, ADMIN_USERNAME, TestApp, json_of, spawn_app_with};
use serde_json::json;

use crate::checkout_support::{
    CODE, SALES, Shop, conflict, expect, key, line, number, pay, sale_body, shop,
};
use crate::support::header;

/// Takes the writer's turn (SQLite) so that the writes sent next queue behind it; on
/// PostgreSQL an unrelated transaction that holds nothing.
async fn hold_writer(app: &TestApp) -> WriteTx {
    app.db.begin_write().await.unwrap()
}

/// Waits until the relay has positioned every event written so far, the mail worker has read
/// up to the last of them, queued every daily summary due (the test clock is the real time, so
/// a store's 22:00 may have passed) and sent every mail, so no background write queues among
/// the ones a test counts.
async fn relayed(app: &TestApp) {
    for _ in 0..500 {
        let backlog = ringup_store::platform::outbox::backlog(&app.db)
            .await
            .unwrap();
        let last = ringup_store::events::last_position(&app.db).await.unwrap();
        let mail = ringup_store::events::cursor(&app.db, ringup_app::mail::CURSOR)
            .await
            .unwrap();
        let summaries = ringup_app::mail::summaries_due(&app.db, app.clock.now())
            .await
            .unwrap();
        let unsent = ringup_app::mail::pending(&app.db).await.unwrap();
        if backlog.pending == 0 && mail >= last && summaries == 0 && unsent == 0 {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("the relay or the mail worker never caught up");
}

/// The first admin's token, on a server whose writer queues one write: a background write of
/// the start that `relayed` cannot see coming (the mail worker purges its queue after its
/// first pass) may take that place just then, so a login refused with 503 is tried again.
async fn admin_token_past_the_start(app: &TestApp) -> String {
    let credentials = json!({ "username": ADMIN_USERNAME, "password": ADMIN_PASSWORD });
    for _ in 0..50 {
        let response = app.post_json("/api/v1/auth/login", &credentials).await;
        if response.status() == 503 {
            tokio::time::sleep(Duration::from_millis(50)).await;
            continue;
        }
        assert_eq!(response.status(), 200);
        let body = json_of(response).await;
        return body["access_token"].as_str().unwrap().to_owned();
    }
    panic!("the login was refused with 503 fifty times");
}

/// Waits until `n` writes queue behind the held turn (SQLite); on PostgreSQL gives the
/// requests a moment to arrive, which is all ordering needs there.
async fn queued(app: &TestApp, n: usize) {
    for _ in 0..500 {
        match app.db.write_queue() {
            Some(queue) if queue.depth >= n => return,
            None if app.engine() == Engine::Postgres => {
                tokio::time::sleep(Duration::from_millis(100)).await;
                return;
            }
            _ => tokio::time::sleep(Duration::from_millis(10)).await,
        }
    }
    panic!("{n} writes never queued: {:?}", app.db.write_queue());
}

/// Sends a sale from its own task: the answer arrives once its batch committed.
fn sell(
    s: &Shop,
    token: &str,
    body: &serde_json::Value,
    key: &str,
) -> tokio::task::JoinHandle<Response> {
    let request = s
        .app
        .client
        .post(s.app.url(SALES))
        .bearer_auth(token)
        .header("idempotency-key", key)
        .json(body);
    tokio::spawn(async move { request.send().await.unwrap() })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_batch_mixing_accepted_refused_and_replayed_sales_answers_each_and_keeps_only_the_accepted()
 {
    // Arrange: 3 units; A takes 2, A's key is sent again, B asks for 4 (more than there is).
    let s = shop().await;
    let cashier = s.staff("cashier").await;
    let item = s.stocked(100, &s.standard, 3).await;
    let shift = s.open(&cashier.token, &s.register, 0).await;
    let two = sale_body(&shift, vec![line(&item, 2)], vec![pay("cash", 200)]);
    let four = sale_body(&shift, vec![line(&item, 4)], vec![pay("cash", 400)]);
    let (key_a, key_b) = (key(), key());
    relayed(&s.app).await;

    // Act: all three queue behind a held turn, then go as one batch. They are sent in this
    // order, but no answer depends on it: on a loaded machine a write that waited longer than
    // its turn's timeout is queued again, behind the others (and PostgreSQL has no queue).
    let held = hold_writer(&s.app).await;
    let a = sell(&s, &cashier.token, &two, &key_a);
    queued(&s.app, 1).await;
    let replay = sell(&s, &cashier.token, &two, &key_a);
    queued(&s.app, 2).await;
    let b = sell(&s, &cashier.token, &four, &key_b);
    queued(&s.app, 3).await;
    held.commit().await.unwrap();
    let (a, replay, b) = (a.await.unwrap(), replay.await.unwrap(), b.await.unwrap());

    // Assert: each caller has its own answer. Whichever of A's two requests ran first made
    // the sale; the other replays it.
    let (first, again) = match header(&a, "idempotent-replayed") {
        None => (a, replay),
        Some(_) => (replay, a),
    };
    assert_eq!(header(&first, "idempotent-replayed"), None);
    assert_eq!(
        header(&again, "idempotent-replayed").as_deref(),
        Some("true")
    );
    let sold = expect(first, 201).await;
    assert_eq!(expect(again, 201).await, sold);
    let refused = conflict(b, "insufficient-stock").await;
    assert_eq!(
        refused["errors"][0]["field"], "lines[0].quantity",
        "{refused}"
    );
    // Exactly the accepted sale was kept, with the store's first number.
    assert_eq!(sold["number"], number(CODE, 1));
    assert_eq!(s.list(SALES, "").await.len(), 1);
    assert_eq!(s.on_hand(s.store, &item.id).await, 1);
    assert_eq!(s.moves("sale").await.len(), 1);
    assert_eq!(s.audited("sale.completed").await.len(), 1);
    s.assert_ledger().await;
    // The refused key was not kept: the same key may now sell what is left.
    let one = sale_body(&shift, vec![line(&item, 1)], vec![pay("cash", 100)]);
    let retried = s.try_sell(&cashier.token, &one, Some(&key_b)).await;
    assert_eq!(expect(retried, 201).await["number"], number(CODE, 2));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_full_write_queue_answers_503_with_retry_after_at_once_and_changes_nothing() {
    // Arrange: a writer that queues one write.
    let app = spawn_app_with(|raw| raw.write_queue = "1".into()).await;
    // The start's events are relayed and read by the mail worker first: their writes would
    // take the queue's one place.
    relayed(&app).await;
    let admin = admin_token_past_the_start(&app).await;
    relayed(&app).await;
    let post = |code: &str| {
        app.client
            .post(app.url("/api/v1/stores"))
            .bearer_auth(&admin)
            .json(&json!({
                "code": code, "name": format!("Store {code}"),
                "currency": "KES", "timezone": "Africa/Nairobi",
            }))
            .send()
    };

    // Act
    let held = hold_writer(&app).await;
    let first = tokio::spawn(post("QUEUED"));
    queued(&app, 1).await;
    let started = std::time::Instant::now();
    let second = post("REFUSED").await.unwrap();
    let waited = started.elapsed();
    held.commit().await.unwrap();
    let first = first.await.unwrap().unwrap();

    // Assert
    if app.engine() == Engine::Postgres {
        // No writer queue on PostgreSQL: both are written.
        assert_eq!(second.status(), 201);
        assert_eq!(first.status(), 201);
        return;
    }
    assert_eq!(second.status(), 503);
    assert_eq!(header(&second, "retry-after").as_deref(), Some("1"));
    let problem: serde_json::Value = second.json().await.unwrap();
    assert_eq!(problem["type"], "/problems/unavailable", "{problem}");
    assert!(
        waited < Duration::from_secs(2),
        "refused only after {waited:?}"
    );
    assert_eq!(first.status(), 201);
    let listed = app.authed(Method::GET, "/api/v1/stores", &admin).send();
    let stores = json_of(listed.await.unwrap()).await;
    let codes: Vec<&str> = stores["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|store| store["code"].as_str())
        .collect();
    assert!(codes.contains(&"QUEUED"), "{codes:?}");
    assert!(!codes.contains(&"REFUSED"), "{codes:?}");
    let metrics = app.get("/metrics").await.text().await.unwrap();
    assert!(
        metrics.contains("ringup_write_overloaded_total"),
        "the refusal is counted"
    );
}

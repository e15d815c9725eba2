//! Claims: several claimers at once (as several nodes would be) never take the same attempt,
//! and an attempt claimed by a claimer that never reports back is sent after its lease.

use std::collections::HashSet;

use chrono::Duration as Span;
use reqwest::Method;
use ringup_app::webhooks::delivery::{self, Room};
use ringup_core::clock::Clock as _;
use serde_json::Value;

use super::{Receiver, WEBHOOKS, hook, hook_world, id_of};

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn racing_claimers_never_take_the_same_attempt_and_a_lost_claim_is_sent_after_its_lease() {
    // Arrange: 60 test events, each in a lane of its own (so all are claimable at once).
    let receiver = Receiver::start().await;
    let w = hook_world().await;
    let (id, secret) = hook(&w, &receiver.url("race"), &["webhook.test"]).await;
    receiver.set("race", &[&secret], "ok");
    let mut events = HashSet::new();
    for _ in 0..60 {
        let response = w
            .app
            .authed(Method::POST, &format!("{WEBHOOKS}/{id}/test"), &w.admin)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 202);
        let body: Value = response.json().await.unwrap();
        events.insert(body["event_id"].as_str().unwrap().to_owned());
    }

    // Act: four claimers race the server's own worker; theirs never send nor report.
    let claimers = (0..4).map(|_| {
        let (db, clock) = (w.app.db.clone(), w.app.clock.clone());
        tokio::spawn(async move {
            let mut taken = Vec::new();
            for _ in 0..20 {
                let room = Room {
                    limit: 3,
                    per_endpoint: 64,
                    in_flight: Default::default(),
                    lanes_in_flight: Default::default(),
                    run_length: delivery::RUN_LENGTH,
                };
                let runs = delivery::claim(&db, clock.now(), room).await.unwrap();
                taken.extend(
                    runs.into_iter()
                        .flat_map(|r| r.attempts.into_iter().map(|a| a.event_id)),
                );
            }
            taken
        })
    });
    let mut taken = Vec::new();
    for claimer in claimers {
        taken.extend(claimer.await.unwrap());
    }

    // Assert: no attempt taken twice, by the claimers or by the server.
    let distinct: HashSet<&String> = taken.iter().collect();
    assert_eq!(distinct.len(), taken.len(), "an attempt was claimed twice");
    let delivered = |receiver: &Receiver| -> Vec<String> {
        receiver.received("race").iter().map(id_of).collect()
    };
    let before = receiver
        .wait_for("race", 60 - taken.len(), 20)
        .await
        .iter()
        .map(id_of)
        .collect::<Vec<_>>();
    assert!(
        before.iter().all(|e| !distinct.contains(e)),
        "the server sent an attempt another claimer held"
    );
    // The lost claims are sent once their lease (30 s by the server's clock) has run out.
    w.app.clock.advance(delivery::lease() + Span::seconds(1));
    receiver.wait_for("race", 60, 20).await;
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    let all = delivered(&receiver);
    let unique: HashSet<&String> = all.iter().collect();
    assert_eq!(all.len(), 60, "each event once: {all:?}");
    assert_eq!(unique.len(), 60);
    assert_eq!(unique.into_iter().cloned().collect::<HashSet<_>>(), events);
}

//! What adjustments announce: one `stock.low` outbox event per downward crossing of the
//! threshold, and a `stock.adjusted` audit event on the store.

use serde_json::{Value, json};

use super::{count, delta, levels, world};

#[tokio::test]
async fn stock_low_is_written_once_per_downward_crossing() {
    // Arrange
    let w = world().await;
    let (a, s) = (&w.admin, w.store);
    let p = w.product(5).await;
    let bystander = w.product(100).await;

    // Act / Assert: 0 → 10 is a rise; 10 → 6 stays above the threshold.
    w.receive(s, &p, 10).await;
    w.adjusted(a, s, &delta(&p, -4, "damage")).await;
    assert!(w.low_events(&p).await.is_empty());
    // 6 → 5 crosses; 5 → 3 stays low; a refused decrease writes nothing.
    w.adjusted(a, s, &delta(&p, -1, "theft")).await;
    w.adjusted(a, s, &delta(&p, -2, "damage")).await;
    let refused = w.adjust(a, s, &delta(&p, -4, "damage")).await;
    assert_eq!(refused.status().as_u16(), 409);
    let events = w.low_events(&p).await;
    assert_eq!(events.len(), 1, "{events:?}");
    let expected = json!({"store_id": s.to_string(), "product_id": p, "on_hand": 5,
        "reserved": 0, "available": 5, "low_stock_threshold": 5});
    assert_eq!(events[0], expected);
    // Back above (3 → 13), then a count crosses again (13 → 4).
    w.receive(s, &p, 10).await;
    assert_eq!(w.low_events(&p).await.len(), 1);
    w.adjusted(a, s, &count(&p, 4)).await;
    let events = w.low_events(&p).await;
    assert_eq!(events.len(), 2, "{events:?}");
    assert_eq!(levels(&events[1]), (4, 4));
    // A product that never was above its threshold raised nothing.
    w.receive(s, &bystander, 50).await;
    w.adjusted(a, s, &delta(&bystander, -10, "damage")).await;
    assert!(w.low_events(&bystander).await.is_empty());
}

#[tokio::test]
async fn adjustments_are_audited_as_stock_adjusted_on_the_store() {
    // Arrange
    let w = world().await;
    let other = w.app.create_store("STK2").await;
    let manager = w.app.create_user("manager", &[w.store]).await;
    let (p, t) = (w.product(0).await, &manager.token);

    // Act
    let received = w.adjusted(t, w.store, &delta(&p, 5, "receiving")).await;
    let damaged = w.adjusted(t, w.store, &delta(&p, -2, "damage")).await;
    w.receive(other, &p, 1).await;

    // Assert
    let events = w.audited(&w.admin).await;
    assert_eq!(events.len(), 3, "{events:?}");
    let by = |e: &&Value| e["actor_id"] == manager.id.as_str();
    let mine: Vec<&Value> = events.iter().filter(by).collect();
    assert_eq!(mine.len(), 2, "{events:?}");
    for event in &mine {
        assert_eq!(event["action"], "stock.adjusted");
        assert_eq!(event["store_id"], w.store.to_string());
    }
    let text = serde_json::to_string(&mine).unwrap();
    for m in [&received, &damaged] {
        let id = m["id"].as_str().unwrap();
        assert!(text.contains(id), "movement {id} is named: {text}");
    }
    // The store's manager sees its store's events only.
    let seen = w.audited(t).await;
    assert_eq!(seen.len(), 2, "{seen:?}");
}

//! The movement ledger: filters by store, product, kind and time, 422 for a bad filter, and
//! non-admins see only their stores' movements.

use chrono::{Duration, FixedOffset, SecondsFormat};
use ringup_core::clock::Clock;

use super::{MOVEMENTS, World, delta, deltas, get, world};
use crate::support::{assert_problem, error_fields};

/// The deltas of the movements the admin lists with `query`.
async fn of(w: &World, query: &[(&str, &str)]) -> Vec<i64> {
    deltas(&w.movements(&w.admin, query).await)
}

#[tokio::test]
async fn movements_filter_by_store_product_kind_and_time() {
    // Arrange
    let w = world().await;
    let other = w.app.create_store("STK2").await;
    let (p, q) = (w.product(0).await, w.product(0).await);
    let t0 = w.app.clock.now();
    w.receive(w.store, &p, 5).await;
    w.app.clock.advance(Duration::seconds(10));
    w.receive(other, &p, 6).await;
    w.adjusted(&w.admin, w.store, &delta(&p, -1, "damage"))
        .await;
    w.app.clock.advance(Duration::seconds(10));
    w.receive(w.store, &q, 7).await;
    let t10 = (t0 + Duration::seconds(10)).to_rfc3339_opts(SecondsFormat::Secs, true);
    let nairobi = FixedOffset::east_opt(3 * 3600).unwrap();
    let t10_nairobi = (t0 + Duration::seconds(10)).with_timezone(&nairobi);
    let t10_nairobi = t10_nairobi.to_rfc3339();
    let t20 = (t0 + Duration::seconds(20)).to_rfc3339_opts(SecondsFormat::Micros, true);
    let (s, o) = (w.store.to_string(), other.to_string());
    // Act / Assert
    assert_eq!(of(&w, &[]).await, [5, 6, -1, 7]);
    assert_eq!(of(&w, &[("store_id", &s)]).await, [5, -1, 7]);
    assert_eq!(of(&w, &[("store_id", &o)]).await, [6]);
    assert_eq!(of(&w, &[("product_id", &p)]).await, [5, 6, -1]);
    let both = [("store_id", s.as_str()), ("product_id", &p)];
    assert_eq!(of(&w, &both).await, [5, -1]);
    assert_eq!(of(&w, &[("kind", "receiving")]).await, [5, 6, 7]);
    assert_eq!(of(&w, &[("kind", "damage")]).await, [-1]);
    assert!(of(&w, &[("kind", "transfer_in")]).await.is_empty());
    // `from` is inclusive, `to` exclusive, and any offset is understood.
    assert_eq!(of(&w, &[("from", &t10)]).await, [6, -1, 7]);
    assert_eq!(of(&w, &[("from", &t10_nairobi)]).await, [6, -1, 7]);
    assert_eq!(of(&w, &[("to", &t10)]).await, [5]);
    assert_eq!(of(&w, &[("to", &t10_nairobi)]).await, [5]);
    assert_eq!(of(&w, &[("from", &t10), ("to", &t20)]).await, [6, -1]);
    assert_eq!(of(&w, &[("to", &t20)]).await, [5, 6, -1]);
}

#[tokio::test]
async fn bad_movement_filters_are_422_and_non_admins_see_only_their_stores() {
    // Arrange
    let w = world().await;
    let other = w.app.create_store("STK2").await;
    let p = w.product(0).await;
    w.receive(w.store, &p, 5).await;
    w.receive(other, &p, 6).await;
    let manager = w.app.create_user("manager", &[w.store]).await.token;
    let cashier = w.app.create_user("cashier", &[other]).await.token;
    let other_text = other.to_string();
    let bad = [
        ("kind", "gift"),
        ("kind", "Receiving"),
        ("from", "yesterday"),
        ("to", "2026-13-01T00:00:00Z"),
        ("from", "2026-01-01"),
        ("product_id", "nope"),
        ("store_id", "nope"),
        ("store_id", other_text.as_str()),
        ("limit", "0"),
    ];

    for (name, value) in bad {
        // Act
        let response = get(&w.app, &manager, MOVEMENTS, &[(name, value)]).await;

        // Assert
        let problem = assert_problem(response, 422, MOVEMENTS).await;
        assert_eq!(error_fields(&problem), [name], "{name}={value}");
    }
    assert_eq!(deltas(&w.movements(&manager, &[]).await), [5]);
    assert_eq!(deltas(&w.movements(&cashier, &[]).await), [6]);
    let of_p = w.movements(&cashier, &[("product_id", &p)]).await;
    assert_eq!(deltas(&of_p), [6]);
    assert_eq!(deltas(&w.movements(&w.admin, &[]).await), [5, 6]);
}

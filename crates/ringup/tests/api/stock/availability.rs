//! How far stock may go down: never below `available` (409, nothing written) unless the store
//! allows negative stock, and reserved units are not available until their reservation expires.

use chrono::Duration;
use ringup_core::clock::Clock;
use serde_json::json;

use super::{adjustments, count, created, delta, deltas, levels, stocked, world};
use crate::support::{assert_problem, error_fields};

#[tokio::test]
async fn a_decrease_beyond_available_is_409_and_writes_nothing() {
    // Arrange
    let w = world().await;
    let (a, s) = (&w.admin, w.store);
    let p = w.product(0).await;
    let never_stocked = w.product(0).await;
    w.receive(s, &p, 3).await;
    let path = adjustments(s);
    let before = w.level(s, &p).await.unwrap();

    for body in [
        delta(&p, -4, "damage"),
        delta(&p, -4, "theft"),
        delta(&p, -1_000_000, "correction"),
    ] {
        // Act
        let response = w.adjust(a, s, &body).await;

        // Assert
        let problem = assert_problem(response, 409, &path).await;
        assert_eq!(problem["type"], "/problems/insufficient-stock");
        assert_eq!(error_fields(&problem), ["delta"]);
        let message = problem["errors"][0]["message"].as_str().unwrap();
        assert!(message.contains("3 available"), "{message}");
    }
    let response = w.adjust(a, s, &delta(&never_stocked, -1, "damage")).await;
    assert_problem(response, 409, &path).await;

    assert_eq!(w.level(s, &p).await.unwrap(), before);
    assert_eq!(w.level(s, &never_stocked).await, None, "no level");
    assert_eq!(deltas(&w.movements(a, &[]).await), [3]);
    assert_eq!(w.audited(a).await.len(), 1);
    // Exactly what is available may go.
    let m = w.adjusted(a, s, &delta(&p, -3, "damage")).await;
    assert_eq!(levels(&m), (0, 0));
    w.assert_ledger().await;
}

#[tokio::test]
async fn a_store_that_allows_negative_stock_goes_below_zero() {
    // Arrange
    let w = world().await;
    let store = w.negative_store("NEG1").await;
    let p = w.product(0).await;
    w.receive(store, &p, 1).await;

    // Act
    let m = w.adjusted(&w.admin, store, &delta(&p, -3, "damage")).await;
    let listed = w.level(store, &p).await.unwrap();
    let counted = w.adjusted(&w.admin, store, &count(&p, 0)).await;

    // Assert
    assert_eq!(levels(&m), (-2, -2));
    assert_eq!(levels(&listed), (-2, -2));
    assert_eq!(counted["delta"], 2, "a count from -2 to 0 adds 2");
    w.assert_ledger().await;
}

#[tokio::test]
async fn reserved_units_are_not_available_to_decreases_or_counts_until_they_expire() {
    // Arrange
    let w = world().await;
    let (a, s) = (&w.admin, w.store);
    let p = w.product(0).await;
    w.receive(s, &p, 5).await;
    let expires_at = (w.app.clock.now() + Duration::minutes(10)).to_rfc3339();
    let lines = json!([{"product_id": p, "quantity": 3}]);
    let body = json!({"lines": lines, "expires_at": expires_at});
    let reservations = format!("/api/v1/stores/{s}/reservations");
    created(&w.app, a, &reservations, &body).await;
    let path = adjustments(s);

    // Act
    let listed = w.level(s, &p).await.unwrap();
    let damage = w.adjust(a, s, &delta(&p, -3, "damage")).await;
    let low_count = w.adjust(a, s, &count(&p, 2)).await;
    let exact_count = w.adjusted(a, s, &count(&p, 3)).await;
    w.app.clock.advance(Duration::minutes(10));
    let expired = w.level(s, &p).await.unwrap();

    // Assert
    assert_eq!(stocked(&listed), (5, 3, 2));
    let problem = assert_problem(damage, 409, &path).await;
    assert_eq!(error_fields(&problem), ["delta"]);
    let message = problem["errors"][0]["message"].as_str().unwrap();
    assert!(message.contains("2 available"), "{message}");
    let problem = assert_problem(low_count, 409, &path).await;
    assert_eq!(error_fields(&problem), ["counted"]);
    assert_eq!(
        (exact_count["delta"].as_i64(), levels(&exact_count)),
        (Some(-2), (3, 0))
    );
    assert_eq!(stocked(&expired), (3, 0, 3));
    w.assert_ledger().await;
}

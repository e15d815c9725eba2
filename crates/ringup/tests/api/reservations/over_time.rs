//! What happens to a reservation after it is made: expiry, release, who may act on which
//! store's reservations, and how reservations meet adjustments, each other and the low-stock
//! threshold.

use super::*;

#[tokio::test]
async fn an_expired_reservation_stops_counting_at_once() {
    // Arrange
    let w = world(1).await;
    w.receive(w.s, &w.p[0], 10).await;
    let mut body = w.body(&[(&w.p[0], 4)]);
    body["expires_at"] = json!(w.at(Duration::minutes(10)));
    let expiring = created(w.reserve(&w.admin, w.s, &body).await).await;

    // Act
    w.app
        .clock
        .advance(Duration::minutes(10) - Duration::seconds(1));
    let just_before = w.level(w.s, &w.p[0]).await;
    let blocked = w.reserve(&w.admin, w.s, &w.body(&[(&w.p[0], 7)])).await;
    w.app.clock.advance(Duration::seconds(1));
    let at_expiry = w.level(w.s, &w.p[0]).await;

    // Assert
    assert_eq!(just_before, (10, 4, 6));
    short(blocked, &["lines[0].quantity"]).await;
    assert_eq!(
        at_expiry,
        (10, 0, 10),
        "expired at expires_at, with no sweep"
    );
    w.hold(w.s, &[(&w.p[0], 10)]).await;
    assert_eq!(w.level(w.s, &w.p[0]).await, (10, 10, 0));
    let released = w.release(&w.admin, w.s, id(&expiring)).await;
    assert_eq!(released.status().as_u16(), 204, "releasing an expired one");
    assert_eq!(w.level(w.s, &w.p[0]).await, (10, 10, 0), "live one counts");
    w.assert_ledger().await;
}

#[tokio::test]
async fn releasing_restores_availability_and_releasing_again_is_204() {
    // Arrange
    let w = world(2).await;
    w.receive(w.s, &w.p[0], 10).await;
    w.receive(w.s, &w.p[1], 10).await;
    let manager = w.app.create_user("manager", &[w.s]).await.token;
    let first = w.body(&[(&w.p[0], 3), (&w.p[1], 2)]);
    let first = created(w.reserve(&manager, w.s, &first).await).await;
    w.hold(w.s, &[(&w.p[0], 5)]).await;

    // Act
    let released = w.release(&manager, w.s, id(&first)).await;
    let after = (w.level(w.s, &w.p[0]).await, w.level(w.s, &w.p[1]).await);
    let again = w.release(&manager, w.s, id(&first)).await;

    // Assert
    assert_eq!(released.status().as_u16(), 204);
    assert!(released.text().await.unwrap().is_empty());
    assert_eq!(after, ((10, 5, 5), (10, 0, 10)), "only the released one");
    assert_eq!(again.status().as_u16(), 204);
    assert_eq!(
        w.level(w.s, &w.p[0]).await,
        (10, 5, 5),
        "freed nothing more"
    );
}

#[tokio::test]
async fn unknown_reservations_and_those_of_other_stores_are_404() {
    // Arrange
    let w = world(1).await;
    let other = w.app.create_store("RSV2").await;
    w.receive(w.s, &w.p[0], 10).await;
    w.receive(other, &w.p[0], 10).await;
    let theirs = w.hold(other, &[(&w.p[0], 4)]).await;
    let unknown_store = reservations(StoreId::new());

    // Act
    let mut responses = Vec::new();
    for rid in [&ReservationId::new().to_string(), "not-an-id", id(&theirs)] {
        responses.push(w.release(&w.admin, w.s, rid).await);
    }
    let body = w.body(&[(&w.p[0], 1)]);
    responses.push(w.post(&w.admin, &unknown_store, &body).await);

    // Assert
    for response in responses {
        problem(response, 404).await;
    }
    assert_eq!(w.level(other, &w.p[0]).await, (10, 4, 6), "still held");
}

#[tokio::test]
async fn cashiers_and_managers_of_the_store_reserve_employees_and_other_stores_do_not() {
    // Arrange
    let w = world(1).await;
    let other = w.app.create_store("RSV2").await;
    w.receive(w.s, &w.p[0], 10).await;
    let cashier = w.app.create_user("cashier", &[w.s]).await;
    let employee = w.app.create_user("employee", &[w.s]).await.token;
    let outsider = w.app.create_user("manager", &[other]).await.token;
    let held = w.hold(w.s, &[(&w.p[0], 1)]).await;
    let body = w.body(&[(&w.p[0], 2)]);

    // Act
    let by_employee = w.reserve(&employee, w.s, &body).await;
    let release_by_employee = w.release(&employee, w.s, id(&held)).await;
    let by_outsider = w.reserve(&outsider, w.s, &body).await;
    let release_by_outsider = w.release(&outsider, w.s, id(&held)).await;
    let by_cashier = w.reserve(&cashier.token, w.s, &body).await;

    // Assert
    problem(by_employee, 403).await;
    problem(release_by_employee, 403).await;
    problem(by_outsider, 404).await;
    problem(release_by_outsider, 404).await;
    let mine = created(by_cashier).await;
    assert_eq!(mine["created_by"], cashier.id.as_str());
    assert_eq!(w.level(w.s, &w.p[0]).await, (10, 3, 7));
    let released = w.release(&cashier.token, w.s, id(&mine)).await;
    assert_eq!(released.status().as_u16(), 204);
    assert_eq!(w.level(w.s, &w.p[0]).await, (10, 1, 9));
}

#[tokio::test]
async fn a_damage_adjustment_cannot_eat_reserved_units() {
    // Arrange
    let w = world(1).await;
    w.receive(w.s, &w.p[0], 10).await;
    w.hold(w.s, &[(&w.p[0], 8)]).await;

    // Act
    let too_much = w.adjust(w.s, &w.p[0], -3, "damage").await;
    let fits = w.adjust(w.s, &w.p[0], -2, "damage").await;

    // Assert
    let problem = problem(too_much, 409).await;
    assert_eq!(problem["type"], "/problems/insufficient-stock");
    assert_eq!(error_fields(&problem), ["delta"]);
    created(fits).await;
    assert_eq!(w.level(w.s, &w.p[0]).await, (8, 8, 0));
    w.assert_ledger().await;
}

#[tokio::test]
async fn twenty_concurrent_reservations_of_ten_units_make_exactly_ten() {
    // Arrange
    let w = world(1).await;
    w.receive(w.s, &w.p[0], 10).await;
    let cashier = w.app.create_user("cashier", &[w.s]).await.token;
    let body = w.body(&[(&w.p[0], 1)]);

    // Act
    let responses = join_all((0..20).map(|_| w.reserve(&cashier, w.s, &body))).await;

    // Assert
    let mut made = 0;
    for response in responses {
        if response.status().as_u16() == 201 {
            made += 1;
        } else {
            short(response, &["lines[0].quantity"]).await;
        }
    }
    assert_eq!(made, 10);
    assert_eq!(w.level(w.s, &w.p[0]).await, (10, 10, 0));
    w.assert_ledger().await;
}

#[tokio::test]
async fn reserving_down_to_the_threshold_writes_one_stock_low_event() {
    // Arrange
    let w = world(0).await;
    let product = w.product(3).await;
    w.receive(w.s, &product, 5).await;
    let low = || async {
        let page = ringup_store::platform::outbox::list(&w.app.db, None, 200).await;
        let events = page.unwrap().items.into_iter();
        events
            .filter(|e| e.event_type == "stock.low")
            .collect::<Vec<_>>()
    };
    let before = low().await;
    w.hold(w.s, &[(&product, 1)]).await;
    let above = low().await;

    // Act
    w.hold(w.s, &[(&product, 1)]).await;
    let crossed = low().await;
    w.hold(w.s, &[(&product, 1)]).await;
    let refused = w.reserve(&w.admin, w.s, &w.body(&[(&product, 3)])).await;

    // Assert
    assert!(
        before.is_empty() && above.is_empty(),
        "{before:?} {above:?}"
    );
    assert_eq!(crossed.len(), 1, "{crossed:?}");
    let expected = json!({"store_id": w.s.to_string(), "product_id": product, "on_hand": 5,
        "reserved": 2, "available": 3, "low_stock_threshold": 3});
    assert_eq!(crossed[0].payload, expected);
    short(refused, &["lines[0].quantity"]).await;
    assert_eq!(low().await.len(), 1, "already low: no second event");
    assert_eq!(w.level(w.s, &product).await, (5, 3, 2));
}

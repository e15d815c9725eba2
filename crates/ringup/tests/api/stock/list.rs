//! A store's stock list: its levels with filters and pages, read by every role of the store and
//! 404 to everyone else.

use ringup_core::ids::StoreId;
use ringup_testkit::json_of;
use serde_json::Value;

use super::{delta, get, stock, stocked, world};
use crate::support::{assert_problem, error_fields};

#[tokio::test]
async fn the_stock_list_shows_levels_with_filters_and_pages() {
    // Arrange
    let w = world().await;
    let (a, s) = (&w.admin, w.store);
    let other = w.app.create_store("STK2").await;
    let (p1, p2, p3) = (w.product(5).await, w.product(0).await, w.product(2).await);
    let p4 = w.product(1).await;
    w.receive(s, &p1, 10).await;
    w.receive(s, &p2, 3).await;
    w.adjusted(a, s, &delta(&p2, -3, "damage")).await;
    w.receive(s, &p3, 2).await;
    w.receive(other, &p4, 9).await;
    let mut expected = vec![(p1.clone(), 10, 5), (p2.clone(), 0, 0), (p3.clone(), 2, 2)];
    expected.sort();
    let mut low_expected = vec![p2.as_str(), p3.as_str()];
    low_expected.sort_unstable();
    let path = stock(s);
    let ids = |items: &[Value]| -> Vec<String> {
        let id = |i: &Value| i["product_id"].as_str().unwrap().to_owned();
        items.iter().map(id).collect()
    };

    // Act
    let all = w.all(a, &path, &[], "50").await;
    let paged = w.all(a, &path, &[], "1").await;
    let low = w.all(a, &path, &[("below_threshold", "true")], "50").await;
    let not_low = w.all(a, &path, &[("below_threshold", "false")], "50").await;
    let one = w.all(a, &path, &[("product_id", &p3)], "50").await;
    let elsewhere = w.all(a, &path, &[("product_id", &p4)], "50").await;

    // Assert
    let listed: Vec<(String, i64, i64)> = all
        .iter()
        .map(|i| {
            let (on_hand, reserved, available) = stocked(i);
            assert_eq!((reserved, available), (0, on_hand), "{i}");
            let n = |f: &str| i[f].as_i64().unwrap();
            (
                ids(std::slice::from_ref(i)).remove(0),
                n("on_hand"),
                n("low_stock_threshold"),
            )
        })
        .collect();
    assert_eq!(listed, expected);
    assert_eq!(paged, all);
    assert_eq!(ids(&low), low_expected);
    assert_eq!(not_low, all);
    assert_eq!(ids(&one), [p3.as_str()]);
    assert!(elsewhere.is_empty());
    let bad = [
        ("product_id", "nope"),
        ("below_threshold", "yes"),
        ("limit", "0"),
        ("limit", "201"),
    ];
    for (name, value) in bad {
        let response = get(&w.app, a, &path, &[(name, value)]).await;
        let problem = assert_problem(response, 422, &path).await;
        assert_eq!(error_fields(&problem), [name], "{name}={value}");
    }
}

#[tokio::test]
async fn every_role_of_the_store_reads_its_stock_and_others_get_404() {
    // Arrange
    let w = world().await;
    let other = w.app.create_store("STK2").await;
    let p = w.product(0).await;
    w.receive(w.store, &p, 4).await;
    let path = stock(w.store);
    let outsider = w.app.create_user("manager", &[other]).await.token;

    for role in ["cashier", "employee", "manager"] {
        // Act
        let token = w.app.create_user(role, &[w.store]).await.token;
        let response = get(&w.app, &token, &path, &[]).await;

        // Assert
        assert_eq!(response.status().as_u16(), 200, "{role}");
        let page = json_of(response).await;
        assert_eq!(page["items"][0]["on_hand"], 4, "{role}: {page}");
    }
    assert_problem(get(&w.app, &outsider, &path, &[]).await, 404, &path).await;
    for unknown in [
        stock(StoreId::new()),
        "/api/v1/stores/nope/stock".to_owned(),
    ] {
        assert_problem(get(&w.app, &w.admin, &unknown, &[]).await, 404, &unknown).await;
    }
}

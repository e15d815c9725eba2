//! The reports over their own tables, worked out by hand on one day in Nairobi: shifts closed
//! in the period with each cashier's over/short, the inventory valuation of now (positive
//! levels only, at cost and at price, per store and category) and the stock movements per
//! kind.

use serde_json::{Value, json};

use super::{
    Chain, MOVEMENTS, SHIFTS_REPORT, VALUATION, id, project, projected_rows, sale_body, utc,
};
use crate::checkout_support::pay;

fn sorted(mut rows: Vec<Value>, key: &str) -> Vec<Value> {
    rows.sort_by_key(|r| r[key].to_string());
    rows
}

#[tokio::test]
async fn shifts_valuation_and_movements_add_up_by_hand() {
    // Arrange
    let c = Chain::new(utc("2026-04-16T12:00:00Z")).await;
    let store = c.store("SRP1", "KES", "Africa/Nairobi", true).await;
    let till2 = c.register(&store.id, "Till 2").await;
    let till3 = c.register(&store.id, "Till 3").await;
    let vat = c.tax("VAT", 1600).await;
    let hardware = c.category("Hardware").await;
    let garden = c.category("Garden").await;
    let seasonal = c.category("Seasonal").await;
    // Costs are half the price (`Chain::product`).
    let x = c.product("Hammer", 1_000, &vat, Some(&hardware)).await;
    let y = c.product("Rake", 250, &vat, Some(&garden)).await;
    let z = c.product("Nails", 90, &vat, Some(&hardware)).await;
    let w = c.product("Lantern", 400, &vat, Some(&seasonal)).await;
    let ana = c.user("cashier", &[&store], 0).await;
    let ben = c.user("cashier", &[&store], 0).await;
    let adjustments = format!("/api/v1/stores/{}/stock/adjustments", store.id);
    let close = |shift: &Value, counted: i64| {
        let c = &c;
        let path = format!("/api/v1/shifts/{}/close", id(shift));
        async move {
            c.post(&c.admin, &path, &json!({"counted_cash": counted}), 200)
                .await
        }
    };

    // Act: the day before (local 14 April), a shift closed 5.00 over.
    c.at(utc("2026-04-14T06:00:00Z"));
    let s0 = c.open(&ben.token, &till3).await;
    c.at(utc("2026-04-14T20:00:00Z"));
    close(&s0, 500).await;
    // 15 April, 08:00 local: stock in, two damaged units out.
    c.at(utc("2026-04-15T05:00:00Z"));
    for (item, units) in [(&x, 10), (&y, 4), (&z, 3), (&w, 2)] {
        c.receive(&store, item, units).await;
    }
    for (item, delta) in [(&y, -1), (&w, -2)] {
        let body = json!({"product_id": item.id, "delta": delta, "reason": "damage"});
        c.post(&c.admin, &adjustments, &body, 201).await;
    }
    c.at(utc("2026-04-15T05:30:00Z"));
    let s1 = c.open(&ana.token, &store.register).await;
    let s2 = c.open(&ben.token, &till2).await;
    let s3 = c.open(&ana.token, &till3).await;
    let line = |id: &str, q: i64| json!({"product_id": id, "quantity": q});
    let body = sale_body(&s1, vec![line(&x.id, 2)], vec![pay("cash", 2_000)]);
    let hammers = c
        .sell_at(utc("2026-04-15T06:00:00Z"), &ana.token, &body)
        .await;
    let body = sale_body(&s1, vec![line(&y.id, 1)], vec![pay("cash", 250)]);
    let rake = c
        .sell_at(utc("2026-04-15T06:10:00Z"), &ana.token, &body)
        .await;
    c.void_at(utc("2026-04-15T06:20:00Z"), &rake).await;
    let body = sale_body(&s2, vec![line(&z.id, 1)], vec![pay("cash", 90)]);
    c.sell_at(utc("2026-04-15T07:00:00Z"), &ben.token, &body)
        .await;
    let body = super::return_body(&hammers, None, &[(0, 1)], vec![pay("cash", 1_000)]);
    c.return_at(utc("2026-04-15T08:00:00Z"), &ana.token, &body)
        .await;
    // 21:00 local: expected 1 000, 90 and 0; counted 1 100, 40 and 30.
    c.at(utc("2026-04-15T18:00:00Z"));
    close(&s1, 1_100).await;
    c.at(utc("2026-04-15T18:05:00Z"));
    close(&s2, 40).await;
    c.at(utc("2026-04-15T18:10:00Z"));
    close(&s3, 30).await;

    // Assert: shifts.
    let day = [("from", "2026-04-15"), ("to", "2026-04-15")];
    let shifts = c.admin_report(SHIFTS_REPORT, &day).await;
    let fields = [
        "shift_id",
        "register_id",
        "cashier_id",
        "expected_cash",
        "counted_cash",
        "over_short",
    ];
    let row = |s: &Value, e: i64, counted: i64| {
        json!({"shift_id": s["id"], "register_id": s["register_id"], "cashier_id": s["cashier_id"],
            "expected_cash": e, "counted_cash": counted, "over_short": counted - e})
    };
    assert_eq!(
        sorted(projected_rows(&shifts, &fields), "shift_id"),
        sorted(
            vec![row(&s1, 1_000, 1_100), row(&s2, 90, 40), row(&s3, 0, 30)],
            "shift_id"
        ),
        "{shifts}"
    );
    for r in shifts["rows"].as_array().unwrap() {
        for field in ["opened_at", "closed_at"] {
            assert!(
                r[field].as_str().is_some_and(|t| t.ends_with('Z')),
                "{field}: {r}"
            );
        }
    }
    let cashiers = |report: &Value| {
        sorted(
            report["cashiers"]
                .as_array()
                .unwrap()
                .iter()
                .map(|c| project(c, &["cashier_id", "over_short"]))
                .collect(),
            "cashier_id",
        )
    };
    assert_eq!(
        cashiers(&shifts),
        sorted(
            vec![
                json!({"cashier_id": ana.id, "over_short": 130}),
                json!({"cashier_id": ben.id, "over_short": -50}),
            ],
            "cashier_id"
        ),
        "{shifts}"
    );
    assert_eq!(
        project(
            &shifts["totals"],
            &["expected_cash", "counted_cash", "over_short"]
        ),
        json!({"expected_cash": 1_090, "counted_cash": 1_170, "over_short": 80}),
        "{shifts}"
    );
    let both = c
        .admin_report(
            SHIFTS_REPORT,
            &[("from", "2026-04-14"), ("to", "2026-04-15")],
        )
        .await;
    assert_eq!(both["rows"].as_array().unwrap().len(), 4, "{both}");
    assert_eq!(
        cashiers(&both),
        sorted(
            vec![
                json!({"cashier_id": ana.id, "over_short": 130}),
                json!({"cashier_id": ben.id, "over_short": 450}),
            ],
            "cashier_id"
        ),
        "{both}"
    );

    // Movements per kind, that day and the day before.
    let movements = c.admin_report(MOVEMENTS, &day).await;
    assert_eq!(
        sorted(
            projected_rows(&movements, &["kind", "movements", "quantity"]),
            "kind"
        ),
        sorted(
            vec![
                json!({"kind": "receiving", "movements": 4, "quantity": 19}),
                json!({"kind": "damage", "movements": 2, "quantity": -3}),
                json!({"kind": "sale", "movements": 3, "quantity": -4}),
                json!({"kind": "void", "movements": 1, "quantity": 1}),
                json!({"kind": "return", "movements": 1, "quantity": 1}),
            ],
            "kind"
        ),
        "{movements}"
    );
    assert_eq!(
        project(&movements["totals"], &["movements", "quantity"]),
        json!({"movements": 11, "quantity": 14}),
        "{movements}"
    );
    let before = c
        .admin_report(MOVEMENTS, &[("from", "2026-04-14"), ("to", "2026-04-14")])
        .await;
    assert_eq!(before["rows"], json!([]), "{before}");

    // Valuation now: hammers 9, nails 2 (hardware); rakes 3 (garden); no lantern left.
    let valuation = c.admin_report(VALUATION, &[]).await;
    let fields = [
        "store_id",
        "category_id",
        "quantity",
        "cost_value",
        "retail_value",
    ];
    assert_eq!(
        sorted(projected_rows(&valuation, &fields), "category_id"),
        sorted(
            vec![
                json!({"store_id": store.id, "category_id": hardware, "quantity": 11,
                    "cost_value": 4_590, "retail_value": 9_180}),
                json!({"store_id": store.id, "category_id": garden, "quantity": 3,
                    "cost_value": 375, "retail_value": 750}),
            ],
            "category_id"
        ),
        "{valuation}"
    );
    assert_eq!(
        project(
            &valuation["totals"],
            &["quantity", "cost_value", "retail_value"]
        ),
        json!({"quantity": 14, "cost_value": 4_965, "retail_value": 9_930}),
        "{valuation}"
    );
}

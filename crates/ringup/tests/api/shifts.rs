//! Shifts (docs/CHECKOUT.md "Shifts"): one open shift per register, cash movements by the
//! shift's cashier or a manager, the X report while open, closing into the Z report with
//! `expected_cash` and `over_short` per the formula, and nothing more on a closed shift.

use ringup_core::ids::StoreId;
use serde_json::{Value, json};

use crate::checkout_model::{Disc, Figures};
use crate::checkout_support::{
    SHIFTS, Shop, cart_body, cl, conflict, expect, id, key, line, pay, problem, register_in,
    sale_body, shop, tender,
};
use crate::support::{error_fields, is_uuid_v7};

/// Every field of the shift view.
const SHIFT_FIELDS: [&str; 11] = [
    "id",
    "store_id",
    "register_id",
    "cashier_id",
    "status",
    "opening_float",
    "opened_at",
    "closed_at",
    "counted_cash",
    "expected_cash",
    "over_short",
];

/// Ids of the shifts the admin lists with `query`.
async fn listed(s: &Shop, query: &str) -> Vec<String> {
    s.list(SHIFTS, query).await.iter().map(id).collect()
}

#[tokio::test]
async fn opening_a_shift_answers_the_open_view_and_is_audited() {
    // Arrange
    let s = shop().await;
    let cashier = s.staff("cashier").await;
    let other = s.app.create_store("OTH2").await;
    let outsider = s.app.create_user("manager", &[other]).await;
    let employee = s.staff("employee").await;

    // Act
    let shift = s.open(&cashier.token, &s.register, 10_000).await;
    let path = format!("{SHIFTS}/{}", id(&shift));
    let fetched = expect(s.get(&cashier.token, &path).await, 200).await;

    // Assert
    for field in SHIFT_FIELDS {
        assert!(shift.get(field).is_some(), "`{field}` missing: {shift}");
    }
    assert!(is_uuid_v7(&id(&shift)), "{shift}");
    assert_eq!(shift["store_id"], s.store.to_string());
    assert_eq!(shift["register_id"], s.register.as_str());
    assert_eq!(shift["cashier_id"], cashier.id.as_str());
    assert_eq!(shift["status"], "open");
    assert_eq!(shift["opening_float"], 10_000);
    s.assert_now(&shift, "opened_at");
    for field in ["closed_at", "counted_cash", "expected_cash", "over_short"] {
        assert!(shift[field].is_null(), "{field}: {shift}");
    }
    assert_eq!(fetched, shift);
    let events = s.audited("shift.opened").await;
    assert_eq!(events.len(), 1, "{events:?}");
    assert_eq!(events[0]["target_id"], shift["id"]);
    assert_eq!(events[0]["actor_id"], cashier.id.as_str());
    assert_eq!(events[0]["store_id"], s.store.to_string());
    problem(s.get(&outsider.token, &path).await, 404).await;
    // Employees have no part in checkout, reads included.
    problem(s.get(&employee.token, &path).await, 403).await;
    problem(s.get(&employee.token, SHIFTS).await, 403).await;
    let report = format!("{path}/report");
    problem(s.get(&employee.token, &report).await, 403).await;
    problem(s.close(&employee.token, &shift, 10_000).await, 403).await;
    let unknown = format!("{SHIFTS}/{}", StoreId::new());
    problem(s.get(&s.admin, &unknown).await, 404).await;
}

#[tokio::test]
async fn a_register_has_one_open_shift_and_a_cashier_may_hold_several() {
    // Arrange
    let s = shop().await;
    let (first, second) = (s.staff("cashier").await, s.staff("cashier").await);
    let other_register = register_in(&s, s.store, "Till 2").await;
    let body = json!({"register_id": s.register, "opening_float": 0});

    // Act
    let open = s.open(&first.token, &s.register, 0).await;
    let taken = s.try_open(&second.token, &body).await;
    let again = s.try_open(&first.token, &body).await;
    let elsewhere = s.open(&first.token, &other_register, 500).await;
    expect(s.close(&first.token, &open, 0).await, 200).await;
    let next = s.open(&second.token, &s.register, 0).await;

    // Assert
    problem(taken, 409).await;
    problem(again, 409).await;
    assert_eq!(elsewhere["cashier_id"], first.id.as_str());
    assert_eq!(next["status"], "open");
    let (o, e, n) = (id(&open), id(&elsewhere), id(&next));
    let (o, e, n) = (o.as_str(), e.as_str(), n.as_str());
    assert_eq!(listed(&s, "").await, [o, e, n]);
    assert_eq!(
        listed(&s, &format!("register_id={}", s.register)).await,
        [o, n]
    );
    assert_eq!(listed(&s, "status=open").await, [e, n]);
    assert_eq!(listed(&s, "status=closed").await, [o]);
    assert_eq!(listed(&s, &format!("store_id={}", s.store)).await.len(), 3);
}

#[tokio::test]
async fn opening_inputs_are_validated_and_employees_are_403() {
    // Arrange
    let s = shop().await;
    let cashier = s.staff("cashier").await;
    let employee = s.staff("employee").await;
    let other = s.app.create_store("OTH2").await;
    let foreign = register_in(&s, other, "Elsewhere").await;
    let r = s.register.as_str();
    let cases = json!([
        ["register_id", {"register_id": StoreId::new().to_string(), "opening_float": 0}],
        ["register_id", {"register_id": "nope", "opening_float": 0}],
        ["register_id", {"register_id": foreign, "opening_float": 0}],
        ["opening_float", {"register_id": r, "opening_float": -1}],
        ["opening_float", {"register_id": r}],
        ["", {"register_id": r, "opening_float": 0, "till": 1}],
    ]);

    for case in cases.as_array().unwrap() {
        // Act
        let response = s.try_open(&cashier.token, &case[1]).await;

        // Assert
        let problem = problem(response, 422).await;
        let field = case[0].as_str().unwrap();
        let fields = error_fields(&problem);
        assert!(
            field.is_empty() || fields.iter().any(|f| f == field),
            "{case}: {problem}"
        );
    }
    let by_employee = s
        .try_open(
            &employee.token,
            &json!({"register_id": r, "opening_float": 0}),
        )
        .await;
    problem(by_employee, 403).await;
    assert!(listed(&s, "").await.is_empty());
    s.open(&cashier.token, r, 0).await;
}

#[tokio::test]
async fn cash_movements_are_the_cashiers_or_a_managers_and_validated() {
    // Arrange
    let s = shop().await;
    let (cashier, other) = (s.staff("cashier").await, s.staff("cashier").await);
    let manager = s.staff("manager").await;
    let employee = s.staff("employee").await;
    let shift = s.open(&cashier.token, &s.register, 1000).await;
    let long = "r".repeat(201);
    let cases = json!([
        ["kind", {"kind": "tip", "amount": 100, "reason": "x"}],
        ["kind", {"amount": 100, "reason": "x"}],
        ["amount", {"kind": "paid_in", "amount": 0, "reason": "x"}],
        ["amount", {"kind": "paid_out", "amount": -5, "reason": "x"}],
        ["reason", {"kind": "paid_in", "amount": 100, "reason": ""}],
        ["reason", {"kind": "paid_in", "amount": 100, "reason": long}],
        ["reason", {"kind": "paid_in", "amount": 100}],
    ]);

    // Act / Assert: refused
    for case in cases.as_array().unwrap() {
        let response = s.cash_movement(&cashier.token, &shift, &case[1]).await;
        let problem = problem(response, 422).await;
        let field = case[0].as_str().unwrap().to_owned();
        assert!(error_fields(&problem).contains(&field), "{case}: {problem}");
    }
    let body = json!({"kind": "paid_in", "amount": 100, "reason": "float top-up"});
    let response = s.cash_movement(&other.token, &shift, &body).await;
    problem(response, 403).await;
    problem(s.cash_movement(&employee.token, &shift, &body).await, 403).await;

    // Act / Assert: recorded
    let limit = json!({"kind": "paid_in", "amount": 500, "reason": "r".repeat(200)});
    let paid_in = s.cash_movement(&cashier.token, &shift, &limit).await;
    let paid_in = expect(paid_in, 201).await;
    let paid_out = s.paid(&manager.token, &shift, "paid_out", 200).await;
    for (m, kind, amount, actor) in [
        (&paid_in, "paid_in", 500, &cashier.id),
        (&paid_out, "paid_out", 200, &manager.id),
    ] {
        assert!(is_uuid_v7(&id(m)), "{m}");
        assert_eq!(m["shift_id"], shift["id"], "{m}");
        assert_eq!(m["kind"], kind, "{m}");
        assert_eq!(m["amount"], amount, "{m}");
        assert_eq!(m["actor_id"], actor.as_str(), "{m}");
        assert!(m["reason"].is_string(), "{m}");
        s.assert_now(m, "created_at");
    }
    let report = s.report(&shift).await;
    let figures = Figures {
        paid_in: 500,
        paid_out: 200,
        ..Figures::float(1000)
    };
    figures.assert_report(&report, None);
    assert_eq!(report["expected_cash"], 1300);
    // Closed: no more movements.
    expect(s.close(&cashier.token, &shift, 1300).await, 200).await;
    let late = s.cash_movement(&manager.token, &shift, &body).await;
    problem(late, 409).await;
}

/// The shift of the report tests: float 10000, three sales, paid in 500, paid out 200.
async fn busy_shift(s: &Shop, token: &str) -> (Value, Figures) {
    let a = s.stocked(1160, &s.standard, 20).await;
    let shift = s.open(token, &s.register, 10_000).await;
    let discounted = [cl(&a, 1, Some(Disc::Amount(160)))];
    let split = [
        tender("mobile_money", 600).with_ref("QK1"),
        tender("cash", 500),
    ];
    s.sell(
        token,
        &sale_body(&shift, vec![line(&a, 1)], vec![pay("cash", 2000)]),
    )
    .await;
    s.sell(
        token,
        &sale_body(&shift, vec![line(&a, 2)], vec![pay("card", 2320)]),
    )
    .await;
    s.sell(token, &cart_body(&shift, &discounted, None, &split))
        .await;
    s.paid(token, &shift, "paid_in", 500).await;
    s.paid(token, &shift, "paid_out", 200).await;
    // By hand: totals 1160 (tax 160), 2320 (tax 320), 1000 (tax round(137.93) = 138).
    let figures = Figures {
        sales_count: 3,
        gross: 4640,
        discounts: 160,
        tax: 618,
        net: 3862,
        total: 4480,
        tenders: [2500, 2320, 600, 0, 0],
        change_given: 940,
        paid_in: 500,
        paid_out: 200,
        ..Figures::float(10_000)
    };
    (shift, figures)
}

#[tokio::test]
async fn the_x_report_adds_up_sales_tenders_and_cash_movements() {
    // Arrange
    let s = shop().await;
    let cashier = s.staff("cashier").await;
    let (shift, figures) = busy_shift(&s, &cashier.token).await;

    // Act
    let report = s.report(&shift).await;
    let own = s
        .get(&cashier.token, &format!("{SHIFTS}/{}/report", id(&shift)))
        .await;

    // Assert
    figures.assert_report(&report, None);
    assert_eq!(
        report["expected_cash"], 11_860,
        "10000 + 2500 − 940 + 500 − 200"
    );
    assert_eq!(report["shift_id"], shift["id"]);
    assert_eq!(report["cashier_id"], cashier.id.as_str());
    assert_eq!(report["register_id"], s.register.as_str());
    assert_eq!(report["store_id"], s.store.to_string());
    assert_eq!(report["opened_at"], shift["opened_at"]);
    assert_eq!(expect(own, 200).await, report);
}

#[tokio::test]
async fn closing_answers_the_z_report_with_expected_cash_and_over_short() {
    // Arrange
    let s = shop().await;
    let (cashier, other) = (s.staff("cashier").await, s.staff("cashier").await);
    let (shift, figures) = busy_shift(&s, &cashier.token).await;
    let path = format!("{SHIFTS}/{}/close", id(&shift));

    // Act
    let by_other = s.close(&other.token, &shift, 11_800).await;
    let negative = s.close(&cashier.token, &shift, -1).await;
    let closed = expect(s.close(&cashier.token, &shift, 11_800).await, 200).await;
    let twice = s.close(&cashier.token, &shift, 11_800).await;
    let report = s.report(&shift).await;
    let view = s.read(&format!("{SHIFTS}/{}", id(&shift))).await;

    // Assert
    problem(by_other, 403).await;
    let negative = problem(negative, 422).await;
    assert_eq!(error_fields(&negative), ["counted_cash"], "{path}");
    assert_eq!(closed["id"], shift["id"]);
    assert_eq!(closed["status"], "closed");
    assert_eq!(closed["expected_cash"], 11_860);
    assert_eq!(closed["counted_cash"], 11_800);
    assert_eq!(closed["over_short"], -60);
    figures.assert_report(&closed["report"], Some(11_800));
    assert_eq!(closed["report"], report, "GET answers the same Z report");
    problem(twice, 409).await;
    assert_eq!(view["status"], "closed");
    assert_eq!(view["expected_cash"], 11_860);
    assert_eq!(view["counted_cash"], 11_800);
    assert_eq!(view["over_short"], -60);
    s.assert_now(&view, "closed_at");
    assert_eq!(report["closed_at"], view["closed_at"]);
    let events = s.audited("shift.closed").await;
    assert_eq!(events.len(), 1, "{events:?}");
    assert_eq!(events[0]["target_id"], shift["id"]);
    // Nothing more happens on it.
    let a = s.stocked(100, &s.standard, 1).await;
    let sale = sale_body(&shift, vec![line(&a, 1)], vec![pay("cash", 100)]);
    let late = s.try_sell(&cashier.token, &sale, Some(&key())).await;
    conflict(late, "shift-closed").await;
    assert_eq!(s.report(&shift).await, report);
}

#[tokio::test]
async fn a_manager_closes_a_cashiers_shift_and_over_short_may_be_positive() {
    // Arrange
    let s = shop().await;
    let cashier = s.staff("cashier").await;
    let manager = s.staff("manager").await;
    let shift = s.open(&cashier.token, &s.register, 2500).await;

    // Act
    let closed = expect(s.close(&manager.token, &shift, 2550).await, 200).await;

    // Assert
    assert_eq!(closed["expected_cash"], 2500);
    assert_eq!(closed["over_short"], 50);
    Figures::float(2500).assert_report(&closed["report"], Some(2550));
    assert_eq!(closed["report"]["cashier_id"], cashier.id.as_str());
}

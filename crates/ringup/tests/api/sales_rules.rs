//! Refused sales (docs/CHECKOUT.md "Sales"): tender rules (split tenders, change only from
//! cash, never more change than cash, no underpaying, known methods, no reference on cash),
//! line and cart discount rules, unknown ids named by field, the `unit_price` override for
//! managers only, the required `Idempotency-Key`, employees' 403. Every refused sale writes
//! nothing: no sale, no movement, no stock change, no number.

use serde_json::{Value, json};

use crate::checkout_support::{
    CODE, SALES, Shop, conflict, expect, id, key, line, number, pay, problem, register_in,
    sale_body, shop,
};
use crate::support::error_fields;

/// Nothing was sold: no sale listed, no `sale` movement, `units` of each of `items` on hand.
async fn assert_nothing_sold(s: &Shop, items: &[&str], units: i64) {
    assert!(s.list(SALES, "").await.is_empty(), "no sale");
    assert!(s.moves("sale").await.is_empty(), "no movement");
    for item in items {
        assert_eq!(s.on_hand(s.store, item).await, units);
    }
    assert!(s.audited("sale.completed").await.is_empty());
}

/// Asserts a 422 whose `errors` name `field`.
async fn names(response: reqwest::Response, field: &str, case: &Value) {
    let problem = problem(response, 422).await;
    let fields = error_fields(&problem);
    assert!(
        fields.iter().any(|f| f == field),
        "{case}: expected `{field}` in {problem}"
    );
}

#[tokio::test]
async fn payment_rules_are_422_naming_the_field_and_write_nothing() {
    // Arrange: one line of 1000.
    let s = shop().await;
    let cashier = s.staff("cashier").await;
    let a = s.stocked(1000, &s.standard, 10).await;
    let shift = s.open(&cashier.token, &s.register, 0).await;
    let cases = json!([
        // A card may not be overpaid: there would be change without cash.
        ["payments", [{"method": "card", "amount": 1500}]],
        // Change 250 is more than the 100 of cash tendered.
        ["payments", [{"method": "cash", "amount": 100}, {"method": "card", "amount": 1150}]],
        ["payments", [{"method": "cash", "amount": 999}]],
        ["payments", [{"method": "cash", "amount": 500}, {"method": "voucher", "amount": 499}]],
        ["payments", []],
        ["payments[1].method", [{"method": "cash", "amount": 500}, {"method": "cheque", "amount": 500}]],
        ["payments[0].method", [{"method": "Cash", "amount": 1000}]],
        ["payments[0].reference", [{"method": "cash", "amount": 1000, "reference": "R-1"}]],
        ["payments[1].amount", [{"method": "card", "amount": 1000}, {"method": "cash", "amount": 0}]],
        ["payments[0].amount", [{"method": "card", "amount": -5}, {"method": "cash", "amount": 1005}]],
    ]);

    for case in cases.as_array().unwrap() {
        // Act
        let (field, payments) = (case[0].as_str().unwrap(), case[1].as_array().unwrap());
        let body = sale_body(&shift, vec![line(&a, 1)], payments.clone());
        let response = s.try_sell(&cashier.token, &body, Some(&key())).await;

        // Assert
        names(response, field, case).await;
    }
    assert_nothing_sold(&s, &[&a.id], 10).await;
    // What the rules allow: exact split tenders, cash change, a null reference on cash.
    let allowed = [
        json!([{"method": "card", "amount": 1000, "reference": "AUTH-1"}]),
        json!([{"method": "cash", "amount": 100}, {"method": "card", "amount": 900}]),
        json!([{"method": "mobile_money", "amount": 400}, {"method": "cash", "amount": 5000}]),
        json!([{"method": "cash", "amount": 1000, "reference": null}]),
        json!([{"method": "voucher", "amount": 300}, {"method": "other", "amount": 200},
            {"method": "cash", "amount": 500}]),
    ];
    let mut changes = Vec::new();
    for payments in allowed {
        let body = sale_body(
            &shift,
            vec![line(&a, 1)],
            payments.as_array().unwrap().clone(),
        );
        let sale = s.sell(&cashier.token, &body).await;
        changes.push((sale["number"].clone(), sale["change"].clone()));
    }
    let want: Vec<(Value, Value)> = [0, 0, 4400, 0, 0]
        .iter()
        .zip(1..)
        .map(|(change, n)| (json!(number(CODE, n)), json!(change)))
        .collect();
    assert_eq!(
        changes, want,
        "numbered from 1: the refused sales took none"
    );
}

#[tokio::test]
async fn line_cart_and_reference_rules_are_422_naming_the_field_and_write_nothing() {
    // Arrange: two lines of 1000.
    let s = shop().await;
    let cashier = s.staff("cashier").await;
    let (a, b) = (
        s.stocked(1000, &s.standard, 10).await,
        s.stocked(1000, &s.reduced, 10).await,
    );
    let other = s.app.create_store("OTH2").await;
    let foreign_register = register_in(&s, other, "Elsewhere").await;
    let second_register = register_in(&s, s.store, "Till 2").await;
    let shift = s.open(&cashier.token, &s.register, 0).await;
    let second_shift = s.open(&s.admin, &second_register, 0).await;
    let valid = sale_body(
        &shift,
        vec![line(&a, 1), line(&b, 1)],
        vec![pay("cash", 2000)],
    );
    let unknown = ringup_core::ids::StoreId::new().to_string();
    let many: Vec<Value> = (0..101).map(|_| line(&a, 1)).collect();
    // [field, JSON pointer, new value]
    let cases = json!([
        ["lines[0].discount.percent_bp", "/lines/0/discount", {"percent_bp": 10001}],
        ["lines[0].discount.percent_bp", "/lines/0/discount", {"percent_bp": -1}],
        ["lines[0].discount.amount", "/lines/0/discount", {"amount": -1}],
        ["lines[0].discount", "/lines/0/discount", {"percent_bp": 100, "amount": 5}],
        ["lines[0].discount", "/lines/0/discount", {}],
        ["lines[1].discount", "/lines/1/discount", {"amount": 1001}],
        ["discount", "/discount", {"amount": 2001}],
        ["discount.percent_bp", "/discount", {"percent_bp": 10001}],
        ["discount.amount", "/discount", {"amount": -3}],
        ["discount", "/discount", {"percent_bp": 10, "amount": 1}],
        ["lines[1].product_id", "/lines/1/product_id", unknown],
        ["lines[1].product_id", "/lines/1/product_id", "not-a-product"],
        ["lines[0].quantity", "/lines/0/quantity", 0],
        ["lines[1].quantity", "/lines/1/quantity", -2],
        ["lines", "/lines", []],
        ["lines", "/lines", many],
        ["register_id", "/register_id", unknown],
        ["register_id", "/register_id", foreign_register],
        ["store_id", "/store_id", unknown],
        ["shift_id", "/shift_id", unknown],
        ["shift_id", "/shift_id", second_shift["id"]],
        ["customer_id", "/customer_id", unknown],
        ["", "/colour", "red"],
    ]);

    for case in cases.as_array().unwrap() {
        // Act
        let (field, pointer) = (case[0].as_str().unwrap(), case[1].as_str().unwrap());
        let mut body = valid.clone();
        match body.pointer_mut(pointer) {
            Some(slot) => *slot = case[2].clone(),
            None => {
                let (parent, name) = pointer.rsplit_once('/').unwrap();
                let parent = body.pointer_mut(parent).unwrap();
                parent[name] = case[2].clone();
            }
        }
        let response = s.try_sell(&cashier.token, &body, Some(&key())).await;

        // Assert
        if field.is_empty() {
            problem(response, 422).await;
        } else {
            names(response, field, case).await;
        }
    }
    assert_nothing_sold(&s, &[&a.id, &b.id], 10).await;
    // The limits themselves: 100 % off one line and a discount equal to the other's amount
    // make a sale of 0, which needs no payment.
    let mut free = valid.clone();
    free["lines"][0]["discount"] = json!({"percent_bp": 10000});
    free["lines"][1]["discount"] = json!({"amount": 1000});
    free["payments"] = json!([]);
    let sale = s.sell(&cashier.token, &free).await;
    assert_eq!(
        (sale["total"].clone(), sale["paid"].clone()),
        (json!(0), json!(0))
    );
    assert_eq!(sale["number"], number(CODE, 1));
    let mut whole_cart = valid.clone();
    whole_cart["discount"] = json!({"amount": 2000});
    whole_cart["payments"] = json!([]);
    let sale = s.sell(&cashier.token, &whole_cart).await;
    assert_eq!(sale["discount_total"], 2000);
}

#[tokio::test]
async fn a_price_override_is_for_managers_and_admins_only() {
    // Arrange
    let s = shop().await;
    let cashier = s.staff("cashier").await;
    let manager = s.staff("manager").await;
    let a = s.stocked(1000, &s.standard, 10).await;
    let second_register = register_in(&s, s.store, "Till 2").await;
    let till = s.open(&cashier.token, &s.register, 0).await;
    let office = s.open(&manager.token, &second_register, 0).await;
    let overridden = |shift: &Value, price: i64| {
        let mut l = line(&a, 2);
        l["unit_price"] = json!(price);
        sale_body(shift, vec![l], vec![pay("cash", (2 * price).max(100))])
    };

    // Act
    let by_cashier = s
        .try_sell(&cashier.token, &overridden(&till, 700), Some(&key()))
        .await;
    let negative = s
        .try_sell(&manager.token, &overridden(&office, -1), Some(&key()))
        .await;
    let by_manager = s.sell(&manager.token, &overridden(&office, 700)).await;

    // Assert
    problem(by_cashier, 403).await;
    names(negative, "lines[0].unit_price", &json!("-1")).await;
    assert_eq!(by_manager["lines"][0]["unit_price"], 700);
    assert_eq!(by_manager["subtotal"], 1400);
    assert_eq!(by_manager["total"], 1400);
    assert_eq!(by_manager["cashier_id"], manager.id.as_str());
    assert_eq!(by_manager["number"], number(CODE, 1));
    assert_eq!(s.on_hand(s.store, &a.id).await, 8);
}

#[tokio::test]
async fn the_key_is_required_employees_are_403_and_other_stores_are_not_visible() {
    // Arrange
    let s = shop().await;
    let cashier = s.staff("cashier").await;
    let employee = s.staff("employee").await;
    let other = s.app.create_store("OTH2").await;
    let stranger = s.app.create_user("cashier", &[other]).await;
    let a = s.stocked(100, &s.standard, 10).await;
    let shift = s.open(&cashier.token, &s.register, 0).await;
    let body = sale_body(&shift, vec![line(&a, 1)], vec![pay("cash", 100)]);

    // Act
    let keyless = s.try_sell(&cashier.token, &body, None).await;
    let by_employee = s.try_sell(&employee.token, &body, Some(&key())).await;
    let by_stranger = s.try_sell(&stranger.token, &body, Some(&key())).await;

    // Assert
    let keyless = problem(keyless, 422).await;
    assert_eq!(error_fields(&keyless), ["Idempotency-Key"]);
    problem(by_employee, 403).await;
    names(by_stranger, "store_id", &body).await;
    assert_nothing_sold(&s, &[&a.id], 10).await;
    let sale = s.sell(&cashier.token, &body).await;
    assert_eq!(sale["number"], number(CODE, 1));
    let path = format!("{SALES}/{}", id(&sale));
    let fetched = expect(s.get(&cashier.token, &path).await, 200).await;
    assert_eq!(fetched, sale);
}

#[tokio::test]
async fn a_sale_on_a_closed_shift_is_409_and_on_another_cashiers_shift_403() {
    // Arrange
    let s = shop().await;
    let (owner, other) = (s.staff("cashier").await, s.staff("cashier").await);
    let a = s.stocked(100, &s.standard, 10).await;
    let shift = s.open(&owner.token, &s.register, 0).await;
    let body = sale_body(&shift, vec![line(&a, 1)], vec![pay("cash", 100)]);

    // Act
    let foreign = s.try_sell(&other.token, &body, Some(&key())).await;
    expect(s.close(&owner.token, &shift, 0).await, 200).await;
    let closed = s.try_sell(&owner.token, &body, Some(&key())).await;

    // Assert
    problem(foreign, 403).await;
    conflict(closed, "shift-closed").await;
    assert_nothing_sold(&s, &[&a.id], 10).await;
}

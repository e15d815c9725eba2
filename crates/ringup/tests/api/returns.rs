//! Returns (docs/API.md "Checkout", docs/CHECKOUT.md "Returns"): partial returns refund the
//! cumulative rounded share of a line's total and never more than was sold; the refunds must
//! add up to exactly what is due; restocked lines are `return` movements, others none; a
//! voided sale takes no return and a returned sale no void; a return belongs to the open shift
//! of the register it is made at, and shows in that shift's report.

use serde_json::{Value, json};

use crate::checkout_model::{Disc, Figures, refund_due};
use crate::checkout_support::{
    RETURNS, Shop, cart_body, cl, conflict, expect, id, int, key, line, pay, problem, register_in,
    return_body, sale_body, shop, tender,
};
use crate::support::{error_fields, header, is_uuid_v7};

const RETURN_FIELDS: [&str; 11] = [
    "id",
    "sale_id",
    "store_id",
    "register_id",
    "shift_id",
    "cashier_id",
    "reason",
    "lines",
    "refunds",
    "total",
    "created_at",
];

/// A 409 naming `lines[0].quantity`.
async fn over_returned(response: reqwest::Response) {
    let problem = problem(response, 409).await;
    assert_eq!(error_fields(&problem), ["lines[0].quantity"], "{problem}");
}

/// A shop, a cashier's shift (float 0) and a sale of 3 units for a line total of 1000
/// (3 × 400 − 200), paid 1000 in cash.
async fn sold_three(s: &Shop, token: &str) -> (Value, Value) {
    let p = s.stocked(400, &s.standard, 10).await;
    let shift = s.open(token, &s.register, 0).await;
    let lines = [cl(&p, 3, Some(Disc::Amount(200)))];
    let sale = s
        .sell(
            token,
            &cart_body(&shift, &lines, None, &[tender("cash", 1000)]),
        )
        .await;
    assert_eq!(sale["lines"][0]["total"], 1000);
    (shift, sale)
}

#[tokio::test]
async fn partial_returns_refund_the_cumulative_rounded_share_and_never_more_than_sold() {
    // Arrange
    let s = shop().await;
    let cashier = s.staff("cashier").await;
    let t = &cashier.token;
    let (shift, sale) = sold_three(&s, t).await;
    let l = &sale["lines"][0];
    let body = |q: i64, refunds: Vec<Value>| return_body(&sale, &[(l, q, true)], refunds);

    // Act / Assert: the first unit is due round(1000 / 3) = 333, exactly.
    assert_eq!(refund_due(1000, 3, 0, 1), 333);
    for wrong in [334, 332] {
        let response = s
            .try_return(t, &body(1, vec![pay("cash", wrong)]), Some(&key()))
            .await;
        let problem = problem(response, 422).await;
        assert_eq!(error_fields(&problem), ["refunds"], "{wrong}: {problem}");
    }
    let too_many = s
        .try_return(t, &body(4, vec![pay("cash", 1333)]), Some(&key()))
        .await;
    over_returned(too_many).await;
    let first = s.give_back(t, &body(1, vec![pay("cash", 333)])).await;
    // 3 would exceed the 2 left; the second unit is due round(2000 / 3) − 333 = 334.
    let response = s
        .try_return(t, &body(3, vec![pay("cash", 667)]), Some(&key()))
        .await;
    over_returned(response).await;
    let split = vec![
        json!({"method": "card", "amount": 300, "reference": "RF-1"}),
        pay("cash", 34),
    ];
    let second = s.give_back(t, &body(1, split)).await;
    let response = s
        .try_return(t, &body(2, vec![pay("cash", 666)]), Some(&key()))
        .await;
    over_returned(response).await;
    let third = s.give_back(t, &body(1, vec![pay("card", 333)])).await;
    let response = s
        .try_return(t, &body(1, vec![pay("cash", 333)]), Some(&key()))
        .await;
    over_returned(response).await;

    // Assert
    let refunds: Vec<i64> = [&first, &second, &third]
        .iter()
        .map(|r| int(r, "total"))
        .collect();
    assert_eq!(refunds, [333, 334, 333], "the whole line total, never more");
    for field in RETURN_FIELDS {
        assert!(first.get(field).is_some(), "`{field}` missing: {first}");
    }
    assert!(is_uuid_v7(&id(&first)), "{first}");
    assert_eq!(first["sale_id"], sale["id"]);
    assert_eq!(first["store_id"], s.store.to_string());
    assert_eq!(first["register_id"], s.register.as_str());
    assert_eq!(first["shift_id"], shift["id"]);
    assert_eq!(first["cashier_id"], cashier.id.as_str());
    assert_eq!(first["reason"], "changed mind");
    let want = json!([{"sale_line_id": l["id"], "product_id": l["product_id"], "quantity": 1,
        "restock": true, "refund": 333}]);
    assert_eq!(first["lines"], want);
    assert_eq!(
        first["refunds"],
        json!([{"method": "cash", "amount": 333, "reference": null}])
    );
    assert_eq!(
        second["refunds"],
        json!([{"method": "card", "amount": 300, "reference": "RF-1"},
            {"method": "cash", "amount": 34, "reference": null}])
    );
    s.assert_now(&first, "created_at");
    let fetched = s.read(&format!("{RETURNS}/{}", id(&first))).await;
    assert_eq!(fetched, first);
    let listed = s.list(RETURNS, &format!("sale_id={}", id(&sale))).await;
    assert_eq!(
        listed.iter().map(id).collect::<Vec<_>>(),
        [id(&first), id(&second), id(&third)]
    );
    assert_eq!(s.audited("return.completed").await.len(), 3);
    let mut figures = Figures {
        sales_count: 1,
        gross: 1200,
        discounts: 200,
        tax: 138,
        net: 862,
        total: 1000,
        tenders: [1000, 0, 0, 0, 0],
        ..Figures::default()
    };
    figures.refund(&[tender("cash", 333)]);
    figures.refund(&[tender("card", 300), tender("cash", 34)]);
    figures.refund(&[tender("card", 333)]);
    let report = s.report(&shift).await;
    figures.assert_report(&report, None);
    assert_eq!(report["returns_total"], 1000);
    assert_eq!(report["expected_cash"], 1000 - 367);
    assert_eq!(
        s.on_hand(s.store, l["product_id"].as_str().unwrap()).await,
        10
    );
    s.assert_ledger().await;
}

#[tokio::test]
async fn restocked_lines_are_return_movements_and_others_are_not() {
    // Arrange
    let s = shop().await;
    let cashier = s.staff("cashier").await;
    let (a, b) = (
        s.stocked(500, &s.standard, 10).await,
        s.stocked(300, &s.reduced, 10).await,
    );
    let shift = s.open(&cashier.token, &s.register, 0).await;
    let body = sale_body(
        &shift,
        vec![line(&a, 2), line(&b, 4)],
        vec![pay("cash", 2200)],
    );
    let sale = s.sell(&cashier.token, &body).await;
    let (la, lb) = (&sale["lines"][0], &sale["lines"][1]);

    // Act
    let lines = [(la, 1, true), (lb, 3, false)];
    let back = return_body(&sale, &lines, vec![pay("cash", 500 + 900)]);
    let answer = s.give_back(&cashier.token, &back).await;

    // Assert
    assert_eq!(answer["total"], 1400);
    assert_eq!(answer["lines"][0]["restock"], true);
    assert_eq!(answer["lines"][1]["restock"], false);
    assert_eq!(answer["lines"][1]["refund"], 900);
    let moves = s.moves("return").await;
    assert_eq!(moves.len(), 1, "{moves:?}");
    assert_eq!(moves[0]["product_id"], a.id.as_str());
    assert_eq!(moves[0]["delta"], 1);
    assert_eq!(moves[0]["store_id"], s.store.to_string());
    assert_eq!(s.on_hand(s.store, &a.id).await, 9);
    assert_eq!(s.on_hand(s.store, &b.id).await, 6, "not restocked");
    s.assert_ledger().await;
}

#[tokio::test]
async fn return_rules_are_422_naming_the_field_and_write_nothing() {
    // Arrange
    let s = shop().await;
    let cashier = s.staff("cashier").await;
    let employee = s.staff("employee").await;
    let t = &cashier.token;
    let (shift, sale) = sold_three(&s, t).await;
    let p = sale["lines"][0]["product_id"].as_str().unwrap().to_owned();
    let q = s.stocked(100, &s.standard, 5).await;
    let other_sale = sale_body(&shift, vec![line(&q, 1)], vec![pay("cash", 100)]);
    let other_sale = s.sell(t, &other_sale).await;
    let foreign = register_in(&s, s.app.create_store("OTH2").await, "Elsewhere").await;
    let l = &sale["lines"][0];
    let valid = return_body(&sale, &[(l, 1, true)], vec![pay("cash", 333)]);
    let unknown = ringup_core::ids::StoreId::new().to_string();
    let twice = json!([{"sale_line_id": l["id"], "quantity": 1, "restock": true},
        {"sale_line_id": l["id"], "quantity": 1, "restock": true}]);
    // [field ("" when any), JSON pointer, new value]
    let cases = json!([
        ["sale_id", "/sale_id", unknown],
        ["sale_id", "/sale_id", "nope"],
        ["lines[0].sale_line_id", "/lines/0/sale_line_id", other_sale["lines"][0]["id"]],
        ["lines[0].sale_line_id", "/lines/0/sale_line_id", unknown],
        ["", "/lines", twice],
        ["lines[0].quantity", "/lines/0/quantity", 0],
        ["lines[0].quantity", "/lines/0/quantity", -1],
        ["", "/lines", []],
        ["refunds[0].method", "/refunds/0/method", "cheque"],
        ["refunds[0].amount", "/refunds", [{"method": "cash", "amount": 0},
            {"method": "card", "amount": 333}]],
        ["refunds", "/refunds", []],
        ["register_id", "/register_id", foreign],
        ["register_id", "/register_id", unknown],
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
                body.pointer_mut(parent).unwrap()[name] = case[2].clone();
            }
        }
        let response = s.try_return(t, &body, Some(&key())).await;

        // Assert
        let problem = problem(response, 422).await;
        let fields = error_fields(&problem);
        assert!(
            field.is_empty() || fields.iter().any(|f| f == field),
            "{case}: {problem}"
        );
    }
    let keyless = s.try_return(t, &valid, None).await;
    let keyless = problem(keyless, 422).await;
    assert_eq!(error_fields(&keyless), ["Idempotency-Key"]);
    problem(
        s.try_return(&employee.token, &valid, Some(&key())).await,
        403,
    )
    .await;
    assert!(s.list(RETURNS, "").await.is_empty());
    assert!(s.moves("return").await.is_empty());
    assert_eq!(s.on_hand(s.store, &p).await, 7);
    assert!(s.audited("return.completed").await.is_empty());
    // The valid body itself is accepted, once; its replay answers the same return.
    let first = s.try_return(t, &valid, Some("return-1")).await;
    let first = expect(first, 201).await;
    let again = s.try_return(t, &valid, Some("return-1")).await;
    assert_eq!(
        header(&again, "idempotent-replayed").as_deref(),
        Some("true")
    );
    assert_eq!(expect(again, 201).await, first);
    assert_eq!(s.list(RETURNS, "").await.len(), 1);
    assert_eq!(s.moves("return").await.len(), 1);
    assert_eq!(s.audited("return.completed").await.len(), 1);
    assert_eq!(s.on_hand(s.store, &p).await, 8);
    // Employees have no part in checkout, reads included.
    problem(s.get(&employee.token, RETURNS).await, 403).await;
    let path = format!("{RETURNS}/{}", id(&first));
    problem(s.get(&employee.token, &path).await, 403).await;
    assert_eq!(expect(s.get(t, &path).await, 200).await, first);
}

#[tokio::test]
async fn a_voided_sale_takes_no_return_and_a_returned_sale_no_void() {
    // Arrange
    let s = shop().await;
    let cashier = s.staff("cashier").await;
    let manager = s.staff("manager").await;
    let t = &cashier.token;
    let a = s.stocked(100, &s.standard, 10).await;
    let shift = s.open(t, &s.register, 0).await;
    let body = sale_body(&shift, vec![line(&a, 2)], vec![pay("cash", 200)]);
    let (voided, returned) = (s.sell(t, &body).await, s.sell(t, &body).await);
    expect(s.void(&manager.token, &voided, "wrong till").await, 200).await;
    let l = |sale: &Value| sale["lines"][0].clone();
    let back = |sale: &Value| return_body(sale, &[(&l(sale), 1, true)], vec![pay("cash", 100)]);
    s.give_back(t, &back(&returned)).await;

    // Act
    let on_voided = s.try_return(t, &back(&voided), Some(&key())).await;
    let void_returned = s.void(&manager.token, &returned, "too late").await;

    // Assert
    problem(on_voided, 409).await;
    problem(void_returned, 409).await;
    assert_eq!(s.list(RETURNS, "").await.len(), 1);
    assert_eq!(s.moves("void").await.len(), 1);
    assert_eq!(s.on_hand(s.store, &a.id).await, 10 - 4 + 2 + 1);
    s.assert_ledger().await;
}

#[tokio::test]
async fn a_return_belongs_to_the_open_shift_of_its_register() {
    // Arrange
    let s = shop().await;
    let (first, second) = (s.staff("cashier").await, s.staff("cashier").await);
    let counter = register_in(&s, s.store, "Returns desk").await;
    let idle = register_in(&s, s.store, "Idle").await;
    let a = s.stocked(100, &s.standard, 10).await;
    let shift = s.open(&first.token, &s.register, 0).await;
    let desk = s.open(&first.token, &counter, 0).await;
    let body = sale_body(&shift, vec![line(&a, 5)], vec![pay("cash", 500)]);
    let sale = s.sell(&first.token, &body).await;
    let l = sale["lines"][0].clone();
    let back = |register: Option<&str>, refund: Value| {
        let mut body = return_body(&sale, &[(&l, 1, true)], vec![refund]);
        if let Some(register) = register {
            body["register_id"] = json!(register);
        }
        body
    };

    // Act
    let at_desk = s
        .give_back(&first.token, &back(Some(&counter), pay("card", 100)))
        .await;
    let nowhere = s
        .try_return(
            &first.token,
            &back(Some(&idle), pay("cash", 100)),
            Some(&key()),
        )
        .await;
    let not_theirs = s
        .try_return(&second.token, &back(None, pay("cash", 100)), Some(&key()))
        .await;
    expect(s.close(&first.token, &shift, 500).await, 200).await;
    let reopened = s.open(&second.token, &s.register, 0).await;
    let later = s
        .give_back(&second.token, &back(None, pay("cash", 100)))
        .await;

    // Assert
    assert_eq!(at_desk["register_id"], counter.as_str());
    assert_eq!(at_desk["shift_id"], desk["id"]);
    conflict(nowhere, "shift-closed").await;
    problem(not_theirs, 403).await;
    assert_eq!(later["register_id"], s.register.as_str());
    assert_eq!(later["shift_id"], reopened["id"]);
    assert_eq!(later["cashier_id"], second.id.as_str());
    let mut desk_figures = Figures::default();
    desk_figures.refund(&[tender("card", 100)]);
    desk_figures.assert_report(&s.report(&desk).await, None);
    let mut reopened_figures = Figures::default();
    reopened_figures.refund(&[tender("cash", 100)]);
    let report = s.report(&reopened).await;
    reopened_figures.assert_report(&report, None);
    assert_eq!(report["expected_cash"], -100, "cash left the drawer");
    let closed = s.report(&shift).await;
    assert_eq!(
        (int(&closed, "returns_count"), int(&closed, "sales_count")),
        (0, 1)
    );
    assert_eq!(s.on_hand(s.store, &a.id).await, 7);
    let by_shift = s.list(RETURNS, &format!("shift_id={}", id(&desk))).await;
    assert_eq!(by_shift.iter().map(id).collect::<Vec<_>>(), [id(&at_desk)]);
    let by_store = s.list(RETURNS, &format!("store_id={}", s.store)).await;
    assert_eq!(
        by_store.iter().map(id).collect::<Vec<_>>(),
        [id(&at_desk), id(&later)]
    );
}

//! Checkout under concurrent requests, each from its own tokio task on a multi-threaded
//! runtime, released together: racing sales never sell a unit twice and their numbers stay
//! gapless; racing duplicates of one `Idempotency-Key` make one sale; racing returns never
//! return more than was sold; a void racing returns, or a close racing sales, leaves one
//! consistent outcome; one open shift per register under a race. After every test the ledger
//! check finds no offence.

use std::sync::Arc;

use futures::future::join_all;
use reqwest::Response;
use serde_json::{Value, json};

use crate::checkout_model::{Figures, price};
use crate::checkout_support::{
    CODE, RETURNS, SALES, SHIFTS, Shop, cl, id, key, line, number, pay, register_in, return_body,
    sale_body, shop, tender,
};
use crate::support::header;

/// Status, `Idempotent-Replayed` and body of one response.
type Outcome = (u16, Option<String>, Value);

async fn outcome(response: Response) -> Outcome {
    let status = response.status().as_u16();
    let replayed = header(&response, "idempotent-replayed");
    let text = response.text().await.unwrap();
    let body = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{status} {e}: {text}"));
    (status, replayed, body)
}

/// One POST of a race: path, token, body, `Idempotency-Key`.
type Call = (String, String, Value, Option<String>);

/// Sends every call from its own task, all released at once; outcomes in call order.
async fn race(s: &Shop, calls: Vec<Call>) -> Vec<Outcome> {
    let gate = Arc::new(tokio::sync::Barrier::new(calls.len()));
    let tasks = calls.into_iter().map(|(path, token, body, key)| {
        let (client, url, gate) = (s.app.client.clone(), s.app.url(&path), gate.clone());
        tokio::spawn(async move {
            let mut request = client.post(url).bearer_auth(token).json(&body);
            if let Some(key) = key {
                request = request.header("idempotency-key", key);
            }
            gate.wait().await;
            outcome(request.send().await.unwrap()).await
        })
    });
    join_all(tasks)
        .await
        .into_iter()
        .map(Result::unwrap)
        .collect()
}

/// `n` sales of `body` as `token`, each with a fresh key.
fn sales(token: &str, body: &Value, n: usize) -> Vec<Call> {
    let call = |_| {
        (
            SALES.to_owned(),
            token.to_owned(),
            body.clone(),
            Some(key()),
        )
    };
    (0..n).map(call).collect()
}

fn with_status(outcomes: &[Outcome], status: u16) -> Vec<&Value> {
    let matching = outcomes.iter().filter(|(s, _, _)| *s == status);
    matching.map(|(_, _, body)| body).collect()
}

/// Sorted sale numbers of the 201 answers.
fn numbers(outcomes: &[Outcome]) -> Vec<String> {
    let mut numbers: Vec<String> = with_status(outcomes, 201)
        .iter()
        .map(|sale| sale["number"].as_str().unwrap().to_owned())
        .collect();
    numbers.sort();
    numbers
}

fn first_numbers(code: &str, n: u32) -> Vec<String> {
    (1..=n).map(|i| number(code, i)).collect()
}

/// Every answer has one of `allowed` statuses, and each 409 has type `/problems/<slug>`.
fn assert_statuses(outcomes: &[Outcome], allowed: &[u16], slug: &str) {
    for (status, _, body) in outcomes {
        assert!(allowed.contains(status), "{status}: {body}");
        if *status == 409 {
            assert_eq!(body["type"], format!("/problems/{slug}"), "{body}");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn racing_sales_sell_each_of_the_last_units_once_with_gapless_numbers() {
    // Arrange
    let s = shop().await;
    let cashier = s.staff("cashier").await;
    let a = s.stocked(100, &s.standard, 10).await;
    let shift = s.open(&cashier.token, &s.register, 0).await;
    let body = sale_body(&shift, vec![line(&a, 1)], vec![pay("cash", 100)]);

    // Act
    let outcomes = race(&s, sales(&cashier.token, &body, 20)).await;

    // Assert
    assert_statuses(&outcomes, &[201, 409], "insufficient-stock");
    assert_eq!(with_status(&outcomes, 201).len(), 10, "{outcomes:?}");
    for refused in with_status(&outcomes, 409) {
        assert_eq!(
            refused["errors"][0]["field"], "lines[0].quantity",
            "{refused}"
        );
    }
    assert_eq!(numbers(&outcomes), first_numbers(CODE, 10));
    assert_eq!(s.on_hand(s.store, &a.id).await, 0);
    assert_eq!(s.moves("sale").await.len(), 10);
    assert_eq!(s.list(SALES, "").await.len(), 10);
    assert_eq!(s.audited("sale.completed").await.len(), 10);
    let report = s.report(&shift).await;
    assert_eq!(
        (report["sales_count"].clone(), report["total"].clone()),
        (json!(10), json!(1000))
    );
    s.assert_ledger().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn racing_duplicates_of_one_key_make_one_sale() {
    // Arrange
    let s = shop().await;
    let cashier = s.staff("cashier").await;
    let a = s.stocked(100, &s.standard, 10).await;
    let shift = s.open(&cashier.token, &s.register, 0).await;
    let body = sale_body(&shift, vec![line(&a, 1)], vec![pay("cash", 100)]);
    let call = (
        SALES.to_owned(),
        cashier.token.clone(),
        body.clone(),
        Some("till-1-42".to_owned()),
    );

    // Act
    let outcomes = race(&s, vec![call.clone(); 20]).await;
    let again = outcome(s.try_sell(&cashier.token, &body, Some("till-1-42")).await).await;

    // Assert
    assert_statuses(&outcomes, &[201, 409], "idempotency-key-in-flight");
    let fresh: Vec<&Outcome> = outcomes
        .iter()
        .filter(|(s, r, _)| *s == 201 && r.is_none())
        .collect();
    assert_eq!(
        fresh.len(),
        1,
        "one original, the rest replays or in flight: {outcomes:?}"
    );
    let original = &fresh[0].2;
    for sale in with_status(&outcomes, 201) {
        assert_eq!(sale, original);
    }
    assert_eq!((again.0, again.1.as_deref()), (201, Some("true")));
    assert_eq!(&again.2, original);
    assert_eq!(s.list(SALES, "").await.len(), 1);
    assert_eq!(s.moves("sale").await.len(), 1);
    assert_eq!(s.audited("sale.completed").await.len(), 1);
    assert_eq!(s.on_hand(s.store, &a.id).await, 9);
    assert_eq!(s.report(&shift).await["sales_count"], 1);
    s.assert_ledger().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn racing_returns_of_the_last_units_never_exceed_what_was_sold() {
    // Arrange: 5 units for 1000, so any unit is due exactly 200 whatever went before.
    let s = shop().await;
    let cashier = s.staff("cashier").await;
    let a = s.stocked(200, &s.standard, 5).await;
    let shift = s.open(&cashier.token, &s.register, 0).await;
    let body = sale_body(&shift, vec![line(&a, 5)], vec![pay("cash", 1000)]);
    let sale = s.sell(&cashier.token, &body).await;
    let l = &sale["lines"][0];
    let calls: Vec<Call> = (0..12_i64)
        .map(|i| {
            let q = 1 + i % 2;
            let body = return_body(&sale, &[(l, q, true)], vec![pay("cash", 200 * q)]);
            (RETURNS.to_owned(), cashier.token.clone(), body, Some(key()))
        })
        .collect();

    // Act
    let outcomes = race(&s, calls).await;

    // Assert
    for (status, _, body) in &outcomes {
        assert!([201, 409].contains(status), "{status}: {body}");
        if *status == 409 {
            assert_eq!(body["errors"][0]["field"], "lines[0].quantity", "{body}");
        }
    }
    let returned: i64 = with_status(&outcomes, 201)
        .iter()
        .map(|r| r["lines"][0]["quantity"].as_i64().unwrap())
        .sum();
    // Six requests return one unit: had a unit been left, none of them could have failed.
    assert_eq!(returned, 5, "{outcomes:?}");
    let refunded: i64 = with_status(&outcomes, 201)
        .iter()
        .map(|r| r["total"].as_i64().unwrap())
        .sum();
    assert_eq!(refunded, 1000);
    assert_eq!(s.on_hand(s.store, &a.id).await, 5);
    let restocked: i64 = s
        .moves("return")
        .await
        .iter()
        .map(|m| m["delta"].as_i64().unwrap())
        .sum();
    assert_eq!(restocked, 5);
    let report = s.report(&shift).await;
    assert_eq!(report["returns_total"], 1000);
    assert_eq!(report["expected_cash"], 0);
    let one_more = return_body(&sale, &[(l, 1, true)], vec![pay("cash", 200)]);
    let late = s.try_return(&cashier.token, &one_more, Some(&key())).await;
    assert_eq!(late.status().as_u16(), 409);
    s.assert_ledger().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn racing_sales_on_two_registers_and_two_stores_keep_each_stores_numbers_gapless() {
    // Arrange
    let s = shop().await;
    let (other, other_register) = s.other_store("OTH2", false).await;
    let second_register = register_in(&s, s.store, "Till 2").await;
    let a = s.stocked(100, &s.standard, 100).await;
    s.receive(other, &a.id, 100).await;
    let cashier = s.staff("cashier").await;
    let shifts = [
        (
            cashier.token.clone(),
            s.open(&cashier.token, &s.register, 0).await,
        ),
        (s.admin.clone(), s.open(&s.admin, &second_register, 0).await),
        (s.admin.clone(), s.open(&s.admin, &other_register, 0).await),
    ];
    let mut calls = Vec::new();
    for i in 0..36 {
        let (token, shift) = &shifts[i % 3];
        let body = sale_body(shift, vec![line(&a, 1)], vec![pay("cash", 100)]);
        calls.extend(sales(token, &body, 1));
    }

    // Act
    let outcomes = race(&s, calls).await;

    // Assert
    assert_statuses(&outcomes, &[201], "");
    let (here, there): (Vec<String>, Vec<String>) = numbers(&outcomes)
        .into_iter()
        .partition(|n| n.starts_with(CODE));
    assert_eq!(here, first_numbers(CODE, 24));
    assert_eq!(there, first_numbers("OTH2", 12));
    for (_, shift) in &shifts {
        assert_eq!(s.report(shift).await["sales_count"], 12);
    }
    assert_eq!(s.on_hand(s.store, &a.id).await, 76);
    assert_eq!(s.on_hand(other, &a.id).await, 88);
    s.assert_ledger().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_void_racing_returns_of_the_same_sale_has_one_outcome() {
    // Arrange
    let s = shop().await;
    let cashier = s.staff("cashier").await;
    let manager = s.staff("manager").await;
    let a = s.stocked(100, &s.standard, 10).await;
    let shift = s.open(&cashier.token, &s.register, 0).await;
    let body = sale_body(&shift, vec![line(&a, 4)], vec![pay("cash", 400)]);
    let sale = s.sell(&cashier.token, &body).await;
    let l = &sale["lines"][0];
    let mut calls: Vec<Call> = (0..4)
        .map(|_| {
            let body = return_body(&sale, &[(l, 1, true)], vec![pay("cash", 100)]);
            (RETURNS.to_owned(), cashier.token.clone(), body, Some(key()))
        })
        .collect();
    let void = format!("{SALES}/{}/void", id(&sale));
    calls.insert(
        2,
        (void, manager.token.clone(), json!({"reason": "race"}), None),
    );

    // Act
    let outcomes = race(&s, calls).await;

    // Assert
    let voided = outcomes[2].0 == 200;
    let returns = outcomes.iter().filter(|(st, _, _)| *st == 201).count();
    for (i, (status, _, body)) in outcomes.iter().enumerate() {
        let allowed: &[u16] = if i == 2 { &[200, 409] } else { &[201, 409] };
        assert!(allowed.contains(status), "{i}: {status} {body}");
    }
    if voided {
        assert_eq!(returns, 0, "a voided sale takes no return: {outcomes:?}");
        assert_eq!(s.on_hand(s.store, &a.id).await, 10);
    } else {
        assert!(returns >= 1, "the void lost to a return: {outcomes:?}");
        let units = i64::try_from(returns).unwrap();
        assert_eq!(s.on_hand(s.store, &a.id).await, 6 + units);
    }
    let status = s.read(&format!("{SALES}/{}", id(&sale))).await["status"].clone();
    assert_eq!(status, if voided { "voided" } else { "completed" });
    assert_eq!(s.list(RETURNS, "").await.len(), returns);
    s.assert_ledger().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_close_racing_sales_reports_exactly_the_sales_it_took() {
    // Arrange
    let s = shop().await;
    let cashier = s.staff("cashier").await;
    let a = s.stocked(100, &s.standard, 50).await;
    let shift = s.open(&cashier.token, &s.register, 1000).await;
    let body = sale_body(&shift, vec![line(&a, 1)], vec![pay("cash", 150)]);
    let mut calls = sales(&cashier.token, &body, 16);
    let close = format!("{SHIFTS}/{}/close", id(&shift));
    calls.insert(
        8,
        (
            close,
            cashier.token.clone(),
            json!({"counted_cash": 0}),
            None,
        ),
    );

    // Act
    let mut outcomes = race(&s, calls).await;

    // Assert
    let closed = outcomes.remove(8);
    assert_eq!(closed.0, 200, "{closed:?}");
    assert_statuses(&outcomes, &[201, 409], "shift-closed");
    let sold = with_status(&outcomes, 201).len();
    let n = i64::try_from(sold).unwrap();
    let mut figures = Figures::float(1000);
    let priced = price(&[cl(&a, 1, None)], None, true);
    for _ in 0..sold {
        figures.sale(&priced, &[tender("cash", 150)], 1);
    }
    figures.assert_report(&closed.2["report"], Some(0));
    assert_eq!(closed.2["expected_cash"], 1000 + 100 * n);
    assert_eq!(s.report(&shift).await, closed.2["report"]);
    assert_eq!(
        numbers(&outcomes),
        first_numbers(CODE, u32::try_from(sold).unwrap())
    );
    assert_eq!(s.on_hand(s.store, &a.id).await, 50 - n);
    assert_eq!(s.list(SALES, "").await.len(), sold);
    s.assert_ledger().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn racing_opens_of_one_register_make_one_shift() {
    // Arrange
    let s = shop().await;
    let cashier = s.staff("cashier").await;
    let body = json!({"register_id": s.register, "opening_float": 0});
    let calls = vec![(SHIFTS.to_owned(), cashier.token.clone(), body, None); 12];

    // Act
    let outcomes = race(&s, calls).await;

    // Assert
    for (status, _, body) in &outcomes {
        assert!([201, 409].contains(status), "{status}: {body}");
    }
    assert_eq!(with_status(&outcomes, 201).len(), 1, "{outcomes:?}");
    assert_eq!(s.list(SHIFTS, "status=open").await.len(), 1);
}

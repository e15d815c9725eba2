//! Bounds on amounts, quantities and running totals (docs/API.md "Conventions"; issue: a cashier
//! could brick a register with amounts near `i64::MAX`). Every repro of the hostile probe is
//! here, answering 422 with nothing stored; the database's own range guards (migration 0008)
//! refuse every listed column on both engines; `ringup check` names a row stored before the
//! guards existed.

use reqwest::Method;
use serde_json::{Value, json};

use ringup_store::StoreError;
use ringup_store::platform::bounds::COLUMN_BOUNDS;

use crate::checkout_support::{
    Shop, expect, id, int, key, line, pay, problem, return_body, sale_body, send, shop,
};
use crate::stock::delta;
use crate::stock_check::cli_check;
use crate::support::error_fields;

const MAX: i64 = 1_000_000_000_000;

/// Asserts a 422 naming `field` and returns the problem.
async fn refused(response: reqwest::Response, field: &str) -> Value {
    let body = problem(response, 422).await;
    assert!(
        error_fields(&body).iter().any(|f| f == field),
        "expected an error on `{field}`: {body}"
    );
    body
}

async fn shift_of(s: &Shop, shift: &Value) -> Value {
    s.read(&format!("/api/v1/shifts/{}", id(shift))).await
}

#[tokio::test]
async fn amounts_past_the_range_are_422_and_a_full_drawer_never_bricks_its_register() {
    // Arrange
    let s = shop().await;
    let cashier = s.staff("cashier").await;
    let shift = s.open(&cashier.token, &s.register, 0).await;
    let huge = json!({"kind": "paid_out", "amount": i64::MAX, "reason": "x"});

    // Act: the probe's repro, twice, then the most a drawer can take and one unit more.
    let first = s.cash_movement(&cashier.token, &shift, &huge).await;
    let second = s.cash_movement(&cashier.token, &shift, &huge).await;
    s.paid(&cashier.token, &shift, "paid_out", MAX).await;
    let one_more = json!({"kind": "paid_out", "amount": 1, "reason": "x"});
    let past_total = s.cash_movement(&cashier.token, &shift, &one_more).await;

    // Assert
    refused(first, "amount").await;
    refused(second, "amount").await;
    let full = refused(past_total, "amount").await;
    assert!(full.to_string().contains("close the shift"), "{full}");
    let stored = shift_of(&s, &shift).await;
    assert_eq!(stored["status"], "open", "{stored}");
    let report = s.report(&shift).await;
    assert_eq!(int(&report, "paid_out"), MAX, "{report}");
    assert_eq!(int(&report, "expected_cash"), -MAX, "{report}");
    let closed = expect(s.close(&cashier.token, &shift, 0).await, 200).await;
    assert_eq!(int(&closed, "over_short"), MAX, "{closed}");
    // The register is usable again.
    s.open(&cashier.token, &s.register, 0).await;
    let shifts = s.read("/api/v1/shifts").await;
    assert_eq!(shifts["items"].as_array().unwrap().len(), 2, "{shifts}");
}

#[tokio::test]
async fn an_opening_float_past_the_range_is_422_and_the_largest_still_closes() {
    // Arrange
    let s = shop().await;
    let cashier = s.staff("cashier").await;
    let item = s.stocked(1, &s.standard, 5).await;

    // Act
    let too_big = json!({"register_id": s.register, "opening_float": i64::MAX});
    let refused_float = s.try_open(&cashier.token, &too_big).await;
    let just_over = json!({"register_id": s.register, "opening_float": MAX + 1});
    let refused_over = s.try_open(&cashier.token, &just_over).await;
    let shift = s.open(&cashier.token, &s.register, MAX).await;
    s.sell(
        &cashier.token,
        &sale_body(&shift, vec![line(&item, 1)], vec![pay("cash", 1)]),
    )
    .await;

    // Assert
    refused(refused_float, "opening_float").await;
    refused(refused_over, "opening_float").await;
    let report = s.report(&shift).await;
    assert_eq!(int(&report, "expected_cash"), MAX + 1, "{report}");
    let closed = expect(s.close(&cashier.token, &shift, MAX).await, 200).await;
    assert_eq!(int(&closed, "over_short"), -1, "{closed}");
    let counted_too_big = s.close(&cashier.token, &shift, i64::MAX).await;
    // Already closed: the count is checked first, so a hostile count is 422, not a 409 leak.
    let body = problem(counted_too_big, 422).await;
    assert_eq!(error_fields(&body), ["counted_cash"], "{body}");
}

#[tokio::test]
async fn a_sale_whose_totals_pass_the_range_is_422_with_nothing_stored() {
    // Arrange: the probe's price, then the largest accepted one.
    let s = shop().await;
    let cashier = s.staff("cashier").await;
    let probe = json!({"sku": "HUGE-1", "name": "Huge", "price": 4_611_686_018_427_387_904_i64,
        "cost": 0, "tax_class_id": s.standard.id, "low_stock_threshold": 0});
    let response = send(
        &s,
        Method::POST,
        "/api/v1/products",
        &s.admin,
        Some(&probe),
        None,
    )
    .await;
    refused(response, "price").await;
    let item = s.stocked(MAX, &s.standard, 10).await;
    let shift = s.open(&cashier.token, &s.register, 0).await;
    let two = sale_body(&shift, vec![line(&item, 2)], vec![pay("card", MAX)]);
    let overpaid = sale_body(
        &shift,
        vec![line(&item, 1)],
        vec![pay("card", MAX), pay("cash", MAX)],
    );

    // Act
    let two_units = s.try_sell(&cashier.token, &two, Some(&key())).await;
    let too_much_paid = s.try_sell(&cashier.token, &overpaid, Some(&key())).await;
    let one = sale_body(&shift, vec![line(&item, 1)], vec![pay("card", MAX)]);
    s.sell(&cashier.token, &one).await;
    // The shift's gross is now at the bound: one more sale would pass it.
    let again = s.try_sell(&cashier.token, &one, Some(&key())).await;

    // Assert
    refused(two_units, "lines").await;
    refused(too_much_paid, "payments").await;
    refused(again, "payments").await;
    let sales = s.read("/api/v1/sales").await;
    assert_eq!(sales["items"].as_array().unwrap().len(), 1, "{sales}");
    assert_eq!(s.on_hand(s.store, &item.id).await, 9);
    let report = s.report(&shift).await;
    assert_eq!(int(&report, "gross"), MAX, "{report}");
    assert_eq!(int(&report, "sales_count"), 1, "{report}");
    s.assert_ledger().await;
}

#[tokio::test]
async fn given_quantities_and_stock_deltas_are_bounded_like_the_contract_says() {
    // Arrange
    let s = shop().await;
    let item = s.item(100, &s.standard).await;

    // Act
    let big_delta = s
        .adjust(&s.admin, s.store, &delta(&item.id, 1_000_001, "receiving"))
        .await;
    let huge_delta = s
        .adjust(&s.admin, s.store, &delta(&item.id, i64::MAX, "receiving"))
        .await;
    let count = json!({"product_id": item.id, "reason": "count", "counted": i64::MAX});
    let huge_count = s.adjust(&s.admin, s.store, &count).await;
    s.receive(s.store, &item.id, 1_000_000).await;

    // Assert
    refused(big_delta, "delta").await;
    refused(huge_delta, "delta").await;
    refused(huge_count, "counted").await;
    assert_eq!(s.on_hand(s.store, &item.id).await, 1_000_000);
    s.assert_ledger().await;
}

#[tokio::test]
async fn a_level_that_would_pass_its_range_is_refused_by_the_database_as_a_422() {
    // Arrange: a level a count put at the top of its range.
    let s = shop().await;
    let item = s.item(100, &s.standard).await;
    let count = json!({"product_id": item.id, "reason": "count", "counted": 1_000_000_000});
    expect(s.adjust(&s.admin, s.store, &count).await, 201).await;

    // Act
    let more = s
        .adjust(&s.admin, s.store, &delta(&item.id, 1, "receiving"))
        .await;

    // Assert
    let body = problem(more, 422).await;
    assert_eq!(body["type"], "/problems/out-of-range", "{body}");
    assert_eq!(s.on_hand(s.store, &item.id).await, 1_000_000_000);
    s.assert_ledger().await;
}

/// A shop in which every guarded table holds at least one row: a commissioned cashier, a
/// stocked product, a transfer, a reservation, a shift with a cash movement, a sale with a
/// payment and a return of it, and the closed shift's count.
async fn populated() -> Shop {
    let s = shop().await;
    let cashier = s.commissioned(100).await;
    let item = s.stocked(1_000, &s.standard, 20).await;
    let (other, _) = s.other_store("OTH1", false).await;
    let transfer = json!({"from_store_id": s.store, "to_store_id": other,
        "lines": [{"product_id": item.id, "quantity": 1}], "note": "restock"});
    let response = send(
        &s,
        Method::POST,
        "/api/v1/transfers",
        &s.admin,
        Some(&transfer),
        Some(&key()),
    )
    .await;
    expect(response, 201).await;
    let reservation = json!({"lines": [{"product_id": item.id, "quantity": 1}],
        "expires_at": tomorrow(&s), "reference": "layaway"});
    let path = format!("/api/v1/stores/{}/reservations", s.store);
    let response = send(&s, Method::POST, &path, &s.admin, Some(&reservation), None).await;
    expect(response, 201).await;
    let shift = s.open(&cashier.token, &s.register, 500).await;
    s.paid(&cashier.token, &shift, "paid_in", 100).await;
    let sale = s
        .sell(
            &cashier.token,
            &sale_body(&shift, vec![line(&item, 2)], vec![pay("cash", 2_000)]),
        )
        .await;
    let sale_line = sale["lines"][0].clone();
    s.give_back(
        &cashier.token,
        &return_body(&sale, &[(&sale_line, 1, true)], vec![pay("cash", 1_000)]),
    )
    .await;
    expect(s.close(&cashier.token, &shift, 1_600).await, 200).await;
    s
}

/// A day after the server clock's now, as RFC 3339.
pub(crate) fn tomorrow(s: &Shop) -> String {
    use ringup_core::clock::Clock;
    (s.app.clock.now() + chrono::Duration::days(1)).to_rfc3339()
}

/// Whether the database refused a write with a range guard, or with an older `CHECK` of the
/// same column (a price's `>= 0`, a rate's `between 0 and 10000`), which PostgreSQL may report
/// first.
fn refused_by_database(outcome: Option<&StoreError>) -> bool {
    match outcome {
        Some(StoreError::OutOfRange { .. }) => true,
        Some(StoreError::Database(sqlx::Error::Database(db))) => {
            db.code().as_deref() == Some("23514") || db.message().contains("CHECK constraint")
        }
        _ => false,
    }
}

/// Runs `update <table> set <column> = <value>` on every row in a transaction that is then
/// rolled back; returns the error the database answered, if any.
async fn try_store(s: &Shop, table: &str, column: &str, value: &str) -> Option<StoreError> {
    let mut tx = s.app.db.begin_write().await.unwrap();
    let sql = format!("update {table} set {column} = {value}");
    let outcome = sqlx::query(sqlx::AssertSqlSafe(sql))
        .execute(&mut *tx)
        .await;
    drop(tx); // rolls back
    match outcome {
        Ok(done) => {
            assert!(done.rows_affected() > 0, "{table} has no row to test");
            None
        }
        Err(e) => Some(StoreError::from(e)),
    }
}

#[tokio::test]
async fn the_database_refuses_every_out_of_range_value_on_its_own() {
    // Arrange
    let s = populated().await;
    let sqlite = s.app.engine() == ringup_store::Engine::Sqlite;

    for b in COLUMN_BOUNDS {
        // Act
        let over = try_store(&s, b.table, b.column, &(b.max + 1).to_string()).await;
        let under = try_store(&s, b.table, b.column, &(b.min - 1).to_string()).await;
        let inside = try_store(&s, b.table, b.column, &b.max.to_string()).await;
        // What SQLite makes of an overflowing integer sum: a REAL.
        let real = if sqlite {
            try_store(&s, b.table, b.column, "1.8446744073709552e19").await
        } else {
            None
        };

        // Assert
        let what = format!("{}.{}", b.table, b.column);
        for (case, outcome) in [("max + 1", over), ("min - 1", under)] {
            assert!(
                refused_by_database(outcome.as_ref()),
                "{what} = {case}: {outcome:?}"
            );
        }
        if sqlite {
            assert!(
                matches!(real, Some(StoreError::OutOfRange { .. })),
                "{what} = REAL: {real:?}"
            );
        }
        // The bound itself is allowed, unless another rule of the table refuses it (a
        // returned quantity above the line's own, say): never the range guard.
        assert!(
            !matches!(inside, Some(StoreError::OutOfRange { .. })),
            "{what} = max: {inside:?}"
        );
    }
}

#[tokio::test]
async fn check_names_a_value_stored_before_the_guards_existed() {
    // Arrange: a database as the probe left it — the guard is gone (as before migration 0008)
    // and a drawer total holds what two paid-outs of i64::MAX made of it.
    let s = populated().await;
    let (clean_ok, clean) = cli_check(&s.app).await;
    let shift = s.read("/api/v1/shifts?limit=1").await["items"][0].clone();
    let (drop_guard, corrupt_value) = if s.app.engine() == ringup_store::Engine::Sqlite {
        ("drop trigger shifts_bounds_update", "1.8446744073709552e19")
    } else {
        (
            "alter table shifts drop constraint shifts_paid_out_range",
            "9223372036854775807",
        )
    };
    let mut tx = s.app.db.begin_write().await.unwrap();
    sqlx::query(sqlx::AssertSqlSafe(drop_guard.to_owned()))
        .execute(&mut *tx)
        .await
        .unwrap();
    let sql = format!("update shifts set paid_out = {corrupt_value} where id = $1");
    sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(id(&shift))
        .execute(&mut *tx)
        .await
        .unwrap();
    tx.commit().await.unwrap();

    // Act
    let (ok, text) = cli_check(&s.app).await;

    // Assert
    assert!(clean_ok, "a clean database passes: {clean}");
    assert!(clean.contains("in range"), "{clean}");
    assert!(!ok, "a corrupt value fails the check: {text}");
    let named = format!("shifts.paid_out of {}", id(&shift));
    assert!(text.contains(&named), "names the row: {text}");
    assert!(text.contains("range check failed: 1 stored"), "{text}");
}

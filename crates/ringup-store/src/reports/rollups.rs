//! Writing the report rollups inside a sale's, void's or return's transaction, and
//! recomputing them from the sales for `ringup rollups rebuild` and `ringup check`.
//!
//! Invariants: [`apply`] is called by `record_sale`, `void_sale` and `record_return` in the
//! caller's transaction and nowhere else on the hot path, so a committed sale, void or return
//! is in the rollups exactly when it is in the sales; its four statements are answerless, so
//! on PostgreSQL they travel with the write's other deferred statements right before COMMIT
//! (the rollup rows are locked only for that last round trip), and each multi-row upsert lists
//! its rows in key order, so concurrent writers lock them in the same order.

use chrono::NaiveDate;

use ringup_core::reports::{CashierFigures, Contribution, LineFigures, LineKey, TenderFigures};
use ringup_core::reports::{Rollups, rollup::CashierKey};

use crate::platform::db::value_rows;
use crate::platform::error::StoreResult;
use std::sync::LazyLock;

use crate::platform::sql::{Sql, Stmt, stmt};

/// The day as rollup rows key it.
pub fn day_key(day: NaiveDate) -> String {
    day.format("%Y-%m-%d").to_string()
}

/// Adds `c` to the rollup rows of `store` and `day`, in the caller's transaction.
pub async fn apply(
    conn: &mut impl Sql,
    store: ringup_core::ids::StoreId,
    day: NaiveDate,
    c: &Contribution,
) -> StoreResult<()> {
    for statement in statements(store, day, c) {
        conn.defer(statement).await?;
    }
    Ok(())
}

/// The statements [`apply`] runs: the day row, the cashier row, then the line and tender rows
/// (each in key order) when there are any.
pub fn statements(
    store: ringup_core::ids::StoreId,
    day: NaiveDate,
    c: &Contribution,
) -> Vec<Stmt<'static>> {
    let store = store.to_string();
    let day = day_key(day);
    let mut all = vec![
        upsert_day(&store, &day, &c.cashier),
        upsert_cashier(&store, &day, &c.cashier_id.to_string(), &c.cashier),
    ];
    if !c.lines.is_empty() {
        all.push(upsert_lines(&store, &day, &c.lines));
    }
    if !c.tenders.is_empty() {
        all.push(upsert_tenders(&store, &day, &c.tenders));
    }
    all
}

/// The figures of a day or cashier row, in [`CashierFigures`] order.
pub(crate) const CASHIER_FIGURES: [&str; 9] = [
    "sales",
    "gross",
    "discounts",
    "net",
    "tax",
    "total",
    "commission",
    "returns",
    "refunds",
];

/// `insert into <table> (<keys>, <figures>) values (…) on conflict (<keys>) do update set
/// <figure> = <table>.<figure> + excluded.<figure>, …`: the keys are `$1…`, the figures the
/// next placeholders, cast to `bigint` (PostgreSQL types a parameter by its first use).
fn upsert_text(table: &str, keys: &[&str], figures: &[&str]) -> String {
    let values: Vec<String> = (1..=keys.len())
        .map(|i| format!("${i}"))
        .chain((1..=figures.len()).map(|i| format!("cast(${} as bigint)", keys.len() + i)))
        .collect();
    let set: Vec<String> = figures
        .iter()
        .map(|c| format!("{c} = {table}.{c} + excluded.{c}"))
        .collect();
    format!(
        "insert into {table} ({}, {}) values ({}) on conflict ({}) do update set {}",
        keys.join(", "),
        figures.join(", "),
        values.join(", "),
        keys.join(", "),
        set.join(", ")
    )
}

static UPSERT_DAY: LazyLock<String> =
    LazyLock::new(|| upsert_text("sales_day_rollups", &["store_id", "day"], &CASHIER_FIGURES));
static UPSERT_CASHIER: LazyLock<String> = LazyLock::new(|| {
    upsert_text(
        "sales_rollups",
        &["store_id", "day", "cashier_id"],
        &CASHIER_FIGURES,
    )
});

fn with_figures(query: Stmt<'static>, f: &CashierFigures) -> Stmt<'static> {
    query
        .bind(f.sales)
        .bind(f.gross)
        .bind(f.discounts)
        .bind(f.net)
        .bind(f.tax)
        .bind(f.total)
        .bind(f.commission)
        .bind(f.returns)
        .bind(f.refunds)
}

fn upsert_day(store: &str, day: &str, f: &CashierFigures) -> Stmt<'static> {
    let query = stmt(UPSERT_DAY.as_str())
        .bind(store.to_owned())
        .bind(day.to_owned());
    with_figures(query, f)
}

fn upsert_cashier(store: &str, day: &str, cashier: &str, f: &CashierFigures) -> Stmt<'static> {
    let query = stmt(UPSERT_CASHIER.as_str())
        .bind(store.to_owned())
        .bind(day.to_owned())
        .bind(cashier.to_owned());
    with_figures(query, f)
}

fn upsert_lines(store: &str, day: &str, lines: &[(LineKey, LineFigures)]) -> Stmt<'static> {
    const ROW: &str = "($1, $2, ?, ?, cast(? as bigint), cast(? as bigint), cast(? as bigint), \
         cast(? as bigint), cast(? as bigint), cast(? as bigint), cast(? as bigint), \
         cast(? as bigint), cast(? as bigint), cast(? as bigint))";
    let sql = format!(
        "insert into sale_line_rollups (store_id, day, product_id, tax_class_id, rate_bp, \
         quantity, gross, discounts, net, tax, total, returned, refunds, refund_tax) values {} \
         on conflict (store_id, day, product_id, tax_class_id, rate_bp) do update set \
         quantity = sale_line_rollups.quantity + excluded.quantity, \
         gross = sale_line_rollups.gross + excluded.gross, \
         discounts = sale_line_rollups.discounts + excluded.discounts, \
         net = sale_line_rollups.net + excluded.net, \
         tax = sale_line_rollups.tax + excluded.tax, \
         total = sale_line_rollups.total + excluded.total, \
         returned = sale_line_rollups.returned + excluded.returned, \
         refunds = sale_line_rollups.refunds + excluded.refunds, \
         refund_tax = sale_line_rollups.refund_tax + excluded.refund_tax",
        value_rows(3, lines.len(), ROW)
    );
    let mut query = stmt(sql).bind(store.to_owned()).bind(day.to_owned());
    for (key, f) in lines {
        query = query
            .bind(key.product_id.to_string())
            .bind(key.tax_class_id.to_string())
            .bind(key.rate_bp)
            .bind(f.quantity)
            .bind(f.gross)
            .bind(f.discounts)
            .bind(f.net)
            .bind(f.tax)
            .bind(f.total)
            .bind(f.returned)
            .bind(f.refunds)
            .bind(f.refund_tax);
    }
    query
}

fn upsert_tenders(
    store: &str,
    day: &str,
    tenders: &[(ringup_core::checkout::payment::TenderMethod, TenderFigures)],
) -> Stmt<'static> {
    const ROW: &str = "($1, $2, ?, cast(? as bigint), cast(? as bigint), cast(? as bigint))";
    let sql = format!(
        "insert into tender_rollups (store_id, day, method, payments, taken, refunds) values {} \
         on conflict (store_id, day, method) do update set \
         payments = tender_rollups.payments + excluded.payments, \
         taken = tender_rollups.taken + excluded.taken, \
         refunds = tender_rollups.refunds + excluded.refunds",
        value_rows(3, tenders.len(), ROW)
    );
    let mut query = stmt(sql).bind(store.to_owned()).bind(day.to_owned());
    for (method, f) in tenders {
        query = query
            .bind(method.as_str())
            .bind(f.payments)
            .bind(f.taken)
            .bind(f.refunds);
    }
    query
}

/// Replaces every rollup row with `rollups`, in the caller's transaction.
pub async fn replace_all(conn: &mut impl Sql, rollups: &Rollups) -> StoreResult<()> {
    conn.run(stmt("delete from sales_day_rollups")).await?;
    conn.run(stmt("delete from sales_rollups")).await?;
    conn.run(stmt("delete from sale_line_rollups")).await?;
    conn.run(stmt("delete from tender_rollups")).await?;
    for ((store, day), f) in &rollups.days {
        conn.run(upsert_day(&store.to_string(), &day_key(*day), f))
            .await?;
    }
    // Line rows go in chunks, one multi-row statement per store and day at most.
    let cashiers: Vec<(&CashierKey, &CashierFigures)> = rollups.cashiers.iter().collect();
    for (key, f) in cashiers {
        let (store, day, cashier) = key;
        conn.run(upsert_cashier(
            &store.to_string(),
            &day_key(*day),
            &cashier.to_string(),
            f,
        ))
        .await?;
    }
    let mut lines: Vec<(LineKey, LineFigures)> = Vec::new();
    let mut current: Option<(String, String)> = None;
    for ((store, day, key), f) in &rollups.lines {
        let here = (store.to_string(), day_key(*day));
        if current.as_ref() != Some(&here) || lines.len() >= 200 {
            if let Some((s, d)) = current.take() {
                conn.run(upsert_lines(&s, &d, &lines)).await?;
                lines.clear();
            }
            current = Some(here);
        }
        lines.push((*key, *f));
    }
    if let Some((s, d)) = current.take() {
        conn.run(upsert_lines(&s, &d, &lines)).await?;
    }
    for ((store, day, method), f) in &rollups.tenders {
        conn.run(upsert_tenders(
            &store.to_string(),
            &day_key(*day),
            &[(*method, *f)],
        ))
        .await?;
    }
    Ok(())
}

/// The local day a sale or return counts on: `kept` (written with it), else the day
/// `created_at` gives in `zone` (rows made before days were kept).
pub fn business_day(
    kept: Option<&str>,
    created_at: &str,
    zone: chrono_tz::Tz,
) -> StoreResult<NaiveDate> {
    use crate::platform::error::StoreError;
    match kept {
        Some(day) => NaiveDate::parse_from_str(day, "%Y-%m-%d")
            .map_err(|_| StoreError::corrupt("business_day", day.to_owned())),
        None => {
            let at = crate::platform::time::from_db(created_at)
                .map_err(|_| StoreError::corrupt("created_at", created_at.to_owned()))?;
            Ok(ringup_core::reports::local_day(at, zone))
        }
    }
}

/// A sale row as the rollups see it.
pub fn sale_facts(sale: &crate::checkout::sales::SaleRow) -> ringup_core::reports::SaleFacts {
    ringup_core::reports::SaleFacts {
        cashier_id: sale.cashier_id,
        gross: sale.subtotal,
        discounts: sale.discount_total,
        net: sale.net_total,
        tax: sale.tax_total,
        total: sale.total,
        commission: sale.commission,
        change: sale.change,
        lines: sale
            .lines
            .iter()
            .map(|l| ringup_core::reports::LineFacts {
                product_id: l.product_id,
                tax_class_id: l.tax_class_id,
                rate_bp: l.tax_rate_bp,
                quantity: l.quantity,
                unit_price: l.unit_price,
                discount: l.discount,
                net: l.net,
                tax: l.tax,
                total: l.total,
            })
            .collect(),
        payments: sale.payments.iter().map(|p| (p.method, p.amount)).collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_upsert_adds_every_figure_to_the_row_of_its_keys() {
        assert_eq!(
            upsert_text("t", &["a", "b"], &["x", "y"]),
            "insert into t (a, b, x, y) values ($1, $2, cast($3 as bigint), cast($4 as bigint)) \
             on conflict (a, b) do update set x = t.x + excluded.x, y = t.y + excluded.y"
        );
    }
}

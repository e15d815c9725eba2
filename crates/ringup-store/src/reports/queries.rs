//! The reads behind every report: grouped sums of the rollup rows over a period, and the
//! few reports that read their own small tables (shifts, stock levels, movements).
//!
//! Invariants: the rollup reads touch O(stores × days × groups) rows, whatever the number of
//! sales, through each table's `(store_id, day, …)` primary key; sums are cast to `bigint`
//! (PostgreSQL sums `bigint` as `numeric`); only whitelisted fragments are formatted into SQL,
//! every value is a bound parameter.

use chrono::{DateTime, NaiveDate, Utc};
use sqlx::{AnyConnection, Row as _};

use ringup_core::checkout::payment::TenderMethod;
use ringup_core::ids::StoreId;
use ringup_core::reports::{CashierFigures, LineFigures, TenderFigures};

use crate::platform::db::placeholders;
use crate::platform::error::{StoreError, StoreResult};
use crate::platform::time;
use crate::reports::rollups::day_key;

/// Which key the cashier rollup rows are summed by.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SalesKey {
    Day,
    Store,
    Cashier,
}

/// Which key the line rollup rows are summed by.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LinesKey {
    Product,
    Category,
    TaxRate,
}

/// A grouped row: its key, a label to show, and its figures.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Grouped<F> {
    pub key: Option<String>,
    pub label: Option<String>,
    /// The tax rate of a `TaxRate` row.
    pub rate_bp: i64,
    pub figures: F,
}

/// Runs `sql` (built here from whitelisted fragments) with `values` bound in order.
async fn fetch(
    conn: &mut AnyConnection,
    sql: String,
    values: Vec<String>,
) -> StoreResult<Vec<sqlx::any::AnyRow>> {
    let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
    for value in values {
        query = query.bind(value);
    }
    Ok(query.fetch_all(&mut *conn).await?)
}

fn sum(column: &str) -> String {
    format!("cast(coalesce(sum(r.{column}), 0) as bigint) as {column}")
}

fn int(row: &sqlx::any::AnyRow, column: &str) -> StoreResult<i64> {
    Ok(row.try_get(column)?)
}

fn text(row: &sqlx::any::AnyRow, column: &str) -> StoreResult<Option<String>> {
    Ok(row.try_get(column)?)
}

/// `r.store_id in (…) and r.day between … and …`, its values starting at `$1`.
fn period_filter(stores: &[StoreId], from: NaiveDate, to: NaiveDate) -> (String, Vec<String>) {
    let n = stores.len();
    let sql = format!(
        "r.store_id in ({}) and r.day >= ${} and r.day <= ${}",
        placeholders(1, n.max(1)),
        n.max(1) + 1,
        n.max(1) + 2
    );
    let mut values: Vec<String> = stores.iter().map(ToString::to_string).collect();
    if values.is_empty() {
        // No store: a filter nothing matches (ids are UUIDs, never empty).
        values.push(String::new());
    }
    values.push(day_key(from));
    values.push(day_key(to));
    (sql, values)
}

/// The cashier rollups of `stores` over `from..=to`, summed by `by`.
pub async fn sales_by(
    conn: &mut AnyConnection,
    stores: &[StoreId],
    from: NaiveDate,
    to: NaiveDate,
    by: SalesKey,
) -> StoreResult<Vec<Grouped<CashierFigures>>> {
    let (filter, values) = period_filter(stores, from, to);
    // Days and stores read one row per store and day; cashiers their own rows.
    let (table, key, label, join) = match by {
        SalesKey::Day => ("sales_day_rollups", "r.day", "r.day", ""),
        SalesKey::Store => (
            "sales_day_rollups",
            "r.store_id",
            "s.code",
            "join stores s on s.id = r.store_id",
        ),
        SalesKey::Cashier => (
            "sales_rollups",
            "r.cashier_id",
            "u.username",
            "join users u on u.id = r.cashier_id",
        ),
    };
    let columns = super::rollups::CASHIER_FIGURES.map(sum).join(", ");
    let sql = format!(
        "select {key} as key, {label} as label, {columns} from {table} r {join} \
         where {filter} group by {key}, {label} order by {key}"
    );
    let rows = fetch(conn, sql, values).await?;
    rows.iter()
        .map(|row| {
            Ok(Grouped {
                key: text(row, "key")?,
                label: text(row, "label")?,
                rate_bp: 0,
                figures: CashierFigures {
                    sales: int(row, "sales")?,
                    gross: int(row, "gross")?,
                    discounts: int(row, "discounts")?,
                    net: int(row, "net")?,
                    tax: int(row, "tax")?,
                    total: int(row, "total")?,
                    commission: int(row, "commission")?,
                    returns: int(row, "returns")?,
                    refunds: int(row, "refunds")?,
                },
            })
        })
        .collect()
}

/// The line rollups of `stores` over `from..=to`, summed by `by`. A product's category is
/// the one it has now; products without one have a `None` key.
pub async fn lines_by(
    conn: &mut AnyConnection,
    stores: &[StoreId],
    from: NaiveDate,
    to: NaiveDate,
    by: LinesKey,
) -> StoreResult<Vec<Grouped<LineFigures>>> {
    let (filter, values) = period_filter(stores, from, to);
    let (key, label, rate, join) = match by {
        LinesKey::Product => (
            "r.product_id",
            "p.name",
            "0",
            "join products p on p.id = r.product_id",
        ),
        LinesKey::Category => (
            "p.category_id",
            "c.name",
            "0",
            "join products p on p.id = r.product_id \
             left join categories c on c.id = p.category_id",
        ),
        LinesKey::TaxRate => (
            "r.tax_class_id",
            "t.name",
            "r.rate_bp",
            "left join tax_classes t on t.id = r.tax_class_id",
        ),
    };
    let columns = [
        "quantity",
        "gross",
        "discounts",
        "net",
        "tax",
        "total",
        "returned",
        "refunds",
        "refund_tax",
    ]
    .map(sum)
    .join(", ");
    // Only a column may extend the grouping: a bare `0` there would mean "column 0".
    let by_rate = if by == LinesKey::TaxRate {
        ", r.rate_bp"
    } else {
        ""
    };
    let sql = format!(
        "select {key} as key, {label} as label, cast({rate} as bigint) as rate_bp, {columns} \
         from sale_line_rollups r {join} where {filter} \
         group by {key}, {label}{by_rate} order by {key}{by_rate}"
    );
    let rows = fetch(conn, sql, values).await?;
    rows.iter()
        .map(|row| {
            Ok(Grouped {
                key: text(row, "key")?,
                label: text(row, "label")?,
                rate_bp: int(row, "rate_bp")?,
                figures: LineFigures {
                    quantity: int(row, "quantity")?,
                    gross: int(row, "gross")?,
                    discounts: int(row, "discounts")?,
                    net: int(row, "net")?,
                    tax: int(row, "tax")?,
                    total: int(row, "total")?,
                    returned: int(row, "returned")?,
                    refunds: int(row, "refunds")?,
                    refund_tax: int(row, "refund_tax")?,
                },
            })
        })
        .collect()
}

/// The tender rollups of `stores` over `from..=to`, summed by method.
pub async fn tenders_by(
    conn: &mut AnyConnection,
    stores: &[StoreId],
    from: NaiveDate,
    to: NaiveDate,
) -> StoreResult<Vec<(TenderMethod, TenderFigures)>> {
    let (filter, values) = period_filter(stores, from, to);
    let columns = ["payments", "taken", "refunds"].map(sum).join(", ");
    let sql = format!(
        "select r.method, {columns} from tender_rollups r where {filter} \
         group by r.method order by r.method"
    );
    let rows = fetch(conn, sql, values).await?;
    rows.iter()
        .map(|row| {
            let method: String = row.try_get("method")?;
            let method = TenderMethod::parse(&method)
                .ok_or_else(|| StoreError::corrupt("tender_rollups.method", method))?;
            Ok((
                method,
                TenderFigures {
                    payments: int(row, "payments")?,
                    taken: int(row, "taken")?,
                    refunds: int(row, "refunds")?,
                },
            ))
        })
        .collect()
}

/// A store's period as instants: `[start, end)` in UTC.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StoreSpan {
    pub store_id: StoreId,
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
}

/// `((store_id = $a and col >= $b and col < $c) or …)`, values from `$first`.
fn span_filter(column: &str, spans: &[StoreSpan], first: usize) -> (String, Vec<String>) {
    if spans.is_empty() {
        return ("1 = 0".to_owned(), Vec::new());
    }
    let mut parts = Vec::with_capacity(spans.len());
    let mut values = Vec::with_capacity(spans.len() * 3);
    for (i, span) in spans.iter().enumerate() {
        let n = first + i * 3;
        parts.push(format!(
            "(store_id = ${n} and {column} >= ${} and {column} < ${})",
            n + 1,
            n + 2
        ));
        values.push(span.store_id.to_string());
        values.push(time::to_db(span.start));
        values.push(time::to_db(span.end));
    }
    (format!("({})", parts.join(" or ")), values)
}

/// A shift closed in the period.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClosedShift {
    pub shift_id: String,
    pub store_id: String,
    pub register_id: String,
    pub cashier_id: String,
    pub username: Option<String>,
    pub opened_at: String,
    pub closed_at: String,
    pub expected_cash: i64,
    pub counted_cash: i64,
    pub over_short: i64,
}

/// Shifts closed within each store's span, oldest first.
pub async fn closed_shifts(
    conn: &mut AnyConnection,
    spans: &[StoreSpan],
) -> StoreResult<Vec<ClosedShift>> {
    let (filter, values) = span_filter("closed_at", spans, 1);
    let sql = format!(
        "select s.id, s.store_id, s.register_id, s.cashier_id, u.username, s.opened_at, \
         s.closed_at, s.expected_cash, s.counted_cash, s.over_short \
         from shifts s left join users u on u.id = s.cashier_id \
         where s.status = 'closed' and {} order by s.closed_at, s.id",
        filter
            .replace("(store_id", "(s.store_id")
            .replace(" closed_at", " s.closed_at")
    );
    let rows = fetch(conn, sql, values).await?;
    rows.iter()
        .map(|row| {
            let opt = |c: &str| -> StoreResult<i64> {
                Ok(row.try_get::<Option<i64>, _>(c)?.unwrap_or(0))
            };
            Ok(ClosedShift {
                shift_id: row.try_get("id")?,
                store_id: row.try_get("store_id")?,
                register_id: row.try_get("register_id")?,
                cashier_id: row.try_get("cashier_id")?,
                username: row.try_get("username")?,
                opened_at: row.try_get("opened_at")?,
                closed_at: row
                    .try_get::<Option<String>, _>("closed_at")?
                    .unwrap_or_default(),
                expected_cash: opt("expected_cash")?,
                counted_cash: opt("counted_cash")?,
                over_short: opt("over_short")?,
            })
        })
        .collect()
}

/// Stock movements within each store's span, summed by kind: (kind, movements, Σ delta).
pub async fn movements_by_kind(
    conn: &mut AnyConnection,
    spans: &[StoreSpan],
) -> StoreResult<Vec<(String, i64, i64)>> {
    let (filter, values) = span_filter("created_at", spans, 1);
    let sql = format!(
        "select kind, cast(count(*) as bigint) as movements, \
         cast(coalesce(sum(delta), 0) as bigint) as quantity \
         from stock_movements where {filter} group by kind order by kind"
    );
    let rows = fetch(conn, sql, values).await?;
    rows.iter()
        .map(|row| {
            Ok((
                row.try_get("kind")?,
                int(row, "movements")?,
                int(row, "quantity")?,
            ))
        })
        .collect()
}

/// Stock on hand valued at cost and at price, per store and category (positive levels only).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Valuation {
    pub store_id: String,
    pub category_id: Option<String>,
    pub category: Option<String>,
    pub quantity: i64,
    pub cost_value: i64,
    pub retail_value: i64,
}

/// Σ positive `on_hand`, × cost and × price, per store and category. Summed here in checked
/// arithmetic (a level of 10⁹ units at a cost of 10¹² would overflow a `bigint` in SQL); it
/// reads one row per stock level, which is what the report is about.
pub async fn valuation(
    conn: &mut AnyConnection,
    stores: &[StoreId],
) -> StoreResult<Vec<Valuation>> {
    let list = placeholders(1, stores.len().max(1));
    let sql = format!(
        "select l.store_id, p.category_id, c.name as category, l.on_hand, p.cost, p.price \
         from stock_levels l join products p on p.id = l.product_id \
         left join categories c on c.id = p.category_id \
         where l.on_hand > 0 and l.store_id in ({list})"
    );
    let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
    if stores.is_empty() {
        query = query.bind(String::new());
    }
    for store in stores {
        query = query.bind(store.to_string());
    }
    let rows = query.fetch_all(&mut *conn).await?;
    let overflow = || StoreError::corrupt("stock valuation", "the sum overflows");
    let mut out: std::collections::BTreeMap<(String, Option<String>), Valuation> =
        std::collections::BTreeMap::new();
    for row in &rows {
        let store_id: String = row.try_get("store_id")?;
        let category_id: Option<String> = row.try_get("category_id")?;
        let on_hand = int(row, "on_hand")?;
        let entry = out
            .entry((store_id.clone(), category_id.clone()))
            .or_insert_with(|| Valuation {
                store_id,
                category_id,
                category: None,
                quantity: 0,
                cost_value: 0,
                retail_value: 0,
            });
        entry.category = row.try_get("category")?;
        let cost = on_hand
            .checked_mul(int(row, "cost")?)
            .ok_or_else(overflow)?;
        let retail = on_hand
            .checked_mul(int(row, "price")?)
            .ok_or_else(overflow)?;
        entry.quantity = entry.quantity.checked_add(on_hand).ok_or_else(overflow)?;
        entry.cost_value = entry.cost_value.checked_add(cost).ok_or_else(overflow)?;
        entry.retail_value = entry
            .retail_value
            .checked_add(retail)
            .ok_or_else(overflow)?;
    }
    Ok(out.into_values().collect())
}

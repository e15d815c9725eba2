//! The range every stored money and quantity column must stay in, and the check that finds
//! rows outside it.
//!
//! The API refuses out-of-range input at the edge (`Money`, `Quantity`, `SignedQuantity`) and
//! out-of-range running totals in the domain (pricing, shift totals); migration 0008 makes the
//! database refuse whatever slips past both — on SQLite a trigger per table that aborts a write
//! storing a non-integer (SQLite would otherwise keep an overflowed sum as a REAL) or an
//! out-of-range value, on PostgreSQL a `CHECK` constraint per column named
//! `<table>_<column>_range`. [`COLUMN_BOUNDS`] is the same list, written once more in Rust so
//! `ringup check` can find rows stored before the migration existed (the constraints are added
//! `NOT VALID` on PostgreSQL and the triggers only see new writes, so old rows are not
//! re-checked by the engine) and so a test can prove every listed column is guarded.

use ringup_core::catalog::{LEVEL_MAX, Money, Quantity};

use crate::platform::db::{Db, Engine};
use crate::platform::error::StoreResult;
use crate::platform::row::Count;

const M: i64 = Money::MAX.value();
const Q: i64 = Quantity::MAX.value();
/// Basis points in a whole.
const BP: i64 = 10_000;
/// A drawer's expected cash and its over/short combine up to four amounts with either sign.
const DRAWER: i64 = 4 * M;

/// One guarded column: its table, name and inclusive range; `key` is the column that
/// identifies a row in a report.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ColumnBound {
    pub table: &'static str,
    pub key: &'static str,
    pub column: &'static str,
    pub min: i64,
    pub max: i64,
}

const fn bound(
    table: &'static str,
    key: &'static str,
    column: &'static str,
    min: i64,
    max: i64,
) -> ColumnBound {
    ColumnBound {
        table,
        key,
        column,
        min,
        max,
    }
}

/// Every money, quantity and rate column, with the range the domain keeps it in. Nullable
/// columns (a shift's count before it closes) are checked only when set.
pub const COLUMN_BOUNDS: &[ColumnBound] = &[
    bound("users", "id", "commission_rate_bp", 0, BP),
    bound("tax_classes", "id", "rate_bp", 0, BP),
    bound("products", "id", "price", 0, M),
    bound("products", "id", "cost", 0, M),
    bound("products", "id", "low_stock_threshold", 0, LEVEL_MAX),
    bound(
        "stock_levels",
        "product_id",
        "on_hand",
        -LEVEL_MAX,
        LEVEL_MAX,
    ),
    // A count moves a level from anywhere in its range to anywhere else.
    bound(
        "stock_movements",
        "id",
        "delta",
        -2 * LEVEL_MAX,
        2 * LEVEL_MAX,
    ),
    bound("transfer_lines", "transfer_id", "quantity", 1, Q),
    bound("reservation_lines", "reservation_id", "quantity", 1, Q),
    bound("reservation_items", "reservation_id", "quantity", 1, Q),
    bound("shifts", "id", "opening_float", 0, M),
    bound("shifts", "id", "sales_count", 0, M),
    bound("shifts", "id", "gross", 0, M),
    bound("shifts", "id", "discounts", 0, M),
    bound("shifts", "id", "tax", 0, M),
    bound("shifts", "id", "net", 0, M),
    bound("shifts", "id", "total", 0, M),
    bound("shifts", "id", "tender_cash", 0, M),
    bound("shifts", "id", "tender_card", 0, M),
    bound("shifts", "id", "tender_mobile_money", 0, M),
    bound("shifts", "id", "tender_voucher", 0, M),
    bound("shifts", "id", "tender_other", 0, M),
    bound("shifts", "id", "change_given", 0, M),
    bound("shifts", "id", "voids_count", 0, M),
    bound("shifts", "id", "voids_total", 0, M),
    bound("shifts", "id", "returns_count", 0, M),
    bound("shifts", "id", "returns_total", 0, M),
    bound("shifts", "id", "refund_cash", 0, M),
    bound("shifts", "id", "refund_card", 0, M),
    bound("shifts", "id", "refund_mobile_money", 0, M),
    bound("shifts", "id", "refund_voucher", 0, M),
    bound("shifts", "id", "refund_other", 0, M),
    bound("shifts", "id", "paid_in", 0, M),
    bound("shifts", "id", "paid_out", 0, M),
    bound("shifts", "id", "counted_cash", 0, M),
    bound("shifts", "id", "expected_cash", -DRAWER, DRAWER),
    bound("shifts", "id", "over_short", -DRAWER, DRAWER),
    bound("shift_cash_movements", "id", "amount", 1, M),
    bound("sales", "id", "subtotal", 0, M),
    bound("sales", "id", "discount_total", 0, M),
    bound("sales", "id", "net_total", 0, M),
    bound("sales", "id", "tax_total", 0, M),
    bound("sales", "id", "total", 0, M),
    bound("sales", "id", "paid", 0, M),
    bound("sales", "id", "change_given", 0, M),
    bound("sales", "id", "commission", 0, M),
    bound("sales", "id", "returns_count", 0, M),
    bound("sale_lines", "id", "quantity", 1, Q),
    bound("sale_lines", "id", "unit_price", 0, M),
    bound("sale_lines", "id", "discount", 0, M),
    bound("sale_lines", "id", "net", 0, M),
    bound("sale_lines", "id", "tax", 0, M),
    bound("sale_lines", "id", "total", 0, M),
    bound("sale_lines", "id", "tax_rate_bp", 0, BP),
    bound("sale_lines", "id", "returned_quantity", 0, Q),
    bound("sale_lines", "id", "refunded", 0, M),
    bound("sale_payments", "sale_id", "amount", 1, M),
    bound("returns", "id", "total", 0, M),
    bound("return_lines", "return_id", "quantity", 1, Q),
    bound("return_lines", "return_id", "refund", 0, M),
    bound("return_refunds", "return_id", "amount", 1, M),
];

/// A stored value outside its column's range, or not an integer at all.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BadValue {
    pub table: &'static str,
    pub column: &'static str,
    /// The row's key column (`id`, or the parent id for child rows).
    pub key: String,
    /// The value as the database renders it as text (`1.84467440737096e+19`).
    pub value: String,
    pub min: i64,
    pub max: i64,
}

/// An offending row: its key and value, both cast to text in SQL.
#[derive(sqlx::FromRow)]
struct OffendingRow {
    #[sqlx(rename = "k")]
    key: String,
    #[sqlx(rename = "v")]
    value: String,
}

/// At most this many offending rows are listed per column; the count says how many there are.
const LISTED_PER_COLUMN: i64 = 20;

/// Finds every stored value outside its column's range (and, on SQLite, every non-integer).
/// Returns the number of columns checked, the offending rows listed (up to 20 per column)
/// and the total count of offending rows.
pub async fn check_bounds(db: &Db) -> StoreResult<(usize, Vec<BadValue>, u64)> {
    let mut conn = db.read_conn().await?;
    let mut found = Vec::new();
    let mut total = 0u64;
    for b in COLUMN_BOUNDS {
        let condition = out_of_range(db.engine(), b);
        let count_sql = sqlx::AssertSqlSafe(format!(
            "select count(*) as n from {} where {condition}",
            b.table
        ));
        let Count { n } = sqlx::query_as(count_sql).fetch_one(&mut *conn).await?;
        if n == 0 {
            continue;
        }
        total = total.saturating_add(u64::try_from(n).unwrap_or(0));
        let list_sql = sqlx::AssertSqlSafe(format!(
            "select cast({key} as text) as k, cast({column} as text) as v from {table} \
             where {condition} order by {key} limit {LISTED_PER_COLUMN}",
            key = b.key,
            column = b.column,
            table = b.table
        ));
        let rows: Vec<OffendingRow> = sqlx::query_as(list_sql).fetch_all(&mut *conn).await?;
        for row in rows {
            found.push(BadValue {
                table: b.table,
                column: b.column,
                key: row.key,
                value: row.value,
                min: b.min,
                max: b.max,
            });
        }
    }
    Ok((COLUMN_BOUNDS.len(), found, total))
}

/// The SQL condition true for a row whose value breaks `b` (a set value only).
fn out_of_range(engine: Engine, b: &ColumnBound) -> String {
    let column = b.column;
    let range = format!("{column} not between {} and {}", b.min, b.max);
    match engine {
        // SQLite stores whatever it is given in a column of any declared type; an integer sum
        // that overflows becomes a REAL. PostgreSQL's bigint cannot hold anything else.
        Engine::Sqlite => {
            format!("{column} is not null and (typeof({column}) <> 'integer' or {range})")
        }
        Engine::Postgres => format!("{column} is not null and {range}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_column_is_listed_once_with_a_sane_range() {
        let mut seen = std::collections::BTreeSet::new();
        for b in COLUMN_BOUNDS {
            assert!(seen.insert((b.table, b.column)), "{b:?} listed twice");
            assert!(b.min <= b.max, "{b:?}");
        }
    }

    #[test]
    fn sqlite_also_refuses_non_integers() {
        let b = bound("shifts", "id", "paid_out", 0, 5);
        assert_eq!(
            out_of_range(Engine::Sqlite, &b),
            "paid_out is not null and (typeof(paid_out) <> 'integer' or paid_out not between 0 and 5)"
        );
        assert_eq!(
            out_of_range(Engine::Postgres, &b),
            "paid_out is not null and paid_out not between 0 and 5"
        );
    }
}

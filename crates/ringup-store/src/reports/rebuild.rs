//! Recomputing the report rollups from the sales and returns themselves: what
//! `ringup rollups rebuild` writes and what `ringup check` compares with the stored rows.
//!
//! Invariants: the recomputation reads the raw rows (completed sales, their lines and
//! payments, returns with their lines and refunds) and applies the same rules as the write
//! path, row by row, streaming, so memory grows with the number of rollup rows, never with the
//! number of sales; a rebuild runs in one write transaction that first shuts out concurrent
//! rollup writers (SQLite: the write lock it holds; PostgreSQL: an exclusive lock on the
//! rollup tables), so no sale committed meanwhile is lost or counted twice.

use std::collections::HashMap;

use chrono::NaiveDate;
use chrono_tz::Tz;
use futures::TryStreamExt;
use sqlx::{AnyConnection, Row as _};

use ringup_core::checkout::payment::TenderMethod;
use ringup_core::ids::{ProductId, StoreId, TaxClassId, UserId};
use ringup_core::reports::{CashierFigures, LineFigures, LineKey, Rollups, TenderFigures};

use crate::platform::db::{Db, Engine};
use crate::platform::error::{StoreError, StoreResult};
use crate::platform::meta;
use crate::platform::sql::{Sql, stmt};
use crate::reports::rollups::{business_day, replace_all};

/// The app_meta key that says the rollups must be rebuilt before they are trusted.
pub const STALE_KEY: &str = "rollups_stale";

fn overflow() -> StoreError {
    StoreError::corrupt("rollups", "a rollup sum overflows")
}

fn id<T: std::str::FromStr>(row: &sqlx::any::AnyRow, column: &'static str) -> StoreResult<T> {
    let text: String = row.try_get(column)?;
    text.parse()
        .map_err(|_| StoreError::corrupt(column, format!("{text:?} is not an id")))
}

fn int(row: &sqlx::any::AnyRow, column: &str) -> StoreResult<i64> {
    Ok(row.try_get(column)?)
}

/// The time zone of every store.
async fn zones(conn: &mut AnyConnection) -> StoreResult<HashMap<StoreId, Tz>> {
    let rows = sqlx::query("select id, timezone from stores")
        .fetch_all(&mut *conn)
        .await?;
    rows.iter()
        .map(|row| {
            let zone: String = row.try_get("timezone")?;
            let tz: Tz = zone
                .parse()
                .map_err(|_| StoreError::corrupt("stores.timezone", zone.clone()))?;
            Ok((id(row, "id")?, tz))
        })
        .collect()
}

/// The local day of a stored timestamp in its store's zone.
/// The local day a row counts on: its `business_day`, else the day its `created_at` gives in
/// its store's zone.
fn day_of(
    zones: &HashMap<StoreId, Tz>,
    store: StoreId,
    row: &sqlx::any::AnyRow,
) -> StoreResult<NaiveDate> {
    let tz = zones
        .get(&store)
        .ok_or_else(|| StoreError::corrupt("stores", format!("no store {store}")))?;
    let kept: Option<String> = row.try_get("business_day")?;
    let created_at: String = row.try_get("created_at")?;
    business_day(kept.as_deref(), &created_at, *tz)
}

fn method_of(text: &str) -> StoreResult<TenderMethod> {
    TenderMethod::parse(text).ok_or_else(|| StoreError::corrupt("method", text.to_owned()))
}

/// The rollups as the sales and returns say they should be.
pub async fn recompute(conn: &mut AnyConnection) -> StoreResult<Rollups> {
    let zones = zones(conn).await?;
    let mut r = Rollups::default();

    let mut rows = sqlx::query(
        "select store_id, cashier_id, created_at, business_day, subtotal, discount_total, net_total, \
         tax_total, total, commission, change_given from sales where status = 'completed'",
    )
    .fetch(&mut *conn);
    while let Some(row) = rows.try_next().await? {
        let store: StoreId = id(&row, "store_id")?;
        let day = day_of(&zones, store, &row)?;
        let cashier: UserId = id(&row, "cashier_id")?;
        let figures = CashierFigures {
            sales: 1,
            gross: int(&row, "subtotal")?,
            discounts: int(&row, "discount_total")?,
            net: int(&row, "net_total")?,
            tax: int(&row, "tax_total")?,
            total: int(&row, "total")?,
            commission: int(&row, "commission")?,
            returns: 0,
            refunds: 0,
        };
        r.add_cashier((store, day, cashier), figures)
            .ok_or_else(overflow)?;
        let change = int(&row, "change_given")?;
        if change != 0 {
            let cash = TenderFigures {
                taken: change.checked_neg().ok_or_else(overflow)?,
                ..TenderFigures::default()
            };
            r.add_tender((store, day, TenderMethod::Cash), cash)
                .ok_or_else(overflow)?;
        }
    }
    drop(rows);

    let mut rows = sqlx::query(
        "select s.store_id, s.created_at, s.business_day, l.product_id, l.tax_class_id, l.tax_rate_bp, \
         l.quantity, l.unit_price, l.discount, l.net, l.tax, l.total \
         from sale_lines l join sales s on s.id = l.sale_id where s.status = 'completed'",
    )
    .fetch(&mut *conn);
    while let Some(row) = rows.try_next().await? {
        let store: StoreId = id(&row, "store_id")?;
        let day = day_of(&zones, store, &row)?;
        let key = LineKey {
            product_id: id::<ProductId>(&row, "product_id")?,
            tax_class_id: id::<TaxClassId>(&row, "tax_class_id")?,
            rate_bp: int(&row, "tax_rate_bp")?,
        };
        let quantity = int(&row, "quantity")?;
        let figures = LineFigures {
            quantity,
            gross: int(&row, "unit_price")?
                .checked_mul(quantity)
                .ok_or_else(overflow)?,
            discounts: int(&row, "discount")?,
            net: int(&row, "net")?,
            tax: int(&row, "tax")?,
            total: int(&row, "total")?,
            ..LineFigures::default()
        };
        r.add_line((store, day, key), figures)
            .ok_or_else(overflow)?;
    }
    drop(rows);

    let mut rows = sqlx::query(
        "select s.store_id, s.created_at, s.business_day, p.method, p.amount \
         from sale_payments p join sales s on s.id = p.sale_id where s.status = 'completed'",
    )
    .fetch(&mut *conn);
    while let Some(row) = rows.try_next().await? {
        let store: StoreId = id(&row, "store_id")?;
        let day = day_of(&zones, store, &row)?;
        let method = method_of(&row.try_get::<String, _>("method")?)?;
        let figures = TenderFigures {
            payments: 1,
            taken: int(&row, "amount")?,
            refunds: 0,
        };
        r.add_tender((store, day, method), figures)
            .ok_or_else(overflow)?;
    }
    drop(rows);

    let mut rows =
        sqlx::query("select store_id, cashier_id, created_at, business_day, total from returns")
            .fetch(&mut *conn);
    while let Some(row) = rows.try_next().await? {
        let store: StoreId = id(&row, "store_id")?;
        let day = day_of(&zones, store, &row)?;
        let figures = CashierFigures {
            returns: 1,
            refunds: int(&row, "total")?,
            ..CashierFigures::default()
        };
        r.add_cashier((store, day, id(&row, "cashier_id")?), figures)
            .ok_or_else(overflow)?;
    }
    drop(rows);

    let mut rows = sqlx::query(
        "select r.store_id, r.created_at, r.business_day, rl.product_id, s.tax_class_id, s.tax_rate_bp, \
         rl.quantity, rl.refund, rl.tax \
         from return_lines rl join returns r on r.id = rl.return_id \
         join sale_lines s on s.id = rl.sale_line_id",
    )
    .fetch(&mut *conn);
    while let Some(row) = rows.try_next().await? {
        let store: StoreId = id(&row, "store_id")?;
        let day = day_of(&zones, store, &row)?;
        let key = LineKey {
            product_id: id::<ProductId>(&row, "product_id")?,
            tax_class_id: id::<TaxClassId>(&row, "tax_class_id")?,
            rate_bp: int(&row, "tax_rate_bp")?,
        };
        let figures = LineFigures {
            returned: int(&row, "quantity")?,
            refunds: int(&row, "refund")?,
            refund_tax: int(&row, "tax")?,
            ..LineFigures::default()
        };
        r.add_line((store, day, key), figures)
            .ok_or_else(overflow)?;
    }
    drop(rows);

    let mut rows = sqlx::query(
        "select r.store_id, r.created_at, r.business_day, f.method, f.amount \
         from return_refunds f join returns r on r.id = f.return_id",
    )
    .fetch(&mut *conn);
    while let Some(row) = rows.try_next().await? {
        let store: StoreId = id(&row, "store_id")?;
        let day = day_of(&zones, store, &row)?;
        let method = method_of(&row.try_get::<String, _>("method")?)?;
        let figures = TenderFigures {
            refunds: int(&row, "amount")?,
            ..TenderFigures::default()
        };
        r.add_tender((store, day, method), figures)
            .ok_or_else(overflow)?;
    }
    drop(rows);
    Ok(r.without_zeros())
}

/// The rollup rows as stored.
pub async fn stored(conn: &mut AnyConnection) -> StoreResult<Rollups> {
    let mut r = Rollups::default();
    let day = |row: &sqlx::any::AnyRow| -> StoreResult<NaiveDate> {
        let text: String = row.try_get("day")?;
        NaiveDate::parse_from_str(&text, "%Y-%m-%d")
            .map_err(|_| StoreError::corrupt("rollups.day", text))
    };
    let figures_of = |row: &sqlx::any::AnyRow| -> StoreResult<CashierFigures> {
        Ok(CashierFigures {
            sales: int(row, "sales")?,
            gross: int(row, "gross")?,
            discounts: int(row, "discounts")?,
            net: int(row, "net")?,
            tax: int(row, "tax")?,
            total: int(row, "total")?,
            commission: int(row, "commission")?,
            returns: int(row, "returns")?,
            refunds: int(row, "refunds")?,
        })
    };
    let mut rows = sqlx::query(
        "select store_id, day, sales, gross, discounts, net, tax, total, commission, returns, \
         refunds from sales_day_rollups",
    )
    .fetch(&mut *conn);
    while let Some(row) = rows.try_next().await? {
        r.add_day((id(&row, "store_id")?, day(&row)?), figures_of(&row)?)
            .ok_or_else(overflow)?;
    }
    drop(rows);
    let mut rows = sqlx::query(
        "select store_id, day, cashier_id, sales, gross, discounts, net, tax, total, \
         commission, returns, refunds from sales_rollups",
    )
    .fetch(&mut *conn);
    while let Some(row) = rows.try_next().await? {
        let figures = CashierFigures {
            sales: int(&row, "sales")?,
            gross: int(&row, "gross")?,
            discounts: int(&row, "discounts")?,
            net: int(&row, "net")?,
            tax: int(&row, "tax")?,
            total: int(&row, "total")?,
            commission: int(&row, "commission")?,
            returns: int(&row, "returns")?,
            refunds: int(&row, "refunds")?,
        };
        let key = (id(&row, "store_id")?, day(&row)?, id(&row, "cashier_id")?);
        r.add_cashier_row(key, figures).ok_or_else(overflow)?;
    }
    drop(rows);
    let mut rows = sqlx::query(
        "select store_id, day, product_id, tax_class_id, rate_bp, quantity, gross, discounts, \
         net, tax, total, returned, refunds, refund_tax from sale_line_rollups",
    )
    .fetch(&mut *conn);
    while let Some(row) = rows.try_next().await? {
        let key = LineKey {
            product_id: id(&row, "product_id")?,
            tax_class_id: id(&row, "tax_class_id")?,
            rate_bp: int(&row, "rate_bp")?,
        };
        let figures = LineFigures {
            quantity: int(&row, "quantity")?,
            gross: int(&row, "gross")?,
            discounts: int(&row, "discounts")?,
            net: int(&row, "net")?,
            tax: int(&row, "tax")?,
            total: int(&row, "total")?,
            returned: int(&row, "returned")?,
            refunds: int(&row, "refunds")?,
            refund_tax: int(&row, "refund_tax")?,
        };
        r.add_line((id(&row, "store_id")?, day(&row)?, key), figures)
            .ok_or_else(overflow)?;
    }
    drop(rows);
    let mut rows =
        sqlx::query("select store_id, day, method, payments, taken, refunds from tender_rollups")
            .fetch(&mut *conn);
    while let Some(row) = rows.try_next().await? {
        let figures = TenderFigures {
            payments: int(&row, "payments")?,
            taken: int(&row, "taken")?,
            refunds: int(&row, "refunds")?,
        };
        let method = method_of(&row.try_get::<String, _>("method")?)?;
        r.add_tender((id(&row, "store_id")?, day(&row)?, method), figures)
            .ok_or_else(overflow)?;
    }
    drop(rows);
    Ok(r.without_zeros())
}

/// How many rollup rows a rebuild wrote.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Rebuilt {
    pub rows: usize,
}

/// Recomputes every rollup row from the sales and returns and replaces the stored ones, in
/// one write transaction that concurrent sales wait for; clears the stale flag.
pub async fn rebuild(db: &Db) -> StoreResult<Rebuilt> {
    let mut tx = db.begin_write().await?;
    if db.engine() == Engine::Postgres {
        // Sales in flight wait at their rollup upsert until this commits; sales committed
        // before the lock was granted are read below.
        tx.run(stmt(
            "lock table sales_day_rollups, sales_rollups, sale_line_rollups, tender_rollups \
             in exclusive mode",
        ))
        .await?;
    }
    let rollups = recompute(&mut tx).await?;
    replace_all(&mut tx, &rollups).await?;
    tx.run(stmt("delete from app_meta where key = $1").bind(STALE_KEY))
        .await?;
    crate::platform::db::commit(tx).await?;
    Ok(Rebuilt {
        rows: rollups.days.len()
            + rollups.cashiers.len()
            + rollups.lines.len()
            + rollups.tenders.len(),
    })
}

/// Whether a migration asked for a rebuild that has not happened yet.
pub async fn is_stale(db: &Db) -> StoreResult<bool> {
    Ok(meta::get(db, STALE_KEY).await?.is_some())
}

/// One rollup row that differs from its recomputation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Mismatch {
    pub table: &'static str,
    pub key: String,
    pub stored: String,
    pub recomputed: String,
}

/// Compares the stored rollups with a recomputation: (rows compared, mismatches).
pub async fn check(db: &Db) -> StoreResult<(usize, Vec<Mismatch>)> {
    let mut conn = db.read_conn().await?;
    let want = recompute(&mut conn).await?;
    let have = stored(&mut conn).await?;
    let mut out = Vec::new();
    diff("sales_day_rollups", &have.days, &want.days, &mut out);
    diff("sales_rollups", &have.cashiers, &want.cashiers, &mut out);
    diff("sale_line_rollups", &have.lines, &want.lines, &mut out);
    diff("tender_rollups", &have.tenders, &want.tenders, &mut out);
    let rows = want.days.len() + want.cashiers.len() + want.lines.len() + want.tenders.len();
    Ok((rows, out))
}

fn diff<K: Ord + std::fmt::Debug, F: PartialEq + std::fmt::Debug>(
    table: &'static str,
    have: &std::collections::BTreeMap<K, F>,
    want: &std::collections::BTreeMap<K, F>,
    out: &mut Vec<Mismatch>,
) {
    let show = |f: Option<&F>| f.map_or_else(|| "no row".to_owned(), |f| format!("{f:?}"));
    for key in have
        .keys()
        .chain(want.keys().filter(|k| !have.contains_key(*k)))
    {
        let (h, w) = (have.get(key), want.get(key));
        if h != w {
            out.push(Mismatch {
                table,
                key: format!("{key:?}"),
                stored: show(h),
                recomputed: show(w),
            });
        }
    }
}

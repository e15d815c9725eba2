//! What both phases must leave behind: one sale row per success, gapless numbers per store, shift
//! totals and outbox events that account for every sale, sold quantities equal to the stock
//! taken, `check_ledger` without offences, report rollups equal to a recomputation, and intact
//! audit chains.

use anyhow::{Result, bail, ensure};
use chrono::Utc;
use sqlx::Row;

use ringup_store::Db;
use ringup_store::audit::{self, Verification};

/// Checks what both phases left behind; returns a summary or what is wrong.
pub(crate) async fn verify(db: &Db, succeeded: u64) -> Result<String> {
    let mut conn = db.read_conn().await?;
    let count = |sql: &'static str| sqlx::query(sql);
    let sales_count: i64 = count("select count(*) as n from sales")
        .fetch_one(&mut *conn)
        .await?
        .try_get("n")?;
    ensure!(
        u64::try_from(sales_count)? == succeeded,
        "{sales_count} sales in the table, but {succeeded} were answered as made"
    );

    let per_store = sqlx::query(
        "select s.code, count(*) as n, min(x.seq) as low, max(x.seq) as high, \
           count(distinct x.seq) as distinct_seqs \
         from sales x join stores s on s.id = x.store_id group by s.code order by s.code",
    )
    .fetch_all(&mut *conn)
    .await?;
    let mut numbers = Vec::new();
    for row in &per_store {
        let code: String = row.try_get("code")?;
        let n: i64 = row.try_get("n")?;
        let low: i64 = row.try_get("low")?;
        let high: i64 = row.try_get("high")?;
        let distinct: i64 = row.try_get("distinct_seqs")?;
        ensure!(
            low == 1 && high == n && distinct == n,
            "store {code}: {n} sales numbered {low}..={high} ({distinct} distinct): not gapless"
        );
        numbers.push(format!("{code}-000001..{code}-{high:06}"));
    }

    let in_shifts: i64 =
        count("select cast(coalesce(sum(sales_count), 0) as bigint) as n from shifts")
            .fetch_one(&mut *conn)
            .await?
            .try_get("n")?;
    ensure!(
        in_shifts == sales_count,
        "the shifts' running totals count {in_shifts} sales, the table {sales_count}"
    );
    let events: i64 =
        count("select count(*) as n from outbox_events where event_type = 'sale.completed'")
            .fetch_one(&mut *conn)
            .await?
            .try_get("n")?;
    ensure!(
        events == sales_count,
        "{events} sale.completed outbox events for {sales_count} sales"
    );
    let sold: i64 = count("select cast(coalesce(sum(quantity), 0) as bigint) as n from sale_lines")
        .fetch_one(&mut *conn)
        .await?
        .try_get("n")?;
    let taken: i64 = count(
        "select cast(coalesce(-sum(delta), 0) as bigint) as n from stock_movements \
         where kind = 'sale'",
    )
    .fetch_one(&mut *conn)
    .await?
    .try_get("n")?;
    ensure!(
        sold == taken,
        "{sold} units sold but {taken} taken from stock"
    );
    drop(conn);

    let (levels, offences) = ringup_store::stock::check_ledger(db, Utc::now()).await?;
    if let Some(first) = offences.first() {
        bail!(
            "stock ledger: {} of {levels} levels are wrong (first: store {} product {}: {})",
            offences.len(),
            first.store_id,
            first.product_id,
            first.problem
        );
    }
    let (rollup_rows, mismatches) = ringup_store::reports::rebuild::check(db).await?;
    if let Some(first) = mismatches.first() {
        bail!(
            "report rollups: {} rows differ from a recomputation (first: {first:?})",
            mismatches.len()
        );
    }
    let audited = match audit::verify(db).await? {
        Verification::Ok { checked } => checked,
        other => bail!("audit log: {other:?}"),
    };
    Ok(format!(
        "{sales_count} sales = {succeeded} answered as made; numbers gapless ({}); shift totals \
         count {in_shifts}; {events} sale.completed outbox events; {sold} units sold = {taken} \
         taken from stock; ledger check: {levels} levels, no offences; report rollups equal a \
         recomputation ({rollup_rows} rows); audit chains intact ({audited} events)",
        numbers.join(", ")
    ))
}

//! Cash-drawer shifts and their running totals.
//!
//! Invariants: at most one open shift per register (a partial unique index); a shift's totals
//! change only through [`add_to_shift`], in the transaction of the sale, void, return or cash
//! movement that causes the change, and only while the shift is open — the same conditional
//! update is what refuses a sale on a closed shift, so a sale racing a close either lands
//! before it (and is in the Z report) or is refused. No running total ever passes
//! `Money::MAX`: the update that would take it there is refused as a whole.

use chrono::{DateTime, Utc};
use sqlx::AnyConnection;

use ringup_core::catalog::Money;
use ringup_core::checkout::totals::{PerTender, ShiftTotals};
use ringup_core::ids::{CashMovementId, RegisterId, ShiftId, StoreId, UserId};

use crate::catalog::stores::PerStore;
use crate::platform::db::{Db, placeholders};
use crate::platform::decode::parsed;
use crate::platform::error::StoreResult;
use crate::platform::filter::Conditions;
use crate::platform::page::{After, Page, page_of};
use crate::platform::row::Flag;
use crate::platform::sql::{Row, Sql, stmt};
use crate::platform::time;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ShiftRow {
    pub id: ShiftId,
    pub store_id: StoreId,
    pub register_id: RegisterId,
    pub cashier_id: UserId,
    pub open: bool,
    pub opening_float: i64,
    pub totals: ShiftTotals,
    pub counted_cash: Option<i64>,
    pub expected_cash: Option<i64>,
    pub over_short: Option<i64>,
    pub opened_at: String,
    pub closed_at: Option<String>,
}

/// The counter columns, in the order [`counters`] lists their values.
const COUNTER_COLUMNS: [&str; 21] = [
    "sales_count",
    "gross",
    "discounts",
    "tax",
    "net",
    "total",
    "tender_cash",
    "tender_card",
    "tender_mobile_money",
    "tender_voucher",
    "tender_other",
    "change_given",
    "voids_count",
    "voids_total",
    "returns_count",
    "returns_total",
    "refund_cash",
    "refund_card",
    "refund_mobile_money",
    "refund_voucher",
    "refund_other",
];

fn counters(t: &ShiftTotals) -> [i64; 21] {
    [
        t.sales_count,
        t.gross,
        t.discounts,
        t.tax,
        t.net,
        t.total,
        t.tenders.cash,
        t.tenders.card,
        t.tenders.mobile_money,
        t.tenders.voucher,
        t.tenders.other,
        t.change_given,
        t.voids_count,
        t.voids_total,
        t.returns_count,
        t.returns_total,
        t.refunds.cash,
        t.refunds.card,
        t.refunds.mobile_money,
        t.refunds.voucher,
        t.refunds.other,
    ]
}

const SHIFT_COLUMNS: &str = "id, store_id, register_id, cashier_id, status, opening_float, \
    sales_count, gross, discounts, tax, net, total, tender_cash, tender_card, \
    tender_mobile_money, tender_voucher, tender_other, change_given, voids_count, voids_total, \
    returns_count, returns_total, refund_cash, refund_card, refund_mobile_money, refund_voucher, \
    refund_other, paid_in, paid_out, counted_cash, expected_cash, over_short, opened_at, closed_at";

/// A shift as [`SHIFT_COLUMNS`] reads it, before its counters become [`ShiftTotals`] (a core
/// type, which knows nothing of rows).
#[derive(sqlx::FromRow)]
struct ShiftRecord {
    #[sqlx(try_from = "String")]
    id: ShiftId,
    #[sqlx(try_from = "String")]
    store_id: StoreId,
    #[sqlx(try_from = "String")]
    register_id: RegisterId,
    #[sqlx(try_from = "String")]
    cashier_id: UserId,
    status: String,
    opening_float: i64,
    sales_count: i64,
    gross: i64,
    discounts: i64,
    tax: i64,
    net: i64,
    total: i64,
    tender_cash: i64,
    tender_card: i64,
    tender_mobile_money: i64,
    tender_voucher: i64,
    tender_other: i64,
    change_given: i64,
    voids_count: i64,
    voids_total: i64,
    returns_count: i64,
    returns_total: i64,
    refund_cash: i64,
    refund_card: i64,
    refund_mobile_money: i64,
    refund_voucher: i64,
    refund_other: i64,
    paid_in: i64,
    paid_out: i64,
    counted_cash: Option<i64>,
    expected_cash: Option<i64>,
    over_short: Option<i64>,
    opened_at: String,
    closed_at: Option<String>,
}

impl ShiftRecord {
    /// A shift a write read back (`returning {SHIFT_COLUMNS}`) on either connection.
    fn read(row: &Row) -> StoreResult<ShiftRecord> {
        Ok(ShiftRecord {
            id: parsed(row, "id", "shifts.id")?,
            store_id: parsed(row, "store_id", "shifts.store_id")?,
            register_id: parsed(row, "register_id", "shifts.register_id")?,
            cashier_id: parsed(row, "cashier_id", "shifts.cashier_id")?,
            status: row.text("status")?,
            opening_float: row.int("opening_float")?,
            sales_count: row.int("sales_count")?,
            gross: row.int("gross")?,
            discounts: row.int("discounts")?,
            tax: row.int("tax")?,
            net: row.int("net")?,
            total: row.int("total")?,
            tender_cash: row.int("tender_cash")?,
            tender_card: row.int("tender_card")?,
            tender_mobile_money: row.int("tender_mobile_money")?,
            tender_voucher: row.int("tender_voucher")?,
            tender_other: row.int("tender_other")?,
            change_given: row.int("change_given")?,
            voids_count: row.int("voids_count")?,
            voids_total: row.int("voids_total")?,
            returns_count: row.int("returns_count")?,
            returns_total: row.int("returns_total")?,
            refund_cash: row.int("refund_cash")?,
            refund_card: row.int("refund_card")?,
            refund_mobile_money: row.int("refund_mobile_money")?,
            refund_voucher: row.int("refund_voucher")?,
            refund_other: row.int("refund_other")?,
            paid_in: row.int("paid_in")?,
            paid_out: row.int("paid_out")?,
            counted_cash: row.opt_int("counted_cash")?,
            expected_cash: row.opt_int("expected_cash")?,
            over_short: row.opt_int("over_short")?,
            opened_at: row.text("opened_at")?,
            closed_at: row.opt_text("closed_at")?,
        })
    }
}

impl From<ShiftRecord> for ShiftRow {
    fn from(r: ShiftRecord) -> ShiftRow {
        ShiftRow {
            id: r.id,
            store_id: r.store_id,
            register_id: r.register_id,
            cashier_id: r.cashier_id,
            open: r.status == "open",
            opening_float: r.opening_float,
            totals: ShiftTotals {
                sales_count: r.sales_count,
                gross: r.gross,
                discounts: r.discounts,
                tax: r.tax,
                net: r.net,
                total: r.total,
                tenders: PerTender {
                    cash: r.tender_cash,
                    card: r.tender_card,
                    mobile_money: r.tender_mobile_money,
                    voucher: r.tender_voucher,
                    other: r.tender_other,
                },
                change_given: r.change_given,
                voids_count: r.voids_count,
                voids_total: r.voids_total,
                returns_count: r.returns_count,
                returns_total: r.returns_total,
                refunds: PerTender {
                    cash: r.refund_cash,
                    card: r.refund_card,
                    mobile_money: r.refund_mobile_money,
                    voucher: r.refund_voucher,
                    other: r.refund_other,
                },
                paid_in: r.paid_in,
                paid_out: r.paid_out,
            },
            counted_cash: r.counted_cash,
            expected_cash: r.expected_cash,
            over_short: r.over_short,
            opened_at: r.opened_at,
            closed_at: r.closed_at,
        }
    }
}

/// A register's store and whether it is active.
#[derive(sqlx::FromRow)]
struct RegisterOf {
    #[sqlx(try_from = "String")]
    store_id: StoreId,
    #[sqlx(try_from = "Flag")]
    active: bool,
}

pub struct NewShift {
    pub store_id: StoreId,
    pub register_id: RegisterId,
    pub cashier_id: UserId,
    pub opening_float: i64,
}

/// Opens a shift. A register with an open shift already is a unique violation
/// (`shifts_open_register`), which the caller answers as 409.
pub async fn open_shift(
    conn: &mut impl Sql,
    shift: &NewShift,
    at: DateTime<Utc>,
) -> StoreResult<ShiftRow> {
    let now: &str = &time::to_db(at);
    let sql = format!(
        "insert into shifts (id, store_id, register_id, cashier_id, status, opening_float, \
         opened_at) values ($1, $2, $3, $4, 'open', $5, $6) returning {SHIFT_COLUMNS}"
    );
    let row = conn
        .row(
            stmt(sql)
                .bind(ShiftId::new().to_string())
                .bind(shift.store_id.to_string())
                .bind(shift.register_id.to_string())
                .bind(shift.cashier_id.to_string())
                .bind(shift.opening_float)
                .bind(now),
        )
        .await?;
    Ok(ShiftRecord::read(&row)?.into())
}

pub async fn find_shift(conn: &mut AnyConnection, id: ShiftId) -> StoreResult<Option<ShiftRow>> {
    let sql = sqlx::AssertSqlSafe(format!("select {SHIFT_COLUMNS} from shifts where id = $1"));
    let record: Option<ShiftRecord> = sqlx::query_as(sql)
        .bind(id.to_string())
        .fetch_optional(&mut *conn)
        .await?;
    Ok(record.map(ShiftRow::from))
}

/// The open shift of a register, if any.
pub async fn open_shift_of(
    conn: &mut AnyConnection,
    register: RegisterId,
) -> StoreResult<Option<ShiftRow>> {
    let sql = sqlx::AssertSqlSafe(format!(
        "select {SHIFT_COLUMNS} from shifts where register_id = $1 and status = 'open'"
    ));
    let record: Option<ShiftRecord> = sqlx::query_as(sql)
        .bind(register.to_string())
        .fetch_optional(&mut *conn)
        .await?;
    Ok(record.map(ShiftRow::from))
}

/// Why a shift's running totals were not changed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ShiftRefusal {
    /// The shift is closed (or gone).
    Closed,
    /// A running total would pass `Money::MAX` (docs/API.md: a write whose running totals would
    /// leave the amount range is 422): the shift must be closed and a new one opened.
    TotalsOutOfRange,
}

/// The columns a shift delta adds to, in the order [`delta_values`] gives their values: the
/// counters, then paid-in and paid-out.
pub fn delta_columns() -> impl Iterator<Item = &'static str> {
    COUNTER_COLUMNS.into_iter().chain(["paid_in", "paid_out"])
}

/// A shift delta's values, in [`delta_columns`] order.
pub fn delta_values(delta: &ShiftTotals) -> impl Iterator<Item = i64> {
    counters(delta)
        .into_iter()
        .chain([delta.paid_in, delta.paid_out])
}

/// [`add_to_shift`]'s statement: `$1` the shift, `$2…` the delta in [`delta_columns`] order,
/// then the bound every total must stay within (the checkout bench's ceiling runs the same).
pub fn add_to_shift_sql() -> String {
    let n = delta_columns().count();
    let max = placeholders(n + 2, 1);
    let (sets, bounds): (Vec<String>, Vec<String>) = delta_columns()
        .enumerate()
        .map(|(i, column)| {
            let p = placeholders(i + 2, 1);
            (
                format!("{column} = {column} + {p}"),
                format!("{column} + {p} <= {max}"),
            )
        })
        .unzip();
    format!(
        "update shifts set {} where id = $1 and status = 'open' and {}",
        sets.join(", "),
        bounds.join(" and ")
    )
}

/// Adds `delta` to an open shift's running totals (one statement, which also locks the shift
/// row until commit). Refused, with nothing changed, when the shift is closed or when any
/// total would pass `Money::MAX`; the same statement checks both, so the bound holds under
/// any interleaving.
pub async fn add_to_shift(
    conn: &mut impl Sql,
    shift: ShiftId,
    delta: &ShiftTotals,
) -> StoreResult<Result<(), ShiftRefusal>> {
    let mut add = stmt(add_to_shift_sql()).bind(shift.to_string());
    for value in delta_values(delta) {
        add = add.bind(value);
    }
    let updated = conn.run(add.bind(Money::MAX.value())).await?;
    if updated == 1 {
        return Ok(Ok(()));
    }
    // Say why; the row is settled now (locked by this transaction's earlier writes, or not).
    let current = conn
        .optional_row(stmt("select status from shifts where id = $1").bind(shift.to_string()))
        .await?;
    let status = current.map(|row| row.text("status")).transpose()?;
    Ok(Err(match status.as_deref() {
        Some("open") => ShiftRefusal::TotalsOutOfRange,
        _ => ShiftRefusal::Closed,
    }))
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CashMovementRow {
    pub id: CashMovementId,
    pub shift_id: ShiftId,
    pub kind: String,
    pub amount: i64,
    pub reason: String,
    pub actor_id: String,
    pub created_at: String,
}

/// Records a paid-in or paid-out on an open shift, unless [`add_to_shift`] refuses it.
pub async fn add_cash_movement(
    conn: &mut impl Sql,
    shift: ShiftId,
    paid_in: bool,
    amount: Money,
    reason: &str,
    actor: &str,
    at: DateTime<Utc>,
) -> StoreResult<Result<CashMovementRow, ShiftRefusal>> {
    let now: &str = &time::to_db(at);
    let delta = if paid_in {
        ShiftTotals::paid_in(amount)
    } else {
        ShiftTotals::paid_out(amount)
    };
    if let Err(refusal) = add_to_shift(conn, shift, &delta).await? {
        return Ok(Err(refusal));
    }
    let row = CashMovementRow {
        id: CashMovementId::new(),
        shift_id: shift,
        kind: if paid_in { "paid_in" } else { "paid_out" }.to_owned(),
        amount: amount.value(),
        reason: reason.to_owned(),
        actor_id: actor.to_owned(),
        created_at: now.to_owned(),
    };
    conn.defer(
        stmt(
            "insert into shift_cash_movements (id, shift_id, kind, amount, reason, actor_id, \
             created_at) values ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(row.id.to_string())
        .bind(shift.to_string())
        .bind(&row.kind)
        .bind(row.amount)
        .bind(reason)
        .bind(actor)
        .bind(now),
    )
    .await?;
    Ok(Ok(row))
}

/// Marks an open shift closed and returns it with its final totals (the update locks the row,
/// so no sale can add to it afterwards); `None` if it was not open. The caller computes the
/// expected cash from the returned totals and records it with [`record_count`].
pub async fn close_shift(
    conn: &mut impl Sql,
    shift: ShiftId,
    by: &str,
    at: DateTime<Utc>,
) -> StoreResult<Option<ShiftRow>> {
    let now: &str = &time::to_db(at);
    let sql = format!(
        "update shifts set status = 'closed', closed_at = $2, closed_by = $3 \
         where id = $1 and status = 'open' returning {SHIFT_COLUMNS}"
    );
    let row = conn
        .optional_row(stmt(sql).bind(shift.to_string()).bind(now).bind(by))
        .await?;
    row.map(|row| Ok(ShiftRecord::read(&row)?.into()))
        .transpose()
}

/// Records the counted cash of a closed shift and what was expected.
pub async fn record_count(
    conn: &mut impl Sql,
    shift: ShiftId,
    counted: i64,
    expected: i64,
    over_short: i64,
) -> StoreResult<()> {
    conn.run(
        stmt(
            "update shifts set counted_cash = $2, expected_cash = $3, over_short = $4 \
             where id = $1",
        )
        .bind(shift.to_string())
        .bind(counted)
        .bind(expected)
        .bind(over_short),
    )
    .await?;
    Ok(())
}

#[derive(Clone, Debug, Default)]
pub struct ShiftFilter {
    /// `None`: every store (admins); otherwise only these.
    pub stores: Option<Vec<StoreId>>,
    pub register_id: Option<RegisterId>,
    pub cashier_id: Option<UserId>,
    pub open: Option<bool>,
}

pub async fn list_shifts(
    db: &Db,
    filter: &ShiftFilter,
    after: Option<&After>,
    limit: usize,
) -> StoreResult<Page<ShiftRow>> {
    let mut conditions = Conditions::after_cursor("id");
    if let Some(stores) = &filter.stores {
        conditions.push_in("store_id", stores.iter().map(ToString::to_string));
    }
    if let Some(register) = filter.register_id {
        let p = conditions.param(register.to_string());
        conditions.push(format!("register_id = {p}"));
    }
    if let Some(cashier) = filter.cashier_id {
        let p = conditions.param(cashier.to_string());
        conditions.push(format!("cashier_id = {p}"));
    }
    if let Some(open) = filter.open {
        let p = conditions.param(if open { "open" } else { "closed" });
        conditions.push(format!("status = {p}"));
    }
    let mut conn = db.read_conn().await?;
    let records: Vec<ShiftRecord> = conditions
        .fetch(
            &mut conn,
            &format!("select {SHIFT_COLUMNS} from shifts"),
            "order by id limit $2",
            after,
            limit,
        )
        .await?;
    let shifts: Vec<ShiftRow> = records.into_iter().map(ShiftRow::from).collect();
    Ok(page_of(shifts, limit, |s| s.id.to_string()))
}

/// A register and its store, if it exists.
pub async fn find_register(
    conn: &mut AnyConnection,
    id: RegisterId,
) -> StoreResult<Option<(StoreId, bool)>> {
    let row: Option<RegisterOf> =
        sqlx::query_as("select store_id, active from registers where id = $1")
            .bind(id.to_string())
            .fetch_optional(&mut *conn)
            .await?;
    Ok(row.map(|r| (r.store_id, r.active)))
}

/// The open shifts of every store (0 for a store with none), in code order. One pass over the
/// shifts through their status; for `/metrics`, which caches it.
pub async fn open_shifts_by_store(db: &Db) -> StoreResult<Vec<PerStore>> {
    Ok(sqlx::query_as(
        "select st.code, cast(count(sh.id) as bigint) as value \
         from stores st left join shifts sh on sh.store_id = st.id and sh.status = 'open' \
         group by st.code order by st.code",
    )
    .fetch_all(db.reader())
    .await?)
}

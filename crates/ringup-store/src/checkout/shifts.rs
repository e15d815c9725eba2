//! Cash-drawer shifts and their running totals.
//!
//! Invariants: at most one open shift per register (a partial unique index); a shift's totals
//! change only through [`add_to_shift`], in the transaction of the sale, void, return or cash
//! movement that causes the change, and only while the shift is open — the same conditional
//! update is what refuses a sale on a closed shift, so a sale racing a close either lands
//! before it (and is in the Z report) or is refused. No running total ever passes
//! `Money::MAX`: the update that would take it there is refused as a whole.

use sqlx::{AnyConnection, Row, any::AnyRow};

use ringup_core::catalog::Money;
use ringup_core::checkout::payment::TenderMethod;
use ringup_core::checkout::totals::{PerTender, ShiftTotals};
use ringup_core::ids::{CashMovementId, RegisterId, ShiftId, StoreId, UserId};

use crate::platform::db::{Db, placeholders};
use crate::platform::error::StoreResult;
use crate::platform::filter::Conditions;
use crate::platform::page::{After, Page, page_of};
use crate::stock::parse_id;

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

const TENDER_COLUMNS: [(TenderMethod, &str, &str); 5] = [
    (TenderMethod::Cash, "tender_cash", "refund_cash"),
    (TenderMethod::Card, "tender_card", "refund_card"),
    (
        TenderMethod::MobileMoney,
        "tender_mobile_money",
        "refund_mobile_money",
    ),
    (TenderMethod::Voucher, "tender_voucher", "refund_voucher"),
    (TenderMethod::Other, "tender_other", "refund_other"),
];

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

fn per_tender(row: &AnyRow, refunds: bool) -> StoreResult<PerTender> {
    let mut values = [0i64; 5];
    for ((_, tender, refund), value) in TENDER_COLUMNS.iter().zip(values.iter_mut()) {
        *value = row.try_get(if refunds { *refund } else { *tender })?;
    }
    let [cash, card, mobile_money, voucher, other] = values;
    Ok(PerTender {
        cash,
        card,
        mobile_money,
        voucher,
        other,
    })
}

fn shift_from_row(row: &AnyRow) -> StoreResult<ShiftRow> {
    let status: String = row.try_get("status")?;
    Ok(ShiftRow {
        id: parse_id(row, "id", ShiftId::parse)?,
        store_id: parse_id(row, "store_id", StoreId::parse)?,
        register_id: parse_id(row, "register_id", RegisterId::parse)?,
        cashier_id: parse_id(row, "cashier_id", UserId::parse)?,
        open: status == "open",
        opening_float: row.try_get("opening_float")?,
        totals: ShiftTotals {
            sales_count: row.try_get("sales_count")?,
            gross: row.try_get("gross")?,
            discounts: row.try_get("discounts")?,
            tax: row.try_get("tax")?,
            net: row.try_get("net")?,
            total: row.try_get("total")?,
            tenders: per_tender(row, false)?,
            change_given: row.try_get("change_given")?,
            voids_count: row.try_get("voids_count")?,
            voids_total: row.try_get("voids_total")?,
            returns_count: row.try_get("returns_count")?,
            returns_total: row.try_get("returns_total")?,
            refunds: per_tender(row, true)?,
            paid_in: row.try_get("paid_in")?,
            paid_out: row.try_get("paid_out")?,
        },
        counted_cash: row.try_get("counted_cash")?,
        expected_cash: row.try_get("expected_cash")?,
        over_short: row.try_get("over_short")?,
        opened_at: row.try_get("opened_at")?,
        closed_at: row.try_get("closed_at")?,
    })
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
    conn: &mut AnyConnection,
    shift: &NewShift,
    now: &str,
) -> StoreResult<ShiftRow> {
    let sql = sqlx::AssertSqlSafe(format!(
        "insert into shifts (id, store_id, register_id, cashier_id, status, opening_float, \
         opened_at) values ($1, $2, $3, $4, 'open', $5, $6) returning {SHIFT_COLUMNS}"
    ));
    let row = sqlx::query(sql)
        .bind(ShiftId::new().to_string())
        .bind(shift.store_id.to_string())
        .bind(shift.register_id.to_string())
        .bind(shift.cashier_id.to_string())
        .bind(shift.opening_float)
        .bind(now)
        .fetch_one(&mut *conn)
        .await?;
    shift_from_row(&row)
}

pub async fn find_shift(conn: &mut AnyConnection, id: ShiftId) -> StoreResult<Option<ShiftRow>> {
    let sql = sqlx::AssertSqlSafe(format!("select {SHIFT_COLUMNS} from shifts where id = $1"));
    let row = sqlx::query(sql)
        .bind(id.to_string())
        .fetch_optional(&mut *conn)
        .await?;
    row.as_ref().map(shift_from_row).transpose()
}

/// The open shift of a register, if any.
pub async fn open_shift_of(
    conn: &mut AnyConnection,
    register: RegisterId,
) -> StoreResult<Option<ShiftRow>> {
    let sql = sqlx::AssertSqlSafe(format!(
        "select {SHIFT_COLUMNS} from shifts where register_id = $1 and status = 'open'"
    ));
    let row = sqlx::query(sql)
        .bind(register.to_string())
        .fetch_optional(&mut *conn)
        .await?;
    row.as_ref().map(shift_from_row).transpose()
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

/// Adds `delta` to an open shift's running totals (one statement, which also locks the shift
/// row until commit). Refused, with nothing changed, when the shift is closed or when any
/// total would pass `Money::MAX`; the same statement checks both, so the bound holds under
/// any interleaving.
pub async fn add_to_shift(
    conn: &mut AnyConnection,
    shift: ShiftId,
    delta: &ShiftTotals,
) -> StoreResult<Result<(), ShiftRefusal>> {
    let columns = COUNTER_COLUMNS.iter().chain(["paid_in", "paid_out"].iter());
    let max = placeholders(COUNTER_COLUMNS.len() + 4, 1);
    let (sets, bounds): (Vec<String>, Vec<String>) = columns
        .enumerate()
        .map(|(i, column)| {
            let p = placeholders(i + 2, 1);
            (
                format!("{column} = {column} + {p}"),
                format!("{column} + {p} <= {max}"),
            )
        })
        .unzip();
    let sql = sqlx::AssertSqlSafe(format!(
        "update shifts set {} where id = $1 and status = 'open' and {}",
        sets.join(", "),
        bounds.join(" and ")
    ));
    let mut query = sqlx::query(sql).bind(shift.to_string());
    for value in counters(delta) {
        query = query.bind(value);
    }
    let updated = query
        .bind(delta.paid_in)
        .bind(delta.paid_out)
        .bind(Money::MAX.value())
        .execute(&mut *conn)
        .await?
        .rows_affected();
    if updated == 1 {
        return Ok(Ok(()));
    }
    // Say why; the row is settled now (locked by this transaction's earlier writes, or not).
    let open: Option<String> = sqlx::query_scalar("select status from shifts where id = $1")
        .bind(shift.to_string())
        .fetch_optional(&mut *conn)
        .await?;
    Ok(Err(match open.as_deref() {
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
    conn: &mut AnyConnection,
    shift: ShiftId,
    paid_in: bool,
    amount: i64,
    reason: &str,
    actor: &str,
    now: &str,
) -> StoreResult<Result<CashMovementRow, ShiftRefusal>> {
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
        amount,
        reason: reason.to_owned(),
        actor_id: actor.to_owned(),
        created_at: now.to_owned(),
    };
    sqlx::query(
        "insert into shift_cash_movements (id, shift_id, kind, amount, reason, actor_id, \
         created_at) values ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(row.id.to_string())
    .bind(shift.to_string())
    .bind(&row.kind)
    .bind(amount)
    .bind(reason)
    .bind(actor)
    .bind(now)
    .execute(&mut *conn)
    .await?;
    Ok(Ok(row))
}

/// Marks an open shift closed and returns it with its final totals (the update locks the row,
/// so no sale can add to it afterwards); `None` if it was not open. The caller computes the
/// expected cash from the returned totals and records it with [`record_count`].
pub async fn close_shift(
    conn: &mut AnyConnection,
    shift: ShiftId,
    by: &str,
    now: &str,
) -> StoreResult<Option<ShiftRow>> {
    let sql = sqlx::AssertSqlSafe(format!(
        "update shifts set status = 'closed', closed_at = $2, closed_by = $3 \
         where id = $1 and status = 'open' returning {SHIFT_COLUMNS}"
    ));
    let row = sqlx::query(sql)
        .bind(shift.to_string())
        .bind(now)
        .bind(by)
        .fetch_optional(&mut *conn)
        .await?;
    row.as_ref().map(shift_from_row).transpose()
}

/// Records the counted cash of a closed shift and what was expected.
pub async fn record_count(
    conn: &mut AnyConnection,
    shift: ShiftId,
    counted: i64,
    expected: i64,
    over_short: i64,
) -> StoreResult<()> {
    sqlx::query(
        "update shifts set counted_cash = $2, expected_cash = $3, over_short = $4 where id = $1",
    )
    .bind(shift.to_string())
    .bind(counted)
    .bind(expected)
    .bind(over_short)
    .execute(&mut *conn)
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
    let rows = conditions
        .fetch(
            &mut conn,
            &format!("select {SHIFT_COLUMNS} from shifts"),
            "order by id limit $2",
            after,
            limit,
        )
        .await?;
    let shifts = rows
        .iter()
        .map(shift_from_row)
        .collect::<StoreResult<Vec<_>>>()?;
    Ok(page_of(shifts, limit, |s| s.id.to_string()))
}

/// A register and its store, if it exists.
pub async fn find_register(
    conn: &mut AnyConnection,
    id: RegisterId,
) -> StoreResult<Option<(StoreId, bool)>> {
    let row = sqlx::query("select store_id, active from registers where id = $1")
        .bind(id.to_string())
        .fetch_optional(&mut *conn)
        .await?;
    row.map(|row| {
        Ok((
            parse_id(&row, "store_id", StoreId::parse)?,
            row.try_get::<i64, _>("active")? != 0,
        ))
    })
    .transpose()
}

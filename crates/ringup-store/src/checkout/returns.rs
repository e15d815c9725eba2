//! Returns against sales.
//!
//! Invariants: a sale line's `returned_quantity` never exceeds its `quantity` (a check
//! constraint, and the conditional update in [`record_return`]); returns of one sale are
//! serialised by [`lock_sale_for_return`], which bumps the sale's `returns_count` only while
//! the sale is completed — so a void and a return of the same sale cannot both succeed, and the
//! refund due is computed from line counts no concurrent return can change.

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use sqlx::AnyConnection;

use ringup_core::catalog::{LowStockThreshold, Money};
use ringup_core::checkout::payment::Tender;
use ringup_core::checkout::totals::ShiftTotals;
use ringup_core::ids::{
    ProductId, RegisterId, ReturnId, SaleId, SaleLineId, ShiftId, StoreId, TaxClassId, UserId,
};
use ringup_core::reports::{Contribution, ReturnFacts, ReturnLineFacts, local_day};
use ringup_core::stock::MovementKind;

use crate::checkout::sales::PaymentRow;
use crate::checkout::shifts::{ShiftRefusal, add_to_shift};
use crate::platform::db::Db;
use crate::platform::decode::{converted, parsed};
use crate::platform::error::{StoreError, StoreResult};
use crate::platform::filter::Conditions;
use crate::platform::page::{After, Page, page_of};
use crate::platform::row::Flag;
use crate::platform::sql::{Sql, stmt};
use crate::reports::rollups;
use crate::stock::{LineMove, MoveMany, move_many};

/// Locks a completed sale for a return (until commit); `false` if it is voided or missing.
pub async fn lock_sale_for_return(conn: &mut impl Sql, sale: SaleId) -> StoreResult<bool> {
    let updated = conn
        .run(
            stmt(
                "update sales set returns_count = returns_count + 1 \
                 where id = $1 and status = 'completed'",
            )
            .bind(sale.to_string()),
        )
        .await?;
    Ok(updated == 1)
}

/// A line of a sale as a return weighs it: what was sold, and how much of it is back already.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SoldLine {
    pub id: SaleLineId,
    pub product_id: ProductId,
    pub quantity: i64,
    pub total: i64,
    pub tax: i64,
    pub tax_class_id: TaxClassId,
    pub tax_rate_bp: i64,
    pub returned_quantity: i64,
    /// The product's (a restocked line moves stock back).
    pub low_stock_threshold: LowStockThreshold,
}

/// The lines of a sale, in the return's transaction after [`lock_sale_for_return`]: no other
/// return of the sale can change their counts before this one commits. Only what the refund
/// rule and the restock need (the sale itself was read before the transaction).
pub async fn sold_lines(conn: &mut impl Sql, sale: SaleId) -> StoreResult<Vec<SoldLine>> {
    let rows = conn
        .rows(
            stmt(
                "select l.id, l.product_id, l.quantity, l.total, l.tax, l.tax_class_id, \
                   l.tax_rate_bp, l.returned_quantity, p.low_stock_threshold \
                 from sale_lines l join products p on p.id = l.product_id \
                 where l.sale_id = $1 order by l.line_no",
            )
            .bind(sale.to_string()),
        )
        .await?;
    rows.iter()
        .map(|row| {
            Ok(SoldLine {
                id: parsed(row, "id", "sale_lines.id")?,
                product_id: parsed(row, "product_id", "sale_lines.product_id")?,
                quantity: row.int("quantity")?,
                total: row.int("total")?,
                tax: row.int("tax")?,
                tax_class_id: parsed(row, "tax_class_id", "sale_lines.tax_class_id")?,
                tax_rate_bp: row.int("tax_rate_bp")?,
                returned_quantity: row.int("returned_quantity")?,
                low_stock_threshold: converted(
                    row,
                    "low_stock_threshold",
                    "products.low_stock_threshold",
                )?,
            })
        })
        .collect()
}

#[derive(Clone, Debug, PartialEq, Eq, sqlx::FromRow)]
pub struct ReturnLineRow {
    #[sqlx(try_from = "String")]
    pub sale_line_id: SaleLineId,
    #[sqlx(try_from = "String")]
    pub product_id: ProductId,
    pub quantity: i64,
    #[sqlx(try_from = "Flag")]
    pub restock: bool,
    pub refund: i64,
    /// The tax share of `refund` (cumulative rounding, like the refund).
    pub tax: i64,
}

/// A return as `RETURN_COLUMNS` reads it; `lines` and `refunds` are filled in by
/// `attach_details`.
#[derive(Clone, Debug, PartialEq, Eq, sqlx::FromRow)]
pub struct ReturnRow {
    #[sqlx(try_from = "String")]
    pub id: ReturnId,
    #[sqlx(try_from = "String")]
    pub sale_id: SaleId,
    #[sqlx(try_from = "String")]
    pub store_id: StoreId,
    #[sqlx(try_from = "String")]
    pub register_id: RegisterId,
    #[sqlx(try_from = "String")]
    pub shift_id: ShiftId,
    #[sqlx(try_from = "String")]
    pub cashier_id: UserId,
    pub reason: Option<String>,
    #[sqlx(skip)]
    pub lines: Vec<ReturnLineRow>,
    #[sqlx(skip)]
    pub refunds: Vec<PaymentRow>,
    pub total: i64,
    pub created_at: String,
}

/// A checked return ready to write; `sold[i]` is the sale line `row.lines[i]` returns.
pub struct ReturnDraft {
    pub row: ReturnRow,
    pub sold: Vec<SoldLine>,
    pub allow_negative: bool,
    /// The store's zone: the return counts in the reports on its local day.
    pub time_zone: Tz,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ReturnRefusal {
    Shift(ShiftRefusal),
    /// Line indexes that would return more than was sold minus already returned.
    OverReturn(Vec<usize>),
}

/// Writes a return in the caller's transaction (after [`lock_sale_for_return`]): the lines'
/// returned counts, the shift's totals, `return` movements for restocked lines, and the rows.
pub async fn record_return(
    conn: &mut impl Sql,
    draft: ReturnDraft,
    at: DateTime<Utc>,
) -> StoreResult<Result<ReturnRow, ReturnRefusal>> {
    let row = draft.row;
    let mut over = Vec::new();
    for (i, line) in row.lines.iter().enumerate() {
        let updated = conn
            .run(
                stmt(
                    "update sale_lines set returned_quantity = returned_quantity + $3, \
                       refunded = refunded + $4 \
                     where id = $1 and sale_id = $2 and returned_quantity + $3 <= quantity",
                )
                .bind(line.sale_line_id.to_string())
                .bind(row.sale_id.to_string())
                .bind(line.quantity)
                .bind(line.refund),
            )
            .await?;
        if updated != 1 {
            over.push(i);
        }
    }
    if !over.is_empty() {
        return Ok(Err(ReturnRefusal::OverReturn(over)));
    }
    let tenders = row
        .refunds
        .iter()
        .map(|r| {
            let amount = Money::new(r.amount).map_err(|e| StoreError::corrupt("refunds", e))?;
            Ok(Tender {
                method: r.method,
                amount,
            })
        })
        .collect::<StoreResult<Vec<Tender>>>()?;
    let delta =
        ShiftTotals::refund(&tenders).ok_or_else(|| StoreError::corrupt("refunds", "overflow"))?;
    if let Err(refusal) = add_to_shift(conn, row.shift_id, &delta).await? {
        return Ok(Err(ReturnRefusal::Shift(refusal)));
    }
    let moves: Vec<LineMove> = row
        .lines
        .iter()
        .zip(&draft.sold)
        .filter(|(l, _)| l.restock)
        .map(|(l, sold)| LineMove {
            product_id: l.product_id,
            delta: l.quantity,
            threshold: sold.low_stock_threshold,
        })
        .collect();
    let actor = row.cashier_id.to_string();
    let what = MoveMany {
        store_id: row.store_id,
        kind: MovementKind::Return,
        ref_type: "return",
        ref_id: row.id.to_string(),
        actor_id: &actor,
        allow_negative: draft.allow_negative,
    };
    if move_many(conn, &what, &moves, at).await?.is_err() {
        return Err(StoreError::corrupt(
            "stock",
            "a restock cannot be short of stock",
        ));
    }
    let day = local_day(at, draft.time_zone);
    insert_return(conn, &row, day).await?;
    let facts = ReturnFacts {
        cashier_id: row.cashier_id,
        total: row.total,
        lines: row
            .lines
            .iter()
            .zip(&draft.sold)
            .map(|(l, sold)| ReturnLineFacts {
                product_id: l.product_id,
                tax_class_id: sold.tax_class_id,
                rate_bp: sold.tax_rate_bp,
                quantity: l.quantity,
                refund: l.refund,
                refund_tax: l.tax,
            })
            .collect(),
        refunds: row.refunds.iter().map(|r| (r.method, r.amount)).collect(),
    };
    let contribution = Contribution::of_return(&facts)
        .ok_or_else(|| StoreError::corrupt("return", "its report figures overflow"))?;
    rollups::apply(conn, row.store_id, day, &contribution).await?;
    Ok(Ok(row))
}

/// The return's rows; none is read back before commit, so on PostgreSQL they go as one
/// statement with the write's other answerless ones ([`Sql::defer`]).
async fn insert_return(
    conn: &mut impl Sql,
    row: &ReturnRow,
    day: chrono::NaiveDate,
) -> StoreResult<()> {
    conn.defer(
        stmt(
            "insert into returns (id, sale_id, store_id, register_id, shift_id, cashier_id, \
             reason, total, created_at, business_day) \
             values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        )
        .bind(row.id.to_string())
        .bind(row.sale_id.to_string())
        .bind(row.store_id.to_string())
        .bind(row.register_id.to_string())
        .bind(row.shift_id.to_string())
        .bind(row.cashier_id.to_string())
        .bind(&row.reason)
        .bind(row.total)
        .bind(&row.created_at)
        .bind(rollups::day_key(day)),
    )
    .await?;
    for (no, line) in (1i64..).zip(&row.lines) {
        conn.defer(
            stmt(
                "insert into return_lines (return_id, line_no, sale_line_id, product_id, \
                 quantity, restock, refund, tax) values ($1, $2, $3, $4, $5, $6, $7, $8)",
            )
            .bind(row.id.to_string())
            .bind(no)
            .bind(line.sale_line_id.to_string())
            .bind(line.product_id.to_string())
            .bind(line.quantity)
            .bind(i64::from(line.restock))
            .bind(line.refund)
            .bind(line.tax),
        )
        .await?;
    }
    for (no, refund) in (1i64..).zip(&row.refunds) {
        conn.defer(
            stmt(
                "insert into return_refunds (return_id, line_no, method, amount, reference) \
                 values ($1, $2, $3, $4, $5)",
            )
            .bind(row.id.to_string())
            .bind(no)
            .bind(refund.method.as_str())
            .bind(refund.amount)
            .bind(&refund.reference),
        )
        .await?;
    }
    Ok(())
}

const RETURN_COLUMNS: &str =
    "id, sale_id, store_id, register_id, shift_id, cashier_id, reason, total, created_at";

async fn attach_details(conn: &mut AnyConnection, ret: &mut ReturnRow) -> StoreResult<()> {
    ret.lines = sqlx::query_as(
        "select sale_line_id, product_id, quantity, restock, refund, tax from return_lines \
         where return_id = $1 order by line_no",
    )
    .bind(ret.id.to_string())
    .fetch_all(&mut *conn)
    .await?;
    ret.refunds = sqlx::query_as(
        "select method, amount, reference from return_refunds where return_id = $1 \
         order by line_no",
    )
    .bind(ret.id.to_string())
    .fetch_all(&mut *conn)
    .await?;
    Ok(())
}

pub async fn find_return(conn: &mut AnyConnection, id: ReturnId) -> StoreResult<Option<ReturnRow>> {
    let sql = sqlx::AssertSqlSafe(format!(
        "select {RETURN_COLUMNS} from returns where id = $1"
    ));
    let Some(mut ret): Option<ReturnRow> = sqlx::query_as(sql)
        .bind(id.to_string())
        .fetch_optional(&mut *conn)
        .await?
    else {
        return Ok(None);
    };
    attach_details(conn, &mut ret).await?;
    Ok(Some(ret))
}

#[derive(Clone, Debug, Default)]
pub struct ReturnFilter {
    pub stores: Option<Vec<StoreId>>,
    pub sale_id: Option<SaleId>,
    pub shift_id: Option<ShiftId>,
}

pub async fn list_returns(
    db: &Db,
    filter: &ReturnFilter,
    after: Option<&After>,
    limit: usize,
) -> StoreResult<Page<ReturnRow>> {
    let mut conditions = Conditions::after_cursor("id");
    if let Some(stores) = &filter.stores {
        if stores.is_empty() {
            return Ok(Page {
                items: vec![],
                next_cursor: None,
            });
        }
        conditions.push_in("store_id", stores.iter().map(ToString::to_string));
    }
    if let Some(sale) = filter.sale_id {
        let p = conditions.param(sale.to_string());
        conditions.push(format!("sale_id = {p}"));
    }
    if let Some(shift) = filter.shift_id {
        let p = conditions.param(shift.to_string());
        conditions.push(format!("shift_id = {p}"));
    }
    let mut conn = db.read_conn().await?;
    let returns: Vec<ReturnRow> = conditions
        .fetch(
            &mut conn,
            &format!("select {RETURN_COLUMNS} from returns"),
            "order by id limit $2",
            after,
            limit,
        )
        .await?;
    let mut page = page_of(returns, limit, |r| r.id.to_string());
    for ret in &mut page.items {
        attach_details(&mut conn, ret).await?;
    }
    Ok(page)
}

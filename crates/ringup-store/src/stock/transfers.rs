//! Stock transfers between stores and their lines.
//!
//! Invariants: a transfer's two stores differ; its status only moves along the state machine
//! of `ringup_core::stock::TransferStatus`, through [`transition`], a conditional update on
//! the expected current status, so two racing actions cannot both succeed. Stock moves with
//! the transition that causes it (`transfer_out` on approval, `transfer_in` on receipt), in
//! the same transaction.

use chrono::{DateTime, Utc};

use ringup_core::ids::{ProductId, StoreId, TransferId};
use ringup_core::stock::TransferStatus;

use crate::platform::db::{Db, placeholders, value_rows};
use crate::platform::decode::{code, parsed};
use crate::platform::error::{StoreError, StoreResult};
use crate::platform::filter::Conditions;
use crate::platform::page::{After, Page, page_of};
use crate::platform::row::Code;
use crate::platform::sql::{Row, Sql, stmt};
use crate::platform::time;

/// A line of a transfer or a reservation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, sqlx::FromRow)]
pub struct Line {
    #[sqlx(try_from = "String")]
    pub product_id: ProductId,
    pub quantity: i64,
}

/// A transfer; `lines` is filled in by a second query.
#[derive(Clone, Debug, PartialEq, Eq, sqlx::FromRow)]
pub struct TransferRow {
    #[sqlx(try_from = "String")]
    pub id: TransferId,
    #[sqlx(try_from = "String")]
    pub from_store_id: StoreId,
    #[sqlx(try_from = "String")]
    pub to_store_id: StoreId,
    #[sqlx(try_from = "Code")]
    pub status: TransferStatus,
    pub note: Option<String>,
    #[sqlx(skip)]
    pub lines: Vec<Line>,
    pub requested_by: String,
    pub approved_by: Option<String>,
    pub approved_at: Option<String>,
    pub received_by: Option<String>,
    pub received_at: Option<String>,
    pub rejected_by: Option<String>,
    pub rejected_at: Option<String>,
    pub reject_reason: Option<String>,
    pub cancelled_by: Option<String>,
    pub cancelled_at: Option<String>,
    pub created_at: String,
    pub updated_at: String,
}

const TRANSFER_COLUMNS: &str = "id, from_store_id, to_store_id, status, note, requested_by, \
     approved_by, approved_at, received_by, received_at, rejected_by, rejected_at, \
     reject_reason, cancelled_by, cancelled_at, created_at, updated_at";

impl TransferRow {
    /// A transfer as [`TRANSFER_COLUMNS`] reads it, on either connection (`lines` empty).
    fn read(row: &Row) -> StoreResult<TransferRow> {
        Ok(TransferRow {
            id: parsed(row, "id", "transfers.id")?,
            from_store_id: parsed(row, "from_store_id", "transfers.from_store_id")?,
            to_store_id: parsed(row, "to_store_id", "transfers.to_store_id")?,
            status: code(row, "status", "transfers.status", TransferStatus::parse)?,
            note: row.opt_text("note")?,
            lines: Vec::new(),
            requested_by: row.text("requested_by")?,
            approved_by: row.opt_text("approved_by")?,
            approved_at: row.opt_text("approved_at")?,
            received_by: row.opt_text("received_by")?,
            received_at: row.opt_text("received_at")?,
            rejected_by: row.opt_text("rejected_by")?,
            rejected_at: row.opt_text("rejected_at")?,
            reject_reason: row.opt_text("reject_reason")?,
            cancelled_by: row.opt_text("cancelled_by")?,
            cancelled_at: row.opt_text("cancelled_at")?,
            created_at: row.text("created_at")?,
            updated_at: row.text("updated_at")?,
        })
    }
}

/// A transfer as requested.
pub struct NewTransfer<'a> {
    pub id: TransferId,
    pub from_store_id: StoreId,
    pub to_store_id: StoreId,
    pub note: Option<&'a str>,
    pub lines: &'a [Line],
    pub requested_by: &'a str,
}

pub async fn insert_transfer(
    conn: &mut impl Sql,
    transfer: &NewTransfer<'_>,
    at: DateTime<Utc>,
) -> StoreResult<TransferRow> {
    let now: &str = &time::to_db(at);
    // Both inserts go with the read back that follows (one statement on PostgreSQL).
    conn.defer(
        stmt(
            "insert into transfers (id, from_store_id, to_store_id, status, note, requested_by, \
             created_at, updated_at) values ($1, $2, $3, 'requested', $4, $5, $6, $6)",
        )
        .bind(transfer.id.to_string())
        .bind(transfer.from_store_id.to_string())
        .bind(transfer.to_store_id.to_string())
        .bind(transfer.note)
        .bind(transfer.requested_by)
        .bind(now),
    )
    .await?;
    insert_lines(conn, transfer.id, transfer.lines).await?;
    find_transfer(conn, transfer.id)
        .await?
        .ok_or_else(|| StoreError::corrupt("transfers", "inserted transfer not found"))
}

/// All lines in one statement.
async fn insert_lines(conn: &mut impl Sql, id: TransferId, lines: &[Line]) -> StoreResult<()> {
    if lines.is_empty() {
        return Ok(());
    }
    let sql = format!(
        "insert into transfer_lines (transfer_id, line_no, product_id, quantity) values {}",
        value_rows(1, lines.len(), "(?, ?, ?, ?)")
    );
    let mut query = stmt(sql);
    for (no, line) in (1i64..).zip(lines) {
        query = query
            .bind(id.to_string())
            .bind(no)
            .bind(line.product_id.to_string())
            .bind(line.quantity);
    }
    conn.defer(query).await?;
    Ok(())
}

/// The lines of the transfers `ids`, each with its transfer's id.
async fn lines_of(conn: &mut impl Sql, ids: &[String]) -> StoreResult<Vec<(String, Line)>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let sql = format!(
        "select transfer_id, product_id, quantity from transfer_lines \
         where transfer_id in ({}) order by transfer_id, line_no",
        placeholders(1, ids.len())
    );
    let mut query = stmt(sql);
    for id in ids {
        query = query.bind(id.clone());
    }
    let rows = conn.rows(query).await?;
    rows.iter()
        .map(|row| {
            let line = Line {
                product_id: parsed(row, "product_id", "transfer_lines.product_id")?,
                quantity: row.int("quantity")?,
            };
            Ok((row.text("transfer_id")?, line))
        })
        .collect()
}

async fn with_lines(
    conn: &mut impl Sql,
    mut transfers: Vec<TransferRow>,
) -> StoreResult<Vec<TransferRow>> {
    let ids: Vec<String> = transfers.iter().map(|t| t.id.to_string()).collect();
    for (transfer_id, line) in lines_of(conn, &ids).await? {
        if let Some(t) = transfers
            .iter_mut()
            .find(|t| t.id.to_string() == transfer_id)
        {
            t.lines.push(line);
        }
    }
    Ok(transfers)
}

/// A transfer with its lines, on either connection (reads, and the actions' transactions).
pub async fn find_transfer(
    conn: &mut impl Sql,
    id: TransferId,
) -> StoreResult<Option<TransferRow>> {
    let sql = format!("select {TRANSFER_COLUMNS} from transfers where id = $1");
    let Some(row) = conn.optional_row(stmt(sql).bind(id.to_string())).await? else {
        return Ok(None);
    };
    let transfer = TransferRow::read(&row)?;
    Ok(with_lines(conn, vec![transfer]).await?.pop())
}

/// Moves a transfer from `from` to `to`, recording who did it (and a rejection's reason);
/// false when the transfer is not in `from` (any more).
pub async fn transition(
    conn: &mut impl Sql,
    id: TransferId,
    from: TransferStatus,
    to: TransferStatus,
    actor: &str,
    reason: Option<&str>,
    at: DateTime<Utc>,
) -> StoreResult<bool> {
    let now: &str = &time::to_db(at);
    // The columns are chosen from constants by the target status.
    let (by, at) = match to {
        TransferStatus::Approved => ("approved_by", "approved_at"),
        TransferStatus::Received => ("received_by", "received_at"),
        TransferStatus::Rejected => ("rejected_by", "rejected_at"),
        TransferStatus::Cancelled => ("cancelled_by", "cancelled_at"),
        TransferStatus::Requested => {
            return Err(StoreError::corrupt("transfers.status", "back to requested"));
        }
    };
    let sql = format!(
        "update transfers set status = $3, {by} = $4, {at} = $5, updated_at = $5, \
         reject_reason = coalesce($6, reject_reason) where id = $1 and status = $2"
    );
    let n = conn
        .run(
            stmt(sql)
                .bind(id.to_string())
                .bind(from.as_str())
                .bind(to.as_str())
                .bind(actor)
                .bind(now)
                .bind(reason),
        )
        .await?;
    Ok(n == 1)
}

/// List filters: `stores: None` means all stores, otherwise transfers with either end in them.
#[derive(Clone, Debug, Default)]
pub struct TransferFilter {
    pub stores: Option<Vec<StoreId>>,
    pub store_id: Option<StoreId>,
    pub status: Option<TransferStatus>,
}

pub async fn list_transfers(
    db: &Db,
    filter: &TransferFilter,
    after: Option<&After>,
    limit: usize,
) -> StoreResult<Page<TransferRow>> {
    let mut conditions = Conditions::after_cursor("id");
    if let Some(stores) = &filter.stores {
        if stores.is_empty() {
            return Ok(Page {
                items: vec![],
                next_cursor: None,
            });
        }
        let a: Vec<String> = stores
            .iter()
            .map(|s| conditions.param(s.to_string()))
            .collect();
        let b: Vec<String> = stores
            .iter()
            .map(|s| conditions.param(s.to_string()))
            .collect();
        conditions.push(format!(
            "(from_store_id in ({}) or to_store_id in ({}))",
            a.join(", "),
            b.join(", ")
        ));
    }
    if let Some(store) = filter.store_id {
        let (a, b) = (
            conditions.param(store.to_string()),
            conditions.param(store.to_string()),
        );
        conditions.push(format!("(from_store_id = {a} or to_store_id = {b})"));
    }
    if let Some(status) = filter.status {
        let p = conditions.param(status.as_str());
        conditions.push(format!("status = {p}"));
    }
    let mut conn = db.read_conn().await?;
    let select = format!("select {TRANSFER_COLUMNS} from transfers");
    let transfers: Vec<TransferRow> = conditions
        .fetch(&mut conn, &select, "order by id limit $2", after, limit)
        .await?;
    let page = page_of(transfers, limit, |t| t.id.to_string());
    Ok(Page {
        items: with_lines(&mut *conn, page.items).await?,
        next_cursor: page.next_cursor,
    })
}

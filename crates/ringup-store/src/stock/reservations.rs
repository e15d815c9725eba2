//! Reservations: units of a store's stock held for a while (an order being picked, a web
//! basket). A reservation's lines count as reserved while they exist and `expires_at` is in
//! the future; releasing deletes them, and expiry needs no sweeper because every read and
//! check compares `expires_at` with the time of the read.

use chrono::{DateTime, Utc};

use ringup_core::ids::{ReservationId, StoreId};
use ringup_core::stock::{Shortfall, StockLevel};

use crate::platform::db::value_rows;
use crate::platform::decode::parsed;
use crate::platform::error::{StoreError, StoreResult};
use crate::platform::sql::{Sql, stmt};
use crate::platform::time;
use crate::stock::transfers::Line;
use crate::stock::{LockedLevel, lock_level, note_low_stock};

/// A reservation; `lines` is filled in by a second query.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReservationRow {
    pub id: ReservationId,
    pub store_id: StoreId,
    pub reference: Option<String>,
    pub expires_at: String,
    pub created_by: String,
    pub created_at: String,
    pub released_at: Option<String>,
    pub lines: Vec<Line>,
}

pub struct NewReservation<'a> {
    pub id: ReservationId,
    pub store_id: StoreId,
    pub reference: Option<&'a str>,
    pub expires_at: DateTime<Utc>,
    pub created_by: &'a str,
    pub lines: &'a [Line],
}

/// Creates a reservation if every line's quantity is available. Levels are locked in product
/// order; on a shortfall nothing is written and every short line is returned with its index
/// in `lines`.
pub async fn reserve(
    conn: &mut impl Sql,
    reservation: &NewReservation<'_>,
    at: DateTime<Utc>,
) -> StoreResult<Result<ReservationRow, Vec<(usize, Shortfall)>>> {
    let now: &str = &time::to_db(at);
    let store = reservation.store_id;
    let mut order: Vec<usize> = (0..reservation.lines.len()).collect();
    order.sort_by_key(|&i| reservation.lines.get(i).map(|l| l.product_id));
    let mut locked: Vec<(usize, LockedLevel, StockLevel)> = Vec::new();
    let mut short = Vec::new();
    for i in order {
        let Some(line) = reservation.lines.get(i) else {
            continue;
        };
        let level = lock_level(conn, store, line.product_id, at).await?;
        match level.level.reserve(line.quantity) {
            Ok(after) => locked.push((i, level, after)),
            Err(s) => short.push((i, s)),
        }
    }
    if !short.is_empty() {
        short.sort_by_key(|(i, _)| *i);
        return Ok(Err(short));
    }
    let id = reservation.id.to_string();
    conn.defer(
        stmt(
            "insert into reservations (id, store_id, reference, expires_at, created_by, \
             created_at) values ($1, $2, $3, $4, $5, $6)",
        )
        .bind(&id)
        .bind(store.to_string())
        .bind(reservation.reference)
        .bind(time::to_db(reservation.expires_at))
        .bind(reservation.created_by)
        .bind(now),
    )
    .await?;
    let n = reservation.lines.len();
    let sql = format!(
        "insert into reservation_items (reservation_id, line_no, product_id, quantity) values {}",
        value_rows(1, n, "(?, ?, ?, ?)")
    );
    let mut query = stmt(sql);
    for (no, line) in (1i64..).zip(reservation.lines) {
        query = query
            .bind(id.clone())
            .bind(no)
            .bind(line.product_id.to_string())
            .bind(line.quantity);
    }
    conn.defer(query).await?;
    let sql = format!(
        "insert into reservation_lines (reservation_id, store_id, product_id, quantity, \
         expires_at) values {}",
        value_rows(1, n, "(?, ?, ?, ?, ?)")
    );
    let mut query = stmt(sql);
    for line in reservation.lines {
        query = query
            .bind(id.clone())
            .bind(store.to_string())
            .bind(line.product_id.to_string())
            .bind(line.quantity)
            .bind(time::to_db(reservation.expires_at));
    }
    conn.defer(query).await?;
    for (i, level, after) in locked {
        if let Some(line) = reservation.lines.get(i) {
            note_low_stock(conn, store, line.product_id, level, after, at).await?;
        }
    }
    find_reservation(conn, reservation.id)
        .await?
        .ok_or_else(|| StoreError::corrupt("reservations", "inserted reservation not found"))
        .map(Ok)
}

/// A reservation with its lines, on a read connection or inside a write.
pub async fn find_reservation(
    conn: &mut impl Sql,
    id: ReservationId,
) -> StoreResult<Option<ReservationRow>> {
    let found = conn
        .optional_row(
            stmt(
                "select id, store_id, reference, expires_at, created_by, created_at, \
                 released_at from reservations where id = $1",
            )
            .bind(id.to_string()),
        )
        .await?;
    let Some(row) = found else {
        return Ok(None);
    };
    let lines = conn
        .rows(
            stmt(
                "select product_id, quantity from reservation_items where reservation_id = $1 \
                 order by line_no",
            )
            .bind(id.to_string()),
        )
        .await?
        .iter()
        .map(|line| {
            Ok(Line {
                product_id: parsed(line, "product_id", "reservation_items.product_id")?,
                quantity: line.int("quantity")?,
            })
        })
        .collect::<StoreResult<Vec<Line>>>()?;
    Ok(Some(ReservationRow {
        id: parsed(&row, "id", "reservations.id")?,
        store_id: parsed(&row, "store_id", "reservations.store_id")?,
        reference: row.opt_text("reference")?,
        expires_at: row.text("expires_at")?,
        created_by: row.text("created_by")?,
        created_at: row.text("created_at")?,
        released_at: row.opt_text("released_at")?,
        lines,
    }))
}

/// Releases a reservation: its lines stop counting at once. Releasing a released one changes
/// nothing; false when it was already released.
pub async fn release(
    conn: &mut impl Sql,
    id: ReservationId,
    by: &str,
    at: DateTime<Utc>,
) -> StoreResult<bool> {
    let now: &str = &time::to_db(at);
    let n = conn
        .run(
            stmt(
                "update reservations set released_at = $2, released_by = $3 \
                 where id = $1 and released_at is null",
            )
            .bind(id.to_string())
            .bind(now)
            .bind(by),
        )
        .await?;
    conn.defer(
        stmt("delete from reservation_lines where reservation_id = $1").bind(id.to_string()),
    )
    .await?;
    Ok(n == 1)
}

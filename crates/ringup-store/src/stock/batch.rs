//! Several movements of one store in a handful of statements, for checkout (a sale, its void,
//! a return): a statement per line is the cost that dominates (README, "What the machine
//! allows").
//!
//! The same rules as [`super::move_stock`], for many lines at once: lock every level touched
//! (one multi-row upsert, in product order so two such transactions cannot deadlock), *then*
//! apply all level changes in one conditional `update … from (values …)` that sums the live
//! reservations itself (a statement after the locks, so on PostgreSQL it sees every
//! reservation committed before they were granted) and answers what it found, check its
//! answer against the pure rules, and append all movements in one insert. Several lines of one
//! product share its level: they are checked together. Only when the update leaves a level
//! alone (a shortfall) does a third statement read what is reserved, to say by how much.

use chrono::{DateTime, Utc};
use std::collections::BTreeMap;

use ringup_core::catalog::LowStockThreshold;
use ringup_core::ids::{ProductId, StockMovementId, StoreId};
use ringup_core::stock::{MovementKind, Shortfall, StockLevel};

use super::{LockedLevel, note_low_stock};
use crate::platform::db::{placeholders, value_rows};
use crate::platform::error::{StoreError, StoreResult};
use crate::platform::sql::{Sql, stmt};
use crate::platform::time;

/// What the movements are and who made them.
pub struct MoveMany<'a> {
    pub store_id: StoreId,
    pub kind: MovementKind,
    pub ref_type: &'a str,
    pub ref_id: String,
    pub actor_id: &'a str,
    pub allow_negative: bool,
}

/// One line's movement: `delta` units of `product_id` (non-zero).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LineMove {
    pub product_id: ProductId,
    pub delta: i64,
    pub threshold: LowStockThreshold,
}

struct Level {
    delta: i64,
    threshold: LowStockThreshold,
    locked: StockLevel,
}

/// Records one movement per line. `Ok(Err(short))` lists `(line index, shortfall)` for every
/// line whose product cannot give what all its lines together ask; then the caller must roll
/// back: the levels that could give what they were asked may already have changed.
pub async fn move_many(
    conn: &mut impl Sql,
    what: &MoveMany<'_>,
    lines: &[LineMove],
    at: DateTime<Utc>,
) -> StoreResult<Result<(), Vec<(usize, Shortfall)>>> {
    let now: &str = &time::to_db(at);
    let mut levels: BTreeMap<ProductId, Level> = BTreeMap::new();
    for line in lines {
        let level = levels.entry(line.product_id).or_insert(Level {
            delta: 0,
            threshold: line.threshold,
            locked: StockLevel::new(0, 0),
        });
        level.delta = level
            .delta
            .checked_add(line.delta)
            .ok_or_else(|| StoreError::corrupt("stock delta", "overflow"))?;
    }
    if levels.is_empty() {
        return Ok(Ok(()));
    }
    let store = what.store_id.to_string();
    lock_levels(conn, &store, &mut levels, now).await?;
    let applied = update_levels(conn, &store, &mut levels, what.allow_negative, now).await?;
    let changed = levels.values().filter(|l| l.delta != 0).count();
    if applied < changed {
        return refusal(conn, &store, &mut levels, what.allow_negative, lines, now).await;
    }
    insert_movements(conn, what, lines, now).await?;
    for (product, level) in &levels {
        // The database's condition is the rule: both must agree on every change it made.
        let next = level
            .locked
            .apply(level.delta, what.allow_negative)
            .map_err(|_| {
                StoreError::corrupt("stock_levels", "a level took a change the rules refuse")
            })?;
        let locked = LockedLevel {
            level: level.locked,
            threshold: level.threshold,
        };
        note_low_stock(conn, what.store_id, *product, locked, next, at).await?;
    }
    Ok(Ok(()))
}

async fn lock_levels(
    conn: &mut impl Sql,
    store: &str,
    levels: &mut BTreeMap<ProductId, Level>,
    now: &str,
) -> StoreResult<()> {
    let sql = format!(
        "insert into stock_levels (store_id, product_id, on_hand, updated_at) values {} \
         on conflict (store_id, product_id) do update set on_hand = stock_levels.on_hand \
         returning product_id, on_hand",
        value_rows(3, levels.len(), "($1, ?, 0, $2)")
    );
    let mut query = stmt(sql).bind(store).bind(now);
    for product in levels.keys() {
        query = query.bind(product.to_string());
    }
    for row in conn.rows(query).await? {
        let product = product_of(&row.text("product_id")?)?;
        if let Some(level) = levels.get_mut(&product) {
            level.locked = StockLevel::new(row.int("on_hand")?, 0);
        }
    }
    Ok(())
}

/// What every level holds reserved now, read again once the update left a level alone.
async fn read_reserved(
    conn: &mut impl Sql,
    store: &str,
    levels: &mut BTreeMap<ProductId, Level>,
    now: &str,
) -> StoreResult<()> {
    let sql = format!(
        "select product_id, cast(sum(quantity) as bigint) as reserved from reservation_lines \
         where store_id = $1 and expires_at > $2 and product_id in ({}) group by product_id",
        placeholders(3, levels.len())
    );
    let mut query = stmt(sql).bind(store).bind(now);
    for product in levels.keys() {
        query = query.bind(product.to_string());
    }
    for row in conn.rows(query).await? {
        let product = product_of(&row.text("product_id")?)?;
        if let Some(level) = levels.get_mut(&product) {
            level.locked = StockLevel::new(level.locked.on_hand, row.int("reserved")?);
        }
    }
    Ok(())
}

/// The shortfalls, once the update left a level alone: `(line index, shortfall)` for each line
/// of a product the rules refuse, by what is reserved now (the levels are still locked). A
/// refusal of the database that the rules allow is corruption.
async fn refusal(
    conn: &mut impl Sql,
    store: &str,
    levels: &mut BTreeMap<ProductId, Level>,
    allow_negative: bool,
    lines: &[LineMove],
    now: &str,
) -> StoreResult<Result<(), Vec<(usize, Shortfall)>>> {
    read_reserved(conn, store, levels, now).await?;
    let mut short = Vec::new();
    for (product, level) in levels.iter() {
        if let Err(shortfall) = level.locked.apply(level.delta, allow_negative) {
            for (i, line) in lines.iter().enumerate() {
                if line.product_id == *product {
                    short.push((i, shortfall));
                }
            }
        }
    }
    if short.is_empty() {
        return Err(StoreError::corrupt(
            "stock_levels",
            "a locked level refused a change the rules allowed",
        ));
    }
    short.sort_by_key(|(i, _)| *i);
    Ok(Err(short))
}

/// What a level's live reservations sum to, for the level row `stock_levels` of the statement.
const RESERVED: &str = "(select cast(coalesce(sum(r.quantity), 0) as bigint) \
     from reservation_lines r where r.store_id = $1 \
     and r.product_id = stock_levels.product_id and r.expires_at > $2)";

/// One conditional update for every changed level; the condition repeats the rule in SQL
/// against the reservations it sums itself, so the database never takes `available` below zero
/// where that is forbidden. Each level it changed comes back with its new `on_hand` and what
/// is reserved, which fill in `locked` as it was before the change; answers how many changed.
async fn update_levels(
    conn: &mut impl Sql,
    store: &str,
    levels: &mut BTreeMap<ProductId, Level>,
    allow_negative: bool,
    now: &str,
) -> StoreResult<usize> {
    let changed: Vec<(&ProductId, &Level)> = levels.iter().filter(|(_, l)| l.delta != 0).collect();
    if changed.is_empty() {
        return Ok(0);
    }
    let sql = format!(
        "update stock_levels set on_hand = stock_levels.on_hand + v.column2, updated_at = $2 \
         from (values {}) as v \
         where stock_levels.store_id = $1 and stock_levels.product_id = v.column1 \
           and (v.column2 >= 0 or $3 = 1 or stock_levels.on_hand + v.column2 - {RESERVED} >= 0) \
         returning stock_levels.product_id, stock_levels.on_hand, {RESERVED} as reserved",
        value_rows(4, changed.len(), "(?, cast(? as bigint))")
    );
    let mut query = stmt(sql)
        .bind(store)
        .bind(now)
        .bind(i64::from(allow_negative));
    for (product, level) in &changed {
        query = query.bind(product.to_string()).bind(level.delta);
    }
    let rows = conn.rows(query).await?;
    let applied = rows.len();
    for row in rows {
        let product = product_of(&row.text("product_id")?)?;
        if let Some(level) = levels.get_mut(&product) {
            let before = row
                .int("on_hand")?
                .checked_sub(level.delta)
                .ok_or_else(|| StoreError::corrupt("stock_levels.on_hand", "overflow"))?;
            level.locked = StockLevel::new(before, row.int("reserved")?);
        }
    }
    Ok(applied)
}

async fn insert_movements(
    conn: &mut impl Sql,
    what: &MoveMany<'_>,
    lines: &[LineMove],
    now: &str,
) -> StoreResult<()> {
    let lines: Vec<&LineMove> = lines.iter().filter(|l| l.delta != 0).collect();
    if lines.is_empty() {
        return Ok(());
    }
    // Shared values first ($1–$6), then (id, product, delta) per line.
    let sql = format!(
        "insert into stock_movements (id, store_id, product_id, delta, kind, ref_type, ref_id, \
         actor_id, created_at) values {}",
        value_rows(
            7,
            lines.len(),
            "(?, $1, ?, cast(? as bigint), $2, $3, $4, $5, $6)"
        )
    );
    let mut query = stmt(sql)
        .bind(what.store_id.to_string())
        .bind(what.kind.as_str())
        .bind(what.ref_type)
        .bind(what.ref_id.clone())
        .bind(what.actor_id)
        .bind(now);
    for line in lines {
        query = query
            .bind(StockMovementId::new().to_string())
            .bind(line.product_id.to_string())
            .bind(line.delta);
    }
    conn.defer(query).await?;
    Ok(())
}

/// A product id read back from a row this module wrote.
fn product_of(text: &str) -> StoreResult<ProductId> {
    text.parse()
        .map_err(|e| StoreError::corrupt("stock_levels.product_id", e))
}

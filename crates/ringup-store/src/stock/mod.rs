//! Stock levels and the append-only movement ledger.
//!
//! Invariants: `stock_levels.on_hand` equals the sum of the level's `stock_movements.delta`,
//! because [`move_stock`] is the only writer of both and writes them in the caller's
//! transaction. A decrease is an atomic conditional update that refuses to take `available`
//! below zero where the store does not allow negative stock.
//!
//! Concurrency: every change first locks the level row (an upsert that touches it), and only
//! then reads what is reserved, so on PostgreSQL (read committed, a fresh snapshot per
//! statement) the sum includes every reservation committed before the lock was granted;
//! reservations take the same lock. On SQLite writes are already serialised. A transaction
//! that changes several levels locks them in (store, product) order, so two of them cannot
//! deadlock.

use chrono::{DateTime, Utc};

use ringup_core::catalog::LowStockThreshold;
use ringup_core::ids::{ProductId, StockMovementId, StoreId};
use ringup_core::stock::{MovementKind, Shortfall, StockLevel, crosses_low};

use crate::catalog::stores::PerStore;
use crate::platform::db::Db;
use crate::platform::decode::{code, converted, parsed};
use crate::platform::error::StoreResult;
use crate::platform::filter::Conditions;
use crate::platform::outbox;
use crate::platform::page::{After, Page, page_of};
use crate::platform::row::{Code, Count};
use crate::platform::sql::{Row, Sql, stmt};
use crate::platform::time;

/// One ledger entry.
#[derive(Clone, Debug, PartialEq, Eq, sqlx::FromRow)]
pub struct MovementRow {
    #[sqlx(try_from = "String")]
    pub id: StockMovementId,
    #[sqlx(try_from = "String")]
    pub store_id: StoreId,
    #[sqlx(try_from = "String")]
    pub product_id: ProductId,
    pub delta: i64,
    #[sqlx(try_from = "Code")]
    pub kind: MovementKind,
    pub ref_type: Option<String>,
    pub ref_id: Option<String>,
    pub actor_id: Option<String>,
    pub note: Option<String>,
    pub created_at: String,
}

const MOVEMENT_COLUMNS: &str =
    "id, store_id, product_id, delta, kind, ref_type, ref_id, actor_id, note, created_at";

impl MovementRow {
    /// A movement a write read back (`returning {MOVEMENT_COLUMNS}`) on either connection.
    fn read(row: &Row) -> StoreResult<MovementRow> {
        Ok(MovementRow {
            id: parsed(row, "id", "stock_movements.id")?,
            store_id: parsed(row, "store_id", "stock_movements.store_id")?,
            product_id: parsed(row, "product_id", "stock_movements.product_id")?,
            delta: row.int("delta")?,
            kind: code(row, "kind", "stock_movements.kind", MovementKind::parse)?,
            ref_type: row.opt_text("ref_type")?,
            ref_id: row.opt_text("ref_id")?,
            actor_id: row.opt_text("actor_id")?,
            note: row.opt_text("note")?,
            created_at: row.text("created_at")?,
        })
    }
}

/// A level locked for change in the caller's transaction.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LockedLevel {
    pub level: StockLevel,
    pub threshold: LowStockThreshold,
}

/// Locks (creating it at zero if needed) the level of `product` in `store`, then reads what is
/// reserved. Hold the lock until commit; see the module's notes on ordering.
pub async fn lock_level(
    conn: &mut impl Sql,
    store: StoreId,
    product: ProductId,
    at: DateTime<Utc>,
) -> StoreResult<LockedLevel> {
    let now: &str = &time::to_db(at);
    let row = conn
        .row(
            stmt(
                "insert into stock_levels (store_id, product_id, on_hand, updated_at) \
                 values ($1, $2, 0, $3) \
                 on conflict (store_id, product_id) do update set on_hand = stock_levels.on_hand \
                 returning on_hand, \
                   (select low_stock_threshold from products where id = $2) as threshold",
            )
            .bind(store.to_string())
            .bind(product.to_string())
            .bind(now),
        )
        .await?;
    let on_hand = row.int("on_hand")?;
    let threshold: LowStockThreshold =
        converted(&row, "threshold", "products.low_stock_threshold")?;
    let reserved = reserved_of(conn, store, product, at).await?;
    Ok(LockedLevel {
        level: StockLevel::new(on_hand, reserved),
        threshold,
    })
}

/// Units of `product` held in `store` by reservations that are neither released nor expired
/// at `now`.
pub async fn reserved_of(
    conn: &mut impl Sql,
    store: StoreId,
    product: ProductId,
    at: DateTime<Utc>,
) -> StoreResult<i64> {
    let now: &str = &time::to_db(at);
    let row = conn
        .row(
            stmt(
                "select cast(coalesce(sum(quantity), 0) as bigint) as reserved \
                 from reservation_lines \
                 where store_id = $1 and product_id = $2 and expires_at > $3",
            )
            .bind(store.to_string())
            .bind(product.to_string())
            .bind(now),
        )
        .await?;
    row.int("reserved")
}

/// Writes a `stock.low` outbox event when a change took `available` across the threshold.
pub async fn note_low_stock(
    conn: &mut impl Sql,
    store: StoreId,
    product: ProductId,
    locked: LockedLevel,
    after: StockLevel,
    at: DateTime<Utc>,
) -> StoreResult<bool> {
    if !crosses_low(locked.level, after, locked.threshold) {
        return Ok(false);
    }
    let payload = serde_json::json!({
        "store_id": store.to_string(),
        "product_id": product.to_string(),
        "on_hand": after.on_hand,
        "reserved": after.reserved,
        "available": after.available(),
        "low_stock_threshold": locked.threshold.value(),
    });
    let store = store.to_string();
    outbox::append(conn, "stock.low", Some(&store), &payload, at).await?;
    Ok(true)
}

/// What a movement is and who made it; the delta is decided against the locked level.
pub struct NewMovement<'a> {
    pub store_id: StoreId,
    pub product_id: ProductId,
    pub kind: MovementKind,
    pub ref_type: Option<&'a str>,
    pub ref_id: Option<String>,
    pub actor_id: Option<&'a str>,
    pub note: Option<&'a str>,
    pub allow_negative: bool,
}

/// A recorded movement with the level before and after it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Moved {
    pub movement: MovementRow,
    pub before: StockLevel,
    pub after: StockLevel,
}

/// Records one movement: locks the level, asks `delta_of` for the delta against it (a count
/// needs the level to know its difference), refuses a shortfall, then updates the level with
/// an atomic conditional update and appends the movement, and the `stock.low` event if the
/// change crossed the threshold. `Ok(Err(_))` is a refusal; nothing was written for it, but
/// the caller must roll back if it wrote anything else.
pub async fn move_stock(
    conn: &mut impl Sql,
    movement: &NewMovement<'_>,
    delta_of: impl FnOnce(StockLevel) -> i64,
    at: DateTime<Utc>,
) -> StoreResult<Result<Moved, Shortfall>> {
    let now: &str = &time::to_db(at);
    let (store, product) = (movement.store_id, movement.product_id);
    let locked = lock_level(conn, store, product, at).await?;
    let delta = delta_of(locked.level);
    let after = match locked.level.apply(delta, movement.allow_negative) {
        Ok(after) => after,
        Err(short) => return Ok(Err(short)),
    };
    // The condition repeats the rule in SQL, so the database itself never takes `available`
    // below zero, whatever the code above concluded.
    let updated = conn
        .run(
            stmt(
                "update stock_levels set on_hand = on_hand + $3, updated_at = $4 \
                 where store_id = $1 and product_id = $2 \
                   and ($3 >= 0 or $5 = 1 or on_hand + $3 - $6 >= 0)",
            )
            .bind(store.to_string())
            .bind(product.to_string())
            .bind(delta)
            .bind(now)
            .bind(i64::from(movement.allow_negative))
            .bind(locked.level.reserved),
        )
        .await?;
    if updated != 1 {
        return Ok(Err(Shortfall {
            available: locked.level.available(),
            requested: delta.saturating_neg(),
        }));
    }
    let sql = format!(
        "insert into stock_movements ({MOVEMENT_COLUMNS}) \
         values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) returning {MOVEMENT_COLUMNS}"
    );
    let row = conn
        .row(
            stmt(sql)
                .bind(StockMovementId::new().to_string())
                .bind(store.to_string())
                .bind(product.to_string())
                .bind(delta)
                .bind(movement.kind.as_str())
                .bind(movement.ref_type)
                .bind(movement.ref_id.clone())
                .bind(movement.actor_id)
                .bind(movement.note)
                .bind(now),
        )
        .await?;
    let recorded = MovementRow::read(&row)?;
    note_low_stock(conn, store, product, locked, after, at).await?;
    Ok(Ok(Moved {
        movement: recorded,
        before: locked.level,
        after,
    }))
}

/// One row of a store's stock list.
#[derive(Clone, Debug, PartialEq, Eq, sqlx::FromRow)]
pub struct LevelRow {
    #[sqlx(try_from = "String")]
    pub product_id: ProductId,
    pub on_hand: i64,
    pub reserved: i64,
    pub low_stock_threshold: i64,
}

impl LevelRow {
    pub fn available(&self) -> i64 {
        StockLevel::new(self.on_hand, self.reserved).available()
    }
}

/// Filters of a store's stock list.
#[derive(Clone, Copy, Debug, Default)]
pub struct LevelFilter {
    pub product_id: Option<ProductId>,
    /// Only levels whose `available` is at or below the product's threshold.
    pub below_threshold: bool,
}

/// The levels of a store, in product id order, with what is reserved at `now`.
pub async fn list_levels(
    db: &Db,
    store: StoreId,
    filter: LevelFilter,
    at: DateTime<Utc>,
    after: Option<&After>,
    limit: usize,
) -> StoreResult<Page<LevelRow>> {
    let now: &str = &time::to_db(at);
    // Constants chosen here, never text from the request.
    let product = if filter.product_id.is_some() {
        "and l.product_id = $5"
    } else {
        "and $5 = ''"
    };
    let reserved = "(select cast(coalesce(sum(r.quantity), 0) as bigint) from reservation_lines r \
         where r.store_id = l.store_id and r.product_id = l.product_id \
           and r.expires_at > $2) as reserved";
    let sql = if filter.below_threshold {
        // The threshold filter needs every level's availability, so it reads the store's
        // levels in order until the page is full.
        sqlx::AssertSqlSafe(format!(
            "select * from ( \
               select l.product_id, l.on_hand, p.low_stock_threshold, {reserved} \
               from stock_levels l join products p on p.id = l.product_id \
               where l.store_id = $1 and l.product_id > $3 {product} \
             ) s where s.on_hand - s.reserved <= s.low_stock_threshold \
             order by s.product_id limit $4"
        ))
    } else {
        // The page of levels first (an index range on the primary key), then its products:
        // joining first lets PostgreSQL plan a join over every level of the store.
        sqlx::AssertSqlSafe(format!(
            "select l.product_id, l.on_hand, p.low_stock_threshold, {reserved} \
             from (select store_id, product_id, on_hand from stock_levels l \
                   where l.store_id = $1 and l.product_id > $3 {product} \
                   order by l.product_id limit $4) l \
             join products p on p.id = l.product_id order by l.product_id"
        ))
    };
    let levels: Vec<LevelRow> = sqlx::query_as(sql)
        .bind(store.to_string())
        .bind(now)
        .bind(after.map(|a| a.0.clone()).unwrap_or_default())
        .bind(i64::try_from(limit).unwrap_or(i64::MAX).saturating_add(1))
        .bind(filter.product_id.map(|p| p.to_string()).unwrap_or_default())
        .fetch_all(db.reader())
        .await?;
    Ok(page_of(levels, limit, |l| l.product_id.to_string()))
}

/// How many active products of each store are low (0 for a store with none), in code order:
/// a level whose `available` (on hand less what live reservations hold at `at`) is at or below
/// its product's threshold, the rule of the stock list's `below_threshold` filter. Only
/// products that have had stock in the store have a level, as in that list. It reads every
/// level once, with the live reservations summed in one grouped pass beside it rather than per
/// level; for `/metrics`, which caches it.
pub async fn low_stock_by_store(db: &Db, at: DateTime<Utc>) -> StoreResult<Vec<PerStore>> {
    let now: &str = &time::to_db(at);
    Ok(sqlx::query_as(
        "select st.code, cast(count(low.product_id) as bigint) as value \
         from stores st left join ( \
           select l.store_id, l.product_id \
           from stock_levels l \
           join products p on p.id = l.product_id and p.active = 1 \
           left join ( \
             select store_id, product_id, cast(sum(quantity) as bigint) as reserved \
             from reservation_lines where expires_at > $1 group by store_id, product_id \
           ) r on r.store_id = l.store_id and r.product_id = l.product_id \
           where l.on_hand - coalesce(r.reserved, 0) <= p.low_stock_threshold \
         ) low on low.store_id = st.id \
         group by st.code order by st.code",
    )
    .bind(now)
    .fetch_all(db.reader())
    .await?)
}

/// Filters of the movement list; `stores: None` means every store.
#[derive(Clone, Debug, Default)]
pub struct MovementFilter {
    pub stores: Option<Vec<StoreId>>,
    pub product_id: Option<ProductId>,
    pub kind: Option<MovementKind>,
    /// Inclusive, database time text.
    pub from: Option<String>,
    /// Exclusive, database time text.
    pub to: Option<String>,
}

/// Movements matching `filter`, oldest first.
pub async fn list_movements(
    db: &Db,
    filter: &MovementFilter,
    after: Option<&After>,
    limit: usize,
) -> StoreResult<Page<MovementRow>> {
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
    if let Some(product) = filter.product_id {
        let p = conditions.param(product.to_string());
        conditions.push(format!("product_id = {p}"));
    }
    if let Some(kind) = filter.kind {
        let p = conditions.param(kind.as_str());
        conditions.push(format!("kind = {p}"));
    }
    if let Some(from) = &filter.from {
        let p = conditions.param(from.clone());
        conditions.push(format!("created_at >= {p}"));
    }
    if let Some(to) = &filter.to {
        let p = conditions.param(to.clone());
        conditions.push(format!("created_at < {p}"));
    }
    let mut conn = db.read_conn().await?;
    let select = format!("select {MOVEMENT_COLUMNS} from stock_movements");
    let movements: Vec<MovementRow> = conditions
        .fetch(&mut conn, &select, "order by id limit $2", after, limit)
        .await?;
    Ok(page_of(movements, limit, |m| m.id.to_string()))
}

/// A level whose on-hand differs from the sum of its movements.
#[derive(sqlx::FromRow)]
struct MismatchRow {
    store_id: String,
    product_id: String,
    on_hand: i64,
    total: i64,
}

/// A level of a store that does not allow negative stock, with what is reserved of it.
#[derive(sqlx::FromRow)]
struct ReservedLevelRow {
    store_id: String,
    product_id: String,
    on_hand: i64,
    reserved: i64,
}

/// A level that breaks an invariant, as `ringup check` reports it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Offence {
    pub store_id: String,
    pub product_id: String,
    pub problem: String,
}

/// Checks the ledger: every level equals the sum of its movements (and no movements exist
/// without a level), and no `available` is negative where the store does not allow it.
/// Returns the number of levels checked and the offences found.
pub async fn check_ledger(db: &Db, at: DateTime<Utc>) -> StoreResult<(u64, Vec<Offence>)> {
    let now: &str = &time::to_db(at);
    let mut conn = db.read_conn().await?;
    let count: Count = sqlx::query_as("select count(*) as n from stock_levels")
        .fetch_one(&mut *conn)
        .await?;
    let mut offences = Vec::new();
    let mismatched: Vec<MismatchRow> = sqlx::query_as(
        "select l.store_id, l.product_id, l.on_hand, \
           cast(coalesce(m.total, 0) as bigint) as total \
         from stock_levels l left join ( \
           select store_id, product_id, sum(delta) as total from stock_movements \
           group by store_id, product_id) m \
         on m.store_id = l.store_id and m.product_id = l.product_id \
         where l.on_hand <> coalesce(m.total, 0) \
         union all \
         select m.store_id, m.product_id, 0 as on_hand, cast(sum(m.delta) as bigint) as total \
         from stock_movements m where not exists (select 1 from stock_levels l \
           where l.store_id = m.store_id and l.product_id = m.product_id) \
         group by m.store_id, m.product_id",
    )
    .fetch_all(&mut *conn)
    .await?;
    for row in mismatched {
        offences.push(Offence {
            store_id: row.store_id,
            product_id: row.product_id,
            problem: format!(
                "on_hand is {} but its movements add up to {}",
                row.on_hand, row.total
            ),
        });
    }
    let negative: Vec<ReservedLevelRow> = sqlx::query_as(
        "select l.store_id, l.product_id, l.on_hand, \
           (select cast(coalesce(sum(r.quantity), 0) as bigint) from reservation_lines r \
            where r.store_id = l.store_id and r.product_id = l.product_id \
              and r.expires_at > $1) as reserved \
         from stock_levels l join stores s on s.id = l.store_id \
         where s.allow_negative_stock = 0",
    )
    .bind(now)
    .fetch_all(&mut *conn)
    .await?;
    for row in negative {
        let level = StockLevel::new(row.on_hand, row.reserved);
        if level.available() < 0 {
            offences.push(Offence {
                store_id: row.store_id,
                product_id: row.product_id,
                problem: format!(
                    "available is {} (on_hand {}, reserved {}) in a store that does not allow \
                     negative stock",
                    level.available(),
                    level.on_hand,
                    level.reserved
                ),
            });
        }
    }
    Ok((u64::try_from(count.n).unwrap_or(0), offences))
}

mod batch;
pub mod reservations;
pub mod transfers;
pub use batch::{LineMove, MoveMany, move_many};

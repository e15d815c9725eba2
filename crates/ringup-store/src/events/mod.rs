//! The event stream: the outbox rows every business write appends
//! ([`crate::platform::outbox`]), put in commit order by the relay and read back by position.
//!
//! An event's id is taken before its transaction commits, so ids do not order events by
//! commit. [`relay`] gives each committed row a position instead, in the order it finds them,
//! holding the one `event_stream` row locked while it does: relays of several nodes take
//! turns, and a row that commits after a relay ran is found by a later relay, with a higher
//! position. So positions are handed out in commit order as far as any reader can tell: a
//! reader that has seen position `p` sees every later event above `p`.

use chrono::{DateTime, Utc};

use crate::platform::db::{Db, Engine, select_rows};
use crate::platform::error::{StoreError, StoreResult};
use crate::platform::sql::{Row, Sql, stmt};
use crate::platform::time;

/// An event as the stream holds it: the envelope's parts, its data as stored JSON text.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StreamEvent {
    pub position: i64,
    pub id: String,
    pub event_type: String,
    pub store_id: Option<String>,
    /// Database time text ([`time::to_db`]).
    pub created_at: String,
    /// The resource as the API shows it (JSON text).
    pub data: String,
}

impl StreamEvent {
    fn from_row(row: &Row) -> StoreResult<StreamEvent> {
        Ok(StreamEvent {
            position: row.int("position")?,
            id: row.text("id")?,
            event_type: row.text("event_type")?,
            store_id: row.opt_text("store_id")?,
            created_at: row.text("created_at")?,
            data: row.text("payload")?,
        })
    }
}

const COLUMNS: &str = "position, id, event_type, store_id, created_at, payload";

/// Which events a reader wants: type patterns and stores. Every part is optional.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Selection {
    /// Exact types and prefixes (`sale.` for the pattern `sale.*`); empty: every type.
    pub types: Vec<TypePattern>,
    /// Only this store's events (and, when `with_unscoped`, those of no store).
    pub store: Option<String>,
    /// The stores the reader may see; `None`: every store.
    pub visible_stores: Option<Vec<String>>,
}

/// One `types` pattern as SQL can test it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TypePattern {
    /// Every type.
    Any,
    Exact(String),
    /// Types starting with this text (which ends in `.`).
    Prefix(String),
}

impl Selection {
    /// The `where` conditions (joined by `and`) and their values, placeholders from `$first`.
    fn conditions(&self, first: usize) -> (Vec<String>, Vec<String>) {
        let mut conditions = Vec::new();
        let mut values = Vec::new();
        let mut next = first;
        let mut placeholder = |value: String, values: &mut Vec<String>| {
            values.push(value);
            let p = format!("${next}");
            next += 1;
            p
        };
        if !self.types.is_empty() && !self.types.contains(&TypePattern::Any) {
            let mut any = Vec::new();
            for pattern in &self.types {
                match pattern {
                    TypePattern::Any => {}
                    TypePattern::Exact(t) => {
                        any.push(format!(
                            "event_type = {}",
                            placeholder(t.clone(), &mut values)
                        ));
                    }
                    TypePattern::Prefix(p) => {
                        // The prefix is letters, digits, `_` and `.` (validated), so no
                        // `like` wildcard can hide in it.
                        let p = placeholder(format!("{p}%"), &mut values);
                        any.push(format!("event_type like {p}"));
                    }
                }
            }
            conditions.push(format!("({})", any.join(" or ")));
        }
        if let Some(store) = &self.store {
            let p = placeholder(store.clone(), &mut values);
            conditions.push(format!("store_id = {p}"));
        }
        if let Some(stores) = &self.visible_stores {
            let mut any = vec!["store_id is null".to_owned()];
            if !stores.is_empty() {
                let list: Vec<String> = stores
                    .iter()
                    .map(|s| placeholder(s.clone(), &mut values))
                    .collect();
                any.push(format!("store_id in ({})", list.join(", ")));
            }
            conditions.push(format!("({})", any.join(" or ")));
        }
        (conditions, values)
    }
}

/// Up to `limit` events after `position` that `selection` picks, oldest first.
pub async fn after(
    db: &Db,
    position: i64,
    selection: &Selection,
    limit: usize,
) -> StoreResult<Vec<StreamEvent>> {
    let (conditions, values) = selection.conditions(3);
    let mut sql = format!("select {COLUMNS} from outbox_events where position > $1");
    for condition in &conditions {
        sql.push_str(" and ");
        sql.push_str(condition);
    }
    sql.push_str(" order by position limit $2");
    let mut query = stmt(sql)
        .bind(position)
        .bind(i64::try_from(limit).unwrap_or(i64::MAX));
    for value in values {
        query = query.bind(value);
    }
    let mut conn = db.read_conn().await?;
    conn.rows(query)
        .await?
        .iter()
        .map(StreamEvent::from_row)
        .collect()
}

/// The position of event `id`, if it exists and has one.
pub async fn position_of(db: &Db, id: &str) -> StoreResult<Option<i64>> {
    let mut conn = db.read_conn().await?;
    let row = conn
        .optional_row(stmt("select position from outbox_events where id = $1").bind(id))
        .await?;
    match row {
        Some(row) => row.opt_int("position"),
        None => Ok(None),
    }
}

/// The last position handed out (0 before the first event).
pub async fn last_position(db: &Db) -> StoreResult<i64> {
    let mut conn = db.read_conn().await?;
    let row = conn
        .optional_row(stmt("select last_position from event_stream where id = 1"))
        .await?;
    match row {
        Some(row) => row.int("last_position"),
        None => Ok(0),
    }
}

/// Whether any committed event waits for a position: a read, so an idle relay costs no write.
pub async fn has_unrelayed(db: &Db) -> StoreResult<bool> {
    let mut conn = db.read_conn().await?;
    let row = conn
        .optional_row(stmt(
            "select id from outbox_events where position is null order by created_at, id limit 1",
        ))
        .await?;
    Ok(row.is_some())
}

/// What one relay pass positioned, oldest first.
#[derive(Debug, Default)]
pub struct Relayed {
    pub events: Vec<StreamEvent>,
}

impl Relayed {
    /// The highest position handed out, if any.
    pub fn last(&self) -> Option<i64> {
        self.events.last().map(|e| e.position)
    }
}

/// Positions up to `limit` committed events that have none yet, in `tx` (a write
/// transaction: the caller commits, after adding what must happen with the positions, such as
/// the webhook deliveries). Holds the `event_stream` row until then, so relays take turns.
/// On PostgreSQL it also notifies the channel [`NOTIFY_CHANNEL`] at commit, so every node's
/// stream readers wake.
pub async fn relay(
    tx: &mut impl Sql,
    engine: Engine,
    at: DateTime<Utc>,
    limit: usize,
) -> StoreResult<Relayed> {
    // Take the lock first: what the next statement sees is then everything that committed
    // before this relay's turn, including what the relay before it positioned. The first
    // relay of a database makes the row.
    tx.run(stmt(
        "insert into event_stream (id, last_position) values (1, 0) on conflict (id) do nothing",
    ))
    .await?;
    let last = tx
        .row(stmt(
            "update event_stream set last_position = last_position where id = 1 \
             returning last_position",
        ))
        .await?
        .int("last_position")?;
    let rows = tx
        .rows(
            stmt(
                "select id, event_type, store_id, created_at, payload from outbox_events \
                 where position is null order by created_at, id limit $1",
            )
            .bind(i64::try_from(limit).unwrap_or(i64::MAX)),
        )
        .await?;
    if rows.is_empty() {
        return Ok(Relayed::default());
    }
    let mut events = Vec::with_capacity(rows.len());
    for (n, row) in rows.iter().enumerate() {
        let offset = i64::try_from(n).map_err(|_| StoreError::corrupt("outbox_events", "batch"))?;
        events.push(StreamEvent {
            position: last + 1 + offset,
            id: row.text("id")?,
            event_type: row.text("event_type")?,
            store_id: row.opt_text("store_id")?,
            created_at: row.text("created_at")?,
            data: row.text("payload")?,
        });
    }
    let relayed_at = time::to_db(at);
    for chunk in events.chunks(POSITION_CHUNK) {
        let sql = format!(
            "update outbox_events set position = v.position, delivered_at = $1 \
             from ({}) as v where outbox_events.id = v.id",
            select_rows(
                2,
                chunk.len(),
                "select cast(? as text) as id, cast(? as bigint) as position"
            )
        );
        let mut query = stmt(sql).bind(relayed_at.as_str());
        for event in chunk {
            query = query.bind(event.id.as_str()).bind(event.position);
        }
        let changed = tx.run(query).await?;
        if changed != chunk.len() as u64 {
            return Err(StoreError::corrupt(
                "outbox_events",
                "an event to position changed under the relay",
            ));
        }
    }
    let relayed = Relayed { events };
    let new_last = relayed.last().unwrap_or(last);
    tx.run(stmt("update event_stream set last_position = $1 where id = 1").bind(new_last))
        .await?;
    if engine == Engine::Postgres {
        tx.row(
            stmt("select cast(pg_notify($1, $2) as text) as notified")
                .bind(NOTIFY_CHANNEL)
                .bind(new_last.to_string()),
        )
        .await?;
    }
    Ok(relayed)
}

/// Rows per positioning statement (two placeholders each).
const POSITION_CHUNK: usize = 200;

/// The PostgreSQL channel a relay notifies at commit, with the last position as payload.
pub const NOTIFY_CHANNEL: &str = "ringup_events";

/// The position consumer `name` has handled every event up to (0 when it never ran).
pub async fn cursor(db: &Db, name: &str) -> StoreResult<i64> {
    let mut conn = db.read_conn().await?;
    let row = conn
        .optional_row(stmt("select position from event_cursors where consumer = $1").bind(name))
        .await?;
    match row {
        Some(row) => row.int("position"),
        None => Ok(0),
    }
}

/// Records that consumer `name` has handled every event up to `position`, in `tx`.
pub async fn advance_cursor(
    tx: &mut impl Sql,
    name: &str,
    position: i64,
    at: DateTime<Utc>,
) -> StoreResult<()> {
    tx.run(
        stmt(
            "insert into event_cursors (consumer, position, updated_at) values ($1, $2, $3) \
             on conflict (consumer) do update set position = excluded.position, \
             updated_at = excluded.updated_at where event_cursors.position < excluded.position",
        )
        .bind(name)
        .bind(position)
        .bind(time::to_db(at)),
    )
    .await?;
    Ok(())
}

/// Deletes up to `limit` positioned events written before `before`; answers how many. An
/// event a pending webhook attempt will still send (one without a body of its own, which is
/// sent as its event) is kept until that attempt ends.
pub async fn purge(tx: &mut impl Sql, before: DateTime<Utc>, limit: usize) -> StoreResult<u64> {
    tx.run(
        stmt(
            "delete from outbox_events where id in (select id from outbox_events \
             where created_at < $1 and position is not null and id not in \
             (select event_id from webhook_deliveries where status = 'pending' \
             and body is null) order by created_at limit $2)",
        )
        .bind(time::to_db(before))
        .bind(i64::try_from(limit).unwrap_or(i64::MAX)),
    )
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_selection_numbers_its_placeholders_in_order() {
        let selection = Selection {
            types: vec![
                TypePattern::Exact("stock.low".into()),
                TypePattern::Prefix("sale.".into()),
            ],
            store: Some("s1".into()),
            visible_stores: Some(vec!["s1".into(), "s2".into()]),
        };
        let (conditions, values) = selection.conditions(3);
        assert_eq!(
            conditions,
            vec![
                "(event_type = $3 or event_type like $4)".to_owned(),
                "store_id = $5".to_owned(),
                "(store_id is null or store_id in ($6, $7))".to_owned(),
            ]
        );
        assert_eq!(values, vec!["stock.low", "sale.%", "s1", "s1", "s2"]);
    }

    #[test]
    fn any_type_and_no_store_filter_add_no_condition() {
        let selection = Selection {
            types: vec![TypePattern::Any, TypePattern::Exact("x.y".into())],
            ..Selection::default()
        };
        assert_eq!(selection.conditions(1), (vec![], vec![]));
        let none_visible = Selection {
            visible_stores: Some(vec![]),
            ..Selection::default()
        };
        assert_eq!(
            none_visible.conditions(1).0,
            vec!["(store_id is null)".to_owned()]
        );
    }
}

//! The audit log: append-only, hash-chained, one chain per store plus a `global` chain, so
//! writes in different stores never queue on one lock.
//!
//! Appending takes the chain's head row (a row lock on PostgreSQL, the single writer on
//! SQLite), links the new event to the head's hash, and moves the head — all in the caller's
//! transaction, so an event exists exactly when its effect does. On PostgreSQL the database
//! hashes the link, so that is one statement; on SQLite the server hashes it between two.

use ringup_core::audit::{
    AuditRecord, ChainBreak, GENESIS_HASH, chain_hash, verify_chain, verify_continuation,
};
use ringup_core::ids::{AuditEventId, StoreId};

use crate::platform::db::Db;
use crate::platform::error::StoreResult;
use crate::platform::page::{After, Page, page_of};
use crate::platform::sql::{Sql, Stmt, stmt};

pub const GLOBAL_CHAIN: &str = "global";

/// An event to record. `details` is a JSON object; it never holds a secret.
#[derive(Clone, Debug, Default)]
pub struct NewAuditEvent {
    pub at: String,
    pub actor_id: Option<String>,
    pub action: String,
    pub target_type: Option<String>,
    pub target_id: Option<String>,
    pub store_id: Option<StoreId>,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    pub request_id: Option<String>,
    pub details: serde_json::Value,
}

impl NewAuditEvent {
    /// Who did it.
    pub fn by(mut self, actor_id: impl Into<String>) -> Self {
        self.actor_id = Some(actor_id.into());
        self
    }

    /// What it was done to.
    pub fn on(mut self, target_type: &str, target_id: impl ToString) -> Self {
        self.target_type = Some(target_type.to_owned());
        self.target_id = Some(target_id.to_string());
        self
    }

    /// What else to record (never a secret).
    pub fn with(mut self, details: serde_json::Value) -> Self {
        self.details = details;
        self
    }
}

/// A chain's head: the last link's number and hash.
#[derive(sqlx::FromRow)]
struct HeadRow {
    last_seq: i64,
    last_hash: String,
}

/// A chain and its head, for verification.
#[derive(sqlx::FromRow)]
struct ChainHeadRow {
    chain: String,
    #[sqlx(flatten)]
    head: HeadRow,
}

/// Appends one event to its chain (the store's, or the global one).
pub async fn append(conn: &mut impl Sql, event: &NewAuditEvent) -> StoreResult<AuditRecord> {
    let chain = event
        .store_id
        .map(|s| s.to_string())
        .unwrap_or_else(|| GLOBAL_CHAIN.to_owned());
    let mut record = AuditRecord {
        id: AuditEventId::new().to_string(),
        chain: chain.clone(),
        seq: 0,
        at: event.at.clone(),
        actor_id: event.actor_id.clone(),
        action: event.action.clone(),
        target_type: event.target_type.clone(),
        target_id: event.target_id.clone(),
        store_id: event.store_id.map(|s| s.to_string()),
        ip: event.ip.clone(),
        user_agent: event.user_agent.clone(),
        request_id: event.request_id.clone(),
        details: event.details.to_string(),
        prev_hash: String::new(),
        hash: String::new(),
    };
    if conn.is_postgres() && link_in_database(conn, &mut record).await? {
        return Ok(record);
    }
    // SQLite (and a chain's first link on PostgreSQL): one statement takes the next link and
    // locks the head until commit: a new chain starts at seq 1 after the genesis hash; an
    // existing one advances and hands back its last hash, which the link is hashed with here.
    let head = conn
        .row_with_deferred(
            stmt(
                "insert into audit_chain_heads (chain, last_seq, last_hash, created_at, \
                 updated_at) values ($1, 1, $2, $3, $3) \
                 on conflict (chain) do update set last_seq = audit_chain_heads.last_seq + 1, \
                   updated_at = excluded.updated_at \
                 returning last_seq, last_hash",
            )
            .bind(&chain)
            .bind(GENESIS_HASH)
            .bind(&event.at),
        )
        .await?;
    record.seq = head.int("last_seq")?;
    record.prev_hash = head.text("last_hash")?;
    record.hash = chain_hash(&record);
    conn.defer(
        stmt("update audit_chain_heads set last_hash = $2 where chain = $1")
            .bind(&chain)
            .bind(&record.hash),
    )
    .await?;
    let insert = stmt(
        "insert into audit_events (id, chain, seq, at, actor_id, action, target_type, \
         target_id, store_id, ip, user_agent, request_id, details, prev_hash, hash, \
         created_at, updated_at) \
         values ($1, $2, $13, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $14, $15, $3, $3)",
    );
    conn.defer(
        with_fields(insert, &record)
            .bind(record.seq)
            .bind(&record.prev_hash)
            .bind(&record.hash),
    )
    .await?;
    Ok(record)
}

/// `statement` with the event's id and chain bound as `$1` and `$2`, and its own fields (`at`
/// to `details`, in the order of [`COLUMNS`]) as `$3` to `$12`.
fn with_fields(statement: Stmt<'static>, record: &AuditRecord) -> Stmt<'static> {
    statement
        .bind(&record.id)
        .bind(&record.chain)
        .bind(&record.at)
        .bind(&record.actor_id)
        .bind(&record.action)
        .bind(&record.target_type)
        .bind(&record.target_id)
        .bind(&record.store_id)
        .bind(&record.ip)
        .bind(&record.user_agent)
        .bind(&record.request_id)
        .bind(&record.details)
}

/// PostgreSQL: takes the chain's head, hashes the new link (`ringup_audit_hash`, the core's
/// `chain_hash` as a database function, migration 0015) and moves the head, in the statement
/// that inserts the event — with the statements deferred before it, so a write's last round
/// trip before its commit carries everything. The head is read `for update`, which waits for a
/// writer holding it and then reads the head that writer left. Fills in the record's link;
/// answers false, having written nothing, for a chain that has no head yet.
async fn link_in_database(conn: &mut impl Sql, record: &mut AuditRecord) -> StoreResult<bool> {
    let link = stmt(
        "with head as (select last_seq, last_hash from audit_chain_heads \
           where chain = $2 for update), \
         link as (update audit_chain_heads set last_seq = head.last_seq + 1, \
           last_hash = ringup_audit_hash($1, $2, head.last_seq + 1, $3, $4, $5, $6, $7, \
             $8, $9, $10, $11, $12, head.last_hash), updated_at = $3 \
           from head where audit_chain_heads.chain = $2 \
           returning audit_chain_heads.last_seq, audit_chain_heads.last_hash, \
             head.last_hash as prev_hash) \
         insert into audit_events (id, chain, seq, at, actor_id, action, target_type, \
           target_id, store_id, ip, user_agent, request_id, details, prev_hash, hash, \
           created_at, updated_at) \
         select $1, $2, link.last_seq, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, \
           link.prev_hash, link.last_hash, $3, $3 from link \
         returning seq, prev_hash, hash",
    );
    let link = conn
        .optional_row_with_deferred(with_fields(link, record))
        .await?;
    let Some(link) = link else {
        return Ok(false);
    };
    record.seq = link.int("seq")?;
    record.prev_hash = link.text("prev_hash")?;
    record.hash = link.text("hash")?;
    Ok(true)
}

const COLUMNS: &str = "id, chain, seq, at, actor_id, action, target_type, target_id, store_id, \
     ip, user_agent, request_id, details, prev_hash, hash";

/// An event as [`COLUMNS`] reads it; [`AuditRecord`] is the core's, which knows nothing of rows.
#[derive(sqlx::FromRow)]
struct AuditRow {
    id: String,
    chain: String,
    seq: i64,
    at: String,
    actor_id: Option<String>,
    action: String,
    target_type: Option<String>,
    target_id: Option<String>,
    store_id: Option<String>,
    ip: Option<String>,
    user_agent: Option<String>,
    request_id: Option<String>,
    details: String,
    prev_hash: String,
    hash: String,
}

impl From<AuditRow> for AuditRecord {
    fn from(r: AuditRow) -> AuditRecord {
        AuditRecord {
            id: r.id,
            chain: r.chain,
            seq: r.seq,
            at: r.at,
            actor_id: r.actor_id,
            action: r.action,
            target_type: r.target_type,
            target_id: r.target_id,
            store_id: r.store_id,
            ip: r.ip,
            user_agent: r.user_agent,
            request_id: r.request_id,
            details: r.details,
            prev_hash: r.prev_hash,
            hash: r.hash,
        }
    }
}

/// Filters for listing; `stores` limits to events of those stores (managers).
#[derive(Clone, Debug, Default)]
pub struct AuditFilter {
    pub actor_id: Option<String>,
    pub action: Option<String>,
    pub from: Option<String>,
    pub to: Option<String>,
    pub stores: Option<Vec<StoreId>>,
}

pub async fn list(
    db: &Db,
    filter: &AuditFilter,
    after: Option<&After>,
    limit: usize,
) -> StoreResult<Page<AuditRecord>> {
    let store_list = filter
        .stores
        .as_ref()
        .map(|s| s.iter().map(ToString::to_string).collect::<Vec<_>>());
    let store_clause = match &store_list {
        Some(list) if !list.is_empty() => format!(
            "and store_id in ({})",
            crate::platform::db::placeholders(7, list.len())
        ),
        Some(_) => "and 1 = 0".to_owned(),
        None => String::new(),
    };
    let sql = sqlx::AssertSqlSafe(format!(
        "select {COLUMNS} from audit_events where id > $1 \
         and ($2 is null or actor_id = $2) and ($3 is null or action = $3) \
         and ($4 is null or at >= $4) and ($5 is null or at < $5) {store_clause} \
         order by id limit $6"
    ));
    let mut query = sqlx::query_as(sql)
        .bind(after.map(|a| a.0.clone()).unwrap_or_default())
        .bind(filter.actor_id.clone())
        .bind(filter.action.clone())
        .bind(filter.from.clone())
        .bind(filter.to.clone())
        .bind(i64::try_from(limit).unwrap_or(i64::MAX).saturating_add(1));
    for store in store_list.iter().flatten() {
        query = query.bind(store.clone());
    }
    let rows: Vec<AuditRow> = query.fetch_all(db.reader()).await?;
    let records: Vec<AuditRecord> = rows.into_iter().map(AuditRecord::from).collect();
    Ok(page_of(records, limit, |r| r.id.clone()))
}

/// The outcome of verifying every chain.
#[derive(Debug, PartialEq, Eq)]
pub enum Verification {
    Ok {
        checked: usize,
    },
    Broken {
        chain: String,
        checked: usize,
        at: ChainBreak,
    },
    /// The chain's events end before its head says they should (events were deleted).
    Truncated {
        chain: String,
        checked: usize,
        expected_seq: i64,
        found_seq: i64,
    },
}

/// Re-computes every chain from its first event, reading each chain in pages of 1,000 so
/// memory stays flat however long the log is.
pub async fn verify(db: &Db) -> StoreResult<Verification> {
    let heads: Vec<ChainHeadRow> =
        sqlx::query_as("select chain, last_seq, last_hash from audit_chain_heads order by chain")
            .fetch_all(db.reader())
            .await?;
    let sql = format!(
        "select {COLUMNS} from audit_events where chain = $1 and seq > $2 order by seq limit 1000"
    );
    let mut checked = 0;
    for ChainHeadRow {
        chain,
        head: HeadRow {
            last_seq: head_seq,
            last_hash: head_hash,
        },
    } in heads
    {
        // The last record of the previous page anchors the next one, so links across page
        // boundaries are checked too.
        let mut anchor: Option<AuditRecord> = None;
        loop {
            let rows: Vec<AuditRow> = sqlx::query_as(sqlx::AssertSqlSafe(sql.clone()))
                .bind(&chain)
                .bind(anchor.as_ref().map_or(0, |r| r.seq))
                .fetch_all(db.reader())
                .await?;
            if rows.is_empty() {
                break;
            }
            let page: Vec<AuditRecord> = rows.into_iter().map(AuditRecord::from).collect();
            let verified = match &anchor {
                None => verify_chain(&page),
                Some(anchor) => verify_continuation(std::iter::once(anchor).chain(&page)),
            };
            if let Err(at) = verified {
                // The records of this page before the break verified.
                let good = page.iter().take_while(|r| r.id != at.id).count();
                return Ok(Verification::Broken {
                    chain,
                    checked: checked + good,
                    at,
                });
            }
            checked += page.len();
            anchor = page.into_iter().last();
        }
        // Events cut off the end leave a valid-looking chain; the head remembers the end.
        let (last_seq, last_hash) =
            anchor.map_or((0, GENESIS_HASH.to_owned()), |r| (r.seq, r.hash));
        if last_seq != head_seq || last_hash != head_hash {
            return Ok(Verification::Truncated {
                chain,
                checked,
                expected_seq: head_seq,
                found_seq: last_seq,
            });
        }
    }
    Ok(Verification::Ok { checked })
}

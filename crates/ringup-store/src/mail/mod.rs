//! The mail queue, low-stock notices and the marks that make a mail decision once across
//! nodes (migration 0013).
//!
//! Invariants: a queued mail's `dedupe_key` is unique, so a mail two nodes both decide on is
//! queued once; a mail is claimed by one worker at a time (a lease in `claimed_until`, taken
//! under `FOR UPDATE SKIP LOCKED` on PostgreSQL and by the single writer on SQLite) and is
//! sent, retried later, or failed — never two of these; a product has at most one low-stock
//! notice per store and store-local day; a store's `low_stock:<store>` mark only moves forward,
//! and only once the interval since the last mail has passed.

use chrono::{DateTime, Utc};

use ringup_core::ids::{MailId, ProductId, StoreId};

use crate::platform::db::{Db, Engine};
use crate::platform::error::StoreResult;
use crate::platform::sql::{Row, Sql, stmt};
use crate::platform::time;

/// What a queued mail is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MailKind {
    Receipt,
    LowStock,
    DailySummary,
}

impl MailKind {
    pub fn as_str(self) -> &'static str {
        match self {
            MailKind::Receipt => "receipt",
            MailKind::LowStock => "low_stock",
            MailKind::DailySummary => "daily_summary",
        }
    }
}

/// A mail to queue.
pub struct NewMail<'a> {
    pub kind: MailKind,
    /// Unique across every mail ever queued: a second mail with the same key is dropped.
    pub dedupe_key: &'a str,
    pub recipient: &'a str,
    pub subject: &'a str,
    pub body: &'a str,
}

/// Queues `mail`, due at once; false when a mail with its key was queued before.
pub async fn enqueue(
    tx: &mut impl Sql,
    mail: &NewMail<'_>,
    at: DateTime<Utc>,
) -> StoreResult<bool> {
    let now = time::to_db(at);
    let inserted = tx
        .run(
            stmt(
                "insert into mail_queue (id, kind, dedupe_key, recipient, subject, body, \
                 created_at, attempts, next_attempt_at) values ($1, $2, $3, $4, $5, $6, $7, 0, $7) \
                 on conflict (dedupe_key) do nothing",
            )
            .bind(MailId::new().to_string())
            .bind(mail.kind.as_str())
            .bind(mail.dedupe_key)
            .bind(mail.recipient)
            .bind(mail.subject)
            .bind(mail.body)
            .bind(now),
        )
        .await?;
    Ok(inserted > 0)
}

/// A mail a worker claimed: it alone sends it until `claimed_until`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClaimedMail {
    pub id: String,
    pub kind: String,
    pub recipient: String,
    pub subject: String,
    pub body: String,
    /// Attempts including this one.
    pub attempts: i64,
}

/// How the engine keeps two workers off the same due rows: PostgreSQL locks them and skips
/// rows another transaction holds; SQLite has one writer, so the claim is never concurrent.
fn claim_lock(engine: Engine) -> &'static str {
    match engine {
        Engine::Postgres => " for update skip locked",
        Engine::Sqlite => "",
    }
}

/// Whether any mail is due at `at` and not claimed (a read, so an idle worker opens no write).
pub async fn any_due(db: &Db, at: DateTime<Utc>) -> StoreResult<bool> {
    let mut conn = db.read_conn().await?;
    let row = conn
        .optional_row(
            stmt(
                "select id from mail_queue where sent_at is null and failed_at is null \
                 and next_attempt_at <= $1 and (claimed_until is null or claimed_until <= $1) \
                 limit 1",
            )
            .bind(time::to_db(at)),
        )
        .await?;
    Ok(row.is_some())
}

/// Claims up to `limit` due mails until `lease_until`, counting the attempt, in `tx`.
pub async fn claim_due(
    tx: &mut impl Sql,
    engine: Engine,
    at: DateTime<Utc>,
    lease_until: DateTime<Utc>,
    limit: usize,
) -> StoreResult<Vec<ClaimedMail>> {
    let sql = format!(
        "update mail_queue set claimed_until = $2, attempts = attempts + 1 where id in ( \
         select id from mail_queue where sent_at is null and failed_at is null \
         and next_attempt_at <= $1 and (claimed_until is null or claimed_until <= $1) \
         order by next_attempt_at, id limit $3{}) \
         returning id, kind, recipient, subject, body, attempts",
        claim_lock(engine)
    );
    let rows = tx
        .rows(
            stmt(sql)
                .bind(time::to_db(at))
                .bind(time::to_db(lease_until))
                .bind(i64::try_from(limit).unwrap_or(i64::MAX)),
        )
        .await?;
    let mut claimed = rows
        .iter()
        .map(|row| {
            Ok(ClaimedMail {
                id: row.text("id")?,
                kind: row.text("kind")?,
                recipient: row.text("recipient")?,
                subject: row.text("subject")?,
                body: row.text("body")?,
                attempts: row.int("attempts")?,
            })
        })
        .collect::<StoreResult<Vec<_>>>()?;
    claimed.sort_by(|a, b| a.id.cmp(&b.id));
    Ok(claimed)
}

/// Records that a claimed mail was sent.
pub async fn mark_sent(tx: &mut impl Sql, id: &str, at: DateTime<Utc>) -> StoreResult<()> {
    tx.run(
        stmt(
            "update mail_queue set sent_at = $2, claimed_until = null, last_error = null \
             where id = $1",
        )
        .bind(id)
        .bind(time::to_db(at)),
    )
    .await?;
    Ok(())
}

/// Records a failed attempt: tried again at `retry_at`, or failed for good when `None`.
pub async fn mark_attempt_failed(
    tx: &mut impl Sql,
    id: &str,
    error: &str,
    at: DateTime<Utc>,
    retry_at: Option<DateTime<Utc>>,
) -> StoreResult<()> {
    let error: String = error.chars().take(500).collect();
    let query = match retry_at {
        Some(next) => stmt(
            "update mail_queue set next_attempt_at = $2, claimed_until = null, last_error = $3 \
             where id = $1",
        )
        .bind(id)
        .bind(time::to_db(next))
        .bind(error),
        None => stmt(
            "update mail_queue set failed_at = $2, claimed_until = null, last_error = $3 \
             where id = $1",
        )
        .bind(id)
        .bind(time::to_db(at))
        .bind(error),
    };
    tx.run(query).await?;
    Ok(())
}

/// How many mails wait to be sent (neither sent nor failed).
pub async fn pending_count(db: &Db) -> StoreResult<i64> {
    let mut conn = db.read_conn().await?;
    conn.row(stmt(
        "select count(*) as n from mail_queue where sent_at is null and failed_at is null",
    ))
    .await?
    .int("n")
}

/// One row of the queue, as an operator (or a test) inspects it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct QueuedMail {
    pub id: String,
    pub kind: String,
    pub dedupe_key: String,
    pub recipient: String,
    pub subject: String,
    pub attempts: i64,
    pub sent_at: Option<String>,
    pub failed_at: Option<String>,
    pub last_error: Option<String>,
}

/// Every queued mail, oldest first.
pub async fn list(db: &Db) -> StoreResult<Vec<QueuedMail>> {
    let mut conn = db.read_conn().await?;
    conn.rows(stmt(
        "select id, kind, dedupe_key, recipient, subject, attempts, sent_at, failed_at, \
         last_error from mail_queue order by created_at, id",
    ))
    .await?
    .iter()
    .map(|row| {
        Ok(QueuedMail {
            id: row.text("id")?,
            kind: row.text("kind")?,
            dedupe_key: row.text("dedupe_key")?,
            recipient: row.text("recipient")?,
            subject: row.text("subject")?,
            attempts: row.int("attempts")?,
            sent_at: row.opt_text("sent_at")?,
            failed_at: row.opt_text("failed_at")?,
            last_error: row.opt_text("last_error")?,
        })
    })
    .collect()
}

/// Records that `product` fell low in `store` on the store-local `day` (`YYYY-MM-DD`); false
/// when it was noticed that day already.
pub async fn note_low_stock(
    tx: &mut impl Sql,
    store: &str,
    product: &str,
    day: &str,
    available: i64,
    threshold: i64,
    at: DateTime<Utc>,
) -> StoreResult<bool> {
    let n = tx
        .run(
            stmt(
                "insert into low_stock_notices (store_id, product_id, day, noticed_at, available, \
                 threshold) select $1, $2, $3, $4, $5, $6 \
                 where exists (select 1 from products where id = $2) \
                 on conflict (store_id, product_id, day) do nothing",
            )
            .bind(store)
            .bind(product)
            .bind(day)
            .bind(time::to_db(at))
            .bind(available)
            .bind(threshold),
        )
        .await?;
    Ok(n > 0)
}

/// Stores with a notice not mailed yet that was noticed at or before `noticed_by`.
pub async fn stores_with_notices(db: &Db, noticed_by: DateTime<Utc>) -> StoreResult<Vec<StoreId>> {
    let mut conn = db.read_conn().await?;
    conn.rows(
        stmt(
            "select distinct store_id from low_stock_notices \
             where mailed_at is null and noticed_at <= $1 order by store_id",
        )
        .bind(time::to_db(noticed_by)),
    )
    .await?
    .iter()
    .map(|row| crate::platform::decode::parsed(row, "store_id", "low_stock_notices.store_id"))
    .collect()
}

/// A notice waiting for its store's mail, with what the mail shows of the product.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PendingNotice {
    pub product_id: ProductId,
    pub day: String,
    pub sku: String,
    pub name: String,
    pub available: i64,
    pub threshold: i64,
}

/// The store's notices not mailed yet, by SKU.
pub async fn pending_notices(tx: &mut impl Sql, store: StoreId) -> StoreResult<Vec<PendingNotice>> {
    tx.rows(
        stmt(
            "select n.product_id, n.day, n.available, n.threshold, p.sku, p.name \
             from low_stock_notices n join products p on p.id = n.product_id \
             where n.store_id = $1 and n.mailed_at is null order by p.sku, n.day",
        )
        .bind(store.to_string()),
    )
    .await?
    .iter()
    .map(|row: &Row| {
        Ok(PendingNotice {
            product_id: crate::platform::decode::parsed(
                row,
                "product_id",
                "low_stock_notices.product_id",
            )?,
            day: row.text("day")?,
            sku: row.text("sku")?,
            name: row.text("name")?,
            available: row.int("available")?,
            threshold: row.int("threshold")?,
        })
    })
    .collect()
}

/// Marks the listed notices as mailed at `at`.
pub async fn mark_notices_mailed(
    tx: &mut impl Sql,
    store: StoreId,
    notices: &[PendingNotice],
    at: DateTime<Utc>,
) -> StoreResult<()> {
    for notice in notices {
        tx.run(
            stmt(
                "update low_stock_notices set mailed_at = $4 \
                 where store_id = $1 and product_id = $2 and day = $3 and mailed_at is null",
            )
            .bind(store.to_string())
            .bind(notice.product_id.to_string())
            .bind(notice.day.as_str())
            .bind(time::to_db(at)),
        )
        .await?;
    }
    Ok(())
}

/// Takes the store's low-stock turn at `at` if its last low-stock mail went out at or before
/// `last_by` (or never): false when another mail (of this node or another) is too recent.
pub async fn take_low_stock_turn(
    tx: &mut impl Sql,
    store: StoreId,
    at: DateTime<Utc>,
    last_by: DateTime<Utc>,
) -> StoreResult<bool> {
    let n = tx
        .run(
            stmt(
                "insert into mail_marks (key, at) values ($1, $2) on conflict (key) do update \
                 set at = excluded.at where mail_marks.at <= $3",
            )
            .bind(format!("low_stock:{store}"))
            .bind(time::to_db(at))
            .bind(time::to_db(last_by)),
        )
        .await?;
    Ok(n > 0)
}

/// Sets mark `key` at `at`; false when it was set before (by this node or another).
pub async fn set_mark(tx: &mut impl Sql, key: &str, at: DateTime<Utc>) -> StoreResult<bool> {
    let n = tx
        .run(
            stmt("insert into mail_marks (key, at) values ($1, $2) on conflict (key) do nothing")
                .bind(key)
                .bind(time::to_db(at)),
        )
        .await?;
    Ok(n > 0)
}

/// Which of `keys` are set.
pub async fn marks_set(db: &Db, keys: &[String]) -> StoreResult<Vec<String>> {
    if keys.is_empty() {
        return Ok(Vec::new());
    }
    let sql = format!(
        "select key from mail_marks where key in ({})",
        crate::platform::db::placeholders(1, keys.len())
    );
    let mut query = stmt(sql);
    for key in keys {
        query = query.bind(key.as_str());
    }
    let mut conn = db.read_conn().await?;
    conn.rows(query)
        .await?
        .iter()
        .map(|row| row.text("key"))
        .collect()
}

/// Which opt-out a notification respects.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Notification {
    LowStock,
    DailySummary,
}

impl Notification {
    fn column(self) -> &'static str {
        match self {
            Notification::LowStock => "notify_low_stock",
            Notification::DailySummary => "notify_daily_summary",
        }
    }
}

/// Someone a store's notification may go to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Recipient {
    pub user_id: String,
    pub email: String,
    pub role: String,
    /// Whether the user wants this notification (has not opted out).
    pub wants: bool,
}

/// The active managers of `store` and the active admins with an address, by id.
pub async fn recipients(
    tx: &mut impl Sql,
    store: StoreId,
    notification: Notification,
) -> StoreResult<Vec<Recipient>> {
    let sql = format!(
        "select u.id, u.email, u.role, u.{} as wants from users u \
         where u.active = 1 and u.email <> '' and (u.role = 'admin' or (u.role = 'manager' \
         and exists (select 1 from user_stores us where us.user_id = u.id and us.store_id = $1))) \
         order by u.id",
        notification.column()
    );
    tx.rows(stmt(sql).bind(store.to_string()))
        .await?
        .iter()
        .map(|row| {
            Ok(Recipient {
                user_id: row.text("id")?,
                email: row.text("email")?,
                role: row.text("role")?,
                wants: row.int("wants")? != 0,
            })
        })
        .collect()
}

/// Deletes mails sent or failed before `before` (at most `limit`); answers how many.
pub async fn purge(tx: &mut impl Sql, before: DateTime<Utc>, limit: usize) -> StoreResult<u64> {
    tx.run(
        stmt(
            "delete from mail_queue where id in (select id from mail_queue \
             where created_at < $1 and (sent_at is not null or failed_at is not null) \
             order by created_at limit $2)",
        )
        .bind(time::to_db(before))
        .bind(i64::try_from(limit).unwrap_or(i64::MAX)),
    )
    .await
}

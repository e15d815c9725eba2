//! Mail notifications (docs/ARCHITECTURE.md "Mail"): what is queued, when, and for whom. The
//! sending itself is the mail worker's (`ringup`'s `workers::mail`), which claims due rows of
//! the durable queue this module fills and records each attempt's result here.
//!
//! - Receipts are queued by a write of their own ([`queue_receipt`]): the request answers
//!   202 once the row is committed, whatever the SMTP server does.
//! - Low stock: [`notice_low_stock`] reads `stock.low` events from the stream by position
//!   (cursor `mail`) and keeps one notice per store, product and store-local day;
//!   [`queue_low_stock_mails`] turns a store's notices into one mail per recipient once the
//!   first of them has waited [`LOW_STOCK_GATHER`] and the store's last low-stock mail is
//!   [`LOW_STOCK_INTERVAL`] old.
//! - [`queue_daily_summaries`] queues each store's summary once its local time passes its
//!   `daily_summary_at`, once per local date.
//!
//! Recipients: the store's active managers who did not opt out; a store without any active
//! manager has its notifications go to the active admins (who may opt out too).
//! Every decision is a unique key or a conditional update in the database, so several nodes
//! running these passes at once queue each mail once.

use chrono::{DateTime, Utc};

use ringup_core::catalog::CurrencyCode;
use ringup_core::ids::{StoreId, UserId};
use ringup_core::mail::{
    DaySummary, LOW_STOCK_GATHER, LOW_STOCK_INTERVAL, LowStockLine, MailText, SummaryTime,
    local_day, low_stock_mail, retry_delay, summary_due, summary_mail,
};
use ringup_core::users::Role;
use ringup_store::catalog::stores::{self, StoreRow};
use ringup_store::events::{self, Selection, TypePattern};
use ringup_store::mail::{self as store, MailKind, NewMail, Notification, Recipient};
use ringup_store::{Db, StoreError};

use crate::authz::{Actor, ActorKind};
use crate::reports::{ReportQuery, SalesGroup, sales_report};
use crate::write::{Effects, Write, WriteError, WriteRequest, retrying};

pub use ringup_store::mail::{ClaimedMail, QueuedMail};

/// The `event_cursors` row of the low-stock reader.
pub const CURSOR: &str = "mail";
/// Events read per pass.
const EVENTS_PER_PASS: usize = 500;
/// Mails claimed at once at most.
pub const CLAIM_BATCH: usize = 20;
/// How long a claim holds a mail; a node that dies mid-send leaves it to another after this.
pub const LEASE: chrono::Duration = chrono::Duration::minutes(2);
/// Sent and failed mails are kept this long.
pub const RETENTION: chrono::Duration = chrono::Duration::days(30);
/// Best sellers listed in a daily summary.
const TOP_PRODUCTS: usize = 5;

/// Queues the receipt of sale `sale` (its number `number`, in `store`) to `to` in a write of
/// its own; the audit log records that it was asked for (not the address).
pub async fn queue_receipt(
    db: &Db,
    request: WriteRequest<'_>,
    store: StoreId,
    sale: &str,
    to: &str,
    subject: &str,
    body: &str,
) -> Result<(), WriteError> {
    let dedupe = format!("receipt:{}", ringup_core::ids::MailId::new());
    retrying("mail.receipt", false, || async {
        let crate::write::Begun::Fresh(mut write) = Write::begin(db, request).await? else {
            return Ok(());
        };
        let at = write.at();
        store::enqueue(
            write.tx(),
            &NewMail {
                kind: MailKind::Receipt,
                dedupe_key: &dedupe,
                recipient: to,
                subject,
                body,
            },
            at,
        )
        .await?;
        let audit = write
            .audit_event("sale.receipt_emailed", Some(store))
            .on("sale", sale);
        write.commit(Effects::new().audit(audit)).await
    })
    .await
}

/// Reads the `stock.low` events after the `mail` cursor and records a notice for each (one
/// per store, product and store-local day); answers how many events were read.
pub async fn notice_low_stock(db: &Db, at: DateTime<Utc>) -> Result<usize, StoreError> {
    let from = events::cursor(db, CURSOR).await?;
    let last = events::last_position(db).await?;
    let selection = Selection {
        types: vec![TypePattern::Exact("stock.low".into())],
        ..Selection::default()
    };
    let batch = events::after(db, from, &selection, EVENTS_PER_PASS).await?;
    // Positions are handed out in commit order, so every matching event up to `last` is in
    // `batch` unless the batch is full.
    let reached = if batch.len() < EVENTS_PER_PASS {
        batch.last().map_or(last, |e| e.position.max(last))
    } else {
        batch.last().map_or(from, |e| e.position)
    };
    if reached <= from {
        return Ok(0);
    }
    let mut zones: Vec<(String, Option<_>)> = Vec::new();
    let mut tx = db.begin_write().await?;
    for event in &batch {
        let Some(store_id) = event.store_id.as_deref() else {
            continue;
        };
        let Ok(data) = serde_json::from_str::<serde_json::Value>(&event.data) else {
            tracing::warn!(event = %event.id, "a stock.low event without readable data");
            continue;
        };
        let (Some(product), Some(available), Some(threshold)) = (
            data.get("product_id").and_then(|v| v.as_str()),
            data.get("available").and_then(serde_json::Value::as_i64),
            data.get("low_stock_threshold")
                .and_then(serde_json::Value::as_i64),
        ) else {
            tracing::warn!(event = %event.id, "a stock.low event without its product or level");
            continue;
        };
        let tz = match zones.iter().find(|(s, _)| s == store_id) {
            Some((_, tz)) => *tz,
            None => {
                let tz = match StoreId::parse(store_id) {
                    Ok(id) => stores::find_store(&mut tx, id)
                        .await?
                        .and_then(|s| s.time_zone().ok()),
                    Err(_) => None,
                };
                zones.push((store_id.to_owned(), tz));
                tz
            }
        };
        let Some(tz) = tz else { continue };
        let happened = ringup_store::platform::time::from_db(&event.created_at).unwrap_or(at);
        let day = local_day(happened, tz).to_string();
        store::note_low_stock(
            &mut tx, store_id, product, &day, available, threshold, happened,
        )
        .await?;
    }
    events::advance_cursor(&mut tx, CURSOR, reached, at).await?;
    tx.commit().await?;
    Ok(batch.len())
}

/// Whom a store's `notification` goes to: its managers who want it, or, when the store has no
/// active manager at all, the admins who want it.
fn addressees(all: Vec<Recipient>) -> Vec<Recipient> {
    let has_manager = all.iter().any(|r| r.role == Role::Manager.as_str());
    all.into_iter()
        .filter(|r| r.wants)
        .filter(|r| {
            if has_manager {
                r.role == Role::Manager.as_str()
            } else {
                r.role == Role::Admin.as_str()
            }
        })
        .collect()
}

/// Queues `text` to each of `to`, keyed `<key>:<user id>`; answers how many were new.
async fn queue_for(
    tx: &mut ringup_store::WriteTx,
    to: Vec<Recipient>,
    kind: MailKind,
    key: &str,
    text: &MailText,
    at: DateTime<Utc>,
) -> Result<usize, StoreError> {
    let mut queued = 0;
    for recipient in to {
        let dedupe = format!("{key}:{}", recipient.user_id);
        let mail = NewMail {
            kind,
            dedupe_key: &dedupe,
            recipient: &recipient.email,
            subject: &text.subject,
            body: &text.body,
        };
        if store::enqueue(tx, &mail, at).await? {
            queued += 1;
        }
    }
    Ok(queued)
}

/// Queues the low-stock mails that are due: for each store whose oldest waiting notice has
/// waited [`LOW_STOCK_GATHER`] and whose last such mail is [`LOW_STOCK_INTERVAL`] old, one
/// mail per recipient listing every waiting product. Answers how many mails were queued.
pub async fn queue_low_stock_mails(db: &Db, at: DateTime<Utc>) -> Result<usize, StoreError> {
    let mut queued = 0;
    for store_id in store::stores_with_notices(db, at - LOW_STOCK_GATHER).await? {
        let mut tx = db.begin_write().await?;
        if !store::take_low_stock_turn(&mut tx, store_id, at, at - LOW_STOCK_INTERVAL).await? {
            continue;
        }
        let Some(shop) = stores::find_store(&mut tx, store_id).await? else {
            continue;
        };
        let notices = store::pending_notices(&mut tx, store_id).await?;
        if notices.is_empty() {
            continue;
        }
        let lines: Vec<LowStockLine> = notices
            .iter()
            .map(|n| LowStockLine {
                sku: n.sku.clone(),
                name: n.name.clone(),
                available: n.available,
                threshold: n.threshold,
            })
            .collect();
        let text = low_stock_mail(&shop.code, &shop.name, &lines);
        let batch = ringup_store::platform::time::to_db(at);
        let key = format!("low_stock:{store_id}:{batch}");
        let to = store::recipients(&mut tx, store_id, Notification::LowStock).await?;
        queued += queue_for(&mut tx, addressees(to), MailKind::LowStock, &key, &text, at).await?;
        store::mark_notices_mailed(&mut tx, store_id, &notices, at).await?;
        tx.commit().await?;
    }
    Ok(queued)
}

/// An actor that reads every store's reports, for the summaries the server writes itself.
fn reporter() -> Actor {
    Actor {
        kind: ActorKind::User(UserId::new()),
        role: Role::Admin,
        store_ids: Vec::new(),
    }
}

/// The figures of `store`'s local day `day`, from the sales report (rollups).
async fn day_figures(
    db: &Db,
    store: &StoreRow,
    day: chrono::NaiveDate,
) -> Result<DaySummary, StoreError> {
    let query = ReportQuery {
        from: Some(day),
        to: Some(day),
        store_id: Some(store.id),
        ..ReportQuery::default()
    };
    let query = &query;
    let report = |group| async move {
        sales_report(db, &reporter(), query, group)
            .await
            .map_err(|e| match e {
                crate::reports::ReportError::Store(e) => e,
                other => StoreError::corrupt("daily summary", other.to_string()),
            })
    };
    // By day for the totals (a product row counts the sales it appears in, so product rows
    // do not add up to the day's sales); by product for the best sellers.
    let day_report = report(SalesGroup::Day).await?;
    let products = report(SalesGroup::Product).await?;
    Ok(DaySummary {
        figures: day_report.totals.figures,
        top_products: products
            .rows
            .iter()
            .take(TOP_PRODUCTS)
            .map(|r| {
                let label = r
                    .label
                    .clone()
                    .or_else(|| r.key.clone())
                    .unwrap_or_default();
                (label, r.figures.total)
            })
            .collect(),
    })
}

/// The daily summaries due at `at` and not queued yet: each with its mark, store and local
/// date. A store is due once its local time has passed its summary time.
async fn unqueued_summaries(
    db: &Db,
    at: DateTime<Utc>,
) -> Result<Vec<(String, StoreRow, chrono::NaiveDate)>, StoreError> {
    let mut due = Vec::new();
    for shop in stores::all_stores(db).await? {
        let (Ok(tz), Ok(time)) = (shop.time_zone(), SummaryTime::parse(&shop.daily_summary_at))
        else {
            continue;
        };
        if let Some(day) = summary_due(at, tz, time) {
            due.push((format!("summary:{}:{day}", shop.id), shop, day));
        }
    }
    let keys: Vec<String> = due.iter().map(|(k, _, _)| k.clone()).collect();
    let done = store::marks_set(db, &keys).await?;
    due.retain(|(key, _, _)| !done.contains(key));
    Ok(due)
}

/// How many stores' daily summaries are due at `at` and not queued yet (for operators and
/// tests: zero once the mail worker has caught up).
pub async fn summaries_due(db: &Db, at: DateTime<Utc>) -> Result<usize, StoreError> {
    Ok(unqueued_summaries(db, at).await?.len())
}

/// Queues the daily summary of every store whose local time has passed its summary time and
/// whose summary of that local date is not queued yet. Answers how many mails were queued.
pub async fn queue_daily_summaries(db: &Db, at: DateTime<Utc>) -> Result<usize, StoreError> {
    let due = unqueued_summaries(db, at).await?;
    let mut queued = 0;
    for (key, shop, day) in due {
        let figures = day_figures(db, &shop, day).await?;
        let decimals = CurrencyCode::parse(&shop.currency).map_or(2, |c| c.minor_units());
        let text = summary_mail(
            &shop.code,
            &shop.name,
            day,
            &shop.currency,
            decimals,
            &figures,
        );
        let mut tx = db.begin_write().await?;
        if !store::set_mark(&mut tx, &key, at).await? {
            continue;
        }
        let to = store::recipients(&mut tx, shop.id, Notification::DailySummary).await?;
        queued += queue_for(
            &mut tx,
            addressees(to),
            MailKind::DailySummary,
            &key,
            &text,
            at,
        )
        .await?;
        tx.commit().await?;
    }
    Ok(queued)
}

/// Claims up to `limit` due mails (at most [`CLAIM_BATCH`]) for this worker.
pub async fn claim(
    db: &Db,
    at: DateTime<Utc>,
    limit: usize,
) -> Result<Vec<ClaimedMail>, StoreError> {
    let limit = limit.min(CLAIM_BATCH);
    if limit == 0 || !store::any_due(db, at).await? {
        return Ok(Vec::new());
    }
    let mut tx = db.begin_write().await?;
    let claimed = store::claim_due(&mut tx, db.engine(), at, at + LEASE, limit).await?;
    if claimed.is_empty() {
        return Ok(claimed);
    }
    tx.commit().await?;
    Ok(claimed)
}

/// What became of an attempt.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Attempt {
    Sent,
    /// Failed; tried again at this time.
    Retry(DateTime<Utc>),
    /// Failed for the last allowed time.
    GaveUp,
}

/// Records the result of sending `mail` (`Err`: why it failed) at `at`.
pub async fn record(
    db: &Db,
    mail: &ClaimedMail,
    result: Result<(), String>,
    at: DateTime<Utc>,
) -> Result<Attempt, StoreError> {
    let mut tx = db.begin_write().await?;
    let attempt = match result {
        Ok(()) => {
            store::mark_sent(&mut tx, &mail.id, at).await?;
            Attempt::Sent
        }
        Err(error) => {
            let next = retry_delay(mail.attempts).map(|d| at + d);
            store::mark_attempt_failed(&mut tx, &mail.id, &error, at, next).await?;
            next.map_or(Attempt::GaveUp, Attempt::Retry)
        }
    };
    tx.commit().await?;
    Ok(attempt)
}

/// How many mails wait to be sent.
pub async fn pending(db: &Db) -> Result<i64, StoreError> {
    store::pending_count(db).await
}

/// Every queued mail, oldest first (for operators and tests).
pub async fn queued(db: &Db) -> Result<Vec<QueuedMail>, StoreError> {
    store::list(db).await
}

/// Deletes sent and failed mails older than [`RETENTION`]; answers how many.
pub async fn purge(db: &Db, at: DateTime<Utc>) -> Result<u64, StoreError> {
    let mut tx = db.begin_write().await?;
    let n = store::purge(&mut tx, at - RETENTION, 1000).await?;
    tx.commit().await?;
    Ok(n)
}

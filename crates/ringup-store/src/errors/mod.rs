//! Error groups and the mails that reported them (migration 0010).
//!
//! Invariants: one row per fingerprint; a flush adds occurrences with one upsert per group, so
//! counts only grow and `first_seen` / `last_seen` only widen, whatever order flushes arrive
//! in. A group is reported by at most one mail (`mail_id`), and each mail names the mail before
//! it (`previous_id`, unique), so of two writers that both decide to mail only one can insert
//! its mail: the hourly limit holds even with several nodes on one database.

use chrono::{DateTime, Utc};
use sqlx::AnyConnection;

use ringup_core::errors::ErrorGroup;
use ringup_core::ids::{ErrorGroupId, ErrorMailId};

use crate::platform::db::{Db, placeholders};
use crate::platform::error::StoreResult;
use crate::platform::page::{After, Page, page_of};
use crate::platform::time;

/// Occurrences of one fingerprint counted in memory since the last flush: the count, when
/// the first and the last of them happened, and the last one's status, message and request.
pub type NewOccurrences = ErrorGroup<DateTime<Utc>>;

#[derive(sqlx::FromRow)]
struct GroupRow {
    id: String,
    fingerprint: String,
    method: String,
    route: String,
    status: i64,
    kind: String,
    message: String,
    occurrences: i64,
    first_seen: String,
    last_seen: String,
    last_request_id: String,
}

impl From<GroupRow> for (String, ErrorGroup) {
    fn from(row: GroupRow) -> Self {
        (
            row.id,
            ErrorGroup {
                fingerprint: row.fingerprint,
                method: row.method,
                route: row.route,
                status: row.status,
                kind: row.kind,
                message: row.message,
                count: row.occurrences,
                first_seen: row.first_seen,
                last_seen: row.last_seen,
                last_request_id: row.last_request_id,
            },
        )
    }
}

/// Adds each group's occurrences to its row (creating it the first time). The last
/// occurrence's status, message and request id win; the counts add up.
pub async fn add_occurrences(
    conn: &mut AnyConnection,
    groups: &[NewOccurrences],
    at: DateTime<Utc>,
) -> StoreResult<()> {
    let now = time::to_db(at);
    for g in groups {
        sqlx::query(
            "insert into error_groups (id, fingerprint, method, route, status, kind, message, \
             occurrences, first_seen, last_seen, last_request_id, created_at, updated_at) \
             values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $12) \
             on conflict (fingerprint) do update set \
             occurrences = error_groups.occurrences + excluded.occurrences, \
             first_seen = case when excluded.first_seen < error_groups.first_seen \
                 then excluded.first_seen else error_groups.first_seen end, \
             last_seen = case when excluded.last_seen > error_groups.last_seen \
                 then excluded.last_seen else error_groups.last_seen end, \
             method = excluded.method, route = excluded.route, kind = excluded.kind, \
             status = case when excluded.last_seen >= error_groups.last_seen \
                 then excluded.status else error_groups.status end, \
             message = case when excluded.last_seen >= error_groups.last_seen \
                 then excluded.message else error_groups.message end, \
             last_request_id = case when excluded.last_seen >= error_groups.last_seen \
                 then excluded.last_request_id else error_groups.last_request_id end, \
             updated_at = excluded.updated_at",
        )
        .bind(ErrorGroupId::new().to_string())
        .bind(g.fingerprint.clone())
        .bind(g.method.clone())
        .bind(g.route.clone())
        .bind(g.status)
        .bind(g.kind.clone())
        .bind(g.message.clone())
        .bind(g.count)
        .bind(time::to_db(g.first_seen))
        .bind(time::to_db(g.last_seen))
        .bind(g.last_request_id.clone())
        .bind(now.clone())
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

/// Groups, the one seen last first (ties: the newer row first). The cursor is the last
/// group's row id; a group seen again while a client pages moves to the front, so it may be
/// listed twice or skipped by a client already past it.
pub async fn list(db: &Db, after: Option<&After>, limit: usize) -> StoreResult<Page<ErrorGroup>> {
    let limit_plus_one = i64::try_from(limit).unwrap_or(i64::MAX).saturating_add(1);
    let rows: Vec<GroupRow> = match after {
        None => {
            sqlx::query_as(
                "select id, fingerprint, method, route, status, kind, message, occurrences, \
                 first_seen, last_seen, last_request_id from error_groups \
                 order by last_seen desc, id desc limit $1",
            )
            .bind(limit_plus_one)
            .fetch_all(db.reader())
            .await?
        }
        Some(After(id)) => {
            sqlx::query_as(
                "select g.id, g.fingerprint, g.method, g.route, g.status, g.kind, g.message, \
                 g.occurrences, g.first_seen, g.last_seen, g.last_request_id \
                 from error_groups g join error_groups c on c.id = $1 \
                 where g.last_seen < c.last_seen or (g.last_seen = c.last_seen and g.id < c.id) \
                 order by g.last_seen desc, g.id desc limit $2",
            )
            .bind(id.clone())
            .bind(limit_plus_one)
            .fetch_all(db.reader())
            .await?
        }
    };
    let rows: Vec<(String, ErrorGroup)> = rows.into_iter().map(Into::into).collect();
    let page = page_of(rows, limit, |(id, _)| id.clone());
    Ok(Page {
        items: page.items.into_iter().map(|(_, group)| group).collect(),
        next_cursor: page.next_cursor,
    })
}

/// The last mail about errors: its id and when it was sent.
#[derive(Clone, Debug, PartialEq, Eq, sqlx::FromRow)]
pub struct LastMail {
    pub id: String,
    pub sent_at: String,
}

pub async fn last_mail(conn: &mut AnyConnection) -> StoreResult<Option<LastMail>> {
    Ok(
        sqlx::query_as(
            "select id, sent_at from error_mails order by sent_at desc, id desc limit 1",
        )
        .fetch_optional(&mut *conn)
        .await?,
    )
}

/// Up to `limit` groups no mail has reported yet, the one first seen earliest first.
pub async fn unmailed(conn: &mut AnyConnection, limit: usize) -> StoreResult<Vec<ErrorGroup>> {
    let rows: Vec<GroupRow> = sqlx::query_as(
        "select id, fingerprint, method, route, status, kind, message, occurrences, \
         first_seen, last_seen, last_request_id from error_groups \
         where mail_id is null order by first_seen, id limit $1",
    )
    .bind(i64::try_from(limit).unwrap_or(i64::MAX))
    .fetch_all(&mut *conn)
    .await?;
    Ok(rows
        .into_iter()
        .map(|row| <(String, ErrorGroup)>::from(row).1)
        .collect())
}

/// A mail about to be sent.
#[derive(Clone, Debug)]
pub struct NewMail<'a> {
    pub id: ErrorMailId,
    /// The mail before it (`""` for the first).
    pub previous_id: &'a str,
    pub at: DateTime<Utc>,
    pub fingerprints: &'a [String],
    pub recipients: i64,
}

/// Records a mail and marks its fingerprints as reported by it. `false` (and nothing written)
/// when another writer recorded a mail after the same previous one first.
pub async fn record_mail(conn: &mut AnyConnection, mail: &NewMail<'_>) -> StoreResult<bool> {
    if mail.fingerprints.is_empty() {
        return Ok(false);
    }
    let at = time::to_db(mail.at);
    let inserted = sqlx::query(
        "insert into error_mails (id, previous_id, sent_at, fingerprints, recipients, \
         created_at, updated_at) values ($1, $2, $3, $4, $5, $3, $3) \
         on conflict (previous_id) do nothing",
    )
    .bind(mail.id.to_string())
    .bind(mail.previous_id.to_owned())
    .bind(at.clone())
    .bind(i64::try_from(mail.fingerprints.len()).unwrap_or(i64::MAX))
    .bind(mail.recipients)
    .execute(&mut *conn)
    .await?
    .rows_affected();
    if inserted == 0 {
        return Ok(false);
    }
    let sql = sqlx::AssertSqlSafe(format!(
        "update error_groups set mail_id = $1, updated_at = $2 \
         where mail_id is null and fingerprint in ({})",
        placeholders(3, mail.fingerprints.len())
    ));
    let mut query = sqlx::query(sql).bind(mail.id.to_string()).bind(at);
    for fingerprint in mail.fingerprints {
        query = query.bind(fingerprint.clone());
    }
    query.execute(&mut *conn).await?;
    Ok(true)
}

/// Forgets a mail that could not be delivered to anyone, so its fingerprints are reported by
/// the next one.
pub async fn cancel_mail(
    conn: &mut AnyConnection,
    id: ErrorMailId,
    at: DateTime<Utc>,
) -> StoreResult<()> {
    sqlx::query("update error_groups set mail_id = null, updated_at = $2 where mail_id = $1")
        .bind(id.to_string())
        .bind(time::to_db(at))
        .execute(&mut *conn)
        .await?;
    sqlx::query("delete from error_mails where id = $1")
        .bind(id.to_string())
        .execute(&mut *conn)
        .await?;
    Ok(())
}

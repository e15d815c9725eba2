//! Webhook endpoints (this file) and their delivery attempts ([`deliveries`]).
//!
//! An endpoint's event patterns and store ids are kept as JSON arrays of text: they are only
//! ever read whole, by the relay's fan-out and by the API. Its secret is kept as issued
//! (`whsec_…`): ringup must sign with it, so it cannot be hashed.

pub mod claims;
pub mod deliveries;

use chrono::{DateTime, Utc};

use crate::platform::error::{StoreError, StoreResult};
use crate::platform::page::{After, Page, page_of};
use crate::platform::sql::{Row, Sql, stmt};
use crate::platform::time;

/// An endpoint as stored.
#[derive(Clone, PartialEq, Eq)]
pub struct WebhookRow {
    pub id: String,
    pub url: String,
    pub events: Vec<String>,
    pub store_ids: Vec<String>,
    pub description: String,
    pub enabled: bool,
    pub secret: String,
    pub previous_secret: Option<String>,
    pub previous_secret_until: Option<String>,
    pub consecutive_failures: i64,
    /// `closed` or `open`.
    pub circuit: String,
    pub next_probe_at: Option<String>,
    pub created_at: String,
    pub updated_at: String,
}

/// The secrets stay out of logs: `Debug` shows every other field.
impl std::fmt::Debug for WebhookRow {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebhookRow")
            .field("id", &self.id)
            .field("url", &self.url)
            .field("events", &self.events)
            .field("store_ids", &self.store_ids)
            .field("enabled", &self.enabled)
            .field("circuit", &self.circuit)
            .finish_non_exhaustive()
    }
}

pub(crate) fn json_list(row: &Row, column: &str) -> StoreResult<Vec<String>> {
    serde_json::from_str(&row.text(column)?).map_err(|e| StoreError::corrupt("webhooks", e))
}

fn to_json(list: &[String]) -> String {
    serde_json::to_string(list).unwrap_or_else(|_| "[]".to_owned())
}

impl WebhookRow {
    fn from_row(row: &Row) -> StoreResult<WebhookRow> {
        Ok(WebhookRow {
            id: row.text("id")?,
            url: row.text("url")?,
            events: json_list(row, "events")?,
            store_ids: json_list(row, "store_ids")?,
            description: row.text("description")?,
            enabled: row.int("enabled")? != 0,
            secret: row.text("secret")?,
            previous_secret: row.opt_text("previous_secret")?,
            previous_secret_until: row.opt_text("previous_secret_until")?,
            consecutive_failures: row.int("consecutive_failures")?,
            circuit: row.text("circuit")?,
            next_probe_at: row.opt_text("next_probe_at")?,
            created_at: row.text("created_at")?,
            updated_at: row.text("updated_at")?,
        })
    }

    /// The circuit is open (the endpoint is `failing`).
    pub fn is_failing(&self) -> bool {
        self.circuit == "open"
    }
}

const COLUMNS: &str = "id, url, events, store_ids, description, enabled, secret, \
    previous_secret, previous_secret_until, consecutive_failures, circuit, next_probe_at, \
    created_at, updated_at";

/// What an endpoint is made of, as created or changed.
pub struct WebhookFields<'a> {
    pub url: &'a str,
    pub events: &'a [String],
    pub store_ids: &'a [String],
    pub description: &'a str,
    pub enabled: bool,
}

pub async fn insert(
    tx: &mut impl Sql,
    id: &str,
    fields: &WebhookFields<'_>,
    secret: &str,
    at: DateTime<Utc>,
) -> StoreResult<()> {
    tx.run(
        stmt(
            "insert into webhooks (id, url, events, store_ids, description, enabled, secret, \
             consecutive_failures, circuit, created_at, updated_at) \
             values ($1, $2, $3, $4, $5, $6, $7, 0, 'closed', $8, $8)",
        )
        .bind(id)
        .bind(fields.url)
        .bind(to_json(fields.events))
        .bind(to_json(fields.store_ids))
        .bind(fields.description)
        .bind(i64::from(fields.enabled))
        .bind(secret)
        .bind(time::to_db(at)),
    )
    .await?;
    Ok(())
}

pub async fn find(conn: &mut impl Sql, id: &str) -> StoreResult<Option<WebhookRow>> {
    conn.optional_row(stmt(format!("select {COLUMNS} from webhooks where id = $1")).bind(id))
        .await?
        .as_ref()
        .map(WebhookRow::from_row)
        .transpose()
}

/// A page of endpoints, oldest first.
pub async fn list(
    conn: &mut impl Sql,
    after: Option<&After>,
    limit: usize,
) -> StoreResult<Page<WebhookRow>> {
    let rows = conn
        .rows(
            stmt(format!(
                "select {COLUMNS} from webhooks where id > $1 order by id limit $2"
            ))
            .bind(after.map(|a| a.0.clone()).unwrap_or_default())
            .bind(i64::try_from(limit).unwrap_or(i64::MAX).saturating_add(1)),
        )
        .await?;
    let rows: Vec<WebhookRow> = rows
        .iter()
        .map(WebhookRow::from_row)
        .collect::<StoreResult<_>>()?;
    Ok(page_of(rows, limit, |w| w.id.clone()))
}

/// Every enabled endpoint: the relay's fan-out reads them once per batch.
pub async fn enabled(tx: &mut impl Sql) -> StoreResult<Vec<WebhookRow>> {
    tx.rows(stmt(format!(
        "select {COLUMNS} from webhooks where enabled = 1 order by id"
    )))
    .await?
    .iter()
    .map(WebhookRow::from_row)
    .collect()
}

/// Replaces an endpoint's fields; false when it does not exist. Its circuit is left as it
/// is: only a successful attempt closes it.
pub async fn update(
    tx: &mut impl Sql,
    id: &str,
    fields: &WebhookFields<'_>,
    at: DateTime<Utc>,
) -> StoreResult<bool> {
    let changed = tx
        .run(
            stmt(
                "update webhooks set url = $2, events = $3, store_ids = $4, description = $5, \
                 enabled = $6, updated_at = $7 where id = $1",
            )
            .bind(id)
            .bind(fields.url)
            .bind(to_json(fields.events))
            .bind(to_json(fields.store_ids))
            .bind(fields.description)
            .bind(i64::from(fields.enabled))
            .bind(time::to_db(at)),
        )
        .await?;
    Ok(changed == 1)
}

/// Deletes an endpoint and (cascade) its delivery log; false when it did not exist.
pub async fn delete(tx: &mut impl Sql, id: &str) -> StoreResult<bool> {
    // Explicitly, as well as by the cascade: SQLite enforces it only with foreign keys on.
    tx.run(stmt("delete from webhook_deliveries where webhook_id = $1").bind(id))
        .await?;
    Ok(tx
        .run(stmt("delete from webhooks where id = $1").bind(id))
        .await?
        == 1)
}

/// Makes `secret` the endpoint's secret; the one it replaces keeps signing until `until`.
pub async fn rotate(
    tx: &mut impl Sql,
    id: &str,
    secret: &str,
    until: DateTime<Utc>,
    at: DateTime<Utc>,
) -> StoreResult<bool> {
    let changed = tx
        .run(
            stmt(
                "update webhooks set previous_secret = secret, previous_secret_until = $3, \
                 secret = $2, updated_at = $4 where id = $1",
            )
            .bind(id)
            .bind(secret)
            .bind(time::to_db(until))
            .bind(time::to_db(at)),
        )
        .await?;
    Ok(changed == 1)
}

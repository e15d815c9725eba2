//! How endpoints and delivery attempts show to clients.

use serde::Serialize;
use utoipa::ToSchema;

use ringup_app::webhooks::Issued;
use ringup_app::write::{Shown, ViewError};
use ringup_store::webhooks::WebhookRow;
use ringup_store::webhooks::deliveries::DeliveryRow;

/// An endpoint.
#[derive(Serialize, ToSchema)]
pub struct WebhookView {
    pub id: String,
    pub url: String,
    /// Event types or patterns it receives.
    pub events: Vec<String>,
    /// The stores whose events it receives; empty: every store and the events of no store.
    pub store_ids: Vec<String>,
    pub description: String,
    pub enabled: bool,
    /// `enabled`, `disabled`, or `failing` (the circuit is open: one probe a minute until one
    /// succeeds).
    pub state: String,
    /// Failed attempts in a row (10 open the circuit).
    pub consecutive_failures: i64,
    pub created_at: String,
    pub updated_at: String,
    /// `whsec_…`: only in the answers that create the endpoint and rotate its secret.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub secret: Option<String>,
}

impl From<&WebhookRow> for WebhookView {
    fn from(row: &WebhookRow) -> Self {
        let state = if !row.enabled {
            "disabled"
        } else if row.is_failing() {
            "failing"
        } else {
            "enabled"
        };
        WebhookView {
            id: row.id.clone(),
            url: row.url.clone(),
            events: row.events.clone(),
            store_ids: row.store_ids.clone(),
            description: row.description.clone(),
            enabled: row.enabled,
            state: state.to_owned(),
            consecutive_failures: row.consecutive_failures,
            created_at: row.created_at.clone(),
            updated_at: row.updated_at.clone(),
            secret: None,
        }
    }
}

/// The answer that creates an endpoint or rotates its secret: the one time the secret shows.
pub fn issued_view(issued: &Issued) -> Result<Shown, ViewError> {
    let mut view = WebhookView::from(&issued.row);
    view.secret = Some(issued.secret.clone());
    Shown::json(&view)
}

pub fn row_view(row: &WebhookRow) -> Result<Shown, ViewError> {
    Shown::json(&WebhookView::from(row))
}

/// One delivery attempt.
#[derive(Serialize, ToSchema)]
pub struct DeliveryView {
    pub id: String,
    /// The event's id: the `webhook-id` header, the same on every attempt.
    pub event_id: String,
    pub event_type: String,
    /// 1 for the first attempt of an event, then 2, 3, …
    pub attempt: i64,
    /// `pending`, `succeeded`, `failed` (retried by a later attempt) or `dead` (given up).
    pub status: String,
    /// The endpoint's HTTP status; null when there was no answer (or not yet).
    pub response_status: Option<i64>,
    pub latency_ms: Option<i64>,
    /// Why the attempt failed without an answer (timeout, connection refused, …) or with one
    /// (a redirect, a non-2xx status).
    pub error: Option<String>,
    pub created_at: String,
    /// When a pending attempt is due.
    pub next_attempt_at: String,
}

impl From<DeliveryRow> for DeliveryView {
    fn from(row: DeliveryRow) -> Self {
        DeliveryView {
            id: row.id,
            event_id: row.event_id,
            event_type: row.event_type,
            attempt: row.attempt,
            status: row.status,
            response_status: row.response_status,
            latency_ms: row.latency_ms,
            error: row.error,
            created_at: row.created_at,
            next_attempt_at: row.next_attempt_at,
        }
    }
}

/// A queued delivery.
#[derive(Serialize, ToSchema)]
pub struct Accepted {
    pub event_id: String,
}

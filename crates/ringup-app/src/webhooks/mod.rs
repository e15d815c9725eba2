//! Webhook endpoints (admin only): create, change, delete, rotate the secret, send a test
//! event, redeliver an event, and read them and their delivery log. The delivery itself is
//! the worker's (`crates/ringup/src/workers/webhooks.rs`); what it is sent comes from
//! [`fan_out`], which the event relay calls inside its transaction.
//!
//! A secret is shown twice in its life: in the answer that creates the endpoint and in the
//! one that rotates it. Neither answer is kept for an idempotent replay, so neither operation
//! takes an idempotency key, and no audit event carries it.

pub mod delivery;
mod fan_out;

pub use fan_out::{Filter, fan_out, lane_of};

use std::net::IpAddr;
use std::time::Duration;

use ringup_core::events::Pattern;
use ringup_core::ids::{StoreId, WebhookDeliveryId, WebhookId};
use ringup_core::webhooks::address::{UrlError, is_public, parse_url};
use ringup_core::webhooks::{Secret, TEST_EVENT_TYPE, rotation_overlap};
use ringup_store::Db;
use ringup_store::catalog::stores;
use ringup_store::platform::page::{After, Page};
use ringup_store::webhooks::deliveries::{self, DeliveryRow, NewDelivery};
use ringup_store::webhooks::{self as store, WebhookFields, WebhookRow};
use ringup_store::{StoreError, platform::time};

use crate::authz::Actor;
use crate::problem::FieldError;
use crate::write::{Effects, Shown, View, Write, WriteError, WriteRequest, Written, retrying};

/// Why a webhook operation was refused.
#[derive(Debug, thiserror::Error)]
pub enum WebhooksError {
    #[error("the request breaks {} rule(s)", .0.len())]
    Invalid(Vec<FieldError>),
    /// Only admins manage webhooks.
    #[error("not allowed")]
    Forbidden,
    #[error("not found")]
    NotFound,
    #[error(transparent)]
    Write(#[from] WriteError),
}

impl From<StoreError> for WebhooksError {
    fn from(err: StoreError) -> Self {
        WebhooksError::Write(WriteError::Store(err))
    }
}

fn require_admin(actor: &Actor) -> Result<(), WebhooksError> {
    if actor.is_admin() {
        Ok(())
    } else {
        Err(WebhooksError::Forbidden)
    }
}

/// An endpoint's fields, each checked by the caller (the URL with [`check_url`]).
#[derive(Clone, Debug)]
pub struct Spec {
    pub url: String,
    pub events: Vec<Pattern>,
    pub store_ids: Vec<StoreId>,
    pub description: String,
    pub enabled: bool,
}

impl Spec {
    fn fields<'a>(&'a self, events: &'a [String], stores: &'a [String]) -> WebhookFields<'a> {
        WebhookFields {
            url: &self.url,
            events,
            store_ids: stores,
            description: &self.description,
            enabled: self.enabled,
        }
    }

    fn texts(&self) -> (Vec<String>, Vec<String>) {
        (
            self.events.iter().map(ToString::to_string).collect(),
            self.store_ids.iter().map(ToString::to_string).collect(),
        )
    }

    /// What the audit log keeps of it (everything but the secret, which is not in it).
    fn audited(&self) -> serde_json::Value {
        let (events, stores) = self.texts();
        serde_json::json!({
            "url": self.url, "events": events, "store_ids": stores,
            "description": self.description, "enabled": self.enabled,
        })
    }
}

/// The change a PATCH asks for: absent fields stay as they are.
#[derive(Clone, Debug, Default)]
pub struct Patch {
    pub url: Option<String>,
    pub events: Option<Vec<Pattern>>,
    pub store_ids: Option<Vec<StoreId>>,
    pub description: Option<String>,
    pub enabled: Option<bool>,
}

/// How long resolving an endpoint's host name may take when it is saved.
const RESOLVE_TIMEOUT: Duration = Duration::from_secs(5);

/// Checks an endpoint URL: its shape, and, unless `allow_private`, that its address (literal
/// or every address its name resolves to now) is public. Answers the URL as given (trimmed).
pub async fn check_url(text: &str, allow_private: bool) -> Result<String, FieldError> {
    let parsed =
        parse_url(text, allow_private).map_err(|e| FieldError::new("url", e.to_string()))?;
    if allow_private {
        return Ok(text.trim().to_owned());
    }
    if let Some(domain) = parsed.domain() {
        let lookup = tokio::net::lookup_host((domain.to_owned(), parsed.port()));
        let addresses: Vec<IpAddr> = match tokio::time::timeout(RESOLVE_TIMEOUT, lookup).await {
            Ok(Ok(found)) => found.map(|a| a.ip()).collect(),
            _ => return Err(FieldError::new("url", "names a host that does not resolve")),
        };
        if addresses.is_empty() {
            return Err(FieldError::new("url", "names a host that does not resolve"));
        }
        if addresses.iter().any(|ip| !is_public(*ip)) {
            return Err(FieldError::new("url", UrlError::Private.to_string()));
        }
    }
    Ok(text.trim().to_owned())
}

/// A created endpoint or a rotated secret: the row and the secret, which exists nowhere else
/// in the answer's life (no `Debug`).
pub struct Issued {
    pub row: WebhookRow,
    pub secret: String,
}

async fn unknown_stores(
    tx: &mut ringup_store::WriteTx,
    ids: &[StoreId],
) -> Result<(), WebhooksError> {
    if stores::missing_stores(tx, ids).await?.is_empty() {
        Ok(())
    } else {
        Err(WebhooksError::Invalid(vec![FieldError::new(
            "store_ids",
            "names a store that does not exist",
        )]))
    }
}

/// Creates an endpoint with a new secret; answers 201 with it.
pub async fn create(
    db: &Db,
    request: WriteRequest<'_>,
    spec: Spec,
    view: View<Issued>,
) -> Result<Written<Issued>, WebhooksError> {
    require_admin(request.actor)?;
    retrying("webhook.create", false, || {
        create_once(db, request, &spec, view)
    })
    .await
}

async fn create_once(
    db: &Db,
    request: WriteRequest<'_>,
    spec: &Spec,
    view: View<Issued>,
) -> Result<Written<Issued>, WebhooksError> {
    let mut write = crate::write::begin_or_replay!(db, request);
    unknown_stores(write.tx(), &spec.store_ids).await?;
    let id = WebhookId::new().to_string();
    let secret = Secret::generate();
    let (events, stores) = spec.texts();
    let at = write.at();
    store::insert(
        write.tx(),
        &id,
        &spec.fields(&events, &stores),
        secret.expose(),
        at,
    )
    .await?;
    let row = store::find(write.tx(), &id)
        .await?
        .ok_or(WebhooksError::NotFound)?;
    let audit = write
        .audit_event("webhook.created", None)
        .on("webhook", &id)
        .with(spec.audited());
    let issued = Issued {
        row,
        secret: secret.expose().to_owned(),
    };
    let shown = view(&issued).map_err(WriteError::View)?;
    Ok(write
        .finish(issued, Effects::new().audit(audit), 201, shown)
        .await?)
}

/// Changes an endpoint; answers 200 with it.
pub async fn update(
    db: &Db,
    request: WriteRequest<'_>,
    id: WebhookId,
    patch: Patch,
    view: View<WebhookRow>,
) -> Result<Written<WebhookRow>, WebhooksError> {
    require_admin(request.actor)?;
    retrying("webhook.update", request.is_keyed(), || {
        update_once(db, request, id, &patch, view)
    })
    .await
}

async fn update_once(
    db: &Db,
    request: WriteRequest<'_>,
    id: WebhookId,
    patch: &Patch,
    view: View<WebhookRow>,
) -> Result<Written<WebhookRow>, WebhooksError> {
    let mut write = crate::write::begin_or_replay!(db, request);
    let id = id.to_string();
    let current = store::find(write.tx(), &id)
        .await?
        .ok_or(WebhooksError::NotFound)?;
    let spec = Spec {
        url: patch.url.clone().unwrap_or(current.url),
        events: match &patch.events {
            Some(events) => events.clone(),
            None => current
                .events
                .iter()
                .filter_map(|p| Pattern::parse(p).ok())
                .collect(),
        },
        store_ids: match &patch.store_ids {
            Some(ids) => ids.clone(),
            None => current
                .store_ids
                .iter()
                .filter_map(|s| StoreId::parse(s).ok())
                .collect(),
        },
        description: patch.description.clone().unwrap_or(current.description),
        enabled: patch.enabled.unwrap_or(current.enabled),
    };
    if patch.store_ids.is_some() {
        unknown_stores(write.tx(), &spec.store_ids).await?;
    }
    let (events, stores) = spec.texts();
    let at = write.at();
    if !store::update(write.tx(), &id, &spec.fields(&events, &stores), at).await? {
        return Err(WebhooksError::NotFound);
    }
    let row = store::find(write.tx(), &id)
        .await?
        .ok_or(WebhooksError::NotFound)?;
    let audit = write
        .audit_event("webhook.updated", None)
        .on("webhook", &id)
        .with(spec.audited());
    let shown = view(&row).map_err(WriteError::View)?;
    Ok(write
        .finish(row, Effects::new().audit(audit), 200, shown)
        .await?)
}

/// Deletes an endpoint and its delivery log; pending attempts are never sent.
pub async fn delete(
    db: &Db,
    request: WriteRequest<'_>,
    id: WebhookId,
) -> Result<Written<WebhookId>, WebhooksError> {
    require_admin(request.actor)?;
    retrying("webhook.delete", request.is_keyed(), || async move {
        let mut write = crate::write::begin_or_replay!(db, request);
        if !store::delete(write.tx(), &id.to_string()).await? {
            return Err(WebhooksError::NotFound);
        }
        let audit = write.audit_event("webhook.deleted", None).on("webhook", id);
        Ok(write
            .finish(id, Effects::new().audit(audit), 204, Shown::nothing())
            .await?)
    })
    .await
}

/// Gives an endpoint a new secret; the old one keeps signing beside it for 24 h.
pub async fn rotate_secret(
    db: &Db,
    request: WriteRequest<'_>,
    id: WebhookId,
    view: View<Issued>,
) -> Result<Written<Issued>, WebhooksError> {
    require_admin(request.actor)?;
    retrying("webhook.rotate_secret", false, || async move {
        let mut write = crate::write::begin_or_replay!(db, request);
        let id_text = id.to_string();
        let secret = Secret::generate();
        let at = write.at();
        let until = at + rotation_overlap();
        if !store::rotate(write.tx(), &id_text, secret.expose(), until, at).await? {
            return Err(WebhooksError::NotFound);
        }
        let row = store::find(write.tx(), &id_text)
            .await?
            .ok_or(WebhooksError::NotFound)?;
        let audit = write
            .audit_event("webhook.secret_rotated", None)
            .on("webhook", id)
            .with(serde_json::json!({ "previous_secret_until": time::to_db(until) }));
        let issued = Issued {
            row,
            secret: secret.expose().to_owned(),
        };
        let shown = view(&issued).map_err(WriteError::View)?;
        Ok(write
            .finish(issued, Effects::new().audit(audit), 200, shown)
            .await?)
    })
    .await
}

/// Queues a `webhook.test` event for the endpoint, whatever its filter, in a lane of its
/// own; answers the event's id.
pub async fn send_test(
    db: &Db,
    request: WriteRequest<'_>,
    id: WebhookId,
) -> Result<String, WebhooksError> {
    require_admin(request.actor)?;
    let mut write = match Write::begin(db, request).await? {
        crate::write::Begun::Fresh(write) => write,
        crate::write::Begun::Replayed(_) => return Err(WebhooksError::NotFound),
    };
    let id_text = id.to_string();
    if store::find(write.tx(), &id_text).await?.is_none() {
        return Err(WebhooksError::NotFound);
    }
    let at = write.at();
    let event_id = ringup_core::ids::OutboxEventId::new().to_string();
    let data = serde_json::json!({ "webhook_id": id_text }).to_string();
    let body =
        ringup_core::events::envelope(&event_id, TEST_EVENT_TYPE, &time::to_db(at), None, &data);
    let delivery = WebhookDeliveryId::new().to_string();
    deliveries::insert_first(
        write.tx(),
        &[NewDelivery {
            lane: deliveries::test_lane(&delivery),
            id: delivery,
            webhook_id: id_text,
            event_id: event_id.clone(),
            event_type: TEST_EVENT_TYPE.to_owned(),
            position: 0,
            body: Some(body),
        }],
        at,
    )
    .await?;
    write.commit(Effects::new()).await?;
    Ok(event_id)
}

/// Queues a new attempt of an event the endpoint was sent before (same id, same body, signed
/// anew), in a lane of its own, with a fresh retry schedule.
pub async fn redeliver(
    db: &Db,
    request: WriteRequest<'_>,
    id: WebhookId,
    event_id: &str,
) -> Result<(), WebhooksError> {
    require_admin(request.actor)?;
    let mut write = match Write::begin(db, request).await? {
        crate::write::Begun::Fresh(write) => write,
        crate::write::Begun::Replayed(_) => return Err(WebhooksError::NotFound),
    };
    let id_text = id.to_string();
    if store::find(write.tx(), &id_text).await?.is_none() {
        return Err(WebhooksError::NotFound);
    }
    let at = write.at();
    let delivery = WebhookDeliveryId::new().to_string();
    if !deliveries::redeliver(write.tx(), &id_text, event_id, &delivery, at).await? {
        return Err(WebhooksError::Invalid(vec![FieldError::new(
            "event_id",
            "is not an event this endpoint was sent",
        )]));
    }
    write.commit(Effects::new()).await?;
    Ok(())
}

/// One endpoint.
pub async fn get(db: &Db, actor: &Actor, id: WebhookId) -> Result<WebhookRow, WebhooksError> {
    require_admin(actor)?;
    let mut conn = db.read_conn().await?;
    store::find(&mut conn, &id.to_string())
        .await?
        .ok_or(WebhooksError::NotFound)
}

/// A page of endpoints, oldest first.
pub async fn list(
    db: &Db,
    actor: &Actor,
    after: Option<&After>,
    limit: usize,
) -> Result<Page<WebhookRow>, WebhooksError> {
    require_admin(actor)?;
    let mut conn = db.read_conn().await?;
    Ok(store::list(&mut conn, after, limit).await?)
}

/// A page of an endpoint's delivery attempts, newest first.
pub async fn deliveries(
    db: &Db,
    actor: &Actor,
    id: WebhookId,
    after: Option<&After>,
    limit: usize,
) -> Result<Page<DeliveryRow>, WebhooksError> {
    require_admin(actor)?;
    let mut conn = db.read_conn().await?;
    let id = id.to_string();
    if store::find(&mut conn, &id).await?.is_none() {
        return Err(WebhooksError::NotFound);
    }
    Ok(deliveries::list(&mut conn, &id, after, limit).await?)
}

//! `/api/v1/webhooks` (admin): endpoints that receive the events, signed the Standard
//! Webhooks way, with their delivery log, a test event and manual redelivery. The secret is
//! in two answers only — the one that creates the endpoint and the one that rotates it — and
//! both are marked `no-store`.

mod views;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use ringup_app::webhooks::{self as app, Patch, Spec, WebhooksError, check_url};
use ringup_core::events::Pattern;
use ringup_core::ids::WebhookId;

use crate::auth::principal::Principal;
use crate::http::context::RequestMeta;
use crate::http::error::{ApiError, FieldError};
use crate::http::idempotency::{self, HashedJson, IdempotencyKey};
use crate::http::json::{ApiJson, no_store};
use crate::http::pagination::{ListQuery, PageView};
use crate::http::query::ApiQuery;
use crate::http::validation::optional_text;
use crate::state::AppState;

pub use views::{Accepted, DeliveryView, WebhookView};
use views::{issued_view, row_view};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_webhooks, create_webhook))
        .routes(routes!(get_webhook, update_webhook, delete_webhook))
        .routes(routes!(rotate_secret))
        .routes(routes!(test_webhook))
        .routes(routes!(list_deliveries))
        .routes(routes!(redeliver))
}

impl From<WebhooksError> for ApiError {
    fn from(err: WebhooksError) -> Self {
        match err {
            WebhooksError::Invalid(errors) => ApiError::Validation(errors),
            WebhooksError::Forbidden => ApiError::Forbidden,
            WebhooksError::NotFound => ApiError::NotFound,
            WebhooksError::Write(err) => err.into(),
        }
    }
}

/// Only admins reach the webhook routes; checked before the body, so nobody else learns
/// which fields are wrong.
fn require_admin(principal: &Principal) -> Result<(), ApiError> {
    if principal.is_admin() {
        Ok(())
    } else {
        Err(ApiError::Forbidden)
    }
}

/// Most patterns an endpoint may list.
const MAX_PATTERNS: usize = 50;
/// Most stores an endpoint may list.
const MAX_STORES: usize = 500;
/// Longest description.
const MAX_DESCRIPTION: usize = 2000;

fn parse_patterns(raw: &[String], errors: &mut Vec<FieldError>) -> Vec<Pattern> {
    if raw.is_empty() {
        errors.push(FieldError::new(
            "events",
            "must name at least one event type or pattern (`*` for every type)",
        ));
    }
    if raw.len() > MAX_PATTERNS {
        errors.push(FieldError::new("events", "must name at most 50 patterns"));
        return Vec::new();
    }
    let mut patterns = Vec::new();
    for (i, text) in raw.iter().enumerate() {
        match Pattern::parse(text) {
            Ok(p) if !patterns.contains(&p) => patterns.push(p),
            Ok(_) => {}
            Err(e) => errors.push(FieldError::new(format!("events[{i}]"), e.to_string())),
        }
    }
    patterns
}

fn parse_stores(raw: &[String], errors: &mut Vec<FieldError>) -> Vec<ringup_core::ids::StoreId> {
    if raw.len() > MAX_STORES {
        errors.push(FieldError::new("store_ids", "must name at most 500 stores"));
        return Vec::new();
    }
    crate::users::parse_store_ids_for(raw, errors)
}

async fn parse_url(state: &AppState, raw: &str, errors: &mut Vec<FieldError>) -> String {
    match check_url(raw, state.webhooks.allow_private).await {
        Ok(url) => url,
        Err(e) => {
            errors.push(e);
            String::new()
        }
    }
}

fn parse_id(id: &str) -> Result<WebhookId, ApiError> {
    WebhookId::parse(id).map_err(|_| ApiError::NotFound)
}

/// A new endpoint.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewWebhook {
    /// `https://…` or `http://…`; a private, loopback or link-local address only with
    /// `RINGUP_WEBHOOKS_ALLOW_PRIVATE=true`.
    pub url: String,
    /// Event types or patterns: `sale.completed`, `sale.*`, `*`.
    pub events: Vec<String>,
    /// Only these stores' events; empty: every store and the events of no store.
    #[serde(default)]
    pub store_ids: Vec<String>,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default = "enabled_by_default")]
    pub enabled: bool,
}

fn enabled_by_default() -> bool {
    true
}

/// Create an endpoint; the answer holds its signing secret, shown only this once.
#[utoipa::path(post, path = "/api/v1/webhooks", tag = "webhooks", request_body = NewWebhook,
    security(("bearer" = [])),
    responses((status = 201, description = "Created; `secret` is shown only now", body = WebhookView),
        (status = 401), (status = 403),
        (status = 422, description = "A bad or private `url`, a bad pattern, an unknown store, …")))]
pub async fn create_webhook(
    State(state): State<AppState>,
    principal: Principal,
    meta: RequestMeta,
    ApiJson(body): ApiJson<NewWebhook>,
) -> Result<Response, ApiError> {
    require_admin(&principal)?;
    let mut errors = Vec::new();
    let url = parse_url(&state, &body.url, &mut errors).await;
    let events = parse_patterns(&body.events, &mut errors);
    let store_ids = parse_stores(&body.store_ids, &mut errors);
    let description = optional_text(
        "description",
        body.description.as_deref(),
        MAX_DESCRIPTION,
        &mut errors,
    )
    .unwrap_or_default();
    if !errors.is_empty() {
        return Err(ApiError::Validation(errors));
    }
    let spec = Spec {
        url,
        events,
        store_ids,
        description,
        enabled: body.enabled,
    };
    let request = state.write_request(&principal, &meta, None);
    let written = app::create(&state.db, request, spec, issued_view).await?;
    Ok(no_store(idempotency::respond(written)))
}

/// List the endpoints, oldest first (never their secrets).
#[utoipa::path(get, path = "/api/v1/webhooks", tag = "webhooks", params(ListQuery),
    security(("bearer" = [])),
    responses((status = 200, body = PageView<WebhookView>), (status = 401), (status = 403)))]
pub async fn list_webhooks(
    State(state): State<AppState>,
    principal: Principal,
    ApiQuery(query): ApiQuery<ListQuery>,
) -> Result<ApiJson<PageView<WebhookView>>, ApiError> {
    require_admin(&principal)?;
    let (limit, after) = query.parse()?;
    let page = app::list(&state.db, &principal, after.as_ref(), limit).await?;
    Ok(ApiJson(PageView {
        items: page.items.iter().map(WebhookView::from).collect(),
        next_cursor: page.next_cursor,
    }))
}

/// One endpoint, with its `state`: `enabled`, `disabled` or `failing` (circuit open).
#[utoipa::path(get, path = "/api/v1/webhooks/{id}", tag = "webhooks",
    security(("bearer" = [])), params(("id" = String, Path, description = "webhook id")),
    responses((status = 200, body = WebhookView), (status = 401), (status = 403), (status = 404)))]
pub async fn get_webhook(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
) -> Result<ApiJson<WebhookView>, ApiError> {
    require_admin(&principal)?;
    let row = app::get(&state.db, &principal, parse_id(&id)?).await?;
    Ok(ApiJson(WebhookView::from(&row)))
}

/// A change to an endpoint: only the fields sent change.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WebhookPatch {
    pub url: Option<String>,
    pub events: Option<Vec<String>>,
    pub store_ids: Option<Vec<String>>,
    pub description: Option<String>,
    pub enabled: Option<bool>,
}

/// Change an endpoint (URL, filter, description, enabled).
#[utoipa::path(patch, path = "/api/v1/webhooks/{id}", tag = "webhooks", request_body = WebhookPatch,
    security(("bearer" = [])), params(("id" = String, Path, description = "webhook id")),
    responses((status = 200, body = WebhookView), (status = 401), (status = 403), (status = 404),
        (status = 422)))]
pub async fn update_webhook(
    State(state): State<AppState>,
    principal: Principal,
    meta: RequestMeta,
    key: IdempotencyKey,
    Path(id): Path<String>,
    HashedJson { value: body, hash }: HashedJson<WebhookPatch>,
) -> Result<Response, ApiError> {
    require_admin(&principal)?;
    let id = parse_id(&id)?;
    let mut errors = Vec::new();
    let mut patch = Patch {
        enabled: body.enabled,
        ..Patch::default()
    };
    if let Some(url) = &body.url {
        patch.url = Some(parse_url(&state, url, &mut errors).await);
    }
    if let Some(events) = &body.events {
        patch.events = Some(parse_patterns(events, &mut errors));
    }
    if let Some(stores) = &body.store_ids {
        patch.store_ids = Some(parse_stores(stores, &mut errors));
    }
    if let Some(description) = &body.description {
        patch.description = Some(
            optional_text(
                "description",
                Some(description),
                MAX_DESCRIPTION,
                &mut errors,
            )
            .unwrap_or_default(),
        );
    }
    if !errors.is_empty() {
        return Err(ApiError::Validation(errors));
    }
    let request = state.write_request(&principal, &meta, key.with_hash(&hash));
    let written = app::update(&state.db, request, id, patch, row_view).await?;
    Ok(idempotency::respond(written))
}

/// Delete an endpoint and its delivery log; attempts not yet sent are dropped.
#[utoipa::path(delete, path = "/api/v1/webhooks/{id}", tag = "webhooks",
    security(("bearer" = [])), params(("id" = String, Path, description = "webhook id")),
    responses((status = 204), (status = 401), (status = 403), (status = 404)))]
pub async fn delete_webhook(
    State(state): State<AppState>,
    principal: Principal,
    meta: RequestMeta,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    require_admin(&principal)?;
    let id = parse_id(&id)?;
    let request = state.write_request(&principal, &meta, None);
    app::delete(&state.db, request, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// A new signing secret; for 24 h every delivery is signed with both the new and the old.
#[utoipa::path(post, path = "/api/v1/webhooks/{id}/rotate-secret", tag = "webhooks",
    security(("bearer" = [])), params(("id" = String, Path, description = "webhook id")),
    responses((status = 200, description = "The new `secret`, shown only now", body = WebhookView),
        (status = 401), (status = 403), (status = 404)))]
pub async fn rotate_secret(
    State(state): State<AppState>,
    principal: Principal,
    meta: RequestMeta,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    require_admin(&principal)?;
    let id = parse_id(&id)?;
    let request = state.write_request(&principal, &meta, None);
    let written = app::rotate_secret(&state.db, request, id, issued_view).await?;
    Ok(no_store(idempotency::respond(written)))
}

/// Send a `webhook.test` event to the endpoint, whatever its filter.
#[utoipa::path(post, path = "/api/v1/webhooks/{id}/test", tag = "webhooks",
    security(("bearer" = [])), params(("id" = String, Path, description = "webhook id")),
    responses((status = 202, description = "Queued; the id of the test event", body = Accepted),
        (status = 401), (status = 403), (status = 404)))]
pub async fn test_webhook(
    State(state): State<AppState>,
    principal: Principal,
    meta: RequestMeta,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    require_admin(&principal)?;
    let id = parse_id(&id)?;
    let request = state.write_request(&principal, &meta, None);
    let event_id = app::send_test(&state.db, request, id).await?;
    state.webhooks.wake.notify_one();
    Ok((StatusCode::ACCEPTED, ApiJson(Accepted { event_id })).into_response())
}

/// An endpoint's delivery attempts, newest first.
#[utoipa::path(get, path = "/api/v1/webhooks/{id}/deliveries", tag = "webhooks",
    params(ListQuery, ("id" = String, Path, description = "webhook id")),
    security(("bearer" = [])),
    responses((status = 200, body = PageView<DeliveryView>), (status = 401), (status = 403),
        (status = 404)))]
pub async fn list_deliveries(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
    ApiQuery(query): ApiQuery<ListQuery>,
) -> Result<ApiJson<PageView<DeliveryView>>, ApiError> {
    require_admin(&principal)?;
    let id = parse_id(&id)?;
    let (limit, after) = query.parse()?;
    let page = app::deliveries(&state.db, &principal, id, after.as_ref(), limit).await?;
    Ok(ApiJson(PageView {
        items: page.items.into_iter().map(DeliveryView::from).collect(),
        next_cursor: page.next_cursor,
    }))
}

/// Which event to send again.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Redelivery {
    pub event_id: String,
}

/// Send an event again (same id and body, signed anew), with a fresh retry schedule.
#[utoipa::path(post, path = "/api/v1/webhooks/{id}/redeliver", tag = "webhooks",
    request_body = Redelivery,
    security(("bearer" = [])), params(("id" = String, Path, description = "webhook id")),
    responses((status = 202, body = Accepted), (status = 401), (status = 403), (status = 404),
        (status = 422, description = "`event_id` was never sent to this endpoint")))]
pub async fn redeliver(
    State(state): State<AppState>,
    principal: Principal,
    meta: RequestMeta,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<Redelivery>,
) -> Result<Response, ApiError> {
    require_admin(&principal)?;
    let id = parse_id(&id)?;
    let event_id = body.event_id.trim();
    if event_id.is_empty() || event_id.len() > 64 {
        return Err(ApiError::validation(
            "event_id",
            "is not an event this endpoint was sent",
        ));
    }
    let request = state.write_request(&principal, &meta, None);
    app::redeliver(&state.db, request, id, event_id).await?;
    state.webhooks.wake.notify_one();
    Ok((
        StatusCode::ACCEPTED,
        ApiJson(Accepted {
            event_id: event_id.to_owned(),
        }),
    )
        .into_response())
}

//! `/api/v1/events`: the committed events a caller may see, in commit order — as pages
//! (polling), as Server-Sent Events, or over a WebSocket. All three resume after an event id
//! (`?after=`, or `Last-Event-ID` for SSE) and apply the same rules ([`Reader`]): admins see
//! every event, managers and API keys their stores' and those of no store.

mod feed;
mod live;

use axum::extract::State;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use ringup_app::events::{EventsError, Query, Reader, resume_point};
use ringup_core::events::Pattern;
use ringup_core::ids::StoreId;
use ringup_store::platform::page::{decode_cursor, encode_cursor};

use crate::auth::principal::Principal;
use crate::http::error::{ApiError, FieldError};
use crate::http::pagination::{DEFAULT_LIMIT, MAX_LIMIT};
use crate::http::query::ApiQuery;
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_events))
        .routes(routes!(live::stream_events))
        .routes(routes!(live::socket_events))
}

impl From<EventsError> for ApiError {
    fn from(err: EventsError) -> Self {
        match err {
            EventsError::Forbidden => ApiError::Forbidden,
            EventsError::Invalid(errors) => ApiError::Validation(errors),
            EventsError::Store(err) => err.into(),
        }
    }
}

/// The filters every events endpoint takes.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct EventParams {
    /// Resume after this event (its `id`): events that committed after it, oldest first.
    pub after: Option<String>,
    /// Comma-separated types or patterns: `sale.*,stock.low`; `*` or none: every type.
    pub types: Option<String>,
    /// Only this store's events.
    pub store_id: Option<String>,
    /// Items per page, 1–200 (default 50); the list only.
    pub limit: Option<String>,
    /// `next_cursor` of the previous page; the list only.
    pub cursor: Option<String>,
}

impl EventParams {
    /// The query as the use case takes it, or every field's problem at once.
    fn query(&self) -> Result<Query, ApiError> {
        let mut problems = Vec::new();
        let types = match self.types.as_deref() {
            None => Vec::new(),
            Some(text) => Pattern::parse_list(text).unwrap_or_else(|e| {
                problems.push(FieldError::new("types", e.to_string()));
                Vec::new()
            }),
        };
        let store = match self.store_id.as_deref() {
            None | Some("") => None,
            Some(text) => StoreId::parse(text).map_or_else(
                |_| {
                    problems.push(FieldError::new("store_id", "is not a store you can see"));
                    None
                },
                Some,
            ),
        };
        let after = match self.after.as_deref().map(str::trim) {
            None | Some("") => None,
            Some(text) if text.len() > 64 => {
                problems.push(FieldError::new("after", "is not a known event id"));
                None
            }
            Some(text) => Some(text.to_owned()),
        };
        if problems.is_empty() {
            Ok(Query {
                types,
                store,
                after,
            })
        } else {
            Err(ApiError::Validation(problems))
        }
    }

    fn limit(&self) -> Result<usize, ApiError> {
        match self.limit.as_deref() {
            None => Ok(DEFAULT_LIMIT),
            Some(text) => match text.parse::<usize>() {
                Ok(n) if (1..=MAX_LIMIT).contains(&n) => Ok(n),
                _ => Err(ApiError::validation(
                    "limit",
                    "must be a whole number from 1 to 200",
                )),
            },
        }
    }
}

/// An event as every endpoint shows it.
#[derive(Serialize, ToSchema)]
pub struct EventView {
    /// UUIDv7; resume after it with `?after=` or `Last-Event-ID`.
    pub id: String,
    #[serde(rename = "type")]
    pub event_type: String,
    pub created_at: String,
    /// The store it concerns; null for events of the whole chain (`product.*`).
    pub store_id: Option<String>,
    /// The resource as the API returns it (a sale, a stock level, a movement, …).
    #[schema(value_type = Object)]
    pub data: serde_json::Value,
}

/// A page of events, oldest first.
#[derive(Serialize, ToSchema)]
pub struct EventPage {
    pub items: Vec<EventView>,
    /// Present when more events were there when this page was read; the next page starts
    /// after this page's last event. Poll again with it (or with `?after=` of the last id)
    /// for events that commit later.
    pub next_cursor: Option<String>,
}

/// Events after `after` (or the start of the kept events) in commit order, oldest first.
#[utoipa::path(get, path = "/api/v1/events", tag = "events", params(EventParams),
    security(("bearer" = [])),
    responses((status = 200, body = EventPage), (status = 401), (status = 403),
        (status = 422, description = "a bad `types`, `store_id`, `after`, `limit` or `cursor`")))]
pub async fn list_events(
    State(state): State<AppState>,
    principal: Principal,
    ApiQuery(params): ApiQuery<EventParams>,
) -> Result<axum::Json<EventPage>, ApiError> {
    let query = params.query()?;
    let limit = params.limit()?;
    let reader = Reader::new(&principal, &query)?;
    // A cursor is the last event id of the previous page, as `after` would name it.
    let position = match (params.cursor.as_deref(), query.after.as_deref()) {
        (Some(cursor), _) if !cursor.is_empty() => {
            let after = decode_cursor(cursor)
                .ok_or_else(|| ApiError::validation("cursor", "is not a cursor from this list"))?;
            resume_point(&state.db, &after.0, "cursor").await?
        }
        (_, Some(after)) => resume_point(&state.db, after, "after").await?,
        _ => 0,
    };
    let mut events = reader.after(&state.db, position, limit + 1).await?;
    let more = events.len() > limit;
    events.truncate(limit);
    let next_cursor = more
        .then(|| events.last().map(|e| encode_cursor(&e.id)))
        .flatten();
    let items = events
        .into_iter()
        .map(|e| EventView {
            data: serde_json::from_str(&e.data).unwrap_or(serde_json::Value::Null),
            id: e.id,
            event_type: e.event_type,
            created_at: e.created_at,
            store_id: e.store_id,
        })
        .collect();
    Ok(axum::Json(EventPage { items, next_cursor }))
}

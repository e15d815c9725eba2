//! `/api/v1/audit-events`: read (admins everything, managers their stores' events) and verify
//! the hash chains (admins).

use axum::extract::State;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use ringup_core::audit::AuditRecord;
use ringup_store::audit::{self, AuditFilter, Verification};

use crate::auth::principal::Principal;
use crate::http::error::ApiError;
use crate::http::json::ApiJson;
use crate::http::pagination::{ListQuery, PageView};
use crate::http::query::ApiQuery;
use crate::http::validation::parse_time;
use crate::state::AppState;
use ringup_app::Capability;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_audit_events))
        .routes(routes!(verify_audit_events))
}

#[derive(Serialize, ToSchema)]
pub struct AuditEventView {
    pub id: String,
    pub at: String,
    pub actor_id: Option<String>,
    pub action: String,
    pub target_type: Option<String>,
    pub target_id: Option<String>,
    pub store_id: Option<String>,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    pub request_id: Option<String>,
    #[schema(value_type = Object)]
    pub details: serde_json::Value,
}

impl From<AuditRecord> for AuditEventView {
    fn from(r: AuditRecord) -> Self {
        AuditEventView {
            details: serde_json::from_str(&r.details).unwrap_or(serde_json::Value::Null),
            id: r.id,
            at: r.at,
            actor_id: r.actor_id,
            action: r.action,
            target_type: r.target_type,
            target_id: r.target_id,
            store_id: r.store_id,
            ip: r.ip,
            user_agent: r.user_agent,
            request_id: r.request_id,
        }
    }
}

#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AuditQuery {
    pub actor_id: Option<String>,
    pub action: Option<String>,
    /// RFC 3339; events at or after.
    pub from: Option<String>,
    /// RFC 3339; events before.
    pub to: Option<String>,
    /// Items per page, 1–200 (default 50).
    pub limit: Option<String>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

/// Audit events, oldest first.
#[utoipa::path(get, path = "/api/v1/audit-events", tag = "audit", params(AuditQuery),
    security(("bearer" = [])),
    responses((status = 200, body = PageView<AuditEventView>), (status = 403)))]
pub async fn list_audit_events(
    State(state): State<AppState>,
    principal: Principal,
    ApiQuery(query): ApiQuery<AuditQuery>,
) -> Result<ApiJson<PageView<AuditEventView>>, ApiError> {
    principal.require(Capability::ReadAudit)?;
    let (limit, after) = ListQuery {
        limit: query.limit.clone(),
        cursor: query.cursor.clone(),
    }
    .parse()?;
    let mut errors = Vec::new();
    let from = parse_time("from", query.from.as_deref(), &mut errors);
    let to = parse_time("to", query.to.as_deref(), &mut errors);
    if !errors.is_empty() {
        return Err(ApiError::Validation(errors));
    }
    let filter = AuditFilter {
        actor_id: query.actor_id.clone(),
        action: query.action.clone(),
        from,
        to,
        stores: principal.store_scope().map(<[_]>::to_vec),
    };
    let page = audit::list(&state.db, &filter, after.as_ref(), limit).await?;
    Ok(ApiJson(PageView {
        items: page.items.into_iter().map(AuditEventView::from).collect(),
        next_cursor: page.next_cursor,
    }))
}

#[derive(Serialize, ToSchema)]
pub struct VerifyResult {
    pub ok: bool,
    pub checked: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub broken_at: Option<BrokenAt>,
}

#[derive(Serialize, ToSchema)]
pub struct BrokenAt {
    pub chain: String,
    /// The first event that fails; `null` when events are missing from the chain's end.
    pub id: Option<String>,
    pub seq: i64,
    pub reason: String,
}

/// Re-compute every hash chain and report where it breaks, if anywhere.
#[utoipa::path(get, path = "/api/v1/audit-events/verify", tag = "audit",
    security(("bearer" = [])),
    responses((status = 200, body = VerifyResult), (status = 403)))]
pub async fn verify_audit_events(
    State(state): State<AppState>,
    principal: Principal,
) -> Result<ApiJson<VerifyResult>, ApiError> {
    principal.require(Capability::VerifyAudit)?;
    Ok(ApiJson(match audit::verify(&state.db).await? {
        Verification::Ok { checked } => VerifyResult {
            ok: true,
            checked,
            broken_at: None,
        },
        Verification::Truncated {
            chain,
            checked,
            expected_seq,
            found_seq,
        } => VerifyResult {
            ok: false,
            checked,
            broken_at: Some(BrokenAt {
                chain,
                id: None,
                seq: found_seq + 1,
                reason: format!("events {} to {expected_seq} are missing", found_seq + 1),
            }),
        },
        Verification::Broken { chain, checked, at } => VerifyResult {
            ok: false,
            checked,
            broken_at: Some(BrokenAt {
                chain,
                id: Some(at.id.clone()),
                seq: at.seq,
                reason: at.reason.to_string(),
            }),
        },
    }))
}

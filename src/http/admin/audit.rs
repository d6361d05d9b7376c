//! `/audit-events`: the audit trail.

use axum::Json;
use axum::extract::{Query, State};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::AdminApiError;
use super::auth::Admin;
use super::error::AdminErrorBody;
use crate::app::AppState;

#[derive(Deserialize, IntoParams)]
pub struct AuditFilter {
    /// Only events of this user id.
    user: Option<String>,
    /// Only events of this client id.
    client: Option<String>,
    /// The newest this many (default 100, at most 1000).
    limit: Option<i64>,
}

#[derive(Serialize, ToSchema)]
pub struct AuditEventView {
    pub at: i64,
    /// `sign_in`, `sign_in_failed`, `lockout`, `consent_given`, `token_issued`,
    /// `token_revoked`, `refresh_token_reuse`, `logout`, `admin`.
    pub kind: String,
    pub user_id: Option<String>,
    pub client_id: Option<String>,
    pub ip: Option<String>,
    #[schema(value_type = Object)]
    pub detail: serde_json::Value,
}

#[utoipa::path(get, path = "/audit-events", tag = "audit", params(AuditFilter),
    responses((status = 200, body = [AuditEventView]), (status = 401, body = AdminErrorBody)),
    security(("bearer" = [])))]
pub async fn query(
    _: Admin,
    State(state): State<AppState>,
    Query(filter): Query<AuditFilter>,
) -> Result<Json<Vec<AuditEventView>>, AdminApiError> {
    let events = state
        .audit_trail()
        .recent(filter.user, filter.client, filter.limit)
        .await?;
    Ok(Json(
        events
            .into_iter()
            .map(|e| AuditEventView {
                at: e.at,
                kind: e.kind,
                user_id: e.user_id,
                client_id: e.client_id,
                ip: e.ip,
                detail: serde_json::from_str(&e.detail).unwrap_or_default(),
            })
            .collect(),
    ))
}

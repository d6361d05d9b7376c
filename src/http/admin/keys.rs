//! `/keys`: the signing keys (public parts and states only).

use axum::Json;
use axum::extract::State;
use serde::Serialize;
use utoipa::ToSchema;

use super::auth::Admin;
use super::error::AdminErrorBody;
use super::{AdminApiError, record_change};
use crate::app::AppState;
use crate::keys;

#[derive(Serialize, ToSchema)]
pub struct KeyView {
    pub kid: String,
    pub alg: String,
    /// `next` (published, not yet signing), `active` or `retired`.
    pub state: String,
    pub created_at: i64,
    pub activates_at: i64,
    pub retired_at: Option<i64>,
}

#[derive(Serialize, ToSchema)]
pub struct ScheduledKey {
    pub alg: String,
    pub kid: String,
    /// When it starts signing (after `key_publish_secs`).
    pub signs_from: i64,
}

#[utoipa::path(get, path = "/keys", tag = "keys",
    responses((status = 200, body = [KeyView]), (status = 401, body = AdminErrorBody)),
    security(("bearer" = [])))]
pub async fn list(
    _: Admin,
    State(state): State<AppState>,
) -> Result<Json<Vec<KeyView>>, AdminApiError> {
    let rows = state.key_admin().list().await.map_err(key_error)?;
    Ok(Json(
        rows.into_iter()
            .map(|r| KeyView {
                kid: r.kid,
                alg: r.alg,
                state: r.state,
                created_at: r.created_at,
                activates_at: r.activates_at,
                retired_at: r.retired_at,
            })
            .collect(),
    ))
}

/// Schedules a new key for every algorithm that has none scheduled yet (as
/// `munjigi keys rotate`): published now, signing after `key_publish_secs`.
#[utoipa::path(post, path = "/keys/rotate", tag = "keys",
    responses((status = 200, body = [ScheduledKey]), (status = 401, body = AdminErrorBody)),
    security(("bearer" = [])))]
pub async fn rotate(
    admin: Admin,
    State(state): State<AppState>,
) -> Result<Json<Vec<ScheduledKey>>, AdminApiError> {
    let now = state.clock.now();
    let scheduled = state.key_admin().rotate(now).await.map_err(key_error)?;
    let scheduled = scheduled
        .into_iter()
        .map(|(alg, kid, signs_from)| {
            record_change(&state, &admin, "keys.rotate", &kid, now);
            ScheduledKey {
                alg: alg.as_str().to_owned(),
                kid,
                signs_from,
            }
        })
        .collect();
    Ok(Json(scheduled))
}

fn key_error(e: keys::KeyError) -> AdminApiError {
    match e {
        keys::KeyError::Store(e) => e.into(),
        e => {
            tracing::error!(error = %e, "admin API: signing keys");
            AdminApiError::internal()
        }
    }
}

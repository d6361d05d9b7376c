//! `/clients`: registered relying parties.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::auth::Admin;
use super::error::{AdminErrorBody, AdminJson};
use super::{AdminApiError, record_change};
use crate::app::AppState;
use crate::keys::SigningAlg;
use crate::oauth::client::{AuthMethod, ClientRecord, NewClient, RegisterError};
use crate::oauth::client_update::ClientChanges;
use crate::oauth::grant::GrantType;

/// A client as the API shows it (never its secret).
#[derive(Serialize, ToSchema)]
pub struct ClientView {
    pub client_id: String,
    pub client_name: String,
    pub token_endpoint_auth_method: String,
    pub redirect_uris: Vec<String>,
    pub post_logout_redirect_uris: Vec<String>,
    pub grant_types: Vec<String>,
    pub scope: String,
    pub skip_consent: bool,
    pub id_token_signed_response_alg: String,
    pub backchannel_logout_uri: Option<String>,
    pub allowed_origins: Vec<String>,
    pub access_token_audience: Vec<String>,
    /// Its users must sign in with two factors.
    pub require_mfa: bool,
    pub created_at: i64,
    pub updated_at: i64,
}

impl From<ClientRecord> for ClientView {
    fn from(c: ClientRecord) -> Self {
        Self {
            client_id: c.id,
            client_name: c.name,
            token_endpoint_auth_method: c.token_endpoint_auth_method,
            redirect_uris: c.redirect_uris,
            post_logout_redirect_uris: c.post_logout_redirect_uris,
            grant_types: c.grant_types,
            scope: c.scopes,
            skip_consent: c.skip_consent,
            id_token_signed_response_alg: c.id_token_signed_response_alg,
            backchannel_logout_uri: c.backchannel_logout_uri,
            allowed_origins: c.allowed_origins,
            access_token_audience: c.access_token_audience,
            require_mfa: c.require_mfa,
            created_at: c.created_at,
            updated_at: c.updated_at,
        }
    }
}

/// What registering a client takes; the same rules as `munjigi client create`.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewClientBody {
    /// Default: a random UUID.
    pub client_id: Option<String>,
    pub client_name: String,
    #[serde(default)]
    pub redirect_uris: Vec<String>,
    #[serde(default)]
    pub post_logout_redirect_uris: Vec<String>,
    /// `client_secret_basic` (default), `client_secret_post` or `none` (public).
    pub token_endpoint_auth_method: Option<String>,
    /// Default: `authorization_code`, `refresh_token`.
    pub grant_types: Option<Vec<String>>,
    /// Default: `openid profile email offline_access`.
    pub scope: Option<String>,
    #[serde(default)]
    pub skip_consent: bool,
    /// `RS256` (default) or `ES256`.
    pub id_token_signed_response_alg: Option<String>,
    pub backchannel_logout_uri: Option<String>,
    #[serde(default)]
    pub allowed_origins: Vec<String>,
    #[serde(default)]
    pub access_token_audience: Vec<String>,
    #[serde(default)]
    pub require_mfa: bool,
}

/// A registered client and, for a confidential one, its secret: shown only in this answer.
#[derive(Serialize, ToSchema)]
pub struct ClientCreated {
    pub client: ClientView,
    pub client_secret: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct NewSecret {
    pub client_secret: String,
}

#[utoipa::path(get, path = "/clients", tag = "clients",
    responses((status = 200, body = [ClientView]), (status = 401, body = AdminErrorBody),
              (status = 403, body = AdminErrorBody)),
    security(("bearer" = [])))]
pub async fn list(
    _: Admin,
    State(state): State<AppState>,
) -> Result<Json<Vec<ClientView>>, AdminApiError> {
    let keys = state.keys.current();
    let clients = state
        .oauth(&keys, state.clock.now())
        .registered_clients()
        .await?;
    Ok(Json(clients.into_iter().map(ClientView::from).collect()))
}

#[utoipa::path(get, path = "/clients/{id}", tag = "clients",
    params(("id" = String, Path, description = "client id")),
    responses((status = 200, body = ClientView), (status = 404, body = AdminErrorBody)),
    security(("bearer" = [])))]
pub async fn get(
    _: Admin,
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<ClientView>, AdminApiError> {
    let keys = state.keys.current();
    let client = state
        .oauth(&keys, state.clock.now())
        .registered_client(&id)
        .await?;
    client
        .map(|c| Json(c.into()))
        .ok_or_else(|| AdminApiError::not_found("client"))
}

#[utoipa::path(post, path = "/clients", tag = "clients", request_body = NewClientBody,
    responses((status = 201, body = ClientCreated), (status = 400, body = AdminErrorBody),
              (status = 409, body = AdminErrorBody)),
    security(("bearer" = [])))]
pub async fn create(
    admin: Admin,
    State(state): State<AppState>,
    AdminJson(body): AdminJson<NewClientBody>,
) -> Result<(StatusCode, Json<ClientCreated>), AdminApiError> {
    let auth_method = match body.token_endpoint_auth_method.as_deref() {
        None => AuthMethod::ClientSecretBasic,
        Some(m) => AuthMethod::parse(m)
            .ok_or_else(|| AdminApiError::invalid("unknown token_endpoint_auth_method"))?,
    };
    let grant_types = grant_types(body.grant_types)?
        .unwrap_or_else(|| vec![GrantType::AuthorizationCode, GrantType::RefreshToken]);
    let id_token_alg =
        id_token_alg(body.id_token_signed_response_alg.as_deref())?.unwrap_or(SigningAlg::Rs256);
    let new = NewClient {
        id: body.client_id,
        name: body.client_name,
        redirect_uris: body.redirect_uris,
        post_logout_redirect_uris: body.post_logout_redirect_uris,
        auth_method,
        secret: None,
        grant_types,
        scopes: body
            .scope
            .unwrap_or_else(|| "openid profile email offline_access".to_owned()),
        skip_consent: body.skip_consent,
        id_token_alg,
        backchannel_logout_uri: body.backchannel_logout_uri,
        allowed_origins: body.allowed_origins,
        access_token_audience: body.access_token_audience,
        require_mfa: body.require_mfa,
    };
    let now = state.clock.now();
    let keys = state.keys.current();
    let (record, client_secret) = state.oauth(&keys, now).register_client(new).await?;
    record_change(&state, &admin, "client.create", &record.id, now);
    let created = ClientCreated {
        client: record.into(),
        client_secret,
    };
    Ok((StatusCode::CREATED, Json(created)))
}

#[utoipa::path(post, path = "/clients/{id}/secret", tag = "clients",
    params(("id" = String, Path, description = "client id")),
    responses((status = 200, body = NewSecret), (status = 404, body = AdminErrorBody)),
    security(("bearer" = [])))]
pub async fn rotate_secret(
    admin: Admin,
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<NewSecret>, AdminApiError> {
    let now = state.clock.now();
    let keys = state.keys.current();
    let secret = state
        .oauth(&keys, now)
        .rotate_client_secret(&id)
        .await?
        .ok_or_else(|| AdminApiError::not_found("confidential client"))?;
    record_change(&state, &admin, "client.rotate_secret", &id, now);
    Ok(Json(NewSecret {
        client_secret: secret,
    }))
}

#[utoipa::path(delete, path = "/clients/{id}", tag = "clients",
    params(("id" = String, Path, description = "client id")),
    responses((status = 204), (status = 404, body = AdminErrorBody)),
    security(("bearer" = [])))]
pub async fn delete(
    admin: Admin,
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<StatusCode, AdminApiError> {
    let now = state.clock.now();
    let keys = state.keys.current();
    if !state.oauth(&keys, now).delete_client(&id).await? {
        return Err(AdminApiError::not_found("client"));
    }
    record_change(&state, &admin, "client.delete", &id, now);
    Ok(StatusCode::NO_CONTENT)
}

/// What to change; absent fields stay as they are. The same rules as at registration.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ClientUpdate {
    pub client_name: Option<String>,
    pub redirect_uris: Option<Vec<String>>,
    pub post_logout_redirect_uris: Option<Vec<String>>,
    pub grant_types: Option<Vec<String>>,
    pub scope: Option<String>,
    pub skip_consent: Option<bool>,
    pub id_token_signed_response_alg: Option<String>,
    /// An empty string removes it.
    pub backchannel_logout_uri: Option<String>,
    pub allowed_origins: Option<Vec<String>>,
    pub access_token_audience: Option<Vec<String>>,
    pub require_mfa: Option<bool>,
}

#[utoipa::path(patch, path = "/clients/{id}", tag = "clients", request_body = ClientUpdate,
    params(("id" = String, Path, description = "client id")),
    responses((status = 200, body = ClientView), (status = 400, body = AdminErrorBody),
              (status = 404, body = AdminErrorBody)),
    security(("bearer" = [])))]
pub async fn update(
    admin: Admin,
    State(state): State<AppState>,
    Path(id): Path<String>,
    AdminJson(body): AdminJson<ClientUpdate>,
) -> Result<Json<ClientView>, AdminApiError> {
    let grant_types = grant_types(body.grant_types)?;
    let id_token_alg = id_token_alg(body.id_token_signed_response_alg.as_deref())?;
    let changes = ClientChanges {
        name: body.client_name,
        redirect_uris: body.redirect_uris,
        post_logout_redirect_uris: body.post_logout_redirect_uris,
        grant_types,
        scopes: body.scope,
        skip_consent: body.skip_consent,
        id_token_alg,
        backchannel_logout_uri: body
            .backchannel_logout_uri
            .map(|uri| Some(uri).filter(|u| !u.is_empty())),
        allowed_origins: body.allowed_origins,
        access_token_audience: body.access_token_audience,
        require_mfa: body.require_mfa,
    };
    let now = state.clock.now();
    let keys = state.keys.current();
    let record = state
        .oauth(&keys, now)
        .update_client(&id, changes)
        .await?
        .ok_or_else(|| AdminApiError::not_found("client"))?;
    record_change(&state, &admin, "client.update", &id, now);
    Ok(Json(record.into()))
}

/// Grant type names as the body gives them; `None` when absent.
fn grant_types(names: Option<Vec<String>>) -> Result<Option<Vec<GrantType>>, AdminApiError> {
    names
        .map(|list| {
            list.iter()
                .map(|g| GrantType::parse(g))
                .collect::<Option<Vec<_>>>()
                .ok_or_else(|| AdminApiError::invalid("unknown grant type"))
        })
        .transpose()
}

/// `RS256` or `ES256`; `None` when absent.
fn id_token_alg(name: Option<&str>) -> Result<Option<SigningAlg>, AdminApiError> {
    name.map(|a| {
        SigningAlg::parse(a)
            .ok_or_else(|| AdminApiError::invalid("id_token_signed_response_alg: RS256 or ES256"))
    })
    .transpose()
}

impl From<RegisterError> for AdminApiError {
    fn from(e: RegisterError) -> Self {
        match e {
            RegisterError::Invalid(m) => AdminApiError::invalid(m),
            RegisterError::Exists(id) => AdminApiError::conflict(format!("client {id:?} exists")),
            RegisterError::Store(e) => e.into(),
        }
    }
}

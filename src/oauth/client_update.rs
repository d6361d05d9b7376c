//! Changing a registered client: the same rules as registering one (`check_settings`). The id,
//! the authentication method and the secret do not change here (the secret rotates on its
//! own; another method is another client).

use crate::keys::SigningAlg;
use crate::store::{ClientRecord, Store};

use super::client::{Client, NewClient, RegisterError, check_settings};
use super::grant::GrantType;

/// What to change; `None` leaves a setting as it is.
#[derive(Clone, Debug, Default)]
pub struct ClientChanges {
    pub name: Option<String>,
    pub redirect_uris: Option<Vec<String>>,
    pub post_logout_redirect_uris: Option<Vec<String>>,
    pub grant_types: Option<Vec<GrantType>>,
    pub scopes: Option<String>,
    pub skip_consent: Option<bool>,
    pub id_token_alg: Option<SigningAlg>,
    /// `Some(None)` removes it.
    pub backchannel_logout_uri: Option<Option<String>>,
    pub allowed_origins: Option<Vec<String>>,
    pub access_token_audience: Option<Vec<String>>,
    pub require_mfa: Option<bool>,
}

/// Applies `changes` to the client `id`; `Ok(None)` when there is no such client.
pub async fn update(
    store: &Store,
    id: &str,
    changes: ClientChanges,
    now: i64,
) -> Result<Option<ClientRecord>, RegisterError> {
    let Some(current) = store.client(id).await.map_err(RegisterError::Store)? else {
        return Ok(None);
    };
    let client = Client::from_record(current.clone()).map_err(RegisterError::Store)?;
    let settings = NewClient {
        id: Some(current.id.clone()),
        name: changes.name.unwrap_or(current.name.clone()),
        redirect_uris: changes
            .redirect_uris
            .unwrap_or(current.redirect_uris.clone()),
        post_logout_redirect_uris: changes
            .post_logout_redirect_uris
            .unwrap_or(current.post_logout_redirect_uris.clone()),
        auth_method: client.auth_method,
        secret: None,
        grant_types: changes.grant_types.unwrap_or(client.grant_types.clone()),
        scopes: changes.scopes.unwrap_or(current.scopes.clone()),
        skip_consent: changes.skip_consent.unwrap_or(current.skip_consent),
        id_token_alg: changes.id_token_alg.unwrap_or(client.id_token_alg),
        backchannel_logout_uri: changes
            .backchannel_logout_uri
            .unwrap_or(current.backchannel_logout_uri.clone()),
        allowed_origins: changes
            .allowed_origins
            .unwrap_or(current.allowed_origins.clone()),
        access_token_audience: changes
            .access_token_audience
            .unwrap_or(current.access_token_audience.clone()),
        require_mfa: changes.require_mfa.unwrap_or(current.require_mfa),
    };
    let scopes = check_settings(&settings)?;
    let record = ClientRecord {
        name: settings.name.trim().to_owned(),
        redirect_uris: settings.redirect_uris,
        post_logout_redirect_uris: settings.post_logout_redirect_uris,
        grant_types: settings
            .grant_types
            .iter()
            .map(|g| g.as_str().to_owned())
            .collect(),
        scopes: scopes.to_string(),
        skip_consent: settings.skip_consent,
        id_token_signed_response_alg: settings.id_token_alg.as_str().to_owned(),
        backchannel_logout_uri: settings.backchannel_logout_uri,
        allowed_origins: settings.allowed_origins,
        access_token_audience: settings.access_token_audience,
        require_mfa: settings.require_mfa,
        updated_at: now,
        ..current
    };
    store
        .update_client(&record)
        .await
        .map_err(RegisterError::Store)?;
    Ok(Some(record))
}

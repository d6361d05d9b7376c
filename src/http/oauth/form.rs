//! What /token, /revoke and /introspect share: a form body (RFC 6749 §3.2: urlencoded, each
//! parameter once) and an authenticated client.

use axum::http::{HeaderMap, header};

use crate::app::AppState;
use crate::oauth::client::Client;
use crate::oauth::client_auth::{self, PresentedCredentials};
use crate::oauth::error::OAuthError;
use crate::oauth::params;

pub struct ClientForm {
    pub client: Client,
    params: Vec<(String, String)>,
}

impl ClientForm {
    pub async fn read(
        state: &AppState,
        headers: &HeaderMap,
        body: &[u8],
    ) -> Result<Self, OAuthError> {
        let form_encoded = headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| {
                v.trim_start()
                    .to_ascii_lowercase()
                    .starts_with("application/x-www-form-urlencoded")
            });
        if !form_encoded {
            return Err(OAuthError::invalid_request(
                "the body must be application/x-www-form-urlencoded",
            ));
        }
        let params = params::decode(body);
        params::refuse_repeated(&params)?;
        let authorization = match headers.get(header::AUTHORIZATION) {
            Some(v) => Some(v.to_str().map_err(|_| OAuthError::invalid_client())?),
            None => None,
        };
        let field = |name: &str| {
            params
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.clone())
                .filter(|v| !v.is_empty())
        };
        let presented = PresentedCredentials::from_request(
            authorization,
            field("client_id"),
            field("client_secret"),
        )?;
        let now = state.clock.now();
        let client =
            client_auth::authenticate(&state.clients, &state.store, &state.hasher, presented, now)
                .await?;
        Ok(Self { client, params })
    }

    /// A parameter's value; empty counts as absent (RFC 6749 §3.1).
    pub fn get(&self, name: &str) -> Option<&str> {
        self.params
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
            .filter(|v| !v.is_empty())
    }
}

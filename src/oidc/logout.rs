//! Logout: RP-initiated logout (OpenID Connect RP-Initiated Logout 1.0) and the logout token
//! of Back-Channel Logout 1.0.

use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::keys::KeySet;
use crate::oauth::client::Client;
use crate::oauth::context::OAuthContext;
use crate::oauth::error::OAuthError;
use crate::oauth::params::Params;
use crate::store::StoreError;

use crate::keys::jwt::{self, JwtError};
use crate::oauth::id_token::IdTokenClaims;

/// A validated logout request, kept in the session while the person confirms.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct LogoutRequest {
    /// Where to send the browser afterwards: registered for the client, exactly.
    pub post_logout_redirect_uri: Option<String>,
    pub state: Option<String>,
    pub ui_locales: Option<String>,
    /// Subject and session named by a valid `id_token_hint`.
    pub hint_sub: Option<String>,
    pub hint_sid: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum LogoutError {
    /// Shown to the person; never redirected.
    #[error(transparent)]
    Invalid(#[from] OAuthError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Reads and validates an `end_session_endpoint` request (GET query or POST form).
pub async fn read_request(
    ctx: &OAuthContext<'_>,
    params: &Params,
) -> Result<LogoutRequest, LogoutError> {
    params.refuse_repeated()?;
    let hint = params
        .single("id_token_hint")?
        .map(|h| read_hint(ctx.keys, h, ctx.issuer))
        .transpose()?;
    let client = match client_id_of(params.single("client_id")?, hint.as_ref())? {
        Some(id) => Some(
            ctx.client(&id)
                .await?
                .ok_or_else(|| OAuthError::invalid_request("unknown client_id"))?,
        ),
        None => None,
    };
    Ok(validate(
        client.as_ref(),
        params.single("post_logout_redirect_uri")?,
        params.single("state")?,
        params.single("ui_locales")?,
        hint.as_ref(),
    )?)
}

/// Tells every client this session signed in to that it ended (Back-Channel Logout 1.0), in
/// the background: the person logging out never waits for a client.
pub async fn notify_clients(
    ctx: &OAuthContext<'_>,
    http: &reqwest::Client,
    user_id: &str,
    sid: &str,
) {
    let client_ids = match ctx.store.take_session_clients(sid).await {
        Ok(ids) => ids,
        Err(e) => {
            tracing::warn!(error = %e, "cannot list the session's clients for back-channel logout");
            return;
        }
    };
    for id in client_ids {
        let Ok(Some(client)) = ctx.client(&id).await else {
            continue;
        };
        let Some(uri) = client.record.backchannel_logout_uri.clone() else {
            continue;
        };
        match logout_token(ctx.keys, &client, ctx.issuer, user_id, sid, ctx.now) {
            Ok(token) => super::backchannel::deliver(http, uri, token),
            Err(e) => tracing::warn!(error = %e, client_id = id, "cannot sign a logout token"),
        }
    }
}

/// The client a request names: `client_id`, else the audience of the `id_token_hint`.
pub fn client_id_of(
    client_id: Option<&str>,
    hint: Option<&IdTokenClaims>,
) -> Result<Option<String>, OAuthError> {
    match (client_id, hint) {
        (Some(id), Some(h)) if h.aud != id => Err(OAuthError::invalid_request(
            "client_id does not match the id_token_hint",
        )),
        (Some(id), _) => Ok(Some(id.to_owned())),
        (None, Some(h)) => Ok(Some(h.aud.clone())),
        (None, None) => Ok(None),
    }
}

/// An `id_token_hint` we issued (expired is fine: logouts often come later).
pub fn read_hint(keys: &KeySet, hint: &str, issuer: &str) -> Result<IdTokenClaims, OAuthError> {
    crate::oauth::id_token::verify_hint(keys, hint, issuer)
}

/// Validates the request. A `post_logout_redirect_uri` needs a known client and must be one
/// it registered, byte for byte; otherwise the answer is an error page, never a redirect.
pub fn validate(
    client: Option<&Client>,
    post_logout_redirect_uri: Option<&str>,
    state: Option<&str>,
    ui_locales: Option<&str>,
    hint: Option<&IdTokenClaims>,
) -> Result<LogoutRequest, OAuthError> {
    let redirect = match (post_logout_redirect_uri, client) {
        (None, _) => None,
        (Some(_), None) => {
            return Err(OAuthError::invalid_request(
                "post_logout_redirect_uri needs client_id or id_token_hint",
            ));
        }
        (Some(uri), Some(c)) if c.record.post_logout_redirect_uris.iter().any(|r| r == uri) => {
            Some(uri.to_owned())
        }
        (Some(_), Some(_)) => {
            return Err(OAuthError::invalid_request(
                "post_logout_redirect_uri is not registered for this client",
            ));
        }
    };
    Ok(LogoutRequest {
        post_logout_redirect_uri: redirect,
        state: state.map(str::to_owned),
        ui_locales: ui_locales.map(str::to_owned),
        hint_sub: hint.map(|h| h.sub.clone()),
        hint_sid: hint.and_then(|h| h.sid.clone()),
    })
}

impl LogoutRequest {
    /// Whether the hint ties the request to this browser's session, so no confirmation is
    /// needed (§2: otherwise the OP asks).
    pub fn matches_session(&self, user_id: &str, sid: &str) -> bool {
        self.hint_sub.as_deref() == Some(user_id)
            && self.hint_sid.as_deref().is_none_or(|s| s == sid)
    }

    /// Where the browser goes afterwards, with `state`.
    pub fn redirect(&self) -> Option<String> {
        let uri = self.post_logout_redirect_uri.as_ref()?;
        Some(match &self.state {
            Some(state) => {
                let q = url::form_urlencoded::Serializer::new(String::new())
                    .append_pair("state", state)
                    .finish();
                format!("{uri}{}{q}", if uri.contains('?') { "&" } else { "?" })
            }
            None => uri.clone(),
        })
    }
}

pub const BACKCHANNEL_EVENT: &str = "http://schemas.openid.net/event/backchannel-logout";
pub const LOGOUT_TOKEN_TTL: i64 = 120;

/// The logout token of Back-Channel Logout 1.0 §2.4.
pub fn logout_token(
    keys: &KeySet,
    client: &Client,
    issuer: &str,
    sub: &str,
    sid: &str,
    now: i64,
) -> Result<String, JwtError> {
    let claims = json!({
        "iss": issuer,
        "aud": client.id(),
        "iat": now,
        "exp": now + LOGOUT_TOKEN_TTL,
        "jti": uuid::Uuid::new_v4().to_string(),
        "sub": sub,
        "sid": sid,
        "events": { BACKCHANNEL_EVENT: {} },
    });
    jwt::sign(keys, client.id_token_alg, "logout+jwt", &claims)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redirect_carries_state_and_hint_ties_the_session() {
        let r = LogoutRequest {
            post_logout_redirect_uri: Some("https://app/bye?x=1".into()),
            state: Some("s 1".into()),
            hint_sub: Some("u1".into()),
            hint_sid: Some("sid-1".into()),
            ..Default::default()
        };
        assert_eq!(
            r.redirect().as_deref(),
            Some("https://app/bye?x=1&state=s+1")
        );
        assert!(r.matches_session("u1", "sid-1"));
        assert!(!r.matches_session("u1", "sid-2"));
        assert!(!r.matches_session("u2", "sid-1"));
        assert!(!LogoutRequest::default().matches_session("u1", "sid-1"));
    }
}

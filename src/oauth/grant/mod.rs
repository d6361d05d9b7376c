//! One grant type per file.

pub mod authorization_code;
pub mod client_credentials;
pub mod refresh_token;

use serde::Serialize;

use crate::oauth::access_token::{self, AccessClaims};
use crate::oauth::client::Client;
use crate::oauth::error::OAuthError;
use crate::oauth::resource;
use crate::oauth::scope::{OPENID, Scopes};
use crate::oauth::{claims, id_token};
use crate::store::UserRecord;

use super::context::OAuthContext;

/// The grant types munjigi implements (RFC 6749 §4.1, §4.4, §6), parsed once wherever a
/// `grant_type` arrives: the token endpoint, client registration, stored clients.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum GrantType {
    AuthorizationCode,
    RefreshToken,
    ClientCredentials,
}

impl GrantType {
    pub const ALL: [GrantType; 3] = [
        Self::AuthorizationCode,
        Self::RefreshToken,
        Self::ClientCredentials,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::AuthorizationCode => "authorization_code",
            Self::RefreshToken => "refresh_token",
            Self::ClientCredentials => "client_credentials",
        }
    }

    pub fn parse(value: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|g| g.as_str() == value)
    }
}

impl std::fmt::Display for GrantType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Lifetimes of what the token endpoint issues.
#[derive(Clone, Debug)]
pub struct TokenSettings {
    pub code_ttl: i64,
    pub access_token_ttl: i64,
    pub id_token_ttl: i64,
    pub refresh_idle_ttl: i64,
    pub refresh_absolute_ttl: i64,
    /// Seconds after a rotation during which the old refresh token still rotates (0: never).
    pub refresh_reuse_grace: i64,
}

/// RFC 6749 §5.1 (+ OIDC Core §3.1.3.3).
#[derive(Clone, Debug, Serialize)]
pub struct TokenResponse {
    pub access_token: String,
    pub token_type: &'static str,
    pub expires_in: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id_token: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refresh_token: Option<String>,
    pub scope: String,
}

/// What a user grant's tokens say: shared by the code and refresh grants.
pub(crate) struct Signed<'a> {
    pub user: &'a UserRecord,
    pub grant_id: &'a str,
    pub scopes: &'a Scopes,
    pub auth_time: i64,
    pub amr: &'a [String],
    pub sid: Option<&'a str>,
    pub idp: Option<&'a str>,
    /// Only in the id_token of a code exchange (OIDC Core §12.2: not on refresh).
    pub nonce: Option<&'a str>,
    /// The `resource` the token request named (RFC 8707), already checked.
    pub resource: Option<&'a str>,
    /// For the audit trail.
    pub grant_type: GrantType,
}

pub(crate) struct SignedTokens {
    access_token: String,
    id_token: Option<String>,
    scope: String,
}

/// The scopes a user's tokens carry: what was granted, less `admin` unless the account has
/// the admin role now (checked at every issue, so a demoted admin's refresh loses it).
pub fn scopes_for_user(granted: &Scopes, user: &UserRecord) -> Scopes {
    if user.role == crate::store::Role::Admin {
        granted.clone()
    } else {
        granted.without(crate::oauth::scope::ADMIN)
    }
}

impl Signed<'_> {
    /// The access token (RFC 9068), and an id_token when `openid` was granted.
    pub fn sign(
        &self,
        ctx: &OAuthContext<'_>,
        client: &Client,
    ) -> Result<SignedTokens, OAuthError> {
        let scopes = &scopes_for_user(self.scopes, self.user);
        let access = AccessClaims {
            iss: ctx.issuer.to_owned(),
            sub: self.user.id.clone(),
            aud: resource::audience_for(
                &client.record.access_token_audience,
                self.resource,
                scopes.contains(OPENID),
                ctx.issuer,
            )?,
            exp: ctx.now + ctx.settings.access_token_ttl,
            iat: ctx.now,
            jti: uuid::Uuid::new_v4().to_string(),
            client_id: client.id().to_owned(),
            scope: scopes.to_string(),
            auth_time: Some(self.auth_time),
            gid: self.grant_id.to_owned(),
            role: scopes
                .contains(crate::oauth::scope::ROLES)
                .then(|| self.user.role.as_str().to_owned()),
            account_epoch: Some(self.user.access_epoch),
        };
        let access_token = access_token::sign(ctx.keys, &access)?;
        let event = crate::audit::Event::new(crate::audit::EventKind::TokenIssued)
            .user(self.user.id.clone())
            .client(Some(client.id()))
            .with("grant_type", self.grant_type.as_str())
            .with("scope", access.scope.clone())
            .with("jti", access.jti.clone());
        ctx.audit.record(event, ctx.now);
        let id_token = if scopes.contains(OPENID) {
            let claims = id_token::IdTokenClaims {
                iss: ctx.issuer.to_owned(),
                sub: self.user.id.clone(),
                aud: client.id().to_owned(),
                exp: ctx.now + ctx.settings.id_token_ttl,
                iat: ctx.now,
                auth_time: self.auth_time,
                nonce: self.nonce.map(str::to_owned),
                at_hash: Some(id_token::at_hash(&access_token)),
                sid: self.sid.map(str::to_owned),
                amr: self.amr.to_vec(),
                acr: Some(crate::oauth::acr::acr_of(self.amr).to_owned()),
                idp: self.idp.map(str::to_owned),
                profile: claims::for_scopes(self.user, scopes),
            };
            let signed = id_token::sign(ctx.keys, client.id_token_alg, &claims).map_err(|e| {
                tracing::error!(error = %e, "cannot sign id_token");
                OAuthError::server_error()
            })?;
            Some(signed)
        } else {
            None
        };
        Ok(SignedTokens {
            access_token,
            id_token,
            scope: scopes.to_string(),
        })
    }
}

impl SignedTokens {
    pub fn into_response(
        self,
        ctx: &OAuthContext<'_>,
        refresh_token: Option<String>,
    ) -> TokenResponse {
        TokenResponse {
            access_token: self.access_token,
            token_type: "Bearer",
            expires_in: ctx.settings.access_token_ttl,
            id_token: self.id_token,
            refresh_token,
            scope: self.scope,
        }
    }
}

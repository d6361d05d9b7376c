//! Access tokens as JWTs (RFC 9068): `typ: at+jwt`, ES256 by default, verifiable by any
//! resource server from the JWKS.

use serde::{Deserialize, Serialize};

use crate::keys::{KeySet, SigningAlg};
use crate::store::{Store, UserRecord};

use super::error::{ErrorCode, OAuthError};
use super::resource::Audience;

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct AccessClaims {
    pub iss: String,
    pub sub: String,
    /// munjigi itself, or the resource servers the client registered (RFC 8707).
    pub aud: Audience,
    pub exp: i64,
    pub iat: i64,
    pub jti: String,
    pub client_id: String,
    pub scope: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub auth_time: Option<i64>,
    /// The grant this token came from: revoking the grant refuses the token.
    pub gid: String,
    /// The account's role, with the `roles` scope (for gateways and resource servers).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<String>,
    /// A person's token: the account's not-before counter when it was issued (absent from
    /// machine tokens). Ending the account's access raises the counter, refusing the token.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account_epoch: Option<i64>,
}

/// Whom an access token speaks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Holder<'a> {
    /// A machine client for itself (client_credentials, and the CLI's bootstrap token).
    Client(&'a str),
    /// A person, through the client in `client_id`.
    Account { id: &'a str, epoch: i64 },
}

impl AccessClaims {
    pub fn holder(&self) -> Holder<'_> {
        match self.account_epoch {
            Some(epoch) => Holder::Account {
                id: &self.sub,
                epoch,
            },
            None if self.sub == self.client_id => Holder::Client(&self.client_id),
            // Issued before tokens carried the counter (at most one access-token lifetime
            // after the upgrade): a person's, under the first value.
            None => Holder::Account {
                id: &self.sub,
                epoch: 0,
            },
        }
    }
}

/// A token that passed `validate`, with the account it speaks for as it is now (`None` for
/// a machine client's).
#[derive(Debug)]
pub struct Valid {
    pub claims: AccessClaims,
    pub account: Option<UserRecord>,
}

pub const TYP: &str = "at+jwt";
pub const ALG: SigningAlg = SigningAlg::Es256;

pub fn sign(keys: &KeySet, claims: &AccessClaims) -> Result<String, OAuthError> {
    crate::keys::jwt::sign(keys, ALG, TYP, claims).map_err(|e| {
        tracing::error!(error = %e, "cannot sign access token");
        OAuthError::server_error()
    })
}

/// Signature, `typ`, issuer and expiry. Revocation is the caller's to check (it needs the
/// store).
pub fn verify(
    keys: &KeySet,
    token: &str,
    issuer: &str,
    now: i64,
) -> Result<AccessClaims, OAuthError> {
    let invalid = |why: &'static str| OAuthError::new(ErrorCode::InvalidToken, why);
    let (claims, typ): (AccessClaims, _) = crate::keys::jwt::verify(keys, token)
        .map_err(|_| invalid("the access token is invalid"))?;
    if !typ.is_some_and(|t| {
        t.eq_ignore_ascii_case(TYP) || t.eq_ignore_ascii_case("application/at+jwt")
    }) {
        return Err(invalid("not an access token"));
    }
    if claims.iss != issuer {
        return Err(invalid("the access token is from another issuer"));
    }
    if claims.exp <= now {
        return Err(invalid("the access token has expired"));
    }
    Ok(claims)
}

/// The one check every endpoint of ours that accepts an access token makes (userinfo,
/// introspection, the gateway, the admin API): `verify`, not revoked (the token or its grant),
/// and for a person's token, an account that still exists, is not disabled, and has not had
/// its access ended since the token was issued (disabled, reset, password changed, "end all
/// sessions": `Accounts::end_access`). One database round trip.
pub async fn validate(
    store: &Store,
    keys: &KeySet,
    token: &str,
    issuer: &str,
    now: i64,
) -> Result<Valid, OAuthError> {
    let claims = verify(keys, token, issuer, now)?;
    let refused = |why: &'static str| Err(OAuthError::new(ErrorCode::InvalidToken, why));
    match claims.holder() {
        Holder::Client(_) => {
            if store
                .is_access_token_revoked(&claims.gid, &claims.jti)
                .await?
            {
                return refused("the access token has been revoked");
            }
            Ok(Valid {
                claims,
                account: None,
            })
        }
        Holder::Account { id, epoch } => {
            let standing = store
                .access_token_standing(&claims.gid, &claims.jti, id)
                .await?;
            if standing.revoked {
                return refused("the access token has been revoked");
            }
            match standing.account {
                Some(account) if !account.disabled && epoch >= account.access_epoch => Ok(Valid {
                    claims,
                    account: Some(account),
                }),
                Some(account) if !account.disabled => {
                    refused("the account was signed out after the access token was issued")
                }
                _ => refused("the account is no longer active"),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claims(sub: &str, client_id: &str, account_epoch: Option<i64>) -> AccessClaims {
        AccessClaims {
            iss: "https://id.example.com".into(),
            sub: sub.into(),
            aud: Audience::One("https://id.example.com".into()),
            exp: 2,
            iat: 1,
            jti: "j".into(),
            client_id: client_id.into(),
            scope: String::new(),
            auth_time: None,
            gid: "g".into(),
            role: None,
            account_epoch,
        }
    }

    #[test]
    fn a_token_speaks_for_a_person_or_for_its_client() {
        assert_eq!(
            claims("u1", "app", Some(3)).holder(),
            Holder::Account { id: "u1", epoch: 3 }
        );
        // A person's token names the person even where the ids look alike.
        assert_eq!(
            claims("app", "app", Some(0)).holder(),
            Holder::Account {
                id: "app",
                epoch: 0
            }
        );
        assert_eq!(claims("job", "job", None).holder(), Holder::Client("job"));
        // Issued before tokens carried the counter.
        assert_eq!(
            claims("u1", "app", None).holder(),
            Holder::Account { id: "u1", epoch: 0 }
        );
    }

    #[test]
    fn the_counter_is_only_in_a_persons_tokens() {
        let machine = serde_json::to_value(claims("job", "job", None)).unwrap_or_default();
        assert!(machine.get("account_epoch").is_none());
        let person = serde_json::to_value(claims("u1", "app", Some(2))).unwrap_or_default();
        assert_eq!(person["account_epoch"], 2);
    }
}

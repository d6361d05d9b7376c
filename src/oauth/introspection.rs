//! Token introspection (RFC 7662).

use serde_json::{Map, Value, json};

use super::access_token;
use super::client::Client;
use super::context::OAuthContext;
use super::error::OAuthError;
use super::secret::sha256_hex;

/// The introspection answer for `token` as asked by `client`. Access tokens are described to
/// any authenticated client (resource servers introspect tokens issued to others); refresh
/// tokens only to the client that holds them. Anything else is `{"active": false}`.
pub async fn introspect(
    ctx: &OAuthContext<'_>,
    client: &Client,
    token: &str,
) -> Result<Map<String, Value>, OAuthError> {
    let (store, issuer, now) = (ctx.store, ctx.issuer, ctx.now);
    // A public client proves nothing by its id alone: it may not learn about tokens (RFC
    // 7662 §2.1 wants the caller authorised).
    if client.is_public() {
        return Err(OAuthError::new(
            super::error::ErrorCode::InvalidClient,
            "introspection needs a confidential client",
        ));
    }
    let inactive = || {
        let mut m = Map::new();
        m.insert("active".into(), false.into());
        m
    };
    if token.split('.').count() == 3 {
        let valid = match access_token::validate(store, ctx.keys, token, issuer, now).await {
            Ok(v) => v,
            Err(e) if e.code == super::error::ErrorCode::TemporarilyUnavailable => return Err(e),
            Err(_) => return Ok(inactive()),
        };
        let claims = &valid.claims;
        let mut out = json!({
            "active": true,
            "token_type": "Bearer",
            "scope": claims.scope,
            "client_id": claims.client_id,
            "sub": claims.sub,
            "aud": claims.aud,
            "iss": claims.iss,
            "exp": claims.exp,
            "iat": claims.iat,
            "jti": claims.jti,
        });
        if let Some(role) = &claims.role {
            out["role"] = role.clone().into();
        }
        if let Some(user) = valid.account {
            out["username"] = user.username.into();
        }
        return Ok(match out {
            Value::Object(map) => map,
            _ => inactive(),
        });
    }
    match store.live_refresh_token(&sha256_hex(token), now).await? {
        Some(record) if record.client_id == client.id() => {
            let out = json!({
                "active": true,
                "token_type": "refresh_token",
                "scope": record.scope,
                "client_id": record.client_id,
                "sub": record.user_id,
                "iss": issuer,
                "exp": record.expires_at.min(record.family_expires_at),
                "iat": record.created_at,
            });
            Ok(match out {
                Value::Object(map) => map,
                _ => inactive(),
            })
        }
        _ => Ok(inactive()),
    }
}

//! Forward authentication for gateways (nginx `auth_request`, Traefik `ForwardAuth`, Envoy
//! `ext_authz`): is this Bearer access token good for what the gateway protects? The same
//! checks as every resource endpoint of ours (`access_token::validate`: signature, expiry,
//! revocation, the account still active and not signed out since), plus the scopes and
//! audience the gateway requires.

use super::access_token;
use super::context::OAuthContext;
use super::error::{ErrorCode, OAuthError};
use super::scope::Scopes;

/// What the gateway requires: every scope in `scopes`, and `audience` among the token's `aud`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Requirements {
    pub scopes: Scopes,
    pub audience: Option<String>,
}

impl Requirements {
    /// From the gateway's settings: `scope` (space-separated; repeated values add up) and
    /// `audience` (at most one), as query parameters or as `X-Require-*` headers.
    pub fn from_pairs<'a>(
        pairs: impl IntoIterator<Item = (&'a str, &'a str)>,
    ) -> Result<Self, OAuthError> {
        let mut out = Self::default();
        for (name, value) in pairs {
            match name {
                "scope" => {
                    let scopes = Scopes::parse(value).ok_or_else(|| {
                        OAuthError::invalid_request("the required scope is malformed")
                    })?;
                    out.scopes = out.scopes.union(&scopes);
                }
                "audience" if out.audience.as_deref().is_some_and(|a| a != value) => {
                    return Err(OAuthError::invalid_request("require one audience, not two"));
                }
                "audience" if !value.is_empty() => out.audience = Some(value.to_owned()),
                _ => {}
            }
        }
        Ok(out)
    }
}

/// Who the request is from, for the gateway to pass on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Identity {
    pub subject: String,
    pub subject_type: SubjectType,
    pub scope: String,
    pub client_id: String,
    /// A person's role (with the `roles` scope); never for a machine client.
    pub role: Option<String>,
}

/// Whether the subject is a person's account or a machine client acting for itself. Their
/// ids never collide (refused at creation), and the gateway says which it is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SubjectType {
    User,
    Client,
}

impl SubjectType {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::User => "user",
            Self::Client => "client",
        }
    }
}

/// The token's identity if it is valid and meets `required`: `invalid_token` when it is not
/// valid or not for the required audience, `insufficient_scope` (as `InvalidScope`) when a
/// scope is missing.
pub async fn verify(
    ctx: &OAuthContext<'_>,
    token: &str,
    required: &Requirements,
) -> Result<Identity, OAuthError> {
    let valid = access_token::validate(ctx.store, ctx.keys, token, ctx.issuer, ctx.now).await?;
    let subject_type = match valid.account {
        Some(_) => SubjectType::User,
        None => SubjectType::Client,
    };
    let claims = valid.claims;
    if let Some(audience) = &required.audience
        && !claims.aud.contains(audience)
    {
        return Err(OAuthError::new(
            ErrorCode::InvalidToken,
            "the access token is not for this audience",
        ));
    }
    let granted = Scopes::parse(&claims.scope).unwrap_or_default();
    if !required.scopes.is_subset_of(&granted) {
        return Err(OAuthError::new(
            ErrorCode::InvalidScope,
            "the access token lacks a required scope",
        ));
    }
    Ok(Identity {
        subject: claims.sub,
        subject_type,
        scope: claims.scope,
        client_id: claims.client_id,
        role: claims.role.filter(|_| subject_type == SubjectType::User),
    })
}

#[cfg(test)]
mod tests {
    use super::Requirements;

    #[test]
    fn requirements_add_up_scopes_and_take_one_audience() {
        let r = Requirements::from_pairs([
            ("scope", "api.read"),
            ("scope", "api.write api.read"),
            ("audience", "https://api.example.com"),
            ("other", "ignored"),
        ]);
        let Ok(r) = r else { panic!("{r:?}") };
        assert_eq!(r.scopes.to_string(), "api.read api.write");
        assert_eq!(r.audience.as_deref(), Some("https://api.example.com"));
        assert!(Requirements::from_pairs([("scope", "a\"b")]).is_err());
        assert!(
            Requirements::from_pairs([("audience", "https://a"), ("audience", "https://b")])
                .is_err()
        );
        assert_eq!(Requirements::from_pairs([]), Ok(Requirements::default()));
    }
}

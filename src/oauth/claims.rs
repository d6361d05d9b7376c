//! Which user claims each scope releases (OIDC Core §5.4).

use serde_json::{Map, Value};

use crate::oauth::scope::{EMAIL, PROFILE, ROLES, Scopes};
use crate::store::UserRecord;

/// Claims beyond `sub` for the granted scopes.
pub fn for_scopes(user: &UserRecord, scopes: &Scopes) -> Map<String, Value> {
    let mut claims = Map::new();
    if scopes.contains(PROFILE) {
        if let Some(name) = &user.name {
            claims.insert("name".into(), name.clone().into());
        }
        claims.insert("preferred_username".into(), user.username.clone().into());
        claims.insert("updated_at".into(), user.updated_at.into());
    }
    // An account without an address has nothing to release for `email` (OIDC Core §5.4:
    // claims that are not available are omitted).
    if scopes.contains(EMAIL)
        && let Some(email) = &user.email
    {
        claims.insert("email".into(), email.clone().into());
        claims.insert("email_verified".into(), user.email_verified.into());
    }
    if scopes.contains(ROLES) {
        claims.insert("role".into(), user.role.as_str().into());
    }
    claims
}

/// The claims this provider can release, for discovery.
pub const SUPPORTED: &[&str] = &[
    "iss",
    "sub",
    "aud",
    "exp",
    "iat",
    "auth_time",
    "nonce",
    "at_hash",
    "sid",
    "amr",
    "acr",
    "idp",
    "name",
    "preferred_username",
    "updated_at",
    "email",
    "email_verified",
    "role",
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn claims_follow_scopes() {
        let user = UserRecord {
            id: "u1".into(),
            username: "alice".into(),
            email: Some("Alice@Example.com".into()),
            email_verified: true,
            name: Some("Alice".into()),
            password_hash: None,
            role: crate::store::Role::User,
            disabled: false,
            access_epoch: 0,
            created_at: 1,
            updated_at: 2,
        };
        let none = for_scopes(&user, &Scopes::parse("openid").unwrap_or_default());
        assert!(none.is_empty());
        let all = for_scopes(
            &user,
            &Scopes::parse("openid profile email").unwrap_or_default(),
        );
        assert_eq!(all["preferred_username"], "alice");
        assert_eq!(all["email"], "Alice@Example.com");
        assert_eq!(all["email_verified"], true);
        assert!(!all.contains_key("password_hash"));
        assert!(!all.contains_key("role"), "role only with the roles scope");
        let roles = for_scopes(&user, &Scopes::parse("openid roles").unwrap_or_default());
        assert_eq!(roles["role"], "user");
    }
}

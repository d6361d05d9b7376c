//! Scopes (RFC 6749 §3.3): syntax checked by oxide-auth's `Scope`, kept here as an ordered,
//! de-duplicated list so that the `scope` strings we return are stable.

use std::fmt;

/// Scopes munjigi itself understands.
pub const OPENID: &str = "openid";
pub const PROFILE: &str = "profile";
pub const EMAIL: &str = "email";
pub const OFFLINE_ACCESS: &str = "offline_access";
/// The account's role (`user` or `admin`) as the `role` claim.
pub const ROLES: &str = "roles";
/// The admin API (`/admin/api/v1`): only ever in the tokens of accounts with role `admin`.
pub const ADMIN: &str = "admin";

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Scopes(Vec<String>);

impl Scopes {
    /// Parses a space-separated scope string; `None` if it breaks RFC 6749's scope syntax.
    pub fn parse(value: &str) -> Option<Self> {
        value.parse::<oxide_auth::primitives::scope::Scope>().ok()?;
        let mut tokens: Vec<String> = Vec::new();
        for token in value.split(' ').filter(|t| !t.is_empty()) {
            if !tokens.iter().any(|t| t == token) {
                tokens.push(token.to_owned());
            }
        }
        Some(Self(tokens))
    }

    pub fn contains(&self, scope: &str) -> bool {
        self.0.iter().any(|s| s == scope)
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn iter(&self) -> impl Iterator<Item = &str> {
        self.0.iter().map(String::as_str)
    }

    /// The scopes of `self` that `allowed` also has, in `self`'s order.
    pub fn intersect(&self, allowed: &Scopes) -> Scopes {
        Scopes(
            self.0
                .iter()
                .filter(|s| allowed.contains(s))
                .cloned()
                .collect(),
        )
    }

    pub fn is_subset_of(&self, other: &Scopes) -> bool {
        self.0.iter().all(|s| other.contains(s))
    }

    pub fn union(&self, other: &Scopes) -> Scopes {
        let mut out = self.0.clone();
        out.extend(other.0.iter().filter(|s| !self.contains(s)).cloned());
        Scopes(out)
    }

    pub fn without(&self, scope: &str) -> Scopes {
        Scopes(self.0.iter().filter(|s| *s != scope).cloned().collect())
    }
}

impl fmt::Display for Scopes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0.join(" "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_dedups_and_keeps_order() {
        let s = Scopes::parse("openid  email openid profile").unwrap_or_default();
        assert_eq!(s.to_string(), "openid email profile");
        assert!(Scopes::parse("openid \"quoted\"").is_none());
        assert!(Scopes::parse("back\\slash").is_none());
        let allowed = Scopes::parse("openid profile").unwrap_or_default();
        assert_eq!(s.intersect(&allowed).to_string(), "openid profile");
        assert!(!s.is_subset_of(&allowed));
        assert!(allowed.is_subset_of(&s));
    }
}

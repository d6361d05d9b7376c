//! Resource indicators (RFC 8707): which resource servers an access token is for (`aud`).

/// RFC 8707 §2: an absolute URI without a fragment (a query is discouraged, not forbidden).
pub fn check_resource(resource: &str) -> Result<(), String> {
    let url = url::Url::parse(resource)
        .map_err(|_| format!("resource {resource:?} is not an absolute URI"))?;
    if url.fragment().is_some() {
        return Err(format!("resource {resource:?} must not have a fragment"));
    }
    if url.cannot_be_a_base() && !resource.starts_with("urn:") {
        return Err(format!("resource {resource:?} is not a hierarchical URI"));
    }
    Ok(())
}

/// A `resource` parameter names munjigi itself or a resource the client registered; checked
/// before a grant uses anything up, so a refused request leaves its code or token as it was.
pub fn check_requested(
    registered: &[String],
    requested: Option<&str>,
    issuer: &str,
) -> Result<(), super::error::OAuthError> {
    match requested {
        Some(resource) if resource != issuer && !registered.iter().any(|r| r == resource) => {
            Err(super::error::OAuthError::new(
                super::error::ErrorCode::InvalidTarget,
                "this client may not ask for that resource",
            ))
        }
        _ => Ok(()),
    }
}

/// The `aud` of an access token: one value, or several (RFC 7519 §4.1.3).
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(untagged)]
pub enum Audience {
    One(String),
    Many(Vec<String>),
}

impl Audience {
    pub fn contains(&self, value: &str) -> bool {
        match self {
            Self::One(one) => one == value,
            Self::Many(many) => many.iter().any(|a| a == value),
        }
    }

    fn from_list(mut list: Vec<String>) -> Self {
        match list.len() {
            1 => Self::One(list.remove(0)),
            _ => Self::Many(list),
        }
    }
}

/// Who an access token is for (RFC 8707, RFC 9068 §3): the one `resource` the request named,
/// which the client must have registered (`invalid_target` otherwise; munjigi's own issuer is
/// always allowed); without one, every
/// resource the client registered; without those, munjigi itself. A token that carries
/// `openid` is also for munjigi, whose userinfo endpoint it may call.
pub fn audience_for(
    registered: &[String],
    requested: Option<&str>,
    openid: bool,
    issuer: &str,
) -> Result<Audience, super::error::OAuthError> {
    check_requested(registered, requested, issuer)?;
    let mut list = match requested {
        Some(resource) => vec![resource.to_owned()],
        None => registered.to_vec(),
    };
    if list.is_empty() || (openid && !list.iter().any(|a| a == issuer)) {
        list.push(issuer.to_owned());
    }
    Ok(Audience::from_list(list))
}

#[cfg(test)]
mod tests {
    use super::*;

    const ISSUER: &str = "https://id.example.com";

    #[test]
    fn resources_are_absolute_without_fragments() {
        assert!(check_resource("https://api.example.com").is_ok());
        assert!(check_resource("https://api.example.com/v1").is_ok());
        assert!(check_resource("urn:example:billing").is_ok());
        assert!(check_resource("/relative").is_err());
        assert!(check_resource("https://api.example.com/#x").is_err());
    }

    #[test]
    fn the_audience_is_what_the_client_registered_and_asked_for() {
        let registered = vec![
            "https://api.example.com".to_owned(),
            "https://billing.example.com".to_owned(),
        ];
        let one = |s: &str| Audience::One(s.to_owned());
        // Nothing registered: munjigi itself, as before resource indicators.
        assert_eq!(audience_for(&[], None, true, ISSUER), Ok(one(ISSUER)));
        assert_eq!(
            audience_for(&registered, Some("https://api.example.com"), false, ISSUER),
            Ok(one("https://api.example.com"))
        );
        assert_eq!(
            audience_for(&registered, Some("https://api.example.com"), true, ISSUER),
            Ok(Audience::Many(vec![
                "https://api.example.com".into(),
                ISSUER.into()
            ]))
        );
        assert_eq!(
            audience_for(&registered, None, false, ISSUER),
            Ok(Audience::Many(registered.clone()))
        );
        let refused = audience_for(&registered, Some("https://evil.example"), false, ISSUER);
        assert_eq!(
            refused.map_err(|e| e.code),
            Err(super::super::error::ErrorCode::InvalidTarget)
        );
        assert_eq!(
            audience_for(&[], Some("https://api.example.com"), false, ISSUER).map_err(|e| e.code),
            Err(super::super::error::ErrorCode::InvalidTarget),
            "only registered resources"
        );
        assert_eq!(
            audience_for(&[], Some(ISSUER), false, ISSUER),
            Ok(one(ISSUER))
        );
    }
}

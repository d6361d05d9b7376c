//! Request parameters (RFC 6749 §3.1): form-urlencoded pairs, each sent at most once, an empty
//! value the same as an absent one.

use super::error::OAuthError;

/// Longest value accepted for any one parameter.
const MAX_PARAM_LEN: usize = 4096;

/// The pairs of a query string or form body, in order.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Params(Vec<(String, String)>);

/// Values can be codes, secrets and tokens: only the names are shown.
impl std::fmt::Debug for Params {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list()
            .entries(self.0.iter().map(|(k, _)| k))
            .finish()
    }
}

impl Params {
    pub fn decode(bytes: &[u8]) -> Self {
        Self(url::form_urlencoded::parse(bytes).into_owned().collect())
    }

    /// The value of a parameter sent once; `Ok(None)` when absent or empty, an error when
    /// repeated or longer than any legitimate value.
    pub fn single(&self, name: &str) -> Result<Option<&str>, OAuthError> {
        let mut values = self.values(name);
        let first = values.next();
        if values.next().is_some() {
            return Err(OAuthError::invalid_request(format!("{name} is repeated")));
        }
        match first {
            Some(v) if v.len() > MAX_PARAM_LEN => {
                Err(OAuthError::invalid_request(format!("{name} is too long")))
            }
            Some(v) if v.chars().any(char::is_control) => Err(OAuthError::invalid_request(
                format!("{name} contains a control character"),
            )),
            Some("") => Ok(None),
            other => Ok(other),
        }
    }

    /// The first non-empty value, for choices made before the request is validated (the
    /// language of an error page).
    pub fn first(&self, name: &str) -> Option<&str> {
        self.values(name).find(|v| !v.is_empty())
    }

    /// Refuses a request that repeats any parameter, known or not.
    pub fn refuse_repeated(&self) -> Result<(), OAuthError> {
        let mut seen = std::collections::HashSet::new();
        match self.0.iter().find(|(name, _)| !seen.insert(name.as_str())) {
            Some((name, _)) => Err(OAuthError::invalid_request(format!("{name} is repeated"))),
            None => Ok(()),
        }
    }

    fn values<'a>(&'a self, name: &str) -> impl Iterator<Item = &'a str> {
        self.0
            .iter()
            .filter(move |(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

impl<K: Into<String>, V: Into<String>> FromIterator<(K, V)> for Params {
    fn from_iter<I: IntoIterator<Item = (K, V)>>(iter: I) -> Self {
        Self(
            iter.into_iter()
                .map(|(k, v)| (k.into(), v.into()))
                .collect(),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_and_refuses_repeats() {
        let p = Params::decode(b"a=1&b=x+y&c=%26&e=");
        assert_eq!(p.single("b").ok().flatten(), Some("x y"));
        assert_eq!(p.single("c").ok().flatten(), Some("&"));
        assert_eq!(p.single("e").ok().flatten(), None, "empty is absent");
        assert_eq!(p.single("zz").ok().flatten(), None);
        assert!(p.refuse_repeated().is_ok());
        let twice = Params::decode(b"a=1&b=2&a=3");
        let err = twice.refuse_repeated().err().map(|e| e.to_string());
        assert_eq!(err.as_deref(), Some("invalid_request: a is repeated"));
        assert!(twice.single("a").is_err());
        assert_eq!(twice.first("a"), Some("1"));
        assert!(
            Params::decode(b"client_id=a%00b")
                .single("client_id")
                .is_err()
        );
        assert!(Params::decode(b"state=a%0D%0Ab").single("state").is_err());
        let long = Params::decode(format!("s={}", "x".repeat(MAX_PARAM_LEN + 1)).as_bytes());
        assert!(long.single("s").is_err());
        assert_eq!(
            format!("{:?}", Params::decode(b"code=secret")),
            "[\"code\"]"
        );
    }
}

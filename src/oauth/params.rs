//! Request parameters (RFC 6749 §3.1): form-urlencoded pairs, each sent at most once.

use super::error::OAuthError;

/// The pairs of a query string or form body, in order.
pub fn decode(bytes: &[u8]) -> Vec<(String, String)> {
    url::form_urlencoded::parse(bytes).into_owned().collect()
}

/// Refuses a request that repeats any parameter, known or not.
pub fn refuse_repeated(params: &[(String, String)]) -> Result<(), OAuthError> {
    let mut seen = std::collections::HashSet::new();
    match params.iter().find(|(name, _)| !seen.insert(name.as_str())) {
        Some((name, _)) => Err(OAuthError::invalid_request(format!("{name} is repeated"))),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_and_refuses_repeats() {
        let p = decode(b"a=1&b=x+y&c=%26");
        assert_eq!(p[1], ("b".to_owned(), "x y".to_owned()));
        assert!(refuse_repeated(&p).is_ok());
        let err = refuse_repeated(&decode(b"a=1&b=2&a=3"))
            .err()
            .map(|e| e.to_string());
        assert_eq!(err.as_deref(), Some("invalid_request: a is repeated"));
    }
}

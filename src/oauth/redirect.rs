//! Responses by redirect to a client's (already validated) redirect URI, always with `iss`
//! (RFC 9207). Parameters are added to any query the registered URI has (RFC 6749 §3.1.2).

use super::error::OAuthError;

pub fn success(redirect_uri: &str, code: &str, state: Option<&str>, issuer: &str) -> String {
    build(
        redirect_uri,
        &[
            ("code", Some(code)),
            ("state", state),
            ("iss", Some(issuer)),
        ],
    )
}

pub fn error(redirect_uri: &str, error: &OAuthError, state: Option<&str>, issuer: &str) -> String {
    build(
        redirect_uri,
        &[
            ("error", Some(error.code.as_str())),
            ("error_description", Some(&error.description)),
            ("state", state),
            ("iss", Some(issuer)),
        ],
    )
}

fn build(redirect_uri: &str, params: &[(&str, Option<&str>)]) -> String {
    let mut query = url::form_urlencoded::Serializer::new(String::new());
    for (name, value) in params {
        if let Some(value) = value {
            query.append_pair(name, value);
        }
    }
    let query = query.finish();
    // The URI is one the client registered (never with a fragment): append without
    // re-serialising it, so it stays byte for byte what was registered.
    let separator = match redirect_uri.find('?') {
        None => "?",
        Some(_) if redirect_uri.ends_with('?') || redirect_uri.ends_with('&') => "",
        Some(_) => "&",
    };
    format!("{redirect_uri}{separator}{query}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::oauth::error::ErrorCode;

    #[test]
    fn keeps_the_registered_query_and_adds_iss() {
        assert_eq!(
            success("https://app/cb?tenant=a", "c0de", Some("x y"), "https://id"),
            "https://app/cb?tenant=a&code=c0de&state=x+y&iss=https%3A%2F%2Fid"
        );
        let e = OAuthError::new(ErrorCode::AccessDenied, "no");
        assert_eq!(
            error("http://127.0.0.1/cb", &e, None, "https://id"),
            "http://127.0.0.1/cb?error=access_denied&error_description=no&iss=https%3A%2F%2Fid"
        );
    }
}

//! PKCE (RFC 7636) through oxide-auth's extension: S256 only (`plain` refused), constant-time
//! verification. We add the format checks of §4.1–4.2 that it leaves out. The encoded
//! challenge it returns is stored as is and handed back to it at the token endpoint.

use std::borrow::Cow;

use oxide_auth::code_grant::extensions::Pkce;
use oxide_auth::primitives::grant::Value;

use super::error::OAuthError;

/// The stored form of an accepted challenge.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredChallenge(pub String);

/// §4.1/§4.2: 43–128 characters of `[A-Z] / [a-z] / [0-9] / "-" / "." / "_" / "~"`.
fn well_formed(value: &str) -> bool {
    (43..=128).contains(&value.len())
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~'))
}

/// Checks the authorization request's challenge. `required` for public clients.
pub fn accept_challenge(
    method: Option<&str>,
    challenge: Option<&str>,
    required: bool,
) -> Result<Option<StoredChallenge>, OAuthError> {
    match (method, challenge) {
        (_, None) if required => Err(OAuthError::invalid_request(
            "code_challenge (PKCE, S256) is required for this client",
        )),
        (Some(_), None) => Err(OAuthError::invalid_request(
            "code_challenge_method without code_challenge",
        )),
        (_, None) => Ok(None),
        (method, Some(challenge)) => {
            // RFC 7636 §4.3 makes `plain` the default; we do not support it, so the method
            // must be stated.
            if method != Some("S256") {
                return Err(OAuthError::invalid_request(
                    "code_challenge_method must be S256 (plain is not supported)",
                ));
            }
            if !well_formed(challenge) || challenge.len() != 43 {
                return Err(OAuthError::invalid_request(
                    "code_challenge is not a base64url SHA-256",
                ));
            }
            let value = Pkce::required()
                .challenge(Some(Cow::Borrowed("S256")), Some(Cow::Borrowed(challenge)))
                .map_err(|()| OAuthError::invalid_request("unsupported code challenge"))?;
            match value.and_then(|v| v.into_private_value().ok().flatten()) {
                Some(encoded) => Ok(Some(StoredChallenge(encoded))),
                None => Err(OAuthError::server_error()),
            }
        }
    }
}

/// Checks the token request's verifier against the stored challenge (if any was made).
pub fn verify(stored: Option<&StoredChallenge>, verifier: Option<&str>) -> Result<(), OAuthError> {
    match (stored, verifier) {
        (None, None) => Ok(()),
        (None, Some(_)) => Err(OAuthError::invalid_grant(
            "code_verifier sent but no code_challenge was made",
        )),
        (Some(_), None) => Err(OAuthError::invalid_grant("code_verifier is required")),
        (Some(stored), Some(verifier)) => {
            if !well_formed(verifier) {
                return Err(OAuthError::invalid_grant("code_verifier is malformed"));
            }
            Pkce::required()
                .verify(
                    Some(Value::private(Some(stored.0.clone()))),
                    Some(Cow::Borrowed(verifier)),
                )
                .map_err(|()| {
                    OAuthError::invalid_grant("code_verifier does not match code_challenge")
                })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // RFC 7636 Appendix B
    const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
    const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

    #[test]
    fn s256_round_trip_with_rfc_vector() {
        let stored = accept_challenge(Some("S256"), Some(CHALLENGE), true)
            .ok()
            .flatten();
        assert!(stored.is_some());
        assert!(verify(stored.as_ref(), Some(VERIFIER)).is_ok());
        let wrong = verify(
            stored.as_ref(),
            Some("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXK"),
        );
        assert_eq!(
            wrong.err().map(|e| e.code),
            Some(super::super::error::ErrorCode::InvalidGrant)
        );
        assert!(verify(stored.as_ref(), None).is_err());
    }

    #[test]
    fn plain_missing_and_malformed_are_refused() {
        assert!(accept_challenge(Some("plain"), Some(CHALLENGE), false).is_err());
        assert!(
            accept_challenge(None, Some(CHALLENGE), false).is_err(),
            "implicit plain"
        );
        assert!(
            accept_challenge(None, None, true).is_err(),
            "public client without PKCE"
        );
        assert!(matches!(accept_challenge(None, None, false), Ok(None)));
        assert!(accept_challenge(Some("S256"), Some("short"), false).is_err());
        assert!(verify(None, Some(VERIFIER)).is_err());
        assert!(verify(None, None).is_ok());
    }
}

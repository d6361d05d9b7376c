//! Error codes of RFC 6749 §4.1.2.1 and §5.2, OIDC Core §3.1.2.6 and RFC 6750 §3.1.

use std::borrow::Cow;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ErrorCode {
    /// RFC 6749 §4.1.2.1, §5.2
    InvalidRequest,
    /// RFC 6749 §5.2: client authentication failed (HTTP 401)
    InvalidClient,
    /// RFC 6749 §5.2: bad, expired, revoked or foreign code or refresh token
    InvalidGrant,
    /// RFC 6749 §4.1.2.1, §5.2
    UnauthorizedClient,
    /// RFC 6749 §5.2
    UnsupportedGrantType,
    /// RFC 6749 §4.1.2.1
    UnsupportedResponseType,
    /// RFC 6749 §4.1.2.1, §5.2
    InvalidScope,
    /// RFC 6749 §4.1.2.1
    AccessDenied,
    /// RFC 6749 §4.1.2.1
    ServerError,
    /// RFC 6749 §4.1.2.1
    TemporarilyUnavailable,
    /// OIDC Core §3.1.2.6
    LoginRequired,
    /// OIDC Core §3.1.2.6
    ConsentRequired,
    /// OIDC Core §3.1.2.6
    InteractionRequired,
    /// OIDC Core §3.1.2.6
    RequestNotSupported,
    /// OIDC Core §3.1.2.6
    RequestUriNotSupported,
    /// RFC 6750 §3.1
    InvalidToken,
    /// RFC 8707 §2: a `resource` the client may not ask for
    InvalidTarget,
}

impl ErrorCode {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::InvalidRequest => "invalid_request",
            Self::InvalidClient => "invalid_client",
            Self::InvalidGrant => "invalid_grant",
            Self::UnauthorizedClient => "unauthorized_client",
            Self::UnsupportedGrantType => "unsupported_grant_type",
            Self::UnsupportedResponseType => "unsupported_response_type",
            Self::InvalidScope => "invalid_scope",
            Self::AccessDenied => "access_denied",
            Self::ServerError => "server_error",
            Self::TemporarilyUnavailable => "temporarily_unavailable",
            Self::LoginRequired => "login_required",
            Self::ConsentRequired => "consent_required",
            Self::InteractionRequired => "interaction_required",
            Self::RequestNotSupported => "request_not_supported",
            Self::RequestUriNotSupported => "request_uri_not_supported",
            Self::InvalidToken => "invalid_token",
            Self::InvalidTarget => "invalid_target",
        }
    }

    /// Status at the token endpoint (RFC 6749 §5.2): 401 for client authentication, 500/503
    /// for our own failures, 400 otherwise.
    pub fn token_status(self) -> u16 {
        match self {
            Self::InvalidClient | Self::InvalidToken => 401,
            Self::ServerError => 500,
            Self::TemporarilyUnavailable => 503,
            _ => 400,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{}: {description}", code.as_str())]
pub struct OAuthError {
    pub code: ErrorCode,
    pub description: Cow<'static, str>,
    /// Seconds to wait: the answer becomes 429 with `Retry-After`.
    pub retry_after: Option<u64>,
}

impl OAuthError {
    /// The description is kept to RFC 6749 §5.2's characters (printable ASCII without `"` and
    /// `\`): it can echo what a request sent, and it travels in JSON, URLs and headers.
    pub fn new(code: ErrorCode, description: impl Into<Cow<'static, str>>) -> Self {
        let description = description.into();
        let allowed = |c: char| matches!(c, '\x20'..='\x21' | '\x23'..='\x5B' | '\x5D'..='\x7E');
        let description = if description.chars().all(allowed) {
            description
        } else {
            Cow::Owned(
                description
                    .chars()
                    .map(|c| if allowed(c) { c } else { '?' })
                    .collect(),
            )
        };
        Self {
            code,
            description,
            retry_after: None,
        }
    }

    /// The same error, answered 429 with `Retry-After: secs`.
    pub fn retry_after(mut self, secs: i64) -> Self {
        self.retry_after = Some(secs.max(1).unsigned_abs());
        self
    }

    pub fn invalid_request(description: impl Into<Cow<'static, str>>) -> Self {
        Self::new(ErrorCode::InvalidRequest, description)
    }

    pub fn invalid_grant(description: impl Into<Cow<'static, str>>) -> Self {
        Self::new(ErrorCode::InvalidGrant, description)
    }

    pub fn invalid_client() -> Self {
        Self::new(ErrorCode::InvalidClient, "client authentication failed")
    }

    pub fn server_error() -> Self {
        Self::new(
            ErrorCode::ServerError,
            "the server could not complete the request",
        )
    }
}

impl From<crate::store::StoreError> for OAuthError {
    fn from(e: crate::store::StoreError) -> Self {
        if e.is_bad_input() {
            return Self::invalid_request("a parameter has a value that cannot be used");
        }
        if !e.is_known_outage() {
            tracing::error!(error = %e, "store error");
        }
        Self::new(
            ErrorCode::TemporarilyUnavailable,
            "storage is unavailable; try again",
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn descriptions_keep_to_the_allowed_characters() {
        let e = OAuthError::invalid_request(format!("bad value {:?}", "x\\y\"é\n"));
        assert_eq!(e.description, "bad value ?x??y????n?");
        assert_eq!(
            OAuthError::invalid_client().description,
            "client authentication failed"
        );
    }
}

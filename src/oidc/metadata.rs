//! Provider metadata (OpenID Connect Discovery 1.0 §3, RFC 8414 §2).
//!
//! Every member is stated explicitly, and an endpoint is listed only once its route exists:
//! relying parties act on what discovery says.

use serde::Serialize;

use crate::config::Issuer;
use crate::keys::SigningAlg;
use crate::oauth::claims;
use crate::oauth::client::AuthMethod;
use crate::oauth::grant::GrantType;
use crate::oauth::scope;

/// Paths of the endpoints, relative to the issuer. The router mounts the same constants.
pub mod paths {
    pub const DISCOVERY: &str = "/.well-known/openid-configuration";
    pub const AUTHORIZATION_SERVER_METADATA: &str = "/.well-known/oauth-authorization-server";
    pub const JWKS: &str = "/jwks.json";
    pub const AUTHORIZE: &str = "/authorize";
    pub const TOKEN: &str = "/token";
    pub const USERINFO: &str = "/userinfo";
    pub const REVOKE: &str = "/revoke";
    pub const END_SESSION: &str = "/end_session";
    pub const INTROSPECT: &str = "/introspect";
}

#[derive(Debug, Clone, Serialize)]
pub struct ProviderMetadata {
    pub issuer: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub authorization_endpoint: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub token_endpoint: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub userinfo_endpoint: Option<String>,
    pub end_session_endpoint: String,
    pub backchannel_logout_supported: bool,
    pub backchannel_logout_session_supported: bool,
    pub revocation_endpoint: String,
    pub revocation_endpoint_auth_methods_supported: Vec<&'static str>,
    pub introspection_endpoint: String,
    pub introspection_endpoint_auth_methods_supported: Vec<&'static str>,
    pub jwks_uri: String,
    pub scopes_supported: Vec<&'static str>,
    pub response_types_supported: Vec<&'static str>,
    pub response_modes_supported: Vec<&'static str>,
    pub grant_types_supported: Vec<&'static str>,
    pub subject_types_supported: Vec<&'static str>,
    pub id_token_signing_alg_values_supported: Vec<&'static str>,
    pub token_endpoint_auth_methods_supported: Vec<&'static str>,
    pub claims_supported: Vec<&'static str>,
    pub prompt_values_supported: Vec<&'static str>,
    pub acr_values_supported: Vec<&'static str>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub userinfo_signing_alg_values_supported: Vec<&'static str>,
    pub code_challenge_methods_supported: Vec<&'static str>,
    pub claims_parameter_supported: bool,
    pub request_parameter_supported: bool,
    pub request_uri_parameter_supported: bool,
    pub require_request_uri_registration: bool,
    pub authorization_response_iss_parameter_supported: bool,
    pub ui_locales_supported: Vec<&'static str>,
}

fn client_auth_methods() -> Vec<&'static str> {
    AuthMethod::ALL.iter().map(|m| m.as_str()).collect()
}

impl ProviderMetadata {
    pub fn new(issuer: &Issuer) -> Self {
        Self {
            issuer: issuer.as_str().to_owned(),
            authorization_endpoint: Some(issuer.endpoint(paths::AUTHORIZE)),
            token_endpoint: Some(issuer.endpoint(paths::TOKEN)),
            userinfo_endpoint: Some(issuer.endpoint(paths::USERINFO)),
            end_session_endpoint: issuer.endpoint(paths::END_SESSION),
            backchannel_logout_supported: true,
            backchannel_logout_session_supported: true,
            revocation_endpoint: issuer.endpoint(paths::REVOKE),
            revocation_endpoint_auth_methods_supported: client_auth_methods(),
            introspection_endpoint: issuer.endpoint(paths::INTROSPECT),
            introspection_endpoint_auth_methods_supported: client_auth_methods(),
            jwks_uri: issuer.endpoint(paths::JWKS),
            scopes_supported: vec![
                scope::OPENID,
                scope::PROFILE,
                scope::EMAIL,
                scope::OFFLINE_ACCESS,
                scope::ROLES,
            ],
            response_types_supported: vec!["code"],
            response_modes_supported: vec!["query"],
            grant_types_supported: GrantType::ALL.iter().map(|g| g.as_str()).collect(),
            subject_types_supported: vec!["public"],
            id_token_signing_alg_values_supported: SigningAlg::DEFAULTS
                .iter()
                .map(|a| a.as_str())
                .collect(),
            token_endpoint_auth_methods_supported: client_auth_methods(),
            claims_supported: claims::SUPPORTED.to_vec(),
            prompt_values_supported: vec!["none", "login", "consent", "select_account"],
            acr_values_supported: crate::oauth::acr::SUPPORTED.to_vec(),
            userinfo_signing_alg_values_supported: vec![],
            code_challenge_methods_supported: vec!["S256"],
            claims_parameter_supported: false,
            request_parameter_supported: false,
            request_uri_parameter_supported: false,
            require_request_uri_registration: false,
            authorization_response_iss_parameter_supported: true,
            ui_locales_supported: vec!["ko", "en"],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;

    #[test]
    fn metadata_states_the_protocol_choices() {
        let Ok(config) = Config::builder()
            .issuer("https://id.example.com/tenant")
            .build()
        else {
            panic!("valid config");
        };
        let doc = serde_json::to_value(ProviderMetadata::new(&config.issuer)).unwrap_or_default();
        assert_eq!(doc["issuer"], "https://id.example.com/tenant");
        assert_eq!(doc["jwks_uri"], "https://id.example.com/tenant/jwks.json");
        assert_eq!(doc["response_types_supported"], serde_json::json!(["code"]));
        assert_eq!(
            doc["code_challenge_methods_supported"],
            serde_json::json!(["S256"])
        );
        assert_eq!(doc["request_uri_parameter_supported"], false);
        assert_eq!(doc["authorization_response_iss_parameter_supported"], true);
        let grants = doc["grant_types_supported"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        assert!(!grants.contains(&"implicit".into()));
    }
}

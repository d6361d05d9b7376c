//! OAuth 2.0 protocol rules (RFC 6749, 6750, 7636, 9068, 9207, 9700). No axum here.

pub mod access_token;
pub mod acr;
pub mod authorize;
pub mod claims;
pub mod client;
mod client_admin;
pub mod client_auth;
pub mod client_cache;
pub mod client_update;
pub mod context;
pub mod cors;
pub mod error;
pub mod forward_auth;
pub mod grant;
pub mod id_token;
pub mod introspection;
pub mod params;
pub mod pkce;
pub mod redirect;
pub mod resource;
pub mod revocation;
pub mod scope;
pub mod secret;
pub mod sign_in;

//! OpenID Connect on top of the OAuth core: id_tokens, claims, metadata.

pub mod acr;
pub mod backchannel;
pub mod claims;
pub mod id_token;
pub mod logout;
pub mod metadata;
pub mod userinfo;

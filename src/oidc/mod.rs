//! OpenID Connect's own endpoints on top of the OAuth core: userinfo, logout (RP-initiated
//! and back-channel), metadata. What the core itself needs of OpenID Connect to answer
//! `/authorize` and issue tokens (`acr`/`amr`, ID tokens and their hints, claims) sits in
//! `oauth`, so the core depends on nothing above it.

pub mod backchannel;
pub mod logout;
pub mod metadata;
pub mod userinfo;

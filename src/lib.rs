//! munjigi (문지기): an OpenID Connect provider.
//!
//! Dependency direction: `http → {oauth, oidc, account, keys} → store`. Nothing below `http`
//! knows axum, askama or tower-sessions.

pub mod account;
pub mod app;
pub mod audit;
pub mod cli;
pub mod clock;
pub mod config;
pub mod federation;
pub mod http;
pub mod keys;
pub mod listener;
pub mod mail;
pub mod metrics;
pub mod oauth;
pub mod oidc;
pub mod sign_in;
pub mod store;
pub mod telemetry;

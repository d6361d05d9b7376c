//! munjigi (문지기): an OpenID Connect provider.
//!
//! Dependency direction: `http → {oidc, keys} → store`. Nothing below `http` knows axum.

pub mod app;
pub mod cli;
pub mod clock;
pub mod config;
pub mod http;
pub mod keys;
pub mod oidc;
pub mod store;
pub mod telemetry;

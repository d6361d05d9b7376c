//! Integration tests: one binary (faster to link), one module per area.

// Test code states what it expects with `.expect("why")`; clippy.toml allows that only inside
// `#[test]` functions, and these helpers are plain functions.
#![allow(clippy::expect_used, clippy::unwrap_used)]

mod common;

mod abuse;
mod access_ends;
mod account_page;
mod admin_api;
mod audience_roles;
mod authorize_steps;
mod browser;
mod cli;
mod cli_users;
mod cors;
mod discovery_jwks;
mod federation;
mod federation_linking;
mod gateway;
mod hostile;
mod housekeeping;
mod keys;
mod lifecycle;
mod logout;
mod mail;
mod observability;
mod ops;
#[cfg(feature = "otlp")]
mod otlp;
mod pages;
mod passkey_safety;
mod passkeys;
mod readiness;
mod sign_in;
mod sign_in_safety;
mod tokens;
mod two_factor;

//! Integration tests: one binary (faster to link), one module per area.

mod common;

mod browser;
mod cli;
mod discovery_jwks;
mod keys;
mod lifecycle;
mod logout;
mod ops;
mod pages;
mod readiness;
mod sign_in;
mod tokens;

pub mod discovery;
pub mod jwks;

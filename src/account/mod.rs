//! People: passwords, accounts, sign-in throttling.

pub mod password;
pub mod throttle;
pub mod user;

//! People: passwords, accounts, signing in, sign-in throttling.

pub mod admin;
pub mod links;
pub mod passkeys;
pub mod password;
pub mod proof_of_address;
pub mod reauth;
pub mod second_factor;
pub mod self_service;
pub mod sessions;
pub mod sign_in;
pub mod throttle;
pub mod totp;
pub mod user;
pub mod ways_in;

use crate::store::Store;

use throttle::LoginThrottle;

/// What account operations need from the server.
pub struct Accounts<'a> {
    pub store: &'a Store,
    pub throttle: &'a LoginThrottle,
}

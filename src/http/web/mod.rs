//! The HTML pages: language negotiation, texts and askama views.
pub mod account;
pub mod account_forms;
pub mod consent;
pub mod federation;
pub mod i18n;
pub mod login;
pub mod logout;
pub mod mail_links;
pub mod page;
pub mod passkeys;
pub mod second_factor;
pub mod sign_in;
pub mod signup;
pub mod texts;
pub mod texts_account;
pub mod texts_passkeys;
pub mod views;

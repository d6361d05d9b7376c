//! The HTML pages: language negotiation, texts and askama views.
pub mod consent;
pub mod i18n;
pub mod login;
pub mod logout;
pub mod page;
pub mod signup;
pub mod views;

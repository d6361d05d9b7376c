pub mod authorize;
mod form;
pub mod introspect;
pub mod revoke;
pub mod token;

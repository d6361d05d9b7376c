pub mod authorize;
// Public (hidden) for the fuzz targets (fuzz/), which call `form::parse`.
#[doc(hidden)]
pub mod form;
pub mod introspect;
pub mod revoke;
pub mod token;

//! The authorization endpoint (RFC 6749 §4.1.1, OIDC Core §3.1.2): validating a request,
//! deciding its next step, and issuing the code.

pub mod flow;
pub mod next_step;
pub mod request;

pub use next_step::{ConsentAnswer, LoginReason, Next, Pending};
pub use request::{AuthorizationRequest, Prompt, Rejection};

//! `/authorize` (GET and POST) and `/authorize/resume`, where every later step of the browser
//! flow comes back to. What happens next is decided by `oauth::authorize`; this only carries
//! it out.

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde::Deserialize;
use tower_sessions::Session;

use crate::account::sign_in::SignIn;
use crate::app::AppState;
use crate::http::error::PageError;
use crate::http::params::OAuthParams;
use crate::http::session::{self, MaybeSignedIn};
use crate::http::web::page::{Page, see_other};
use crate::oauth::authorize::flow::{self, Started};
use crate::oauth::authorize::{Next, Pending};

pub async fn authorize(
    State(state): State<AppState>,
    page: Page,
    session: Session,
    signed_in: MaybeSignedIn,
    OAuthParams(params): OAuthParams,
) -> Result<Response, PageError> {
    page.lang(params.first("ui_locales"));
    let keys = state.keys.current();
    let ctx = state.oauth(&keys, state.clock.now());
    match flow::start(&ctx, &params).await? {
        Started::Pending(pending) => {
            advance(&state, &page, &session, signed_in.sign_in(), None, *pending).await
        }
        Started::Refused(location) => Ok(see_other(&location)),
        Started::Invalid(error) => Err(PageError::bad_request(&error)),
    }
}

#[derive(Deserialize)]
pub struct RequestId {
    #[serde(default)]
    pub request: String,
}

/// `/authorize/resume?request=…`: where sign-in, signup and upstream sign-in return to.
pub async fn resume(
    State(state): State<AppState>,
    page: Page,
    session: Session,
    signed_in: MaybeSignedIn,
    Query(q): Query<RequestId>,
) -> Result<Response, PageError> {
    let pending = session::require_pending(&session, &q.request).await?;
    advance(
        &state,
        &page,
        &session,
        signed_in.sign_in(),
        Some(&q.request),
        pending,
    )
    .await
}

/// Asks the domain for the request's next step and carries it out. `id` is the request's id
/// in the session once it has one, so it keeps one id throughout.
pub async fn advance(
    state: &AppState,
    page: &Page,
    session: &Session,
    sign_in: Option<&SignIn>,
    id: Option<&str>,
    pending: Pending,
) -> Result<Response, PageError> {
    page.lang(pending.request.ui_locales.as_deref());
    let keys = state.keys.current();
    let ctx = state.oauth(&keys, state.clock.now());
    let decision = flow::decide(&ctx, &pending, sign_in).await?;
    let location = match decision.next {
        Next::Login(_) => {
            let id = session::put_pending(session, id, pending).await?;
            format!("/login?request={id}")
        }
        Next::Consent => {
            let id = session::put_pending(session, id, pending).await?;
            format!("/consent?request={id}")
        }
        Next::SecondFactor => {
            let id = session::put_pending(session, id, pending).await?;
            let Some(sign_in) = sign_in else {
                return Err(PageError::request_expired());
            };
            let awaiting = state
                .sign_ins(state.clock.now())
                .step_up(sign_in.clone(), &id);
            return crate::http::web::sign_in::ask_second_factor(session, &awaiting).await;
        }
        Next::SetUpSecondFactor => {
            if let Some(id) = id {
                session::take_pending(session, id).await?;
            }
            return Err(
                PageError::new(StatusCode::FORBIDDEN, |t| t.acct.app_requires_two_factors)
                    .back("/account", |t| t.back_to_account),
            );
        }
        Next::Issue(sign_in) => {
            // Taken before the code exists: one pending request yields one code.
            if let Some(id) = id
                && session::take_pending(session, id).await?.is_none()
            {
                return Err(PageError::request_expired());
            }
            flow::issue(&ctx, &pending.request, &sign_in).await?
        }
        Next::Refuse(error) => {
            if let Some(id) = id {
                session::take_pending(session, id).await?;
            }
            flow::refusal(&ctx, &pending.request, &error)
        }
    };
    Ok(see_other(&location))
}

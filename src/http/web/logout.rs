//! Signing out of munjigi itself (`/logout`), RP-initiated logout (`/end_session`), and the
//! signed-in home page.

use axum::Form;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use tower_sessions::Session;

use super::i18n::Lang;
use super::page::{Page, no_store, see_other};
use super::views::{LogoutPage, SignedInPage};
use crate::app::AppState;
use crate::http::csrf::Csrf;
use crate::http::error::PageError;
use crate::http::params::OAuthParams;
use crate::http::session::{self, MaybeSignedIn, SignedIn};
use crate::oidc::logout::{self, LogoutError, LogoutRequest};

#[derive(Deserialize)]
pub struct LogoutForm {
    #[serde(default)]
    csrf: String,
}

const PENDING_LOGOUT: &str = "end_session";

/// Asks first: a GET must never end a session (a link or an image could trigger it).
pub async fn show(page: Page, csrf: Csrf) -> Result<Response, PageError> {
    confirm(&csrf, page.lang(None))
}

fn confirm(csrf: &Csrf, lang: Lang) -> Result<Response, PageError> {
    let view = LogoutPage {
        t: lang.texts(),
        csrf: csrf.token(),
        done: false,
    };
    Ok(no_store(view.into_response()))
}

/// The confirmed sign-out, from munjigi's own page or an RP-initiated request.
pub async fn submit(
    State(state): State<AppState>,
    page: Page,
    session: Session,
    csrf: Csrf,
    signed_in: MaybeSignedIn,
    Form(form): Form<LogoutForm>,
) -> Result<Response, PageError> {
    let pending: Option<LogoutRequest> = session
        .get(PENDING_LOGOUT)
        .await
        .map_err(session::SessionError::from)?;
    let lang = page.lang(pending.as_ref().and_then(|p| p.ui_locales.as_deref()));
    csrf.check(&form.csrf)?;
    finish(
        &state,
        &session,
        signed_in,
        lang,
        pending.unwrap_or_default(),
    )
    .await
}

/// `end_session_endpoint` (RP-Initiated Logout 1.0), GET and POST.
pub async fn end_session(
    State(state): State<AppState>,
    page: Page,
    session: Session,
    csrf: Csrf,
    signed_in: MaybeSignedIn,
    OAuthParams(params): OAuthParams,
) -> Result<Response, PageError> {
    let lang = page.lang(params.first("ui_locales"));
    let keys = state.keys.current();
    let ctx = state.oauth(&keys, state.clock.now());
    let request = match logout::read_request(&ctx, &params).await {
        Ok(r) => r,
        Err(LogoutError::Invalid(e)) => return Err(PageError::bad_request(&e)),
        Err(LogoutError::Store(e)) => return Err(e.into()),
    };
    match signed_in.sign_in() {
        // Nobody signed in here: nothing to end.
        None => Ok(done(&request, lang)),
        Some(s) if request.matches_session(&s.user_id, &s.sid) => {
            finish(&state, &session, signed_in, lang, request).await
        }
        Some(_) => {
            // Not provably this session's request: ask, keeping the request for the answer.
            session
                .insert(PENDING_LOGOUT, &request)
                .await
                .map_err(session::SessionError::from)?;
            confirm(&csrf, lang)
        }
    }
}

/// Ends the session server-side, tells the clients it signed in to (back-channel), and sends
/// the browser on.
async fn finish(
    state: &AppState,
    session: &Session,
    signed_in: MaybeSignedIn,
    lang: Lang,
    request: LogoutRequest,
) -> Result<Response, PageError> {
    session::sign_out(session).await?;
    if let Some(s) = signed_in.sign_in() {
        let keys = state.keys.current();
        let ctx = state.oauth(&keys, state.clock.now());
        logout::notify_clients(&ctx, &state.http, &s.user_id, &s.sid).await;
        let event = crate::audit::Event::new(crate::audit::EventKind::Logout)
            .user(s.user_id.clone())
            .with("sid", s.sid.clone());
        state.audit.record(event, ctx.now);
    }
    Ok(done(&request, lang))
}

fn done(request: &LogoutRequest, lang: Lang) -> Response {
    match request.redirect() {
        Some(location) => see_other(&location),
        None => no_store(
            LogoutPage {
                t: lang.texts(),
                csrf: String::new(),
                done: true,
            }
            .into_response(),
        ),
    }
}

pub async fn home(page: Page, csrf: Csrf, signed_in: SignedIn) -> Result<Response, PageError> {
    let lang = page.lang(None);
    let view = SignedInPage {
        t: lang.texts(),
        user_name: signed_in.user.name.unwrap_or(signed_in.user.username),
        csrf: csrf.token(),
    };
    Ok(no_store(view.into_response()))
}
